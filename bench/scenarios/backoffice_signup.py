"""backoffice-signup: sign-ups with placement, plan purchase and commissions in a big organisation.

The bench's generator sends identical bytes, and a sign-up can succeed only once per username,
so the sign-ups are timed in this scenario's setup and written to
`bench/results/backoffice-signup-latency.json`:
- `argon2_hash_only`: hashing the password alone, what HTTP sign-ups add to the engine;
- `http`: `POST /api/v1/users` end to end, one client (includes argon2 password hashing);
- `engine`: the same sign-up in-process with the password hashed beforehand: the placement,
  purchase and commission work (both trees, ancestor aggregates, Entrepreneur purchase,
  direct/unilevel/matrix bonuses, ledger), one transaction with its commit, with the client's
  CPU time and the statements sent;
- `concurrent`: sign-ups/s with several clients at once.
Every other sign-up after the first 20 of a phase is sponsored by an earlier one of that phase
(an Entrepreneur), so bonuses are really paid. Load averages are recorded per phase: the
machine may be shared. The load phase then reads a recruiting sponsor's dashboard.

    BENCH_BACKOFFICE_DB=<url> python -m bench backoffice_signup --db <same url>
    (BENCH_BACKOFFICE_MEMBERS, default 100000; BENCH_BACKOFFICE_SIGNUPS, default 200)
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import Live, Request, Scenario

ADMIN_PASSWORD = "bench-admin-password"
RESULTS = Path(__file__).resolve().parent.parent / "results" / "backoffice-signup-latency.json"


def settings(live: Live) -> tuple[str, int, int]:
    """The database URL (must equal --db), the organisation size, sign-ups to time."""
    db = live.env.get("BENCH_BACKOFFICE_DB")
    if not db:
        raise RuntimeError("set BENCH_BACKOFFICE_DB to the URL given as --db")
    size = int(live.env.get("BENCH_BACKOFFICE_MEMBERS", "100000"))
    signups = int(live.env.get("BENCH_BACKOFFICE_SIGNUPS", "200"))
    return db, size, signups


def prepare(live: Live, db: str, size: int) -> dict[str, Any]:
    """The bulk organisation, an API key and admin's JWT."""
    from understudy.backoffice import bulk

    org = bulk.ensure(db, size, reset=lambda: live.control("POST", "/_understudy/reset"))
    key = live.control("POST", "/_understudy/backoffice/api-keys")["key"]
    with live.client() as client:
        r = client.post(
            "/api/v1/login",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"x-api-key": key},
        )
        r.raise_for_status()
    return {"org": org, "key": key, "token": r.json()["token"]}


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p90/p99/mean in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "p50_ms": at(0.5),
        "p90_ms": at(0.9),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def setup(live: Live) -> dict[str, Any]:
    """Build the organisation, time sign-ups three ways, write the latency file."""
    db, size, count = settings(live)
    ready = prepare(live, db, size)
    headers = {"x-api-key": ready["key"], "jwt-token": ready["token"]}
    rng = random.Random(int(time.time()))
    tag = f"{int(time.time()) % 100000:05d}"
    sponsor_ids = [rng.randint(2, size + 1) for _ in range(20)]
    sponsors = [f"bulk{n}" for n in sponsor_ids]
    for name in sponsors:
        fund(live, name, "100000")

    def form(index: int, prefix: str) -> dict[str, str]:
        name = f"{prefix}{tag}x{index}"
        return {
            "sponsor": sponsor_of(index, prefix, tag, sponsors),
            "first_name": "Bench",
            "last_name": "Member",
            "email": f"{name}@bench.example",
            "user_name": name,
            "mobile": "1",
            "password": "bench1234",
            "country_code": "US",
            "plan": "Entrepreneur",
        }

    figures: dict[str, Any] = {
        "database": db.split("://")[0].split("+")[0],
        "organisation": ready["org"],
        "sponsors": "20 random bulk members (Free Plan); every other sign-up after the first 20 "
        "is sponsored by an earlier sign-up of the same phase (Entrepreneur), so direct, "
        "unilevel and matrix bonuses are paid or held",
    }
    figures["argon2_hash_only"] = percentiles(hash_times(20))
    http: list[float] = []
    figures["loadavg_http"] = os.getloadavg()
    with live.client() as client:
        for index in range(count):
            started = time.perf_counter()
            r = client.post("/api/v1/users", data=form(index, "h"), headers=headers)
            http.append(time.perf_counter() - started)
            if r.status_code != 200:
                raise RuntimeError(f"sign-up failed: {r.status_code} {r.text[:200]}")
            fund(live, form(index, "h")["user_name"])  # untimed: it may sponsor later
    figures["http_single_client"] = percentiles(http)
    figures["loadavg_engine"] = os.getloadavg()
    engine = engine_signups(db, [form(i, "e") for i in range(count)])
    figures["engine_in_process_no_password_hash"] = percentiles(engine["wall"])
    figures["engine_client_cpu"] = percentiles(engine["cpu"])
    figures["engine_statements_per_signup"] = statistics.median(engine["statements"])
    clients = 4
    figures["loadavg_concurrent"] = os.getloadavg()
    started = time.perf_counter()

    def one(index: int) -> int:
        fields = form(index, "c") | {"sponsor": sponsors[index % len(sponsors)]}
        with live.client() as client:
            return client.post("/api/v1/users", data=fields, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(one, range(count)))
    if statuses.count(200) != count:
        raise RuntimeError(f"concurrent sign-ups failed: {sorted(set(statuses))}")
    elapsed = time.perf_counter() - started
    figures["concurrent"] = {
        "clients": clients,
        "signups": count,
        "ok": statuses.count(200),
        "signups_per_s": round(count / elapsed, 1),
    }
    figures["loadavg_after"] = os.getloadavg()
    figures["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return {"headers": headers, "sponsor_id": sponsor_ids[0], "figures": figures}


def sponsor_of(index: int, prefix: str, tag: str, sponsors: list[str]) -> str:
    """A bulk sponsor, or (every other sign-up after the first round) an earlier sign-up."""
    if index >= len(sponsors) and index % 2:
        return f"{prefix}{tag}x{index - len(sponsors)}"
    return sponsors[index % len(sponsors)]


def fund(live: Live, username: str, amount: str = "1000") -> None:
    """Credit the member's purchase wallet (wallet 3), in USD."""
    live.control(
        "POST",
        "/_understudy/backoffice/credit",
        {"username": username, "wallet_id": 3, "amount": amount, "description": "bench"},
    )


def hash_times(count: int) -> list[float]:
    """argon2 alone: what the HTTP sign-up adds to the engine's work."""
    from understudy.core.passwords import hash_password

    samples = []
    for _ in range(count):
        started = time.perf_counter()
        hash_password("bench1234")
        samples.append(time.perf_counter() - started)
    return samples


def engine_signups(db: str, forms: list[dict[str, str]]) -> dict[str, list[float]]:
    """Time `create_member` in-process, one transaction each, password hashed once.

    Also the client's CPU time and the statements sent per sign-up; a sign-up that will
    sponsor later is funded afterwards, untimed.
    """
    from sqlalchemy import event

    from understudy.backoffice import wallets
    from understudy.backoffice.service import create_member
    from understudy.config import Settings
    from understudy.context import AppContext
    from understudy.core.passwords import hash_password

    ctx = AppContext.from_settings(Settings(database_url=db, _env_file=None))  # type: ignore[call-arg]
    sent = [0]

    def count(*_args: Any) -> None:
        sent[0] += 1

    event.listen(ctx.db.write_engine, "before_cursor_execute", count)
    hashed = hash_password("bench1234")
    found: dict[str, list[float]] = {"wall": [], "cpu": [], "statements": []}
    try:
        for fields in forms:
            plan = fields.pop("plan")

            def work(session: Any, fields: dict[str, str] = fields, plan: str = plan) -> int:
                member = create_member(
                    session,
                    fields=dict(fields),
                    plan_name=plan,
                    now=ctx.now(session),
                    password_hash=hashed,
                )
                return member.id

            sent[0] = 0
            cpu, started = time.process_time(), time.perf_counter()
            member_id = ctx.db.transaction(work)
            found["wall"].append(time.perf_counter() - started)
            found["cpu"].append(time.process_time() - cpu)
            found["statements"].append(sent[0])

            def top_up(session: Any, member_id: int = member_id) -> None:
                wallets.write(
                    session,
                    user_id=member_id,
                    wallet_id=3,
                    amount=100_000,
                    description="bench",
                    now=ctx.now(session),
                )

            ctx.db.transaction(top_up)
    finally:
        ctx.close()
    return found


def requests(ctx: dict[str, Any]) -> list[Request]:
    """The load phase: a recruiting sponsor reads its dashboard."""
    path = f"/api/v1/dashboards/{ctx['sponsor_id']}"
    return [Request("GET", path, headers=ctx["headers"], name="sponsor dashboard")]


SCENARIO = Scenario(
    name="backoffice-signup",
    description="sign-ups (placement + purchase + commissions) in a bulk organisation, timed in "
    "setup (see backoffice-signup-latency.json); load phase: a sponsor's GET /dashboards/{id}",
    services=["backoffice"],
    env={"UNDERSTUDY_BACKOFFICE_ADMIN_PASSWORD": ADMIN_PASSWORD},
    needs_admin=True,
    setup=setup,
    requests=requests,
    mutates=True,
)
