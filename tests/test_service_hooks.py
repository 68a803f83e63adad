"""The Service plug-in points the app honours: a lifespan per worker and own exception handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from understudy import app as app_module
from understudy.context import AppContext
from understudy.services import Service, load_all


class Teapot(Exception):
    """Raised by the probe route; rendered by the probe service's own handler."""


def _probe_service(events: list[str]) -> Service:
    router = APIRouter()

    @router.get("/probe/teapot")
    def teapot() -> None:
        raise Teapot("short and stout")

    @asynccontextmanager
    async def lifespan(ctx: AppContext) -> AsyncIterator[None]:
        events.append(f"start:{ctx.db.is_postgres}")
        yield
        events.append("stop")

    async def on_teapot(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"teapot: {exc}", status_code=418)

    return Service(
        name="probe",
        description="test probe",
        router=router,
        lifespan=lifespan,
        exception_handlers={Teapot: on_teapot},
    )


@pytest.fixture
def probed_app(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> tuple[FastAPI, list[str]]:
    events: list[str] = []
    services = [*load_all(), _probe_service(events)]
    monkeypatch.setattr(app_module, "load_all", lambda names: services)
    return app_module.create_app(ctx=ctx), events


async def test_service_lifespan_runs_once_per_worker_start_and_stop(
    probed_app: tuple[FastAPI, list[str]], is_postgres: bool
) -> None:
    app, events = probed_app
    async with app.router.lifespan_context(app):
        assert events == [f"start:{is_postgres}"]
    assert events == [f"start:{is_postgres}", "stop"]


async def test_service_exception_handler_renders_its_exception(
    probed_app: tuple[FastAPI, list[str]],
) -> None:
    app, _ = probed_app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/probe/teapot")
    assert response.status_code == 418
    assert response.text == "teapot: short and stout"
