"""The operator console at /admin: operator accounts, sessions, CSRF, audit log, read-only views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from understudy.console import models  # noqa: F401  (the console's tables join the metadata)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from understudy.context import AppContext


def mount(app: FastAPI, ctx: AppContext) -> None:
    """Serve the console at /admin on this application."""
    from understudy.console.site import mount as mount_console

    mount_console(app, ctx)
