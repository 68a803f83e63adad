"""Identity (contract §3): countries, signup, signin, logout, password reset."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ADMIN
from tests.nebeus.helpers import PASSWORD, country_id, envelope, new_user, rpc, signup_params
from understudy.app import create_app
from understudy.config import Settings
from understudy.context import AppContext
from understudy.nebeus import push
from understudy.nebeus.models import Device, MoneyAccount, User
from understudy.nebeus.settings import NebeusSettings

SIGNIN = "/signin/1.0/json"
SIGNUP = "/signup/1.0/json"
BAD_LOGIN = {"status": "error", "message": "Login or password is incorrect"}


async def test_countries_are_sorted_by_name_with_phone_codes(client: httpx.AsyncClient) -> None:
    countries = await rpc(client, "/get_countries/1.0/json")
    assert len(countries) > 200
    assert [c["name"] for c in countries] == sorted(c["name"] for c in countries)
    spain = next(c for c in countries if c["code"] == "ES")
    assert list(spain) == ["id", "name", "code", "phone_code"]
    assert (spain["name"], spain["phone_code"]) == ("Spain", "+34")
    assert isinstance(spain["id"], int)
    assert next(c for c in countries if c["code"] == "RU")["phone_code"] == "+7"


async def test_signup_then_signin_answers_the_seed_shape(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    params = signup_params(ctx, "Igor@Example.com", name="Igor", surname="Petrov")
    r = await client.post(SIGNUP, json=[envelope(params)])
    assert r.json() == [{"jsonrpc": "2.0", "id": None, "result": {"status": "success"}}]
    assert "set-cookie" not in r.headers  # signup does not sign in
    result = await rpc(client, SIGNIN, {"login": "IGOR@example.COM", "password": PASSWORD})
    assert list(result) == [
        "company_id",
        "db",
        "session_id",
        "uid",
        "name",
        "surname",
        "partner_id",
        "user_context",
        "username",
    ]
    assert result["company_id"] == 1 and result["db"] == "nebeus"
    assert (result["name"], result["surname"]) == ("Igor", "Petrov")
    assert result["username"] == "igor@example.com"
    assert result["user_context"] == {"lang": "en_US", "tz": "Europe/Madrid", "uid": result["uid"]}
    assert isinstance(result["partner_id"], int)
    with ctx.db.read() as s:
        currencies = s.scalars(
            select(MoneyAccount.currency)
            .where(MoneyAccount.user_id == result["uid"])
            .order_by(MoneyAccount.id)
        ).all()
    assert currencies == ["BTC", "EUR"]


async def test_signup_language_country_zone_and_device(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    params = signup_params(
        ctx,
        "dev@example.com",
        country=country_id(ctx, "RU"),
        language="ru",
        identifier="apns-token-1",
        device_type=0,
        timezone=10800,
        app_version="1.2",
        device_model="iPhone 7",
        device_os="10.3",
    )
    assert await rpc(client, SIGNUP, params) == {"status": "success"}
    result = await rpc(client, SIGNIN, {"login": "dev@example.com", "password": PASSWORD})
    assert result["user_context"]["lang"] == "ru_RU"
    assert result["user_context"]["tz"] == "Europe/Kaliningrad"  # the first zone tzdata lists
    with ctx.db.read() as s:
        device = s.scalars(select(Device)).one()
    assert (device.identifier, device.device_type, device.app_version) == ("apns-token-1", 0, "1.2")
    assert device.player_id is None  # OneSignal is not configured


async def test_signup_reports_every_field_in_the_documented_shape(
    client: httpx.AsyncClient,
) -> None:
    result = await rpc(client, SIGNUP, {})
    assert result == {
        "status": "error",
        "errors": {
            "email": {"field": "email", "message": "Email should be specified"},
            "name": {"field": "name", "message": "Name should be specified"},
            "surname": {"field": "surname", "message": "Surname should be specified"},
            "country": {"field": "country", "message": "Country should be specified"},
            "password": {"field": "password", "message": "Password should be specified"},
        },
    }


async def test_signup_field_rules(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await new_user(client, ctx, "taken@example.com")
    cases = [
        ({"login": "not-an-email"}, "email", "Email is not valid"),
        ({"login": "TAKEN@example.com"}, "email", "User with this email already exists"),
        ({"country": 999999}, "country", "Country not found"),
        ({"country": "abc"}, "country", "Country not found"),
        (
            {"password": "a1", "confirm_password": "a1"},
            "password",
            "Password must be at least 8 characters long",
        ),
        (
            {"password": "pässword1", "confirm_password": "pässword1"},
            "password",
            "Password may contain only Latin letters and digits",
        ),
        (
            {"password": "onlyletters", "confirm_password": "onlyletters"},
            "password",
            "Password must contain both letters and digits",
        ),
        (
            {"password": "12345678", "confirm_password": "12345678"},
            "password",
            "Password must contain both letters and digits",
        ),
        (
            {"confirm_password": "other1234"},
            "password",
            "Passwords do not match; please retype them.",
        ),
    ]
    for extra, field, message in cases:
        params = signup_params(ctx, "new@example.com") | extra
        result = await rpc(client, SIGNUP, params)
        assert result == {
            "status": "error",
            "errors": {field: {"field": field, "message": message}},
        }, extra
    with ctx.db.read() as s:
        assert s.scalar(select(User).where(User.login == "new@example.com")) is None


async def test_signin_refuses_bad_credentials_with_one_message(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await new_user(client, ctx, "who@example.com")
    for params in (
        {"login": "who@example.com", "password": "wrong1234"},
        {"login": "nobody@example.com", "password": PASSWORD},
        {},
        {"login": ["x"], "password": 5},
    ):
        assert await rpc(client, SIGNIN, params) == BAD_LOGIN


async def test_signin_is_throttled_after_ten_failures_on_every_worker_until_time_passes(
    client: httpx.AsyncClient, ctx: AppContext, settings: Settings
) -> None:
    await new_user(client, ctx, "shared@example.com")
    other = AppContext.from_settings(settings)  # a second worker: its own process state
    try:
        transport = httpx.ASGITransport(app=create_app(ctx=other))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
            for worker in (client, second) * 5:
                wrong = {"login": "Shared@example.com", "password": "wrong1234"}
                assert await rpc(worker, SIGNIN, wrong) == BAD_LOGIN
            right = {"login": "shared@example.com", "password": PASSWORD}
            assert await rpc(second, SIGNIN, right) == BAD_LOGIN
            assert await rpc(client, SIGNIN, right) == BAD_LOGIN
            await new_user(client, ctx, "fast@example.com")  # another login is not affected
            await client.post("/_understudy/clock", json={"advance": 15 * 60}, headers=ADMIN)
            assert "session_id" in await rpc(second, SIGNIN, right)
    finally:
        other.close()


async def test_an_inactive_user_cannot_sign_in(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await new_user(client, ctx, "off@example.com")
    with ctx.db.write() as s:
        s.scalars(select(User).where(User.login == "off@example.com")).one().active = False
    assert await rpc(client, SIGNIN, {"login": "off@example.com", "password": PASSWORD}) == (
        BAD_LOGIN
    )


async def test_logout_without_a_session_succeeds(client: httpx.AsyncClient) -> None:
    r = await client.post("/logout/1.0/json", json=[envelope()])
    assert r.json() == [{"jsonrpc": "2.0", "id": None, "result": {"status": "success"}}]


async def _reset_token(client: httpx.AsyncClient, to: str) -> str:
    mail = (await client.get("/_understudy/mail", params={"to": to}, headers=ADMIN)).json()
    body = mail["messages"][-1]["body"]
    match = re.search(r"http://testserver/web/reset_password\?db=nebeus&token=(\S+)", body)
    assert match, body
    return match.group(1)


async def test_password_reset_flow_ends_every_session(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "forgot@example.com")
    assert await rpc(client, "/reset_password/1.0/json", {"login": "Forgot@example.com"}) == {
        "status": "success"
    }
    token = await _reset_token(client, "forgot@example.com")
    confirm = "/reset_password/confirm/1.0/json"
    weak = await rpc(client, confirm, {"token": token, "password": "short1"})
    assert weak == {
        "status": "error",
        "field": "password",
        "message": "Password must be at least 8 characters long",
    }
    new = {"token": token, "password": "newpass99", "confirm_password": "newpass99"}
    assert await rpc(client, confirm, new) == {"status": "success"}
    # single use
    assert await rpc(client, confirm, new) == {
        "status": "error",
        "field": "token",
        "message": "Token is invalid or has expired",
    }
    r = await client.post(f"/accounts/1.0/json?session_id={sid}", json=envelope())
    assert r.json()["error"]["code"] == 100
    assert await rpc(client, SIGNIN, {"login": "forgot@example.com", "password": PASSWORD}) == (
        BAD_LOGIN
    )
    assert "session_id" in await rpc(
        client, SIGNIN, {"login": "forgot@example.com", "password": "newpass99"}
    )


async def test_reset_token_expires_after_a_day(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await new_user(client, ctx, "late@example.com")
    await rpc(client, "/reset_password/1.0/json", {"login": "late@example.com"})
    token = await _reset_token(client, "late@example.com")
    await client.post("/_understudy/clock", json={"advance": 86401}, headers=ADMIN)
    result = await rpc(
        client,
        "/reset_password/confirm/1.0/json",
        {"token": token, "password": "newpass99", "confirm_password": "newpass99"},
    )
    assert result["message"] == "Token is invalid or has expired"


async def test_reset_for_an_unknown_login_is_the_odoo_error(client: httpx.AsyncClient) -> None:
    assert await rpc(client, "/reset_password/1.0/json", {"login": "ghost@example.com"}) == {
        "status": "error",
        "message": "Reset password: invalid username or email",
    }
    assert await rpc(client, "/reset_password/1.0/json", {}) == {
        "status": "error",
        "field": "email",
        "message": "Email should be specified",
    }


async def test_signup_registers_the_device_with_onesignal_when_configured(
    client: httpx.AsyncClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = NebeusSettings(onesignal_app_id="app-1", onesignal_api_key="key-1")
    monkeypatch.setattr(push, "get_settings", lambda: configured)
    calls: list[tuple[str, str, dict[str, Any]]] = []

    def fake(method: str, url: str, *, api_key: str, json: dict[str, Any]) -> dict[str, Any]:
        calls.append((method, url, json))
        return {"success": True, "id": "player-9"}

    monkeypatch.setattr(push, "onesignal_call", fake)
    device = {"identifier": "gcm-1", "device_type": 1, "app_version": "2.0", "language": "es"}
    assert await rpc(client, SIGNUP, signup_params(ctx, "p1@example.com", **device)) == {
        "status": "success"
    }
    await client.post("/_understudy/clock", json={"advance": 1}, headers=ADMIN)
    assert calls == [
        (
            "POST",
            "https://onesignal.com/api/v1/players",
            {
                "app_id": "app-1",
                "identifier": "gcm-1",
                "device_type": 1,
                "language": "es",
                "game_version": "2.0",
            },
        )
    ]
    with ctx.db.read() as s:
        assert s.scalars(select(Device.player_id)).one() == "player-9"
    # the same identifier on another signup updates the known player
    assert await rpc(client, SIGNUP, signup_params(ctx, "p2@example.com", **device)) == {
        "status": "success"
    }
    await client.post("/_understudy/clock", json={"advance": 1}, headers=ADMIN)
    assert calls[-1][:2] == ("PUT", "https://onesignal.com/api/v1/players/player-9")
