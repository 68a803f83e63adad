"""The custom-page framework: field errors with 400, nothing half-saved, audited changes, flash."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqladmin import expose
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, IntegerField, validators

from tests.console.conftest import csrf_token, log_in
from understudy.console import audit, site
from understudy.console.models import AuditEntry
from understudy.console.pages import ConsolePage, FormError, Pager
from understudy.context import AppContext

UNLUCKY = 13


class ProbeForm(Form):
    amount = IntegerField("Amount", [validators.InputRequired(), validators.NumberRange(min=1)])


class ProbePage(ConsolePage):
    """Writes an audit row of its own inside the change, so a refusal must undo it."""

    name = "Probe"

    @expose("/probe", methods=["GET", "POST"], identity="probe")
    async def probe(self, request: Request) -> Response:
        form = await self.form(request, ProbeForm)
        if request.method == "POST" and form.validate():
            amount = form.amount.data

            def work(session: Session) -> int:
                audit.record(session, "probe.side-effect", target=str(amount))
                if amount == UNLUCKY:
                    raise FormError("thirteen is refused", "amount")
                if amount == UNLUCKY + 1:
                    raise FormError("refused as a whole")
                return amount * 2

            try:
                await self.change(
                    request, "probe.change", "the probe", work, details=lambda r: {"twice": r}
                )
            except FormError as exc:
                exc.attach(form)
            else:
                return self.done(request, f"Probe took {amount}", self.url(request, "probe"))
        pager = Pager(request, size=10)
        pager.total = 95
        return await self.render(
            request, "console/probe.html", form=form, title="Probe", pager=pager
        )


@pytest.fixture
def app(ctx: AppContext, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """A bare app with the console and the probe page (its template from a temp folder)."""
    application = FastAPI()
    admin = site.mount(application, ctx)
    folder = tmp_path_factory.mktemp("templates") / "console"
    folder.mkdir()
    (folder / "probe.html").write_text(
        '{% extends "console/page.html" %}'
        '{% from "console/_forms.html" import render_form, pagination with context %}'
        "{% block page %}{{ render_form(form, request.url, 'Go', id='probe-form') }}"
        "{{ pagination(pager) }}{% endblock %}"
    )
    admin.templates.env.loader.loaders.insert(0, _loader(folder.parent))  # type: ignore[union-attr]
    admin.add_view(ProbePage)
    return application


def _loader(path: object) -> object:
    from jinja2 import FileSystemLoader

    return FileSystemLoader(str(path))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _actions(ctx: AppContext) -> list[tuple[str, str, int | None]]:
    with ctx.db.read() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.details, AuditEntry.operator_id).order_by(
                AuditEntry.id
            )
        )
        return [(a, d, o) for a, d, o in rows if a.startswith("probe.")]


async def _post(client: httpx.AsyncClient, amount: str) -> httpx.Response:
    return await client.post(
        "/admin/probe", data={"amount": amount, "csrf_token": await csrf_token(client)}
    )


async def test_a_change_is_audited_and_redirects_with_a_message(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    await log_in(client)
    answer = await _post(client, "21")
    assert answer.status_code == 303
    assert answer.headers["location"] == "http://testserver/admin/probe"
    assert _actions(ctx) == [
        ("probe.side-effect", "{}", None),
        ("probe.change", '{"twice":42}', operator),
    ]
    shown = await client.get("/admin/probe")
    assert "Probe took 21" in shown.text


@pytest.mark.parametrize(
    ("amount", "message"),
    [("", "This field is required."), ("0", "Number must be at least 1."), ("x", "Not a valid")],
)
async def test_invalid_values_are_shown_next_to_their_field(
    client: httpx.AsyncClient, ctx: AppContext, operator: int, amount: str, message: str
) -> None:
    await log_in(client)
    answer = await _post(client, amount)
    assert answer.status_code == 400
    assert 'class="form-control is-invalid"' in answer.text
    assert message in answer.text
    assert _actions(ctx) == []


async def test_a_refused_change_saves_nothing(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    await log_in(client)
    by_field = await _post(client, str(UNLUCKY))
    assert by_field.status_code == 400
    assert '<div class="invalid-feedback">thirteen is refused</div>' in by_field.text
    whole = await _post(client, str(UNLUCKY + 1))
    assert whole.status_code == 400
    assert "data-form-error>refused as a whole</div>" in whole.text
    assert _actions(ctx) == []  # the side effect inside the change was rolled back too


async def test_the_pager_reads_the_query_and_links_pages(
    client: httpx.AsyncClient, operator: int
) -> None:
    await log_in(client)
    page = await client.get("/admin/probe", params={"page": "3", "q": "x"})
    assert "page 3 of 10 (95 rows)" in page.text
    assert "/admin/probe?page=4&amp;q=x" in page.text or "q=x&amp;page=4" in page.text
    for odd in ("-2", "²", "9" * 5000):
        answer = await client.get("/admin/probe", params={"page": odd})
        assert answer.status_code == 200 and "page 1 of 10" in answer.text


async def test_the_probe_is_refused_without_a_session(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/probe")).status_code == 302
    answer = await client.post("/admin/probe", data={"amount": "1"})
    assert answer.status_code == 403
