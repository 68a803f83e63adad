"""`understudy backoffice ...`: the CLI twins of the operator control calls, and plans."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.orm import Session

from understudy.core.db import is_id

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $UNDERSTUDY_DATABASE_URL or SQLite)."),
]
cashout_cli = typer.Typer(help="Request and resolve cash-outs.", no_args_is_help=True)
ticket_cli = typer.Typer(help="Support tickets.", no_args_is_help=True)
plan_cli = typer.Typer(help="List, create and update plans.", no_args_is_help=True)


class Leg(StrEnum):
    """Where a sponsor places a tanked member."""

    left = "left"
    right = "right"


class Resolution(StrEnum):
    """How a cash-out ends."""

    approved = "approved"
    rejected = "rejected"


class TicketStatus(StrEnum):
    """A ticket's states."""

    new = "New"
    in_progress = "In Progress"
    closed = "Closed"


def in_transaction(db: str | None, work: Callable[[Session, Any], T]) -> T:
    """Run work(session, now) in one write transaction on the configured database."""
    from understudy.backoffice.cli import context

    ctx = context(db)
    try:
        return ctx.db.transaction(lambda session: work(session, ctx.now(session)))
    finally:
        ctx.close()


def cents(text: str) -> int:
    """A decimal amount typed by an operator, in cents (exits on bad input)."""
    from understudy.cli import fail
    from understudy.core.money import InvalidAmount, to_minor

    try:
        return to_minor(text, "USD")
    except InvalidAmount as exc:
        fail(f"invalid amount: {exc}")


def done(problem: str | None, message: str) -> None:
    """Print the message, or fail with the problem."""
    from understudy.cli import fail

    if problem:
        fail(problem)
    typer.echo(message)


def register(cli: typer.Typer) -> None:
    """Add the operator commands to `understudy backoffice`."""
    cli.command("credit")(credit)
    cli.command("purchase")(purchase)
    cli.command("place")(place)
    cli.command("setting")(setting)
    cli.command("notice")(notice)
    cli.command("resource")(resource)
    cli.add_typer(cashout_cli, name="cashout")
    cli.add_typer(ticket_cli, name="ticket")
    cli.add_typer(plan_cli, name="plan")


def credit(
    username: str,
    wallet_id: Annotated[int, typer.Argument(min=1, max=5, help="1 to 5, dashboard order.")],
    amount: Annotated[str, typer.Argument(help="Signed decimal, e.g. 10000 or -50.5.")],
    description: str,
    db: DbOption = None,
) -> None:
    """Write a signed row to a member's wallet (like the seed's 10000.0 "ABCD")."""
    from understudy.backoffice.service import credit as write_credit
    from understudy.core import ledger

    value = cents(amount)
    if not description.strip():
        done("description must not be blank", "")

    def work(session: Session, now: Any) -> str | None:
        try:
            with session.begin_nested():
                entry = write_credit(
                    session,
                    username=username.strip(),
                    wallet_id=wallet_id,
                    amount=value,
                    description=description,
                    now=now,
                )
        except ledger.InsufficientFunds:
            return "the wallet's balance is too low for that debit"
        return None if entry is not None else f"no member {username!r}"

    done(in_transaction(db, work), f"wallet {wallet_id} of {username}: {amount} written")


def purchase(username: str, plan: str, db: DbOption = None) -> None:
    """Buy or upgrade a member's plan; the sponsor's purchase wallet pays, bonuses follow."""
    from understudy.backoffice import operations

    def work(session: Session, now: Any) -> str | None:
        return operations.buy_plan(session, username=username, plan=plan, now=now)

    done(in_transaction(db, work), f"{username} bought {plan}")


def place(username: str, leg: Leg, db: DbOption = None) -> None:
    """Place a member waiting in the holding tank on the sponsor's left or right line."""
    from understudy.backoffice.service import place_tanked

    def work(session: Session, now: Any) -> str | None:
        return place_tanked(session, username=username.strip(), leg=leg.value, now=now)

    done(in_transaction(db, work), f"{username} placed on the {leg.value}")


def setting(
    username: str,
    request_token_on_edit: Annotated[
        bool,
        typer.Option(
            "--request-token-on-edit/--no-request-token-on-edit",
            help="Whether profile edits need a mailed security token.",
        ),
    ],
    db: DbOption = None,
) -> None:
    """Set a member's per-member setting."""
    from understudy.backoffice.service import set_request_token_on_edit

    def work(session: Session, now: Any) -> str | None:
        found = set_request_token_on_edit(
            session, username=username.strip(), value=request_token_on_edit
        )
        return None if found is not None else f"no member {username!r}"

    state = "on" if request_token_on_edit else "off"
    done(in_transaction(db, work), f"request_token_on_edit {state} for {username}")


def notice(
    title: str,
    content: str,
    username: Annotated[str | None, typer.Option(help="Only for this member.")] = None,
    plan: Annotated[str | None, typer.Option(help="Only for this plan's holders.")] = None,
    db: DbOption = None,
) -> None:
    """Publish a notice (general, per member or per plan)."""
    from understudy.backoffice import content as notices

    def work(session: Session, now: Any) -> str | None:
        return notices.add_notice(
            session, title=title, content=content, username=username, plan=plan
        )

    done(in_transaction(db, work), "notice published")


def resource(
    category_id: int,
    title: str,
    description: str,
    video: Annotated[str, typer.Option(help="Video URL.")] = "",
    file_url: Annotated[str, typer.Option(help="File URL or path under ASSET_HOST.")] = "",
    db: DbOption = None,
) -> None:
    """Publish a resource in a category."""
    from understudy.backoffice import content

    def work(session: Session, now: Any) -> str | None:
        if not is_id(category_id):
            return f"no category {category_id}"
        return content.add_resource(
            session,
            category_id=category_id,
            title=title,
            description=description,
            video=video,
            file=file_url,
        )

    done(in_transaction(db, work), "resource published")


@cashout_cli.command("request")
def cashout_request(
    username: str,
    wallet_id: int,
    currency_id: int,
    amount: str,
    address: str,
    db: DbOption = None,
) -> None:
    """Request a cash-out: the wallet is debited at once, the request is pending."""
    from understudy.backoffice import operations

    value = cents(amount)
    found: list[int] = []

    def work(session: Session, now: Any) -> str | None:
        cashout_id, problem = operations.request_cashout(
            session,
            username=username,
            wallet_id=wallet_id,
            currency_id=currency_id,
            amount=value,
            address=address,
            now=now,
        )
        found[:] = [cashout_id] if cashout_id is not None else []
        return problem

    problem = in_transaction(db, work)
    done(problem, f"cash-out {found[0] if found else '?'} pending")


@cashout_cli.command("resolve")
def cashout_resolve(cashout_id: int, status: Resolution, db: DbOption = None) -> None:
    """Approve or reject a pending cash-out (a rejection credits the wallet back)."""
    from understudy.backoffice import operations

    def work(session: Session, now: Any) -> str | None:
        if not is_id(cashout_id):
            return f"no pending cash-out {cashout_id}"
        return operations.resolve_cashout(
            session, cashout_id=cashout_id, status=status.value, now=now
        )

    done(in_transaction(db, work), f"cash-out {cashout_id} {status.value}")


@ticket_cli.command("status")
def ticket_status(ticket_id: int, status: TicketStatus, db: DbOption = None) -> None:
    """Move a ticket to New, In Progress or Closed."""
    from understudy.backoffice import content

    def work(session: Session, now: Any) -> str | None:
        return content.set_ticket_status(session, ticket_id=ticket_id, status=status.value)

    done(in_transaction(db, work), f"ticket {ticket_id} {status.value}")


# --- plans ---------------------------------------------------------------------------------------

Money = Annotated[str | None, typer.Option(help="Decimal USD amount.")]
Pct = Annotated[str | None, typer.Option(help="Percentage, e.g. 10 or 2.5.")]
Pcts = Annotated[str | None, typer.Option(help="Comma-separated percentages per level.")]


def _changes(**values: Any) -> Any:
    from understudy.backoffice.plans import PlanChanges

    return PlanChanges(**values)


@plan_cli.command("list")
def plan_list(db: DbOption = None) -> None:
    """List plans with their rules."""
    from understudy.backoffice import plans

    lines = in_transaction(db, lambda s, now: [plans.describe(p) for p in plans.list_plans(s)])
    for line in lines:
        typer.echo(line)


def _plan_command(create: bool) -> Callable[..., None]:
    def command(
        name: str,
        price: Money = None,
        bv: Money = None,
        image: Annotated[str | None, typer.Option(help="Image file name.")] = None,
        direct: Pct = None,
        unilevel: Pcts = None,
        binary: Pct = None,
        binary_cap: Annotated[str | None, typer.Option(help="Per period; 'none' = no cap.")] = None,
        max_carry: Annotated[str | None, typer.Option(help="'none' = unlimited.")] = None,
        matrix_on: Annotated[bool | None, typer.Option("--matrix-on/--matrix-off")] = None,
        matrix: Pcts = None,
        directs_needed: Annotated[int | None, typer.Option(help="Matrix: active directs.")] = None,
        hold_days: Annotated[int | None, typer.Option(help="Matrix: days held.")] = None,
        pair_left: Money = None,
        pair_right: Money = None,
        pair_value: Money = None,
        first_pair: Annotated[str | None, typer.Option(help="1:1, 2:1 or 1:2.")] = None,
        db: DbOption = None,
    ) -> None:
        from understudy.backoffice import plans

        changes = _changes(
            price=price,
            bv=bv,
            image=image,
            direct=direct,
            unilevel=unilevel,
            binary=binary,
            binary_cap=binary_cap,
            max_carry=max_carry,
            matrix_on=matrix_on,
            matrix=matrix,
            matrix_directs_needed=directs_needed,
            matrix_hold_days=hold_days,
            pair_left=pair_left,
            pair_right=pair_right,
            pair_value=pair_value,
            first_pair=first_pair,
        )

        def work(session: Session, now: Any) -> tuple[str | None, str]:
            try:
                with session.begin_nested():
                    edit = plans.create_plan if create else plans.update_plan
                    return None, plans.describe(edit(session, name=name, changes=changes))
            except plans.PlanProblem as exc:
                return str(exc), ""

        problem, line = in_transaction(db, work)
        done(problem, line)

    command.__doc__ = "Create a plan." if create else "Change a plan's price or rules."
    return command


plan_cli.command("create")(_plan_command(create=True))
plan_cli.command("update")(_plan_command(create=False))
