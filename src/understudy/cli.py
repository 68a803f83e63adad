"""The `understudy` command: serve, database maintenance and per-service operator commands."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel

from understudy.config import Settings, UnsafeSettingError
from understudy.console.cli import cli as console_cli
from understudy.core.db import mask_url

console = Console(stderr=True)
app = typer.Typer(
    help="Understudy: the fivesim, nebeus and backoffice APIs, for real.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(console_cli, name="console")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $UNDERSTUDY_DATABASE_URL or SQLite)."),
]


def fail(message: str) -> NoReturn:
    """Print one line of error and exit with status 1."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with non-None command-line overrides applied."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**given)  # type: ignore[arg-type]
        settings.check_safety()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}")
    except UnsafeSettingError as exc:
        fail(f"refusing to start: {exc}")
    return settings


def _cause(exc: BaseException) -> str:
    root: BaseException = exc
    while root.__cause__ is not None or getattr(root, "orig", None) is not None:
        root = getattr(root, "orig", None) or root.__cause__  # type: ignore[assignment]
    text = str(root).strip().splitlines()
    return text[0] if text else type(root).__name__


def migrate_or_fail(url: str) -> None:
    """Apply migrations; on failure print one line naming the masked URL and the cause."""
    from understudy.core import migrate

    try:
        migrate.upgrade(url)
    except Exception as exc:
        fail(f"cannot open or migrate database {mask_url(url)}: {_cause(exc)}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL for >1).")] = 1,
    db: DbOption = None,
    services: Annotated[
        str | None, typer.Option(help="Comma-separated services to enable (default: all).")
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="Load demo data and print a getting-started banner.")
    ] = False,
) -> None:
    """Migrate the database, seed reference data and serve every enabled service on one port."""
    import uvicorn

    from understudy.bootstrap import prepare

    settings = load_settings(database_url=db, services=services)
    if demo and not settings.admin_token:
        # The demo is for trying things out: turn the sandbox control plane on with a fresh token.
        settings = settings.model_copy(update={"admin_token": secrets.token_urlsafe(24)})
    if workers > 1 and settings.database_url.startswith("sqlite"):
        console.print(
            "[yellow]note:[/] several workers on SQLite share one writer; "
            "use PostgreSQL for real scale-out.",
            highlight=False,
        )
    migrate_or_fail(settings.database_url)
    try:
        banner = prepare(settings, demo=demo, host=host, port=port)
    except Exception as exc:
        fail(f"cannot prepare database {mask_url(settings.database_url)}: {_cause(exc)}")
    if banner:
        console.print(Panel(banner, title="Understudy demo", expand=False), highlight=False)
    console.print(
        f"serving {', '.join(settings.enabled_services)} on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}, {mask_url(settings.database_url)})",
        highlight=False,
        soft_wrap=True,
    )
    # Workers are separate processes: hand them the effective settings through the environment.
    os.environ["UNDERSTUDY_DATABASE_URL"] = settings.database_url
    os.environ["UNDERSTUDY_SERVICES"] = settings.services
    if settings.admin_token:
        os.environ["UNDERSTUDY_ADMIN_TOKEN"] = settings.admin_token
    if workers > 1:
        from understudy.observability import prepare_multiprocess_metrics

        prepare_multiprocess_metrics()
    uvicorn.run(
        "understudy.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        # A worker that has not answered the supervisor's ping by then is killed and replaced;
        # uvicorn's 5 s would cull workers still importing on a busy machine, over and over.
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout,
        timeout_keep_alive=settings.keep_alive_timeout,
    )


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply every pending migration."""
    settings = load_settings(database_url=db)
    migrate_or_fail(settings.database_url)
    console.print(f"database {mask_url(settings.database_url)} is up to date", highlight=False)


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Show the database's migration revision and the newest one available."""
    from understudy.core import migrate

    settings = load_settings(database_url=db)
    try:
        current = migrate.current_revision(settings.database_url)
    except Exception as exc:
        fail(f"cannot open database {mask_url(settings.database_url)}: {_cause(exc)}")
    head = migrate.head_revision(settings.database_url)
    state = "up to date" if current == head else "needs `understudy db upgrade`"
    typer.echo(f"current: {current or '(empty)'}\nhead:    {head}\n{state}")


@db_app.command("verify")
def db_verify(db: DbOption = None) -> None:
    """Recompute ledger balances and holds from postings and report any inconsistency."""
    from understudy.core.db import Database
    from understudy.core.ledger import verify

    settings = load_settings(database_url=db)
    database = Database(settings.database_url)
    try:
        with database.read() as session:
            problems = verify(session)
    except Exception as exc:
        fail(f"cannot verify database {mask_url(settings.database_url)}: {_cause(exc)}")
    finally:
        database.dispose()
    if problems:
        for problem in problems:
            typer.echo(problem)
        fail(f"{len(problems)} ledger problem(s)")
    typer.echo("ledger consistent")


def _add_service_commands() -> None:
    from understudy.services import load_all

    for service in load_all():
        if service.cli is not None:
            app.add_typer(service.cli, name=service.name, help=f"{service.name} operator commands.")


_add_service_commands()


def main() -> None:  # pragma: no cover - console entry point wrapper
    """Run the command line."""
    sys.exit(app())
