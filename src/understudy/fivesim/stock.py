"""Free stock as counters: idle numbers per (country, operator), used-up ones per product.

The stock of an offer is `Operator.free_numbers - UsedStock.count`: the numbers of its country
and operator in no active order, minus those of them already finished or banned for its
product. Every change of a number's state goes through `take`, `release` or `added`, in the
transaction that makes it, so the counters stay exact; `recount` derives them from the numbers
and orders (tests compare the two). Lock order on PostgreSQL: the operator row, then its
used-stock rows, so concurrent buyers of one operator queue instead of deadlocking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    cast,
    distinct,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from understudy.fivesim.models import Number, Operator, Order, UsedStock

USED_STATUSES = ("FINISHED", "BANNED")
_operators = Operator.__table__
_used = UsedStock.__table__
_orders = Order.__table__


def _statements(postgresql: bool):  # type: ignore[no-untyped-def]
    """(move free, take used, release used): built once, run with plain parameters."""
    # Not named after columns: insert() and update() reserve those names.
    country, operator = bindparam("b_country"), bindparam("b_operator")
    number = bindparam("b_number")
    move = (
        update(_operators)
        .where(_operators.c.country == country, _operators.c.name == operator)
        .values(free_numbers=_operators.c.free_numbers + bindparam("delta"))
    )
    used_by_number = (_orders.c.number_id == number, _orders.c.status.in_(USED_STATUSES))
    take = (
        update(_used)
        .where(
            _used.c.country == country,
            _used.c.operator == operator,
            _used.c.product.in_(select(_orders.c.product).where(*used_by_number)),
        )
        .values(count=_used.c.count - 1)
    )
    rows = (
        select(
            cast(country, String(50)),
            cast(operator, String(50)),
            _orders.c.product,
            cast(literal(1), Integer),
        )
        .where(*used_by_number)
        .group_by(_orders.c.product)
    )
    insert = pg_insert if postgresql else sqlite_insert
    release = (
        insert(_used)
        .from_select(["country", "operator", "product", "count"], rows)
        .on_conflict_do_update(
            index_elements=["country", "operator", "product"],
            set_={"count": _used.c.count + 1},
        )
    )
    return move, take, release


_STATEMENTS = {postgresql: _statements(postgresql) for postgresql in (False, True)}


def _run(session: Session, index: int, country: str, operator: str, **params: object) -> None:
    postgresql = session.get_bind().dialect.name == "postgresql"
    params.update(b_country=country, b_operator=operator)
    session.connection().execute(_STATEMENTS[postgresql][index], params)


def _move_free(session: Session, country: str, operator: str, delta: int) -> None:
    _run(session, 0, country, operator, delta=delta)


def take(session: Session, *, number_id: int, country: str, operator: str) -> None:
    """A number enters an active order: it leaves the idle stock of every product."""
    _move_free(session, country, operator, -1)
    _run(session, 1, country, operator, b_number=number_id)


def release(session: Session, *, number_id: int, country: str, operator: str) -> None:
    """A number's active order ended (its final status already written): it is idle again."""
    _move_free(session, country, operator, 1)
    _run(session, 2, country, operator, b_number=number_id)


def added(session: Session, pairs: Iterable[tuple[str, str]]) -> None:
    """New numbers (idle, used for nothing) of these (country, operator) pairs, one per pair."""
    for (country, operator), n in sorted(Counter(pairs).items()):
        _move_free(session, country, operator, n)


def recount(session: Session) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str, str], int]]:
    """The counters as derived from numbers and orders: (free per operator, used per product)."""
    active = _orders.alias("active_order")
    idle = ~exists().where(active.c.active_number_id == Number.id)
    free = {
        (c, o): int(n)
        for c, o, n in session.execute(
            select(Number.country, Number.operator, func.count())
            .where(idle)
            .group_by(Number.country, Number.operator)
        )
    }
    used = {
        (c, o, p): int(n)
        for c, o, p, n in session.execute(
            select(
                Number.country, Number.operator, _orders.c.product, func.count(distinct(Number.id))
            )
            .join(_orders, and_(_orders.c.number_id == Number.id))
            .where(idle, _orders.c.status.in_(USED_STATUSES))
            .group_by(Number.country, Number.operator, _orders.c.product)
        )
    }
    return free, used


def counters(
    session: Session,
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str, str], int]]:
    """The counters as stored (zero entries left out), comparable with `recount`."""
    free = {
        (c, o): n
        for c, o, n in session.execute(
            select(_operators.c.country, _operators.c.name, _operators.c.free_numbers)
        )
        if n
    }
    used = {
        (c, o, p): n
        for c, o, p, n in session.execute(
            select(_used.c.country, _used.c.operator, _used.c.product, _used.c.count)
        )
        if n
    }
    return free, used
