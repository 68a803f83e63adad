"""Bearer-token guard and error shape shared by every control call."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

PREFIX = "/_understudy"


class ControlError(Exception):
    """A control call refused; rendered as {"error": message} with the status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ErrorBody(BaseModel):
    """The body of every refused control call."""

    error: str


class StatusBody(BaseModel):
    """The body of a control call that only succeeds."""

    status: str = "ok"


CONTROL_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Bad input"},
    401: {"model": ErrorBody, "description": "Missing or wrong admin token"},
}


async def require_admin(request: Request) -> None:
    """Refuse the call unless it carries `Authorization: Bearer <UNDERSTUDY_ADMIN_TOKEN>`."""
    expected = request.app.state.ctx.settings.admin_token
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if not (
        expected
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), expected.encode())
    ):
        raise ControlError("invalid or missing admin token", 401)


AdminDep = Annotated[None, Depends(require_admin)]


def control_error_response(error: ControlError) -> JSONResponse:
    """Render a ControlError."""
    return JSONResponse({"error": error.message}, status_code=error.status)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """Render FastAPI's validation failure of a control call as 400 {"error": ...}."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return JSONResponse({"error": "; ".join(parts) or "invalid request"}, status_code=400)
