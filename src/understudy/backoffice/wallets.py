"""Members' five wallets: append-only rows written through the core double-entry ledger."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from understudy.backoffice.models import WalletEntry
from understudy.core import ledger
from understudy.core.db import UTCDateTime

__all__ = ["Move", "WalletEntry"]

CURRENCY = "USD"
WORLD_KEY = "backoffice:world:USD"
WALLET_IDS = (1, 2, 3, 4, 5)
LIFETIME, MINING, CREDIT, RESERVE, COMMISSIONS = WALLET_IDS
PAGE_SIZE = 30


def account_key(user_id: int, wallet_id: int) -> str:
    """The ledger account behind one wallet."""
    return f"backoffice:user:{user_id}:wallet{wallet_id}:{CURRENCY}"


def write(
    session: Session,
    *,
    user_id: int,
    wallet_id: int,
    amount: int,
    description: str,
    now: datetime,
) -> WalletEntry:
    """Append a signed row; the money comes from or goes to the outside world.

    Raises ledger.InsufficientFunds when a debit would take the wallet below zero.
    """
    key = account_key(user_id, wallet_id)
    ids = _open_accounts(session, {key, WORLD_KEY}, now)
    if amount != 0:
        lines = [(ids[WORLD_KEY], -amount), (ids[key], amount)]
        ledger.post(session, lines=lines, label=description, now=now, ref=_new_ref())
    balance = session.scalar(BALANCES, {"ids": [ids[key]]}) or 0
    entry = WalletEntry(
        user_id=user_id,
        wallet_id=wallet_id,
        amount=amount,
        balance=balance,
        description=description,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Move:
    """One wallet row to write: signed amount (cents) and its description."""

    user_id: int
    wallet_id: int
    amount: int
    description: str


ACCOUNT_IDS = select(ledger.Account.key, ledger.Account.id).where(
    ledger.Account.key.in_(bindparam("keys", expanding=True))
)
BALANCES = select(ledger.Account.balance, ledger.Account.id).where(
    ledger.Account.id.in_(bindparam("ids", expanding=True))
)
BALANCE_BY_KEY = select(ledger.Account.balance).where(ledger.Account.key == bindparam("key"))


def write_many(
    session: Session,
    moves: Sequence[Move],
    *,
    label: str,
    now: datetime,
    also: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Append several wallet rows, in order, with one ledger posting (two when an account
    both pays and earns in the batch: its debit is then checked on its own, before credits).

    `also` (PostgreSQL): data-modifying CTEs and their parameters, run with the statement
    that opens the accounts. Raises ledger.InsufficientFunds when a debit would take a
    wallet below zero.
    """
    if not moves:
        if also is not None:
            session.connection().execute(text(f"WITH {also[0]} SELECT 1"), also[1])
        return
    keys = {account_key(m.user_id, m.wallet_id) for m in moves} | {WORLD_KEY}
    ids = _open_accounts(session, keys, now, also=also)
    account_of = [ids[account_key(m.user_id, m.wallet_id)] for m in moves]
    signs: dict[int, set[bool]] = defaultdict(set)
    for account_id, move in zip(account_of, moves, strict=True):
        if move.amount:
            signs[account_id].add(move.amount > 0)
    if signs:
        lines = [(a, m.amount) for a, m in zip(account_of, moves, strict=True) if m.amount]
        if any(len(both) == 2 for both in signs.values()):
            parts = [[x for x in lines if x[1] < 0], [x for x in lines if x[1] > 0]]
        else:
            parts = [lines]
        for part in parts:
            net: dict[int, int] = defaultdict(int)
            for account_id, amount in part:
                net[account_id] += amount
            if any(net.values()):
                total = sum(net.values())
                world = [(ids[WORLD_KEY], -total)] if total else []
                posting = [(a, v) for a, v in net.items() if v] + world
                ledger.post(session, lines=posting, label=label, now=now, ref=_new_ref())
    # Each row's balance: its account's balance now, less the amounts of its later rows.
    later = [0] * len(moves)
    pending: dict[int, int] = defaultdict(int)
    for index in range(len(moves) - 1, -1, -1):
        later[index] = pending[account_of[index]]
        pending[account_of[index]] += moves[index].amount
    params: dict[str, Any] = {"now": now}
    for index, move in enumerate(moves):
        params |= {
            f"u{index}": move.user_id,
            f"w{index}": move.wallet_id,
            f"a{index}": move.amount,
            f"k{index}": account_of[index],
            f"l{index}": later[index],
            f"d{index}": move.description,
        }
    session.connection().execute(_wallet_rows(len(moves)), params)


@lru_cache(maxsize=64)
def _wallet_rows(count: int) -> Any:
    """INSERT of `count` wallet rows, in order, each balance read from its ledger account."""
    values = ", ".join(
        f"(:u{i}, :w{i}, :a{i}, (SELECT balance FROM ledger_accounts WHERE id = :k{i}) - :l{i},"
        f" :d{i}, :now)"
        for i in range(count)
    )
    return text(
        "INSERT INTO backoffice_wallet_entries"
        " (user_id, wallet_id, amount, balance, description, created_at) VALUES " + values
    ).bindparams(bindparam("now", type_=UTCDateTime()))


def _new_ref() -> str:
    """A random posting reference, 96 bits: no look-up for a free one as ledger.new_ref does."""
    return "bo" + secrets.token_hex(12)


# PostgreSQL: the accounts' ids, creating the missing ones, in one statement (an account
# created meanwhile by another transaction is missed here and read again afterwards).
OPEN_ACCOUNTS = f"""
    made AS (
        INSERT INTO ledger_accounts (key, currency, balance, held, allow_negative, created_at)
        SELECT k, '{CURRENCY}', 0, 0, k = '{WORLD_KEY}', :now
        FROM unnest(CAST(:keys AS VARCHAR[])) AS k
        WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.key = k)
        ON CONFLICT (key) DO NOTHING
        RETURNING key, id
    )
    SELECT key, id FROM made
    UNION ALL
    SELECT key, id FROM ledger_accounts WHERE key = ANY(CAST(:keys AS VARCHAR[]))
    """


@lru_cache(maxsize=64)
def _opening(also: str | None) -> Any:
    """OPEN_ACCOUNTS, after other CTEs when given."""
    ctes = OPEN_ACCOUNTS if also is None else f"{also}, {OPEN_ACCOUNTS}"
    return text(f"WITH {ctes}").bindparams(bindparam("now", type_=UTCDateTime()))


def _open_accounts(
    session: Session,
    keys: set[str],
    now: datetime,
    *,
    also: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, int]:
    """Ledger account ids of these keys, creating the missing ones as open_account does
    (only the outside world's account may go negative)."""
    account = ledger.Account
    if session.get_bind().dialect.name == "postgresql":
        wanted = {"keys": sorted(keys), "now": now} | (also[1] if also else {})
        opening = _opening(also[0] if also else None)
        found = dict(session.connection().execute(opening, wanted).all())
        if keys <= found.keys():
            return found
    elif also is not None:
        raise ValueError("`also` runs on PostgreSQL only")
    found = dict(session.execute(ACCOUNT_IDS, {"keys": sorted(keys)}).all())
    if WORLD_KEY in keys and WORLD_KEY not in found:
        world = ledger.open_account(
            session, key=WORLD_KEY, currency=CURRENCY, now=now, allow_negative=True
        )
        found[WORLD_KEY] = world.id
    missing = sorted(keys - found.keys())
    if missing:
        dialect = session.get_bind().dialect.name
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(account).values(
            [
                {
                    "key": key,
                    "currency": CURRENCY,
                    "balance": 0,
                    "held": 0,
                    "allow_negative": False,
                    "created_at": now,
                }
                for key in missing
            ]
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        found.update(session.execute(ACCOUNT_IDS, {"keys": missing}).all())
    return found


def balance(session: Session, *, user_id: int, wallet_id: int) -> int:
    """A wallet's balance in cents (0 before its first row)."""
    return session.scalar(BALANCE_BY_KEY, {"key": account_key(user_id, wallet_id)}) or 0


def page(
    session: Session, *, user_id: int, wallet_id: int, number: int
) -> tuple[list[WalletEntry], int]:
    """One page (30 rows, by id) of a wallet and the number of pages."""
    where = (WalletEntry.user_id == user_id, WalletEntry.wallet_id == wallet_id)
    count = session.scalar(select(func.count()).select_from(WalletEntry).where(*where)) or 0
    pages = -(-count // PAGE_SIZE)
    if number > pages:
        return [], pages
    rows = session.scalars(
        select(WalletEntry)
        .where(*where)
        .order_by(WalletEntry.id)
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return list(rows), pages
