"""Real `understudy serve` processes on loopback for multi-process tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

COMMAND = Path(sys.executable).parent / "understudy"
READY_TIMEOUT = 180.0  # seconds; workers start slowly on a busy machine


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    """This process's environment without UNDERSTUDY_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERSTUDY_")}
    return env | extra


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT) -> None:
    """Poll /healthz until it answers 200; fail if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL the whole process group (workers included) if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # stray workers of the session started here
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`understudy serve` on a free port until the block ends; yields its base URL.

    The server's output goes to `log_path`; its tail is part of the error when it never
    becomes ready.
    """
    port = free_port()
    command = [COMMAND, "serve", "--workers", str(workers), "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*command, "--db", database_url, *args],
            env=env if env is not None else server_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(base, proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{log_path.read_text()[-3000:]}") from None
        yield base
    finally:
        stop(proc)
