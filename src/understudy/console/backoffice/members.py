"""Members: a searchable list (username, e-mail, name) and one member's page with wallets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqladmin import expose
from sqlalchemy import String, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased
from starlette.requests import Request
from starlette.responses import Response

from understudy.backoffice import wallets
from understudy.backoffice.earnings import current_plan
from understudy.backoffice.models import BinaryNode, MatrixNode, Member, Ticket
from understudy.backoffice.reference import WALLETS
from understudy.backoffice.wire import decimal_string
from understudy.console.backoffice.lookup import plan_name
from understudy.console.pages import ConsolePage, Pager
from understudy.core.db import parse_id, row_by_id

COUNT_CAP = 10_000  # a list counts at most this many matches (a million-member table stays cheap)


def search(
    session: Session, pager: Pager, *, sponsor_id: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """One page of members matching the pager's text (id, username, e-mail or name), and
    whether their number was capped at COUNT_CAP."""
    sponsor = aliased(Member)
    where: list[Any] = []
    if pager.q:
        needle = pager.q.lower()
        # As migration backoffice0004 indexes it: a literal space, so PostgreSQL matches the index.
        space = literal_column("' '", String)
        full_name = func.lower(Member.first_name.concat(space).concat(Member.last_name))
        found = [
            Member.username_key.contains(needle, autoescape=True),
            Member.email_key.contains(needle, autoescape=True),
            full_name.contains(needle, autoescape=True),
        ]
        ident = parse_id(pager.q)
        if ident is not None:
            found.append(Member.id == ident)
        where.append(or_(*found))
    if sponsor_id is not None:
        where.append(Member.sponsor_id == sponsor_id)
    columns = [
        Member.id,
        Member.username,
        Member.email,
        Member.first_name,
        Member.last_name,
        Member.country_code,
        Member.direct_count,
        Member.created_at,
        sponsor.username.label("sponsor"),
        plan_name(Member.id).label("plan"),
    ]
    order: Any = Member.id
    if pager.q:  # a text search reads its matches once: the page and the number of matches
        columns.append(func.count().over().label("matches"))
        # Not in the primary key's order: PostgreSQL would walk that index filtering the whole
        # table, as if the LIMIT could stop it early (the count cannot), and skip the trigram
        # indexes that find the matches directly.
        order = Member.id + 0
    rows = session.execute(
        select(*columns)
        .outerjoin(sponsor, sponsor.id == Member.sponsor_id)
        .where(*where)
        .order_by(order)
        .offset(pager.offset)
        .limit(pager.size)
    ).all()
    if pager.q and (rows or pager.page == 1):
        pager.total = rows[0].matches if rows else 0
        return [row._asdict() for row in rows], False
    # No text (an indexed count, capped), or a page past the last match.
    matches = select(Member.id).where(*where).limit(COUNT_CAP).subquery()
    pager.total = session.scalar(select(func.count()).select_from(matches)) or 0
    return [row._asdict() for row in rows], pager.total >= COUNT_CAP


@dataclass(frozen=True)
class Wallet:
    """One of a member's five wallets and its balance."""

    id: int
    name: str
    balance: str


def profile(session: Session, member_id: int) -> dict[str, Any] | None:
    """What the member page shows: the member, sponsor, plan, wallets and tree positions."""
    member = row_by_id(session, Member, member_id)
    if member is None:
        return None
    sponsor = session.get(Member, member.sponsor_id) if member.sponsor_id else None
    plan = current_plan(session, user_id=member.id)
    binary = session.get(BinaryNode, member.id)
    matrix = session.get(MatrixNode, member.id)
    return {
        "member": {
            c: getattr(member, c)
            for c in (
                "id",
                "username",
                "email",
                "first_name",
                "last_name",
                "mobile",
                "country_code",
                "language",
                "default_leg",
                "binary_state",
                "tank_until",
                "direct_count",
                "active_direct_count",
                "request_token_on_edit",
                "created_at",
            )
        },
        "sponsor": None if sponsor is None else {"id": sponsor.id, "username": sponsor.username},
        "plan": None if plan is None else plan.name,
        "wallets": [
            Wallet(
                wallet_id,
                name,
                decimal_string(wallets.balance(session, user_id=member.id, wallet_id=wallet_id)),
            )
            for wallet_id, name in zip(wallets.WALLET_IDS, WALLETS, strict=True)
        ],
        "binary": None
        if binary is None
        else {
            "parent_id": binary.parent_id,
            "position": binary.position,
            "left_count": binary.left_count,
            "right_count": binary.right_count,
        },
        "matrix_parent_id": None if matrix is None else matrix.parent_id,
        "tickets": session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.user_id == member.id)
        )
        or 0,
    }


class MembersPage(ConsolePage):
    """Members: search and one member's page."""

    name = "Members"
    category = "backoffice"
    icon = "fa-solid fa-users"

    @expose("/backoffice/members", identity="backoffice-member-search")
    async def members(self, request: Request) -> Response:
        """Members matching a search, by id."""
        pager = Pager(request, size=50)
        sponsor_id = parse_id(request.query_params.get("sponsor"))
        rows, capped = await self.read(request, lambda s: search(s, pager, sponsor_id=sponsor_id))
        return await self.render(
            request,
            "console/backoffice/members.html",
            title="Members",
            pretitle="backoffice",
            rows=rows,
            pager=pager,
            sponsor_id=sponsor_id,
            capped=capped,
            member_url=lambda member_id: self.url(
                request, "backoffice-member", member_id=member_id
            ),
        )

    @expose("/backoffice/members/{member_id:int}", identity="backoffice-member")
    async def member(self, request: Request) -> Response:
        """One member: profile, sponsor, plan, wallet balances and tree links."""
        member_id = request.path_params["member_id"]
        found = await self.read(request, lambda s: profile(s, member_id))
        if found is None:
            return await self.render(
                request,
                "console/backoffice/not_found.html",
                status_code=404,
                title="No such member",
                pretitle="backoffice",
                what=f"member {member_id}",
            )
        return await self.render(
            request,
            "console/backoffice/member.html",
            title=found["member"]["username"],
            pretitle="backoffice member",
            tree_url=lambda kind, who: (
                self.url(request, f"backoffice-genealogy-{kind}") + f"?member={who}"
            ),
            member_url=lambda member_id: self.url(
                request, "backoffice-member", member_id=member_id
            ),
            **found,
        )
