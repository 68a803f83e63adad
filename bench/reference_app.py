"""The framework ceiling: a bare Starlette app answering captured responses byte for byte.

Run under uvicorn as its own process; BENCH_REFERENCE_RESPONSES names a JSON file holding a list
of {"method", "path", "status", "content_type", "body_b64"} captured from the real server.
This module imports nothing from the bench package so uvicorn can load it by file location.
"""

from __future__ import annotations

import base64
import json
import os
from collections import defaultdict
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ENV_VAR = "BENCH_REFERENCE_RESPONSES"

Canned = tuple[int, dict[str, str], bytes]
Table = dict[tuple[str, str, str], Canned]


def _load(path: str) -> Table:
    """Captured responses keyed by (METHOD, decoded path, raw query string)."""
    with open(path) as fh:
        entries = json.load(fh)
    table: Table = {}
    for entry in entries:
        headers = {"content-type": entry["content_type"]} if entry.get("content_type") else {}
        body = base64.b64decode(entry["body_b64"])
        route_path, _, query = entry["path"].partition("?")
        key = (entry["method"].upper(), unquote(route_path), query)
        table[key] = (entry["status"], headers, body)
    return table


def build_app(table: Table) -> Starlette:
    """One Starlette Route per captured path; the endpoint returns the canned bytes."""
    by_path: dict[tuple[str, str], Canned] = {}
    methods: dict[str, set[str]] = defaultdict(set)
    for (method, path, _query), canned in table.items():
        by_path.setdefault((method, path), canned)
        methods[path].add(method)

    async def endpoint(request: Request) -> Response:
        method, path = request.method, request.scope["path"]
        key = (method, path, request.scope["query_string"].decode("latin-1"))
        status, headers, body = table.get(key) or by_path[(method, path)]
        return Response(body, status_code=status, headers=headers)

    routes = [Route(path, endpoint, methods=sorted(m)) for path, m in methods.items()]
    return Starlette(routes=routes)


app = build_app(_load(os.environ[ENV_VAR]))
