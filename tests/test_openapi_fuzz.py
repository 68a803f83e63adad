"""Fuzz every operation /openapi.json lists: no 5xx, and no answer the document does not describe.

Operations come from the document at collection time, so routes that services add later are
fuzzed with no change here; each operation is its own test, served by that test's `app` fixture,
on whichever database the suite runs on.

The document depends on settings only (enabled services, control plane), so it is read from an app
built with the fixtures' settings but without a database; every test checks that its own app
publishes the same document. (`schemathesis.pytest.from_fixture` would avoid that second app, but
schemathesis 4.32 cannot run it under pytest 9.2: it sets the removed `Node._nodeid`.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import ADMIN, ADMIN_TOKEN
from understudy.app import create_app
from understudy.config import Settings
from understudy.control.auth import PREFIX as CONTROL_PREFIX

# fivesim's per-IP limit (a documented 503) would cut a deeper run short.
pytestmark = pytest.mark.usefixtures("unlimited")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# UNDERSTUDY_FUZZ_EXAMPLES raises the bound for a deeper run, e.g. before a release.
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=int(os.environ.get("UNDERSTUDY_FUZZ_EXAMPLES", "10")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Forward:
    """The one ASGI app schemathesis sees; it hands each request to the current test's app.

    Lifespan events are acknowledged, not forwarded: no background sweeper, as with `app`.
    """

    def __init__(self, target: ASGIApp) -> None:
        self.target = target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "lifespan":
            await self.target(scope, receive, send)
            return
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def document_app() -> FastAPI:
    """An app with the `settings` fixture's settings; it never touches its database."""
    return create_app(
        Settings(
            database_url="sqlite://",
            admin_token=ADMIN_TOKEN,
            smtp_url=None,
            redis_url=None,
            _env_file=None,  # type: ignore[call-arg]
        )
    )


DOCUMENT_APP = document_app()
FORWARD = Forward(DOCUMENT_APP)
schema = schemathesis.openapi.from_asgi("/openapi.json", FORWARD)


@pytest.fixture(autouse=True)
def serve_with_test_app(app: FastAPI) -> Iterator[None]:
    """Route this test's requests to the `app` fixture, after checking it documents the same."""
    assert app.openapi() == DOCUMENT_APP.openapi()
    FORWARD.target = app
    yield
    FORWARD.target = DOCUMENT_APP


def is_control(case: schemathesis.Case) -> bool:
    """Whether the case calls the sandbox control plane."""
    return case.path.startswith(CONTROL_PREFIX + "/")


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=ADMIN if is_control(case) else None, checks=CHECKS)


@schema.include(path_regex=f"^{CONTROL_PREFIX}/").parametrize()
@hypothesis.settings(FUZZ_SETTINGS, max_examples=5)
def test_control_calls_refuse_without_the_admin_token(case: schemathesis.Case) -> None:
    response = case.call_and_validate(checks=CHECKS)
    # Schemathesis also probes undocumented methods; routing answers those first.
    expected = 401 if case.method.upper() == case.operation.method.upper() else 405
    assert response.status_code == expected, response.text


# --- what the fuzzer found, pinned ---------------------------------------------------------------


async def test_a_body_that_is_not_utf8_is_answered_as_documented(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.post("/_test/echo")
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    body, json_type = b"\xff\xfe{", {"content-type": "application/json"}
    control = await client.post("/_understudy/clock", content=body, headers=ADMIN | json_type)
    assert control.status_code == 400
    assert list(control.json()) == ["error"]
    other = await client.post("/_test/echo", content=body, headers=json_type)
    assert other.status_code == 422
    assert other.json()["detail"][0]["type"] == "json_invalid"


async def test_nul_in_the_mail_filter_is_bad_input(client: httpx.AsyncClient) -> None:
    response = await client.get("/_understudy/mail", params={"to": "a\x00b"}, headers=ADMIN)
    assert response.status_code == 400
    assert list(response.json()) == ["error"]
