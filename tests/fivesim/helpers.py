"""Shared steps of the fivesim tests: sandbox users and stock, auth headers, invariants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
from hypothesis import HealthCheck
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
from sqlalchemy import select

from tests.conftest import ADMIN
from understudy.context import AppContext
from understudy.core import ledger
from understudy.fivesim import stock as stock_counters

CONTROL = "/_understudy/fivesim"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a user."""
    return {"Authorization": f"Bearer {token}"}


async def new_user(
    client: httpx.AsyncClient, email: str = "buyer@example.com", **fields: Any
) -> tuple[int, str]:
    """Create a user through the control plane; returns (id, token)."""
    answer = await client.post(f"{CONTROL}/users", json={"email": email, **fields}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["id"], body["token"]


async def stock(
    client: httpx.AsyncClient,
    country: str = "russia",
    operator: str = "beeline",
    product: str = "vkontakte",
    count: int = 3,
    price: float = 21,
) -> None:
    """Price an offer and make `count` numbers free for it."""
    answer = await client.post(
        f"{CONTROL}/stock",
        json={
            "country": country,
            "operator": operator,
            "product": product,
            "count": count,
            "price": price,
        },
        headers=ADMIN,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok"}


async def sms(client: httpx.AsyncClient, order_id: int, text: str, sender: str = "VKcom") -> None:
    """Deliver an SMS to an order."""
    answer = await client.post(
        f"{CONTROL}/sms",
        json={"order_id": order_id, "sender": sender, "text": text},
        headers=ADMIN,
    )
    assert answer.status_code == 200, answer.text


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    """Move the sandbox clock, running due timers."""
    answer = await client.post("/_understudy/clock", json={"advance": seconds}, headers=ADMIN)
    assert answer.status_code == 200, answer.text


async def buy(
    client: httpx.AsyncClient,
    token: str,
    path: str = "russia/beeline/vkontakte",
    category: str = "activation",
    **params: str,
) -> httpx.Response:
    """GET /v1/user/buy/<category>/<path>."""
    return await client.get(
        f"/v1/user/buy/{category}/{path}", params=params or None, headers=bearer(token)
    )


async def profile(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """The user's profile body."""
    answer = await client.get("/v1/user/profile", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def assert_invariants(ctx: AppContext) -> None:
    """The ledger is consistent and no account that may not go negative is below zero."""
    with ctx.db.read() as session:
        assert ledger.verify(session) == []
        rows = session.execute(
            select(ledger.Account.key, ledger.Account.balance, ledger.Account.held).where(
                ledger.Account.allow_negative.is_(False)
            )
        ).all()
    for key, balance, held in rows:
        assert balance - held >= 0, key
        assert held >= 0, key
    assert_stock_counted(ctx)


def assert_stock_counted(ctx: AppContext) -> None:
    """The stock counters equal a recount from the numbers and orders."""
    with ctx.db.read() as session:
        assert stock_counters.counters(session) == stock_counters.recount(session)


def assert_error(answer: httpx.Response, text: str, status: int = 400) -> None:
    """A documented plain-text error."""
    assert (answer.status_code, answer.text) == (status, text)
    assert answer.headers["content-type"].startswith("text/plain")


def run_machine(
    make: Callable[[httpx.Client], RuleBasedStateMachine],
    base_url: str,
    *,
    examples: int,
    steps: int,
) -> None:
    """Run a state machine against the live server, reproducibly (derandomized, no database)."""
    with httpx.Client(base_url=base_url) as client:
        run_state_machine_as_test(
            lambda: make(client),
            settings=hypothesis.settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            ),
        )
