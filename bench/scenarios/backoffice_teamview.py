"""backoffice-teamview: teamview and matrix answers in a big generated organisation.

BENCH_BACKOFFICE_DB=<url> python -m bench backoffice_teamview --db <same url> --connections 1
(BENCH_BACKOFFICE_MEMBERS, default 100000; an organisation already loaded is reused, e.g. one
made by `understudy backoffice bulk-load --members N --db <url>` with
UNDERSTUDY_BACKOFFICE_ADMIN_PASSWORD=bench-admin-password)

One connection measures an answer's latency; more connections measure throughput, and their
p50 then includes queueing behind the other connections' requests (one worker).
"""

from __future__ import annotations

import random
from typing import Any

from . import Live, Request, Scenario
from .backoffice_signup import ADMIN_PASSWORD, prepare, settings


def setup(live: Live) -> dict[str, Any]:
    """The organisation, credentials, and the members whose trees are read."""
    db, size, _ = settings(live)
    ready = prepare(live, db, size)
    rng = random.Random(3)
    members = [1, 2, *(rng.randint(2, size + 1) for _ in range(4))]
    return {"headers": {"x-api-key": ready["key"], "jwt-token": ready["token"]}, "ids": members}


def requests(ctx: dict[str, Any]) -> list[Request]:
    """Teamview (3 levels of the sponsor tree) and matrix (3 levels) of root and random members."""
    found: list[Request] = []
    for member in ctx["ids"]:
        found.append(Request("GET", f"/api/v1/teamviews/{member}", headers=ctx["headers"]))
        found.append(Request("GET", f"/api/v1/matrixs/{member}", headers=ctx["headers"]))
    return found


SCENARIO = Scenario(
    name="backoffice-teamview",
    description="GET /teamviews/{id} and /matrixs/{id} for root and random members of a bulk "
    "organisation (BENCH_BACKOFFICE_MEMBERS)",
    services=["backoffice"],
    env={"UNDERSTUDY_BACKOFFICE_ADMIN_PASSWORD": ADMIN_PASSWORD},
    needs_admin=True,
    setup=setup,
    requests=requests,
)
