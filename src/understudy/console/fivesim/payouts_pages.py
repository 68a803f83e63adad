"""Payouts: vendors' withdrawals waiting for review, approved or rejected here; the reserves.

A withdrawal (`POST /v1/vendor/withdraw`) holds the amount on the vendor's earnings and takes it
from the chosen reserve (fivesim.payouts). Approving posts the hold (the money leaves);
rejecting voids it and gives the reserve back. Each decision is one audited change, and a payout
decided meanwhile (by another operator, say) is refused with 409 and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqladmin import expose
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form

from understudy.console.fivesim.base import TEMPLATES, FivesimPage
from understudy.console.fivesim.forms import ReservesForm
from understudy.console.fivesim.money import rub
from understudy.console.models import ConsoleOperator
from understudy.console.pages import FormError, Pager, context, not_found, operator_id, path_id
from understudy.fivesim import payouts, vendor

DECISIONS: dict[str, tuple[Callable[..., payouts.Decided], str]] = {
    "approve": (payouts.approve, "approved"),
    "reject": (payouts.reject, "rejected"),
}


class DecisionForm(Form):
    """An approve or reject button: no fields but the CSRF token (checked by the middleware)."""


def _listing(session: Session, pager: Pager) -> dict[str, Any]:
    """One page of payouts with their deciding operators' names, the reserves, what waits."""
    rows, pager.total = payouts.page(session, q=pager.q, limit=pager.size, offset=pager.offset)
    ids = {r.decided_by for r in rows if r.decided_by is not None}
    names = (
        dict(
            session.execute(
                select(ConsoleOperator.id, ConsoleOperator.username).where(
                    ConsoleOperator.id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    waiting, waiting_amount = payouts.pending_total(session)
    return {
        "rows": rows,
        "operators": names,
        "reserves": vendor.reserves(session),
        "waiting": waiting,
        "waiting_amount": waiting_amount,
    }


class ListPager(Pager):
    """A pager whose links lead to the list page, also when a refused decision renders it."""

    def __init__(self, request: Request, list_url: str) -> None:
        super().__init__(request)
        self.list_url = list_url

    def link(self, page: int) -> str:
        """The list page with this page number (query text kept)."""
        params: dict[str, Any] = {"page": page}
        if self.q:
            params["q"] = self.q
        return str(URL(self.list_url).include_query_params(**params))


class PayoutsPage(FivesimPage):
    """Vendor payouts, pending ones first, with approve and reject; the reserves."""

    name = "Payouts"
    icon = "fa-solid fa-money-bill-transfer"

    @expose("/fivesim/payouts", identity="fivesim-payouts")
    async def payouts(self, request: Request) -> Response:
        """Payouts searched by vendor e-mail, name or id, or by state; the reserves left."""
        return await self._list(request, None)

    async def _list(
        self, request: Request, form: Form | None, status_code: int | None = None
    ) -> Response:
        """The list page; a refused decision shows its error above the list (`status_code`)."""
        pager = ListPager(request, self.url(request, "fivesim-payouts"))
        facts = await self.read(request, lambda s: _listing(s, pager))
        return await self.render(
            request,
            TEMPLATES + "payouts.html",
            status_code=status_code,
            form=form,
            rub=rub,
            pager=pager,
            **facts,
        )

    @expose(
        "/fivesim/payouts/{payout_id:int}/approve",
        methods=["POST"],
        identity="fivesim-payout-approve",
    )
    async def approve(self, request: Request) -> Response:
        """Approve a pending payout: its held earnings leave (the hold is posted)."""
        return await self._decide(request, "approve")

    @expose(
        "/fivesim/payouts/{payout_id:int}/reject",
        methods=["POST"],
        identity="fivesim-payout-reject",
    )
    async def reject(self, request: Request) -> Response:
        """Reject a pending payout: earnings and reserve come back to the vendor."""
        return await self._decide(request, "reject")

    async def _decide(self, request: Request, verb: str) -> Response:
        payout_id = path_id(request, "payout_id", "payout")
        form = await self.form(request, DecisionForm)
        decide, done_state = DECISIONS[verb]
        ctx, who = context(request), operator_id(request)

        def work(session: Session) -> payouts.Decided:
            return decide(session, payout_id=payout_id, operator_id=who, now=ctx.now(session))

        def details(payout: payouts.Decided) -> dict[str, Any]:
            return {
                "vendor_id": payout.user_id,
                "amount": rub(payout.amount),
                "reserve": payout.reserve,
                "method": payout.method,
            }

        try:
            payout = await self.change(
                request, f"fivesim.payout_{verb}", f"fivesim:payout:{payout_id}", work, details
            )
        except payouts.PayoutNotFound:
            not_found("payout")
        except payouts.PayoutDecided as refused:
            FormError(
                f"Payout {payout_id} was already {refused.state} (perhaps by another operator "
                "a moment ago); nothing was changed."
            ).attach(form)
            return await self._list(request, form, status_code=409)
        return self.done(
            request,
            f"Payout {payout.id} of {rub(payout.amount)} RUB {done_state}.",
            self.url(request, "fivesim-payouts"),
        )

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
