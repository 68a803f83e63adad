"""Payouts settled without the console: `GET|POST /_understudy/fivesim/payouts[/{id}]` and the
CLI twins `understudy fivesim payouts` / `payout approve|reject`. They decide through the same
fivesim.payouts functions as the console (once, as no operator, with no audit row)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import ADMIN
from tests.fivesim.helpers import CONTROL, assert_invariants
from tests.fivesim.test_payouts import _accounts, _vendor_with_earnings, _wire, _withdraw
from understudy.cli import app as cli_app
from understudy.console.models import AuditEntry
from understudy.context import AppContext
from understudy.fivesim.models import Payout, User

PAYOUTS = f"{CONTROL}/payouts"
SELLER = "seller@example.com"  # the vendor of _vendor_with_earnings


def _run(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["fivesim", *args, "--db", database_url])
    return result.exit_code, result.output


async def _two_payouts(client: httpx.AsyncClient) -> tuple[str, int, int]:
    """A vendor with 16.80 RUB earned and two pending payouts: 5 RUB and 7.5 RUB from payeer."""
    seller = await _vendor_with_earnings(client)
    assert (await _withdraw(client, seller, amount="5")).status_code == 200
    assert (await _withdraw(client, seller, amount="7.5", method="visa")).status_code == 200
    listed = await _list(client)
    return seller, listed[0]["id"], listed[1]["id"]


async def _list(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await client.get(PAYOUTS, params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()["payouts"]  # type: ignore[no-any-return]


async def _decide(
    client: httpx.AsyncClient, payout_id: int | str, body: Any, **headers: str
) -> httpx.Response:
    return await client.post(f"{PAYOUTS}/{payout_id}", json=body, headers={**ADMIN, **headers})


def _audit_rows(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _seller_id(ctx: AppContext) -> int:
    with ctx.db.read() as session:
        return session.execute(select(User.id).where(User.email == SELLER)).scalar_one()


def _deciders(ctx: AppContext) -> list[int | None]:
    with ctx.db.read() as session:
        return list(session.scalars(select(Payout.decided_by).order_by(Payout.id)).all())


async def test_payouts_are_listed_oldest_first_and_by_state(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    _, first, second = await _two_payouts(client)
    vendor_id = _seller_id(ctx)
    payouts = await _list(client)
    assert payouts == [
        {
            "id": first,
            "state": "pending",
            "amount": 5,
            "fee": "payeer",
            "method": "qiwi",
            "receiver": "4100 1234",
            "vendor_id": vendor_id,
        },
        {
            "id": second,
            "state": "pending",
            "amount": 7.5,
            "fee": "payeer",
            "method": "visa",
            "receiver": "4100 1234",
            "vendor_id": vendor_id,
        },
    ]
    assert first < second
    assert (await _decide(client, second, {"decision": "reject"})).status_code == 200
    assert [p["id"] for p in await _list(client, state="pending")] == [first]
    assert [p["id"] for p in await _list(client, state="rejected")] == [second]
    assert await _list(client, state="approved") == []
    refused = await client.get(PAYOUTS, params={"state": "paid"}, headers=ADMIN)
    assert refused.status_code == 400 and list(refused.json()) == ["error"]
    assert "state" in refused.json()["error"]


async def test_approve_pays_out_once(client: httpx.AsyncClient, ctx: AppContext) -> None:
    seller, first, _ = await _two_payouts(client)
    seen = await _wire(client, seller)
    world = _accounts(ctx)["world"][0]
    audited = _audit_rows(ctx)
    answer = await _decide(client, first, {"decision": "approve"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert {k: body["payout"][k] for k in ("id", "state", "amount", "fee", "method")} == {
        "id": first,
        "state": "approved",
        "amount": 5,
        "fee": "payeer",
        "method": "qiwi",
    }
    assert body["payout"]["receiver"] == "4100 1234"
    assert await _wire(client, seller) == seen  # the vendor already saw the money go
    assert _accounts(ctx)["world"][0] == world + 500
    assert _accounts(ctx)["vendor"] == (1680 - 500, 750)  # the other payout still held
    for decision in ("approve", "reject"):
        again = await _decide(client, first, {"decision": decision})
        assert (again.status_code, again.json()) == (
            400,
            {"error": f"payout {first} was already approved"},
        )
    assert await _wire(client, seller) == seen
    assert _accounts(ctx)["world"][0] == world + 500
    assert [p["state"] for p in await _list(client)] == ["approved", "pending"]
    # The control plane is not an operator: no console audit row, nobody recorded as decider.
    assert _audit_rows(ctx) == audited and _deciders(ctx) == [None, None]
    assert_invariants(ctx)


async def test_reject_gives_earnings_and_reserve_back(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    seller, _, second = await _two_payouts(client)
    after_withdrawals = await _wire(client, seller)
    assert after_withdrawals["balance"] == 4.3
    assert after_withdrawals["wallets"]["payeer"] == 87.5
    answer = await _decide(client, second, {"decision": "reject"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["payout"]["state"] == "rejected"
    assert answer.json()["payout"]["amount"] == 7.5
    wire = await _wire(client, seller)
    assert wire["balance"] == 11.8 and wire["wallets"]["payeer"] == 95
    assert wire["payments"][-1] == ("withdraw", "payeer", 7.5, 11.8)
    again = await _decide(client, second, {"decision": "approve"})
    assert (again.status_code, again.json()) == (
        400,
        {"error": f"payout {second} was already rejected"},
    )
    assert await _wire(client, seller) == wire
    assert_invariants(ctx)


async def test_unknown_payouts_are_400(client: httpx.AsyncClient) -> None:
    await _two_payouts(client)
    for payout_id in (999, 0, -3, 2**31, 10**30):
        answer = await _decide(client, payout_id, {"decision": "approve"})
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": f"no payout {payout_id}"},
        ), payout_id
    assert [p["state"] for p in await _list(client)] == ["pending", "pending"]


async def test_bad_bodies_are_400_and_change_nothing(client: httpx.AsyncClient) -> None:
    seller, first, _ = await _two_payouts(client)
    seen = await _wire(client, seller)
    for body in ({}, {"decision": "maybe"}, {"decision": None}, ["approve"], "approve"):
        answer = await _decide(client, first, body)
        assert answer.status_code == 400, body
        assert list(answer.json()) == ["error"], body
    assert "decision" in (await _decide(client, first, {"decision": "pay"})).json()["error"]
    for content in (b"", b"{", b'{"decision": "approve"'):
        answer = await client.post(f"{PAYOUTS}/{first}", content=content, headers=ADMIN)
        assert answer.status_code == 400 and list(answer.json()) == ["error"], content
    answer = await _decide(client, "abc", {"decision": "approve"})
    assert answer.status_code == 400 and "payout_id" in answer.json()["error"]
    assert [p["state"] for p in await _list(client)] == ["pending", "pending"]
    assert await _wire(client, seller) == seen


async def test_the_admin_token_is_required(client: httpx.AsyncClient) -> None:
    seller, first, _ = await _two_payouts(client)
    seen = await _wire(client, seller)
    bad = {"Authorization": "Bearer nope"}
    for headers in ({}, bad):
        for body in ({"decision": "approve"}, {"decision": "maybe"}):
            answer = await client.post(f"{PAYOUTS}/{first}", json=body, headers=headers)
            assert (answer.status_code, answer.json()) == (
                401,
                {"error": "invalid or missing admin token"},
            )
        for path in (PAYOUTS, f"{PAYOUTS}?state=nope"):
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 401, path
        answer = await client.post(f"{PAYOUTS}/999", json={"decision": "reject"}, headers=headers)
        assert answer.status_code == 401
    assert [p["state"] for p in await _list(client)] == ["pending", "pending"]
    assert await _wire(client, seller) == seen


async def test_decisions_at_once_take_effect_once(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    seller, first, _ = await _two_payouts(client)
    world = _accounts(ctx)["world"][0]
    decisions = ["approve", "reject"] * 4
    answers = await asyncio.gather(*(_decide(client, first, {"decision": d}) for d in decisions))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7
    [won] = [a.json()["payout"]["state"] for a in answers if a.status_code == 200]
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {
        f"payout {first} was already {won}"
    }
    paid = 500 if won == "approved" else 0
    assert _accounts(ctx)["world"][0] == world + paid
    wire = await _wire(client, seller)
    assert wire["wallets"]["payeer"] == (87.5 if paid else 92.5)
    assert_invariants(ctx)


async def test_calls_are_documented_under_sandbox(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    listing = paths[PAYOUTS]["get"]
    decision = paths[PAYOUTS + "/{payout_id}"]["post"]
    for operation in (listing, decision):
        assert operation["tags"] == ["sandbox"]
        assert {"200", "400", "401"} <= set(operation["responses"])
        assert "422" not in operation["responses"]
    schema = decision["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["decision"]["enum"] == ["approve", "reject"]


# --- the CLI twins -------------------------------------------------------------------------------


async def test_cli_lists_and_decides(
    client: httpx.AsyncClient, ctx: AppContext, database_url: str
) -> None:
    seller, first, second = await _two_payouts(client)
    code, output = _run(database_url, "payouts")
    assert code == 0, output
    header, *rows = output.splitlines()
    assert header.split("\t") == [
        "id",
        "state",
        "vendor_id",
        "method",
        "receiver",
        "fee",
        "amount",
    ]
    vendor_id = str(_seller_id(ctx))
    assert [row.split("\t") for row in rows] == [
        [str(first), "pending", vendor_id, "qiwi", "4100 1234", "payeer", "5"],
        [str(second), "pending", vendor_id, "visa", "4100 1234", "payeer", "7.5"],
    ]
    audited = _audit_rows(ctx)
    code, output = _run(database_url, "payout", "approve", str(first))
    assert (code, output) == (0, f"payout {first} approved: 5 RUB via payeer\n")
    code, output = _run(database_url, "payout", "reject", str(second))
    assert (code, output) == (0, f"payout {second} rejected: 7.5 RUB via payeer\n")
    wire = await _wire(client, seller)
    assert wire["balance"] == 11.8 and wire["wallets"]["payeer"] == 95
    code, output = _run(database_url, "payouts", "--state", "rejected")
    assert code == 0 and [r.split("\t")[:2] for r in output.splitlines()[1:]] == [
        [str(second), "rejected"]
    ]
    code, output = _run(database_url, "payouts", "--state", "pending")
    assert code == 0 and output.splitlines()[1:] == []
    assert _audit_rows(ctx) == audited and _deciders(ctx) == [None, None]
    assert_invariants(ctx)


async def test_cli_refusals(client: httpx.AsyncClient, database_url: str) -> None:
    seller, first, _ = await _two_payouts(client)
    assert _run(database_url, "payout", "approve", str(first))[0] == 0
    seen = await _wire(client, seller)
    for verb in ("approve", "reject"):
        code, output = _run(database_url, "payout", verb, str(first))
        assert (code, output) == (1, f"error: payout {first} was already approved\n")
    code, output = _run(database_url, "payout", "reject", "999")
    assert (code, output) == (1, "error: no payout 999\n")
    code, output = _run(database_url, "payout", "reject", str(2**40))
    assert (code, output) == (1, f"error: no payout {2**40}\n")
    assert _run(database_url, "payouts", "--state", "paid")[0] == 2  # a usage error
    assert _run(database_url, "payout", "approve", "abc")[0] == 2
    assert await _wire(client, seller) == seen
