"""The OpenAPI document of control calls: 400/401 ErrorBody (never 422), admin bearer token."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from understudy.control.auth import PREFIX as CONTROL_PREFIX
from understudy.control.auth import ErrorBody

CONTROL_SECURITY_SCHEME = "adminToken"
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_CONTROL_ERRORS = (("400", "Bad input"), ("401", "Missing or wrong admin token"))


def _document_control_calls(schema: dict[str, Any]) -> None:
    """Control operations answer 400/401 ErrorBody (never 422) and need the admin bearer token."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    found = False
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(CONTROL_PREFIX + "/"):
            continue
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            found = True
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for code, description in _CONTROL_ERRORS:
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": error_body}},
                    },
                )
            operation.setdefault("security", [{CONTROL_SECURITY_SCHEME: []}])
    if found:
        schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
        components.setdefault("securitySchemes", {})[CONTROL_SECURITY_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "UNDERSTUDY_ADMIN_TOKEN",
        }
    # Drop FastAPI's validation-error schemas once no operation refers to them any more.
    for name in ("HTTPValidationError", "ValidationError"):
        others = {k: v for k, v in schemas.items() if k != name}
        used = json.dumps([schema.get("paths", {}), others])
        if name in schemas and f'"#/components/schemas/{name}"' not in used:
            del schemas[name]


def install_openapi(app: FastAPI) -> None:
    """Wrap app.openapi so the cached document describes control calls as they answer."""
    generate = app.openapi
    fixed: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal fixed
        schema = generate()  # FastAPI caches it, and regenerates when routes change
        if schema is not fixed:
            _document_control_calls(schema)
            fixed = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
