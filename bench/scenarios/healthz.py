"""healthz: the cheapest real endpoint (routing + one database round trip)."""

from . import Request, Scenario

SCENARIO = Scenario(
    name="healthz",
    description="GET /healthz: framework + database ping; the floor every other scenario sits on",
    requests=[Request("GET", "/healthz")],
)
