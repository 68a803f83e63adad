"""Operator commands (`understudy fivesim ...`) and the --demo data."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from tests.fivesim.helpers import assert_invariants, bearer, buy, profile, stock
from understudy.cli import app as cli_app
from understudy.context import AppContext
from understudy.fivesim import service as fivesim_service  # the Service, not service.py


def _run(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["fivesim", *args, "--db", database_url])
    return result.exit_code, result.output


async def test_operator_commands(
    client: httpx.AsyncClient, ctx: AppContext, database_url: str
) -> None:
    code, output = _run(database_url, "add-user", "cli.user@example.com", "--balance", "50")
    assert code == 0, output
    token = output.split("token: ")[1].strip()
    assert _run(database_url, "top-up", "cli.user@example.com", "25.5")[0] == 0
    assert (await profile(client, token))["balance"] == 75.5
    assert _run(database_url, "set-price", "russia", "mts", "telegram", "7")[0] == 0
    products = (await client.get("/v1/guest/products/russia/mts")).json()
    assert products == {"telegram": {"Category": "activation", "Qty": 0, "Price": 7}}
    assert _run(database_url, "set-reserve", "payeer", "12")[0] == 0
    await stock(client, "russia", "mts", "telegram", count=1, price=7)
    order = (await buy(client, token, "russia/mts/telegram")).json()
    code, output = _run(database_url, "orders", "--email", "cli.user@example.com")
    assert code == 0, output
    header, row = output.splitlines()
    assert header.split("\t")[:3] == ["id", "status", "buyer"]
    fields = row.split("\t")
    assert fields[:5] == [
        str(order["id"]),
        "PENDING",
        "cli.user@example.com",
        order["phone"],
        "russia/mts/telegram",
    ]
    assert fields[5] == "7"
    assert _run(database_url, "orders", "--status", "finished")[1].splitlines()[1:] == []
    assert_invariants(ctx)


async def test_operator_command_refusals(ctx: AppContext, database_url: str) -> None:
    assert _run(database_url, "add-user", "dup@example.com")[0] == 0
    code, output = _run(database_url, "add-user", "dup@example.com")
    assert code == 1 and "exists" in output
    code, output = _run(database_url, "top-up", "nobody@example.com", "5")
    assert code == 1 and "no user" in output
    code, output = _run(database_url, "set-price", "narnia", "mts", "telegram", "7")
    assert code == 1 and "unknown country" in output
    code, output = _run(database_url, "set-reserve", "bank", "7")
    assert code == 1 and "unknown reserve" in output
    code, output = _run(database_url, "top-up", "dup@example.com", "1.234")
    assert code == 1


async def test_demo_data_is_usable_and_repeatable(
    client: httpx.AsyncClient, ctx: AppContext, small_demo: None
) -> None:
    first = fivesim_service.demo(ctx)
    second = fivesim_service.demo(ctx)  # a second start: a fresh token, the old one is dead
    old_token = first.lines[0].split("token ")[1]
    token = second.lines[0].split("token ")[1]
    assert (await client.get("/v1/user/profile", headers=bearer(old_token))).status_code == 401
    assert (await profile(client, token))["balance"] == 1000
    assert (await buy(client, token)).status_code == 200
    assert token in second.curl
    assert_invariants(ctx)
