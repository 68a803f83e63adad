"""Console table, ratios to the Starlette ceiling, and the results JSON file."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .load import LoadResult

TARGET = "understudy"
CEILING = "starlette-ceiling"
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def ratios(server: LoadResult, ceiling: LoadResult | None) -> dict[str, float | None]:
    """understudy/ceiling for req/s (higher is better) and p50/p99 latency (lower is better)."""

    def div(a: float, b: float) -> float | None:
        return round(a / b, 4) if ceiling is not None and b else None

    if ceiling is None:
        return {"rps": None, "p50": None, "p99": None}
    return {
        "rps": div(server.rps, ceiling.rps),
        "p50": div(server.p50_ms, ceiling.p50_ms),
        "p99": div(server.p99_ms, ceiling.p99_ms),
    }


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def render(rows: list[tuple[str, LoadResult, float]], ratio: dict[str, float | None]) -> str:
    """The results table (rich when available, plain text otherwise) and the ratio line."""
    header = ("target", "requests", "errors", "req/s", "p50 ms", "p99 ms", "peak RSS MiB")
    cells = [
        (
            name,
            f"{r.requests:,}",
            f"{r.errors:,}",
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{mib:.1f}",
        )
        for name, r, mib in rows
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
        lines = ["  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True))
                 for row in [header, *cells]]  # fmt: skip
        table_text = "\n".join(lines)
    else:
        table = Table(*header)
        for column in table.columns[1:]:
            column.justify = "right"
        for row in cells:
            table.add_row(*row)
        console = Console(width=100, force_terminal=False, color_system=None)
        with console.capture() as capture:
            console.print(table)
        table_text = capture.get().rstrip()
    if ratio["rps"] is None:
        return table_text + "\nratio: n/a (no ceiling measured)"
    return (
        f"{table_text}\nratio: understudy/ceiling req/s = {_fmt(ratio['rps'], '.2f')}, "
        f"p50 = {_fmt(ratio['p50'], '.2f')}x, p99 = {_fmt(ratio['p99'], '.2f')}x"
    )


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info() -> dict[str, Any]:
    """HEAD commit (None before the first commit) and whether tracked files are modified."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return None


def _wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def machine_info() -> dict[str, Any]:
    """CPU count, Python and key package versions of the machine running the bench."""
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "uvicorn": _version("uvicorn"),
        "starlette": _version("starlette"),
        "fastapi": _version("fastapi"),
        "uvloop": _version("uvloop"),
        "httptools": _version("httptools"),
        "wrk": _wrk_version(),
    }


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user/nice
    return total - idle, total


def cpu_busy_fraction(window_s: float = 1.0) -> float | None:
    """Share of all CPUs busy (any process) during `window_s`, measured before a run."""
    try:
        busy0, total0 = _cpu_times()
        time.sleep(window_s)
        busy1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    return round((busy1 - busy0) / (total1 - total0), 3) if total1 > total0 else None


def redact_url(url: str) -> str:
    """Hide the password in a database URL."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def write_results(path: Path, payload: dict[str, Any]) -> Path:
    """Write the results JSON (pretty, trailing newline) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def utc_now() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")
