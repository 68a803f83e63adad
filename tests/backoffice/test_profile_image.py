"""PUT /users/{id} with a profile picture: checked with Pillow, served under /uploads."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from tests.backoffice.conftest import create


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


async def test_upload_and_serve(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create(client, auth, user_name="pictured")
    data = png()
    r = await client.put(
        "/api/v1/users/2",
        files={"profile_image": ("Fondos de escritorio/mí foto.png", data, "image/png")},
        headers=auth,
    )
    assert (r.status_code, r.json()) == (200, {"message": "User updated successfully."})
    url = (await client.get("/api/v1/users/2", headers=auth)).json()["profile_image"]
    assert url == "http://testserver/uploads/user/profile_image/2/m__foto.png"
    served = await client.get(url.removeprefix("http://testserver"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png" and served.content == data
    missing = await client.get("/uploads/user/profile_image/2/other.png")
    assert missing.status_code == 404


async def test_bad_or_big_pictures(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create(client, auth, user_name="pictured")
    r = await client.put(
        "/api/v1/users/2",
        files={"profile_image": ("x.jpg", b"not an image", "image/jpeg")},
        data={"default_leg": "sideways"},
        headers=auth,
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "The data is invalid.",
        "details": {
            "default_leg": ["is not included in the list"],
            "profile_image": ["failed to be processed"],
        },
    }
    big = png() + b"\0" * (5 * 1024 * 1024)
    r = await client.put(
        "/api/v1/users/2", files={"profile_image": ("big.png", big, "image/png")}, headers=auth
    )
    assert r.json()["details"] == {"profile_image": ["File size should be less than 5 MB"]}
    body = (await client.get("/api/v1/users/2", headers=auth)).json()
    assert body["profile_image"] == "http://testserver/assets/user-icon-white.svg"
