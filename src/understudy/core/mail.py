"""Mail outbox: services queue messages in their transaction; delivery happens after commit.

Without UNDERSTUDY_SMTP_URL, messages stay in the outbox (readable through the control plane).
With it, the sweeper delivers them over SMTP with aiosmtplib and retries failures with backoff.
SMTP URLs: smtp://[user:pass@]host[:port] (STARTTLS when offered), smtps://... (implicit TLS),
smtp+plain://... (never TLS, for local sinks).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import partial
from urllib.parse import unquote, urlsplit

import aiosmtplib
from anyio import fail_after, to_thread
from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
CLAIM_LEASE = timedelta(seconds=60)
SEND_TIMEOUT = 30.0  # seconds for one whole SMTP conversation; must stay well inside CLAIM_LEASE


class OutboxMessage(Base):
    """One e-mail queued by a service."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


def queue_mail(
    session: Session, *, to: str, subject: str, body: str, now: datetime, smtp: bool = True
) -> int:
    """Queue a plain-text message in the caller's transaction; returns its outbox id.

    `smtp=False` keeps it in the outbox only (readable through the control plane, never sent
    over SMTP), e.g. an SMS addressed to a phone number when there is no SMS gateway.
    """
    message = OutboxMessage(
        to=to,
        subject=subject,
        body=body,
        queued_at=now,
        attempts=0,
        next_attempt_at=now if smtp else None,  # never due: the SMTP sweep skips it
    )
    session.add(message)
    session.flush()
    return message.id


def list_mail(session: Session, *, to: str | None = None) -> list[OutboxMessage]:
    """Queued and delivered messages, oldest first, optionally for one recipient."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if to:
        stmt = stmt.where(OutboxMessage.to == to)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to deliver mail, parsed from UNDERSTUDY_SMTP_URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """Parse smtp://, smtps:// or smtp+plain:// URLs."""
        parts = urlsplit(url)
        schemes = {
            "smtp": (False, None, 25),
            "smtps": (True, False, 465),
            "smtp+plain": (False, False, 25),
        }
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(
                f"unsupported SMTP URL {url!r}; use smtp://, smtps:// or smtp+plain://"
            )
        use_tls, start_tls, default_port = schemes[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=start_tls,
        )


def _email(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.queued_at)
    message["Message-ID"] = make_msgid(domain="understudy.localhost")
    message.set_content(row.body)
    return message


def _claim_next(db: Database, *, now: datetime) -> OutboxMessage | None:
    """Lease the oldest due message to this worker so no other worker sends it meanwhile."""
    with db.write() as session:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.attempts < MAX_ATTEMPTS,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(1)
        )
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        row = session.scalar(stmt)
        if row is not None:
            row.attempts += 1
            row.next_attempt_at = now + CLAIM_LEASE
        return row


def _record(db: Database, message_id: int, *, now: datetime, error: str | None) -> bool:
    """Store the outcome of one delivery attempt; True when it counts as a new delivery."""
    with db.write() as session:
        current = session.get(OutboxMessage, message_id)
        if current is None or current.delivered_at is not None:
            return False  # wiped by a reset meanwhile, or already delivered
        if error is None:
            current.delivered_at = now
            current.last_error = None
            return True
        current.last_error = error[:2000]
        current.next_attempt_at = now + timedelta(seconds=min(2**current.attempts, 3600))
        return False


async def deliver_pending(
    db: Database, target: SmtpTarget, *, sender: str, now: datetime, limit: int = 50
) -> int:
    """Send due outbox messages over SMTP; returns how many were delivered.

    A message is marked delivered only after the SMTP server accepted it; a failure schedules
    a retry with exponential backoff (at most MAX_ATTEMPTS tries). Each message is leased just
    before it is sent and one SMTP conversation is bounded well inside the lease, so no other
    worker can pick it up while it is in flight. `now` is the time at the start of the call;
    the time spent sending is added to it as the call goes on.
    """
    delivered = 0
    started = time.monotonic()
    for _ in range(limit):
        moment = now + timedelta(seconds=time.monotonic() - started)
        row = await to_thread.run_sync(partial(_claim_next, db, now=moment))
        if row is None:
            break
        error: str | None = None
        try:
            with fail_after(SEND_TIMEOUT):
                await aiosmtplib.send(
                    _email(row, sender),
                    hostname=target.host,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    use_tls=target.use_tls,
                    start_tls=target.start_tls,
                    timeout=10,
                )
        except Exception as exc:  # any failure (network, SMTP, a malformed message) is per message
            error = f"{type(exc).__name__}: {exc}"
            log.warning("mail %s to %s not delivered: %s", row.id, row.to, error)
        moment = now + timedelta(seconds=time.monotonic() - started)
        if await to_thread.run_sync(partial(_record, db, row.id, now=moment, error=error)):
            delivered += 1
    return delivered
