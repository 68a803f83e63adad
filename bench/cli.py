"""Command line: ``python -m bench <scenario> [options]``."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from . import report, scenarios
from .load import resolve_generator
from .runner import Measured, RunConfig, RunOutcome, parse_server_cmd, run
from .server import ServerError, ServerProcess

MAX_DURATION_S = 600.0

EPILOG = """\
examples:
  python -m bench healthz
  python -m bench healthz --duration 5 --generator python
  python -m bench healthz --workers 2 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

The server and the reference app run as real processes on 127.0.0.1 and are always stopped
(SIGTERM, then SIGKILL after 5 s). Peak memory sums RSS over each server's process tree
(Linux /proc). Results go to bench/results/<scenario>.json.
"""


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_DURATION_S:g}]")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``python -m bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Start Understudy as a real process on loopback, drive a scenario with a load "
            "generator for a bounded time/request count, and compare with a bare Starlette app "
            "returning the same bytes (the framework ceiling)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument(
        "--duration",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="measured load time per target (default 10, max 600; wrk rounds up to whole seconds)",
    )
    parser.add_argument(
        "--requests",
        type=_positive_int,
        default=200_000,
        metavar="N",
        help="max requests per target; the run stops at whichever bound comes "
        "first (python generator only: wrk is time-bound) (default 200000)",
    )
    parser.add_argument(
        "--connections",
        type=_positive_int,
        default=32,
        metavar="C",
        help="concurrent keep-alive connections (default 32)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="server worker processes, same for the ceiling (default 1)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="uncounted warm-up per target with the python generator (default 1, 0 disables)",
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: fresh sqlite:///<tmpdir>/bench.db)"
    )
    parser.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server (repeatable)",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator; auto = wrk when on PATH, else python",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the Starlette ceiling")
    parser.add_argument(
        "--server-cmd",
        metavar="CMD",
        help="command that accepts `serve --host ... --port ... --db ...` "
        "(default: the understudy executable of this venv)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="results file (default bench/results/<scenario>.json)",
    )
    return parser


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _list() -> int:
    for name in scenarios.available():
        scenario = scenarios.load(name)
        print(f"{name:20} {scenario.description}")
    return 0


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print and save the results; return an exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        return _list()
    if not args.scenario:
        parser.error("a scenario is required (see --list)")
    try:
        scenario = scenarios.load(args.scenario)
    except LookupError as exc:
        parser.error(str(exc))
    generator = resolve_generator(args.generator)
    server_cmd = parse_server_cmd(args.server_cmd)
    signal.signal(signal.SIGTERM, _sigterm)
    work_dir = Path(tempfile.mkdtemp(prefix=f"bench-{scenario.name}-"))
    env = {**os.environ, **scenario.env, **dict(args.env)}
    if scenario.needs_admin and not env.get("UNDERSTUDY_ADMIN_TOKEN"):
        env["UNDERSTUDY_ADMIN_TOKEN"] = secrets.token_urlsafe(24)
    config = RunConfig(
        scenario=scenario,
        generator=generator,
        duration_s=args.duration,
        max_requests=args.requests,
        connections=args.connections,
        workers=args.workers,
        warmup_s=max(0.0, min(args.warmup, MAX_DURATION_S)),
        db_url=args.db or f"sqlite:///{work_dir}/bench.db",
        env=env,
        server_cmd=server_cmd,
        reference=not args.no_reference,
        work_dir=work_dir,
    )
    _say(f"scenario {scenario.name}: {scenario.description}")
    _say(
        f"generator: {generator}; {os.cpu_count()} CPU(s) shared by generator and server "
        "(numbers are relative, compare with the ceiling)"
    )
    busy = report.cpu_busy_fraction()
    if busy is not None and busy > 0.2:
        _say(f"note: CPUs {busy:.0%} busy before the run (other processes); numbers will be noisy")
    idle_check = {"cpu_busy_before_run": busy, "loadavg_before_run": list(os.getloadavg())}
    started: list[ServerProcess] = []
    try:
        outcome = run(config, _say, started)
    except KeyboardInterrupt:
        _say("interrupted; stopping servers")
        return 130
    except ServerError as exc:
        _say(f"ERROR: {exc}")
        return 1
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    return _report(config, args, outcome, idle_check)


def _report(
    config: RunConfig, args: argparse.Namespace, outcome: RunOutcome, idle_check: dict[str, Any]
) -> int:
    server, ceiling = outcome.server, outcome.ceiling
    rows = [(report.TARGET, server.load, float(server.memory["peak_rss_mib"]))]
    if ceiling is not None:
        rows.append((report.CEILING, ceiling.load, float(ceiling.memory["peak_rss_mib"])))
    ratio = report.ratios(server.load, ceiling.load if ceiling else None)
    print(
        f"\nscenario {config.scenario.name} — generator {config.generator}, "
        f"{config.connections} connections, {config.workers} worker(s), "
        f"{config.duration_s:g}s per target"
    )
    print(report.render(rows, ratio))
    if config.generator == "wrk":
        print("note: wrk is time-bound; --requests was not enforced")
    payload = _payload(config, args, outcome, ratio)
    payload["machine"].update(idle_check)
    path = report.write_results(
        args.output or report.RESULTS_DIR / f"{config.scenario.name}.json", payload
    )
    _say(f"results written to {path}")
    return 0


def _target_block(measured: Measured) -> dict[str, Any]:
    load = measured.load.as_dict()
    return {
        **{k: v for k, v in load.items() if k != "extra"},
        "generator_details": {k: v for k, v in load["extra"].items() if k != "raw_output"},
        "memory": measured.memory,
        "ready_s": round(measured.ready_s, 2),
        "command": measured.argv,
    }


def _payload(
    config: RunConfig, args: argparse.Namespace, outcome: RunOutcome, ratio: dict[str, Any]
) -> dict[str, Any]:
    results = {report.TARGET: _target_block(outcome.server)}
    if outcome.ceiling is not None:
        results[report.CEILING] = _target_block(outcome.ceiling)
    scenario = config.scenario
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "timestamp": report.utc_now(),
        "git": report.git_info(),
        "machine": report.machine_info(),
        "generator": config.generator,
        "parameters": {
            "duration_s": config.duration_s,
            "max_requests": config.max_requests,
            "request_bound_enforced": outcome.server.load.request_bound_enforced,
            "connections": config.connections,
            "workers": config.workers,
            "warmup_s": config.warmup_s,
            "db": report.redact_url(args.db) if args.db else "sqlite (fresh temp file)",
            "extra_env_keys": sorted(k for k, _ in args.env),
            "services": list(scenario.services) if scenario.services else None,
            "server_args": list(scenario.server_args),
            "mutates": scenario.mutates,
            "requests": [
                {"method": t.method, "path": t.path, "weight": t.weight, "name": t.label}
                for t in outcome.templates
            ],
            "captured": [
                {k: c[k] for k in ("method", "path", "status", "content_type", "body_bytes")}
                for c in outcome.captured
            ],
        },
        "results": results,
        "ratios": {
            "rps_understudy_over_ceiling": ratio["rps"],
            "p50_understudy_over_ceiling": ratio["p50"],
            "p99_understudy_over_ceiling": ratio["p99"],
        },
    }
