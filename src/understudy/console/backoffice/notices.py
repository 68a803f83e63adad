"""Notices: the list and a form to publish one (for everyone, one member or a plan's holders)."""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from understudy.backoffice import content, plans
from understudy.backoffice.models import Member, Notice, Plan
from understudy.console.backoffice.forms import CONTROL, no_nul, stripped
from understudy.console.pages import ConsolePage, FormError, Pager


class NoticeForm(Form):
    title = StringField(
        "Title",
        validators=[DataRequired("A title is required."), Length(max=500), no_nul],
        filters=[stripped],
        render_kw=CONTROL,
    )
    content = TextAreaField(
        "Content",
        validators=[DataRequired("Content is required."), Length(max=20_000), no_nul],
        render_kw={**CONTROL, "rows": 5},
        description="Shown verbatim to members (HTML such as <div>…</div> is allowed).",
    )
    username = StringField(
        "Only for member",
        validators=[Length(max=30), no_nul],
        filters=[stripped],
        render_kw={**CONTROL, "placeholder": "username (blank: everyone)"},
    )
    plan = SelectField(
        "Only for plan", choices=[("", "any plan")], render_kw={"class": "form-select"}
    )


def notice_rows(session: Session, pager: Pager) -> list[dict[str, Any]]:
    """One page of notices, newest first, with their audience."""
    pager.total = session.scalar(select(func.count()).select_from(Notice)) or 0
    rows = session.execute(
        select(Notice.id, Notice.title, Notice.content, Member.username, Plan.name.label("plan"))
        .outerjoin(Member, Member.id == Notice.user_id)
        .outerjoin(Plan, Plan.id == Notice.plan_id)
        .order_by(Notice.id.desc())
        .offset(pager.offset)
        .limit(pager.size)
    ).all()
    return [row._asdict() for row in rows]


def plan_names(session: Session) -> list[str]:
    """Every plan's name, by id."""
    return [p.name for p in plans.list_plans(session)]


class NoticesPage(ConsolePage):
    """Notices for members."""

    name = "Notices"
    category = "backoffice"
    icon = "fa-solid fa-bullhorn"

    @expose("/backoffice/notices", methods=["GET", "POST"], identity="backoffice-notices")
    async def notices(self, request: Request) -> Response:
        """Notices, newest first; POST publishes one."""
        names = await self.read(request, plan_names)
        form = await self.form(request, NoticeForm)
        form.plan.choices = [("", "any plan"), *((n, n) for n in names)]
        if request.method == "POST" and form.validate():
            title, text = form.title.data, form.content.data
            username, plan = form.username.data or None, form.plan.data or None

            def work(session: Session) -> None:
                problem = content.add_notice(
                    session, title=title, content=text, username=username, plan=plan
                )
                if problem:
                    raise FormError(
                        problem, "username" if problem.startswith("no member") else "plan"
                    )

            try:
                await self.change(
                    request,
                    "backoffice.notice_create",
                    "backoffice notices",
                    work,
                    {"title": title, "username": username, "plan": plan},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                return self.done(
                    request, "Notice published", self.url(request, "backoffice-notices")
                )
        pager = Pager(request, size=50)
        rows = await self.read(request, lambda s: notice_rows(s, pager))
        return await self.render(
            request,
            "console/backoffice/notices.html",
            title="Notices",
            pretitle="backoffice",
            form=form,
            rows=rows,
            pager=pager,
            action=self.url(request, "backoffice-notices"),
        )
