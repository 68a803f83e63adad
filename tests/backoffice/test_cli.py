"""`understudy backoffice ...`: every operator control call has a CLI twin; plans are edited."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.backoffice.conftest import create, member_id
from understudy.backoffice.models import Plan
from understudy.cli import app
from understudy.context import AppContext

runner = CliRunner()


@pytest.fixture
def bo(database_url: str):  # type: ignore[no-untyped-def]
    """Run `understudy backoffice ...` against the test database; returns (code, output)."""
    env = {"UNDERSTUDY_ADMIN_TOKEN": "", "UNDERSTUDY_DATABASE_URL": database_url}

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["backoffice", *args], env=env)
        return result.exit_code, result.output

    return run


async def test_operator_commands(
    bo, client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    assert bo("credit", "admin", "3", "10000", "ABCD")[0] == 0
    assert bo("credit", "ghost", "3", "1", "x")[0] == 1
    assert bo("credit", "--", "admin", "2", "-1", "too much")[0] == 1  # never below zero
    assert bo("credit", "admin", "3", "1.234", "x")[0] == 1
    r = await client.get("/api/v1/wallets/3?user_id=1&page=1", headers=auth)
    assert [(x["amount"], x["description"]) for x in r.json()["list"]] == [("10000.0", "ABCD")]
    await create(client, auth, user_name="buyer")
    buyer = member_id(ctx, "buyer")
    assert bo("purchase", "buyer", "Entrepreneur")[0] == 0
    assert bo("purchase", "buyer", "Gold")[0] == 1
    r = await client.get(f"/api/v1/products/{buyer}", headers=auth)
    assert [p["plan"] for p in r.json()["plans"]] == ["Free Plan", "Entrepreneur"]
    assert bo("setting", "buyer", "--request-token-on-edit")[0] == 0
    assert (await client.get(f"/api/v1/users/{buyer}", headers=auth)).json()[
        "request_token_on_edit"
    ]
    assert bo("notice", "Hola", "Para todos")[0] == 0
    assert bo("notice", "Solo", "Para ti", "--username", "buyer")[0] == 0
    assert bo("notice", "X", "Y", "--plan", "Gold")[0] == 1
    r = await client.get(f"/api/v1/notices/{buyer}", headers=auth)
    assert [n["title"] for n in r.json()["general_notices"]] == ["Hola"]
    assert [n["title"] for n in r.json()["user_notices"]] == ["Solo"]
    assert bo("resource", "2", "Intro", "Video", "--video", "https://v.example/1")[0] == 0
    assert bo("resource", "99", "Intro", "Video")[0] == 1
    r = await client.get("/api/v1/resources/2", headers=auth)
    assert r.json()["list"][0]["video"] == "https://v.example/1"
    code, out = bo("cashout", "request", "admin", "3", "470", "20", "TQx1")
    assert code == 0, out
    assert bo("cashout", "request", "admin", "1", "470", "20", "TQx1")[0] == 1
    assert bo("cashout", "resolve", "1", "rejected")[0] == 0
    assert bo("cashout", "resolve", "1", "approved")[0] == 1  # once only
    r = await client.get("/api/v1/wallets/3?user_id=1&page=1", headers=auth)
    assert [x["description"] for x in r.json()["list"]][-2:] == [
        "Cashout - USDT",
        "Cashout Rejected - USDT",
    ]
    r = await client.post(
        "/api/v1/user_tickets", data={"user_id": "1", "subject": "s", "comment": "c"}, headers=auth
    )
    assert bo("ticket", "status", "1", "In Progress")[0] == 0
    assert bo("ticket", "status", "1", "Open")[0] == 2  # not a documented status
    assert bo("ticket", "status", "7", "Closed")[0] == 1
    r = await client.get("/api/v1/user_tickets/1", headers=auth)
    assert r.json()["list"][0]["status"] == "In Progress"
    r = await client.put("/api/v1/users/1", data={"default_leg": "binary_tank"}, headers=auth)
    await create(client, auth, user_name="tanked")
    assert bo("place", "tanked", "up")[0] == 2
    assert bo("place", "buyer", "left")[0] == 1  # not in the tank
    assert bo("place", "tanked", "right")[0] == 0
    assert bo("place", "tanked", "right")[0] == 1


def test_plans_are_listed_created_and_updated(bo, ctx: AppContext) -> None:
    code, out = bo("plan", "list")
    assert code == 0
    assert [line.split("\t")[1] for line in out.splitlines()] == ["Free Plan", "Entrepreneur"]
    assert "unilevel 5/3/2" in out and "cap 500" in out
    code, out = bo(
        "plan", "create", "Leader", "--price", "100", "--bv", "80", "--direct", "12.5",
        "--unilevel", "6,4", "--binary", "8", "--binary-cap", "none", "--matrix-on",
        "--matrix", "2,2", "--directs-needed", "3", "--hold-days", "10", "--first-pair", "2:1",
    )  # fmt: skip
    assert code == 0, out
    assert bo("plan", "create", "Leader")[0] == 1  # the name is taken
    assert bo("plan", "create", "Bad", "--direct", "150")[0] == 1
    assert bo("plan", "create", "Bad", "--price", "-5")[0] == 1
    assert bo("plan", "create", "Bad", "--first-pair", "3:1")[0] == 1
    assert bo("plan", "update", "Nope", "--price", "1")[0] == 1
    assert bo("plan", "update", "Leader", "--price", "120.5", "--matrix-off")[0] == 0
    with ctx.db.read() as session:
        plan = session.scalars(select(Plan).where(Plan.name == "Leader")).one()
        assert (plan.price, plan.bv, plan.direct_bp, plan.unilevel_bp) == (
            12050,
            8000,
            1250,
            [600, 400],
        )
        assert (plan.binary_bp, plan.binary_cap, plan.matrix_on, plan.matrix_bp) == (
            800,
            None,
            False,
            [200, 200],
        )
        assert (plan.matrix_directs_needed, plan.matrix_hold_days, plan.first_pair) == (
            3,
            10,
            "2:1",
        )
        assert session.scalar(select(Plan).where(Plan.name == "Bad")) is None
