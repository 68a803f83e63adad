"""Operator commands: `understudy fivesim ...` (users, top-ups, prices, reserves, payouts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from understudy.core.money import InvalidAmount, to_minor
from understudy.fivesim.vendor import SLUG

T = TypeVar("T")
cli = typer.Typer(no_args_is_help=True)
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $UNDERSTUDY_DATABASE_URL or SQLite)."),
]


def _in_transaction(db: str | None, work: Callable[[Session, datetime], T]) -> T:
    from understudy.cli import fail, load_settings, migrate_or_fail
    from understudy.context import AppContext
    from understudy.fivesim.errors import FivesimError

    settings = load_settings(database_url=db)
    migrate_or_fail(settings.database_url)
    ctx = AppContext.from_settings(settings)
    try:
        return ctx.db.transaction(lambda session: work(session, ctx.now(session)))
    except (FivesimError, ValueError, LookupError) as exc:
        fail(str(exc))
    finally:
        ctx.close()


def _minor(amount: str) -> int:
    from understudy.cli import fail

    try:
        minor = to_minor(Decimal(amount) if amount else amount, "RUB")
    except (InvalidAmount, ArithmeticError):
        fail(f"{amount!r} is not an amount in RUB with at most 2 decimals")
    if minor < 0:
        fail("the amount must not be negative")
    return minor


@cli.command("add-user")
def add_user(
    email: str,
    balance: Annotated[str, typer.Option(help="Initial balance in RUB (a `charge`).")] = "0",
    vendor: Annotated[str | None, typer.Option(help="Vendor name: makes it a vendor.")] = None,
    db: DbOption = None,
) -> None:
    """Create a user and print its id and API token (shown once)."""
    # `understudy.fivesim.service` as an attribute is the registered Service, not the module.
    from understudy.fivesim.service import create_user, email_exists

    amount = _minor(balance)

    def work(session: Session, now: datetime) -> tuple[int, str]:
        if email_exists(session, email=email):
            raise ValueError(f"a user with e-mail {email} exists")
        user, token = create_user(session, email=email, now=now, balance=amount, vendor=vendor)
        return user.id, token

    user_id, token = _in_transaction(db, work)
    typer.echo(f"id: {user_id}\ntoken: {token}")


@cli.command("top-up")
def top_up(email: str, amount: str, db: DbOption = None) -> None:
    """Credit a user's balance (a `charge` from `admin`, +8 rating)."""
    from sqlalchemy import select

    from understudy.fivesim.models import User
    from understudy.fivesim.service import top_up as credit

    minor = _minor(amount)
    if minor == 0:
        from understudy.cli import fail

        fail("the amount must be positive")

    def work(session: Session, now: datetime) -> None:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            raise LookupError(f"no user with e-mail {email}")
        credit(session, user=user, amount=minor, provider="admin", now=now)

    _in_transaction(db, work)
    typer.echo("ok")


@cli.command("set-price")
def set_price(country: str, operator: str, product: str, price: str, db: DbOption = None) -> None:
    """Offer a product on a country's operator at a price (numbers come from vendors)."""
    from understudy.fivesim import catalogue

    minor = _minor(price)

    def work(session: Session, now: datetime) -> None:
        found = catalogue.country(session, name=country)
        if found is None:
            raise LookupError(f"unknown country {country}")
        for what, value in (("operator", operator), ("product", product)):
            if not SLUG.match(value) or value == "any":
                raise ValueError(f"{what} must be a lowercase name other than any")
        catalogue.set_stock(
            session,
            country=found,
            operator=operator,
            product_name=product,
            count=0,
            price=minor,
            vendor_id=0,  # count=0: no number is added
            now=now,
        )

    _in_transaction(db, work)
    typer.echo("ok")


@cli.command("set-reserve")
def set_reserve(name: str, amount: str, db: DbOption = None) -> None:
    """Set a payout reserve (fkwallet, payeer or unitpay)."""
    from understudy.fivesim import vendor

    if name not in vendor.RESERVES:
        from understudy.cli import fail

        fail(f"unknown reserve {name}; one of {', '.join(vendor.RESERVES)}")
    minor = _minor(amount)
    _in_transaction(db, lambda session, now: vendor.set_reserves(session, amounts={name: minor}))
    typer.echo("ok")


@cli.command("orders")
def list_orders(
    email: Annotated[str | None, typer.Option(help="Only this buyer's orders.")] = None,
    status: Annotated[str | None, typer.Option(help="Only orders in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest first, at most.")] = 50,
    db: DbOption = None,
) -> None:
    """List orders, newest first: id, status, buyer, phone, country/operator/product, price."""
    from sqlalchemy import select

    from understudy.core.clock import rfc3339
    from understudy.core.money import major_number
    from understudy.fivesim.models import Order, User

    def work(session: Session, now: datetime) -> list[str]:
        stmt = select(Order, User.email).join(User, User.id == Order.user_id)
        if email is not None:
            stmt = stmt.where(User.email == email)
        if status is not None:
            stmt = stmt.where(Order.status == status.upper())
        rows = session.execute(stmt.order_by(Order.id.desc()).limit(limit)).all()
        return [
            f"{o.id}\t{o.status}\t{buyer}\t{o.phone}\t{o.country}/{o.operator}/{o.product}\t"
            f"{major_number(o.price, 'RUB')}\t{rfc3339(o.created_at)}"
            for o, buyer in rows
        ]

    lines = _in_transaction(db, work)
    typer.echo("id\tstatus\tbuyer\tphone\toffer\tprice\tcreated_at")
    for line in lines:
        typer.echo(line)


payout_cli = typer.Typer(help="Approve or reject a vendor's pending payout.", no_args_is_help=True)
cli.add_typer(payout_cli, name="payout")


class PayoutState(StrEnum):
    """A payout's states."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"


@cli.command("payouts")
def list_payouts(
    state: Annotated[PayoutState | None, typer.Option(help="Only payouts in this state.")] = None,
    db: DbOption = None,
) -> None:
    """List vendors' payouts, oldest first: id, state, vendor, method, receiver, reserve, amount."""
    from understudy.core.money import major_number
    from understudy.fivesim.control import listed_payouts

    def work(session: Session, now: datetime) -> list[str]:
        rows = listed_payouts(session, state=state.value if state else None)
        return [
            f"{p.id}\t{p.state}\t{p.user_id}\t{p.method}\t{p.receiver}\t{p.reserve}\t"
            f"{major_number(p.amount, 'RUB')}"
            for p in rows
        ]

    lines = _in_transaction(db, work)
    typer.echo("id\tstate\tvendor_id\tmethod\treceiver\tfee\tamount")
    for line in lines:
        typer.echo(line)


def _decide(payout_id: int, decision: str, db: str | None) -> None:
    from understudy.core.money import major_number
    from understudy.fivesim.control import decide_payout

    def work(session: Session, now: datetime) -> str:
        p = decide_payout(session, payout_id=payout_id, decision=decision, now=now)
        return f"payout {p.id} {p.state}: {major_number(p.amount, 'RUB')} RUB via {p.reserve}"

    typer.echo(_in_transaction(db, work))


@payout_cli.command("approve")
def approve_payout(payout_id: int, db: DbOption = None) -> None:
    """Approve a pending payout: the vendor's held earnings leave."""
    _decide(payout_id, "approve", db)


@payout_cli.command("reject")
def reject_payout(payout_id: int, db: DbOption = None) -> None:
    """Reject a pending payout: the earnings and the reserve come back to the vendor."""
    _decide(payout_id, "reject", db)
