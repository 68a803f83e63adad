"""The operator console site: sqladmin at /admin with our authentication and views."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqladmin import Admin
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request

from understudy.console import auth, views
from understudy.console.csrf import ensure_token
from understudy.context import AppContext

BASE_URL = auth.PATH
TEMPLATES = Path(__file__).parent / "templates"
SERVICE_VIEWS = {
    "fivesim": ("fivesim-users", "fivesim-orders"),
    "backoffice": ("backoffice-members",),
    "nebeus": ("nebeus-users",),
}


def _csrf_token(request: Request) -> str:
    return ensure_token(request.session)


def mount(app: FastAPI, ctx: AppContext) -> Admin:
    """Mount the console on app; its views read through the context's database."""
    backend = auth.ConsoleAuth(ctx)
    admin = Admin(
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
    backend.templates = admin.templates
    admin.templates.env.globals["csrf_token"] = _csrf_token
    shown = {"audit", "operators"}
    for service in ctx.settings.enabled_services:
        shown.update(SERVICE_VIEWS[service])
    for identity, view in views.VIEWS.items():
        if identity in shown:
            admin.add_view(view)
    return admin
