"""Payouts under review (§4.6): a withdrawal holds the vendor's earnings until an operator
approves (the money leaves once) or rejects it (earnings, reserve and history come back); the
vendor's wire at withdraw time is unchanged, and of two decisions at once exactly one counts."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from tests.conftest import ADMIN
from tests.fivesim.helpers import CONTROL, assert_invariants, bearer, buy, new_user, stock
from understudy.context import AppContext
from understudy.core import ledger
from understudy.fivesim import payouts
from understudy.fivesim.models import Payment, Payout

PHONE = "+79001234567"
WITHDRAW = {"receiver": "4100 1234", "method": "qiwi", "amount": "10", "fee": "payeer"}


async def _vendor_with_earnings(
    client: httpx.AsyncClient, email: str = "seller@example.com"
) -> str:
    """A vendor that sold one number (16.80 RUB earned), with a 100 RUB payeer reserve."""
    _, seller = await new_user(client, email, vendor="seller")
    await stock(client, count=0)
    added = await client.post(
        "/v1/vendor/numbers",
        json=[{"phone": PHONE, "country": "russia", "operator": "beeline"}],
        headers=bearer(seller),
    )
    assert added.status_code == 200, added.text
    _, buyer = await new_user(client, "buyer-" + email, balance=100)
    order = (await buy(client, buyer)).json()
    await client.post(
        "/v1/vendor/sms",
        json={"phone": PHONE, "sender": "VK", "text": "code 1234"},
        headers=bearer(seller),
    )
    await client.get(f"/v1/user/finish/{order['id']}", headers=bearer(buyer))
    reserves = await client.post(f"{CONTROL}/reserves", json={"payeer": 100}, headers=ADMIN)
    assert reserves.status_code == 200
    return seller


async def _wire(client: httpx.AsyncClient, seller: str) -> dict[str, Any]:
    """Everything the vendor can see about its money."""
    auth = bearer(seller)
    rows = (await client.get("/v1/vendor/payments", headers=auth)).json()["Data"]
    return {
        "balance": (await client.get("/v1/user/vendor", headers=auth)).json()["balance"],
        "wallets": (await client.get("/v1/vendor/wallets", headers=auth)).json(),
        "payments": [(r["TypeName"], r["ProviderName"], r["Amount"], r["Balance"]) for r in rows],
    }


async def _withdraw(client: httpx.AsyncClient, seller: str, **change: str) -> httpx.Response:
    return await client.post(
        "/v1/vendor/withdraw", json={**WITHDRAW, **change}, headers=bearer(seller)
    )


def _accounts(ctx: AppContext) -> dict[str, tuple[int, int]]:
    """(balance, held) of every fivesim ledger account, by kind (vendor, world, ...)."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(ledger.Account.key, ledger.Account.balance, ledger.Account.held)
        ).all()
    return {
        key.split(":")[1]: (balance, held)
        for key, balance, held in rows
        if key.startswith("fivesim:") and not key.startswith("fivesim:user:")
    }


def _payouts(ctx: AppContext) -> list[tuple[int, str, int, str, str]]:
    with ctx.db.read() as session:
        rows = session.execute(
            select(
                Payout.id, Payout.state, Payout.amount, Payout.reserve, Payout.receiver
            ).order_by(Payout.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _hold_state(ctx: AppContext, payout_id: int) -> str:
    with ctx.db.read() as session:
        return session.execute(
            select(ledger.Hold.state)
            .join(Payout, Payout.hold_id == ledger.Hold.id)
            .where(Payout.id == payout_id)
        ).scalar_one()


def _decide(ctx: AppContext, verb: str, payout_id: int, operator_id: int | None = 7) -> Any:
    decide = payouts.approve if verb == "approve" else payouts.reject
    with ctx.db.write() as session:
        return decide(session, payout_id=payout_id, operator_id=operator_id, now=ctx.now(session))


def _postings(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(ledger.Posting)) or 0


async def test_withdraw_answers_as_before_and_holds_the_earnings(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    seller = await _vendor_with_earnings(client)
    before = _accounts(ctx)
    assert before["vendor"] == (1680, 0)
    paid = await _withdraw(client, seller)
    assert (paid.status_code, paid.json()) == (200, {})
    assert await _wire(client, seller) == {
        "balance": 6.8,
        "wallets": {"fkwallet": 0, "payeer": 90, "unitpay": 0},
        "payments": [("sell", "vkontakte", 16.8, 16.8), ("withdraw", "payeer", -10, 6.8)],
    }
    # Held, not moved: the earnings account still has it, the world has not received it.
    after = _accounts(ctx)
    assert after["vendor"] == (1680, 1000) and after["world"] == before["world"]
    [(payout_id, state, amount, reserve, receiver)] = _payouts(ctx)
    assert (state, amount, reserve, receiver) == ("pending", 1000, "payeer", "4100 1234")
    assert _hold_state(ctx, payout_id) == "pending"
    # A held amount cannot be withdrawn again.
    again = await _withdraw(client, seller, amount="7")
    assert (again.status_code, again.text) == (400, "not enough user balance")
    assert len(_payouts(ctx)) == 1 and (await _wire(client, seller))["wallets"]["payeer"] == 90
    assert_invariants(ctx)


async def test_approve_moves_the_money_once(client: httpx.AsyncClient, ctx: AppContext) -> None:
    seller = await _vendor_with_earnings(client)
    await _withdraw(client, seller)
    [(payout_id, *_)] = _payouts(ctx)
    world_before = _accounts(ctx)["world"][0]
    seen = await _wire(client, seller)
    postings = _postings(ctx)
    decided = _decide(ctx, "approve", payout_id)
    assert (decided.id, decided.state, decided.amount) == (payout_id, "approved", 1000)
    accounts = _accounts(ctx)
    assert accounts["vendor"] == (680, 0)
    assert accounts["world"][0] == world_before + 1000
    assert _postings(ctx) == postings + 1 and _hold_state(ctx, payout_id) == "posted"
    assert await _wire(client, seller) == seen  # nothing new for the vendor to see
    with ctx.db.read() as session:
        payout = session.get(Payout, payout_id)
        assert payout is not None
        assert payout.decided_by == 7 and payout.decided_at is not None
        assert payout.created_at <= payout.decided_at <= ctx.now(session)
    for verb in ("approve", "reject"):
        with pytest.raises(payouts.PayoutDecided) as refused:
            _decide(ctx, verb, payout_id, operator_id=8)
        assert refused.value.state == "approved"
    assert _accounts(ctx) == accounts and _postings(ctx) == postings + 1
    assert await _wire(client, seller) == seen
    assert _payouts(ctx)[0][1] == "approved"
    assert_invariants(ctx)


async def test_reject_gives_everything_back(client: httpx.AsyncClient, ctx: AppContext) -> None:
    seller = await _vendor_with_earnings(client)
    before = await _wire(client, seller)
    accounts = _accounts(ctx)
    postings = _postings(ctx)
    await _withdraw(client, seller)
    [(payout_id, *_)] = _payouts(ctx)
    decided = _decide(ctx, "reject", payout_id)
    assert decided.state == "rejected"
    after = await _wire(client, seller)
    assert after["balance"] == before["balance"] == 16.8
    assert after["wallets"] == before["wallets"] == {"fkwallet": 0, "payeer": 100, "unitpay": 0}
    # The return is the reversal of the withdraw row: same type and reserve, positive amount.
    assert after["payments"] == [
        ("sell", "vkontakte", 16.8, 16.8),
        ("withdraw", "payeer", -10, 6.8),
        ("withdraw", "payeer", 10, 16.8),
    ]
    assert _accounts(ctx) == accounts and _postings(ctx) == postings  # no money ever moved
    assert _hold_state(ctx, payout_id) == "voided"
    for verb in ("reject", "approve"):
        with pytest.raises(payouts.PayoutDecided):
            _decide(ctx, verb, payout_id)
    assert await _wire(client, seller) == after
    assert (await _withdraw(client, seller, amount="16.8")).status_code == 200  # all of it again
    assert_invariants(ctx)


async def test_unknown_payout_is_refused(ctx: AppContext) -> None:
    with pytest.raises(payouts.PayoutNotFound):
        _decide(ctx, "approve", 12345)


async def test_payouts_are_listed_pending_first(client: httpx.AsyncClient, ctx: AppContext) -> None:
    seller = await _vendor_with_earnings(client)
    for amount in ("1", "2", "3", "4"):
        assert (await _withdraw(client, seller, amount=amount)).status_code == 200
    ids = [row[0] for row in _payouts(ctx)]
    _decide(ctx, "approve", ids[0])
    _decide(ctx, "reject", ids[2])
    with ctx.db.read() as session:
        rows, total = payouts.page(session, q="", limit=10, offset=0)
        assert payouts.pending_total(session) == (2, 600)
        assert payouts.page(session, q="rejected", limit=10, offset=0)[1] == 1
        assert payouts.page(session, q="nobody", limit=10, offset=0)[1] == 0
    assert total == 4
    assert [(r.id, r.state) for r in rows] == [
        (ids[1], "pending"),
        (ids[3], "pending"),
        (ids[2], "rejected"),
        (ids[0], "approved"),
    ]


async def test_reset_wipes_payouts(client: httpx.AsyncClient, ctx: AppContext) -> None:
    seller = await _vendor_with_earnings(client)
    await _withdraw(client, seller)
    assert len(_payouts(ctx)) == 1
    assert (await client.post("/_understudy/reset", headers=ADMIN)).status_code == 200
    assert _payouts(ctx) == []


# --- two decisions at once ---------------------------------------------------------------------


def _race(ctx: AppContext, payout_id: int, verbs: list[str]) -> list[str]:
    """Every verb decided in its own thread and transaction, released together."""
    start = threading.Barrier(len(verbs))
    outcomes: list[str] = [""] * len(verbs)

    def decide(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = ctx.db.transaction(
                lambda session: (
                    (payouts.approve if verbs[i] == "approve" else payouts.reject)(
                        session, payout_id=payout_id, operator_id=i, now=ctx.now(session)
                    ).state
                )
            )
        except payouts.PayoutDecided:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(verbs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


async def test_many_decisions_at_once_take_effect_once(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    seller = await _vendor_with_earnings(client)
    for _ in range(2):
        await _withdraw(client, seller, amount="5")
    first, second = (row[0] for row in _payouts(ctx))
    world = _accounts(ctx)["world"][0]
    outcomes = _race(ctx, first, ["approve", "reject"] * 4)
    assert sorted(outcomes).count("refused") == 7
    [won] = [o for o in outcomes if o != "refused"]
    outcomes = _race(ctx, second, ["reject", "approve"] * 4)
    assert outcomes.count("refused") == 7
    [won2] = [o for o in outcomes if o != "refused"]
    states = [row[1] for row in _payouts(ctx)]
    assert states == [won, won2]
    paid = 500 * states.count("approved")
    assert _accounts(ctx)["world"][0] == world + paid
    assert _accounts(ctx)["vendor"] == (1680 - paid, 0)
    wire = await _wire(client, seller)
    assert wire["wallets"]["payeer"] == 100 - paid // 100
    assert wire["balance"] == (1680 - paid) / 100
    with ctx.db.read() as session:
        returned = session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.type_name == "withdraw", Payment.amount > 0)
        )
    assert returned == states.count("rejected")
    assert_invariants(ctx)


def _wait_until_blocked(ctx: AppContext, deadline: float) -> None:
    """Wait until some session of this database waits for a row lock (PostgreSQL)."""
    with ctx.db.read() as session:
        while time.monotonic() < deadline:
            waiting = session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            session.rollback()  # a fresh snapshot of pg_stat_activity
            time.sleep(0.01)
    pytest.fail("the second decision never waited for the first")


async def test_the_loser_waits_for_the_winner_and_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, is_postgres: bool
) -> None:
    """PostgreSQL: the second decision blocks on the payout row until the first commits, then
    finds it decided; nothing of it is applied."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: decisions cannot overlap")
    seller = await _vendor_with_earnings(client)
    await _withdraw(client, seller)
    [(payout_id, *_)] = _payouts(ctx)
    claimed = threading.Event()
    loser: list[BaseException | str] = []

    def second() -> None:
        claimed.wait(timeout=60)
        try:
            with ctx.db.write() as session:
                payouts.reject(session, payout_id=payout_id, operator_id=2, now=_now(ctx))
            loser.append("applied")
        except payouts.PayoutError as exc:
            loser.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with ctx.db.write() as session:
            payouts.approve(session, payout_id=payout_id, operator_id=1, now=_now(ctx))
            claimed.set()
            _wait_until_blocked(ctx, time.monotonic() + 60)
    finally:
        claimed.set()
        thread.join(timeout=120)
    [refusal] = loser
    assert isinstance(refusal, payouts.PayoutDecided) and refusal.state == "approved"
    assert _payouts(ctx)[0][1] == "approved" and _hold_state(ctx, payout_id) == "posted"
    wire = await _wire(client, seller)
    assert wire["balance"] == 6.8 and wire["wallets"]["payeer"] == 90
    assert len(wire["payments"]) == 2
    with ctx.db.read() as session:
        payout = session.get(Payout, payout_id)
        assert payout is not None and payout.decided_by == 1
    assert_invariants(ctx)


def _now(ctx: AppContext) -> datetime:
    with ctx.db.read() as session:
        return ctx.now(session)
