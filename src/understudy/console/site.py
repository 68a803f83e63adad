"""The operator console site: sqladmin at /admin with our authentication and views."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from understudy.console import auth, overview, views
from understudy.console import backoffice as backoffice_pages
from understudy.console import fivesim as fivesim_pages
from understudy.console import nebeus as nebeus_pages
from understudy.console.csrf import ensure_token
from understudy.console.pages import ConsolePage
from understudy.context import AppContext

BASE_URL = auth.PATH
TEMPLATES = Path(__file__).parent / "templates"
SERVICE_PAGES = {
    "fivesim": fivesim_pages.PAGES,
    "backoffice": backoffice_pages.PAGES,
    "nebeus": nebeus_pages.PAGES,
}


class ConsoleAdmin(Admin):
    """sqladmin with the overview as its start page."""

    overview_page: ConsolePage

    @login_required
    async def index(self, request: Request) -> Response:
        """The overview of every enabled service."""
        return await overview.render(self.overview_page, request)


def _csrf_token(request: Request) -> str:
    return ensure_token(request.session)


def mount(app: FastAPI, ctx: AppContext) -> Admin:
    """Mount the console on app; its views read through the context's database."""
    backend = auth.ConsoleAuth(ctx)
    admin = ConsoleAdmin(
        app,
        session_maker=sessionmaker(bind=ctx.db.read_engine),
        base_url=BASE_URL,
        title="Understudy console",
        templates_dir=str(TEMPLATES),
        authentication_backend=backend,
    )
    # No view has file columns: drop sqladmin's file routes, which answer a missing row with 500.
    admin.admin.router.routes = [
        route
        for route in admin.admin.router.routes
        if getattr(route, "name", None) not in ("file_download", "file_preview")
    ]
    admin.admin.state.ctx = ctx
    backend.templates = admin.templates
    admin.templates.env.globals["csrf_token"] = _csrf_token
    admin.overview_page = ConsolePage()
    admin.overview_page.templates = admin.templates
    for view in views.VIEWS.values():
        admin.add_view(view)
    for service in ctx.settings.enabled_services:
        for page in SERVICE_PAGES[service]:
            admin.add_view(page)
    return admin
