"""Rails on the wire: routing variants, 404 before any key check, headers, bodies."""

from __future__ import annotations

import httpx

LEGS = (
    b'{"list":[{"id":"left","name":"Left"},{"id":"right","name":"Right"},'
    b'{"id":"binary_tank","name":"Binary tank"},{"id":"balanced","name":"Balanced"}]}'
)


async def test_path_variants_route_alike(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for path in ("/api/v1/legs", "/api/v1/legs/", "/api/v1/legs.json", "/api/v1/legs.json/"):
        r = await client.get(path, headers=auth)
        assert r.status_code == 200, path
        assert r.content == LEGS
    r = await client.get("/api/v1/users/1.json", headers=auth)
    assert r.status_code == 200
    assert r.json()["username"] == "admin"


async def test_rails_fingerprints(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/legs", headers=auth)
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["etag"].startswith('W/"') and len(r.headers["etag"]) == 36
    assert r.headers["cache-control"] == "max-age=0, private, must-revalidate"
    float(r.headers["x-runtime"])
    assert len(r.headers.get_list("x-request-id")) == 1
    again = await client.get("/api/v1/legs", headers=auth)
    assert again.headers["etag"] == r.headers["etag"]
    refused = await client.get("/api/v1/legs")
    assert "etag" not in refused.headers
    assert "x-runtime" in refused.headers


async def test_unknown_path_and_wrong_verb_are_404_before_the_key(
    client: httpx.AsyncClient,
) -> None:
    json_accept = {"Accept": "application/json"}
    for method, path in (
        ("GET", "/api/v1/nothing"),
        ("DELETE", "/api/v1/legs"),
        ("POST", "/api/v1/legs.json"),
        ("GET", "/api/v1/login"),
        ("PATCH", "/api/v1/users/1"),
        ("GET", "/api/v1/users"),
    ):
        r = await client.request(method, path, headers=json_accept)
        assert r.status_code == 404, (method, path)
        assert r.content == b'{"status":404,"error":"Not Found"}'
        html = await client.request(method, path)
        assert html.status_code == 404
        assert html.headers["content-type"] == "text/html; charset=utf-8"


async def test_unparseable_json_is_bad_request(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/tokens",
        content=b'{"user_id": ',
        headers=auth | {"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.content == b'{"status":400,"error":"Bad Request"}'


async def test_json_form_multipart_and_query_parameters(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    url = "/api/v1/tokens"
    message = b'{"message":"A token was sent to you email. It expires in 1 hour."}'
    answers = [
        await client.post(url, json={"user_id": 1}, headers=auth),
        await client.post(url, data={"user_id": "1"}, headers=auth),
        await client.post(url, files={"user_id": (None, "1")}, headers=auth),
        await client.post(url, params={"user_id": "1"}, headers=auth),
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        assert r.content == message
    r = await client.post(url, params={"user_id": "1"}, data={"user_id": "999"}, headers=auth)
    assert r.status_code == 404


async def test_raw_utf8_output(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/locales", headers=auth)
    assert '"Español"'.encode() in r.content


async def test_html_entities_are_escaped_like_active_support(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    content = "<div>Tengo dudas del cashout & más.</div>\u2028"
    r = await client.post(
        "/api/v1/user_tickets",
        data={"user_id": "1", "subject": "A <b> & c", "comment": content},
        headers=auth,
    )
    assert r.status_code == 200
    r = await client.get("/api/v1/threads/1", headers=auth)
    assert (
        b'"content":"\\u003cdiv\\u003eTengo dudas del cashout \\u0026 m\xc3\xa1s.'
        b'\\u003c/div\\u003e\\u2028"' in r.content
    )
    assert r.json()["list"][0]["content"] == content
    r = await client.get("/api/v1/user_tickets/1", headers=auth)
    assert b'"subject":"A \\u003cb\\u003e \\u0026 c"' in r.content


async def test_head_answers_every_get_route_without_a_body(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for path in ("/api/v1/legs", "/api/v1/legs.json/", "/api/v1/users/1", "/api/v1/teamviews/1"):
        get = await client.get(path, headers=auth)
        head = await client.head(path, headers=auth)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-length"] == str(len(get.content))
        assert head.headers["content-type"] == "application/json; charset=utf-8"
    refused = await client.head("/api/v1/legs")
    assert (refused.status_code, refused.content) == (403, b"")
    missing = await client.head("/api/v1/users/99", headers=auth)
    assert missing.status_code == 404
    r = await client.head("/api/v1/login", headers=auth)  # POST-only route: still 404
    assert r.status_code == 404
