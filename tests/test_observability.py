"""Request ids, JSON access logs, Prometheus metrics (one process and several workers)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from tests.conftest import ADMIN
from tests.live_server import running_server, server_env
from understudy import observability
from understudy.observability import (
    MULTIPROC_ENV,
    BatchingStreamHandler,
    JsonFormatter,
    ObservabilityMiddleware,
    RouteTemplates,
    configure_logging,
    current_request_id,
    prepare_multiprocess_metrics,
)

ACCESS_FIELDS = {
    "ts",
    "level",
    "request_id",
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "client",
}


def sample_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def scrape(client: httpx.AsyncClient) -> str:
    """The /metrics page."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_request_id_is_generated(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    ids = [r.headers["x-request-id"] for r in (first, second)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != ids[1]


async def test_sane_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    given = "edge-7f3a.b_9" + "x" * 115
    response = await client.get("/healthz", headers={"X-Request-Id": given})
    assert response.headers["x-request-id"] == given


async def test_unsafe_incoming_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    for given in [b"", b"has space", b"x" * 129, b"semi;colon", b"caf\xe9", b"a/b", b'"q"']:
        response = await client.get("/healthz", headers=[(b"X-Request-Id", given)])
        replaced = response.headers["x-request-id"]
        assert replaced.encode() != given and len(replaced) == 32, given


async def test_request_id_reaches_handlers_and_error_pages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.get("/_test/request-id")
    async def echo(request: Request) -> dict[str, str | None]:
        return {"state": request.state.request_id, "context": current_request_id()}

    @app.get("/_test/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    body = (await client.get("/_test/request-id", headers={"X-Request-Id": "abc"})).json()
    assert body == {"state": "abc", "context": "abc"}
    failed = await client.get("/_test/boom", headers={"X-Request-Id": "oops-1"})
    assert failed.status_code == 500
    assert failed.headers["x-request-id"] == "oops-1"
    assert current_request_id() is None


async def test_access_log_line_is_json_with_the_fields(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="understudy.access")
    await client.get("/_understudy/mail?to=a@b.c", headers={**ADMIN, "X-Request-Id": "log-1"})
    records = [r for r in caplog.records if r.name == "understudy.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry.keys() >= ACCESS_FIELDS
    assert entry["request_id"] == "log-1"
    assert entry["level"] == "info"
    assert entry["method"] == "GET"
    assert entry["path"] == "/_understudy/mail"
    assert entry["route"] == "/_understudy/mail"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["client"] == "127.0.0.1"
    assert entry["ts"].endswith("Z") and len(entry["ts"]) == len("2026-01-01T00:00:00.000Z")


async def test_other_log_lines_carry_the_request_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    @app.get("/_test/logs")
    async def logs() -> dict[str, str]:
        logging.getLogger("understudy.test").warning("inside %s", "handler")
        return {}

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("understudy.test")
    logger.addHandler(handler)
    try:
        await client.get("/_test/logs", headers={"X-Request-Id": "ctx-9"})
    finally:
        logger.removeHandler(handler)
    [line] = lines
    entry = json.loads(line)
    assert entry["msg"] == "inside handler"
    assert entry["request_id"] == "ctx-9"


async def test_metrics_count_requests_per_route_template(client: httpx.AsyncClient) -> None:
    labels = {"service": "operations", "method": "GET", "route": "/healthz", "status": "200"}
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    after = await scrape(client)
    name = "understudy_requests_total"
    assert sample_sum(after, name, **labels) - sample_sum(before, name, **labels) == 3
    hist = "understudy_request_duration_seconds_count"
    route = {"service": "operations", "method": "GET", "route": "/healthz"}
    assert sample_sum(after, hist, **route) - sample_sum(before, hist, **route) == 3


async def test_metrics_label_control_and_unmatched_requests(client: httpx.AsyncClient) -> None:
    name = "understudy_requests_total"
    expected = [
        ({"service": "none", "route": "<unmatched>", "status": "404"}, 2),
        ({"service": "operations", "route": "/healthz", "method": "POST", "status": "405"}, 1),
        ({"service": "sandbox", "route": "/_understudy/clock", "status": "401"}, 1),
        ({"service": "sandbox", "route": "/_understudy/clock", "status": "200"}, 1),
        ({"service": "none", "route": "<unmatched>", "method": "OTHER"}, 1),
    ]
    before = await scrape(client)
    await client.get("/no/such/path/1")
    await client.request("BREW", "/no/such/path/2")
    await client.post("/healthz")
    await client.get("/_understudy/clock")
    await client.get("/_understudy/clock", headers=ADMIN)
    after = await scrape(client)
    for labels, delta in expected:
        assert sample_sum(after, name, **labels) - sample_sum(before, name, **labels) == delta
    assert "/no/such/path" not in after


async def test_route_templates_include_router_prefixes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    inner = APIRouter(prefix="/inner")

    @inner.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.include_router(inner, prefix="/v1")
    app.include_router(inner, prefix="/api/v1", tags=["backoffice"])
    name = "understudy_requests_total"
    before = await scrape(client)
    assert (await client.get("/v1/inner/items/7")).json() == {"id": 7}
    assert (await client.get("/api/v1/inner/items/8")).status_code == 200
    assert (await client.get("/v1/inner/items/x")).status_code == 422
    after = await scrape(client)
    for service, route, status in [
        ("fivesim", "/v1/inner/items/{item_id}", "200"),
        ("backoffice", "/api/v1/inner/items/{item_id}", "200"),
        ("fivesim", "/v1/inner/items/{item_id}", "422"),
    ]:
        labels = {"service": service, "route": route, "status": status}
        assert sample_sum(after, name, **labels) - sample_sum(before, name, **labels) == 1


async def test_docs_pages_are_operations(client: httpx.AsyncClient) -> None:
    labels = {"service": "operations", "route": "/openapi.json", "status": "200"}
    before = await scrape(client)
    assert (await client.get("/openapi.json")).status_code == 200
    after = await scrape(client)
    name = "understudy_requests_total"
    assert sample_sum(after, name, **labels) - sample_sum(before, name, **labels) == 1


async def test_metrics_page_is_text_exposition(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE understudy_requests_total counter" in response.text
    assert "# TYPE understudy_request_duration_seconds histogram" in response.text
    operation = (await client.get("/openapi.json")).json()["paths"]["/metrics"]["get"]
    assert operation["tags"] == ["operations"]
    assert set(operation["responses"]["200"]["content"]) == {"text/plain"}


async def test_streaming_responses_pass_through(app: FastAPI, client: httpx.AsyncClient) -> None:
    @app.get("/_test/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"chunk {i}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    response = await client.get("/_test/stream", headers={"X-Request-Id": "s-1"})
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
    assert response.headers["x-request-id"] == "s-1"


async def test_non_http_scopes_pass_through_untouched(app: FastAPI) -> None:
    seen: list[dict[str, object]] = []

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(scope)

    middleware = ObservabilityMiddleware(inner, RouteTemplates(app))  # type: ignore[arg-type]
    for kind in ("websocket", "lifespan"):
        scope: dict[str, object] = {"type": kind, "path": "/ws", "headers": []}
        await middleware(scope, None, None)  # type: ignore[arg-type]
        assert seen[-1] is scope and scope == {"type": kind, "path": "/ws", "headers": []}


async def test_validation_errors_match_the_document(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.get("/_test/typed")
    async def typed(n: int) -> dict[str, int]:
        return {"n": n}

    outside = await client.get("/_test/typed", params={"n": "x"})
    assert outside.status_code == 422 and outside.json()["detail"][0]["loc"] == ["query", "n"]
    control = await client.post("/_understudy/clock", json={"advance": "x"}, headers=ADMIN)
    assert control.status_code == 400 and set(control.json()) == {"error"}

    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "422" in paths["/_test/typed"]["get"]["responses"]
    for path, item in paths.items():
        if path.startswith("/_understudy/"):
            for operation in item.values():
                assert "422" not in operation["responses"]
                assert {"400", "401"} <= operation["responses"].keys()
                assert operation["security"] == [{"adminToken": []}]


def test_configure_logging_emits_json_lines_and_is_idempotent() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("warning")
        configure_logging("debug")
        ours = [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]
        assert len(ours) == 1 and root.level == logging.DEBUG
        assert all(h in root.handlers for h in saved_handlers)
        record = logging.LogRecord("understudy.x", logging.ERROR, __file__, 1, "a %s", ("b",), None)
        record.fields = {"k": 1}
        assert json.loads(ours[0].format(record)) | {"ts": None} == {
            "ts": None,
            "level": "error",
            "logger": "understudy.x",
            "msg": "a b",
            "k": 1,
        }
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_importing_the_app_does_not_import_prometheus_client() -> None:
    code = (
        "import sys, understudy.cli, understudy.app, understudy.observability\n"
        "assert 'prometheus_client' not in sys.modules, 'imported too early'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_prepare_multiprocess_metrics_makes_a_fresh_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    (tmp_path / "counter_1.db").write_bytes(b"stale")
    first = Path(prepare_multiprocess_metrics())
    assert os.environ[MULTIPROC_ENV] == str(first)
    assert first.parent == tmp_path and list(first.iterdir()) == []
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    second = Path(prepare_multiprocess_metrics())
    assert second != first and second.parent == tmp_path
    monkeypatch.delenv(MULTIPROC_ENV)
    fresh = Path(prepare_multiprocess_metrics())
    assert fresh.is_dir() and list(fresh.iterdir()) == []


def test_metrics_renders_without_multiprocess_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    observability.mark_worker_exit()
    assert b"understudy_requests_total" in observability.render_metrics()


# --- several workers -----------------------------------------------------------------------------


@pytest.mark.slow
def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    metrics_parent = tmp_path / "metrics"
    metrics_parent.mkdir()
    env = server_env(**{MULTIPROC_ENV: str(metrics_parent), "UNDERSTUDY_LOG_LEVEL": "info"})
    log_path = tmp_path / "server.log"
    database = f"sqlite:///{tmp_path / 'x.db'}"
    with running_server(database, log_path, workers=2, env=env) as base:
        healthz = {"service": "operations", "method": "GET", "route": "/healthz"}
        metrics_text = httpx.get(f"{base}/metrics", timeout=30).text
        before = sample_sum(metrics_text, "understudy_requests_total", **healthz)
        [run_dir] = metrics_parent.iterdir()
        # A fresh connection per request, several at a time, until both workers have served
        # some (which worker accepts is the kernel's choice, and a loaded machine may favour one).
        responses: list[httpx.Response] = []
        serving_pids: set[str] = set()
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(serving_pids) < 2 and len(responses) < 600:
                responses += pool.map(lambda _: httpx.get(f"{base}/healthz", timeout=10), range(30))
                serving_pids = {p.stem.split("_")[-1] for p in run_dir.glob("counter_*.db")}
        assert len(serving_pids) == 2, "every request went to one worker"
        sent = len(responses)
        assert [r.status_code for r in responses] == [200] * sent
        assert len({r.headers["x-request-id"] for r in responses}) == sent
        text = httpx.get(f"{base}/metrics", timeout=30).text
        assert sample_sum(text, "understudy_requests_total", **healthz) == before + sent
        assert sample_sum(text, "understudy_request_duration_seconds_count", **healthz) == (
            before + sent
        )
    lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [json.loads(line) for line in lines]
    assert any(e.get("logger") == "understudy.access" and e["route"] == "/healthz" for e in access)
    assert not metrics_parent.exists() or list(metrics_parent.iterdir()) == []


def test_batching_handler_writes_in_batches_and_never_loses_a_line() -> None:
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=3600)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("understudy.test.batching")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info("one")
        assert stream.getvalue() == ""  # waiting for a batch
        logger.warning("two")  # a warning goes out at once, with what waited before it
        assert stream.getvalue() == "INFO one\nWARNING two\n"
        logger.info("three")
        handler.flush()
        assert stream.getvalue().endswith("INFO three\n")
        logger.info("four")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        handler.close()  # closing writes the rest
    assert stream.getvalue().endswith("INFO four\n")


def test_batching_handler_flushes_on_its_own_when_traffic_stops() -> None:
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=0.01)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        handler.handle(logging.LogRecord("x", logging.INFO, __file__, 1, "idle", (), None))
        deadline = time.monotonic() + 30
        while stream.getvalue() == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue() == "idle\n"
    finally:
        handler.close()


def test_timestamps_are_rfc3339_utc_with_milliseconds() -> None:
    formatter = JsonFormatter()
    for created in (0.0, 1_700_000_000.9999, 1_700_000_001.0015):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
        record.created = created
        expected = (
            datetime.fromtimestamp(created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        assert json.loads(formatter.format(record))["ts"] == expected
