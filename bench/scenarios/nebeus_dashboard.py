"""nebeus-dashboard: the dashboard and graphic of a user with a long history.

Setup signs up the user and a peer over the API, then bulk-loads 10,000 posted ledger lines on
the user's wallets (deposits and transfers with the peer, spread over a year) straight into the
server's database, and makes 50 loans through the loan rules: 25 borrowed from the peer
(disbursed, some instalments collected) and 25 lent to the peer. The database is found from
`BENCH_DB_URL` (pass `--env BENCH_DB_URL=...`) or the server's `--db` argument.

Measured: `/partner/dashboard` (1) and `/dashboard/graphic` (1). Setup also prints, for each,
the p50 of 200 sequential calls over HTTP and of 200 in-process calls of the domain code behind
it (due-timer check and body, in a read session), with the SQL statements one call issues.
"""

from __future__ import annotations

import secrets
import statistics
import string
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import insert, select, update

from . import Live, Request, Scenario

PASSWORD = "bench1234"
USER, PEER = "owner@bench.example", "peer@bench.example"
LINES = 10_000
LOANS = 50
SEQUENTIAL = 200  # closed-loop calls per endpoint, timed one by one


def _rpc(client: httpx.Client, path: str, params: dict[str, Any], sid: str | None = None) -> Any:
    headers = {"X-Openerp-Session-Id": sid} if sid else {}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    answer = client.post(path, json=body, headers=headers).json()
    if "result" not in answer:
        raise RuntimeError(f"{path}: {answer}")
    return answer["result"]


def _db_url(live: Live) -> str:
    """The server's database: BENCH_DB_URL, else the `--db` of the process on this port."""
    if live.env.get("BENCH_DB_URL"):
        return live.env["BENCH_DB_URL"]
    port = str(urlparse(live.base_url).port)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        serving = "serve" in argv and "--db" in argv and "--port" in argv
        if serving and argv[argv.index("--port") + 1] == port:
            return argv[argv.index("--db") + 1]
    raise RuntimeError("cannot find the server's database; pass --env BENCH_DB_URL=<url>")


def _bulk_lines(url: str, user_id: int, peer_id: int) -> None:
    """LINES posted lines on the user's wallets, balanced, spread over the last year."""
    from understudy.core import ledger
    from understudy.core.db import Database
    from understudy.nebeus import banking

    db = Database(url)
    alphabet = string.ascii_lowercase + string.digits
    try:
        with db.write() as s:
            now = datetime.now().astimezone()
            accounts = {
                (who, cur): banking.ensure_account(s, user_id=who, currency=cur, now=now)
                for who in (user_id, peer_id)
                for cur in ("BTC", "EUR")
            }
            world = {
                cur: ledger.open_account(
                    s, key=banking.world_key(cur), currency=cur, now=now, allow_negative=True
                ).id
                for cur in ("BTC", "EUR")
            }
            plan = []  # (label, created_at, [(ledger account, amount)])
            for n in range(LINES):
                cur = "BTC" if n % 10 < 7 else "EUR"
                amount = 10_000 + n if cur == "BTC" else 100 + n % 500
                mine = accounts[(user_id, cur)].ledger_account_id
                peer = accounts[(peer_id, cur)].ledger_account_id
                at = now - timedelta(minutes=53 * (LINES - n))
                if n % 3 == 2:  # to the peer
                    plan.append(
                        ("Internal transfer", at, [(mine, -amount // 2), (peer, amount // 2)])
                    )
                elif n % 3 == 1:  # from the peer, who was funded from outside first
                    plan.append(("Deposit", at, [(world[cur], -amount), (peer, amount)]))
                    plan.append(("Internal transfer", at, [(peer, -amount), (mine, amount)]))
                else:
                    plan.append(("Deposit", at, [(world[cur], -amount), (mine, amount)]))
            refs = set()
            while len(refs) < len(plan):
                refs.add("".join(secrets.choice(alphabet) for _ in range(8)))
            ids = s.scalars(
                insert(ledger.Posting).returning(ledger.Posting.id, sort_by_parameter_order=True),
                [
                    {"ref": ref, "label": label, "created_at": at}
                    for ref, (label, at, _) in zip(refs, plan, strict=True)
                ],
            ).all()
            currency = {a.ledger_account_id: a.currency for a in accounts.values()}
            currency.update({acc: cur for cur, acc in world.items()})
            rows, totals = [], {}
            for posting_id, (_, at, lines) in zip(ids, plan, strict=True):
                for account, amount in lines:
                    rows.append(
                        {
                            "posting_id": posting_id,
                            "account_id": account,
                            "amount": amount,
                            "currency": currency[account],
                            "created_at": at,
                        }
                    )
                    totals[account] = totals.get(account, 0) + amount
            s.execute(insert(ledger.Line), rows)
            for account, total in totals.items():
                s.execute(
                    update(ledger.Account)
                    .where(ledger.Account.id == account)
                    .values(balance=ledger.Account.balance + total)
                )
    finally:
        db.dispose()


def _loans(url: str, user_id: int, peer_id: int) -> None:
    """25 loans from the peer (disbursed, a third of the instalments taken) and 25 to the peer."""
    from understudy.core.db import Database
    from understudy.nebeus import loans, loans_collect

    db = Database(url)
    try:
        with db.write() as s:
            now = datetime.now().astimezone()
            for n in range(LOANS // 2):
                start = now - timedelta(days=4 * n)
                mine = loans.create_request(
                    s,
                    user_id=user_id,
                    amount=1000 + n,
                    currency="EUR",
                    term=12,
                    rate_bp=900,
                    collateral=None,
                    now=start,
                )
                loans.fund(s, user_id=peer_id, loan_id=mine.id, account_id=None, now=start)
                loans.disburse(s, loan_id=mine.id, now=start)
                for inst in loans.instalments(s, mine.id)[: n % 4]:
                    loans_collect.collect_due(s, instalment_id=inst.id, now=inst.due_at)
                theirs = loans.create_request(
                    s,
                    user_id=peer_id,
                    amount=100_000 + n,
                    currency="BTC",
                    term=6,
                    rate_bp=1200,
                    collateral=None,
                    now=start,
                )
                loans.fund(s, user_id=user_id, loan_id=theirs.id, account_id=None, now=start)
                loans.disburse(s, loan_id=theirs.id, now=start)
    finally:
        db.dispose()


def _in_process(url: str, login: str) -> None:
    """Time the dashboard's and graphic's domain code directly against the database."""
    from sqlalchemy import event

    from understudy.core.db import Database
    from understudy.nebeus import dashboard, dashboard_api
    from understudy.nebeus.models import User

    db = Database(url)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(db.read_engine, "before_cursor_execute", count)
    try:
        with db.read() as s:
            uid = s.scalars(select(User.id).where(User.login == login)).one()
        now = datetime.now().astimezone()

        def board(s: Any, user: Any) -> None:
            dashboard.settle_needed(s, user_id=uid, now=now)
            dashboard_api.dashboard_body(s, user=user, base_url="http://127.0.0.1/")

        def graphic(s: Any, user: Any) -> None:
            dashboard.settle_needed(s, user_id=uid, now=now)
            dashboard_api.graphic_body(s, user=user, currency="BTC", now=now)

        for name, fn in (("dashboard", board), ("graphic", graphic)):
            timings = []
            for _ in range(SEQUENTIAL):
                with db.read() as s:
                    user = s.get(User, uid)
                    statements[0] = 0
                    started = time.perf_counter()
                    fn(s, user)
                    timings.append((time.perf_counter() - started) * 1000)
            print(
                f"bench: {name} in process ({db.dialect}), {SEQUENTIAL} calls: "
                f"p50 {statistics.median(timings):.1f} ms, "
                f"p90 {statistics.quantiles(timings, n=10)[-1]:.1f} ms, "
                f"{statements[0]} SQL statements",
                file=sys.stderr,
            )
    finally:
        db.dispose()


def setup(live: Live) -> dict[str, Any]:
    """The user and peer over the API; lines and loans in bulk; the user signed in once."""
    from understudy.nebeus.models import User

    live.control("POST", "/_understudy/reset")
    url = _db_url(live)
    with live.client() as client:
        spain = next(
            c["id"] for c in _rpc(client, "/get_countries/1.0/json", {}) if c["code"] == "ES"
        )
        for login in (USER, PEER):
            signup = {
                "login": login,
                "name": "Bench",
                "surname": login.split("@")[0],
                "password": PASSWORD,
                "confirm_password": PASSWORD,
                "country": spain,
            }
            if _rpc(client, "/signup/1.0/json", signup) != {"status": "success"}:
                raise RuntimeError(f"signup of {login} failed")
            for item in ("identity", "address", "phone"):
                live.control(
                    "POST",
                    "/_understudy/nebeus/verification",
                    {"login": login, "item": item, "status": "verified"},
                )
        from understudy.core.db import Database

        db = Database(url)
        with db.read() as s:
            ids = dict(s.execute(select(User.login, User.id)).all())
        db.dispose()
        _bulk_lines(url, ids[USER], ids[PEER])
        _loans(url, ids[USER], ids[PEER])
        sid = _rpc(client, "/signin/1.0/json", {"login": USER, "password": PASSWORD})["session_id"]
        board = _rpc(client, "/partner/dashboard", {}, sid)
        if len(board["transactions"]) != 10 or len(board["nearest_operations"]) != 5:
            raise RuntimeError(f"unexpected dashboard: {board}")
        for path in ("/partner/dashboard", "/dashboard/graphic"):
            timings = []
            for _ in range(SEQUENTIAL):
                started = time.perf_counter()
                _rpc(client, path, {}, sid)
                timings.append((time.perf_counter() - started) * 1000)
            print(
                f"bench: {path} one client, {SEQUENTIAL} calls: "
                f"p50 {statistics.median(timings):.1f} ms, "
                f"p90 {statistics.quantiles(timings, n=10)[-1]:.1f} ms",
                file=sys.stderr,
            )
    _in_process(url, USER)
    return {"sid": sid}


def requests(ctx: dict[str, Any]) -> list[Request]:
    """The dashboard (1) and the graphic of the main currency (1)."""
    auth = {"X-Openerp-Session-Id": ctx["sid"]}
    call = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}
    return [
        Request("POST", "/partner/dashboard", headers=auth, json=call, name="dashboard"),
        Request("POST", "/dashboard/graphic", headers=auth, json=call, name="graphic"),
    ]


SCENARIO = Scenario(
    name="nebeus-dashboard",
    description="nebeus dashboard (1) + graphic (1) of a user with 10,000 ledger lines and "
    "50 loans",
    services=["nebeus"],
    needs_admin=True,
    setup=setup,
    requests=requests,
    mutates=True,
)
