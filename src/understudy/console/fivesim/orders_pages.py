"""Orders: a list filtered by status and text, and an order's page with its SMS."""

from __future__ import annotations

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.fivesim import queries
from understudy.console.fivesim.base import FivesimPage
from understudy.console.pages import Pager, not_found, path_id


class OrdersPage(FivesimPage):
    """Every order with its status; each order's SMS on its page."""

    name = "Orders & SMS"
    icon = "fa-solid fa-message"

    @expose("/fivesim/orders", identity="fivesim-order-list")
    async def orders(self, request: Request) -> Response:
        """Orders, newest first, by status and by id, phone, product or buyer e-mail."""
        pager = Pager(request)
        status = request.query_params.get("status", "").strip().upper()
        if status not in queries.STATUSES:
            status = ""
        rows, pager.total = await self.read(
            request,
            lambda s: queries.orders(
                s, q=pager.q, status=status, limit=pager.size, offset=pager.offset
            ),
        )
        return await self.show(request, "orders.html", rows=rows, pager=pager, status=status)

    @expose("/fivesim/orders/{order_id:int}", identity="fivesim-order")
    async def order(self, request: Request) -> Response:
        """One order and its SMS messages, oldest first."""
        order_id = path_id(request, "order_id", "order")

        def facts(session: Session) -> tuple[object, ...] | None:
            row = queries.order(session, order_id=order_id)
            if row is None:
                return None
            return row, queries.sms_of(session, order_id=order_id)

        found = await self.read(request, facts)
        if found is None:
            not_found("order")
        row, messages = found
        return await self.show(request, "order.html", order=row, messages=messages)
