"""Sign-up: validate, create the member, place it in the three trees and buy its plan.

One transaction (the caller's), no HTTP. On PostgreSQL the rows go in with few statements
(signup_pg); SQLite runs the engines step by step.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, exists, insert, literal, or_, select, true
from sqlalchemy.orm import Session, aliased, make_transient_to_detached

from understudy.backoffice import binary, compensation, genealogy, signup_pg, wallets
from understudy.backoffice.errors import form_errors, invalid_data
from understudy.backoffice.models import Member, Plan
from understudy.backoffice.reference import FREE_PLAN, country_codes
from understudy.backoffice.settings import get_settings
from understudy.core import ledger
from understudy.core.ledger import Account
from understudy.core.passwords import hash_password

USERNAME = re.compile(r"[A-Za-z0-9_.]{3,30}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 6
TOO_SHORT = f"is too short (minimum is {MIN_PASSWORD} characters)"
TAKEN = "has already been taken"
BLANK = "can't be blank"
NOT_INCLUDED = "is not included in the list"
SIGNUP_FIELDS = (
    "sponsor",
    "first_name",
    "last_name",
    "email",
    "user_name",
    "mobile",
    "password",
    "country_code",
)


def blank(value: str | None) -> bool:
    """Rails' blank?: missing, empty or only whitespace."""
    return value is None or not value.strip()


def _taken(session: Session, username: str, email: str) -> tuple[bool, bool]:
    """Whether the username and the e-mail (any case) are taken, in one query."""
    keys = {"name": username.lower(), "email": email.strip().lower()}
    rows = session.execute(TAKEN_KEYS, keys).all()
    return any(row[0] for row in rows), any(row[1] for row in rows)


_name, _email = bindparam("name"), bindparam("email")
TAKEN_KEYS = select(Member.username_key == _name, Member.email_key == _email).where(
    or_(Member.username_key == _name, Member.email_key == _email)
)


def _signup_facts(*, lock: bool) -> Any:
    """The sponsor (by username, any case) with whether the new username and e-mail are
    taken, the sponsor's purchase wallet balance, and every plan (a row each): what a sign-up
    checks, in one query.

    `lock` (PostgreSQL): the query also takes the placement lock when the sponsor exists.
    """
    wallet = bindparam("wallet_suffix", type_=String)
    key = literal("backoffice:user:", String) + cast(Member.id, String) + wallet
    other = aliased(Member)
    columns = [
        Member,
        Plan,
        exists().where(other.username_key == bindparam("name")),
        exists().where(other.email_key == bindparam("email")),
        select(Account.balance).where(Account.key == key).scalar_subquery(),
    ]
    if lock:
        columns.append(genealogy.PLACEMENT_LOCK_COLUMN)
    return (
        select(*columns)
        .outerjoin(Plan, true())
        .where(Member.username_key == bindparam("sponsor"))
        .order_by(Plan.id)
    )


SIGNUP_FACTS = _signup_facts(lock=False)
SIGNUP_FACTS_LOCKING = _signup_facts(lock=True)
ALL_PLANS = select(Plan)


def create_member(
    session: Session,
    *,
    fields: dict[str, str | None],
    plan_name: str | None,
    now: datetime,
    password_hash: str | None = None,
) -> Member:
    """Validate, create, place the member and buy its plan, in the caller's transaction.

    `password_hash`, when given, is the already hashed password (bulk loads hash it once).
    """
    missing = {name: [BLANK] for name in SIGNUP_FIELDS if blank(fields.get(name))}
    if missing:
        raise form_errors(422, missing)
    value = {name: (fields[name] or "").strip() for name in SIGNUP_FIELDS}
    password = fields["password"] or ""
    details: dict[str, list[str]] = {}
    username = value["user_name"]
    settings = get_settings()
    postgresql = session.get_bind().dialect.name == "postgresql"
    facts = session.execute(
        SIGNUP_FACTS_LOCKING if postgresql else SIGNUP_FACTS,
        {
            "sponsor": value["sponsor"].lower(),
            "name": username.lower(),
            "email": value["email"].lower(),
            "wallet_suffix": f":wallet{settings.purchase_wallet}:{wallets.CURRENCY}",
        },
    ).all()
    if not facts:  # no such sponsor
        sponsor, balance = None, 0
        name_taken, email_taken = _taken(session, username, value["email"])
        plans = list(session.scalars(ALL_PLANS))
    else:
        sponsor, _, name_taken, email_taken, balance = facts[0][:5]
        plans = [row[1] for row in facts if row[1] is not None]
        if postgresql:
            genealogy.placements_locked(session)
    if name_taken:
        details.setdefault("user_name", []).append(TAKEN)
    if not USERNAME.fullmatch(username):
        details.setdefault("user_name", []).append("is invalid")
    if email_taken:
        details.setdefault("email", []).append(TAKEN)
    if not EMAIL.fullmatch(value["email"]):
        details.setdefault("email", []).append("is invalid")
    if value["country_code"] not in country_codes():
        details["country_code"] = [NOT_INCLUDED]
    if len(password) < MIN_PASSWORD:
        details["password"] = [TOO_SHORT]
    if sponsor is None:
        details["sponsor"] = ["must exist"]
    plan_name = FREE_PLAN if blank(plan_name) else (plan_name or "").strip()
    plan = next((p for p in plans if p.name == plan_name), None)
    if plan is None:
        details["plan"] = [NOT_INCLUDED]
    elif not details and sponsor is not None and plan.price > (balance or 0):
        details["plan"] = ["exceeds the sponsor's balance"]
    if details:
        raise invalid_data(details)
    assert sponsor is not None and plan is not None
    active = plan.price > 0
    row = {
        "username": username,
        "username_key": username.lower(),
        "email": value["email"],
        "email_key": value["email"].lower(),
        "first_name": value["first_name"],
        "last_name": value["last_name"],
        "mobile": value["mobile"],
        "country_code": value["country_code"],
        "password_hash": password_hash or hash_password(password),
        "language": "en",
        "default_leg": settings.default_leg,
        "request_token_on_edit": settings.request_token_on_edit,
        "profile_image": None,
        "sponsor_id": sponsor.id,
        "binary_state": "placed",
        "tank_until": None,
        "direct_count": 0,
        "active_direct_count": 0,
        "created_at": now,
    }
    # Placements serialize here, before the insert, so ids follow placement order.
    genealogy.lock_placements(session)
    earners, placed = None, False
    if postgresql:
        member, sponsor_active, earners, placed = _sign_up_pg(session, row, sponsor, plans, plan)
    else:
        member = _insert_member(session, row)
        sponsor_active = genealogy.attach_sponsor(session, member=member, active=active)
        genealogy.place_matrix(
            session, member_id=member.id, sponsor_id=sponsor.id, width=settings.matrix_width
        )
    try:
        compensation.purchase(
            session,
            member=member,
            plan=plan,
            now=now,
            new_member=True,
            plans=plans,
            sponsor_active=sponsor_active if active else None,
            recorded=postgresql,
            earners=earners,
        )
    except ledger.InsufficientFunds:
        raise invalid_data({"plan": ["exceeds the sponsor's balance"]}) from None
    # Placement adds the member and its BV to every binary ancestor's leg in one statement
    # (the purchase leaves the binary tree to it); on PostgreSQL, usually the sign-up's own.
    if not placed:
        binary.place(session, member=member, now=now, bought=(plan.bv, active))
    return member


def _sign_up_pg(
    session: Session, row: dict[str, Any], sponsor: Member, plans: list[Plan], plan: Plan
) -> tuple[Member, int, genealogy.Earners, bool]:
    """PostgreSQL: the member, its closure, matrix slot, purchase and (outer spillover) binary
    node in one statement. Returns the member, its sponsor's active directs, who may earn,
    and whether the binary placement is done."""
    width = get_settings().matrix_width
    side = binary.outer_side(sponsor)
    done = signup_pg.sign_up(
        session,
        row=row,
        plan=(plan.id, plan.price, plan.bv),
        side=side,
        levels=(width, *compensation.earning_levels(plans)),
    )
    member = _loaded(session, done.member_id, row)
    genealogy.refresh_loaded(
        session,
        sponsor.id,
        direct_count=done.sponsor_directs,
        active_direct_count=done.sponsor_active_directs,
    )
    if done.matrix_parent is None:  # a sponsor outside the matrix: a new root
        genealogy.place_matrix(session, member_id=member.id, sponsor_id=None, width=width)
    elif done.matrix_slot is not None and done.matrix_slot + 1 >= width:
        genealogy.recompute_open_levels(session, start=done.matrix_parent, width=width)
    if side is not None:
        binary.expire_loaded(session)
    return member, done.sponsor_active_directs, done.earners, side is not None


NEW_MEMBER = insert(Member).returning(Member.id)


def _insert_member(session: Session, row: dict[str, Any]) -> Member:
    """Insert the member with a Core statement and give the session the loaded instance."""
    return _loaded(session, session.connection().execute(NEW_MEMBER, row).scalar_one(), row)


def _loaded(session: Session, member_id: int, row: dict[str, Any]) -> Member:
    """The member just inserted with these values, as a persistent instance (no query)."""
    member = Member(id=member_id, **row)
    make_transient_to_detached(member)
    session.add(member)
    return member
