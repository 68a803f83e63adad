"""The overview page: each enabled service's numbers equal the data made through its APIs."""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ADMIN
from tests.console.conftest import log_in
from tests.fivesim.helpers import bearer, buy, new_user, sms, stock
from tests.nebeus.helpers import rpc
from tests.nebeus.test_accounts import deposit, wallet
from tests.nebeus.test_loans import (
    FUND,
    GET,
    REPAY,
    borrower,
    request_loan,
    signin,
)
from tests.nebeus.test_loans import (
    new_user as nebeus_user,
)
from understudy.app import create_app
from understudy.backoffice.models import Member
from understudy.backoffice.seed import admin_password
from understudy.backoffice.settings import get_settings as backoffice_settings
from understudy.config import Settings
from understudy.console.charts import Chart, Series
from understudy.console.overview import Window
from understudy.context import AppContext

CHARTS = ("orders", "revenue", "members", "loans")
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
_URL = re.compile(r"https?://[^\s\"'<>)]*")
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


class Overview(HTMLParser):
    """The page's sections, headline numbers, chart containers and chart tables."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.stats: dict[str, int] = {}
        self.charts: dict[str, dict[str, str]] = {}  # key -> container attributes
        self.tables: dict[str, dict[str, dict[str, str]]] = {}  # key -> x -> series -> text
        self.no_data: set[str] = set()
        self._stat: str | None = None
        self._table: str | None = None
        self._row: str | None = None
        self._cell: str | None = None
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        ident = a.get("id", "")
        if tag == "section" and ident.startswith("overview-"):
            self.sections.append(a["data-service"])
        elif ident.startswith("stat-"):
            self._stat, self._text = ident[len("stat-") :], []
        elif tag == "figure" and a.get("data-chart"):
            self.charts[a["data-chart"]] = a
        elif ident.endswith("-no-data"):
            self.no_data.add(ident[len("chart-") : -len("-no-data")])
        elif tag == "table" and ident.endswith("-table"):
            self._table = a["data-chart"]
            self.tables[self._table] = {}
        elif tag == "tr" and self._table and "data-x" in a:
            self._row = a["data-x"]
            self.tables[self._table][self._row] = {}
        elif tag == "td" and self._row is not None and "data-series" in a:
            self._cell, self._text = a["data-series"], []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text).strip()
        if self._stat and tag == "dd":
            self.stats[self._stat], self._stat = int(text.replace(",", "")), None
        elif tag == "td" and self._cell is not None:
            assert self._table is not None and self._row is not None
            self.tables[self._table][self._row][self._cell], self._cell = text, None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None

    def column(self, chart: str, series: str) -> dict[str, Decimal]:
        """{x: number} of one series of a chart's table (zeros left out)."""
        values = {
            x: Decimal(cells[series].replace(",", ""))
            for x, cells in self.tables[chart].items()
            if series in cells
        }
        return {x: v for x, v in values.items() if v}


def assert_self_contained(text: str) -> None:
    """The inline SVGs name no URL but the SVG and XLink namespaces, and carry no script."""
    drawings = _SVG.findall(text)
    assert drawings
    for svg in drawings:
        assert set(_URL.findall(svg)) <= NAMESPACES, set(_URL.findall(svg)) - NAMESPACES
        assert "<script" not in svg and "href" not in svg


async def overview(client: httpx.AsyncClient) -> Overview:
    """GET the overview and parse it."""
    page = await client.get("/admin/")
    assert page.status_code == 200, page.text
    assert_self_contained(page.text)
    return Overview(page.text)


async def clock(client: httpx.AsyncClient) -> datetime:
    """The sandbox clock."""
    answer = await client.get("/_understudy/clock", headers=ADMIN)
    return datetime.fromisoformat(answer.json()["now"].replace("Z", "+00:00"))


async def advance(client: httpx.AsyncClient, seconds: float) -> datetime:
    """Move the sandbox clock (running due timers); returns the new now."""
    answer = await client.post("/_understudy/clock", json={"advance": seconds}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return datetime.fromisoformat(answer.json()["now"].replace("Z", "+00:00"))


async def early_tomorrow(client: httpx.AsyncClient, zone: tzinfo) -> date:
    """Move the clock to 01:00 of the next day in `zone` (far from any midnight); that day."""
    now = await clock(client)
    day = now.astimezone(zone).date() + timedelta(days=1)
    target = datetime.combine(day, time(1), tzinfo=zone)
    await advance(client, (target - now).total_seconds())
    return day


async def test_an_empty_database_shows_empty_charts(signed_in: httpx.AsyncClient) -> None:
    await advance(signed_in, 15 * 86400)  # the root member, seeded by the reset, leaves the window
    page = await overview(signed_in)
    assert page.sections == ["fivesim", "nebeus", "backoffice"]
    assert set(page.charts) == set(CHARTS)
    assert {key for key, a in page.charts.items() if a["data-empty"] == "true"} == set(CHARTS)
    assert page.no_data == set(CHARTS)
    assert page.stats == {
        "fivesim-users": 0,
        "fivesim-orders-today": 0,
        "fivesim-numbers-in-stock": 0,
        "nebeus-users": 0,
        "nebeus-kyc-waiting": 0,
        "backoffice-members": 1,  # the root member `admin`
        "backoffice-open-tickets": 0,
    }
    assert all(page.tables[key] == {} for key in CHARTS)


async def _order(client: httpx.AsyncClient, token: str, product: str = "vkontakte") -> int:
    answer = await buy(client, token, f"russia/beeline/{product}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def _finish(client: httpx.AsyncClient, token: str, order_id: int) -> None:
    await sms(client, order_id, "Your code: 12345")
    answer = await client.get(f"/v1/user/finish/{order_id}", headers=bearer(token))
    assert answer.status_code == 200 and answer.json()["status"] == "FINISHED", answer.text


async def test_fivesim_orders_revenue_and_headline_follow_the_clock(
    signed_in: httpx.AsyncClient,
) -> None:
    client = signed_in
    first = (await early_tomorrow(client, UTC)).isoformat()
    await stock(client, count=5, price=21.5)
    _, alice = await new_user(client, "alice@example.com", balance=500)
    _, bob = await new_user(client, "bob@example.com", balance=500)
    await _finish(client, alice, await _order(client, alice))
    await _finish(client, bob, await _order(client, bob))
    canceled = await _order(client, alice)
    answer = await client.get(f"/v1/user/cancel/{canceled}", headers=bearer(alice))
    assert answer.json()["status"] == "CANCELED", answer.text
    await _order(client, alice)  # stays PENDING today

    page = await overview(client)
    assert page.stats == page.stats | {
        "fivesim-users": 3,  # alice, bob and the sandbox vendor owning the stock's numbers
        "fivesim-orders-today": 4,
        "fivesim-numbers-in-stock": 4,  # 5 numbers, one in an active order
    }
    assert page.tables["orders"][first] == {
        "FINISHED": "2",
        "PENDING": "1",
        "CANCELED": "1",
        "total": "4",
    }
    assert page.column("revenue", "Revenue (RUB)") == {first: Decimal("43.00")}
    assert page.charts["orders"]["data-empty"] == "false"

    await advance(client, 86400)  # the pending order times out
    second = (date.fromisoformat(first) + timedelta(days=1)).isoformat()
    await stock(client, product="telegram", count=2, price=10.25)
    await _finish(client, bob, await _order(client, bob, "telegram"))
    page = await overview(client)
    assert page.tables["orders"][first] == {
        "FINISHED": "2",
        "CANCELED": "1",
        "TIMEOUT": "1",
        "total": "4",
    }
    assert page.column("orders", "FINISHED") == {first: 2, second: 1}
    assert page.column("revenue", "Revenue (RUB)") == {
        first: Decimal("43.00"),
        second: Decimal("10.25"),
    }
    assert page.stats["fivesim-orders-today"] == 1

    await advance(client, 13 * 86400)  # the first day leaves the 14-day window
    page = await overview(client)
    assert first not in page.tables["orders"] and first not in page.tables["revenue"]
    assert next(iter(page.tables["orders"])) == second
    assert page.tables["orders"][second] == {"FINISHED": "1"}
    assert page.column("revenue", "Revenue (RUB)") == {second: Decimal("10.25")}
    assert page.stats["fivesim-orders-today"] == 0


@pytest.fixture
def fast_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-office sign-ups without argon2 (the members never log in)."""
    members = importlib.import_module("understudy.backoffice.service")
    monkeypatch.setattr(members, "hash_password", lambda password: f"plain:{password}")


async def _backoffice_auth(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    key = (await client.post("/_understudy/backoffice/api-keys", headers=ADMIN)).json()["key"]
    with ctx.db.read() as session:
        password = admin_password(session)
    answer = await client.post(
        "/api/v1/login",
        data={"username": "admin", "password": password},
        headers={"x-api-key": key},
    )
    assert answer.status_code == 200, answer.text
    return {"x-api-key": key, "jwt-token": answer.json()["token"]}


async def _sign_up(client: httpx.AsyncClient, auth: dict[str, str], name: str) -> None:
    form = {
        "sponsor": "admin",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"{name}@example.com",
        "user_name": name,
        "mobile": "87501549",
        "password": "abcd1234",
        "country_code": "US",
    }
    answer = await client.post("/api/v1/users", data=form, headers=auth)
    assert answer.status_code == 200, answer.text


async def test_backoffice_members_per_day_in_its_time_zone_and_open_tickets(
    signed_in: httpx.AsyncClient, ctx: AppContext, fast_hash: None
) -> None:
    client = signed_in
    zone = ZoneInfo(backoffice_settings().time_zone)
    first = await early_tomorrow(client, zone)
    auth = await _backoffice_auth(client, ctx)
    for name in ("ann", "ben", "cid"):
        await _sign_up(client, auth, name)
    await advance(client, 86400)
    auth = await _backoffice_auth(client, ctx)  # the first token has expired
    for name in ("dee", "eve"):
        await _sign_up(client, auth, name)
    for subject in ("one", "two", "three"):
        answer = await client.post(
            "/api/v1/user_tickets",
            data={"user_id": "2", "subject": subject, "comment": "help"},
            headers=auth,
        )
        assert answer.status_code == 200, answer.text
    closed = await client.post(
        "/_understudy/backoffice/tickets/2", json={"status": "Closed"}, headers=ADMIN
    )
    assert closed.status_code == 200, closed.text

    page = await overview(client)
    days = page.column("members", "New members")
    second = first + timedelta(days=1)
    assert (days[first.isoformat()], days[second.isoformat()]) == (3, 2)
    assert sum(days.values()) == 6  # and the root member, made by the reset
    assert page.stats["backoffice-members"] == 6
    assert page.stats["backoffice-open-tickets"] == 2
    with ctx.db.read() as session:  # the sign-ups are counted in the back office's zone
        made = session.scalars(select(Member.created_at).where(Member.id > 1)).all()
    assert sorted({moment.astimezone(zone).date() for moment in made}) == [first, second]


async def _expected_book(
    client: httpx.AsyncClient, ctx: AppContext, loans: dict[int, str]
) -> dict[str, dict[str, Decimal]]:
    """{state: {currency: principal}} of the loan book, from the loans as the API shows them."""
    book: dict[str, dict[str, Decimal]] = {}
    for loan_id, login in loans.items():
        loan = await rpc(client, GET, {"loan_id": loan_id}, session=signin(ctx, login))
        states = [i["state"] for i in loan["instalments"]]
        counted = {
            "active": ("scheduled", "late"),
            "repaid": ("paid",),
            "defaulted": ("defaulted",),
        }[loan["state"]]
        bucket = "late" if loan["state"] == "active" and "late" in states else loan["state"]
        principal = sum(
            (Decimal(str(i["principal"])) for i in loan["instalments"] if i["state"] in counted),
            start=Decimal(0),
        )
        by_currency = book.setdefault(bucket, {})
        by_currency[loan["currency"]] = by_currency.get(loan["currency"], Decimal(0)) + principal
    return book


def _shown_book(page: Overview) -> dict[str, dict[str, Decimal]]:
    shown: dict[str, dict[str, Decimal]] = {}
    for state in ("active", "late", "repaid", "defaulted"):
        for currency, value in page.column("loans", state).items():
            shown.setdefault(state, {})[currency] = value
    return shown


async def _loan(
    client: httpx.AsyncClient, ctx: AppContext, who: str, currency: str = "EUR", **params: Any
) -> int:
    """A disbursed loan of borrower `<who>b@example.com` funded by `<who>l@example.com`."""
    sid = await borrower(client, ctx, f"{who}b@example.com")
    lender = await nebeus_user(client, ctx, f"{who}l@example.com")
    await deposit(client, f"{who}l@example.com", currency, 2000)
    loan_id = await request_loan(client, sid, currency=currency, interest_rate=0, **params)
    account_id = (await wallet(client, lender, currency))["id"]
    funded = await rpc(client, FUND, {"loan_id": loan_id, "account_id": account_id}, session=lender)
    assert funded["state"] == "funded", funded
    await advance(client, 0)  # disbursed by its timer
    return loan_id


async def test_nebeus_loan_book_users_and_kyc_queue(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    client = signed_in
    active = await _loan(client, ctx, "a", amount=300, term=3)
    assert (await rpc(client, REPAY, {"loan_id": active}, session=signin(ctx, "ab@example.com")))[
        "status"
    ] == "success"
    repaid = await _loan(client, ctx, "r", "USD", amount=200, term=2)
    for _ in range(2):
        paid = await rpc(client, REPAY, {"loan_id": repaid}, session=signin(ctx, "rb@example.com"))
        assert paid["status"] == "success", paid
    coins = await _loan(client, ctx, "c", "BTC", amount=0.01, term=2)
    late = await _loan(client, ctx, "d", amount=400, term=2)
    sid = signin(ctx, "db@example.com")
    available = (await wallet(client, sid, "EUR"))["available"]  # held, so nothing to collect
    await request_loan(
        client, sid, amount=1, collateral_amount=available, collateral_currency="EUR"
    )
    for login, item in (("al@example.com", "identity"), ("rl@example.com", "address")):
        answer = await client.post(
            "/_understudy/nebeus/verification",
            json={"login": login, "item": item, "status": "pending"},
            headers=ADMIN,
        )
        assert answer.status_code == 200, answer.text
    loans = {
        active: "ab@example.com",
        repaid: "rb@example.com",
        coins: "cb@example.com",
        late: "db@example.com",
    }

    page = await overview(client)
    assert _shown_book(page) == await _expected_book(client, ctx, loans)
    assert _shown_book(page) == {
        "active": {"EUR": Decimal(200) + Decimal(400), "BTC": Decimal("0.01")},
        "repaid": {"USD": Decimal(200)},
    }
    assert page.tables["loans"]["BTC"]["active"] == "0.01000000"  # in each currency's digits
    assert page.tables["loans"]["EUR"]["active"] == "600.00"
    assert page.stats["nebeus-users"] == 8
    assert page.stats["nebeus-kyc-waiting"] == 2

    first_due = (await rpc(client, GET, {"loan_id": late}, session=sid))["instalments"][0]["date"]
    due = datetime.strptime(first_due, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    await advance(client, (due - await clock(client)).total_seconds() + 60)
    page = await overview(client)
    book = await _expected_book(client, ctx, loans)
    assert _shown_book(page) == book
    assert book["late"] == {"EUR": Decimal(400)}

    await advance(client, 32 * 86400)  # more than 30 days late: the loan defaults
    page = await overview(client)
    book = await _expected_book(client, ctx, loans)
    assert _shown_book(page) == book
    assert book["defaulted"] == {"EUR": Decimal(400)} and "late" not in book


@pytest.fixture
async def fivesim_only(
    settings: Settings, ctx: AppContext, operator: int
) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in client of an app on the same database with only fivesim enabled."""
    only = Settings(**{**settings.model_dump(), "services": "fivesim", "_env_file": None})
    assert only.enabled_services == ("fivesim",)
    context = AppContext.from_settings(only)
    transport = httpx.ASGITransport(app=create_app(ctx=context), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answer = await log_in(client)
            assert answer.status_code == 302, answer.text
            yield client
    finally:
        context.close()


async def test_a_disabled_service_has_no_section(fivesim_only: httpx.AsyncClient) -> None:
    page = await overview(fivesim_only)
    assert page.sections == ["fivesim"]
    assert set(page.charts) == {"orders", "revenue"}
    assert set(page.stats) == {"fivesim-users", "fivesim-orders-today", "fivesim-numbers-in-stock"}


def test_days_follow_the_zone_across_a_daylight_saving_change() -> None:
    zone = ZoneInfo("America/Los_Angeles")
    window = Window.ending(datetime(2026, 11, 5, 12, tzinfo=UTC), zone)  # DST ended Nov 1
    assert window.labels[0] == "2026-10-23" and window.labels[-1] == "2026-11-05"
    lengths = {
        window.days[i].isoformat(): (window.bounds[i + 1] - window.bounds[i]) / timedelta(hours=1)
        for i in range(len(window.days))
    }
    assert lengths["2026-11-01"] == 25
    assert {hours for day, hours in lengths.items() if day != "2026-11-01"} == {24}
    assert all(b.astimezone(zone).time() == time(0) for b in window.bounds)


def test_chart_text_is_escaped_in_the_svg() -> None:
    hostile = '<script>alert("x")</script>'
    chart = Chart("t", hostile, hostile, hostile, [hostile], [Series(hostile, [1])])
    svg = str(chart.svg())
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert_self_contained(svg)
