"""Identity routes on the wire: countries, signup, signin, logout, password reset."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from understudy.nebeus import identity
from understudy.nebeus.jsonrpc import Call, Failure, error, field_error, route
from understudy.nebeus.models import Country
from understudy.nebeus.params import text
from understudy.nebeus.settings import get_settings

STR = {"type": "string"}
INT = {"type": "integer"}
SUCCESS = {"status": "success"}


def _country(country: Country) -> dict[str, Any]:
    return {
        "id": country.id,
        "name": country.name,
        "code": country.code,
        "phone_code": f"+{country.phone_code}" if country.phone_code else False,
    }


@route("/get_countries/1.0/json", auth=False, readonly=True, summary="Active countries")
def get_countries(call: Call) -> list[dict[str, Any]]:
    """Active countries by name with their calling codes."""
    return [_country(c) for c in identity.list_countries(call.db)]


SIGNUP_PARAMS = {
    "login": STR,
    "name": STR,
    "surname": STR,
    "password": STR,
    "confirm_password": STR,
    "country": INT,
    "device_type": INT,
    "identifier": STR,
    "language": STR,
    "timezone": INT,
    "app_version": STR,
    "device_model": STR,
    "device_os": STR,
}


@route("/signup/1.0/json", auth=False, params=SIGNUP_PARAMS, summary="Sign up", slow=True)
def signup(call: Call) -> dict[str, Any]:
    """Create an account (not signed in); per-field errors under `errors`."""
    try:
        identity.signup(call.db, params=call.params, now=call.now)
    except IntegrityError:  # the same login signed up concurrently
        refused = identity.Refused({"email": "User with this email already exists"})
        raise _signup_failure(refused) from None
    except identity.Refused as refused:
        raise _signup_failure(refused) from None
    return dict(SUCCESS)


def _signup_failure(refused: identity.Refused) -> Failure:
    return Failure(
        {
            "status": "error",
            "errors": {
                name: {"field": name, "message": message}
                for name, message in refused.errors.items()
            },
        }
    )


@route(
    "/signin/1.0/json",
    auth=False,
    params={"login": STR, "password": STR},
    summary="Sign in",
    slow=True,
)
def signin(call: Call) -> dict[str, Any]:
    """Open a session (also set as the `session_id` cookie)."""
    found = identity.signin(
        call.db,
        login=call.params.get("login"),
        password=call.params.get("password"),
        now=call.now,
    )
    if found is None:  # an answer, not a raise: the failure counted by signin is committed
        return {"status": "error", "message": "Login or password is incorrect"}
    user, partner = found.user, found.partner
    session_id = call.start_session(user.id)
    return {
        "company_id": 1,
        "db": identity.DB_NAME,
        "session_id": session_id,
        "uid": user.id,
        "name": partner.name,
        "surname": partner.surname,
        "partner_id": partner.id,
        "user_context": {"lang": user.lang, "tz": user.tz, "uid": user.id},
        "username": user.login,
    }


@route("/logout/1.0/json", auth=False, summary="Log out")
def logout(call: Call) -> dict[str, Any]:
    """End the current session, if any, and expire the cookie."""
    call.end_session()
    return dict(SUCCESS)


@route("/reset_password/1.0/json", auth=False, params={"login": STR}, summary="Ask for a reset")
def reset_password(call: Call) -> dict[str, Any]:
    """E-mail a single-use link (24 h) to reset the password."""
    login = text(call.params, "login", field="email", label="Email")
    base = get_settings().public_url or str(call.request.base_url)
    if not identity.request_reset(call.db, login=login, base_url=base, now=call.now):
        raise error("Reset password: invalid username or email")
    return dict(SUCCESS)


@route(
    "/reset_password/confirm/1.0/json",
    auth=False,
    params={"token": STR, "password": STR, "confirm_password": STR},
    summary="Set a new password with a reset token",
    slow=True,
)
def reset_password_confirm(call: Call) -> dict[str, Any]:
    """Set the new password; every session of the user ends."""
    token = call.params.get("token")
    if not isinstance(token, str) or not identity.reset_token_valid(
        call.db, token=token.strip(), now=call.now
    ):
        raise field_error("token", "Token is invalid or has expired")
    problem = identity.password_problem(
        call.params.get("password"), call.params.get("confirm_password")
    )
    if problem:
        raise field_error("password", problem)
    if not identity.confirm_reset(
        call.db, token=token.strip(), password=call.params["password"], now=call.now
    ):
        raise field_error("token", "Token is invalid or has expired")
    return dict(SUCCESS)
