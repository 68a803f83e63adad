"""The console's pages: every menu entry renders, read-only views, the audit log newest first,
no secrets, metrics, schema."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from understudy.console import audit
from understudy.console.models import AuditEntry
from understudy.context import AppContext

VIEWS = ("audit", "operators")
_MENU_LINK = re.compile(r'class="nav-link[^"]*"\s+href="(http://testserver/admin/[^"]+)"')
# Where each service's people are listed and shown (no hashes or tokens may appear there).
PEOPLE_PAGES = (
    "/admin/fivesim/users",
    "/admin/backoffice/members",
    "/admin/backoffice/members/1",  # the seeded root member `admin`
    "/admin/nebeus/users",
)


async def test_every_menu_entry_renders(signed_in: httpx.AsyncClient) -> None:
    index = await signed_in.get("/admin/")
    links = sorted(set(_MENU_LINK.findall(index.text)))
    assert len(links) >= 20, links
    for service in ("fivesim", "backoffice", "nebeus"):
        assert any(f"/admin/{service}/" in link for link in links), service
    for link in links:
        page = await signed_in.get(link)
        assert page.status_code == 200, link


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("fivesim/orders", "order"),
        ("fivesim/users", "user"),
        ("fivesim/vendors", "vendor"),
        ("nebeus/helpdesk", "ticket"),
        ("nebeus/loans", "loan"),
        ("nebeus/users", "user"),
    ],
)
async def test_an_id_that_names_nothing_is_404(
    signed_in: httpx.AsyncClient, path: str, what: str
) -> None:
    for ident in ("999999", "0", str(2**31), "9" * 40):
        answer = await signed_in.get(f"/admin/{path}/{ident}")
        assert answer.status_code == 404, (path, ident)
        assert f"No such {what}." in answer.text, answer.text[-500:]


async def test_every_view_lists_and_is_read_only(signed_in: httpx.AsyncClient) -> None:
    index = await signed_in.get("/admin/")
    assert index.status_code == 200
    for identity in VIEWS:
        assert f"/admin/{identity}/list" in index.text
        page = await signed_in.get(f"/admin/{identity}/list")
        assert page.status_code == 200, identity
        for action in ("create", "edit", "delete", "export", "import"):
            assert f"/admin/{identity}/{action}" not in page.text, (identity, action)
        assert (await signed_in.get(f"/admin/{identity}/create")).status_code in (403, 404)


async def test_a_detail_view_answers_404_to_what_is_not_an_id(
    signed_in: httpx.AsyncClient, operator: int
) -> None:
    for identity in VIEWS:
        for pk in ("abc", "²", "-1", "0", str(2**31), "9" * 40):
            answer = await signed_in.get(f"/admin/{identity}/details/{pk}")
            assert answer.status_code == 404, (identity, pk)
    assert (await signed_in.get(f"/admin/operators/details/{operator}")).status_code == 200


async def test_the_audit_log_is_newest_first(
    signed_in: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    with ctx.db.write() as session:
        audit.record(session, "test.first", operator_id=operator, target="one")
        audit.record(session, "test.second", operator_id=operator, target="two")
    page = await signed_in.get("/admin/audit/list")
    actions = re.findall(r"(login\.success|test\.first|test\.second)", page.text)
    assert actions[:3] == ["test.second", "test.first", "login.success"]
    assert ">Alice<" in page.text.replace(" ", "").replace("\n", "")  # who, by name
    with ctx.db.read() as session:
        newest = max(session.scalars(select(AuditEntry.id)))
    details = await signed_in.get(f"/admin/audit/details/{newest}")
    assert details.status_code == 200 and "test.second" in details.text


async def test_lists_can_be_searched_and_sorted(
    signed_in: httpx.AsyncClient, operator: int
) -> None:
    found = await signed_in.get("/admin/operators/list?search=ali&sortBy=id&sort=desc")
    assert found.status_code == 200 and f"/admin/operators/details/{operator}" in found.text
    missing = await signed_in.get("/admin/operators/list?search=no-such-operator")
    assert missing.status_code == 200
    assert f"/admin/operators/details/{operator}" not in missing.text


async def test_no_password_hash_or_token_is_shown(
    signed_in: httpx.AsyncClient, operator: int
) -> None:
    for path in (f"/admin/operators/details/{operator}", "/admin/operators/list", *PEOPLE_PAGES):
        page = await signed_in.get(path)
        assert page.status_code == 200, path
        text = page.text.lower()
        assert "$argon2" not in text and "password_hash" not in text and "token_hash" not in text


async def test_console_requests_count_as_console_in_metrics(client: httpx.AsyncClient) -> None:
    await client.get("/admin/")
    await client.post("/admin/login")  # refused before routing (no CSRF token)
    metrics = (await client.get("/metrics")).text
    assert 'route="/admin/",service="console",status="302"' in metrics
    assert 'route="/admin",service="console",status="403"' in metrics


async def test_the_console_is_not_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/admin")]


@pytest.mark.parametrize("path", ["/admin", "/admin/nonexistent/list"])
async def test_odd_paths_still_need_a_session(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code in (302, 307)
    assert answer.headers["location"].endswith(("/admin/", "/admin/login"))
