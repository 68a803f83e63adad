"""Rendering of domain rows into the documented bodies (keys in the documented order)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice import compensation
from understudy.backoffice.models import CashoutCurrency, CategoryResource, Member, WalletEntry
from understudy.backoffice.service import Login
from understudy.backoffice.settings import get_settings
from understudy.backoffice.wire import decimal_string, rails_time

DEFAULT_IMAGE = "/assets/user-icon-white.svg"


def login(found: Login, *, token: str, expires: datetime) -> dict[str, Any]:
    """The login answer; `exp` in UTC as the seed shows it."""
    username = found.member.username
    return {
        "token": token,
        "exp": expires.astimezone(UTC).strftime("%m-%d-%Y %H:%M"),
        "id": found.member.id,
        "username": username,
        "sponsor": found.sponsor,
        "referral_link": f"{get_settings().referral_base}/{username}",
    }


def profile_image(member: Member, *, asset_host: str) -> str:
    """The member's picture, or the default icon."""
    if member.profile_image:
        return f"{asset_host}/uploads/user/profile_image/{member.id}/{member.profile_image}"
    return asset_host + DEFAULT_IMAGE


def member(session: Session, found: Member, *, asset_host: str) -> dict[str, Any]:
    """GET /users/{id}."""
    plan = compensation.current_plan(session, user_id=found.id)
    return {
        "first_name": found.first_name,
        "last_name": found.last_name,
        "email": found.email,
        "country_code": found.country_code,
        "username": found.username,
        "mobile": found.mobile,
        "default_leg": found.default_leg,
        "language": found.language,
        "profile_image": profile_image(found, asset_host=asset_host),
        "matrix_on": bool(plan and plan.matrix_on),
        "request_token_on_edit": found.request_token_on_edit,
    }


def cashout_currencies(session: Session) -> list[dict[str, Any]]:
    """The cash-out currencies by id."""
    rows = session.scalars(select(CashoutCurrency).order_by(CashoutCurrency.id))
    return [{"id": row.id, "name": row.name} for row in rows]


def category_resources(session: Session) -> list[dict[str, Any]]:
    """The resource categories by id."""
    rows = session.scalars(select(CategoryResource).order_by(CategoryResource.id))
    return [{"id": row.id, "title": row.title, "icon": row.icon} for row in rows]


def wallet_rows(rows: list[WalletEntry], *, zone: tzinfo) -> list[dict[str, Any]]:
    """Wallet movements as the wallet endpoint lists them."""
    return [
        {
            "id": row.id,
            "amount": decimal_string(row.amount),
            "balance": decimal_string(row.balance),
            "description": row.description,
            "date": rails_time(row.created_at, zone),
        }
        for row in rows
    ]
