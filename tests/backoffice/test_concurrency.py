"""Concurrent sign-ups: every member gets exactly one binary and one matrix slot."""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice.models import BinaryNode, MatrixNode, Member
from understudy.context import AppContext
from understudy.core import ledger

SIGNUPS = 13
# The package's `service` attribute is its Service registration, not this module.
members = importlib.import_module("understudy.backoffice.service")


def _signup(ctx: AppContext, index: int) -> None:
    fields: dict[str, str | None] = {
        "sponsor": "admin",
        "first_name": "C",
        "last_name": "D",
        "email": f"c{index}@example.com",
        "user_name": f"conc{index}",
        "mobile": "1",
        "password": "abcdef",
        "country_code": "US",
    }

    def work(session: Session) -> None:
        members.create_member(session, fields=fields, plan_name=None, now=ctx.now(session))

    ctx.db.transaction(work, retries=30)


def test_concurrent_signups_under_one_sponsor(ctx: AppContext) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: _signup(ctx, i), range(SIGNUPS)))
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == SIGNUPS + 1
        binary = session.scalars(select(BinaryNode)).all()
        matrix = session.scalars(select(MatrixNode)).all()
        assert len(binary) == len(matrix) == SIGNUPS + 1
        root = session.get(BinaryNode, 1)
        assert root is not None and root.left_count + root.right_count == SIGNUPS
        # Outer left spillover: one chain of SIGNUPS nodes under admin.
        assert sorted(n.position or "" for n in binary) == [""] + ["left"] * SIGNUPS
        # Matrix breadth-first: 3 under admin, then 9 under them, then the rest.
        parent = {n.user_id: n.parent_id for n in matrix}

        def depth(user_id: int) -> int:
            above = parent[user_id]
            return 0 if above is None else 1 + depth(above)

        levels = [depth(n.user_id) for n in matrix]
        assert levels.count(1) == 3 and levels.count(2) == 9 and levels.count(3) == 1
        assert ledger.verify(session) == []
