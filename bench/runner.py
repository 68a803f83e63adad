"""One benchmark run: start Understudy, set up, capture, load; then the same for the ceiling."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .load import LoadResult, LoadSpec, run_load
from .scenarios import Live, Request, Scenario, expand_weights
from .server import HOST, ServerProcess, free_port

BENCH_DIR = Path(__file__).resolve().parent
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, already validated by the CLI."""

    scenario: Scenario
    generator: str
    duration_s: float
    max_requests: int
    connections: int
    workers: int
    warmup_s: float
    db_url: str
    env: Mapping[str, str]
    server_cmd: Sequence[str]
    reference: bool
    work_dir: Path


@dataclass
class Measured:
    """Load result and memory of one target."""

    load: LoadResult
    memory: dict[str, float | int]
    ready_s: float
    argv: list[str]


@dataclass
class RunOutcome:
    """Both targets' measurements plus what the scenario sent."""

    server: Measured
    ceiling: Measured | None
    templates: list[Request]
    captured: list[dict[str, Any]] = field(default_factory=list)


def default_server_cmd() -> list[str]:
    """The `understudy` executable next to this interpreter, else the one on PATH."""
    sibling = Path(sys.executable).parent / "understudy"
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("understudy")
    if found:
        return [found]
    raise SystemExit(
        "understudy executable not found; install the project (pip install -e .) "
        "or pass --server-cmd"
    )


def parse_server_cmd(text: str | None) -> list[str]:
    """Split a --server-cmd string, or find the default executable."""
    return shlex.split(text) if text else default_server_cmd()


def server_argv(config: RunConfig, port: int) -> list[str]:
    """The `understudy serve ...` command line for this run."""
    argv = [
        *config.server_cmd, "serve", "--host", HOST, "--port", str(port),
        "--db", config.db_url, "--workers", str(config.workers),
    ]  # fmt: skip
    if config.scenario.services:
        argv += ["--services", ",".join(config.scenario.services)]
    return argv + list(config.scenario.server_args)


def reference_argv(workers: int, port: int, server_header: bool) -> list[str]:
    """uvicorn serving bench/reference_app.py with the same worker count (and Server header)."""
    argv = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR), "reference_app:app",
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return argv if server_header else [*argv, "--no-server-header"]


def _send(client: httpx.Client, template: Request) -> httpx.Response:
    return client.request(
        template.method,
        template.path,
        headers=template.all_headers(),
        content=template.body_bytes(),
    )


def capture(base_url: str, templates: Sequence[Request], say: Progress) -> list[dict[str, Any]]:
    """Fetch one real response per template: status, Content-Type and exact body bytes."""
    captured = []
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for template in templates:
            response = _send(client, template)
            body = response.content
            content_type = response.headers.get("content-type")
            say(
                f"captured {template.label} -> {response.status_code} "
                f"{content_type or '-'} ({len(body)} bytes)"
            )
            if not 200 <= response.status_code < 400:
                say(f"WARNING: {template.label} answers {response.status_code}: {body[:200]!r}")
            captured.append(
                {
                    "method": template.method.upper(),
                    "path": template.path,
                    "status": response.status_code,
                    "content_type": content_type,
                    "server_header": "server" in response.headers,
                    "body_bytes": len(body),
                    "body_b64": base64.b64encode(body).decode(),
                }
            )
    return captured


def _spec(config: RunConfig, port: int, cycle: list[Request], warmup: bool) -> LoadSpec:
    return LoadSpec(
        host=HOST,
        port=port,
        cycle=cycle,
        duration_s=config.warmup_s if warmup else config.duration_s,
        max_requests=config.max_requests,
        connections=config.connections,
    )


def _drive(
    config: RunConfig, port: int, cycle: list[Request], say: Progress, who: str
) -> LoadResult:
    """Warm up (python generator, not counted), then run the measured load."""
    if config.warmup_s > 0:
        say(f"warming up {who} ({config.warmup_s:g}s, not counted)…")
        run_load("python", _spec(config, port, cycle, warmup=True))
    bound = (
        f"{config.max_requests:,} requests" if config.generator == "python" else "no count bound"
    )
    say(
        f"running load on {who}: {config.generator}, {config.connections} connections, "
        f"{config.duration_s:g}s, {bound}…"
    )
    result = run_load(config.generator, _spec(config, port, cycle, warmup=False))
    say(
        f"  {result.requests:,} requests, {result.errors:,} errors, {result.rps:,.0f} req/s, "
        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms"
    )
    return result


def _healthz_probe(base_url: str) -> Callable[[], bool]:
    def probe() -> bool:
        return httpx.get(f"{base_url}/healthz", timeout=2.0).status_code == 200

    return probe


def _reference_probe(base_url: str, template: Request, status: int) -> Callable[[], bool]:
    def probe() -> bool:
        with httpx.Client(base_url=base_url, timeout=2.0) as client:
            return _send(client, template).status_code == status

    return probe


def run(config: RunConfig, say: Progress, started: list[ServerProcess]) -> RunOutcome:
    """Run the scenario against Understudy, then against the ceiling; `started` tracks processes."""
    scenario = config.scenario
    port = free_port()
    server = ServerProcess(
        "understudy", server_argv(config, port), config.env, port, config.work_dir
    )
    started.append(server)
    say(f"starting understudy: {shlex.join(server.argv)}")
    server.start()
    ready_s = server.wait_ready(_healthz_probe(server.base_url))
    say(f"understudy ready in {ready_s:.1f}s on {server.base_url}")
    context: dict[str, Any] = {}
    if scenario.setup is not None:
        say("running scenario setup…")
        context = scenario.setup(Live(server.base_url, dict(config.env))) or {}
    templates = scenario.build_requests(context)
    cycle = expand_weights(templates)
    captured = capture(server.base_url, templates, say)
    load = _drive(config, port, cycle, say, "understudy")
    server.stop()
    measured = Measured(load, server.memory_report(), ready_s, server.argv)
    say(f"understudy stopped; peak RSS {server.peak_rss_mib():.1f} MiB")
    outcome = RunOutcome(server=measured, ceiling=None, templates=templates, captured=captured)
    if config.reference:
        outcome.ceiling = _run_reference(config, templates, cycle, captured, say, started)
    return outcome


def _run_reference(
    config: RunConfig,
    templates: list[Request],
    cycle: list[Request],
    captured: list[dict[str, Any]],
    say: Progress,
    started: list[ServerProcess],
) -> Measured:
    """Serve the captured bytes from bare Starlette and drive it identically."""
    responses = config.work_dir / "reference-responses.json"
    responses.write_text(json.dumps(captured))
    port = free_port()
    env = {**config.env, "BENCH_REFERENCE_RESPONSES": str(responses)}
    server_header = any(c["server_header"] for c in captured)
    argv = reference_argv(config.workers, port, server_header)
    ref = ServerProcess("starlette-ceiling", argv, env, port, config.work_dir)
    started.append(ref)
    say(
        f"reference: starting bare Starlette ceiling on {ref.base_url} ({config.workers} worker(s))"
    )
    ref.start()
    probe = _reference_probe(ref.base_url, templates[0], captured[0]["status"])
    ready_s = ref.wait_ready(probe)
    load = _drive(config, port, cycle, say, "starlette-ceiling")
    ref.stop()
    say(f"reference stopped; peak RSS {ref.peak_rss_mib():.1f} MiB")
    return Measured(load, ref.memory_report(), ready_s, ref.argv)
