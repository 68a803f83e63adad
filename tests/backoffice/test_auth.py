"""The auth chain (x-api-key, then jwt-token) and POST /login."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt

from tests.backoffice.conftest import create
from tests.conftest import ADMIN
from understudy.backoffice.auth import jwt_secret
from understudy.context import AppContext

PROTECTED = "/api/v1/legs"


def b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(ctx: AppContext, payload: dict[str, object], key: str | None = None) -> str:
    with ctx.db.read() as session:
        secret = key or jwt_secret(session)
    return jwt.encode(payload, secret, algorithm="HS256", headers={"typ": "JWT"})


def future() -> int:
    return int((datetime.now(UTC) + timedelta(hours=1)).timestamp())


async def expect(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, error: str
) -> None:
    r = await client.get(PROTECTED, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {"error": error}


async def test_api_key_missing_blank_unknown_or_revoked(
    client: httpx.AsyncClient, api_key: str, token: str
) -> None:
    bad = "The API Key is not valid."
    await expect(client, {"jwt-token": token}, 403, bad)
    await expect(client, {"x-api-key": "  ", "jwt-token": token}, 403, bad)
    await expect(client, {"x-api-key": "f" * 40, "jwt-token": token}, 403, bad)
    r = await client.request(
        "DELETE", "/_understudy/backoffice/api-keys", json={"key": api_key}, headers=ADMIN
    )
    assert r.json() == {"status": "ok"}
    await expect(client, {"x-api-key": api_key, "jwt-token": token}, 403, bad)


async def test_jwt_chain_in_order(client: httpx.AsyncClient, ctx: AppContext, api_key: str) -> None:
    key = {"x-api-key": api_key}
    await expect(client, key, 403, "Nil JSON web token.")
    await expect(client, key | {"jwt-token": " "}, 403, "Nil JSON web token.")
    await expect(client, key | {"jwt-token": "a.b"}, 401, "Not enough or too many segments")
    await expect(client, key | {"jwt-token": "a.b.c.d"}, 401, "Not enough or too many segments")
    await expect(client, key | {"jwt-token": "!!.??.x"}, 401, "Invalid segment encoding")
    hs512 = jwt.encode({"user_id": 1, "exp": future()}, "k" * 64, algorithm="HS512")
    await expect(client, key | {"jwt-token": hs512}, 401, "Expected a different algorithm")
    forged = signed(ctx, {"user_id": 1, "exp": future()}, key="x" * 64)
    await expect(client, key | {"jwt-token": forged}, 401, "Signature verification raised")
    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    tampered_expired = signed(ctx, {"user_id": 1, "exp": past}, key="x" * 64)
    await expect(
        client, key | {"jwt-token": tampered_expired}, 401, "Signature verification raised"
    )
    await expect(
        client,
        key | {"jwt-token": signed(ctx, {"user_id": 1, "exp": past})},
        401,
        "Signature has expired",
    )
    await expect(
        client, key | {"jwt-token": signed(ctx, {"user_id": 1})}, 401, "Signature has expired"
    )
    await expect(
        client,
        key | {"jwt-token": signed(ctx, {"user_id": 77, "exp": future()})},
        401,
        "Couldn't find User with 'id'=77",
    )
    await expect(
        client,
        key | {"jwt-token": signed(ctx, {"exp": future()})},
        401,
        "Couldn't find User without an ID",
    )
    r = await client.get(
        PROTECTED, headers=key | {"jwt-token": signed(ctx, {"user_id": 1, "exp": future()})}
    )
    assert r.status_code == 200


async def test_token_expires_with_the_sandbox_clock(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert (await client.get(PROTECTED, headers=auth)).status_code == 200
    r = await client.post("/_understudy/clock", json={"advance": 24 * 3600}, headers=ADMIN)
    assert r.status_code == 200
    await expect(client, auth, 401, "Signature has expired")


async def test_login_answer(
    client: httpx.AsyncClient, ctx: AppContext, api_key: str, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="orivera04")
    r = await client.post(
        "/api/v1/login/",
        data={"username": "ORIVERA04", "password": "abcd1234"},
        headers={"x-api-key": api_key},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["token", "exp", "id", "username", "sponsor", "referral_link"]
    assert body["id"] == 2 and body["username"] == "orivera04" and body["sponsor"] == "admin"
    assert body["referral_link"] == "wwww.demo.com/orivera04"
    header, payload, _ = body["token"].split(".")
    assert header == "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert list(claims) == ["user_id", "exp"] and claims["user_id"] == 2
    exp = datetime.fromtimestamp(claims["exp"], UTC)
    assert body["exp"] == exp.strftime("%m-%d-%Y %H:%M")
    with ctx.db.read() as session:
        assert exp - ctx.now(session) <= timedelta(hours=24)
        assert exp - ctx.now(session) > timedelta(hours=23, minutes=59)
    r = await client.get(
        "/api/v1/users/2", headers={"x-api-key": api_key, "jwt-token": body["token"]}
    )
    assert r.status_code == 200


async def test_seed_token_shape(ctx: AppContext) -> None:
    """The seed token's first two segments come out byte for byte."""
    token = jwt.encode(
        {"user_id": 6, "exp": 1658249173},
        "s" * 32,
        algorithm="HS256",
        headers={"typ": "JWT"},
        sort_headers=False,
    )
    assert token.startswith(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo2LCJleHAiOjE2NTgyNDkxNzN9."
    )


async def test_login_admin_has_no_sponsor(
    client: httpx.AsyncClient, api_key: str, admin_pw: str
) -> None:
    r = await client.post(
        "/api/v1/login.json",
        json={"username": "admin", "password": admin_pw},
        headers={"x-api-key": api_key},
    )
    assert r.status_code == 200
    assert r.json()["sponsor"] is None and r.json()["id"] == 1


async def test_login_blank_is_422(client: httpx.AsyncClient, api_key: str) -> None:
    cases: list[tuple[dict[str, str], dict[str, list[str]]]] = [
        ({}, {"username": ["can't be blank"], "password": ["can't be blank"]}),
        ({"username": "admin", "password": " "}, {"password": ["can't be blank"]}),
        ({"password": "x"}, {"username": ["can't be blank"]}),
    ]
    for form, errors in cases:
        r = await client.post("/api/v1/login", data=form, headers={"x-api-key": api_key})
        assert r.status_code == 422
        assert r.content == json.dumps({"errors": errors}, separators=(",", ":")).encode()


async def test_login_wrong_password_or_user_is_401(client: httpx.AsyncClient, api_key: str) -> None:
    for form in (
        {"username": "admin", "password": "nope-nope"},
        {"username": "x", "password": "y"},
    ):
        r = await client.post("/api/v1/login", data=form, headers={"x-api-key": api_key})
        assert r.status_code == 401
        assert r.json() == {"error": "Invalid username or password."}


async def test_login_needs_only_the_key(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/login", data={"username": "admin", "password": "x"})
    assert r.status_code == 403
    assert r.json() == {"error": "The API Key is not valid."}
