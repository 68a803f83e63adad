"""Loans in the console: the loan book and each loan's schedule, as the API shows them."""

from __future__ import annotations

import httpx

from tests.console.nebeus.helpers import text_of, user_id
from tests.nebeus.helpers import rpc
from tests.nebeus.test_loans import GET, active_loan, borrower, request_loan
from understudy.context import AppContext

LOANS = "/admin/nebeus/loans"


async def test_the_list_shows_state_parties_and_amounts(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    _, _, active = await active_loan(signed_in, ctx)
    open_sid = await borrower(signed_in, ctx, "open@example.com")
    waiting = await request_loan(signed_in, open_sid, amount=100, currency="EUR", term=3)
    page = await signed_in.get(LOANS)
    assert page.status_code == 200
    row = page.text.split(f'<tr data-loan-id="{active}">', 1)[1].split("</tr>", 1)[0]
    assert "active" in row and "b@example.com" in row and "l@example.com" in row
    assert "600.00 EUR" in row
    row = page.text.split(f'<tr data-loan-id="{waiting}">', 1)[1].split("</tr>", 1)[0]
    assert "open" in row and "open@example.com" in row and "100.00 EUR" in row and "none" in row

    only_open = await signed_in.get(LOANS, params={"state": "open"})
    assert f'data-loan-id="{waiting}"' in only_open.text
    assert f'data-loan-id="{active}"' not in only_open.text
    by_lender = await signed_in.get(LOANS, params={"q": "l@example"})
    assert f'data-loan-id="{active}"' in by_lender.text
    assert f'data-loan-id="{waiting}"' not in by_lender.text
    assert "No loans" in (await signed_in.get(LOANS, params={"q": "nobody"})).text


async def test_the_loan_page_shows_the_schedule_of_the_api(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    b, _, loan_id = await active_loan(signed_in, ctx)
    api = await rpc(signed_in, GET, {"loan_id": loan_id}, session=b)
    page = await signed_in.get(f"{LOANS}/{loan_id}")
    assert page.status_code == 200
    assert text_of(page.text, "loan-state") == "active"
    assert text_of(page.text, "loan-amount") == "600.00 EUR"
    assert f'data-user-id="{user_id(ctx, "b@example.com")}"' in page.text
    assert len(api["instalments"]) == 6
    for inst in api["instalments"]:
        row = page.text.split(f'data-instalment-ref="{inst["id"]}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-state="{inst["state"]}"' in row
        assert inst["date"] in row
        assert f"{inst['amount']:.2f} EUR" in row
    assert text_of(page.text, "loan-outstanding") == f"{api['outstanding']:.2f} EUR"
    assert (await signed_in.get(f"{LOANS}/999999")).status_code == 404
