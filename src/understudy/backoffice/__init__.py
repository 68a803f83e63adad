"""backoffice: the MLM back office (Rails-style REST under /api/v1)."""

from understudy.backoffice import api, cli, control, demo, errors, models, seed
from understudy.services import Service

__all__ = ["models", "service"]

service = Service(
    name="backoffice",
    description="MLM back office: members, genealogy trees, plans, commissions, wallets, "
    "tickets (Rails-style REST under `/api/v1`, `x-api-key` + `jwt-token`).",
    router=api.service_router,
    control_router=control.control_router,
    not_found=errors.not_found,
    server_error=errors.server_error,
    seed=seed.seed,
    demo=demo.demo,
    cli=cli.cli,
    kept_tables=("backoffice_api_keys",),
)
