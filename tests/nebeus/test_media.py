"""Partner pictures (contract §4.3): upload by JSON-RPC or multipart, thumbnails, placeholder."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image

from tests.nebeus.helpers import PASSWORD, envelope, rpc, signup_params
from understudy.context import AppContext

UPLOAD = "/partner/profile_image"


def png(width: int, height: int, color: tuple[int, int, int] = (200, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def err(message: str) -> dict[str, str]:
    return {"status": "error", "field": "image", "message": message}


async def signed_in(client: httpx.AsyncClient, ctx: AppContext, login: str) -> tuple[str, int]:
    await rpc(client, "/signup/1.0/json", signup_params(ctx, login))
    result = await rpc(client, "/signin/1.0/json", {"login": login, "password": PASSWORD})
    client.cookies.clear()
    return result["session_id"], result["partner_id"]


async def test_placeholder_then_uploaded_thumbnails(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid, partner = await signed_in(client, ctx, "pic@example.com")
    small = await client.get(f"/partner/{partner}/profile_image?session_id={sid}")
    assert small.status_code == 200
    assert small.headers["content-type"] == "image/png"
    placeholder = Image.open(io.BytesIO(small.content))
    assert placeholder.size == (64, 64)
    image = base64.b64encode(png(300, 100)).decode()
    assert await rpc(client, UPLOAD, {"image": image}, session=sid) == {"status": "success"}
    big = await client.get(
        f"/partner/{partner}/profile_image/big", headers={"X-Openerp-Session-Id": sid}
    )
    thumb = Image.open(io.BytesIO(big.content))
    assert thumb.size == (150, 150)
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((75, 75))[:3] == (200, 0, 0)
    assert thumb.getpixel((75, 2))[3] == 0  # fitted, centred on transparency
    # ETag revalidation
    again = await client.get(
        f"/partner/{partner}/profile_image/big",
        headers={"X-Openerp-Session-Id": sid, "If-None-Match": big.headers["etag"]},
    )
    assert again.status_code == 304
    # false deletes: back to the placeholder
    assert await rpc(client, UPLOAD, {"image": False}, session=sid) == {"status": "success"}
    small_again = await client.get(f"/partner/{partner}/profile_image?session_id={sid}")
    assert small_again.content == small.content


async def test_multipart_upload(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid, partner = await signed_in(client, ctx, "multi@example.com")
    r = await client.post(
        UPLOAD,
        files={"image": ("me.png", png(10, 10, (0, 0, 255)), "image/png")},
        headers={"X-Openerp-Session-Id": sid},
    )
    assert r.json() == {"jsonrpc": "2.0", "id": None, "result": {"status": "success"}}
    small = await client.get(f"/partner/{partner}/profile_image?session_id={sid}")
    assert Image.open(io.BytesIO(small.content)).getpixel((32, 32))[:3] == (0, 0, 255)
    bad = await client.post(
        UPLOAD,
        files={"image": ("x.txt", b"hello", "text/plain")},
        headers={"X-Openerp-Session-Id": sid},
    )
    assert bad.json()["result"] == err("File is not a valid image")
    missing = await client.post(
        UPLOAD, files={"other": ("x", b"1")}, headers={"X-Openerp-Session-Id": sid}
    )
    assert missing.json()["result"] == err("Image should be specified")
    no_session = await client.post(UPLOAD, files={"image": ("me.png", png(2, 2))})
    assert no_session.json()["error"]["code"] == 100


async def test_upload_errors_and_limits(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid, _ = await signed_in(client, ctx, "lim@example.com")
    assert await rpc(client, UPLOAD, {}, session=sid) == err("Image should be specified")
    assert await rpc(client, UPLOAD, {"image": "%%%"}, session=sid) == err(
        "File is not a valid image"
    )
    huge_canvas = base64.b64encode(png(6000, 5000)).decode()  # 30 MP
    assert await rpc(client, UPLOAD, {"image": huge_canvas}, session=sid) == err(
        "Image is too large"
    )
    r = await client.post(
        UPLOAD, content=b"x" * (10 * 1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_reading_pictures_needs_a_session_and_a_known_partner(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid, partner = await signed_in(client, ctx, "read@example.com")
    assert (await client.get(f"/partner/{partner}/profile_image")).status_code == 401
    unknown = await client.get(f"/partner/{partner + 1000}/profile_image?session_id={sid}")
    assert unknown.status_code == 404
    r = await client.post(UPLOAD, json=envelope({"image": False}))
    assert r.json()["error"]["code"] == 100
