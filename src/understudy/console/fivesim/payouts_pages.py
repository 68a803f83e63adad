"""Payouts: vendors' withdrawals and the payout reserves they draw on.

The contract (§4.6) settles a withdrawal at once: it debits the vendor's earnings and the
chosen reserve in the request itself, so there is no review state to approve or reject here.
"""

from __future__ import annotations

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.fivesim import queries
from understudy.console.fivesim.base import FivesimPage
from understudy.console.fivesim.forms import ReservesForm
from understudy.console.fivesim.money import rub
from understudy.console.pages import Pager
from understudy.fivesim import vendor


class PayoutsPage(FivesimPage):
    """Vendor withdrawals, newest first, and the reserves."""

    name = "Payouts"
    icon = "fa-solid fa-money-bill-transfer"

    @expose("/fivesim/payouts", identity="fivesim-payouts")
    async def payouts(self, request: Request) -> Response:
        """Withdrawals searched by vendor e-mail, name or id; the reserves left."""
        pager = Pager(request)

        def facts(session: Session) -> tuple[object, ...]:
            rows, total = queries.payouts(session, q=pager.q, limit=pager.size, offset=pager.offset)
            return rows, total, vendor.reserves(session)

        rows, pager.total, reserves = await self.read(request, facts)
        return await self.show(request, "payouts.html", rows=rows, pager=pager, reserves=reserves)

    @expose("/fivesim/payouts/reserves", methods=["GET", "POST"], identity="fivesim-reserves")
    async def reserves(self, request: Request) -> Response:
        """Set the payout reserves (as `POST /_understudy/fivesim/reserves`)."""
        current = await self.read(request, vendor.reserves)
        form = await self.form(
            request, ReservesForm, **{name: rub(value) for name, value in current.items()}
        )
        if request.method == "POST" and form.validate():
            amounts = form.amounts()

            def work(session: Session) -> None:
                vendor.set_reserves(session, amounts=amounts)

            await self.change(
                request,
                "fivesim.set_reserves",
                "fivesim:reserves",
                work,
                {name: rub(value) for name, value in amounts.items()},
            )
            return self.done(
                request, "Payout reserves saved.", self.url(request, "fivesim-payouts")
            )
        return await self.show(request, "reserves.html", form=form, reserves=current)
