"""`understudy nebeus ...`: operator commands (rates, deposits, KYC decisions)."""

from __future__ import annotations

from typing import Annotated

import typer

from understudy.context import AppContext

cli = typer.Typer(help="nebeus operator commands.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $UNDERSTUDY_DATABASE_URL or SQLite)."),
]


def _context(db: str | None) -> AppContext:
    from understudy.cli import load_settings, migrate_or_fail

    settings = load_settings(database_url=db)
    migrate_or_fail(settings.database_url)
    return AppContext.from_settings(settings)


@cli.command("rates")
def rates(db: DbOption = None) -> None:
    """List currencies and their market rates (units per EUR)."""
    from understudy.nebeus import banking

    ctx = _context(db)
    try:
        with ctx.db.read() as session:
            rows = [(c.name, c.rate) for c in banking.list_currencies(session)]
    finally:
        ctx.close()
    for name, rate in rows:
        typer.echo(f"{name}\t{rate}")


@cli.command("set-rate")
def set_rate(
    currency: Annotated[str, typer.Argument(help="BTC, USD or GBP.")],
    rate: Annotated[str, typer.Argument(help="Units per EUR, e.g. 0.001163.")],
    db: DbOption = None,
) -> None:
    """Set a currency's market rate."""
    from understudy.cli import fail
    from understudy.core.money import InvalidAmount, to_decimal
    from understudy.nebeus import banking

    try:
        value = to_decimal(rate)
    except InvalidAmount:
        fail(f"rate {rate!r} is not a number")
    if value <= 0:
        fail("rate must be positive")
    ctx = _context(db)
    try:
        with ctx.db.write() as session:
            banking.set_rate(session, currency=currency.upper(), rate=value)
    except banking.BankingError as exc:
        fail(exc.message)
    finally:
        ctx.close()
    typer.echo(f"{currency.upper()} rate set to {value}")


@cli.command("deposit")
def deposit(
    login: Annotated[str, typer.Argument(help="The user's e-mail.")],
    currency: Annotated[str, typer.Argument(help="EUR, BTC, USD or GBP.")],
    amount: Annotated[str, typer.Argument(help="Major units, e.g. 14.56.")],
    db: DbOption = None,
) -> None:
    """Credit a user's wallet with money received from outside ("Deposit")."""
    from understudy.cli import fail
    from understudy.core.money import InvalidAmount, to_minor
    from understudy.nebeus import banking, identity

    currency = currency.upper()
    if currency not in banking.SUPPORTED:
        fail(f"currency {currency} is not supported")
    try:
        minor = to_minor(amount, currency)
    except InvalidAmount:
        fail(f"amount {amount!r} is not valid for {currency}")
    if minor <= 0:
        fail("amount must be positive")
    ctx = _context(db)
    try:
        with ctx.db.write() as session:
            user = identity.find_user_by_login(session, login)
            if user is None:
                fail(f"no user {login}")
            ref = banking.deposit(
                session, user_id=user.id, currency=currency, amount=minor, now=ctx.now(session)
            )
    finally:
        ctx.close()
    typer.echo(f"deposited {amount} {currency} to {login} (posting {ref})")
