"""Unknown paths get the documented not-found answer of the service whose paths they fall under."""

from __future__ import annotations

import httpx

from understudy.app import create_app
from understudy.config import Settings


async def test_fivesim_prefix_is_plain_404(client: httpx.AsyncClient) -> None:
    for method in ("GET", "POST", "DELETE"):
        r = await client.request(method, "/v1/user/payments&offset=0")
        assert r.status_code == 404
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.text == "404 page not found"


async def test_backoffice_prefix_json_or_rails_html(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.content == b'{"status":404,"error":"Not Found"}'
    r = await client.post("/api/v1/nothing-here/", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "The page you were looking for doesn't exist." in r.text


async def test_nebeus_json_request_to_unknown_path_is_odoo_not_found(
    client: httpx.AsyncClient,
) -> None:
    body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 7}
    r = await client.post("/no/such/route/1.0/json", json=body)
    assert r.status_code == 200
    answer = r.json()
    assert answer["jsonrpc"] == "2.0"
    assert answer["error"]["code"] == 200
    assert answer["error"]["message"] == "Odoo Server Error"
    assert answer["error"]["data"]["name"] == "werkzeug.exceptions.NotFound"
    assert set(answer["error"]["data"]) == {
        "name",
        "debug",
        "message",
        "arguments",
        "exception_type",
    }


async def test_other_paths_are_plain_404(client: httpx.AsyncClient) -> None:
    for path in ("/nothing", "/_understudy/unknown", "/v2/user/profile"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text == "Not Found"


async def test_disabled_service_prefix_falls_back_to_plain_404(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, services="fivesim"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/api/v1/legs", headers={"Accept": "application/json"})
        assert r.status_code == 404 and r.text == "Not Found"
        r = await c.post("/signin/1.0/json", json={"params": {}})
        assert r.status_code == 404 and r.text == "Not Found"
    app.state.ctx.close()
