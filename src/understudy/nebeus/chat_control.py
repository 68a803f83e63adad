"""The chat control call: operators make groups (POST /_understudy/nebeus/chat_groups)."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from understudy.context import ContextDep
from understudy.control.auth import CONTROL_RESPONSES, AdminDep, ControlError
from understudy.nebeus import chat, identity

router = APIRouter(responses=CONTROL_RESPONSES)
Text = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00]*$")]


class GroupBody(BaseModel):
    """A chat group: its name and its members' logins (replacing any earlier members)."""

    name: Annotated[Text, StringConstraints(min_length=1, max_length=200)]
    logins: list[Text] = Field(max_length=10_000)


class GroupId(BaseModel):
    """The id of the group made or updated."""

    id: int


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": GroupBody.model_json_schema()}},
    }
}


@router.post("/chat_groups", response_model=GroupId, openapi_extra=_BODY)
async def chat_groups(request: Request, ctx: ContextDep, _: AdminDep) -> GroupId:
    """Create a chat group, or replace the members of the group with that name."""
    try:
        body = GroupBody.model_validate_json(await request.body())
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ControlError("; ".join(parts) or "invalid request") from None

    name = body.name.strip()
    if not name:
        raise ControlError("name: should not be blank")

    def work() -> int:
        with ctx.db.write() as session:
            ids = []
            for login in body.logins:
                user = identity.find_user_by_login(session, login)
                if user is None:
                    raise ControlError(f"user not found: {login}")
                ids.append(user.id)
            return chat.set_group(session, name=name, user_ids=ids).id

    return GroupId(id=await to_thread.run_sync(work))
