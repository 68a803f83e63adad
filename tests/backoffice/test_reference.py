"""Reference lists: legs, locales, countries, cash-out currencies, resource categories."""

from __future__ import annotations

import httpx


async def test_locales_verbatim(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/locales", headers=auth)
    assert r.status_code == 200
    items = r.json()["list"]
    assert items[0] == {"id": "en", "name": "English", "image": "https://flagcdn.com/48x36/us.png"}
    assert [i["id"] for i in items] == [
        "en",
        "es",
        "ko",
        "zhCN",
        "vi",
        "ja",
        "zhHK",
        "ms",
        "km",
        "ph",
    ]
    assert items[6] == {
        "id": "zhHK",
        "name": "Mandarin (Taiwan, Hong Kong)",
        "image": "https://flagcdn.com/48x36/tw.png",
    }


async def test_countries(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/countries/", headers=auth)
    items = r.json()["list"]
    assert len(items) == 249
    names = [i["name"] for i in items]
    assert names == sorted(names)
    assert {"id": "PN", "name": "Pitcairn"} in items
    assert {"id": "US", "name": "United States"} in items
    assert all(list(i) == ["id", "name"] for i in items)


async def test_cashout_currencies(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/cryptocurrency_cashouts", headers=auth)
    assert r.content == b'{"list":[{"id":470,"name":"USDT"}]}'


async def test_category_resources(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/category_resources.json", headers=auth)
    items = r.json()["list"]
    assert items[0] == {"id": 1, "title": "Photos", "icon": "fas fa-file-image"}
    assert [(i["id"], i["title"]) for i in items] == [
        (1, "Photos"),
        (2, "Videos"),
        (3, "Files"),
        (4, "Presentations"),
        (5, "PDFs"),
        (6, "Documents"),
        (7, "Spreadsheets"),
    ]


async def test_lists_need_the_full_auth_chain(client: httpx.AsyncClient, api_key: str) -> None:
    for path in ("legs", "locales", "countries", "cryptocurrency_cashouts", "category_resources"):
        r = await client.get(f"/api/v1/{path}")
        assert (r.status_code, r.json()) == (403, {"error": "The API Key is not valid."})
        r = await client.get(f"/api/v1/{path}", headers={"x-api-key": api_key})
        assert (r.status_code, r.json()) == (403, {"error": "Nil JSON web token."})
