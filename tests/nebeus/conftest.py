"""Chat fixtures: two signed-in users, and instant polls (`usefixtures("stop_hub")`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.nebeus.test_chat import Person, make_trio
from understudy.context import AppContext
from understudy.nebeus import chat_bus, chat_live


@pytest.fixture
def pair(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> list[Person]:
    """Two signed-in users (the third of the trio is not needed)."""
    return make_trio(ctx, monkeypatch)[:2]


@pytest.fixture
async def stop_hub(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Polls answer at once; the hub's listeners are stopped afterwards."""
    monkeypatch.setattr(chat_live, "POLL_TIMEOUT", 0.0)
    yield
    await chat_bus.hub_for(app).stop()
