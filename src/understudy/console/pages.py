"""Custom console pages: sqladmin base views with forms, audited changes and field errors.

A page class subclasses `ConsolePage` and exposes its routes with `sqladmin.expose`:

    class TopUp(ConsolePage):
        name, category = "Top up", "fivesim"

        @expose("/fivesim/users/{user_id:int}/top-up", methods=["GET", "POST"],
                identity="fivesim-top-up")
        async def top_up(self, request: Request) -> Response:
            form = await self.form(request, TopUpForm)
            if request.method == "POST" and form.validate():
                try:
                    await self.change(request, "fivesim.top_up", target, work)
                except FormError as exc:
                    exc.attach(form)
                else:
                    return self.done(request, "Balance topped up", url)
            return await self.render(request, "console/fivesim/top_up.html", form=form)

Every change runs in one write transaction together with its audit row, so a refused change
(FormError or any exception) leaves nothing behind; `render` answers 400 when the form has errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from sqladmin import BaseView
from sqladmin.flash import Flash
from sqladmin.secret import Secret
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import Form

from understudy.console import audit
from understudy.console.auth import OPERATOR, client_ip
from understudy.console.posted import FORM_STATE
from understudy.context import AppContext
from understudy.core.db import is_id
from understudy.core.text import is_ascii_digits

T = TypeVar("T")
F = TypeVar("F", bound=Form)
MAX_FORM_FIELDS = 200


class FormError(ValueError):
    """A change refused for one field (or the whole form when `field` is None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def attach(self, form: Form) -> None:
        """Show the message next to its field, or above the form."""
        target = getattr(form, self.field, None) if self.field else None
        if target is not None:
            target.errors = [*target.errors, self.message]
        else:
            form.form_errors = [*getattr(form, "form_errors", []), self.message]


def has_errors(form: Form | None) -> bool:
    """Whether the form carries field or form-level errors."""
    if form is None:
        return False
    return bool(form.errors) or bool(getattr(form, "form_errors", None))


def operator_id(request: Request) -> int | None:
    """The signed-in operator's id (pages are only reached with a live session)."""
    value = request.session.get(OPERATOR)
    return value if isinstance(value, int) else None


def context(request: Request) -> AppContext:
    """The application context of the console serving this request."""
    return request.app.state.ctx  # type: ignore[no-any-return]


class ConsolePage(BaseView):
    """A console page: form parsing, rendering and audited changes."""

    async def form(
        self, request: Request, form_class: type[F], obj: Any = None, **defaults: Any
    ) -> F:
        """The form bound to the posted data on POST, else to obj/defaults."""
        if request.method == "POST":
            data = await self.posted(request)
            return form_class(formdata=data)
        return form_class(obj=obj, **defaults)

    async def posted(self, request: Request) -> FormData:
        """The request's form data (uploads included), parsed once and bounded."""
        cached = getattr(request.state, FORM_STATE, None)
        if cached is None:
            cached = await request.form(max_files=10, max_fields=MAX_FORM_FIELDS)
            setattr(request.state, FORM_STATE, cached)
        return cached  # type: ignore[no-any-return]

    async def render(
        self,
        request: Request,
        template: str,
        *,
        status_code: int | None = None,
        form: Form | None = None,
        **context: Any,
    ) -> Response:
        """The template with `form` and context; 400 when the form has errors."""
        if status_code is None:
            status_code = 400 if has_errors(form) else 200
        response: Response = await self.templates.TemplateResponse(
            request, template, {"form": form, **context}, status_code=status_code
        )
        if Secret.get(request) is not None:
            Secret.apply_no_store_headers(response)
        return response

    async def read(self, request: Request, fn: Callable[[Session], T]) -> T:
        """Run fn(session) in a read-only unit."""
        return await context(request).db.run_read(fn, inline=False)

    async def change(
        self,
        request: Request,
        action: str,
        target: str,
        work: Callable[[Session], T],
        details: Mapping[str, Any] | Callable[[T], Mapping[str, Any]] | None = None,
    ) -> T:
        """Run work(session) and its audit row in one write transaction; returns work's result.

        `details` may be a function of the result (for ids the change creates). Any exception,
        FormError included, rolls both back.
        """
        who, ip = operator_id(request), client_ip(request)

        def unit(session: Session) -> T:
            result = work(session)
            shown = details(result) if callable(details) else details
            audit.record(
                session,
                action,
                operator_id=who,
                target=target,
                details=dict(shown or {}),
                ip=ip,
            )
            return result

        return await context(request).db.run_write(unit, inline=False)

    def done(self, request: Request, message: str, to: str) -> Response:
        """Flash a success message and redirect (303) to `to` after a successful POST."""
        Flash.success(request, message)
        return RedirectResponse(to, status_code=303)

    def url(self, request: Request, identity: str, **params: Any) -> str:
        """The URL of the console page exposed with this identity."""
        return str(request.url_for(f"admin:view-{identity}", **params))

    @staticmethod
    def reveal_once(request: Request, value: str, title: str, label: str) -> None:
        """Show a secret once in a modal on the response being rendered (never stored)."""
        Secret.reveal_once(request, value, title=title, label=label)


class Pager:
    """Page number, size and query text of a list page, read from the query string."""

    def __init__(self, request: Request, *, size: int = 50) -> None:
        query = request.query_params
        self.request = request
        self.size = size
        self.q = query.get("q", "").strip()[:200]
        raw = query.get("page", "1")
        self.page = int(raw) if is_ascii_digits(raw) and len(raw) < 7 and int(raw) > 0 else 1
        self.total = 0

    @property
    def offset(self) -> int:
        """Rows to skip for this page."""
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        """Number of pages for `total` rows (at least one)."""
        return max(1, -(-self.total // self.size))

    def link(self, page: int) -> str:
        """This page's URL with another page number (query text kept)."""
        return str(self.request.url.include_query_params(page=page))


def not_found(what: str) -> NoReturn:
    """Answer 404 "No such <what>." for an id that names no row."""
    raise HTTPException(status_code=404, detail=f"No such {what}.")


def path_id(request: Request, name: str, what: str) -> int:
    """The `{name:int}` path parameter as a row id; 404 "No such <what>." if no row can have it."""
    ident = int(request.path_params[name])
    if not is_id(ident):
        not_found(what)
    return ident
