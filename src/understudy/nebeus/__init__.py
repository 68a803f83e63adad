"""nebeus: the crypto-finance platform (Odoo-style JSON-RPC)."""

from fastapi import APIRouter
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.nebeus import (
    accounts_api,
    api,
    banking,
    card2card_api,
    chat_api,
    chat_control,
    chat_live,
    chat_models,
    cli,
    control,
    dashboard_api,
    demo,
    errors,
    helpdesk,
    identity,
    jsonrpc,
    loans_api,
    loans_models,
    media_api,
    models,
    push,
    support_api,
    trading_api,
    withdrawals,
)
from understudy.services import Service

__all__ = [
    "accounts_api",
    "api",
    "card2card_api",
    "chat_api",
    "chat_models",
    "dashboard_api",
    "helpdesk",
    "identity",
    "loans_api",
    "loans_models",
    "media_api",
    "models",
    "push",
    "service",
    "support_api",
    "trading_api",
    "withdrawals",
]


router = APIRouter()
router.include_router(jsonrpc.router)  # every JSON route, registered by the imports above
router.include_router(media_api.router)
router.include_router(chat_live.router)  # /websocket; /longpolling/poll is a JSON route
control.router.include_router(chat_control.router)  # POST /_understudy/nebeus/chat_groups


def seed(session: Session, ctx: AppContext) -> None:
    """Reference data: countries and currencies with their seeded rates."""
    identity.seed_countries(session)
    banking.seed_currencies(session)


service = Service(
    name="nebeus",
    description="Crypto-finance platform: accounts, transfers, bitcoin trading, loans, "
    "dashboard, helpdesk, instant messaging (Odoo-style JSON-RPC over POST).",
    router=router,
    control_router=control.router,
    not_found=errors.not_found,
    server_error=errors.server_error,
    seed=seed,
    demo=demo.demo,
    cli=cli.cli,
)
