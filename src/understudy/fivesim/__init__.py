"""fivesim: the 5sim.net-compatible SMS-activation marketplace (REST under /v1)."""

from fastapi import APIRouter, Depends

from understudy.fivesim import (  # noqa: F401
    api,
    errors,
    guest_api,
    limits,
    models,
    modem,
    poll_api,
    vendor_api,
)
from understudy.fivesim.cli import cli
from understudy.fivesim.control import router as control_router
from understudy.fivesim.demo import demo, seed
from understudy.services import Service

router = APIRouter(dependencies=[Depends(limits.rate_limit)])
router.include_router(poll_api.router)  # first: the most frequent requests
router.include_router(api.router)
router.include_router(guest_api.router)
router.include_router(vendor_api.router)

service = Service(
    name="fivesim",
    description="Virtual phone numbers for SMS activation (5sim.net API, REST under `/v1`).",
    router=router,
    control_router=control_router,
    not_found=errors.not_found,
    server_error=errors.server_error,
    seed=seed,
    demo=demo,
    cli=cli,
    shortcuts=poll_api.SHORTCUTS,
)
