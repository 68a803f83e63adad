"""Pure-Python load generator: asyncio, raw HTTP/1.1 keep-alive sockets, no HTTP library."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from .load import LoadResult, LoadSpec
from .scenarios import Request

RECONNECT_PAUSE_S = 0.01
DRAIN_GRACE_S = 5.0


class ProtocolError(Exception):
    """The server's response could not be parsed as HTTP/1.1."""


def encode_request(template: Request, host: str, port: int) -> bytes:
    """Serialize a template to the exact bytes sent on the wire (keep-alive, Content-Length)."""
    body = template.body_bytes()
    lines = [f"{template.method} {template.path} HTTP/1.1", f"Host: {host}:{port}"]
    headers = template.all_headers()
    lines += [f"{key}: {value}" for key, value in headers.items()]
    if body is not None or template.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def read_response(reader: asyncio.StreamReader, method: str) -> tuple[int, bool]:
    """Read one response; return (status, server_keeps_connection_open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {status_line[:80]!r}")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    keep_alive = parts[0] == b"HTTP/1.1"
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = b"close" not in value.lower()
    if method == "HEAD" or status < 200 or status in (204, 304):
        return status, keep_alive
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            await reader.readexactly(size + 2)
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()  # body delimited by connection close
        keep_alive = False
    return status, keep_alive


@dataclass
class _State:
    """Shared counters of one run (single event loop, so no locks)."""

    spec: LoadSpec
    wire: list[tuple[str, bytes]]
    deadline: float
    issued: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    error_kinds: Counter[str] = field(default_factory=Counter)

    def next_request(self) -> tuple[str, bytes] | None:
        """The next request in the global round-robin, or None once a bound is reached."""
        if self.issued >= self.spec.max_requests or time.monotonic() >= self.deadline:
            return None
        item = self.wire[self.issued % len(self.wire)]
        self.issued += 1
        return item


async def _connection(state: _State) -> None:
    """One keep-alive connection issuing requests back to back until a bound is hit."""
    spec = state.spec
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    try:
        while (item := state.next_request()) is not None:
            method, raw = item
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(spec.host, spec.port)
                assert reader is not None
                started = time.perf_counter_ns()
                writer.write(raw)
                status, keep_alive = await read_response(reader, method)
                state.latencies_ns.append(time.perf_counter_ns() - started)
            except (OSError, asyncio.IncompleteReadError, ProtocolError, ValueError) as exc:
                state.error_kinds[type(exc).__name__] += 1
                writer = _close(writer)
                await asyncio.sleep(RECONNECT_PAUSE_S)
                continue
            state.statuses[str(status)] += 1
            if not 200 <= status < 400:
                state.error_kinds[f"http_{status}"] += 1
            if not keep_alive:
                writer = _close(writer)
    finally:
        _close(writer)


def _close(writer: asyncio.StreamWriter | None) -> None:
    """Close a connection without waiting; always returns None."""
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.close()
    return None


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0
    rank = math.ceil(round(fraction * len(sorted_values), 9))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


async def _run(spec: LoadSpec) -> LoadResult:
    wire = [(t.method, encode_request(t, spec.host, spec.port)) for t in spec.cycle]
    started = time.monotonic()
    state = _State(spec=spec, wire=wire, deadline=started + spec.duration_s)
    tasks = [asyncio.create_task(_connection(state)) for _ in range(spec.connections)]
    _done, pending = await asyncio.wait(tasks, timeout=spec.duration_s + DRAIN_GRACE_S)
    for task in pending:  # a request stuck past the grace period counts as an error
        task.cancel()
        state.error_kinds["timeout"] += 1
    if pending:
        await asyncio.wait(pending)
    elapsed = time.monotonic() - started
    latencies = sorted(state.latencies_ns)
    completed = len(latencies)
    return LoadResult(
        generator="python",
        requests=completed,
        errors=sum(state.error_kinds.values()),
        elapsed_s=elapsed,
        rps=completed / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 0.50) / 1e6,
        p99_ms=percentile(latencies, 0.99) / 1e6,
        request_bound_enforced=True,
        error_kinds=dict(state.error_kinds),
        statuses=dict(state.statuses),
        extra={"event_loop": _loop_name()},
    )


def _loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def run_python(spec: LoadSpec) -> LoadResult:
    """Run the load on a fresh event loop (uvloop when installed) and return its result."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(spec))
    return uvloop.run(_run(spec))
