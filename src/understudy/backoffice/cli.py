"""`understudy backoffice ...`: operator commands."""

from __future__ import annotations

from typing import Annotated

import typer

from understudy.backoffice import cli_ops

cli = typer.Typer(help="Back office operator commands.", no_args_is_help=True)
api_key_cli = typer.Typer(help="Issue, list and revoke API keys.", no_args_is_help=True)
cli.add_typer(api_key_cli, name="api-key")
cli_ops.register(cli)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $UNDERSTUDY_DATABASE_URL or SQLite)."),
]


def context(db: str | None):  # type: ignore[no-untyped-def]
    """The application context on the configured (migrated) database."""
    from understudy.cli import load_settings, migrate_or_fail
    from understudy.context import AppContext

    settings = load_settings(database_url=db)
    migrate_or_fail(settings.database_url)
    return AppContext.from_settings(settings)


@api_key_cli.command("create")
def create(
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    db: DbOption = None,
) -> None:
    """Issue a new API key and print it (it is shown only once)."""
    from understudy.backoffice import keys

    ctx = context(db)
    try:
        with ctx.db.write() as session:
            row, key = keys.create_key(session, label=label, now=ctx.now(session))
            key_id = row.id
    finally:
        ctx.close()
    typer.echo(f"API key {key_id}: {key}")


@api_key_cli.command("list")
def list_(db: DbOption = None) -> None:
    """List API keys (id, prefix, label, created, revoked)."""
    from understudy.backoffice import keys

    ctx = context(db)
    try:
        with ctx.db.read() as session:
            rows = [
                (r.id, r.prefix, r.label, r.created_at, r.revoked_at)
                for r in keys.list_keys(session)
            ]
    finally:
        ctx.close()
    for key_id, prefix, label, created, revoked in rows:
        state = f"revoked {revoked.isoformat()}" if revoked else "active"
        typer.echo(f"{key_id}\t{prefix}…\t{label}\t{created.isoformat()}\t{state}")


@api_key_cli.command("revoke")
def revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id.")], db: DbOption = None
) -> None:
    """Revoke an API key by id."""
    from understudy.backoffice import keys
    from understudy.cli import fail

    ctx = context(db)
    try:
        with ctx.db.write() as session:
            done = keys.revoke_key(session, key_id=key_id, now=ctx.now(session))
    finally:
        ctx.close()
    if not done:
        fail(f"no active API key with id {key_id}")
    typer.echo(f"API key {key_id} revoked")


@cli.command("bulk-load")
def bulk_load(
    members: Annotated[int, typer.Option(help="Members under admin (bulk2 … bulkN+1).")] = 100_000,
    db: DbOption = None,
) -> None:
    """Wipe the database and load a generated organisation (benchmarks; reuses one in place).

    The bench logs admin in with UNDERSTUDY_BACKOFFICE_ADMIN_PASSWORD=bench-admin-password:
    set it here too, so that the organisation loaded now can be reused there.
    """
    import sys

    from understudy.backoffice import bulk
    from understudy.control.reset import wipe_and_seed
    from understudy.services import load_all

    ctx = context(db)
    url = ctx.settings.database_url
    try:
        done = bulk.ensure(
            url,
            members,
            reset=lambda: wipe_and_seed(ctx, load_all()),
            progress=lambda line: print(f"bulk: {line}", file=sys.stderr, flush=True),
        )
    finally:
        ctx.close()
    typer.echo(" ".join(f"{k}={v}" for k, v in done.items()))
