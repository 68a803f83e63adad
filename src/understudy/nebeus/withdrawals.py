"""Withdrawals: funds held at once, posted to the outside world by a timer after 60 s."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.core import ledger, timers
from understudy.nebeus.banking import BASE58, BankingError, world_key
from understudy.nebeus.models import MoneyAccount, Withdrawal

KIND = "nebeus.withdrawal"
DELAY = timedelta(seconds=60)
BECH32 = re.compile(r"^(bc1|tb1)[02-9ac-hj-np-z]{11,71}$")


def _base58check(address: str) -> bool:
    """A legacy Bitcoin address (P2PKH `1…`, P2SH `3…`) with a valid checksum."""
    if not 26 <= len(address) <= 35 or any(c not in BASE58 for c in address):
        return False
    number = 0
    for char in address:
        number = number * 58 + BASE58.index(char)
    raw = number.to_bytes(25, "big") if number < 256**25 else b""
    if len(raw) != 25 or raw[0] not in (0x00, 0x05):
        return False
    check = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4]
    return check == raw[-4:]


def valid_btc_address(address: str) -> bool:
    """Base58check legacy addresses or lower-case bech32-looking SegWit addresses."""
    return _base58check(address) or bool(BECH32.match(address))


def valid_iban(value: str) -> bool:
    """ISO 13616 IBAN with a valid mod-97 check."""
    iban = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def normalise_address(account: MoneyAccount, address: str) -> str:
    """The address as stored, if it suits the wallet's currency; raises BankingError."""
    address = address.strip()
    if account.currency == "BTC":
        ok = valid_btc_address(address)
    else:
        address = address.replace(" ", "").upper()
        ok = valid_iban(address)
    if not ok:
        raise BankingError("Address is not valid", "address")
    return address


def request(
    session: Session, *, account: MoneyAccount, address: str, amount: int, now: datetime
) -> Withdrawal:
    """Hold the amount and schedule its payout."""
    try:
        hold = ledger.place_hold(
            session,
            account_id=account.ledger_account_id,
            amount=amount,
            label="Withdrawal",
            now=now,
        )
    except ledger.InsufficientFunds:
        raise BankingError("Insufficient funds", "sum") from None
    row = Withdrawal(
        user_id=account.user_id,
        account_id=account.id,
        address=address,
        amount=amount,
        hold_id=hold.id,
        state="pending",
        created_at=now,
    )
    session.add(row)
    session.flush()
    timers.schedule(session, kind=KIND, key=str(row.id), due_at=now + DELAY)
    return row


@timers.handler(KIND)
def _pay_out(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Post the hold to the outside world ("Withdrawal")."""
    row = session.get(Withdrawal, int(key))
    if row is None or row.state != "pending":
        return
    account = session.get(MoneyAccount, row.account_id)
    assert account is not None
    world = ledger.open_account(
        session,
        key=world_key(account.currency),
        currency=account.currency,
        now=now,
        allow_negative=True,
    )
    ledger.post_hold(
        session, hold_id=row.hold_id, to=[(world.id, row.amount)], label="Withdrawal", now=now
    )
    row.state = "done"


def settle_due(session: Session, *, user_id: int, now: datetime) -> None:
    """Apply the user's withdrawals whose payout time has come (lazy timers)."""
    ids = session.scalars(
        select(Withdrawal.id).where(Withdrawal.user_id == user_id, Withdrawal.state == "pending")
    ).all()
    for wid in ids:
        timers.run_if_due(session, kind=KIND, key=str(wid), now=now)


def due_for(session: Session, *, user_id: int, now: datetime) -> bool:
    """Whether one of the user's pending withdrawals is due (so reading them must write)."""
    keys = [
        str(i)
        for i in session.scalars(
            select(Withdrawal.id).where(
                Withdrawal.user_id == user_id, Withdrawal.state == "pending"
            )
        )
    ]
    if not keys:
        return False
    due = select(timers.Timer.id).where(
        timers.Timer.kind == KIND, timers.Timer.key.in_(keys), timers.Timer.due_at <= now
    )
    return session.scalar(due.limit(1)) is not None
