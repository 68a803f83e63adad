"""The command line: database commands, unsafe settings, unusable databases, a real `serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.live_server import free_port, running_server, server_env
from understudy.cli import app
from understudy.core import migrate

runner = CliRunner()


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = {"UNDERSTUDY_ADMIN_TOKEN": "", "UNDERSTUDY_DATABASE_URL": ""}
    result = runner.invoke(app, list(args), env={**base, **(env or {})})
    return result.exit_code, result.output


def test_help_lists_commands() -> None:
    code, out = _run("--help")
    assert code == 0
    for word in ("serve", "db"):
        assert word in out
    code, out = _run("serve", "--help")
    assert code == 0 and "--workers" in out and "--demo" in out


def test_db_upgrade_current_and_verify(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out = _run("db", "current", "--db", url)
    assert code == 0 and "(empty)" in out and "needs `understudy db upgrade`" in out
    code, out = _run("db", "upgrade", "--db", url)
    assert code == 0 and "up to date" in out
    code, out = _run("db", "current", "--db", url)
    assert code == 0 and migrate.head_revision(url) in out and "up to date" in out
    code, out = _run("db", "verify", "--db", url)
    assert code == 0 and "ledger consistent" in out


def test_env_database_url_is_used_and_flag_overrides(tmp_path: Path) -> None:
    env_url = f"sqlite:///{tmp_path / 'env.db'}"
    flag_url = f"sqlite:///{tmp_path / 'flag.db'}"
    _run("db", "upgrade", env={"UNDERSTUDY_DATABASE_URL": env_url})
    assert (tmp_path / "env.db").exists()
    _run("db", "upgrade", "--db", flag_url, env={"UNDERSTUDY_DATABASE_URL": env_url})
    assert (tmp_path / "flag.db").exists()


def _one_error_line(out: str) -> str:
    lines = [line for line in out.strip().splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("error: ")
    return lines[0]


def test_serve_refuses_short_admin_token(tmp_path: Path) -> None:
    code, out = _run(
        "serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", env={"UNDERSTUDY_ADMIN_TOKEN": "short"}
    )
    assert code == 1
    line = _one_error_line(out)
    assert "UNDERSTUDY_ADMIN_TOKEN" in line and "16" in line
    assert not (tmp_path / "x.db").exists()


def test_unknown_service_is_refused() -> None:
    code, out = _run("serve", "--services", "fivesim,bogus")
    assert code == 1
    assert "bogus" in _one_error_line(out)


def test_unreachable_database_is_one_line_with_masked_password() -> None:
    code, out = _run("serve", "--db", "postgresql://someone:s3cret@127.0.0.1:1/nothing")
    assert code == 1
    line = _one_error_line(out)
    assert "postgresql+psycopg://someone:***@127.0.0.1:1/nothing" in line
    assert "s3cret" not in out


def test_unopenable_sqlite_path_is_one_line(tmp_path: Path) -> None:
    code, out = _run("db", "upgrade", "--db", f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert code == 1
    line = _one_error_line(out)
    assert "missing/dir/x.db" in line and "unable to open database file" in line


@pytest.mark.slow
def test_serve_runs_a_real_server_with_demo_banner(tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "understudy"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERSTUDY_")}
    env["COLUMNS"] = "200"
    proc = subprocess.Popen(
        [
            str(exe),
            "serve",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path / 's.db'}",
            "--demo",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, "server never answered:\n" + "".join(lines)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "database": "sqlite"}
        token_lines = [line for line in lines if "Sandbox token:" in line]
        assert token_lines, "".join(lines)
        token = token_lines[0].split("Sandbox token:")[1].strip(" │|\n")
        assert len(token) >= 16
        clock = httpx.get(
            f"http://127.0.0.1:{port}/_understudy/clock",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert clock.status_code == 200 and clock.json()["now"].endswith("Z")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    output = "".join(lines)
    assert "Understudy demo" in output
    assert f"curl http://127.0.0.1:{port}/healthz" in output
    assert f"serving fivesim, nebeus, backoffice on http://127.0.0.1:{port}" in output
    assert not (tmp_path / "understudy.db").exists()  # --db was honoured


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def _ask(sock: socket.socket) -> bytes:
    """Send a keep-alive GET /healthz on `sock` and return the response head and body."""
    sock.sendall(HEALTHZ)
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


@pytest.mark.slow
def test_idle_connections_stay_open_for_the_keep_alive_timeout(tmp_path: Path) -> None:
    """The default outlasts a client's pause (uvicorn's own 5 s would not); the setting applies."""
    db = f"sqlite:///{tmp_path / 'k.db'}"
    short = server_env(UNDERSTUDY_KEEP_ALIVE_TIMEOUT="1")
    with (
        running_server(db, tmp_path / "default.log") as default_base,
        running_server(db, tmp_path / "short.log", env=short) as short_base,
    ):
        ports = [int(base.rsplit(":", 1)[1]) for base in (default_base, short_base)]
        with (
            socket.create_connection(("127.0.0.1", ports[0]), timeout=30) as kept,
            socket.create_connection(("127.0.0.1", ports[1]), timeout=30) as closed,
        ):
            assert _ask(kept).startswith(b"HTTP/1.1 200")
            assert _ask(closed).startswith(b"HTTP/1.1 200")
            assert closed.recv(1) == b""  # the server hangs up after a second, well within 30 s
            time.sleep(6)
            assert _ask(kept).startswith(b"HTTP/1.1 200")
