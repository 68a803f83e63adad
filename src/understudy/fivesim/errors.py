"""fivesim's error vocabulary: exact lowercase plain-text bodies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

PREFIX = "/v1/"

NO_FREE_PHONES = "no free phones"
NOT_ENOUGH_BALANCE = "not enough user balance"
NOT_ENOUGH_RATING = "not enough rating"
SELECT_COUNTRY = "select country"
SELECT_OPERATOR = "select operator"
BAD_COUNTRY = "bad country"
BAD_OPERATOR = "bad operator"
NO_PRODUCT = "no product"
SERVER_OFFLINE = "server offline"
COUNTRY_INCORRECT = "country is incorrect"
ORDER_NOT_FOUND = "order not found"
ORDER_EXPIRED = "order expired"
ORDER_HAS_SMS = "order has sms"
ORDER_NO_SMS = "order no sms"
HOSTING_ORDER = "hosting order"
WAIT_TIME = "you need to wait time"
REUSE_NOT_POSSIBLE = "reuse not possible"
REUSE_FALSE = "reuse false"
REUSE_EXPIRED = "reuse expired"
PRODUCT_NAME_EMPTY = "product_name is empty"
ANY_ERROR = "any error"
RECORD_NOT_FOUND = "record not found"
BAD_METHOD = "bad method"
BAD_FEE = "bad fee"
BAD_AMOUNT = "bad amount"
BAD_PHONE = "bad phone"


class FivesimError(Exception):
    """A documented refusal: its exact body text and HTTP status."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def owns(request: Request) -> bool:
    """Whether the request falls under fivesim's paths."""
    return request.url.path.startswith(PREFIX)


def plain(text: str, status: int = 400) -> Response:
    """An error body as 5sim sends it: text/plain; charset=utf-8 (as Go's http.Error)."""
    return PlainTextResponse(text, status_code=status)


def not_found(request: Request, status: int) -> Response | None:
    """Unknown routes (and wrong verbs) under /v1 are a plain 404 (contract §1.9)."""
    return plain("404 page not found", 404) if owns(request) else None


def server_error(request: Request, exc: Exception) -> Response | None:
    """Unexpected failures under /v1 answer `internal error` (contract §7)."""
    return plain("internal error", 500) if owns(request) else None
