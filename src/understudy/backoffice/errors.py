"""backoffice's Rails-style error rendering."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

PREFIX = "/api/v1"
RAILS_404_HTML = files("understudy.backoffice").joinpath("static/404.html").read_text("utf-8")


def owns(request: Request) -> bool:
    """Whether the request falls under the back office's paths."""
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def wants_json(request: Request) -> bool:
    """Rails answers JSON errors when the Accept header asks for JSON."""
    return "json" in request.headers.get("accept", "").lower()


def rails_json(body: dict[str, object], status: int) -> Response:
    """A JSON body the way Rails sends it."""
    return JSONResponse(body, status_code=status, media_type="application/json; charset=utf-8")


def not_found(request: Request, status: int) -> Response | None:
    """Unknown path or wrong verb: 404 before any key check, JSON or the stock HTML page."""
    if not owns(request):
        return None
    if wants_json(request):
        return rails_json({"status": 404, "error": "Not Found"}, 404)
    return HTMLResponse(RAILS_404_HTML, status_code=404, media_type="text/html; charset=utf-8")


def server_error(request: Request, exc: Exception) -> Response | None:
    """Unhandled errors: 500 with Rails' JSON body."""
    if not owns(request):
        return None
    return rails_json({"status": 500, "error": "Internal Server Error"}, 500)


class BackofficeError(Exception):
    """A documented refusal: its status and the exact body Rails would send."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def error(status: int, message: str) -> BackofficeError:
    """`{"error": message}` (key and token failures, missing users, login)."""
    return BackofficeError(status, {"error": message})


def form_errors(status: int, errors: dict[str, list[str]]) -> BackofficeError:
    """`{"errors": {field: [message]}}` (presence checks and form objects)."""
    return BackofficeError(status, {"errors": errors})


def invalid_data(details: dict[str, list[str]]) -> BackofficeError:
    """400 `{"error":"The data is invalid.","details":{...}}` (model save failures)."""
    return BackofficeError(400, {"error": "The data is invalid.", "details": details})


def security_token_failed() -> BackofficeError:
    """400 for a missing, wrong, expired or used security token."""
    return BackofficeError(
        400, {"error": "Security token validation failed.", "detail": "Token is not valid!"}
    )


def user_not_found() -> BackofficeError:
    """404 `{"error":"User not found."}`."""
    return error(404, "User not found.")


def bad_request() -> BackofficeError:
    """400 for a body that cannot be parsed."""
    return BackofficeError(400, {"status": 400, "error": "Bad Request"})
