"""The audit log: every console action, written in the transaction of the change it records."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from understudy.console.models import AuditEntry
from understudy.core.clock import wall_now

TARGET_LENGTH = 200


def record(
    session: Session,
    action: str,
    *,
    operator_id: int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add an audit row (real wall-clock time) to the session's transaction."""
    entry = AuditEntry(
        at=wall_now(),
        operator_id=operator_id,
        action=action,
        target=target[:TARGET_LENGTH],
        details=orjson.dumps(details or {}, default=str).decode(),
        ip=ip,
    )
    session.add(entry)
    return entry
