"""Buyers racing over real loopback HTTP against `understudy serve --workers 2` (§6, §10.1).

200 buyers race for the last 20 numbers of an offer, then some of them for balances that
cover only part of their orders. Runs on a temp SQLite file, or on a throw-away PostgreSQL
database when UNDERSTUDY_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import ADMIN_TOKEN
from tests.fivesim.helpers import assert_invariants
from tests.live_server import running_server, server_env
from understudy.bootstrap import prepare
from understudy.config import Settings
from understudy.context import AppContext
from understudy.core import migrate
from understudy.fivesim import catalogue
from understudy.fivesim.models import ACTIVE, Order, User
from understudy.fivesim.service import (
    create_user,
    hash_token,
    money_of,
    sandbox_vendor,
)

BUYERS = 200
RACERS = 50
SCARCE = {"country": "russia", "operator": "beeline", "product": "vkontakte", "count": 20}
PLENTY = {"country": "england", "operator": "vodafone", "product": "telegram", "count": 200}
PRICE = 10
BALANCE = 25  # two orders at PRICE, not three


def _settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        services="fivesim",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def tokens(server_database_url: str) -> list[str]:
    """Stock and buyers, written through the service layer before the server starts."""
    migrate.upgrade(server_database_url)
    prepare(_settings(server_database_url))
    ctx = AppContext.from_settings(_settings(server_database_url))
    try:
        with ctx.db.write() as session:
            now = ctx.now(session)
            vendor = sandbox_vendor(session, now=now)
            for offer in (SCARCE, PLENTY):
                country = catalogue.country(session, name=str(offer["country"]))
                assert country is not None
                catalogue.set_stock(
                    session,
                    country=country,
                    operator=str(offer["operator"]),
                    product_name=str(offer["product"]),
                    count=int(offer["count"]),
                    price=PRICE * 100,
                    vendor_id=vendor.id,
                    now=now,
                )
            return [
                create_user(session, email=f"racer{i}@example.com", now=now, balance=BALANCE * 100)[
                    1
                ]
                for i in range(BUYERS)
            ]
    finally:
        ctx.close()


@pytest.fixture
def live_server(server_database_url: str, tokens: list[str], tmp_path: Path) -> Iterator[str]:
    """`understudy serve --workers 2` on a free loopback port."""
    env = server_env(UNDERSTUDY_ADMIN_TOKEN=ADMIN_TOKEN, UNDERSTUDY_FIVESIM_RATE_LIMIT="0")
    log_path = tmp_path / "server.log"
    with running_server(
        server_database_url, log_path, workers=2, args=("--services", "fivesim"), env=env
    ) as base:
        yield base


async def _race(client: httpx.AsyncClient, tokens: list[str], path: str) -> list[httpx.Response]:
    """One buy per token in the list, all released at once."""
    start = asyncio.Event()

    async def one(token: str) -> httpx.Response:
        await start.wait()
        return await client.get(
            f"/v1/user/buy/activation/{path}", headers={"Authorization": f"Bearer {token}"}
        )

    tasks = [asyncio.create_task(one(t)) for t in tokens]
    await asyncio.sleep(0)
    start.set()
    return list(await asyncio.gather(*tasks))


def _outcomes(answers: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter((a.status_code, "" if a.status_code == 200 else a.text) for a in answers)


@pytest.mark.slow
async def test_buyers_race_for_numbers_and_balance(
    live_server: str, server_database_url: str, tokens: list[str]
) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=live_server, timeout=60, limits=limits) as client:
        scarce = await _race(client, tokens, "russia/beeline/vkontakte")
        assert _outcomes(scarce) == {(200, ""): 20, (400, "no free phones"): BUYERS - 20}
        winners = {t for t, a in zip(tokens, scarce, strict=True) if a.status_code == 200}
        # Some buyers try three more at once: winners can pay for one more, the others two.
        losers = [t for t in tokens if t not in winners]
        racers = losers[:RACERS] + sorted(winners)[:5]
        plenty = await _race(client, racers * 3, "england/vodafone/telegram")
        affordable = sum(1 if t in winners else 2 for t in racers)
        assert _outcomes(plenty) == {
            (200, ""): affordable,
            (400, "not enough user balance"): 3 * len(racers) - affordable,
        }
        prices = (await client.get("/v1/guest/prices")).json()
        assert prices["russia"]["vkontakte"]["beeline"]["count"] == 0
        assert prices["england"]["telegram"]["vodafone"]["count"] == PLENTY["count"] - affordable
    ctx = AppContext.from_settings(_settings(server_database_url))
    try:
        with ctx.db.read() as session:
            active = session.execute(
                select(Order.number_id, func.count())
                .where(Order.status.in_(ACTIVE))
                .group_by(Order.number_id)
            ).all()
            total = session.scalar(select(func.count()).select_from(Order))
            money = {
                token_hash: money_of(session, user_id=user_id)
                for user_id, token_hash in session.execute(select(User.id, User.token_hash))
            }
            bought = dict(
                session.execute(
                    select(User.token_hash, func.count())
                    .join(Order, Order.user_id == User.id)
                    .group_by(User.token_hash)
                ).all()
            )
        assert total == 20 + affordable == len(active)  # every sale is its number's only order
        assert {count for _, count in active} == {1}
        for token in tokens:
            mine, orders = money[hash_token(token)], bought.get(hash_token(token), 0)
            assert mine.balance + mine.frozen == BALANCE * 100  # nothing lost or made
            assert mine.balance >= 0 and mine.frozen == orders * PRICE * 100
        assert_invariants(ctx)
    finally:
        ctx.close()
