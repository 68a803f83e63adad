"""Partner pictures: validation, square thumbnails (Odoo image_resize_image), placeholder."""

from __future__ import annotations

import io
import warnings
from datetime import datetime
from functools import lru_cache

from PIL import Image, ImageDraw, UnidentifiedImageError
from sqlalchemy.orm import Session

from understudy.nebeus.models import Partner, PartnerImage

SMALL, BIG = 64, 150
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


class ImageError(Exception):
    """A refused picture, with the documented message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _open(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise ImageError("Image is too large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise ImageError("File is not a valid image")
            if image.width * image.height > MAX_PIXELS:
                raise ImageError("Image is too large")
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError("Image is too large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError("File is not a valid image") from None
    return image


def square_png(image: Image.Image, size: int) -> bytes:
    """The image fitted and centred on a transparent size x size square, as PNG."""
    fitted = image.convert("RGBA")
    fitted.thumbnail((size, size), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2), fitted)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


@lru_cache(maxsize=2)
def placeholder(size: int) -> bytes:
    """A grey silhouette on a light square, the same for every partner without a picture."""
    canvas = Image.new("RGBA", (size, size), (230, 230, 230, 255))
    draw = ImageDraw.Draw(canvas)
    grey = (160, 160, 160, 255)
    head = size * 0.2
    draw.ellipse((size / 2 - head, size * 0.18, size / 2 + head, size * 0.18 + 2 * head), grey)
    draw.ellipse((size * 0.18, size * 0.62, size * 0.82, size * 1.25), grey)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def store(session: Session, *, partner: Partner, data: bytes, now: datetime) -> None:
    """Keep the original and make both thumbnails; raises ImageError."""
    image = _open(data)
    row = session.get(PartnerImage, partner.id)
    small, big = square_png(image, SMALL), square_png(image, BIG)
    if row is None:
        session.add(
            PartnerImage(partner_id=partner.id, original=data, small=small, big=big, updated_at=now)
        )
    else:
        row.original, row.small, row.big, row.updated_at = data, small, big, now
    session.flush()


def delete(session: Session, *, partner: Partner) -> None:
    """Remove the partner's picture, if any."""
    row = session.get(PartnerImage, partner.id)
    if row is not None:
        session.delete(row)
        session.flush()


def thumbnail(session: Session, *, partner_id: int, big: bool) -> bytes | None:
    """The partner's thumbnail (placeholder without a picture); None for an unknown partner."""
    if session.get(Partner, partner_id) is None:
        return None
    row = session.get(PartnerImage, partner_id)
    if row is None:
        return placeholder(BIG if big else SMALL)
    return row.big if big else row.small
