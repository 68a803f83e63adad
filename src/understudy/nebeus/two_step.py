"""The wire side of §6: answer a code request, or check the code before executing."""

from __future__ import annotations

from typing import Any

from understudy.nebeus import codes
from understudy.nebeus.jsonrpc import Call, field_error
from understudy.nebeus.params import as_int, blank, odoo_datetime

CODE_PARAMS = {"code_id": {"type": "integer"}, "code": {"type": "string"}}


def confirm(
    call: Call,
    *,
    operation: str,
    values: dict[str, Any],
    method: str = "email",
    to: str | None = None,
) -> dict[str, Any] | None:
    """None when a valid `code` confirms this operation; else the answer to return as is.

    Without `code` a new code is sent and described; a wrong code's attempt is committed.
    """
    assert call.user is not None
    fingerprint = codes.digest(values)
    if blank(call.params.get("code")) and blank(call.params.get("code_id")):
        row = codes.issue(
            call.db,
            user_id=call.uid,
            to=to or call.user.login,
            operation=operation,
            params_digest=fingerprint,
            method=method,
            now=call.now,
        )
        return {
            "status": "success",
            "timestamp": odoo_datetime(call.now),
            "method": method,
            "code_id": row.id,
            "time": int(codes.TTL.total_seconds() * 1000),
        }
    code_id = as_int(call.params.get("code_id"))
    if code_id is None:
        raise field_error("code_id", "Code not found")
    code = call.params.get("code")
    if blank(code) or isinstance(code, (dict, list, bool)):
        raise field_error("code", "Code should be specified")
    problem = codes.check(
        call.db,
        user_id=call.uid,
        code_id=code_id,
        code=str(code).strip(),
        operation=operation,
        params_digest=fingerprint,
        now=call.now,
    )
    if problem is None:
        return None
    field, message = problem
    return {"status": "error", "field": field, "message": message}
