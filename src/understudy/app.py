"""create_app(): one ASGI app serving every enabled service, the control plane and operations."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from understudy import __version__, console, observability, ops
from understudy.config import Settings
from understudy.context import AppContext
from understudy.control import api as control_api
from understudy.control.auth import (
    PREFIX as CONTROL_PREFIX,
)
from understudy.control.auth import (
    ControlError,
    control_error_response,
    require_admin,
    validation_error_response,
)
from understudy.control.openapi import install_openapi
from understudy.core.mail import SmtpTarget
from understudy.core.sweeper import Sweeper
from understudy.services import Service, load_all
from understudy.shortcuts import ShortcutMiddleware

log = logging.getLogger(__name__)


def _is_control(request: Request) -> bool:
    return request.url.path.startswith(CONTROL_PREFIX + "/")


def _undecodable_body(error: UnicodeDecodeError) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": ("body", error.start),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "body is not UTF-8"},
            }
        ]
    )


def _install_error_handlers(app: FastAPI, services: list[Service]) -> None:
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI answers a body that is not UTF-8 with a bare 400; it is invalid JSON.
            return await on_validation_error(request, _undecodable_body(exc.__cause__))
        if exc.status_code in (404, 405):
            for service in services:
                if service.not_found is not None:
                    answer = service.not_found(request, exc.status_code)
                    if answer is not None:
                        return answer
        elif _is_control(request):
            return control_error_response(ControlError(str(exc.detail), exc.status_code))
        text = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return PlainTextResponse(text, status_code=exc.status_code, headers=exc.headers)

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _is_control(request):
            try:
                await require_admin(request)  # the token is checked before the body's validity
            except ControlError as refused:
                return control_error_response(refused)
            return validation_error_response(exc)
        # FastAPI's 422 body, as the OpenAPI document describes it for every other route.
        return await request_validation_exception_handler(request, exc)

    async def on_control_error(request: Request, exc: ControlError) -> Response:
        return control_error_response(exc)

    async def on_unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        for service in services:
            if service.server_error is not None:
                answer = service.server_error(request, exc)
                if answer is not None:
                    return answer
        return PlainTextResponse("Internal Server Error", status_code=500)

    for service in services:
        for exception_type, handler in service.exception_handlers.items():
            app.add_exception_handler(exception_type, handler)
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ControlError, on_control_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unhandled)


def create_app(settings: Settings | None = None, *, ctx: AppContext | None = None) -> FastAPI:
    """Build the application for these settings (the database must already be migrated)."""
    settings = settings or (ctx.settings if ctx else Settings())
    settings.check_safety()
    ctx = ctx or AppContext.from_settings(settings)
    services = load_all(settings.enabled_services)
    sweeper = Sweeper(
        ctx.db,
        ctx.clock,
        interval=settings.sweep_interval,
        batch=settings.sweep_batch,
        smtp=SmtpTarget.parse(settings.smtp_url) if settings.smtp_url else None,
        sender=settings.mail_from,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if settings.sweep_interval > 0:
            sweeper.start()
        try:
            async with AsyncExitStack() as stack:
                for service in services:
                    if service.lifespan is not None:
                        await stack.enter_async_context(service.lifespan(ctx))
                # Everything loaded so far (modules, routes, mappers) lives as long as the
                # process: keep it out of the garbage collector's full passes.
                gc.collect()
                gc.freeze()
                yield
        finally:
            await sweeper.stop()
            ctx.close()
            observability.mark_worker_exit()

    app = FastAPI(
        title="Understudy",
        version=__version__,
        description="Faithful, stateful implementations of the fivesim, nebeus and backoffice "
        "APIs.",
        lifespan=lifespan,
        telemetry=None
        if settings.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
        openapi_tags=[{"name": s.name, "description": s.description} for s in services]
        + [
            {"name": "sandbox", "description": "Sandbox control plane (admin token)."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )
    app.state.ctx = ctx
    app.state.services = services
    app.state.sweeper = sweeper
    app.state.debug = settings.debug

    app.include_router(ops.router)
    app.include_router(observability.router)
    if settings.control_plane_enabled:
        app.include_router(control_api.router)
    for service in services:
        if service.router is not None:
            app.include_router(service.router, tags=[service.name])
        if settings.control_plane_enabled and service.control_router is not None:
            app.include_router(
                service.control_router, prefix=f"{CONTROL_PREFIX}/{service.name}", tags=["sandbox"]
            )
    console.mount(app, ctx)
    _install_error_handlers(app, services)
    install_openapi(app)
    shortcuts = {s.name: s.shortcuts for s in services if s.shortcuts}
    observability.instrument(
        app, (lambda inner: ShortcutMiddleware(inner, ctx, shortcuts)) if shortcuts else None
    )
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` workers: settings come from UNDERSTUDY_* variables."""
    settings = Settings()
    # Here rather than in create_app, so in-process tests keep pytest's own log capture.
    observability.configure_logging(settings.log_level)
    return create_app(settings)
