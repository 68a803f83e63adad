"""`understudy console ...`: operator accounts for the web console."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

cli = typer.Typer(help="Operator console accounts.", no_args_is_help=True)
T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $UNDERSTUDY_DATABASE_URL or SQLite)."),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
Username = Annotated[str, typer.Argument(help="The operator's username (any case).")]


def _checked(check: Callable[[str], object], value: str) -> None:
    from understudy.cli import fail
    from understudy.console.operators import OperatorError

    try:
        check(value)
    except OperatorError as exc:
        fail(str(exc))


def _password(from_stdin: bool) -> str:
    from understudy.console.operators import check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _checked(check_password, password)
    return password


def _in_transaction(db: str | None, work: Callable[[Session], T]) -> T:
    """Run work(session) in one write transaction on the migrated database; errors are one line."""
    from understudy.cli import _cause, fail, load_settings, migrate_or_fail
    from understudy.console.operators import OperatorError
    from understudy.core.db import Database, mask_url

    settings = load_settings(database_url=db)
    migrate_or_fail(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.write() as session:
            return work(session)
    except OperatorError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot update database {mask_url(settings.database_url)}: {_cause(exc)}")
    finally:
        database.dispose()


@cli.command("create-operator")
def create_operator(
    username: Username, password_stdin: PasswordStdin = False, db: DbOption = None
) -> None:
    """Create an operator who can log in to the console at /admin."""
    from understudy.console import operators

    _checked(operators.check_username, username)
    password = _password(password_stdin)
    name = _in_transaction(db, lambda s: operators.create(s, username, password).username)
    typer.echo(f"operator {name} created")


@cli.command("set-password")
def set_password(
    username: Username, password_stdin: PasswordStdin = False, db: DbOption = None
) -> None:
    """Give an operator a new password (their open sessions end)."""
    from understudy.console import operators

    password = _password(password_stdin)
    name = _in_transaction(db, lambda s: operators.set_password(s, username, password).username)
    typer.echo(f"password of operator {name} changed")


@cli.command("disable")
def disable(username: Username, db: DbOption = None) -> None:
    """Disable an operator (their open sessions end; they can no longer log in)."""
    from understudy.console import operators

    name = _in_transaction(db, lambda s: operators.disable(s, username).username)
    typer.echo(f"operator {name} disabled")


@cli.command("enable")
def enable(username: Username, db: DbOption = None) -> None:
    """Enable a disabled operator again."""
    from understudy.console import operators

    name = _in_transaction(db, lambda s: operators.enable(s, username).username)
    typer.echo(f"operator {name} enabled")


@cli.command("list")
def list_(db: DbOption = None) -> None:
    """List operators: id, username, state, created, password last changed."""
    from understudy.console import operators

    rows = _in_transaction(
        db,
        lambda s: [
            (o.id, o.username, o.active, o.created_at, o.password_changed_at)
            for o in operators.list_all(s)
        ],
    )
    if not rows:
        typer.echo("no operators yet; create one with `understudy console create-operator NAME`")
    for operator_id, name, active, created, changed in rows:
        state = "active" if active else "disabled"
        typer.echo(
            f"{operator_id}\t{name}\t{state}\tcreated {created.isoformat()}"
            f"\tpassword changed {changed.isoformat()}"
        )
