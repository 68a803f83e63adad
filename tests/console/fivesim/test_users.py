"""Users: the list with ledger balances, a user's page, and the top-up form (a `charge`)."""

from __future__ import annotations

import re

import httpx

from tests.console.fivesim.conftest import BASE, audit_rows, field_error, post_form
from tests.fivesim.helpers import bearer, buy, new_user, profile, stock
from understudy.context import AppContext


def shown_balance(page: httpx.Response) -> str:
    """The balance in the element the browser tests read."""
    found = re.search(r'id="user-balance"[^>]*>([^<]*)<', page.text)
    assert found is not None
    return found.group(1)


async def test_the_list_shows_balances_and_searches(signed_in: httpx.AsyncClient) -> None:
    alice, _ = await new_user(signed_in, "alice@example.com", balance=100)
    bob, _ = await new_user(signed_in, "bob@example.com", vendor="bobshop")
    page = await signed_in.get(f"{BASE}/users")
    assert page.status_code == 200
    assert f'data-user-id="{alice}"' in page.text and f'data-user-id="{bob}"' in page.text
    assert 'data-balance="100.00"' in page.text
    found = await signed_in.get(f"{BASE}/users", params={"q": "ALICE"})
    assert f'data-user-id="{alice}"' in found.text and f'data-user-id="{bob}"' not in found.text
    by_vendor = await signed_in.get(f"{BASE}/users", params={"q": "bobshop"})
    assert f'data-user-id="{bob}"' in by_vendor.text
    assert f'data-user-id="{alice}"' not in by_vendor.text
    assert "token" not in page.text.lower()


async def test_top_up_posts_a_charge(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    user_id, token = await new_user(signed_in, balance=10)
    page = await signed_in.get(f"{BASE}/users/{user_id}")
    assert page.status_code == 200 and 'id="top-up-form"' in page.text
    assert shown_balance(page) == "10.00"
    rating = (await profile(signed_in, token))["rating"]

    done = await post_form(signed_in, f"{BASE}/users/{user_id}", {"amount": "12.34"})
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"{BASE}/users/{user_id}")
    after = await signed_in.get(done.headers["location"])
    assert shown_balance(after) == "22.34" and "Topped up 12.34 RUB." in after.text

    body = await profile(signed_in, token)
    assert body["balance"] == 22.34 and body["rating"] == rating  # capped at 96 already
    history = await signed_in.get(
        "/v1/user/payments", params={"reverse": "true"}, headers=bearer(token)
    )
    newest = history.json()["Data"][0]
    assert (newest["TypeName"], newest["ProviderName"], newest["Amount"]) == (
        "charge",
        "admin",
        12.34,
    )
    [(target, details, who)] = audit_rows(ctx, "fivesim.top_up")
    assert target == f"fivesim:user:{user_id}" and '"amount":"12.34"' in details
    assert who is not None


async def test_a_top_up_raises_a_low_rating(signed_in: httpx.AsyncClient) -> None:
    user_id, token = await new_user(signed_in, rating=10)
    done = await post_form(signed_in, f"{BASE}/users/{user_id}", {"amount": "1"})
    assert done.status_code == 303
    assert (await profile(signed_in, token))["rating"] == 18  # +8, like the CLI's top-up


async def test_bad_amounts_are_refused_next_to_the_field(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    user_id, token = await new_user(signed_in, balance=5)
    for amount, message in (
        ("", "Enter an amount."),
        ("0", "greater than 0"),
        ("-3", "greater than 0"),
        ("1.234", "At most 2 decimals"),
        ("abc", "Enter a number"),
        ("NaN", "Enter a number"),
        ("1e3", "Enter a number"),
        ("1000000000.01", "at most"),
    ):
        answer = await post_form(signed_in, f"{BASE}/users/{user_id}", {"amount": amount})
        assert answer.status_code == 400, amount
        errors = field_error(answer)
        assert len(errors) == 1 and message in errors[0], (amount, errors)
        assert 'name="amount"' in answer.text and "is-invalid" in answer.text
    assert (await profile(signed_in, token))["balance"] == 5
    assert audit_rows(ctx, "fivesim.top_up") == []


async def test_an_unknown_user_is_404_and_nothing_is_recorded(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    assert (await signed_in.get(f"{BASE}/users/999999")).status_code == 404
    answer = await post_form(signed_in, f"{BASE}/users/999999", {"amount": "5"})
    assert answer.status_code == 404
    assert audit_rows(ctx, "fivesim.top_up") == []


async def test_a_top_up_needs_the_csrf_token(signed_in: httpx.AsyncClient) -> None:
    user_id, token = await new_user(signed_in)
    answer = await signed_in.post(f"{BASE}/users/{user_id}", data={"amount": "5"})
    assert answer.status_code == 403
    assert (await profile(signed_in, token))["balance"] == 0


async def test_money_in_an_open_order_shows_as_frozen(signed_in: httpx.AsyncClient) -> None:
    await stock(signed_in, price=21)
    user_id, token = await new_user(signed_in, balance=100)
    order = (await buy(signed_in, token)).json()["id"]
    page = await signed_in.get(f"{BASE}/users/{user_id}")
    assert shown_balance(page) == "79.00" and 'id="user-frozen">21.00<' in page.text
    assert f'data-order-id="{order}"' in page.text
    body = await profile(signed_in, token)
    assert (body["balance"], body["frozen_balance"]) == (79, 21)
    listed = await signed_in.get(f"{BASE}/users", params={"q": str(user_id)})
    assert 'data-balance="79.00"' in listed.text
