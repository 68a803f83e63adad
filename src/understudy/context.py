"""What every request and command shares: settings, database, clock, rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from understudy.config import Settings
from understudy.core.answer_cache import AnswerCache
from understudy.core.clock import Clock
from understudy.core.db import Database
from understudy.core.ratelimit import RateLimiter


@dataclass
class AppContext:
    """The shared state of one process; the database holds everything that matters."""

    settings: Settings
    db: Database
    clock: Clock
    limiter: RateLimiter = field(repr=False)
    answers: AnswerCache = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        """Open the database and build the kernel objects for these settings."""
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        return cls(
            settings=settings,
            db=db,
            clock=Clock(sandbox=settings.control_plane_enabled),
            limiter=RateLimiter(settings.redis_url),
            answers=AnswerCache(db),
        )

    def now(self, session: Session) -> datetime:
        """The current time as the services see it (sandbox offset included)."""
        return self.clock.now(session)

    def close(self) -> None:
        """Release pooled connections."""
        self.answers.close()
        self.db.dispose()


async def get_context(request: Request) -> AppContext:
    """FastAPI dependency: the application's context."""
    return request.app.state.ctx  # type: ignore[no-any-return]


ContextDep = Annotated[AppContext, Depends(get_context)]
