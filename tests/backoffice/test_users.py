"""Members: GET/POST/PUT /users and the mailed security token of POST /tokens."""

from __future__ import annotations

import json
import re

import httpx

from tests.backoffice.conftest import assert_ledger_sound, create, member_id, signup
from tests.conftest import ADMIN
from understudy.context import AppContext


def compact(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def test_get_user_golden_shape(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create(client, auth, user_name="orivera05", first_name="Óscar", country_code="NI")
    r = await client.get("/api/v1/users/2", headers=auth)
    assert r.status_code == 200
    assert r.content == compact(
        {
            "first_name": "Óscar",
            "last_name": "Rivera Moreira",
            "email": "orivera05@example.com",
            "country_code": "NI",
            "username": "orivera05",
            "mobile": "87501549",
            "default_leg": "left",
            "language": "en",
            "profile_image": "http://testserver/assets/user-icon-white.svg",
            "matrix_on": False,
            "request_token_on_edit": False,
        }
    )


async def test_get_unknown_user(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for user in ("999", "abc", "0", "-1", "99999999999999", "²", "9" * 5000):
        r = await client.get(f"/api/v1/users/{user}", headers=auth)
        assert (r.status_code, r.content) == (404, b'{"error":"User not found."}'), user


async def test_create_presence_is_422_in_order(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.post("/api/v1/users", data={"mobile": "1", "first_name": " "}, headers=auth)
    assert r.status_code == 422
    assert r.content == compact(
        {
            "errors": {
                "sponsor": ["can't be blank"],
                "first_name": ["can't be blank"],
                "last_name": ["can't be blank"],
                "email": ["can't be blank"],
                "user_name": ["can't be blank"],
                "password": ["can't be blank"],
                "country_code": ["can't be blank"],
            }
        }
    )


async def test_create_details_are_400_in_order(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="orivera11", email="riveramoreira05@gmail.com")
    form = signup(
        user_name="ORIVERA11",
        email="RiveraMoreira05@gmail.com",
        country_code="XX",
        password="abc",
        sponsor="nobody",
        plan="Gold",
    )
    r = await client.post("/api/v1/users", data=form, headers=auth)
    assert r.status_code == 400
    assert r.content == compact(
        {
            "error": "The data is invalid.",
            "details": {
                "user_name": ["has already been taken"],
                "email": ["has already been taken"],
                "country_code": ["is not included in the list"],
                "password": ["is too short (minimum is 6 characters)"],
                "sponsor": ["must exist"],
                "plan": ["is not included in the list"],
            },
        }
    )
    r = await client.post("/api/v1/users", data=signup(user_name="a b", email="nope"), headers=auth)
    assert r.json()["details"] == {"user_name": ["is invalid"], "email": ["is invalid"]}


async def test_create_under_a_member_sponsor(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="first")
    await create(client, auth, user_name="second", sponsor="FIRST")
    r = await client.get(f"/api/v1/users/{member_id(ctx, 'second')}", headers=auth)
    assert r.json()["username"] == "second"


async def test_paid_plan_needs_the_sponsors_purchase_wallet(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/users", data=signup(user_name="buyer", plan="Entrepreneur"), headers=auth
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "The data is invalid.",
        "details": {"plan": ["exceeds the sponsor's balance"]},
    }
    assert_ledger_sound(ctx)


async def test_update_user(client: httpx.AsyncClient, auth: dict[str, str], api_key: str) -> None:
    await create(client, auth, user_name="yubelkis")
    r = await client.put(
        "/api/v1/users/2",
        files={
            "first_name": (None, "Yubelkis"),
            "last_name": (None, "Rivera"),
            "email": (None, "sdasdsa@gma.com"),
            "locale": (None, "US"),
            "mobile": (None, "88888888"),
            "default_leg": (None, "binary_tank"),
            "language": (None, "enasdsadsdsa"),
            "country_code": (None, "NI"),
            "password": (None, "newpass1"),
            "token": (None, "ignored-when-off"),
        },
        headers=auth,
    )
    assert (r.status_code, r.content) == (200, b'{"message":"User updated successfully."}')
    body = (await client.get("/api/v1/users/2", headers=auth)).json()
    assert body["first_name"] == "Yubelkis" and body["email"] == "sdasdsa@gma.com"
    assert body["default_leg"] == "binary_tank" and body["language"] == "enasdsadsdsa"
    assert body["country_code"] == "NI" and body["mobile"] == "88888888"
    login = await client.post(
        "/api/v1/login",
        data={"username": "yubelkis", "password": "newpass1"},
        headers={"x-api-key": api_key},
    )
    assert login.status_code == 200
    r = await client.put("/api/v1/users/2", data={"locale": "es", "password": ""}, headers=auth)
    assert r.status_code == 200
    assert (await client.get("/api/v1/users/2", headers=auth)).json()["language"] == "es"


async def test_update_validation(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create(client, auth, user_name="one")
    await create(client, auth, user_name="two")
    r = await client.put(
        "/api/v1/users/3",
        data={
            "first_name": "",
            "mobile": " ",
            "email": "ONE@example.com",
            "country_code": "ZZ",
            "default_leg": "up",
            "password": "short",
        },
        headers=auth,
    )
    assert r.status_code == 400
    assert r.content == compact(
        {
            "error": "The data is invalid.",
            "details": {
                "first_name": ["can't be blank"],
                "email": ["has already been taken"],
                "mobile": ["can't be blank"],
                "country_code": ["is not included in the list"],
                "default_leg": ["is not included in the list"],
                "password": ["is too short (minimum is 6 characters)"],
            },
        }
    )
    r = await client.put("/api/v1/users/42", data={"first_name": "x"}, headers=auth)
    assert (r.status_code, r.json()) == (404, {"error": "User not found."})


async def test_security_token_flow(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create(client, auth, user_name="guarded", email="guarded@example.com")
    r = await client.post(
        "/_understudy/backoffice/settings",
        json={"username": "guarded", "request_token_on_edit": True},
        headers=ADMIN,
    )
    assert r.status_code == 200
    failed = {"error": "Security token validation failed.", "detail": "Token is not valid!"}
    r = await client.put("/api/v1/users/2", data={"first_name": "New"}, headers=auth)
    assert (r.status_code, r.json()) == (400, failed)

    r = await client.post("/api/v1/tokens", data={"user_id": "2"}, headers=auth)
    assert r.json() == {"message": "A token was sent to you email. It expires in 1 hour."}
    mail = (await client.get("/_understudy/mail?to=guarded@example.com", headers=ADMIN)).json()
    found = re.search(r"\b([0-9a-f]{20})\b", mail["messages"][-1]["body"])
    assert found
    token = found.group(1)

    r = await client.put(
        "/api/v1/users/2", data={"first_name": "New", "token": "0" * 20}, headers=auth
    )
    assert (r.status_code, r.json()) == (400, failed)
    # A validation failure leaves the token usable.
    r = await client.put(
        "/api/v1/users/2", data={"country_code": "ZZ", "token": token}, headers=auth
    )
    assert r.status_code == 400 and r.json()["error"] == "The data is invalid."
    r = await client.put(
        "/api/v1/users/2", data={"first_name": "New", "token": token}, headers=auth
    )
    assert r.status_code == 200
    r = await client.put(
        "/api/v1/users/2", data={"first_name": "Again", "token": token}, headers=auth
    )
    assert (r.status_code, r.json()) == (400, failed)


async def test_security_token_expires_and_is_replaced(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="guarded", email="guarded@example.com")
    await client.post(
        "/_understudy/backoffice/settings",
        json={"username": "guarded", "request_token_on_edit": True},
        headers=ADMIN,
    )
    tokens = []
    for _ in range(2):
        await client.post("/api/v1/tokens", data={"user_id": "2"}, headers=auth)
        mail = (await client.get("/_understudy/mail", headers=ADMIN)).json()["messages"]
        found = re.search(r"\b([0-9a-f]{20})\b", mail[-1]["body"])
        assert found
        tokens.append(found.group(1))
    r = await client.put(
        "/api/v1/users/2", data={"first_name": "x", "token": tokens[0]}, headers=auth
    )
    assert r.status_code == 400
    await client.post("/_understudy/clock", json={"advance": 3600}, headers=ADMIN)
    r = await client.put(
        "/api/v1/users/2", data={"first_name": "x", "token": tokens[1]}, headers=auth
    )
    assert r.status_code == 400 and r.json()["detail"] == "Token is not valid!"


async def test_token_for_unknown_user(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for form in ({}, {"user_id": ""}, {"user_id": "77"}, {"user_id": "x"}):
        r = await client.post("/api/v1/tokens", data=form, headers=auth)
        assert (r.status_code, r.json()) == (404, {"error": "User not found."})
