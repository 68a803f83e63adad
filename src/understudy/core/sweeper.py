"""The background loop inside the server: runs due timers and delivers queued mail."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import anyio
from anyio import CancelScope, to_thread

from understudy.core.clock import Clock
from understudy.core.db import Database
from understudy.core.mail import SmtpTarget, deliver_pending
from understudy.core.timers import run_due

log = logging.getLogger(__name__)


class Sweeper:
    """Periodically claims due work; safe to run in every worker at once."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        interval: float,
        batch: int,
        smtp: SmtpTarget | None = None,
        sender: str = "",
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.smtp = smtp
        self.sender = sender
        self._task: asyncio.Task[None] | None = None
        self._scope: CancelScope | None = None

    async def sweep_once(self) -> int:
        """Run one round: due timers (in a thread), then mail; returns timers run."""
        ran = await to_thread.run_sync(lambda: run_due(self.db, self.clock.now, limit=self.batch))
        if self.smtp is not None:
            now = await to_thread.run_sync(self._now)
            await deliver_pending(self.db, self.smtp, sender=self.sender, now=now, limit=self.batch)
        return ran

    def _now(self) -> datetime:
        """The current (sandbox) time, read in a short transaction off the event loop."""
        with self.db.read() as session:
            return self.clock.now(session)

    async def _loop(self, scope: CancelScope) -> None:
        # stop() cancels this anyio scope, not the task: the cancellation waits for a database
        # call running in a worker thread instead of abandoning it mid-transaction, and it is
        # re-delivered until the loop has left the scope, so one swallowed on the way (Python
        # 3.11's asyncio.wait_for, used by aiosmtplib, can do that) does not keep it running.
        with scope:
            while True:
                try:
                    ran = await self.sweep_once()
                except Exception:
                    log.exception("sweep failed")
                    ran = 0
                if ran < self.batch:  # caught up: wait; otherwise keep draining
                    await anyio.sleep(self.interval)

    def start(self) -> None:
        """Start the loop on the running event loop."""
        if self._task is None:
            self._scope = CancelScope()
            self._task = asyncio.get_running_loop().create_task(
                self._loop(self._scope), name="sweeper"
            )

    async def stop(self) -> None:
        """Stop the loop and wait for it to end; a no-op when it is not running."""
        task, scope = self._task, self._scope
        if task is None or scope is None:
            return
        scope.cancel()
        await asyncio.wait({task})
        if self._task is task:
            self._task = self._scope = None
        if not task.cancelled() and task.exception() is not None:
            log.error("sweeper loop ended with an error", exc_info=task.exception())
