"""`/partner/dashboard` and `/dashboard/graphic` on the wire (contract §4.1, §4.2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.core.money import major_number
from understudy.nebeus import banking, dashboard, loans
from understudy.nebeus.jsonrpc import Call, field_error, route
from understudy.nebeus.loans_api import partner_card
from understudy.nebeus.models import Country, Partner, User
from understudy.nebeus.params import blank, odoo_datetime
from understudy.nebeus.settings import get_settings

INTERNAL = {"surname": "Transfer", "name": "Internal"}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _flow(flow: dashboard.Flow, currency: str) -> dict[str, int | float]:
    return {
        "credit": major_number(flow.credit, currency),
        "debit": major_number(flow.debit, currency),
    }


def render_movement(db: Session, m: banking.Movement) -> dict[str, Any]:
    """One posted line, dashboard-shaped."""
    return {
        "credit": major_number(max(m.amount, 0), m.currency),
        "currency": m.currency,
        "date": odoo_datetime(m.created_at),
        "debit": major_number(max(-m.amount, 0), m.currency),
        "id": m.ref,
        "partner": partner_card(db, m.counterparty) if m.counterparty else dict(INTERNAL),
        "type": m.label,
    }


def _verification(statuses: dict[str, str]) -> dict[str, Any]:
    def points(item: str) -> int:
        return 5 if statuses[item] == "verified" else 0

    return {
        "address": {"status": statuses["address"], "points": points("address")},
        "identity": {"status": statuses["identity"], "points": points("identity")},
        "phone": {"status": statuses["phone"] == "verified", "points": points("phone")},
    }


def settle_caller(call: Call) -> None:
    """Apply the caller's due timers first (payouts, loan collections), so every figure is
    current; only then does the call write."""
    if dashboard.settle_needed(call.db, user_id=call.uid, now=call.now):
        call.require_write()
        dashboard.settle(call.db, user_id=call.uid, now=call.now)


@route("/partner/dashboard", readonly=True, summary="The caller's dashboard")
def partner_dashboard(call: Call) -> dict[str, Any]:
    """Profile, KYC points, credit rank and rating, wallets, newest lines, upcoming
    instalments and reserved money, all derived from the caller's data."""
    assert call.user is not None
    settle_caller(call)
    base_url = get_settings().public_url or str(call.request.base_url)
    return dashboard_body(call.db, user=call.user, base_url=base_url)


def dashboard_body(db: Session, *, user: User, base_url: str) -> dict[str, Any]:
    """The dashboard of one user as the wire shows it (due timers already applied)."""
    uid = user.id
    partner, country = db.execute(
        select(Partner, Country)
        .outerjoin(Country, Country.id == Partner.country_id)
        .where(Partner.id == user.partner_id)
    ).one()
    standing = loans.standing(db, user_id=uid)
    rates = banking.rates(db)
    main = get_settings().main_currency
    accounts = banking.accounts_of(db, user_id=uid)
    reserved_debit = dashboard.convert(dashboard.held_by_currency(accounts), main, rates)
    reserved_credit = dashboard.convert(dashboard.owed_to_lender(db, user_id=uid), main, rates)
    wallets = [acc.ledger_account_id for acc, _ in accounts]
    return {
        "name": partner.name,
        "surname": partner.surname,
        "city": partner.city or False,
        "country_name": country.name if country else False,
        "country_code": country.code if country else False,
        "rating": standing.rating,
        "credit_rank": standing.credit_rank,
        "verification": _verification(standing.verification),
        "social_networks": dashboard.social_networks(db, user_id=uid, base_url=base_url),
        "default_currency": {"rate": 1, "name": "EUR"},
        "accounts": [
            {
                "acc_number": acc.acc_number,
                "currency": {"rate": _number(rates[acc.currency]), "name": acc.currency},
                "sum": major_number(bal.balance, acc.currency),
            }
            for acc, bal in accounts
        ],
        "transactions": [
            render_movement(db, m) for m in dashboard.newest_movements(db, wallets=wallets)
        ],
        "nearest_operations": [
            {
                "amount": major_number(op.amount, op.currency),
                "date": odoo_datetime(op.due_at),
                "description": loans.REPAYMENT,
                "id": op.ref,
                "type": op.type,
            }
            for op in dashboard.nearest_operations(db, user_id=uid)
        ],
        "reserved_money": {
            "credit": major_number(reserved_credit, main),
            "debit": major_number(reserved_debit, main),
            "currency_name": main,
        },
    }


@route(
    "/dashboard/graphic",
    readonly=True,
    params={"currency": {"type": "string"}},
    summary="Graphic data",
)
def dashboard_graphic(call: Call) -> dict[str, Any]:
    """Money in and out of one wallet: all time, this year, month, ISO week and 8 days."""
    assert call.user is not None
    value = call.params.get("currency")
    currency = get_settings().main_currency
    if not blank(value):
        currency = str(value).strip().upper() if isinstance(value, str) else ""
        if currency not in banking.SUPPORTED:
            raise field_error("currency", "Currency is not supported")
    settle_caller(call)
    return graphic_body(call.db, user=call.user, currency=currency, now=call.now)


def graphic_body(db: Session, *, user: User, currency: str, now: datetime) -> dict[str, Any]:
    """The graphic of one wallet as the wire shows it."""
    g = dashboard.graphic(db, user=user, currency=currency, now=now)
    return {
        "all_time": _flow(g.all_time, currency),
        "days": {day: _flow(flow, currency) for day, flow in g.days},
        "month": _flow(g.month, currency),
        "week": _flow(g.week, currency),
        "year": _flow(g.year, currency),
        "currency_name": currency,
    }
