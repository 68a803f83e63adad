"""nebeus's Odoo-style JSON-RPC error objects."""

from __future__ import annotations

import traceback

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

OTHER_PREFIXES = ("/v1/", "/api/v1", "/_understudy/")
JSON_TYPES = ("application/json", "application/json-rpc")


def is_json_request(request: Request) -> bool:
    """Whether the request declares a JSON(-RPC) body, as Odoo's JSON routes expect."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in JSON_TYPES


def owns(request: Request) -> bool:
    """Nebeus has no path prefix: it owns JSON requests outside the other services' prefixes."""
    path = request.url.path
    return is_json_request(request) and not path.startswith(OTHER_PREFIXES)


def odoo_error(
    *,
    code: int,
    message: str,
    name: str,
    error_message: str,
    exc: BaseException | None = None,
    request_id: object = None,
    debug: bool = False,
) -> dict[str, object]:
    """The JSON-RPC response carrying an Odoo error object."""
    trace = "".join(traceback.format_exception(exc)) if (debug and exc is not None) else ""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "code": code,
            "message": message,
            "data": {
                "name": name,
                "debug": trace,
                "message": error_message,
                "arguments": [error_message],
                "exception_type": "internal_error",
            },
        },
    }


HTTP_TYPE_TEXT = (
    "Function declared as capable of handling request of type 'json' but called with a request "
    "of type 'http'"
)


def not_found(request: Request, status: int) -> Response | None:
    """A JSON request to an unknown path: Odoo's NotFound error object, HTTP 200.

    Another verb on a JSON route is Odoo's HTTP 400 about the request type.
    """
    from understudy.nebeus.jsonrpc import ROUTES  # jsonrpc imports this module

    if status == 405 and request.url.path in ROUTES:
        return PlainTextResponse(HTTP_TYPE_TEXT, status_code=400)
    if not owns(request):
        return None
    body = odoo_error(
        code=200,
        message="Odoo Server Error",
        name="werkzeug.exceptions.NotFound",
        error_message="404: Not Found",
    )
    return JSONResponse(body, status_code=200)


def server_error(request: Request, exc: Exception) -> Response | None:
    """An unhandled exception in a JSON request: Odoo's server error object, HTTP 200."""
    if not owns(request):
        return None
    debug = bool(getattr(request.app.state, "debug", False))
    body = odoo_error(
        code=200,
        message="Odoo Server Error",
        name=f"{type(exc).__module__}.{type(exc).__name__}",
        error_message=str(exc),
        exc=exc,
        debug=debug,
    )
    return JSONResponse(body, status_code=200)
