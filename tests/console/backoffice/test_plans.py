"""Plans in the console: created and edited like `understudy backoffice plan`, sold through the
control plane at their new price."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from tests.conftest import ADMIN
from tests.console.backoffice.conftest import audited, errors_at, field_errors, post
from understudy.backoffice.models import Plan
from understudy.context import AppContext

PAGE = "/admin/backoffice/plans"
RULES = {
    "price": "80",
    "bv": "60",
    "image": "gold.png",
    "direct": "12.5",
    "unilevel": "5, 2",
    "binary": "8",
    "binary_cap": "",
    "max_carry": "1000",
    "matrix_on": "y",
    "matrix": "3,3,3",
    "matrix_directs_needed": "2",
    "matrix_hold_days": "15",
    "pair_left": "",
    "pair_right": "",
    "pair_value": "",
    "first_pair": "2:1",
}


def plan(ctx: AppContext, name: str) -> Plan | None:
    with ctx.db.read() as session:
        found = session.scalar(select(Plan).where(Plan.name == name))
        session.expunge_all()
        return found


async def sell(
    client: httpx.AsyncClient, auth: dict[str, str], member: int, plan: str
) -> list[dict[str, object]]:
    """Buy the plan for the member through the control plane; returns its API products."""
    await client.post(
        "/_understudy/backoffice/credit",
        json={"username": "admin", "wallet_id": 3, "amount": "500", "description": "funds"},
        headers=ADMIN,
    )
    bought = await client.post(
        "/_understudy/backoffice/purchases",
        json={"username": "orivera11", "plan": plan},
        headers=ADMIN,
    )
    assert bought.status_code == 200, bought.text
    products = await client.get(f"/api/v1/products/{member}", headers=auth)
    return products.json()["plans"]  # type: ignore[no-any-return]


async def test_a_new_plan_is_sold_at_its_price(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    form = await signed_in.get(f"{PAGE}/new")
    assert form.status_code == 200 and 'id="plan-create-form"' in form.text
    answer = await post(signed_in, f"{PAGE}/new", {"name": "Gold", **RULES})
    assert answer.status_code == 303, field_errors(answer)
    gold = plan(ctx, "Gold")
    assert gold is not None
    assert (gold.price, gold.bv, gold.direct_bp, gold.unilevel_bp) == (8000, 6000, 1250, [500, 200])
    assert (gold.binary_cap, gold.max_carry, gold.matrix_on, gold.matrix_bp) == (
        None,
        100000,
        True,
        [300, 300, 300],
    )
    assert gold.first_pair == "2:1"
    products = await sell(signed_in, auth, member, "Gold")
    assert products[-1]["plan"] == "Gold" and products[-1]["price"] == 80.0
    listed = await signed_in.get(PAGE)
    assert f'data-plan-id="{gold.id}" data-plan="Gold"' in listed.text
    (entry,) = audited(ctx, "backoffice.plan_create")
    assert entry.target == "backoffice plan Gold"


async def test_an_edited_price_applies_to_later_purchases(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    entrepreneur = plan(ctx, "Entrepreneur")
    assert entrepreneur is not None
    url = f"{PAGE}/{entrepreneur.id}"
    page = await signed_in.get(url)
    assert re.search(r'id="price" [^>]*value="50"', page.text)
    answer = await post(signed_in, url, {**RULES, "price": "75.5", "image": "plan.png"})
    assert answer.status_code == 303, field_errors(answer)
    products = await sell(signed_in, auth, member, "Entrepreneur")
    assert products[-1]["price"] == 75.5
    assert len(audited(ctx, "backoffice.plan_update")) == 1


async def test_bad_rules_are_refused_next_to_their_field(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    for change, field, message in (
        ({"price": ""}, "price", "Price is required."),
        ({"price": "abc"}, "price", "price: "),
        ({"direct": "150"}, "direct", "direct: a percentage from 0 to 100 with at most 2 decimals"),
        ({"unilevel": "5, x"}, "unilevel", "unilevel: 'x' is not a percentage"),
        ({"price": "-5"}, "price", "price must not be negative"),
        ({"image": "a/b.png"}, "image", "image must be a file name"),
        ({"matrix_hold_days": "-1"}, "matrix_hold_days", "Number must be between 0 and 36500."),
        ({"first_pair": "3:1"}, "first_pair", "Not a valid choice."),
    ):
        answer = await post(signed_in, f"{PAGE}/new", {"name": "Broken", **RULES, **change})
        assert answer.status_code == 400, change
        errors = field_errors(answer)
        assert len(errors) == 1 and errors[0].startswith(message), (change, errors)
        assert errors_at(answer, field) == errors
        assert plan(ctx, "Broken") is None
    assert audited(ctx, "backoffice.plan_create") == []


async def test_a_taken_name_is_refused_and_nothing_changes(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    before = plan(ctx, "Entrepreneur")
    answer = await post(signed_in, f"{PAGE}/new", {"name": "Entrepreneur", **RULES})
    assert answer.status_code == 400
    assert errors_at(answer, "name") == ["a plan named 'Entrepreneur' exists"]
    after = plan(ctx, "Entrepreneur")
    assert before is not None and after is not None and after.price == before.price == 5000
    assert (await signed_in.get(f"{PAGE}/999999")).status_code == 404
