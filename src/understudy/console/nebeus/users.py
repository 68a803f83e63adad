"""nebeus users: a searchable list, and each user's wallets, KYC, credit standing and history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqladmin import expose
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, SelectField

from understudy.console.nebeus.common import money, people, when
from understudy.console.pages import ConsolePage, FormError, Pager, context, not_found, path_id
from understudy.core.db import parse_id
from understudy.nebeus import banking, kyc, loans
from understudy.nebeus.loans_models import Loan
from understudy.nebeus.models import (
    Country,
    HelpdeskTicket,
    Partner,
    User,
    Verification,
    VerificationDocument,
)

RECENT = 50


class KycStateForm(Form):
    """Set one KYC item's state as an operator (what the control plane's `verification` does)."""

    item = SelectField(
        "Item", choices=[(i, i) for i in kyc.ITEMS], render_kw={"class": "form-select"}
    )
    status = SelectField(
        "State",
        choices=[(s, s.replace("_", " ")) for s in kyc.STATES],
        render_kw={"class": "form-select"},
    )


@dataclass(frozen=True)
class UserRow:
    """One line of the user list."""

    id: int
    login: str
    name: str
    country: str
    active: bool
    created_at: str
    kyc: dict[str, str]


def _search(query: Any, q: str) -> Any:
    if not q:
        return query
    found = or_(
        User.login.icontains(q, autoescape=True),
        Partner.name.icontains(q, autoescape=True),
        Partner.surname.icontains(q, autoescape=True),
    )
    if (ident := parse_id(q)) is not None:
        found = or_(found, User.id == ident)
    return query.where(found)


def kyc_states(session: Session, user_ids: list[int]) -> dict[int, dict[str, str]]:
    """Each user's state of every KYC item (not_verified when never set)."""
    states = {uid: dict.fromkeys(kyc.ITEMS, "not_verified") for uid in user_ids}
    if user_ids:
        rows = session.execute(
            select(Verification.user_id, Verification.item, Verification.status).where(
                Verification.user_id.in_(user_ids)
            )
        )
        for uid, item, status in rows:
            states[uid][item] = status
    return states


def user_page(session: Session, pager: Pager) -> list[UserRow]:
    """The users matching the pager's query, newest first, one page of them."""
    base = select(User.id).join(Partner, Partner.id == User.partner_id)
    pager.total = session.scalar(
        select(func.count()).select_from(_search(base, pager.q).subquery())
    )
    rows = session.execute(
        _search(
            select(User, Partner, Country.name)
            .join(Partner, Partner.id == User.partner_id)
            .outerjoin(Country, Country.id == Partner.country_id),
            pager.q,
        )
        .order_by(User.id.desc())
        .offset(pager.offset)
        .limit(pager.size)
    ).all()
    states = kyc_states(session, [user.id for user, _, _ in rows])
    return [
        UserRow(
            id=user.id,
            login=user.login,
            name=f"{partner.name} {partner.surname}".strip(),
            country=country or "",
            active=user.active,
            created_at=when(user.created_at),
            kyc=states[user.id],
        )
        for user, partner, country in rows
    ]


def user_detail(session: Session, user_id: int) -> dict[str, Any] | None:
    """Everything the user page shows, read in one unit (None for an unknown user)."""
    found = session.execute(
        select(User, Partner, Country.name)
        .join(Partner, Partner.id == User.partner_id)
        .outerjoin(Country, Country.id == Partner.country_id)
        .where(User.id == user_id)
    ).one_or_none()
    if found is None:
        return None
    user, partner, country = found
    standing = loans.standing(session, user_id=user_id)
    accounts = [
        {
            "id": account.id,
            "currency": account.currency,
            "acc_number": account.acc_number,
            "balance": money(balance.balance, account.currency),
            "held": money(balance.held, account.currency),
            "available": money(balance.available, account.currency),
        }
        for account, balance in banking.accounts_of(session, user_id=user_id)
    ]
    verifications = {
        row.item: row
        for row in session.scalars(select(Verification).where(Verification.user_id == user_id))
    }
    items = [
        {
            "item": item,
            "id": verifications[item].id if item in verifications else None,
            "status": standing.verification[item],
            "points": 5 if standing.verification[item] == "verified" else 0,
            "updated_at": when(verifications[item].updated_at) if item in verifications else "",
            "value": verifications[item].value if item in verifications else None,
        }
        for item in kyc.ITEMS
    ]
    documents = session.execute(
        select(
            VerificationDocument.id,
            VerificationDocument.item,
            VerificationDocument.content_type,
            VerificationDocument.uploaded_at,
        )
        .where(VerificationDocument.user_id == user_id)
        .order_by(VerificationDocument.id.desc())
    ).all()
    own_loans = list(
        session.scalars(
            select(Loan)
            .where(or_(Loan.borrower_id == user_id, Loan.lender_id == user_id))
            .order_by(Loan.id.desc())
            .limit(RECENT)
        )
    )
    names = people(
        session,
        {loan.lender_id or 0 for loan in own_loans} | {loan.borrower_id for loan in own_loans},
    )
    tickets = session.execute(
        select(
            HelpdeskTicket.id, HelpdeskTicket.name, HelpdeskTicket.state, HelpdeskTicket.created_at
        )
        .where(HelpdeskTicket.partner_id == partner.id)
        .order_by(HelpdeskTicket.id.desc())
        .limit(RECENT)
    ).all()
    return {
        "id": user.id,
        "login": user.login,
        "name": partner.name,
        "surname": partner.surname,
        "country": country or "",
        "city": partner.city or "",
        "lang": user.lang,
        "tz": user.tz,
        "active": user.active,
        "created_at": when(user.created_at),
        "accounts": accounts,
        "items": items,
        "standing": {
            "points": standing.points,
            "rank_points": standing.rank_points,
            "credit_rank": standing.credit_rank,
            "rating": standing.rating,
            "on_time": standing.on_time,
            "late": standing.late,
            "defaulted_loans": standing.defaulted_loans,
        },
        "documents": [
            {
                "id": d.id,
                "item": d.item,
                "content_type": d.content_type,
                "uploaded_at": when(d.uploaded_at),
            }
            for d in documents
        ],
        "loans": [
            {
                "id": loan.id,
                "role": "borrower" if loan.borrower_id == user_id else "lender",
                "other": names.get(
                    loan.lender_id if loan.borrower_id == user_id else loan.borrower_id
                ),
                "state": loan.state,
                "amount": money(loan.amount, loan.currency),
                "created_at": when(loan.created_at),
            }
            for loan in own_loans
        ],
        "tickets": [
            {"id": t.id, "name": t.name, "state": t.state, "created_at": when(t.created_at)}
            for t in tickets
        ],
    }


class UsersPage(ConsolePage):
    """The user list and user pages."""

    name = "Users"
    category = "nebeus"
    icon = "fa-solid fa-user"

    @expose("/nebeus/users", methods=["GET"], identity="nebeus-user-list")
    async def user_list(self, request: Request) -> Response:
        """Users by newest first, searchable by login, name or id."""
        pager = Pager(request)
        rows = await self.read(request, lambda s: user_page(s, pager))
        return await self.render(
            request,
            "console/nebeus/users.html",
            rows=rows,
            pager=pager,
            title="Users",
            pretitle="nebeus",
        )

    @expose("/nebeus/users/{user_id:int}", methods=["GET", "POST"], identity="nebeus-user")
    async def user(self, request: Request) -> Response:
        """A user's wallets, KYC items, credit standing, loans and tickets; set a KYC state."""
        user_id = path_id(request, "user_id", "user")
        user = await self.read(request, lambda s: user_detail(s, user_id))
        if user is None:
            not_found("user")
        form = await self.form(request, KycStateForm)
        if request.method == "POST" and form.validate():
            item, state = str(form.item.data), str(form.status.data)
            ctx = context(request)

            def work(session: Session) -> str:
                before = kyc.status(session, user_id=user_id, item=item)
                try:
                    kyc.operator_set(
                        session, user_id=user_id, item=item, state=state, now=ctx.now(session)
                    )
                except kyc.KycError as exc:
                    raise FormError(exc.message, "status") from None
                return before

            try:
                await self.change(
                    request,
                    "nebeus.kyc.set",
                    f"nebeus:user:{user_id}",
                    work,
                    lambda before: {
                        "login": user["login"],
                        "item": item,
                        "from": before,
                        "to": state,
                    },
                )
            except FormError as exc:
                exc.attach(form)
            else:
                to = self.url(request, "nebeus-user", user_id=user_id)
                return self.done(request, f"{item} set to {state.replace('_', ' ')}", to)
        return await self.render(
            request,
            "console/nebeus/user.html",
            form=form,
            user=user,
            title=user["login"],
            pretitle="nebeus user",
        )
