"""Mail outbox: queueing, SMTP URLs, delivery to a real SMTP server, retries and exactly-once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from anyio import to_thread
from sqlalchemy import update

from tests.live_server import free_port
from understudy.context import AppContext
from understudy.core.db import Database
from understudy.core.mail import (
    MAX_ATTEMPTS,
    OutboxMessage,
    SmtpTarget,
    deliver_pending,
    list_mail,
    queue_mail,
)

SENDER = "Understudy <no-reply@understudy.localhost>"
SENDER_ADDRESS = "no-reply@understudy.localhost"
SUBJECT_UTF8 = "Confirmación de registro — Подтверждение регистрации"
BODY_UTF8 = "¡Hola, Íñigo! Su código es 1234.\nЗдравствуйте! Ваш код: 1234.\n"


class RecordingHandler:
    """aiosmtpd handler that accepts every message and keeps its envelope."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.authenticated: list[bool] = []
        self.hold_subject: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        """Record the envelope; hold the reply for the held subject until released."""
        content = envelope.original_content or b""
        subject = message_from_bytes(content, policy=policy.default)["Subject"]
        if self.hold_subject is not None and subject == self.hold_subject:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        self.envelopes.append(envelope)
        self.authenticated.append(bool(session.authenticated))
        return "250 Message accepted for delivery"


class RecordingAuthenticator:
    """aiosmtpd authenticator that accepts any login and remembers the credentials."""

    def __init__(self) -> None:
        self.logins: list[tuple[bytes, bytes]] = []

    def __call__(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """Accept the login and record it."""
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it receives."""

    def __init__(self, port: int | None = None, **smtp_options: Any) -> None:
        self.port = port if port is not None else free_port()
        self.handler = RecordingHandler()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="sink.understudy.test",
            **smtp_options,
        )

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.handler.release.set()
        self.controller.stop()

    @property
    def target(self) -> SmtpTarget:
        """Where deliver_pending should send to reach this sink."""
        return SmtpTarget.parse(f"smtp://127.0.0.1:{self.port}")

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope accepted so far."""
        return list(self.handler.envelopes)

    def messages(self) -> list[EmailMessage]:
        """Every message accepted so far, parsed."""
        return [
            message_from_bytes(
                e.original_content or b"", _class=EmailMessage, policy=policy.default
            )
            for e in self.handler.envelopes
        ]

    def subjects(self) -> list[str]:
        """The Subject of every message accepted so far, in arrival order."""
        return [str(m["Subject"]) for m in self.messages()]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A running SMTP sink, stopped after the test."""
    with SmtpSink() as running:
        yield running


def current_time(ctx: AppContext) -> datetime:
    """The service clock's now."""
    with ctx.db.read() as session:
        return ctx.now(session)


def queue(ctx: AppContext, *, to: str, subject: str, body: str = "body\n") -> int:
    """Queue one message in its own transaction at the current time."""
    with ctx.db.write() as session:
        return queue_mail(session, to=to, subject=subject, body=body, now=ctx.now(session))


def stored(ctx: AppContext, message_id: int) -> OutboxMessage:
    """The outbox row as currently committed."""
    with ctx.db.read() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


# --- outbox ---------------------------------------------------------------------------------


def test_queue_and_list_oldest_first_with_recipient_filter(ctx: AppContext) -> None:
    with ctx.db.write() as session:
        now = ctx.now(session)
        first = queue_mail(session, to="ana@example.com", subject="uno", body="1\n", now=now)
        second = queue_mail(
            session,
            to="boris@example.com",
            subject="два",
            body="2\n",
            now=now + timedelta(seconds=1),
        )
        third = queue_mail(
            session,
            to="ana@example.com",
            subject="tres",
            body="3\n",
            now=now + timedelta(seconds=2),
        )
    assert first < second < third

    with ctx.db.read() as session:
        everything = list_mail(session)
        for_ana = list_mail(session, to="ana@example.com")
        for_nobody = list_mail(session, to="nobody@example.com")

    assert [m.id for m in everything] == [first, second, third]
    assert [m.subject for m in everything] == ["uno", "два", "tres"]
    assert [m.id for m in for_ana] == [first, third]
    assert for_nobody == []
    row = everything[0]
    assert (row.to, row.body, row.queued_at) == ("ana@example.com", "1\n", now)
    assert row.delivered_at is None
    assert row.attempts == 0
    assert row.next_attempt_at == now
    assert row.last_error is None


def test_queued_mail_is_rolled_back_with_its_transaction(ctx: AppContext) -> None:
    with pytest.raises(RuntimeError), ctx.db.write() as session:
        queue_mail(session, to="a@example.com", subject="s", body="b", now=ctx.now(session))
        raise RuntimeError("the service failed after queueing")
    with ctx.db.read() as session:
        assert list_mail(session) == []


# --- SMTP URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, None)),
        ("smtp://mail.example.com:587", ("mail.example.com", 587, None, None, False, None)),
        ("smtps://mail.example.com", ("mail.example.com", 465, None, None, True, False)),
        ("smtps://mail.example.com:2465", ("mail.example.com", 2465, None, None, True, False)),
        ("smtp+plain://127.0.0.1", ("127.0.0.1", 25, None, None, False, False)),
        ("smtp+plain://127.0.0.1:1025", ("127.0.0.1", 1025, None, None, False, False)),
        (
            "smtp://user%40example.com:p%3Ass%2Fw%40rd%25@mail.example.com:587",
            ("mail.example.com", 587, "user@example.com", "p:ss/w@rd%", False, None),
        ),
        (
            "smtps://apikey:s%C3%A9cr%C3%A8t@smtp.example.com",
            ("smtp.example.com", 465, "apikey", "sécrèt", True, False),
        ),
        ("smtp://apikey@mail.example.com", ("mail.example.com", 25, "apikey", None, False, None)),
    ],
)
def test_smtp_url_parsing(url: str, expected: tuple[Any, ...]) -> None:
    target = SmtpTarget.parse(url)
    got = (
        target.host,
        target.port,
        target.username,
        target.password,
        target.use_tls,
        target.start_tls,
    )
    assert got == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "mail.example.com:25",
        "http://mail.example.com",
        "smtp+tls://mail.example.com",
        "mailto:someone@example.com",
        "smtp://",
        "smtp:///no-host",
        "smtp://:587",
    ],
)
def test_smtp_url_rejects_unsupported_schemes_and_missing_hosts(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported SMTP URL"):
        SmtpTarget.parse(url)


@pytest.mark.parametrize("url", ["smtp://mail.example.com:port", "smtp://mail.example.com:70000"])
def test_smtp_url_rejects_bad_ports(url: str) -> None:
    with pytest.raises(ValueError, match=r"[Pp]ort"):
        SmtpTarget.parse(url)


# --- delivery -------------------------------------------------------------------------------


async def test_delivers_utf8_message_to_a_real_smtp_server(ctx: AppContext, sink: SmtpSink) -> None:
    message_id = queue(ctx, to="ivan@example.com", subject=SUBJECT_UTF8, body=BODY_UTF8)
    now = current_time(ctx)

    delivered = await deliver_pending(ctx.db, sink.target, sender=SENDER, now=now)

    assert delivered == 1
    [envelope] = sink.envelopes
    assert envelope.mail_from == SENDER_ADDRESS
    assert envelope.rcpt_tos == ["ivan@example.com"]
    [received] = sink.messages()
    assert received["From"] == SENDER
    assert received["To"] == "ivan@example.com"
    assert received["Subject"] == SUBJECT_UTF8
    assert received["Message-ID"]
    assert received["Date"]
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().replace("\r\n", "\n") == BODY_UTF8

    row = stored(ctx, message_id)
    assert row.delivered_at is not None
    assert row.delivered_at >= now
    assert row.attempts == 1
    assert row.last_error is None
    with ctx.db.read() as session:
        assert [m.id for m in list_mail(session, to="ivan@example.com")] == [message_id]

    assert (
        await deliver_pending(ctx.db, sink.target, sender=SENDER, now=now + timedelta(days=1)) == 0
    )
    assert len(sink.envelopes) == 1


async def test_outbox_only_messages_are_listed_but_never_sent(
    ctx: AppContext, sink: SmtpSink
) -> None:
    with ctx.db.write() as session:
        now = ctx.now(session)
        sms = queue_mail(
            session, to="+34600111222", subject="SMS", body="123456\n", now=now, smtp=False
        )
    mail_id = queue(ctx, to="ana@example.com", subject="by mail")

    later = now + timedelta(days=1)
    assert await deliver_pending(ctx.db, sink.target, sender=SENDER, now=later) == 1
    assert sink.subjects() == ["by mail"]
    row = stored(ctx, sms)
    assert (row.attempts, row.delivered_at, row.next_attempt_at) == (0, None, None)
    assert stored(ctx, mail_id).delivered_at is not None
    with ctx.db.read() as session:
        assert [m.id for m in list_mail(session, to="+34600111222")] == [sms]


async def test_smtp_plain_url_logs_in_with_unescaped_credentials(ctx: AppContext) -> None:
    authenticator = RecordingAuthenticator()
    # AUTH over a plain connection is only for this local test server; AUTH stays optional
    # so aiosmtpd does not warn about requiring it without TLS.
    with SmtpSink(authenticator=authenticator, auth_require_tls=False) as auth_sink:
        target = SmtpTarget.parse(
            f"smtp+plain://mailer%40example.com:p%3Ass%2Fw%40rd@127.0.0.1:{auth_sink.port}"
        )
        queue(ctx, to="ana@example.com", subject="with login")
        delivered = await deliver_pending(ctx.db, target, sender=SENDER, now=current_time(ctx))

    assert delivered == 1
    assert authenticator.logins == [(b"mailer@example.com", b"p:ss/w@rd")]
    assert auth_sink.handler.authenticated == [True]
    assert auth_sink.subjects() == ["with login"]


async def test_failed_delivery_backs_off_then_succeeds_once(ctx: AppContext) -> None:
    port = free_port()  # nothing listens here yet
    target = SmtpTarget.parse(f"smtp://127.0.0.1:{port}")
    message_id = queue(ctx, to="ana@example.com", subject="retry me")
    start = current_time(ctx)

    assert await deliver_pending(ctx.db, target, sender=SENDER, now=start) == 0
    first = stored(ctx, message_id)
    assert first.delivered_at is None
    assert first.attempts == 1
    assert first.last_error is not None
    assert "127.0.0.1" in first.last_error
    assert first.next_attempt_at is not None
    assert first.next_attempt_at >= start + timedelta(seconds=2)

    # Not due yet: nothing is attempted, nothing changes.
    assert await deliver_pending(ctx.db, target, sender=SENDER, now=start) == 0
    assert stored(ctx, message_id).attempts == 1

    # Due again and still failing: the backoff doubles.
    second_try = first.next_attempt_at
    assert await deliver_pending(ctx.db, target, sender=SENDER, now=second_try) == 0
    second = stored(ctx, message_id)
    assert second.attempts == 2
    assert second.next_attempt_at is not None
    assert second.next_attempt_at >= second_try + timedelta(seconds=4)

    with SmtpSink(port=port) as late_sink:
        # The server is back, but the message waits for its retry time.
        assert await deliver_pending(ctx.db, target, sender=SENDER, now=second_try) == 0
        assert late_sink.envelopes == []

        later = second.next_attempt_at + timedelta(seconds=1)
        assert await deliver_pending(ctx.db, target, sender=SENDER, now=later) == 1
        assert await deliver_pending(ctx.db, target, sender=SENDER, now=later) == 0
        assert (
            await deliver_pending(ctx.db, target, sender=SENDER, now=later + timedelta(days=1)) == 0
        )

    assert late_sink.subjects() == ["retry me"]
    done = stored(ctx, message_id)
    assert done.delivered_at is not None
    assert done.delivered_at >= later
    assert done.attempts == 3
    assert done.last_error is None


async def test_concurrent_workers_send_each_message_exactly_once(
    ctx: AppContext, sink: SmtpSink, database_url: str
) -> None:
    subjects = [f"message {n}" for n in range(8)]
    ids = [queue(ctx, to=f"user{n}@example.com", subject=s) for n, s in enumerate(subjects)]
    now = current_time(ctx)
    other_worker = Database(database_url)
    try:
        results = await asyncio.gather(
            deliver_pending(ctx.db, sink.target, sender=SENDER, now=now),
            deliver_pending(other_worker, sink.target, sender=SENDER, now=now),
            deliver_pending(ctx.db, sink.target, sender=SENDER, now=now),
        )
    finally:
        other_worker.dispose()

    assert sum(results) == len(subjects)
    assert sorted(sink.subjects()) == sorted(subjects)
    for message_id in ids:
        row = stored(ctx, message_id)
        assert row.delivered_at is not None
        assert row.attempts == 1


async def test_second_worker_delivers_while_first_is_stuck_on_one_message(
    ctx: AppContext, sink: SmtpSink, database_url: str
) -> None:
    sink.handler.hold_subject = "slow"
    queue(ctx, to="a@example.com", subject="slow")
    queue(ctx, to="b@example.com", subject="next")
    now = current_time(ctx)
    other_worker = Database(database_url)
    try:
        first = asyncio.create_task(deliver_pending(ctx.db, sink.target, sender=SENDER, now=now))
        assert await to_thread.run_sync(sink.handler.holding.wait, 30), "first send never arrived"
        # The first worker has leased only the message it is sending; the next one is free.
        second = await deliver_pending(other_worker, sink.target, sender=SENDER, now=now)
        sink.handler.release.set()
        assert await first == 1
    finally:
        sink.handler.release.set()
        other_worker.dispose()

    assert second == 1
    assert sink.subjects() == ["next", "slow"]


async def test_malformed_message_fails_alone(ctx: AppContext, sink: SmtpSink) -> None:
    bad = queue(ctx, to="a@example.com", subject="line one\nInjected: header")
    good = queue(ctx, to="b@example.com", subject="fine")

    delivered = await deliver_pending(ctx.db, sink.target, sender=SENDER, now=current_time(ctx))

    assert delivered == 1
    assert sink.subjects() == ["fine"]
    assert stored(ctx, good).delivered_at is not None
    failed = stored(ctx, bad)
    assert failed.delivered_at is None
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert failed.last_error.startswith("ValueError")


async def test_messages_out_of_attempts_are_left_alone(ctx: AppContext, sink: SmtpSink) -> None:
    exhausted = queue(ctx, to="a@example.com", subject="given up")
    last_chance = queue(ctx, to="b@example.com", subject="last chance")
    with ctx.db.write() as session:
        for message_id, attempts in ((exhausted, MAX_ATTEMPTS), (last_chance, MAX_ATTEMPTS - 1)):
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(attempts=attempts, last_error="earlier failure")
            )
    later = current_time(ctx) + timedelta(days=30)

    assert await deliver_pending(ctx.db, sink.target, sender=SENDER, now=later) == 1

    assert sink.subjects() == ["last chance"]
    untouched = stored(ctx, exhausted)
    assert untouched.delivered_at is None
    assert untouched.attempts == MAX_ATTEMPTS
    assert untouched.last_error == "earlier failure"
    delivered = stored(ctx, last_chance)
    assert delivered.delivered_at is not None
    assert delivered.attempts == MAX_ATTEMPTS
