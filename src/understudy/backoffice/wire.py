"""Rails on the wire: path matching, parameters, JSON rendering and response fingerprints."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from understudy.backoffice.errors import BackofficeError, bad_request

JSON_TYPE = "application/json; charset=utf-8"
HEAD_FLAG = "understudy.backoffice.head"
Params = dict[str, Any]
# Uploads are read up to one byte past the largest accepted size.
MAX_UPLOAD = 5 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """An uploaded file as received (at most MAX_UPLOAD + 1 bytes are read)."""

    filename: str
    data: bytes


def canonical_path(path: str) -> str:
    """The path Rails routes: without a trailing slash and without a `.json` format suffix."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return path


# ActiveSupport's JSON escapes these even in raw UTF-8 output (escape_html_entities_in_json).
RAILS_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def rails_dumps(body: object) -> str:
    """Compact JSON as Rails writes it: raw UTF-8, but `<`, `>`, `&`, U+2028/9 escaped."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).translate(RAILS_ESCAPES)


def render(body: object, status: int = 200) -> Response:
    """Compact raw-UTF-8 JSON with Rails' content type and escapes."""
    return Response(rails_dumps(body).encode(), status_code=status, media_type=JSON_TYPE)


class RailsRoute(APIRoute):
    """Matches `path`, `path/`, `path.json`; renders BackofficeError; adds Rails' headers."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not scope.get("root_path"):
            path = canonical_path(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path}
            if scope["method"] == "HEAD" and "GET" in self.methods:
                # Rails answers HEAD on every GET route: the GET's status and headers, no body.
                return super().matches({**scope, "method": "GET"})
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD" and "GET" in self.methods:
            scope = {**scope, "method": "GET", HEAD_FLAG: True}
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def rails_handler(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handle(request)
            except BackofficeError as exc:
                response = render(exc.body, exc.status)
            fingerprint(response, time.perf_counter() - started)
            if request.scope.get(HEAD_FLAG):
                response.body = b""  # Content-Length stays that of the GET answer (Rack::Head)
            return response

        return rails_handler


def fingerprint(response: Response, runtime: float) -> None:
    """Rails' weak ETag and Cache-Control on successes, X-Runtime on every answer."""
    if response.status_code == 200:
        digest = hashlib.md5(bytes(response.body), usedforsecurity=False).hexdigest()
        response.headers["ETag"] = f'W/"{digest}"'
        response.headers["Cache-Control"] = "max-age=0, private, must-revalidate"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Runtime"] = f"{runtime:.6f}"


def _scalar(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


async def read_params(request: Request) -> Params:
    """Query and body parameters merged, as Rails' `params` (the body wins)."""
    params: Params = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise bad_request() from None
            if isinstance(body, dict):
                params.update({str(k): _scalar(v) for k, v in body.items()})
    elif kind == "application/x-www-form-urlencoded":
        raw = await request.body()
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise bad_request() from None
        params.update(dict(pairs))
    elif kind == "multipart/form-data":
        try:
            async with request.form() as form:
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        data = await value.read(MAX_UPLOAD + 1)
                        params[key] = Upload(filename=value.filename or "file", data=data)
                    else:
                        params[key] = value
        except Exception:
            raise bad_request() from None
    return params


def text_param(params: Params, name: str) -> str | None:
    """A parameter as text, None when absent (files and nested values are not text)."""
    value = params.get(name)
    if value is None or isinstance(value, Upload):
        return None if value is None else ""
    if isinstance(value, dict | list):
        value = json.dumps(value)
    # PostgreSQL text cannot hold NUL; no documented field needs it.
    return str(value).replace("\x00", "")


def is_blank(value: object) -> bool:
    """Rails' blank?: missing, empty or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def decimal_string(cents: int) -> str:
    """Ruby BigDecimal#to_s('F') of an amount in cents: 10000.0, -50.0, 12.5."""
    text = format((Decimal(cents) / 100).normalize(), "f")
    return text if "." in text else text + ".0"


def rails_time(moment: datetime, zone: tzinfo) -> str:
    """ISO-8601 with milliseconds in the app zone, `Z` for UTC."""
    text = moment.astimezone(zone).isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


async def upload_param(params: Params, name: str) -> Upload | None:
    """A file parameter; a non-blank text value is a file that cannot be processed."""
    value = params.get(name)
    if isinstance(value, Upload):
        return value
    if isinstance(value, str) and value.strip():
        return Upload(filename="image", data=value.encode())
    return None
