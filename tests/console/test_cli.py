"""`understudy console ...`: create, list, disable, enable and set-password operators."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import ADMIN
from tests.console.conftest import log_in
from understudy.cli import app
from understudy.console.models import AuditEntry, ConsoleOperator
from understudy.context import AppContext
from understudy.core.passwords import verify_password

runner = CliRunner()


def _run(url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {"UNDERSTUDY_ADMIN_TOKEN": "", "UNDERSTUDY_DATABASE_URL": ""}
    result = runner.invoke(app, ["console", *args, "--db", url], input=stdin, env=env)
    return result.exit_code, result.output


def test_create_list_disable_enable_set_password(ctx: AppContext, database_url: str) -> None:
    code, out = _run(database_url, "list")
    assert code == 0 and "no operators yet" in out
    code, out = _run(database_url, "create-operator", "Root", "--password-stdin", stdin="p" * 12)
    assert (code, out.strip()) == (0, "operator Root created")
    code, out = _run(database_url, "create-operator", "root", "--password-stdin", stdin="q" * 12)
    assert code == 1 and "error: an operator called 'root' already exists" in out
    code, out = _run(database_url, "create-operator", "bob", "--password-stdin", stdin="short")
    assert code == 1 and "at least 12 characters" in out
    code, out = _run(database_url, "create-operator", "no spaces", "--password-stdin", stdin="x")
    assert code == 1 and "a username is" in out
    code, out = _run(database_url, "list")
    assert code == 0 and re.match(r"\d+\tRoot\tactive\tcreated ", out)

    code, out = _run(database_url, "disable", "ROOT")
    assert (code, out.strip()) == (0, "operator Root disabled")
    assert "\tdisabled\t" in _run(database_url, "list")[1]
    code, out = _run(database_url, "disable", "ghost")
    assert code == 1 and "error: no operator called 'ghost'" in out
    assert _run(database_url, "enable", "root")[0] == 0

    code, out = _run(database_url, "set-password", "root", "--password-stdin", stdin="n" * 12)
    assert (code, out.strip()) == (0, "password of operator Root changed")
    with ctx.db.read() as session:
        root = session.scalars(select(ConsoleOperator)).one()
        assert root.active and root.session_version == 3  # disabled once, new password once
        assert verify_password("n" * 12, root.password_hash)[0]
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
        "operator.create",
        "operator.disable",
        "operator.enable",
        "operator.set_password",
    ]


def test_the_password_prompt_asks_twice(ctx: AppContext, database_url: str) -> None:
    code, out = _run(database_url, "create-operator", "carol", stdin=f"{'s' * 12}\n{'t' * 12}\n")
    assert code != 0 and "do not match" in out
    code, out = _run(database_url, "create-operator", "carol", stdin=f"{'s' * 12}\n{'s' * 12}\n")
    assert code == 0 and "operator carol created" in out


async def test_a_cli_operator_can_log_in(
    ctx: AppContext, database_url: str, client: httpx.AsyncClient
) -> None:
    _run(database_url, "create-operator", "dave", "--password-stdin", stdin="d" * 12)
    assert (await log_in(client, "dave", "d" * 12)).status_code == 302


async def test_a_sandbox_reset_keeps_operators_and_their_audit_log(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    answer = await client.post("/_understudy/reset", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    with ctx.db.read() as session:
        assert session.get(ConsoleOperator, operator) is not None
        assert session.scalar(select(func.count()).select_from(AuditEntry)) >= 1
