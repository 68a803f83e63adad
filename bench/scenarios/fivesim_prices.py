"""fivesim_prices: the unfiltered GET /v1/guest/prices of a 150 x 300 x 5 catalogue (~8.5 MB).

The `--demo` catalogue is built at that size (150 countries, 300 products, 5 operators each,
225,000 offers); the answer is rendered once per catalogue state and served from the cache.
"""

from . import Request, Scenario

SCENARIO = Scenario(
    name="fivesim-prices",
    description="unfiltered GET /v1/guest/prices, 150 countries x 300 products x 5 operators",
    services=["fivesim"],
    server_args=["--demo"],
    env={
        "UNDERSTUDY_FIVESIM_RATE_LIMIT": "0",
        "UNDERSTUDY_FIVESIM_DEMO_COUNTRIES": "150",
        "UNDERSTUDY_FIVESIM_DEMO_PRODUCTS": "300",
        "UNDERSTUDY_FIVESIM_DEMO_OPERATORS": "5",
        "UNDERSTUDY_FIVESIM_DEMO_NUMBERS": "10",
    },
    requests=[Request("GET", "/v1/guest/prices", headers={"Accept": "application/json"})],
)
