"""Partner pictures on the wire: PNG thumbnails (GET) and the upload (JSON-RPC or multipart)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from anyio import to_thread
from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from understudy.context import AppContext
from understudy.core.db import is_id
from understudy.core.text import is_ascii_digits
from understudy.nebeus import flags, images
from understudy.nebeus.jsonrpc import (
    Call,
    NeedsWrite,
    Route,
    current_user,
    dispatch,
    dispatch_params,
    field_error,
    route,
    session_source,
)
from understudy.nebeus.models import Partner

MAX_BODY = 10 * 1024 * 1024
FLAG_CACHE = "public, max-age=86400"  # a day: bundled files change only with a new release
router = APIRouter()

PNG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "PNG thumbnail (a placeholder when the partner has no picture)",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Not modified (If-None-Match)"},
    401: {
        "description": "No valid session",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    404: {
        "description": "Unknown partner",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


SVG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The country's flag (4x3 SVG)",
        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
    },
    304: {"description": "Not modified (If-None-Match)"},
    404: {
        "description": "No flag for this code",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


def _not_modified(request: Request, etag: str) -> bool:
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    return etag in wanted or "*" in wanted


def _thumbnail(ctx: AppContext, request: Request, partner_id: int, big: bool) -> bytes | int:
    sid, _ = session_source(request)

    def work(db: Any, readonly: bool = False) -> bytes | int:
        if current_user(db, session_id=sid, now=ctx.now(db), readonly=readonly) is None:
            return 401
        if not is_id(partner_id):
            return 404
        found = images.thumbnail(db, partner_id=partner_id, big=big)
        return 404 if found is None else found

    try:
        with ctx.db.read() as db:  # a write only when the session needs its touch
            return work(db, readonly=True)
    except NeedsWrite:
        return ctx.db.transaction(work)


async def _serve(request: Request, partner_id: int, big: bool) -> Response:
    ctx: AppContext = request.app.state.ctx
    found = await to_thread.run_sync(_thumbnail, ctx, request, partner_id, big)
    if found == 401:
        return PlainTextResponse("Unauthorized", status_code=401)
    if isinstance(found, int):
        return PlainTextResponse("Not Found", status_code=404)
    etag = '"' + hashlib.sha256(found).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(found, media_type="image/png", headers=headers)


@router.get(
    "/assets/svg/i_country-{code}.svg",
    responses=SVG_RESPONSES,
    response_class=Response,
    summary="Country flag (SVG)",
)
async def country_flag(code: str, request: Request) -> Response:
    """The bundled flag of an ISO 3166-1 alpha-2 code (any case); no session needed."""
    found = flags.flag(code)
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    headers = {"ETag": found.etag, "Cache-Control": FLAG_CACHE}
    if _not_modified(request, found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.svg, media_type="image/svg+xml", headers=headers)


@router.get(
    "/partner/{partner_id}/profile_image",
    responses=PNG_RESPONSES,
    response_class=Response,
    summary="Partner picture, 64x64 PNG",
)
async def profile_image(partner_id: int, request: Request) -> Response:
    """Any signed-in user may read it (session by `?session_id=`, header or cookie)."""
    return await _serve(request, partner_id, big=False)


@router.get(
    "/partner/{partner_id}/profile_image/big",
    responses=PNG_RESPONSES,
    response_class=Response,
    summary="Partner picture, 150x150 PNG",
)
async def profile_image_big(partner_id: int, request: Request) -> Response:
    """Any signed-in user may read it (session by `?session_id=`, header or cookie)."""
    return await _serve(request, partner_id, big=True)


def _too_large() -> Response:
    return PlainTextResponse("Request Entity Too Large", status_code=413)


async def _upload_front(request: Request, target: Route) -> Response:
    """JSON-RPC as usual, or a multipart form with the file field `image`."""
    length = request.headers.get("content-length", "")
    if is_ascii_digits(length) and int(length) > MAX_BODY:
        return _too_large()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        if len(await request.body()) > MAX_BODY:
            return _too_large()
        return await dispatch(request, target)
    try:
        form = await request.form(max_files=2, max_fields=20, max_part_size=MAX_BODY)
    except Exception:  # malformed multipart bodies have several exception types
        return PlainTextResponse("Bad Request", status_code=400)
    try:
        field = form.get("image")
        params: dict[str, Any] = {}
        if isinstance(field, UploadFile):
            data = await field.read(MAX_BODY + 1)
            if len(data) > MAX_BODY:
                return _too_large()
            params["image"] = data
        elif isinstance(field, str):
            params["image"] = field
    finally:
        await form.close()
    return await dispatch_params(request, target, params)


@route(
    "/partner/profile_image",
    params={"image": {"type": ["string", "boolean"]}},
    summary="Upload (or delete with false) the caller's picture",
    front=_upload_front,
    slow=True,
    extra_content={
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"image": {"type": "string", "format": "binary"}},
            }
        }
    },
    extra_responses={
        413: {
            "description": "Body over 10 MiB",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def upload_profile_image(call: Call) -> dict[str, Any]:
    """PNG/JPEG/GIF/WebP up to 5 MiB and 25 MP, as base64 `image` or a multipart file."""
    value = call.params.get("image")
    assert call.user is not None
    partner = call.db.get(Partner, call.user.partner_id)
    assert partner is not None
    if value is False:
        images.delete(call.db, partner=partner)
        return {"status": "success"}
    if value is None or value == "" or value == b"":
        raise field_error("image", "Image should be specified")
    if isinstance(value, str):
        text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
        try:
            value = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise field_error("image", "File is not a valid image") from None
    if not isinstance(value, bytes):
        raise field_error("image", "File is not a valid image")
    try:
        images.store(call.db, partner=partner, data=value, now=call.now)
    except images.ImageError as exc:
        raise field_error("image", exc.message) from None
    return {"status": "success"}
