"""Request ids, JSON request logs and Prometheus metrics that add up across worker processes.

prometheus_client chooses how it stores values (in memory, or in per-process files under
PROMETHEUS_MULTIPROC_DIR) when `prometheus_client.values` is first imported. This module therefore
imports prometheus_client only inside functions: `understudy serve --workers N` calls
`prepare_multiprocess_metrics()` first, and every worker builds its metrics after that.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import fastapi.routing
import orjson
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse, Response
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from understudy.config import ALL_SERVICES
from understudy.control.auth import PREFIX as CONTROL_PREFIX
from understudy.shortcuts import ROUTE_KEY as SHORTCUT_ROUTE

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format: what generate_latest() writes, and what every scraper accepts.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"
NO_SERVICE = "none"
DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OWNERS = frozenset({*ALL_SERVICES, "sandbox", "operations", "console"})
CONSOLE_PREFIX = "/admin"  # the operator console, a mounted sub-application
SERVICE_PREFIXES = (("/v1", "fivesim"), ("/api/v1", "backoffice"))

_REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_HANDLER_MARK = "_understudy_json_handler"
_request_id: ContextVar[str | None] = ContextVar("understudy_request_id", default=None)

access_log = logging.getLogger("understudy.access")
router = APIRouter(tags=["operations"])


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


# --- logging -------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, the request id and any `fields` extra."""

    _second: int = -1
    _second_text: str = ""

    def _timestamp(self, created: float) -> str:
        """RFC 3339 UTC with milliseconds; the text up to the second is reused within a second."""
        second = int(created)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        millis = min(round((created - second) * 1_000_000) // 1000, 999)
        return f"{self._second_text}.{millis:03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single JSON line."""
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes lines in batches, like a web server's buffered access log.

    Lines wait until 64 KiB are pending, a record of WARNING or above arrives, or a background
    thread's flush every `interval` seconds; closing (and so interpreter exit) writes the rest.
    One write per batch instead of one per request.
    """

    LIMIT = 64 * 1024

    def __init__(self, stream: Any, *, interval: float = 0.5) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._size = 0
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_every, args=(interval,), name="log-flusher", daemon=True
        )
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the formatted record (the handler lock is held by the caller)."""
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        self._size += len(line)
        if self._size >= self.LIMIT or record.levelno >= logging.WARNING:
            self._write()

    def flush(self) -> None:
        """Write every pending line now."""
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def close(self) -> None:
        """Write what is pending and stop the flushing thread."""
        self._stop.set()
        self.flush()
        super().close()

    def _write(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._size = 0
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            if logging.raiseExceptions:  # as logging.Handler.handleError does
                traceback.print_exc(file=sys.stderr)

    def _flush_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()


def configure_logging(level: str = "info") -> None:
    """Log every record to stderr as JSON lines at this level; replaces only its own handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
    # The JSON lines name no thread or process: do not collect them for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BatchingStreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    number = logging.getLevelName(level.upper())
    root.setLevel(number if isinstance(number, int) else logging.DEBUG)


# --- metrics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Metrics:
    requests: Any  # prometheus_client.Counter
    duration: Any  # prometheus_client.Histogram


@cache
def _metrics() -> _Metrics:
    from prometheus_client import Counter, Histogram

    return _Metrics(
        requests=Counter(
            "understudy_requests_total",
            "HTTP requests answered, by owning service, method, route template and status.",
            ("service", "method", "route", "status"),
        ),
        duration=Histogram(
            "understudy_request_duration_seconds",
            "Time from receiving a request to sending the end of its response.",
            ("service", "method", "route"),
            buckets=DURATION_BUCKETS,
        ),
    )


def prepare_multiprocess_metrics() -> str:
    """Give the workers about to start a fresh, empty metrics directory; returns its path.

    Must run before the workers import prometheus_client; they inherit PROMETHEUS_MULTIPROC_DIR.
    A directory the operator already set is used as the parent of the fresh one.
    """
    parent = os.environ.get(MULTIPROC_ENV)
    path = tempfile.mkdtemp(
        prefix="understudy-metrics-", dir=parent if parent and os.path.isdir(parent) else None
    )
    os.environ[MULTIPROC_ENV] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def mark_worker_exit() -> None:
    """Tell multiprocess metrics that this worker is going away (no-op with one process)."""
    if os.environ.get(MULTIPROC_ENV) and "prometheus_client" in sys.modules:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


def render_metrics() -> bytes:
    """The text exposition of every metric, summed over all workers in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    _metrics()
    if not os.environ.get(MULTIPROC_ENV):
        return generate_latest(REGISTRY)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics() -> Response:
    """Request counts and latencies per service and route, summed over every worker."""
    return Response(render_metrics(), media_type=METRICS_CONTENT_TYPE)


# --- routes --------------------------------------------------------------------------------------


def _owner(path: str, tags: list[Any], is_api_route: bool) -> str:
    if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
        return "sandbox"
    for tag in tags:
        if str(tag) in OWNERS:
            return str(tag)
    for prefix, name in SERVICE_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return name
    # The only service without a path prefix; FastAPI's own pages (/docs...) are operations.
    return "nebeus" if is_api_route else "operations"


def _console_route(scope: Scope) -> str | None:
    """The route template of a console request (its own router's, under the prefix), else None."""
    root = scope.get("app_root_path", scope.get("root_path", ""))
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    if path != CONSOLE_PREFIX and not path.startswith(CONSOLE_PREFIX + "/"):
        return None
    # The console's router leaves its own route (a path under the prefix) in the scope; a request
    # refused before routing (e.g. a missing CSRF token) counts under the prefix itself.
    inner = getattr(scope.get("route"), "path_format", None)
    if isinstance(inner, str) and scope.get("root_path", "").endswith(CONSOLE_PREFIX):
        return CONSOLE_PREFIX + inner
    return CONSOLE_PREFIX


@dataclass(frozen=True)
class _Template:
    regex: re.Pattern[str] | None
    path: str
    service: str


def _flattened(app: FastAPI) -> Iterator[tuple[Any, Any]]:
    """(original route, effective route with the full path) for every route of the app."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:  # FastAPI before nested includes: routes carry their full path
        for route in app.routes:
            yield route, route
        return
    for context in iter_contexts(app.routes):
        yield context.original_route, context


class RouteTemplates:
    """Finds the full route template and owning service of a routed request.

    The router leaves the matched route (or, for FastAPI's own pages, the endpoint) in the scope;
    with nested routers that route's own path lacks the include prefixes, so the full template
    comes from the app's flattened route table.
    """

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._by_route: dict[int, list[_Template]] = {}
        self._by_endpoint: dict[int, list[_Template]] = {}
        self._rebuilt_for: set[int] = set()
        self._built = False

    def _build(self) -> None:
        by_route: dict[int, list[_Template]] = {}
        by_endpoint: dict[int, list[_Template]] = {}
        for original, effective in _flattened(self._app):
            path = getattr(effective, "path_format", None)
            if not isinstance(path, str):
                continue
            is_api = isinstance(original, fastapi.routing.APIRoute)
            tags = list(getattr(effective, "tags", None) or [])
            regex = getattr(effective, "path_regex", None)
            template = _Template(regex, path, _owner(path, tags, is_api))
            by_route.setdefault(id(original), []).append(template)
            endpoint = getattr(effective, "endpoint", None)
            if endpoint is not None:
                by_endpoint.setdefault(id(endpoint), []).append(template)
        self._by_route, self._by_endpoint, self._built = by_route, by_endpoint, True

    def _lookup(self, scope: Scope) -> list[_Template] | None:
        """Templates of the route the router picked; None when nothing matched."""
        route, endpoint = scope.get("route"), scope.get("endpoint")
        if route is None and endpoint is None:
            return None
        key = id(route if route is not None else endpoint)
        if not self._built:
            self._build()
        found = (self._by_route if route is not None else self._by_endpoint).get(key)
        if found is None and key not in self._rebuilt_for:
            self._rebuilt_for.add(key)  # a route added after the first request
            self._build()
            found = (self._by_route if route is not None else self._by_endpoint).get(key)
        return found or []

    def resolve(self, scope: Scope) -> tuple[str, str]:
        """(service, route template) of a request the app has handled."""
        shortcut = scope.get(SHORTCUT_ROUTE)
        if shortcut is not None:
            return shortcut  # type: ignore[no-any-return]
        console = _console_route(scope)
        if console is not None:
            return "console", console
        candidates = self._lookup(scope)
        if candidates is None:
            return NO_SERVICE, UNMATCHED
        if not candidates:  # e.g. a route of a mounted sub-application
            path = getattr(scope.get("route"), "path_format", None)
            return (_owner(path, [], True), path) if path else (NO_SERVICE, UNMATCHED)
        if len(candidates) > 1:  # one router included under several prefixes
            path = get_route_path(scope)
            for candidate in candidates:
                if candidate.regex is not None and candidate.regex.match(path):
                    return candidate.service, candidate.path
        return candidates[0].service, candidates[0].path


# --- middleware ----------------------------------------------------------------------------------


_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)


def _new_request_id() -> str:
    """A unique id: random per process, then a counter (cheaper than a uuid4 per request)."""
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


class ObservabilityMiddleware:
    """Pure ASGI: request id, one access-log line and metrics per HTTP request.

    Other scope types (websocket, lifespan) pass through untouched. Streaming bodies are forwarded
    message by message; the duration runs until the last body message is handed on.
    """

    def __init__(self, app: ASGIApp, routes: RouteTemplates) -> None:
        self.app = app
        self.routes = routes
        self.metrics = _metrics()
        # The labelled series by (service, method, route, status): labels() costs more than inc().
        self._series: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = _request_id.set(request_id)
        id_header = (_REQUEST_ID_HEADER, request_id.encode("latin-1"))
        status: int | None = None
        recorded = False
        started = time.perf_counter()

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self._record(scope, status or 500, time.perf_counter() - started, request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                headers.append(id_header)
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the last byte leaves, so a client that has its answer can
                # already see it in /metrics, whichever worker serves that scrape.
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record()
            _request_id.reset(token)

    def _record(self, scope: Scope, status: int, duration: float, request_id: str) -> None:
        service, route = self.routes.resolve(scope)
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        key = (service, method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.metrics.requests.labels(service, method, route, str(status)),
                self.metrics.duration.labels(service, method, route),
            )
        series[0].inc()
        series[1].observe(duration)
        if access_log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "service": service,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                "client": client[0] if client else None,
            }
            # makeRecord + handle: what info() does, minus the search for the calling line,
            # which every access line would share.
            access_log.handle(
                access_log.makeRecord(
                    access_log.name,
                    logging.INFO,
                    __file__,
                    0,
                    "request",
                    (),
                    None,
                    extra={"fields": fields},
                )
            )


def instrument(app: FastAPI, wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
    """Wrap the app's whole middleware stack, error pages included, in ObservabilityMiddleware.

    `wrap`, when given, wraps that stack first (inside the observability layer).
    """
    build_inner = app.build_middleware_stack
    routes = RouteTemplates(app)

    def build() -> ASGIApp:
        inner = build_inner()
        return ObservabilityMiddleware(wrap(inner) if wrap else inner, routes)

    app.build_middleware_stack = build  # type: ignore[method-assign]
