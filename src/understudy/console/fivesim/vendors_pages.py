"""Vendors and their numbers: what each number serves and whether it is in an order."""

from __future__ import annotations

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.fivesim import queries
from understudy.console.fivesim.base import FivesimPage
from understudy.console.pages import Pager, not_found, path_id


class VendorsPage(FivesimPage):
    """Vendors with their earnings and numbers."""

    name = "Vendors & numbers"
    icon = "fa-solid fa-sim-card"

    @expose("/fivesim/vendors", identity="fivesim-vendor-list")
    async def vendors(self, request: Request) -> Response:
        """Vendors, newest first, searched by e-mail, vendor name or id."""
        pager = Pager(request)
        rows, pager.total = await self.read(
            request,
            lambda s: queries.vendors(s, q=pager.q, limit=pager.size, offset=pager.offset),
        )
        return await self.show(request, "vendors.html", rows=rows, pager=pager)

    @expose("/fivesim/vendors/{user_id:int}", identity="fivesim-vendor")
    async def vendor(self, request: Request) -> Response:
        """A vendor's numbers (phone, country, operator, products, state) and payouts."""
        user_id = path_id(request, "user_id", "vendor")
        pager = Pager(request)

        def facts(session: Session) -> tuple[object, ...] | None:
            row = queries.vendor_row(session, user_id=user_id)
            if row is None:
                return None
            numbers, total = queries.numbers(
                session, vendor_id=user_id, q=pager.q, limit=pager.size, offset=pager.offset
            )
            history = queries.payments(session, user_id=user_id, vendor_side=True)
            return row, numbers, total, history

        found = await self.read(request, facts)
        if found is None:
            not_found("vendor")
        row, numbers, pager.total, history = found
        return await self.show(
            request, "vendor.html", vendor=row, numbers=numbers, pager=pager, payments=history
        )
