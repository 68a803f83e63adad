"""Money movement under concurrency: transfers, withdrawals and trades racing on shared wallets.

The same scenario runs in-process (handlers on the thread pool, one event loop firing every
request at once) and, on PostgreSQL, against two `understudy serve` processes on the test
database. After the
race: ledger balanced, no negative balance, each confirmation code executed at most once, every
success visible as exactly one posting or row, totals conserved; after the payout time every
withdrawal hold is posted exactly once, even with the sweeper and lazy readers racing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import ADMIN, ADMIN_TOKEN
from tests.live_server import running_server, server_env
from tests.nebeus.helpers import (
    PASSWORD,
    assert_ledger_sound,
    country_id,
    envelope,
    signup_params,
)
from understudy.context import AppContext
from understudy.core import ledger
from understudy.core.money import to_minor
from understudy.nebeus.models import CardOrder, ConfirmationCode, Trade, Withdrawal

TRANSFER = "/accounts/transfer/1.0/json"
WITHDRAW = "/accounts/withdraw/1.0/json"
SELL = "/sell_currency/1.0/json"
C2C = "/card2card/new/1.0/json"
BUY = "/buy_currency/1.0/json"
ACCOUNTS = "/accounts/1.0/json"
IBAN = "GB82 WEST 1234 5698 7654 32"
CARD = {
    "card_number": "4111 1111 1111 1111",
    "cardholder_name": "USER ANONYMOUS",
    "expiration_date": "12/99",
    "cvc": "123",
}
RING = 3  # users a0..a2, each sending EUR to the next
GBP_SENDERS = 2  # users g0, g1, each sending GBP to a0 (who has no GBP wallet yet)
DUPLICATES = 3  # each confirmation is sent this many times at once
# Amounts (major units); EUR demand per ring user exceeds what it can count on, so some fail.
START_EUR, START_BTC, START_GBP = Decimal(100), Decimal("0.1"), Decimal(20)
SEND_EUR, WITHDRAW_EUR, SEND_GBP = Decimal(70), Decimal(70), Decimal(15)
SELL_BTC, SELL_EUR = Decimal("0.05"), Decimal("42.15")  # at the seeded sell rate 0.00118626
BUY_EUR, BUY_BTC = Decimal(50), Decimal("0.056987")  # at the seeded buy rate 0.00113974
CARD_EUR, CARD_BTC = Decimal(10), Decimal("0.0113974")
C2C_EUR = Decimal(20)  # card to card from the EUR wallet: held, paid out after 60 s


class Api:
    """A JSON-RPC client over httpx.AsyncClients (in-process or real HTTP), used in turn."""

    def __init__(self, *clients: httpx.AsyncClient) -> None:
        self.clients = clients
        self.turn = itertools.cycle(clients)

    @property
    def client(self) -> httpx.AsyncClient:
        """The next client: with several servers, consecutive requests go to different ones."""
        return next(self.turn)

    async def call(self, path: str, params: dict[str, Any], sid: str | None = None) -> Any:
        headers = {"X-Openerp-Session-Id": sid} if sid else {}
        r = await self.client.post(path, json=envelope(params, 1), headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "result" in body, body  # never an Odoo error object (no crash, no lost lock)
        return body["result"]

    async def control(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.client.post(f"/_understudy/{path}", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
        return r.json()

    async def user(self, ctx: AppContext, login: str) -> str:
        assert await self.call("/signup/1.0/json", signup_params(ctx, login)) == {
            "status": "success"
        }
        signed = await self.call("/signin/1.0/json", {"login": login, "password": PASSWORD})
        for client in self.clients:
            client.cookies.clear()
        return str(signed["session_id"])

    async def codes(self, login: str) -> list[str]:
        r = await self.client.get("/_understudy/mail", params={"to": login}, headers=ADMIN)
        return [re.findall(r"\b\d{6}\b", m["body"])[0] for m in r.json()["messages"]]


@dataclass
class Confirmation:
    """One two-step operation, ready to be confirmed."""

    kind: str
    path: str
    params: dict[str, Any]
    sid: str
    code_id: int = 0
    answers: list[Any] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return any(a.get("status") == "success" for a in self.answers)


async def _prepare(api: Api, ctx: AppContext) -> tuple[dict[str, str], list[Confirmation]]:
    """Users with money, and one issued code per (user, operation)."""
    ring = [f"a{i}@example.com" for i in range(RING)]
    senders = [f"g{i}@example.com" for i in range(GBP_SENDERS)]
    money = {login: {"EUR": 100, "BTC": "0.1"} for login in ring}
    money |= {login: {"GBP": 20} for login in senders}

    async def funded(login: str) -> tuple[str, dict[str, int]]:
        sid = await api.user(ctx, login)
        for currency, amount in money[login].items():
            body = {"login": login, "currency": currency, "amount": amount}
            await api.control("nebeus/deposit", body)
        listed = await api.call(ACCOUNTS, {}, sid)
        return sid, {a["currency"]["name"]: a["id"] for a in listed}

    made = dict(zip(money, await asyncio.gather(*(funded(u) for u in money)), strict=True))
    sids = {login: sid for login, (sid, _) in made.items()}
    wallets = {login: ids for login, (_, ids) in made.items()}
    todo: list[Confirmation] = []
    spain = country_id(ctx)
    for i, login in enumerate(ring):
        sid, mine = sids[login], wallets[login]
        nxt = ring[(i + 1) % RING]
        todo += [
            Confirmation(
                "transfer",
                TRANSFER,
                {"debit_from": mine["EUR"], "recipient_login": nxt, "sum": float(SEND_EUR)},
                sid,
            ),
            Confirmation(
                "withdraw",
                WITHDRAW,
                {"account_id": mine["EUR"], "address": IBAN, "sum": float(WITHDRAW_EUR)},
                sid,
            ),
            Confirmation(
                "sell",
                SELL,
                {
                    "debit_from": mine["BTC"],
                    "deposit_to": mine["EUR"],
                    "sell_sum": float(SELL_BTC),
                    "buy_sum": float(SELL_EUR),
                },
                sid,
            ),
            Confirmation(
                "c2c",
                C2C,
                {
                    "source_id": f"account:{mine['EUR']}",
                    "from_sum": float(C2C_EUR),
                    "to_sum": float(C2C_EUR),
                    "to_sum_currency": 1,
                    "recipient_country_id": spain,
                    "recipient_card_number": "4111 1111 1111 1111",
                    "recipient_email": "payee@example.com",
                    "recipient_cardholder_name": "PAYEE",
                },
                sid,
            ),
            Confirmation(
                "buy",
                BUY,
                {
                    "account_id": mine["BTC"],
                    "payment_id": f"account:{mine['EUR']}",
                    "buy_amount": float(BUY_BTC),
                    "deposit_amount": float(BUY_EUR),
                },
                sid,
            ),
        ]
    for login in senders:
        todo.append(
            Confirmation(
                "gbp",
                TRANSFER,
                {
                    "debit_from": wallets[login]["GBP"],
                    "recipient_login": ring[0],
                    "sum": float(SEND_GBP),
                },
                sids[login],
            )
        )

    async def request_codes(sid: str) -> None:  # in order, so the n-th e-mail has the n-th code
        for item in (t for t in todo if t.sid == sid):
            step1 = await api.call(item.path, item.params, item.sid)
            assert step1["status"] == "success" and step1["method"] == "email", step1
            item.code_id = step1["code_id"]

    await asyncio.gather(*(request_codes(sid) for sid in sids.values()))
    by_login = {sid: login for login, sid in sids.items()}
    issued = Counter(by_login[item.sid] for item in todo)
    mailed = {login: (await api.codes(login))[-issued[login] :] for login in issued}
    seen: Counter[str] = Counter()
    for item in todo:
        login = by_login[item.sid]
        item.params |= {"code_id": item.code_id, "code": mailed[login][seen[login]]}
        seen[login] += 1
    return sids, todo


async def _race(api: Api, sids: dict[str, str], todo: list[Confirmation]) -> int:
    """Every confirmation DUPLICATES times, card buys and lazy readers, all at once."""

    async def confirm(item: Confirmation) -> None:
        item.answers.append(await api.call(item.path, item.params, item.sid))

    async def card_buy(sid: str, btc: int) -> Any:
        params = {
            "account_id": btc,
            "buy_amount": float(CARD_BTC),
            "deposit_amount": float(CARD_EUR),
        }
        return await api.call(BUY, params | CARD, sid)

    ring_sids = [sids[f"a{i}@example.com"] for i in range(RING)]
    btc_ids = [
        next(t.params["account_id"] for t in todo if t.kind == "buy" and t.sid == s)
        for s in ring_sids
    ]
    jobs: list[Any] = [confirm(item) for item in todo for _ in range(DUPLICATES)]
    jobs += [card_buy(s, b) for s, b in zip(ring_sids, btc_ids, strict=True)]
    jobs += [api.call(ACCOUNTS, {}, s) for s in ring_sids]
    results = await asyncio.gather(*jobs)
    card_buys = results[len(todo) * DUPLICATES : len(todo) * DUPLICATES + RING]
    assert all(r == {"status": "success"} for r in card_buys), card_buys
    return len(card_buys)


def _check_outcomes(ctx: AppContext, todo: list[Confirmation], card_buys: int) -> None:
    allowed = {
        ("code_id", "Code not found"),
        ("sum", "Insufficient funds"),
        ("deposit_amount", "Insufficient funds"),
        ("sell_sum", "Insufficient funds"),
        ("from_sum", "Insufficient funds"),
    }
    for item in todo:
        successes = [a for a in item.answers if a.get("status") == "success"]
        assert len(successes) <= 1, (item.kind, item.answers)
        for a in item.answers:
            if a.get("status") != "success":
                assert (a.get("field"), a.get("message")) in allowed, (item.kind, a)
    done = Counter(item.kind for item in todo if item.succeeded)
    # Enough happened for the race to mean something: no GBP sender lacks funds, and the
    # BTC side (sells) never lacks funds either.
    assert done["gbp"] == GBP_SENDERS and done["sell"] == RING
    with ctx.db.read() as s:
        used = s.scalar(
            select(func.count())
            .select_from(ConfirmationCode)
            .where(ConfirmationCode.state == "used")
        )
        assert used == sum(done.values())
        assert s.scalar(select(func.count()).select_from(Withdrawal)) == done["withdraw"]
        assert s.scalar(select(func.count()).select_from(CardOrder)) == done["c2c"]
        trades = Counter(s.scalars(select(Trade.kind)))
        assert trades == Counter({"sell": done["sell"], "buy": done["buy"] + card_buys})
        labels = Counter(s.scalars(select(ledger.Posting.label)))
        assert labels["Internal transfer"] == done["transfer"] + done["gbp"]
        totals = _user_totals(s)
    eur = START_EUR * RING + SELL_EUR * done["sell"] - BUY_EUR * done["buy"]
    held = WITHDRAW_EUR * done["withdraw"] + C2C_EUR * done["c2c"]
    assert totals["EUR"] == (to_minor(eur, "EUR"), to_minor(held, "EUR"))
    btc = START_BTC * RING - SELL_BTC * done["sell"] + BUY_BTC * done["buy"] + CARD_BTC * card_buys
    assert totals["BTC"] == (to_minor(btc, "BTC"), 0)
    assert totals["GBP"] == (to_minor(START_GBP * GBP_SENDERS, "GBP"), 0)
    assert_ledger_sound(ctx)


def _user_totals(s: Any) -> dict[str, tuple[int, int]]:
    """(balance, held) summed over every user wallet, per currency."""
    rows = s.execute(
        select(
            ledger.Account.currency,
            func.sum(ledger.Account.balance),
            func.sum(ledger.Account.held),
        )
        .where(ledger.Account.key.like("nebeus:user:%"))
        .group_by(ledger.Account.currency)
    ).all()
    return {currency: (int(bal), int(held)) for currency, bal, held in rows}


async def _payout_race(api: Api, ctx: AppContext, sids: dict[str, str]) -> None:
    """Advance past the payout time, then every user reads its wallets twice at once: the
    lazy payouts race each other and the servers' sweepers."""
    await api.control("clock", {"advance": 61})
    await asyncio.gather(*(api.call(ACCOUNTS, {}, sid) for sid in sids.values() for _ in range(2)))
    with ctx.db.read() as s:
        rows = s.scalars(select(Withdrawal)).all()
        orders = s.scalars(select(CardOrder)).all()
        assert {w.state for w in rows} | {o.state for o in orders} == {"done"}
        # every hold (one per withdrawal and per wallet-paid order) posted, each exactly once
        holds = s.scalars(select(ledger.Hold)).all()
        assert sorted(h.id for h in holds) == sorted(
            [w.hold_id for w in rows] + [o.hold_id for o in orders]
        )
        assert {h.state for h in holds} == {"posted"}
        assert len({h.posting_id for h in holds} - {None}) == len(holds)
        labels = Counter(s.scalars(select(ledger.Posting.label)))
        assert labels["Withdrawal"] == len(rows)
        assert labels["Card to card transfer"] == len(orders)
        totals = _user_totals(s)
    assert totals["EUR"][1] == 0
    assert_ledger_sound(ctx)


async def _scenario(api: Api, ctx: AppContext) -> None:
    sids, todo = await _prepare(api, ctx)
    card_buys = await _race(api, sids, todo)
    _check_outcomes(ctx, todo, card_buys)
    await _payout_race(api, ctx, sids)
    # A confirmed code stays spent: replaying it is refused and moves nothing.
    with ctx.db.read() as s:
        postings = s.scalar(select(func.count()).select_from(ledger.Posting))
    for item in todo:
        if item.succeeded:
            again = await api.call(item.path, item.params, item.sid)
            assert again["status"] == "error" and again["message"] in (
                "Code not found",
                "Insufficient funds",
            ), again
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ledger.Posting)) == postings


async def test_money_races_in_process(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await _scenario(Api(client), ctx)


async def test_wrong_codes_racing_count_every_attempt(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    api = Api(client)
    sid = await api.user(ctx, "w@example.com")
    await api.user(ctx, "to@example.com")
    await api.control("nebeus/deposit", {"login": "w@example.com", "currency": "EUR", "amount": 5})
    eur = next(a["id"] for a in await api.call(ACCOUNTS, {}, sid) if a["currency"]["name"] == "EUR")
    params = {"debit_from": eur, "recipient_login": "to@example.com", "sum": 5}
    step1 = await api.call(TRANSFER, params, sid)
    [code] = await api.codes("w@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = await asyncio.gather(
        *(
            api.call(TRANSFER, params | {"code_id": step1["code_id"], "code": wrong}, sid)
            for _ in range(8)
        )
    )
    messages = Counter(a["message"] for a in answers)
    assert messages == Counter({"Code is incorrect": 2, "Too many attempts": 6})
    right = await api.call(TRANSFER, params | {"code_id": step1["code_id"], "code": code}, sid)
    assert right == {"status": "error", "field": "code", "message": "Too many attempts"}
    with ctx.db.read() as s:
        assert Counter(s.scalars(select(ledger.Posting.label))) == Counter({"Deposit": 1})


@pytest.mark.slow
async def test_money_races_across_two_server_processes(
    ctx: AppContext, database_url: str, is_postgres: bool, tmp_path: Path
) -> None:
    """Two `understudy serve` processes on one database, requests alternating between them.

    (Two single-worker servers rather than `--workers 2`: every other request is sure to reach
    the other process.)
    """
    if not is_postgres:  # several processes on SQLite share one writer: the in-process race is it
        pytest.skip("several workers are a PostgreSQL topology; set UNDERSTUDY_TEST_DATABASE_URL")
    env = server_env(UNDERSTUDY_ADMIN_TOKEN=ADMIN_TOKEN, UNDERSTUDY_LOG_LEVEL="warning")
    logs = [tmp_path / "server0.log", tmp_path / "server1.log"]
    with contextlib.ExitStack() as servers:
        bases = [servers.enter_context(running_server(database_url, log, env=env)) for log in logs]
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=120))
                for base in bases
            ]
            await _scenario(Api(*clients), ctx)
    for log in logs:
        assert "Traceback" not in log.read_text()


async def test_racing_card_buys_respect_the_monthly_limit(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    api = Api(client)
    sid = await api.user(ctx, "l@example.com")
    btc = next(a["id"] for a in await api.call(ACCOUNTS, {}, sid) if a["currency"]["name"] == "BTC")
    params = CARD | {"account_id": btc, "deposit_amount": 100, "buy_amount": 0.113974}
    answers = await asyncio.gather(*(api.call(BUY, params, sid) for _ in range(5)))
    outcomes = Counter(a.get("message", a["status"]) for a in answers)
    assert outcomes == Counter({"success": 3, "Limit exceeded": 2})  # 300 EUR a month at rank 0
    with ctx.db.read() as s:
        assert Counter(s.scalars(select(Trade.kind))) == Counter({"buy": 3})
    assert_ledger_sound(ctx)
