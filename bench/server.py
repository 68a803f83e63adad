"""Real server processes on loopback: start, readiness, peak memory, shutdown (Linux /proc)."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class ServerError(RuntimeError):
    """A server process failed to start, exited early or never became ready."""


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Direct children of `pid` via /proc/<pid>/task/*/children, else a /proc scan."""
    found: list[int] = []
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task.name}/children") as fh:
                found.extend(int(x) for x in fh.read().split())
        return found
    except FileNotFoundError:
        return []
    except OSError:
        pass  # kernel without CONFIG_PROC_CHILDREN: fall back to reading every stat file
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(_children(current))
    return tree


def _status_kib(pid: int, field_name: str) -> int:
    """A `Vm*` field of /proc/<pid>/status in KiB (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field_name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kib(pid: int) -> int:
    """Current resident set size of one process in KiB, from /proc/<pid>/statm."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except OSError:
        return 0


class MemorySampler:
    """Samples the summed RSS of a process tree in a background thread and keeps the maximum."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_kib = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def sample(self) -> int:
        """Take one sample now; return the tree's RSS in KiB."""
        tree = process_tree(self.pid)
        total = sum(_rss_kib(p) for p in tree)
        self.samples += 1
        if total > self.peak_kib:
            self.peak_kib, self.peak_processes = total, len(tree)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def stop(self) -> None:
        """Take a last sample and stop the thread."""
        self.sample()
        self._stop.set()
        self._thread.join(timeout=2)


class ServerProcess:
    """One server (Understudy or the reference app) running as a real process group on loopback."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        port: int,
        log_dir: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.port = port
        self.cwd = cwd
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sampler: MemorySampler | None = None
        self.hwm_sum_kib = 0

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        """Spawn the process in its own session (so Ctrl-C reaches only the bench) and sample it."""
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerError(f"{self.name}: cannot run {self.argv[0]!r}: {exc}") from exc
        self.sampler = MemorySampler(self.proc.pid)
        self.sampler.start()

    def stderr_tail(self, lines: int = 25) -> str:
        """The last lines the process wrote to stderr (and stdout if stderr is empty)."""
        for path in (self.stderr_path, self.stdout_path):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").strip()
                if text:
                    return "\n".join(text.splitlines()[-lines:])
        return "(no output)"

    def wait_ready(self, probe: Callable[[], bool], timeout_s: float = READY_TIMEOUT_S) -> float:
        """Poll `probe` until it returns True; return seconds waited or raise ServerError."""
        assert self.proc is not None
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(
                    f"{self.name} exited with code {code} before becoming ready.\n"
                    f"command: {shlex.join(self.argv)}\n--- output tail ---\n{self.stderr_tail()}"
                )
            with contextlib.suppress(Exception):
                if probe():
                    return time.monotonic() - started
            time.sleep(0.1)
        raise ServerError(
            f"{self.name} not ready after {timeout_s:.0f}s.\n"
            f"command: {shlex.join(self.argv)}\n--- output tail ---\n{self.stderr_tail()}"
        )

    def peak_rss_mib(self) -> float:
        """Peak of the sampled summed RSS of the process tree, in MiB."""
        return (self.sampler.peak_kib if self.sampler else 0) / 1024

    def record_hwm(self) -> None:
        """Sum VmHWM (per-process peak RSS) over the live tree; an upper bound on the tree peak."""
        if self.proc is not None and self.proc.poll() is None:
            self.hwm_sum_kib = sum(_status_kib(p, "VmHWM:") for p in process_tree(self.proc.pid))

    def memory_report(self) -> dict[str, float | int]:
        """Memory figures for the results file."""
        sampler = self.sampler
        return {
            "peak_rss_mib": round(self.peak_rss_mib(), 1),
            "peak_rss_processes": sampler.peak_processes if sampler else 0,
            "rss_samples": sampler.samples if sampler else 0,
            "sum_vmhwm_mib": round(self.hwm_sum_kib / 1024, 1),
        }

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 5 s; idempotent."""
        if self.proc is None:
            return
        self.record_hwm()
        if self.sampler is not None:
            self.sampler.stop()
        proc, self.proc = self.proc, None
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=STOP_GRACE_S)
        # Workers that outlived their parent still carry the group id.
        _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `proc` (it was started in a new session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
