"""The demo vendor's simulated modem: a plausible SMS with a code a few seconds after a buy.

A buy of a number whose vendor has the modem flag schedules a `fivesim.modem` timer; the
sweeper (or a later check of the order) delivers the SMS, so PENDING turns RECEIVED.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from understudy.core import timers
from understudy.fivesim import orders

TEMPLATES = (
    "Your {name} verification code is {code}. Do not share it with anyone.",
    "{code} is your {name} code. Don't share it.",
    "<#> {name}: your login code is {code}",
    "{name} code: {code}. Valid for 10 minutes.",
)
TEMPLATES_RU = ("Код подтверждения {name}: {code}. Никому его не сообщайте.",)
LABELS = {"vkontakte": "VK", "ok": "OK", "mailru": "Mail.Ru", "qq": "QQ", "olx": "OLX"}


def message(product: str, country: str) -> tuple[str, str, str]:
    """(sender, text, code) of an activation SMS for a product."""
    name = LABELS.get(product, product[:1].upper() + product[1:])
    code = "".join(secrets.choice("0123456789") for _ in range(secrets.choice((4, 5, 6))))
    templates = TEMPLATES_RU if country in ("russia", "kazakhstan", "belarus") else TEMPLATES
    return name[:100], secrets.choice(templates).format(name=name, code=code), code


@timers.handler(orders.MODEM)
def answer(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Deliver the simulated SMS if the order is still waiting for one."""
    orders.deliver_generated(session, order_id=int(key), now=now, message=message)
