"""Every kernel table, imported together so the metadata is complete."""

from understudy.core.clock import ClockState
from understudy.core.instance import InstanceSecret
from understudy.core.ledger import Account, Hold, Line, Posting
from understudy.core.mail import OutboxMessage
from understudy.core.timers import Timer

__all__ = [
    "Account",
    "ClockState",
    "Hold",
    "InstanceSecret",
    "Line",
    "OutboxMessage",
    "Posting",
    "Timer",
]
