"""The injectable clock: real time plus a sandbox offset, shared by all workers via the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core.db import Base

_CACHE_KEY = "understudy.clock_offset_us"
# Read by nearly every transaction: plain SQL skips building a statement each time.
_READ_OFFSET = text("SELECT offset_us FROM clock_state WHERE id = 1")


class ClockState(Base):
    """Single row holding the sandbox offset in microseconds (absent = no offset)."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_us: Mapped[int] = mapped_column(BigInteger, default=0)


def wall_now() -> datetime:
    """The real current time, aware UTC."""
    return datetime.now(UTC)


class Clock:
    """Current time as the services see it.

    Without the sandbox the offset is always zero and the database is never asked. In the
    sandbox, the offset is read once per transaction (cached on the session), so every worker
    agrees on "now" as soon as an advance commits.
    """

    def __init__(self, *, sandbox: bool) -> None:
        self.sandbox = sandbox

    def offset(self, session: Session) -> timedelta:
        """The sandbox offset as seen by this transaction."""
        if not self.sandbox:
            return timedelta(0)
        cached = session.info.get(_CACHE_KEY)
        if cached is None:
            cached = session.execute(_READ_OFFSET).scalar() or 0
            session.info[_CACHE_KEY] = cached
        return timedelta(microseconds=cached)

    def now(self, session: Session) -> datetime:
        """Current (possibly offset) time, aware UTC."""
        return wall_now() + self.offset(session)

    def advance(self, session: Session, seconds: float) -> datetime:
        """Move the clock forward by seconds (sandbox only) and return the new now."""
        if not self.sandbox:
            raise RuntimeError("the clock can only be moved in the sandbox")
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        delta_us = round(seconds * 1_000_000)
        state = session.get(ClockState, 1, with_for_update=True)
        if state is None:
            state = ClockState(id=1, offset_us=0)
            session.add(state)
        state.offset_us += delta_us
        session.flush()
        session.info[_CACHE_KEY] = state.offset_us
        return self.now(session)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC text with microseconds and a Z suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
