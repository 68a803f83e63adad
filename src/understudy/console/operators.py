"""Operator accounts: create, change password, disable, list (shared by the CLI and console)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.console import audit
from understudy.console.models import ConsoleOperator
from understudy.core.clock import wall_now
from understudy.core.passwords import hash_password

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class OperatorError(ValueError):
    """A refused operator change; the message is one line for the person at the terminal."""


def username_key(username: str) -> str:
    """The case-insensitive key a username is unique under."""
    return username.strip().casefold()


def check_username(username: str) -> str:
    """The username, stripped, or OperatorError when it is not acceptable."""
    username = username.strip()
    if not _USERNAME.fullmatch(username):
        raise OperatorError(
            "a username is 1-64 characters: letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return username


def check_password(password: str) -> None:
    """Raise OperatorError when the password is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperatorError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise OperatorError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def find(session: Session, username: str) -> ConsoleOperator | None:
    """The operator with this username (any case), if any."""
    return session.scalar(
        select(ConsoleOperator).where(ConsoleOperator.username_key == username_key(username))
    )


def _get(session: Session, username: str) -> ConsoleOperator:
    operator = find(session, username)
    if operator is None:
        raise OperatorError(f"no operator called {username.strip()!r}")
    return operator


def create(session: Session, username: str, password: str) -> ConsoleOperator:
    """A new active operator with this password (audited as a command-line action)."""
    username = check_username(username)
    check_password(password)
    if find(session, username) is not None:
        raise OperatorError(f"an operator called {username!r} already exists")
    now = wall_now()
    operator = ConsoleOperator(
        username=username,
        username_key=username_key(username),
        password_hash=hash_password(password),
        active=True,
        session_version=1,
        created_at=now,
        password_changed_at=now,
    )
    session.add(operator)
    session.flush()
    _record(session, "operator.create", operator)
    return operator


def set_password(session: Session, username: str, password: str) -> ConsoleOperator:
    """Replace the operator's password; every session of theirs ends."""
    check_password(password)
    operator = _get(session, username)
    operator.password_hash = hash_password(password)
    operator.password_changed_at = wall_now()
    operator.session_version += 1
    _record(session, "operator.set_password", operator)
    return operator


def disable(session: Session, username: str) -> ConsoleOperator:
    """Disable the operator; every session of theirs ends (idempotent)."""
    operator = _get(session, username)
    if operator.active:
        operator.active = False
        operator.session_version += 1
        _record(session, "operator.disable", operator)
    return operator


def enable(session: Session, username: str) -> ConsoleOperator:
    """Enable a disabled operator again (idempotent)."""
    operator = _get(session, username)
    if not operator.active:
        operator.active = True
        _record(session, "operator.enable", operator)
    return operator


def _record(session: Session, action: str, operator: ConsoleOperator) -> None:
    """Audit a change to an operator made from the command line (the only place they change)."""
    audit.record(
        session, action, target=operator.username, details={"id": operator.id, "via": "cli"}
    )


def list_all(session: Session) -> list[ConsoleOperator]:
    """Every operator, oldest first."""
    return list(session.scalars(select(ConsoleOperator).order_by(ConsoleOperator.id)))
