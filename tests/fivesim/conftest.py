"""Fixtures of the fivesim tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from understudy.fivesim.settings import get_settings


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a background thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        thread.join(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@pytest.fixture
def small_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A `--demo` catalogue of 3 countries x 6 products (the full one takes seconds to load)."""
    for name, value in (("COUNTRIES", "3"), ("PRODUCTS", "6"), ("NUMBERS", "5")):
        monkeypatch.setenv(f"UNDERSTUDY_FIVESIM_DEMO_{name}", value)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
