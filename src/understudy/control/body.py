"""JSON bodies of control calls: read by hand after the admin check (FastAPI would read first)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from understudy.control.auth import ControlError

M = TypeVar("M", bound=BaseModel)


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra documenting the required JSON body a route parses itself."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def read_body(request: Request, model: type[M]) -> M:
    """The JSON body as `model`; a 400 naming every invalid field otherwise."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        raise ControlError("; ".join(parts) or "invalid request") from None
