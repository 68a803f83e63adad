"""backoffice-signup: sign-ups with placement, plan purchase and commissions in a big organisation.

The bench's generator sends identical bytes, and a sign-up can succeed only once per username,
so the sign-ups are timed in this scenario's setup and written to
`bench/results/backoffice-signup-latency.json`:
- `http`: `POST /api/v1/users` end to end, one client (includes argon2 password hashing);
- `engine`: the same sign-up in-process with the password hashed beforehand (placement in both
  trees, ancestor aggregates, Entrepreneur purchase, direct/unilevel/matrix bonuses, ledger);
- `concurrent`: sign-ups/s with several clients at once.
The load phase then reads a recruiting sponsor's dashboard.

    BENCH_BACKOFFICE_DB=<url> python -m bench backoffice-signup --db <same url>
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
        live.control(
            "POST",
            "/_understudy/backoffice/credit",
            {"username": name, "wallet_id": 3, "amount": "100000", "description": "bench"},
        )

    def form(index: int, prefix: str) -> dict[str, str]:
        name = f"{prefix}{tag}x{index}"
        return {
            "sponsor": sponsors[index % len(sponsors)],
            "first_name": "Bench",
            "last_name": "Member",
            "email": f"{name}@bench.example",
            "user_name": name,
            "mobile": "1",
            "password": "bench1234",
            "country_code": "US",
            "plan": "Entrepreneur",
        }

    http: list[float] = []
    with live.client() as client:
        for index in range(count):
            started = time.perf_counter()
            r = client.post("/api/v1/users", data=form(index, "h"), headers=headers)
            http.append(time.perf_counter() - started)
            if r.status_code != 200:
                raise RuntimeError(f"sign-up failed: {r.status_code} {r.text[:200]}")
    engine = engine_signups(db, [form(i, "e") for i in range(count)])
    clients = 4
    started = time.perf_counter()

    def one(index: int) -> int:
        with live.client() as client:
            return client.post("/api/v1/users", data=form(index, "c"), headers=headers).status_code

    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    figures = {
        "database": db.split("://")[0].split("+")[0],
        "organisation": ready["org"],
        "http_single_client": percentiles(http),
        "engine_in_process_no_password_hash": percentiles(engine),
        "concurrent": {
            "clients": clients,
            "signups": count,
            "ok": statuses.count(200),
            "signups_per_s": round(count / elapsed, 1),
        },
        "loadavg_before": os.getloadavg(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return {"headers": headers, "sponsor_id": sponsor_ids[0], "figures": figures}


def engine_signups(db: str, forms: list[dict[str, str]]) -> list[float]:
    """Time `create_member` in-process, one transaction each, password hashed once."""
    from understudy.backoffice.service import create_member
    from understudy.config import Settings
    from understudy.context import AppContext
    from understudy.core.passwords import hash_password

    ctx = AppContext.from_settings(Settings(database_url=db, _env_file=None))  # type: ignore[call-arg]
    hashed = hash_password("bench1234")
    samples: list[float] = []
    try:
        for fields in forms:
            plan = fields.pop("plan")

            def work(session: Any, fields: dict[str, str] = fields, plan: str = plan) -> None:
                create_member(
                    session,
                    fields=dict(fields),
                    plan_name=plan,
                    now=ctx.now(session),
                    password_hash=hashed,
                )

            started = time.perf_counter()
            ctx.db.transaction(work)
            samples.append(time.perf_counter() - started)
    finally:
        ctx.close()
    return samples


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
