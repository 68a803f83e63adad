"""Load run input (LoadSpec) and output (LoadResult), shared by both generators."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from typing import Any

from .scenarios import Request


@dataclass(frozen=True)
class LoadSpec:
    """Target and bounds of one load run; `cycle` is the round-robin order of request templates."""

    host: str
    port: int
    cycle: list[Request]
    duration_s: float
    max_requests: int
    connections: int


@dataclass
class LoadResult:
    """Outcome of one load run. Latencies are in milliseconds."""

    generator: str
    requests: int
    errors: int
    elapsed_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    request_bound_enforced: bool
    error_kinds: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict with rounded figures."""
        data = asdict(self)
        for key in ("elapsed_s", "rps", "p50_ms", "p99_ms"):
            data[key] = round(data[key], 3)
        return data


def resolve_generator(choice: str) -> str:
    """Map auto|wrk|python to the generator that will actually run."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        raise SystemExit(
            "wrk not found on PATH (apt-get install -y wrk), or use --generator python"
        )
    return choice


def run_load(generator: str, spec: LoadSpec) -> LoadResult:
    """Drive `spec` with the named generator ("wrk" or "python")."""
    if generator == "wrk":
        from .loadgen_wrk import run_wrk

        return run_wrk(spec)
    from .loadgen_python import run_python

    return run_python(spec)
