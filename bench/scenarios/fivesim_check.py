"""fivesim_check: an authenticated GET /v1/user/check/{id} of a RECEIVED order with one SMS."""

from . import Context, Live, Request, Scenario

ADMIN_STOCK = {
    "country": "russia",
    "operator": "beeline",
    "product": "vkontakte",
    "count": 1,
    "price": 21,
}


def setup(live: Live) -> Context:
    """One buyer, one order and one SMS (the seed's check example), through the public API."""
    live.control("POST", "/_understudy/reset")
    live.control("POST", "/_understudy/fivesim/stock", ADMIN_STOCK)
    user = live.control(
        "POST", "/_understudy/fivesim/users", {"email": "bench.check@example.com", "balance": 100}
    )
    with live.client() as client:
        answer = client.get(
            "/v1/user/buy/activation/russia/beeline/vkontakte",
            headers={"Authorization": f"Bearer {user['token']}"},
        )
    answer.raise_for_status()
    order_id = answer.json()["id"]
    live.control(
        "POST",
        "/_understudy/fivesim/sms",
        {"order_id": order_id, "sender": "VKcom", "text": "VK: 09363 - use this code"},
    )
    return {"token": user["token"], "order_id": order_id}


def requests(ctx: Context) -> list[Request]:
    """The check of that order, as the `fivesim` client sends it."""
    headers = {"Authorization": f"Bearer {ctx['token']}", "Accept": "application/json"}
    return [Request("GET", f"/v1/user/check/{ctx['order_id']}", headers=headers)]


SCENARIO = Scenario(
    name="fivesim-check",
    description="GET /v1/user/check/{id}: token lookup, due-timer check, order + SMS rendering",
    services=["fivesim"],
    env={"UNDERSTUDY_FIVESIM_RATE_LIMIT": "0"},
    needs_admin=True,
    setup=setup,
    requests=requests,
)
