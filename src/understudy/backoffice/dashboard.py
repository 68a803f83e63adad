"""GET /dashboards/{id}: wallets, matrix state, team growth and countries of the downline."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice import matrix_bonus, wallets
from understudy.backoffice.earnings import current_plan
from understudy.backoffice.models import Member, SponsorClosure
from understudy.backoffice.reference import WALLETS, countries
from understudy.backoffice.settings import get_settings
from understudy.backoffice.wire import decimal_string

CHART_DAYS = 8


def dashboard(session: Session, *, member: Member, now: datetime) -> dict[str, Any]:
    """The member's dashboard (forfeits that fell due are applied first)."""
    settings = get_settings()
    matrix_bonus.expire_due(session, earner_id=member.id, now=now)
    forfeited, held = matrix_bonus.totals(session, earner_id=member.id)
    plan = current_plan(session, user_id=member.id)
    pending = None
    if plan is not None and plan.matrix_on:
        pending = max(0, plan.matrix_directs_needed - member.active_direct_count)
    return {
        "wallets": [
            {
                "name": name,
                "amount": decimal_string(
                    wallets.balance(session, user_id=member.id, wallet_id=wallet_id)
                ),
            }
            for wallet_id, name in zip(wallets.WALLET_IDS, WALLETS, strict=True)
        ],
        "matrix_dimensions": f"{settings.matrix_width} / {settings.matrix_depth}",
        "permanent_mising": decimal_string(forfeited),
        "temporal_mising": decimal_string(held),
        "matrix_pending_directs": pending,
        "team_growth_chart": growth_chart(session, member_id=member.id, now=now),
        "top_leaders": [],
        "traffic_funnel": [],
        "efficiency_funnel": [],
        "popular_countries": popular_countries(session, member_id=member.id),
    }


def growth_chart(session: Session, *, member_id: int, now: datetime) -> dict[str, list[Any]]:
    """Downline sign-ups per app-zone day, for the 8 days ending today."""
    zone = get_settings().zone
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    since = datetime.combine(days[0], time(), tzinfo=zone).astimezone(UTC)
    created = session.scalars(
        select(Member.created_at)
        .join(SponsorClosure, SponsorClosure.descendant_id == Member.id)
        .where(
            SponsorClosure.ancestor_id == member_id,
            SponsorClosure.depth > 0,
            Member.created_at >= since,
        )
    )
    counts = dict.fromkeys(days, 0)
    for moment in created:
        day = moment.astimezone(zone).date()
        if day in counts:
            counts[day] += 1
    return {"dates": [d.isoformat() for d in days], "users": [counts[d] for d in days]}


def popular_countries(session: Session, *, member_id: int) -> list[dict[str, Any]]:
    """The downline's countries, most members first, then by name."""
    names = dict(countries())
    rows = session.execute(
        select(Member.country_code, func.count())
        .join(SponsorClosure, SponsorClosure.descendant_id == Member.id)
        .where(SponsorClosure.ancestor_id == member_id, SponsorClosure.depth > 0)
        .group_by(Member.country_code)
    ).all()
    ranked = sorted(
        ((names.get(code, code), number, code) for code, number in rows),
        key=lambda row: (-row[1], row[0]),
    )
    flags = get_settings().flag_host.rstrip("/")
    return [
        {"country": name, "number": number, "image": f"{flags}/flags/1x1/{code.lower()}.svg"}
        for name, number, code in ranked[: get_settings().popular_countries_limit]
    ]
