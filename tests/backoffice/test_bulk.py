"""The benchmarks' bulk organisation equals what sign-ups one by one would have built."""

from __future__ import annotations

import importlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.backoffice.reference import Model, check_aggregates, check_trees, check_wallets
from understudy.backoffice import bulk
from understudy.backoffice.models import Member
from understudy.context import AppContext

members = importlib.import_module("understudy.backoffice.service")
SIZE = 80


def test_bulk_load_matches_the_reference_and_accepts_sign_ups(
    ctx: AppContext, fast_hash: None
) -> None:
    org = bulk.shape(SIZE, seed=5)
    with ctx.db.write() as session:
        bulk.load(session, org, now=ctx.now(session), password="abcdef")
    model = Model()
    model.root(1, "admin")
    for user in range(2, SIZE + 2):
        model.signup(user, f"bulk{user}", org.sponsor[user], "Free Plan")
        model.leg[user] = org.leg[user]
    with ctx.db.read() as session:
        check_trees(session, model)
        check_aggregates(session, model)
        check_wallets(session, model)
    assert bulk.binary_depth(org) > 5

    def signup(session: Session) -> int:
        member = members.create_member(
            session,
            fields={
                "sponsor": "bulk40",
                "first_name": "N",
                "last_name": "M",
                "email": "late@example.com",
                "user_name": "late",
                "mobile": "1",
                "password": "abcdef",
                "country_code": "US",
            },
            plan_name=None,
            now=ctx.now(session),
        )
        return member.id

    assert ctx.db.transaction(signup) == SIZE + 2
    model.signup(SIZE + 2, "late", 40, "Free Plan")
    with ctx.db.read() as session:
        check_trees(session, model)
        check_aggregates(session, model)
        assert session.scalar(select(Member.username).where(Member.id == SIZE + 2)) == "late"
