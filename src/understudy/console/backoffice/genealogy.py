"""The genealogy view: binary, matrix and sponsor trees, three levels below any member."""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.backoffice import trees
from understudy.console.backoffice.lookup import ROOT, find_member
from understudy.console.pages import ConsolePage

TITLES = {"binary": "Binary tree", "matrix": "Matrix", "sponsor": "Sponsor tree"}


def load(session: Session, kind: str, who: str) -> dict[str, Any] | None:
    """The member named by `who` and its drawn tree, or None when there is no such member."""
    member = find_member(session, who)
    if member is None:
        return None
    tree = trees.draw(session, kind, member)
    return {"member": {"id": member.id, "username": member.username}, "tree": tree}


class GenealogyPage(ConsolePage):
    """The genealogy view, one route per tree kind."""

    name = "Genealogy"
    category = "backoffice"
    icon = "fa-solid fa-sitemap"

    @expose("/backoffice/genealogy/binary", identity="backoffice-genealogy-binary")
    async def binary(self, request: Request) -> Response:
        """The binary tree below a member (admin by default)."""
        return await self.show(request, "binary")

    @expose("/backoffice/genealogy/matrix", identity="backoffice-genealogy-matrix")
    async def matrix(self, request: Request) -> Response:
        """The forced matrix below a member."""
        return await self.show(request, "matrix")

    @expose("/backoffice/genealogy/sponsor", identity="backoffice-genealogy-sponsor")
    async def sponsor(self, request: Request) -> Response:
        """The sponsor (unilevel) tree below a member."""
        return await self.show(request, "sponsor")

    async def show(self, request: Request, kind: str) -> Response:
        """Three levels of the `kind` tree rooted at `?member=<id or username>`."""
        who = request.query_params.get("member", "").strip()[:100] or ROOT
        found = await self.read(request, lambda s: load(s, kind, who))
        here = self.url(request, f"backoffice-genealogy-{kind}")
        context = {
            "title": TITLES[kind],
            "pretitle": "backoffice genealogy",
            "kind": kind,
            "who": who,
            "kinds": [
                (other, TITLES[other], self.url(request, f"backoffice-genealogy-{other}"))
                for other in trees.KINDS
            ],
            "view_url": lambda member_id: f"{here}?member={member_id}",
            "member_url": lambda member_id: self.url(
                request, "backoffice-member", member_id=member_id
            ),
            "members_url": self.url(request, "backoffice-member-search"),
            "shown": trees.SPONSOR_SHOWN,
        }
        if found is None:
            return await self.render(
                request,
                "console/backoffice/genealogy.html",
                status_code=404,
                missing=True,
                **context,
            )
        return await self.render(request, "console/backoffice/genealogy.html", **found, **context)
