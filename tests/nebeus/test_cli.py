"""`understudy nebeus ...` operator commands."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from tests.nebeus.helpers import assert_ledger_sound, new_user, rpc
from tests.nebeus.test_accounts import wallet
from understudy.cli import app
from understudy.context import AppContext

runner = CliRunner()


async def test_rates_set_rate_and_deposit(
    client: httpx.AsyncClient, ctx: AppContext, database_url: str
) -> None:
    sid = await new_user(client, ctx, "cli@example.com")
    listed = runner.invoke(app, ["nebeus", "rates", "--db", database_url])
    assert listed.exit_code == 0, listed.output
    assert "BTC\t0.001163" in listed.output
    changed = runner.invoke(app, ["nebeus", "set-rate", "usd", "1.1", "--db", database_url])
    assert changed.exit_code == 0, changed.output
    currencies = await rpc(client, "/utils/get_currencies/1.0/json")
    assert next(c for c in currencies if c["name"] == "USD")["rate"] == 1.1
    paid = runner.invoke(
        app, ["nebeus", "deposit", "CLI@example.com", "eur", "14.56", "--db", database_url]
    )
    assert paid.exit_code == 0, paid.output
    assert (await wallet(client, sid, "EUR"))["sum"] == 14.56
    for bad in (
        ["nebeus", "deposit", "nobody@example.com", "EUR", "1"],
        ["nebeus", "deposit", "cli@example.com", "EUR", "1.001"],
        ["nebeus", "set-rate", "XYZ", "1"],
    ):
        refused = runner.invoke(app, [*bad, "--db", database_url])
        assert refused.exit_code == 1, bad
    assert_ledger_sound(ctx)
