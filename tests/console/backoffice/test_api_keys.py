"""API keys in the console (the seed's Menu > API): generated once, listed by prefix, revoked."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import select

from tests.console.backoffice.conftest import audited, field_errors, post
from understudy.backoffice import keys
from understudy.backoffice.models import ApiKey
from understudy.context import AppContext

PAGE = "/admin/backoffice/api-keys"
SECRET = re.compile(r'value="([0-9a-f]{40})" readonly id="modal-secret-value"')


async def login(client: httpx.AsyncClient, key: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/login",
        data={"username": "admin", "password": password},
        headers={"x-api-key": key},
    )


async def generate(client: httpx.AsyncClient, label: str = "mobile app") -> str:
    answer = await post(client, PAGE, {"label": label})
    assert answer.status_code == 200, answer.text
    found = SECRET.search(answer.text)
    assert found is not None, "the key is shown in the one-time modal"
    assert answer.headers["cache-control"].startswith("no-store")
    return found.group(1)


async def test_a_generated_key_is_shown_once_and_logs_in(
    signed_in: httpx.AsyncClient, ctx: AppContext, admin_pw: str
) -> None:
    key = await generate(signed_in)
    assert (await login(signed_in, key, admin_pw)).status_code == 200
    listed = await signed_in.get(PAGE)
    assert key not in listed.text and "modal-secret-value" not in listed.text
    assert f"<code>{key[: keys.PREFIX_LENGTH]}…</code>" in listed.text
    assert "mobile app" in listed.text
    with ctx.db.read() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.label == "mobile app")).one()
        assert row.digest == keys.digest(key) and key not in (row.prefix, row.digest)
    (entry,) = audited(ctx, "backoffice.api_key_create")
    assert key not in entry.details and json.loads(entry.details)["key_id"] == row.id


async def test_a_revoked_key_fails_like_a_wrong_one(
    signed_in: httpx.AsyncClient, ctx: AppContext, admin_pw: str
) -> None:
    key = await generate(signed_in)
    with ctx.db.read() as session:
        key_id = session.scalars(select(ApiKey.id).where(ApiKey.digest == keys.digest(key))).one()
    answer = await post(signed_in, f"{PAGE}/{key_id}/revoke")
    assert answer.status_code == 303
    refused = await login(signed_in, key, admin_pw)
    assert refused.status_code == 403
    assert refused.json() == {"error": "The API Key is not valid."}
    assert len(audited(ctx, "backoffice.api_key_revoke")) == 1
    page = await signed_in.get(PAGE)
    assert f'data-key-id="{key_id}" data-state="revoked"' in page.text
    # Revoking again is refused on the page, and audits nothing.
    again = await post(signed_in, f"{PAGE}/{key_id}/revoke")
    assert again.status_code == 400 and f"No active API key {key_id}." in again.text
    assert len(audited(ctx, "backoffice.api_key_revoke")) == 1


async def test_a_bad_label_is_refused_next_to_its_field(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    answer = await post(signed_in, PAGE, {"label": "x" * 201})
    assert answer.status_code == 400
    assert field_errors(answer) == ["Field cannot be longer than 200 characters."]
    assert "modal-secret-value" not in answer.text
    with ctx.db.read() as session:
        assert session.scalars(select(ApiKey).where(ApiKey.label.startswith("xxx"))).all() == []
    assert audited(ctx, "backoffice.api_key_create") == []
