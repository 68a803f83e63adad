"""Request limits (contract §9): per IP before auth (503), per API key after (429), buys per IP.

Hitting a limit five times within ten minutes bans that IP or key for ten minutes, with the same
answer meanwhile. UNDERSTUDY_FIVESIM_RATE_LIMIT=0 turns every limit off.
"""

from __future__ import annotations

import hashlib

from anyio import to_thread
from fastapi import HTTPException, Request
from starlette.responses import PlainTextResponse, Response

from understudy.core.ratelimit import RateLimiter
from understudy.fivesim.settings import get_settings
from understudy.fivesim.wire import token_of

KEY_LIMIT = "api limit is 100 requests per second"
IP_LIMIT = "ip address limit is 100 requests per second"
BAN = "1/10 minutes"
STRIKES = "4/10 minutes"


def _check(limiter: RateLimiter, limit: str, scope: str, who: str, status: int, text: str) -> None:
    banned = not limiter.test(BAN, "fivesim-ban", scope, who)
    if not banned and limiter.hit(limit, "fivesim", scope, who):
        return
    if not banned and not limiter.hit(STRIKES, "fivesim-strike", scope, who):
        limiter.hit(BAN, "fivesim-ban", scope, who)
    raise HTTPException(status_code=status, detail=text)


async def rate_limit(request: Request) -> None:
    """FastAPI dependency of every /v1 route; off when the limit is 0."""
    settings = get_settings()
    if settings.rate_limit == 0:
        return
    limiter: RateLimiter = request.app.state.ctx.limiter
    per_period = f"{settings.rate_limit}/{settings.rate_limit_period}"
    if limiter.shared:  # Redis answers over the network: not on the event loop
        await to_thread.run_sync(_limit, limiter, request, per_period)
    else:
        _limit(limiter, request, per_period)


def _limit(limiter: RateLimiter, request: Request, per_period: str) -> None:
    ip = request.client.host if request.client else "unknown"
    count(limiter, per_period, ip=ip, path=request.url.path, token=token_of(request))


def count(limiter: RateLimiter, per_period: str, *, ip: str, path: str, token: str) -> None:
    """Count one request against every limit it falls under; HTTPException when one is hit."""
    _check(limiter, per_period, "ip", ip, 503, IP_LIMIT)
    if path.startswith("/v1/user/buy/"):
        _check(limiter, per_period, "buy", ip, 503, IP_LIMIT)
    if not path.startswith("/v1/guest/") and token:
        key = hashlib.sha256(token.encode()).hexdigest()
        _check(limiter, per_period, "key", key, 429, KEY_LIMIT)


def inline_refusal(limiter: RateLimiter, *, ip: str, path: str, token: str) -> Response | None:
    """For a request answered ahead of routing: the limit answer, or None when it may go on.

    Only with in-memory counters (the caller checks `can_count_inline` first).
    """
    settings = get_settings()
    if settings.rate_limit == 0:
        return None
    try:
        count(
            limiter,
            f"{settings.rate_limit}/{settings.rate_limit_period}",
            ip=ip,
            path=path,
            token=token,
        )
    except HTTPException as refused:
        return PlainTextResponse(str(refused.detail), status_code=refused.status_code)
    return None


def can_count_inline(limiter: RateLimiter) -> bool:
    """Whether a request may be counted on the event loop (limits off, or counters in memory)."""
    return get_settings().rate_limit == 0 or not limiter.shared
