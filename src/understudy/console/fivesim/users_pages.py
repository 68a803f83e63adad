"""Users: a searchable list with ledger balances, and a user's page with the top-up form."""

from __future__ import annotations

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.fivesim import queries
from understudy.console.fivesim.base import FivesimPage
from understudy.console.fivesim.forms import TopUpForm, minor_of
from understudy.console.fivesim.money import rub
from understudy.console.pages import FormError, Pager, context, not_found, path_id
from understudy.fivesim.models import User
from understudy.fivesim.service import CURRENCY, top_up

TOP_UP_PROVIDER = "admin"  # as `understudy fivesim top-up` and the control plane


class UsersPage(FivesimPage):
    """Buyers and vendors with their balance, rating and vendor name."""

    name = "Users & top-ups"
    icon = "fa-solid fa-user"

    @expose("/fivesim/users", identity="fivesim-user-list")
    async def users(self, request: Request) -> Response:
        """Users, newest first, searched by e-mail, vendor name or id."""
        pager = Pager(request)
        rows, pager.total = await self.read(
            request,
            lambda s: queries.users(s, q=pager.q, limit=pager.size, offset=pager.offset),
        )
        return await self.show(request, "users.html", rows=rows, pager=pager)

    @expose("/fivesim/users/{user_id:int}", methods=["GET", "POST"], identity="fivesim-user")
    async def user(self, request: Request) -> Response:
        """A user's balance, payments and orders; the top-up form posts here."""
        user_id = path_id(request, "user_id", "user")
        form = await self.form(request, TopUpForm)
        if request.method == "POST" and form.validate():
            try:
                await self._top_up(request, user_id, minor_of(form.amount))
            except FormError as exc:
                exc.attach(form)
            else:
                amount = rub(minor_of(form.amount))
                return self.done(
                    request,
                    f"Topped up {amount} RUB.",
                    self.url(request, "fivesim-user", user_id=user_id),
                )

        def facts(session: Session) -> tuple[object, ...] | None:
            row = queries.user(session, user_id=user_id)
            if row is None:
                return None
            history = queries.payments(session, user_id=user_id, vendor_side=False)
            recent, count = queries.orders(
                session, q="", status="", user_id=user_id, limit=10, offset=0
            )
            return row, history, recent, count

        found = await self.read(request, facts)
        if found is None:
            not_found("user")
        row, history, recent, count = found
        return await self.show(
            request,
            "user.html",
            form=form,
            user=row,
            payments=history,
            orders=recent,
            order_count=count,
        )

    async def _top_up(self, request: Request, user_id: int, amount: int) -> None:
        ctx = context(request)

        def work(session: Session) -> str:
            user = session.get(User, user_id)
            if user is None:
                raise FormError("This user no longer exists.")
            top_up(
                session, user=user, amount=amount, provider=TOP_UP_PROVIDER, now=ctx.now(session)
            )
            return user.email

        await self.change(
            request,
            "fivesim.top_up",
            f"fivesim:user:{user_id}",
            work,
            lambda email: {"amount": rub(amount), "currency": CURRENCY, "email": email},
        )
