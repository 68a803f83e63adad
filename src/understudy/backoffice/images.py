"""Profile pictures: checked with Pillow, stored in the database, served under /uploads."""

from __future__ import annotations

import io
import re
import warnings
from datetime import datetime

from PIL import Image
from sqlalchemy.orm import Session

from understudy.backoffice.models import Member, ProfileImage
from understudy.backoffice.wire import MAX_UPLOAD, Upload
from understudy.core.db import parse_id, row_by_id

MAX_BYTES = MAX_UPLOAD
TOO_BIG = "File size should be less than 5 MB"
UNPROCESSABLE = "failed to be processed"
TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


def check(upload: Upload) -> tuple[str | None, str | None]:
    """(error message, content type): CarrierWave's size check, then decoding with Pillow."""
    if len(upload.data) > MAX_BYTES:
        return TOO_BIG, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as image:
                kind = image.format or ""
                image.verify()
    except Exception:
        return UNPROCESSABLE, None
    if kind not in TYPES:
        return UNPROCESSABLE, None
    return None, kind


def safe_name(filename: str, kind: str) -> str:
    """CarrierWave's sanitized file name, with an extension that matches the content."""
    base = filename.replace("\\\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base).strip(".") or "image"
    stem = base.rsplit(".", 1)[0][:100] or "image"
    return f"{stem}.{EXTENSIONS[kind]}"


def store(session: Session, *, member: Member, upload: Upload, kind: str, now: datetime) -> None:
    """Keep the member's new picture, replacing the old one."""
    name = safe_name(upload.filename, kind)
    row = session.get(ProfileImage, member.id)
    if row is None:
        row = ProfileImage(user_id=member.id)
        session.add(row)
    row.filename, row.content_type, row.data, row.created_at = name, TYPES[kind], upload.data, now
    member.profile_image = name


def load(session: Session, *, user_id: str, filename: str) -> ProfileImage | None:
    """The stored picture, if this is its current name."""
    row = row_by_id(session, ProfileImage, parse_id(user_id))
    return row if row is not None and row.filename == filename else None
