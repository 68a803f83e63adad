"""Plans and their commission rules: list, create and edit (like `understudy backoffice plan`)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import BooleanField, Form, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from understudy.backoffice import plans
from understudy.backoffice.models import Plan
from understudy.console.backoffice.forms import CONTROL, no_nul, stripped
from understudy.console.pages import ConsolePage, FormError
from understudy.core.db import row_by_id

MONEY = "Decimal USD, e.g. 50 or 12.5."
RATE = "Percentage of the price (BV for binary), e.g. 10 or 2.5."
RATES = "Comma-separated percentages per level, e.g. 5, 3, 2 (blank: none)."


def _text(label: str, description: str, *, required: bool = False) -> StringField:
    first = DataRequired(f"{label} is required.") if required else Optional()
    return StringField(
        label,
        validators=[first, Length(max=200), no_nul],
        filters=[stripped],
        description=description,
        render_kw=CONTROL,
    )


NAME = _text("Name", "Unique, shown to members.", required=True)  # made first: shown first


class RulesForm(Form):
    """Every rule of a plan, as operators type them."""

    price = _text("Price", MONEY, required=True)
    bv = _text("BV", "Business volume, decimal.", required=True)
    image = _text("Image", "Image file name, e.g. plan.png.", required=True)
    direct = _text("Direct %", RATE)
    unilevel = _text("Unilevel %", RATES)
    binary = _text("Binary %", RATE)
    binary_cap = _text("Binary cap", "Per period, decimal USD; blank: no cap.")
    max_carry = _text("Max carry", "Decimal BV; blank: unlimited.")
    matrix_on = BooleanField("Matrix on")
    matrix = _text("Matrix %", RATES)
    matrix_directs_needed = IntegerField(
        "Matrix directs needed",
        default=0,
        validators=[InputRequired("A whole number is required."), NumberRange(0, 1_000_000)],
        render_kw=CONTROL,
    )
    matrix_hold_days = IntegerField(
        "Matrix hold days",
        default=0,
        validators=[InputRequired("A whole number is required."), NumberRange(0, 36_500)],
        render_kw=CONTROL,
    )
    pair_left = _text("Pair left BV", "BINARY_MODE=pairs: left BV of a pair.")
    pair_right = _text("Pair right BV", "BINARY_MODE=pairs: right BV of a pair.")
    pair_value = _text("Pair value", "BINARY_MODE=pairs: what a pair pays, decimal USD.")
    first_pair = SelectField(
        "First pair",
        choices=[(p, p) for p in plans.FIRST_PAIRS],
        render_kw={"class": "form-select"},
    )


class NewPlanForm(RulesForm):
    name = NAME


def _money(cents: int | None) -> str:
    return "" if cents is None else format((Decimal(cents) / 100).normalize(), "f")


def _pct(bp: int) -> str:
    return format((Decimal(bp) / 100).normalize(), "f")


def rules_of(plan: Plan) -> dict[str, Any]:
    """The plan's rules as the form shows them."""
    return {
        "price": _money(plan.price),
        "bv": _money(plan.bv),
        "image": plan.image,
        "direct": _pct(plan.direct_bp),
        "unilevel": ", ".join(_pct(x) for x in plan.unilevel_bp),
        "binary": _pct(plan.binary_bp),
        "binary_cap": _money(plan.binary_cap),
        "max_carry": _money(plan.max_carry),
        "matrix_on": plan.matrix_on,
        "matrix": ", ".join(_pct(x) for x in plan.matrix_bp),
        "matrix_directs_needed": plan.matrix_directs_needed,
        "matrix_hold_days": plan.matrix_hold_days,
        "pair_left": _money(plan.pair_left),
        "pair_right": _money(plan.pair_right),
        "pair_value": _money(plan.pair_value),
        "first_pair": plan.first_pair,
    }


def changes_from(form: RulesForm) -> plans.PlanChanges:
    """Every rule from the form (blank optional rates are zero, blank caps none)."""

    def text(name: str, blank: str = "0") -> str:
        return getattr(form, name).data or blank

    return plans.PlanChanges(
        price=text("price"),
        bv=text("bv"),
        image=text("image", ""),
        direct=text("direct"),
        unilevel=text("unilevel", ""),
        binary=text("binary"),
        binary_cap=text("binary_cap", "none"),
        max_carry=text("max_carry", "none"),
        matrix_on=bool(form.matrix_on.data),
        matrix=text("matrix", ""),
        matrix_directs_needed=form.matrix_directs_needed.data,
        matrix_hold_days=form.matrix_hold_days.data,
        pair_left=text("pair_left"),
        pair_right=text("pair_right"),
        pair_value=text("pair_value"),
        first_pair=form.first_pair.data,
    )


def problem_field(message: str, form: Form) -> str | None:
    """The form field a PlanProblem message is about (its first word), if any."""
    first = message.split(" ", 1)[0].rstrip(":")
    if message.startswith("a plan named"):
        return "name"
    return first if hasattr(form, first) else None


def plan_rows(session: Session) -> list[dict[str, Any]]:
    """Every plan with its rules, by id."""
    return [{"id": p.id, "name": p.name, **rules_of(p)} for p in plans.list_plans(session)]


class PlansPage(ConsolePage):
    """Plans and their commission rules."""

    name = "Plans"
    category = "backoffice"
    icon = "fa-solid fa-layer-group"

    @expose("/backoffice/plans", identity="backoffice-plans")
    async def plans(self, request: Request) -> Response:
        """Plans and their commission rules."""
        rows = await self.read(request, plan_rows)
        return await self.render(
            request,
            "console/backoffice/plans.html",
            title="Plans and commission rules",
            pretitle="backoffice",
            rows=rows,
            new_url=self.url(request, "backoffice-plan-new"),
            edit_url=lambda plan_id: self.url(request, "backoffice-plan", plan_id=plan_id),
        )

    @expose("/backoffice/plans/new", methods=["GET", "POST"], identity="backoffice-plan-new")
    async def new(self, request: Request) -> Response:
        """Create a plan (rules default to zero)."""
        form = await self.form(request, NewPlanForm, image="plan.png")
        if request.method == "POST" and form.validate():
            name, changes = form.name.data, changes_from(form)

            def work(session: Session) -> int:
                try:
                    return plans.create_plan(session, name=name, changes=changes).id
                except plans.PlanProblem as exc:
                    raise FormError(str(exc), problem_field(str(exc), form)) from None

            try:
                await self.change(
                    request,
                    "backoffice.plan_create",
                    f"backoffice plan {name}",
                    work,
                    lambda plan_id: {"plan_id": plan_id, **asdict(changes)},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                return self.done(
                    request, f"Plan {name} created", self.url(request, "backoffice-plans")
                )
        return await self.render(
            request,
            "console/backoffice/plan_form.html",
            title="New plan",
            pretitle="backoffice plans",
            form=form,
            action=self.url(request, "backoffice-plan-new"),
            form_id="plan-create-form",
            list_url=self.url(request, "backoffice-plans"),
        )

    @expose("/backoffice/plans/{plan_id:int}", methods=["GET", "POST"], identity="backoffice-plan")
    async def edit(self, request: Request) -> Response:
        """Change a plan's price and rules (purchases made keep what they paid)."""
        plan_id = request.path_params["plan_id"]

        def current(session: Session) -> dict[str, Any] | None:
            plan = row_by_id(session, Plan, plan_id)
            return None if plan is None else {"name": plan.name, **rules_of(plan)}

        found = await self.read(request, current)
        if found is None:
            return await self.render(
                request,
                "console/backoffice/not_found.html",
                status_code=404,
                title="No such plan",
                pretitle="backoffice",
                what=f"plan {plan_id}",
            )
        name = found.pop("name")
        form = await self.form(request, RulesForm, **found)
        if request.method == "POST" and form.validate():
            changes = changes_from(form)

            def work(session: Session) -> None:
                try:
                    plans.update_plan(session, name=name, changes=changes)
                except plans.PlanProblem as exc:
                    raise FormError(str(exc), problem_field(str(exc), form)) from None

            try:
                await self.change(
                    request,
                    "backoffice.plan_update",
                    f"backoffice plan {name}",
                    work,
                    {"plan_id": plan_id, **asdict(changes)},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                return self.done(
                    request, f"Plan {name} updated", self.url(request, "backoffice-plans")
                )
        return await self.render(
            request,
            "console/backoffice/plan_form.html",
            title=f"Plan {name}",
            pretitle="backoffice plans",
            form=form,
            action=self.url(request, "backoffice-plan", plan_id=plan_id),
            form_id="plan-edit-form",
            list_url=self.url(request, "backoffice-plans"),
        )
