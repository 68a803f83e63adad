"""The ledger's write statements as SQL text, built once per number of accounts.

Every sale, transfer and commission goes through these, so they skip what an expression tree
costs on each call (building it and deriving its cache key): the text is fixed per number of
accounts `k`, and the values travel as parameters named a0.. (account ids), d0.. (amounts added
to balances) and r0.. (amounts released from holds). Both SQLite (3.35+) and PostgreSQL run
the same text; only the row locks are PostgreSQL's alone.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import TextClause, bindparam, text

from understudy.core.db import UTCDateTime


def _at(*names: str) -> list:  # type: ignore[type-arg]
    """Typed parameters for timestamps, so they are stored as every other timestamp is."""
    return [bindparam(name, type_=UTCDateTime()) for name in names]


def _ids(k: int) -> str:
    return ", ".join(f":a{i}" for i in range(k))


def _case(column: str, prefix: str, k: int) -> str:
    """The amount named for this row's account (each row is one of the k accounts)."""
    whens = " ".join(f"WHEN :a{i} THEN :{prefix}{i}" for i in range(k))
    return f"(CASE {column} {whens} ELSE 0 END)"


@cache
def update_accounts(k: int, *, returning: bool) -> TextClause:
    """Add d to balances and take r off holds of k accounts, all of them or none.

    No row changes when an account that may not go negative and is debited would be left
    with less than its holds; the check reads every row before any is changed.
    """
    delta, freed = _case("id", "d", k), _case("id", "r", k)
    other_delta, other_freed = _case("other.id", "d", k), _case("other.id", "r", k)
    sql = (
        f"UPDATE ledger_accounts SET balance = balance + {delta}, held = held - {freed} "
        f"WHERE id IN ({_ids(k)}) AND NOT EXISTS ("
        f"SELECT 1 FROM ledger_accounts AS other WHERE other.id IN ({_ids(k)}) "
        f"AND NOT other.allow_negative AND {other_delta} < 0 "
        f"AND other.balance + {other_delta} - (other.held - {other_freed}) < 0)"
    )
    return text(sql + (" RETURNING id, currency" if returning else ""))


@cache
def undo_accounts(k: int) -> TextClause:
    """Take back what update_accounts applied to these k accounts."""
    return text(
        f"UPDATE ledger_accounts SET balance = balance - {_case('id', 'd', k)}, "
        f"held = held + {_case('id', 'r', k)} WHERE id IN ({_ids(k)})"
    )


@cache
def lock_accounts(k: int) -> TextClause:
    """The id and currency of k accounts, their rows locked in id order (PostgreSQL)."""
    return text(
        f"SELECT id, currency FROM ledger_accounts WHERE id IN ({_ids(k)}) ORDER BY id FOR UPDATE"
    )


@cache
def insert_lines(k: int) -> TextClause:
    """The k lines of one posting: account a, amount d and currency c of each."""
    rows = ", ".join(f"(:posting_id, :a{i}, :d{i}, :c{i}, :created_at)" for i in range(k))
    return text(
        "INSERT INTO ledger_lines (posting_id, account_id, amount, currency, created_at) "
        f"VALUES {rows}"
    ).bindparams(*_at("created_at"))


INSERT_POSTING = text(
    "INSERT INTO ledger_postings (ref, label, created_at) VALUES (:ref, :label, :created_at) "
    "RETURNING id"
).bindparams(*_at("created_at"))

INSERT_POSTING_UNLESS_TAKEN = text(
    "INSERT INTO ledger_postings (ref, label, created_at) VALUES (:ref, :label, :created_at) "
    "ON CONFLICT (ref) DO NOTHING RETURNING id"
).bindparams(*_at("created_at"))

RESERVE = text(
    "UPDATE ledger_accounts SET held = held + :amount "
    "WHERE id = :account_id AND (allow_negative OR balance - held >= :amount)"
)

INSERT_HOLD = text(
    "INSERT INTO ledger_holds (account_id, amount, label, state, created_at) "
    "VALUES (:account_id, :amount, :label, 'pending', :created_at) RETURNING id"
).bindparams(*_at("created_at"))

CLAIM_HOLD = text(
    "UPDATE ledger_holds SET state = :state, resolved_at = :resolved_at "
    "WHERE id = :hold_id AND state = 'pending' RETURNING account_id, amount"
).bindparams(*_at("resolved_at"))

UNCLAIM_HOLD = text(
    "UPDATE ledger_holds SET state = 'pending', resolved_at = NULL WHERE id = :hold_id"
)

LINK_HOLD = text("UPDATE ledger_holds SET posting_id = :posting_id WHERE id = :hold_id")

RELEASE = text("UPDATE ledger_accounts SET held = held - :amount WHERE id = :account_id")
