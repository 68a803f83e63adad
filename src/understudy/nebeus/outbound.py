"""Outbound HTTP hand-offs (Zendesk, OneSignal) run by timers, never inside a transaction.

A hand-off is a timer. When it is due, the claiming transaction asks the kind's `prepare` what
to send and leases the timer (it stays, due again after LEASE, tagged with a claim token), then
commits. Only then is the HTTP call made, with no transaction open. A second transaction
records the outcome if the timer still carries this claim: success removes it (after `done`
stored what the answer brought), failure postpones it with exponential backoff. A worker that
dies mid-call loses nothing: the lease runs out and the hand-off is tried again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from understudy.core import timers

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # well above the 10 s HTTP timeouts of the calls
MAX_BACKOFF = timedelta(hours=1)
CLAIM = "_claim"
ATTEMPT = "_attempt"


@dataclass(frozen=True)
class Job:
    """One HTTP call to make after commit, and how to record its answer."""

    send: Callable[[], Any]  # raises on failure
    done: Callable[[Session, Any], None] | None = None  # runs in the recording transaction


class Prepare(Protocol):
    """What a due hand-off should send (inside the claiming transaction); None = nothing."""

    def __call__(
        self, session: Session, *, key: str, payload: dict[str, Any], now: datetime
    ) -> Job | None: ...


def handoff(kind: str) -> Callable[[Prepare], Prepare]:
    """Decorator registering `prepare` as the timer handler of an outbound hand-off kind."""

    def register(prepare: Prepare) -> Prepare:
        @timers.handler(kind)
        def claim(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
            job = prepare(session, key=key, payload=_plain(payload), now=now)
            if job is None:
                return  # the timer row is already gone
            token = secrets.token_hex(8)
            attempt = int(payload.get(ATTEMPT, 0)) + 1
            leased = payload | {CLAIM: token, ATTEMPT: attempt}
            timers.schedule(session, kind=kind, key=key, due_at=now + LEASE, payload=leased)
            engine = session.get_bind()
            assert isinstance(engine, Engine)

            delivered = False

            def after_commit(committed: Session) -> None:
                nonlocal delivered
                # Releasing a savepoint fires after_commit too: wait for the transaction itself.
                if delivered or committed.get_nested_transaction() is not None:
                    return
                delivered = True
                _deliver(engine, kind=kind, key=key, token=token, job=job, claimed_at=now)

            event.listen(session, "after_commit", after_commit)

        return prepare

    return register


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in (CLAIM, ATTEMPT)}


def _deliver(
    engine: Engine, *, kind: str, key: str, token: str, job: Job, claimed_at: datetime
) -> None:
    """Make the call (no transaction open), then record its outcome in a new transaction."""
    answer: Any = None
    error: str | None = None
    try:
        answer = job.send()
    except Exception as exc:  # any failure of the remote side is retried later
        error = f"{type(exc).__name__}: {exc}"
        log.warning("%s %s failed: %s", kind, key, error)
    try:
        with Session(engine) as session, session.begin():
            row = timers.pending(session, kind=kind, key=key)
            if row is None or (row.payload or {}).get(CLAIM) != token:
                return  # wiped or re-scheduled meanwhile: the newer timer decides
            if error is None:
                if job.done is not None:
                    job.done(session, answer)
                session.delete(row)
                return
            attempt = int((row.payload or {}).get(ATTEMPT, 1))
            row.attempts = attempt
            row.last_error = error[:2000]
            row.due_at = claimed_at + min(timedelta(seconds=2**attempt), MAX_BACKOFF)
    except Exception:  # the lease stays: the hand-off is tried again when it runs out
        log.exception("%s %s: could not record the outcome", kind, key)
