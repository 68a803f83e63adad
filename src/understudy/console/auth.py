"""Operator login and sessions for sqladmin: argon2 passwords, signed cookies, idle and absolute
expiry, server-side revocation by session version, rate-limited and audited logins.
"""

from __future__ import annotations

import logging
import secrets
import time
from functools import lru_cache
from typing import Any

import itsdangerous
from anyio import to_thread
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from understudy.console import audit
from understudy.console.csrf import CsrfMiddleware, ensure_token
from understudy.console.models import ConsoleOperator
from understudy.console.operators import MAX_PASSWORD_LENGTH, username_key
from understudy.console.posted import ClosePostedForms
from understudy.context import AppContext
from understudy.core.instance import get_or_create_secret
from understudy.core.passwords import hash_password, verify_password

log = logging.getLogger(__name__)

SECRET_NAME = "console.session"
COOKIE = "understudy_console"
PATH = "/admin"
TOO_MANY = "Too many login attempts; wait a minute and try again."
# Session keys: operator id, session version, login time, last request time (epoch seconds).
OPERATOR, VERSION, LOGIN_AT, SEEN_AT = "op", "ver", "login", "seen"


def now() -> float:
    """Seconds since the epoch: the clock sessions expire by (tests move it)."""
    return time.time()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown usernames, so they take as long as known ones."""
    return hash_password(secrets.token_hex(16))


def _verify(password: str, stored: str | None) -> tuple[bool, str | None]:
    """verify_password, against a throw-away hash when there is no operator (same cost)."""
    matches, new_hash = verify_password(password, stored or _dummy_hash())
    return stored is not None and matches, new_hash


def client_ip(request: Request) -> str:
    """The peer address (proxies are not trusted)."""
    return request.client.host if request.client else "unknown"


class ConsoleSessionMiddleware(SessionMiddleware):
    """Starlette's signed-cookie sessions, keyed by the instance secret read at first request."""

    def __init__(self, app: ASGIApp, ctx: AppContext, **options: Any) -> None:
        super().__init__(app, secret_key="(read at first request)", **options)
        self._ctx = ctx
        self._keyed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if not self._keyed:
            secret = await self._ctx.db.run_write(
                lambda session: get_or_create_secret(session, SECRET_NAME)[0]
            )
            self.signer = itsdangerous.TimestampSigner(secret)
            self._keyed = True
        await super().__call__(scope, receive, send)


class ConsoleAuth(AuthenticationBackend):
    """sqladmin's authentication hooks on our operators table."""

    def __init__(self, ctx: AppContext) -> None:
        # Not super().__init__: our own session and CSRF middleware replace sqladmin's.
        settings = ctx.settings
        self.ctx = ctx
        self.idle_timeout = settings.console_idle_timeout
        self.lifetime = settings.console_session_lifetime
        self.ip_limit = settings.console_login_limit_ip
        self.user_limit = settings.console_login_limit_user
        self.templates: Any = None  # the admin's templates, set when mounted
        self.middlewares = [
            Middleware(
                ConsoleSessionMiddleware,
                ctx=ctx,
                session_cookie=COOKIE,
                max_age=self.lifetime,
                path=PATH,
                same_site="strict",
                https_only=settings.console_secure_cookies,
            ),
            Middleware(CsrfMiddleware),
            Middleware(ClosePostedForms),
        ]

    async def _login_page(self, request: Request, error: str, status_code: int) -> Response:
        response: Response = await self.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": error}, status_code=status_code
        )
        return response

    async def login(self, request: Request) -> Response | bool:
        """Check the posted credentials; on success start a fresh session."""
        async with request.form() as form:
            username = str(form.get("username") or "").strip()[:64]
            password = str(form.get("password") or "")[:MAX_PASSWORD_LENGTH]
        ip = client_ip(request)
        key = username_key(username)
        limiter = self.ctx.limiter
        if not limiter.hit(self.ip_limit, "console-login-ip", ip) or not limiter.hit(
            self.user_limit, "console-login-user", key
        ):
            log.warning("console login refused by rate limit", extra={"fields": {"ip": ip}})
            return await self._login_page(request, TOO_MANY, 429)

        def lookup(session: Session) -> ConsoleOperator | None:
            return session.scalar(
                select(ConsoleOperator).where(ConsoleOperator.username_key == key)
            )

        operator = await self.ctx.db.run_read(lookup)
        stored = operator.password_hash if operator is not None else None
        matches, new_hash = await to_thread.run_sync(_verify, password, stored)
        success = operator is not None and operator.active and matches

        def remember(session: Session) -> None:
            if success and operator is not None:
                if new_hash is not None:
                    session.execute(
                        update(ConsoleOperator)
                        .where(ConsoleOperator.id == operator.id)
                        .values(password_hash=new_hash)
                    )
                audit.record(
                    session,
                    "login.success",
                    operator_id=operator.id,
                    target=operator.username,
                    ip=ip,
                )
                return
            reason = "unknown" if operator is None else ("disabled" if matches else "password")
            audit.record(
                session,
                "login.failure",
                operator_id=operator.id if operator is not None else None,
                target=username,
                details={"reason": reason},
                ip=ip,
            )

        await self.ctx.db.run_write(remember)
        if not success or operator is None:
            return False
        limiter.clear(self.user_limit, "console-login-user", key)
        moment = now()
        request.session.clear()  # no fixation: a new session (and CSRF token) on login
        request.session.update(
            {
                OPERATOR: operator.id,
                VERSION: operator.session_version,
                LOGIN_AT: moment,
                SEEN_AT: moment,
            }
        )
        ensure_token(request.session)
        return True

    async def logout(self, request: Request) -> Response | bool:
        """End the session and revoke every other cookie of this operator."""
        operator_id = request.session.get(OPERATOR)
        if isinstance(operator_id, int) and await self.authenticate(request):
            ip = client_ip(request)

            def revoke(session: Session) -> None:
                session.execute(
                    update(ConsoleOperator)
                    .where(ConsoleOperator.id == operator_id)
                    .values(session_version=ConsoleOperator.session_version + 1)
                )
                audit.record(session, "logout", operator_id=operator_id, ip=ip)

            await self.ctx.db.run_write(revoke)
        request.session.clear()
        return RedirectResponse(request.url_for("admin:login"), status_code=302)

    async def authenticate(self, request: Request) -> bool:
        """True for a live session of an active operator whose version still matches."""
        session = request.session
        operator_id = session.get(OPERATOR)
        if not isinstance(operator_id, int):
            return False
        moment = now()
        login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
        if (
            not isinstance(login_at, int | float)
            or not isinstance(seen_at, int | float)
            or moment - login_at > self.lifetime
            or moment - seen_at > self.idle_timeout
        ):
            session.clear()
            return False

        def state(db_session: Session) -> tuple[bool, int] | None:
            row = db_session.execute(
                select(ConsoleOperator.active, ConsoleOperator.session_version).where(
                    ConsoleOperator.id == operator_id
                )
            ).first()
            return None if row is None else (row[0], row[1])

        found = await self.ctx.db.run_read(state)
        if found is None or not found[0] or found[1] != session.get(VERSION):
            session.clear()
            return False
        session[SEEN_AT] = moment
        return True

    async def get_user_id(self, request: Request) -> Any:
        """The signed-in operator's id."""
        return request.session.get(OPERATOR)
