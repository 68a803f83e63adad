"""Uploaded resource files: kept in the database (the only state), served under /uploads.

An operator uploads a resource's file in the console; the resource's `file` is the path this
store returns, `/uploads/resource/file/<id>/<name>`, which the API lists as an ASSET_HOST URL
and serves publicly (as Rails serves public/uploads). Types a browser could run as a page are
served as downloads (`application/octet-stream`, attachment).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from understudy.backoffice.models import ResourceFile
from understudy.core.db import parse_id, row_by_id

MAX_BYTES = 10 * 1024 * 1024
PATH = "/uploads/resource/file/{id}/{name}"
# Served inline with their own type; anything else is a download.
INLINE_TYPES = frozenset(
    {
        "application/pdf",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "video/mp4",
        "video/webm",
        "audio/mpeg",
        "text/plain",
    }
)
DOWNLOAD = "application/octet-stream"


class RefusedFile(ValueError):
    """An upload the store does not keep (empty or too large)."""


def safe_name(filename: str) -> str:
    """CarrierWave's sanitized file name (letters, digits, `_.-`), never empty."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base).strip(".")[-120:].strip(".")
    return base or "file"


def served_type(content_type: str) -> str:
    """The type a stored file is served with."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind if kind in INLINE_TYPES else DOWNLOAD


def store(session: Session, *, filename: str, content_type: str, data: bytes, now: datetime) -> str:
    """Keep an uploaded file; returns its path under the asset host (raises RefusedFile)."""
    if not data:
        raise RefusedFile("The file is empty.")
    if len(data) > MAX_BYTES:
        raise RefusedFile(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    row = ResourceFile(
        filename=safe_name(filename),
        content_type=served_type(content_type),
        data=data,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return PATH.format(id=row.id, name=row.filename)


def load(session: Session, *, file_id: str, filename: str) -> ResourceFile | None:
    """The stored file with this id, if this is its name."""
    row = row_by_id(session, ResourceFile, parse_id(file_id))
    return row if row is not None and row.filename == filename else None
