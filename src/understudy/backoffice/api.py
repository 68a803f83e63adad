"""Routes under /api/v1: parse the documented request, call the service, render the answer."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.backoffice import (
    api_content,
    auth,
    dashboard,
    images,
    reference,
    resource_files,
    service,
    trees,
    views,
)
from understudy.backoffice.deps import (
    CredentialsDep,
    KeyDep,
    MemberDep,
    asset_host,
    message,
    read,
    write,
)
from understudy.backoffice.errors import PREFIX
from understudy.backoffice.schemas import (
    AUTHENTICATED,
    BAD_BODY,
    KEY_FAILED,
    CategoryList,
    DashboardAnswer,
    IdNameList,
    LocaleList,
    LoginAnswer,
    MatrixAnswer,
    MemberAnswer,
    Message,
    RailsError,
    RailsFormErrors,
    RailsInvalidData,
    RailsSecurityTokenError,
    RailsStatusError,
    TeamviewAnswer,
    WalletPage,
    any_of,
    doc,
    form_body,
)
from understudy.backoffice.settings import get_settings
from understudy.backoffice.wire import RailsRoute, read_params, render, text_param, upload_param
from understudy.context import ContextDep

router = APIRouter(prefix=PREFIX, route_class=RailsRoute)

# --- login ---------------------------------------------------------------------------------------


@router.post(
    "/login",
    response_model=None,
    responses={
        200: doc(LoginAnswer, "A JWT for the member"),
        422: doc(RailsFormErrors, "username or password blank"),
        401: doc(RailsError, "Invalid username or password."),
        **KEY_FAILED,
        **BAD_BODY,
    },
    openapi_extra=form_body("username", "password"),
)
async def login(request: Request, ctx: ContextDep, _: KeyDep) -> Response:
    """Log a member in and return a JWT."""
    params = await read_params(request)

    def work(session: Session) -> dict[str, Any]:
        found = service.login(
            session,
            username=text_param(params, "username"),
            password=text_param(params, "password"),
        )
        now = ctx.now(session)
        token, expires = auth.issue_token(session, user_id=found.member.id, now=now)
        return views.login(found, token=token, expires=expires)

    return render(await write(ctx, work))


# --- members -------------------------------------------------------------------------------------

USER_404 = {404: doc(RailsError, "User not found.")}


@router.get(
    "/users/{id}",
    response_model=None,
    responses={200: doc(MemberAnswer, "The member"), **USER_404, **AUTHENTICATED},
)
async def get_user(request: Request, id: str, ctx: ContextDep, creds: CredentialsDep) -> Response:
    """A member's profile."""
    host = asset_host(request)

    def work(session: Session) -> dict[str, Any]:
        return views.member(session, service.get_member(session, user_id=id), asset_host=host)

    return render(await read(ctx, work, checking=creds))


@router.post(
    "/users",
    response_model=None,
    responses={
        200: doc(Message, "User created successfully."),
        422: doc(RailsFormErrors, "Required fields blank"),
        400: any_of(
            "The data is invalid, or the body is not valid JSON", RailsInvalidData, RailsStatusError
        ),
        **AUTHENTICATED,
    },
    openapi_extra=form_body(*service.SIGNUP_FIELDS, "plan"),
)
async def create_user(request: Request, ctx: ContextDep, _: MemberDep) -> Response:
    """Sign a member up under a sponsor, place them and buy their plan."""
    params = await read_params(request)
    fields = {name: text_param(params, name) for name in service.SIGNUP_FIELDS}

    def hash_then_create() -> None:
        # argon2 before the transaction: no lock or connection is held while it runs.
        hashed = service.hash_if_acceptable(fields.get("password"))

        def work(session: Session) -> None:
            service.create_member(
                session,
                fields=fields,
                plan_name=text_param(params, "plan"),
                now=ctx.now(session),
                password_hash=hashed,
            )

        ctx.db.transaction(work)

    await to_thread.run_sync(hash_then_create)
    return message("User created successfully.")


EDIT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "locale",
    "language",
    "mobile",
    "default_leg",
    "country_code",
    "password",
)


@router.put(
    "/users/{id}",
    response_model=None,
    responses={
        200: doc(Message, "User updated successfully."),
        400: any_of(
            "The data is invalid, the security token failed, or the body is not valid JSON",
            RailsInvalidData,
            RailsSecurityTokenError,
            RailsStatusError,
        ),
        **USER_404,
        **AUTHENTICATED,
    },
    openapi_extra=form_body(*EDIT_FIELDS, "token", files=("profile_image",)),
)
async def update_user(request: Request, id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """Edit a member's profile (every field optional)."""
    params = await read_params(request)
    fields = {name: text_param(params, name) for name in EDIT_FIELDS if name in params}
    token = text_param(params, "token")
    image = await upload_param(params, "profile_image")

    def work(session: Session) -> None:
        service.update_member(
            session, user_id=id, fields=fields, token=token, now=ctx.now(session), image=image
        )

    await write(ctx, work)
    return message("User updated successfully.")


@router.post(
    "/tokens",
    response_model=None,
    responses={
        200: doc(Message, "The token was mailed"),
        **USER_404,
        **AUTHENTICATED,
        **BAD_BODY,
    },
    openapi_extra=form_body("user_id"),
)
async def create_token(request: Request, ctx: ContextDep, _: MemberDep) -> Response:
    """Mail the member a single-use security token for profile edits."""
    params = await read_params(request)
    user_id = text_param(params, "user_id")

    def work(session: Session) -> None:
        service.request_token(session, user_id=user_id, now=ctx.now(session))

    await write(ctx, work)
    return message("A token was sent to you email. It expires in 1 hour.")


# --- reference lists -----------------------------------------------------------------------------


@router.get(
    "/legs",
    response_model=None,
    responses={200: doc(IdNameList, "Placement legs"), **AUTHENTICATED},
)
def legs(_: MemberDep) -> Response:
    """The legs a member may choose for placement."""
    return render({"list": [{"id": id_, "name": name} for id_, name in reference.LEGS]})


@router.get(
    "/locales",
    response_model=None,
    responses={200: doc(LocaleList, "Languages"), **AUTHENTICATED},
)
def locales(_: MemberDep) -> Response:
    """The languages of the back office."""
    return render(
        {
            "list": [
                {"id": id_, "name": name, "image": reference.LOCALE_IMAGE.format(flag=flag)}
                for id_, name, flag in reference.LOCALES
            ]
        }
    )


@router.get(
    "/countries",
    response_model=None,
    responses={200: doc(IdNameList, "ISO 3166-1 countries by name"), **AUTHENTICATED},
)
def countries(_: MemberDep) -> Response:
    """Every country."""
    return render({"list": [{"id": code, "name": name} for code, name in reference.countries()]})


@router.get(
    "/cryptocurrency_cashouts",
    response_model=None,
    responses={200: doc(IdNameList, "Cash-out currencies"), **AUTHENTICATED},
)
async def cryptocurrency_cashouts(ctx: ContextDep, _: MemberDep) -> Response:
    """The currencies members may cash out in."""
    return render({"list": await read(ctx, views.cashout_currencies)})


@router.get(
    "/category_resources",
    response_model=None,
    responses={200: doc(CategoryList, "Resource categories"), **AUTHENTICATED},
)
async def category_resources(ctx: ContextDep, _: MemberDep) -> Response:
    """The categories of downloadable resources."""
    return render({"list": await read(ctx, views.category_resources)})


# --- trees ---------------------------------------------------------------------------------------

TREE_404 = {404: doc(RailsFormErrors, "user_id doesn't exist.")}


@router.get(
    "/teamviews/{id}",
    response_model=None,
    responses={200: doc(TeamviewAnswer, "Sponsor-tree directs"), **TREE_404, **AUTHENTICATED},
)
async def teamview(request: Request, id: str, ctx: ContextDep, creds: CredentialsDep) -> Response:
    """The member's sponsor tree, TEAMVIEW_DEPTH levels deep."""
    host = asset_host(request)

    def work(session: Session) -> list[Any]:
        member = trees.tree_member(session, user_id=id)
        depth = get_settings().teamview_depth
        return trees.teamview(session, member=member, depth=depth, asset_host=host)

    return render({"teamview": await read(ctx, work, checking=creds)})


@router.get(
    "/matrixs/{id}",
    response_model=None,
    responses={200: doc(MatrixAnswer, "The member's matrix"), **TREE_404, **AUTHENTICATED},
)
async def matrix(request: Request, id: str, ctx: ContextDep, creds: CredentialsDep) -> Response:
    """The member's forced matrix, MATRIX_DEPTH levels deep."""
    host = asset_host(request)

    def work(session: Session) -> dict[str, Any]:
        member = trees.tree_member(session, user_id=id)
        depth = get_settings().matrix_depth
        return trees.matrix(session, member=member, depth=depth, asset_host=host)

    return render({"matrix": await read(ctx, work, checking=creds)})


# --- wallets -------------------------------------------------------------------------------------


@router.get(
    "/wallets/{wallet_id}",
    response_model=None,
    responses={
        200: doc(WalletPage, "One page (30 rows) of the wallet"),
        422: doc(RailsFormErrors, "user_id or page missing, page not a number"),
        **AUTHENTICATED,
        **BAD_BODY,
    },
    openapi_extra={
        "parameters": [
            {"name": "user_id", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "page", "in": "query", "required": False, "schema": {"type": "string"}},
        ]
    },
)
async def wallet(request: Request, wallet_id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """A wallet's movements, 30 per page, oldest first."""
    params = await read_params(request)
    zone = get_settings().zone

    def work(session: Session) -> dict[str, Any]:
        found = service.wallet_page(
            session,
            wallet_id=wallet_id,
            user_id=text_param(params, "user_id"),
            page=text_param(params, "page"),
        )
        return {
            "list": views.wallet_rows(found.rows, zone=zone),
            "total_pages": found.total_pages,
            "current_page": found.current_page,
        }

    return render(await read(ctx, work))


# --- dashboard -----------------------------------------------------------------------------------


@router.get(
    "/dashboards/{id}",
    response_model=None,
    responses={200: doc(DashboardAnswer, "The member's dashboard"), **USER_404, **AUTHENTICATED},
)
async def get_dashboard(id: str, ctx: ContextDep, creds: CredentialsDep) -> Response:
    """Wallet balances, matrix qualification, team growth and countries of the downline."""

    def work(session: Session) -> dict[str, Any]:
        member = service.get_member(session, user_id=id)
        return dashboard.dashboard(session, member=member, now=ctx.now(session))

    return render(await write(ctx, work, checking=creds))


router.include_router(api_content.router)


uploads = APIRouter(route_class=RailsRoute)


@uploads.get(
    "/uploads/user/profile_image/{id}/{filename}",
    response_model=None,
    responses={
        200: {
            "description": "The picture",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("image/jpeg", "image/png", "image/gif", "image/webp")
            },
        },
        404: {"description": "No such picture", "content": {"text/plain": {}}},
    },
)
async def profile_image(id: str, filename: str, ctx: ContextDep) -> Response:
    """A member's uploaded profile picture (public, as Rails serves public/uploads)."""
    found = await read(ctx, lambda session: images.load(session, user_id=id, filename=filename))
    if found is None:
        raise HTTPException(404)
    return Response(found.data, media_type=found.content_type)


@uploads.get(
    "/uploads/resource/file/{id}/{filename}",
    response_model=None,
    responses={
        200: {
            "description": "The file (types a browser could run are served as downloads)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        404: {"description": "No such file", "content": {"text/plain": {}}},
    },
)
async def resource_file(id: str, filename: str, ctx: ContextDep) -> Response:
    """A resource's uploaded file (public, as Rails serves public/uploads)."""
    found = await read(
        ctx, lambda session: resource_files.load(session, file_id=id, filename=filename)
    )
    if found is None:
        raise HTTPException(404)
    disposition = "attachment" if found.content_type == resource_files.DOWNLOAD else "inline"
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{found.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


service_router = APIRouter()
service_router.include_router(router)
service_router.include_router(uploads)
