"""The stock/price version: every change that the prices answer shows bumps it (§10.3 cache)."""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from understudy.fivesim.models import StockVersion

SHARDS = 16
_SHARD_KEY = "understudy.fivesim.stock_shard"
_versions = StockVersion.__table__
_TOUCH = (
    update(_versions)
    .where(_versions.c.shard == bindparam("b_shard"))
    .values(version=_versions.c.version + 1)
)


def seed(session: Session) -> None:
    """Create the missing shards with random start values (a reset never repeats a sum)."""
    present = set(session.scalars(select(StockVersion.shard)).all())
    session.add_all(
        StockVersion(shard=shard, version=secrets.randbits(40))
        for shard in range(SHARDS)
        if shard not in present
    )
    session.flush()


def touch(session: Session) -> None:
    """Mark the catalogue changed, in the caller's transaction (one random shard per session)."""
    shard = session.info.get(_SHARD_KEY)
    if shard is None:
        shard = session.info[_SHARD_KEY] = secrets.randbelow(SHARDS)
    session.connection().execute(_TOUCH, {"b_shard": shard})


def current(session: Session) -> tuple[int, int]:
    """The catalogue's version as seen by this transaction: (sum of shards, shard count)."""
    total, count = session.execute(
        select(func.coalesce(func.sum(StockVersion.version), 0), func.count())
    ).one()
    return int(total), int(count)
