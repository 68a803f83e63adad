"""fivesim_buy_cycle: buy -> SMS -> finish, with fixed request bytes.

The load generator repeats identical requests, so a cycle cannot name the order it just
bought. Instead every buy takes a number of the `--demo` vendor, whose simulated modem
delivers an SMS with a code a second later (`MODEM_SECONDS=1`, a timer the server's sweeper runs),
and one sandbox clock advance of 15 minutes per 20 buys ends every open order: RECEIVED
orders are finished automatically (the hold is charged, the vendor credited, rating +0.4).
So each buy is one full cycle of buy, SMS and finish; buy cycles/s = buys/s.
"""

from . import Context, Live, Request, Scenario

PRODUCTS = [
    "telegram",
    "whatsapp",
    "vkontakte",
    "google",
    "facebook",
    "instagram",
    "twitter",
    "tiktok",
    "viber",
    "wechat",
    "ok",
    "mailru",
    "yandex",
    "avito",
    "microsoft",
    "apple",
    "amazon",
    "discord",
    "netflix",
    "uber",
]


def setup(live: Live) -> Context:
    """A buyer who can pay for every cycle of the run."""
    user = live.control(
        "POST",
        "/_understudy/fivesim/users",
        {"email": "bench.cycle@example.com", "balance": 100_000_000},
    )
    return {"token": user["token"], "admin": live.admin_token}


def requests(ctx: Context) -> list[Request]:
    """20 buys of different products, then one clock advance that finishes them."""
    auth = {"Authorization": f"Bearer {ctx['token']}", "Accept": "application/json"}
    buys = [
        Request("GET", f"/v1/user/buy/activation/russia/any/{product}", headers=auth)
        for product in PRODUCTS
    ]
    admin = {"Authorization": f"Bearer {ctx['admin']}"}
    advance = Request("POST", "/_understudy/clock", headers=admin, json={"advance": 900})
    return [*buys, advance]


SCENARIO = Scenario(
    name="fivesim-buy-cycle",
    description="buy (20 products) + clock advance: buy -> modem SMS -> automatic finish",
    services=["fivesim"],
    server_args=["--demo"],
    env={
        "UNDERSTUDY_FIVESIM_RATE_LIMIT": "0",
        "UNDERSTUDY_FIVESIM_MODEM_SECONDS": "1",
        "UNDERSTUDY_FIVESIM_DEMO_COUNTRIES": "1",
        "UNDERSTUDY_FIVESIM_DEMO_PRODUCTS": "20",
        "UNDERSTUDY_FIVESIM_DEMO_NUMBERS": "1000",
    },
    needs_admin=True,
    setup=setup,
    requests=requests,
    mutates=True,
)
