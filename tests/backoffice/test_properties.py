"""Property tests of the engines: random organisations against an independent reference model.

Sign-ups come in batches; on PostgreSQL each batch runs concurrently in threads. The placement
lock makes member ids follow placement order, so the model replays the sign-ups by id.
"""

from __future__ import annotations

import importlib
import random
from concurrent.futures import ThreadPoolExecutor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.backoffice.conftest import Configure
from tests.backoffice.reference import CREDIT, Model, check_aggregates, check_trees, check_wallets
from understudy.backoffice import wallets
from understudy.backoffice.models import Member
from understudy.context import AppContext
from understudy.control.reset import wipe_and_seed
from understudy.services import load_all

# The package's `service` attribute is its Service registration, not this module.
members = importlib.import_module("understudy.backoffice.service")
FUND = 1_000_000
PLANS = ("Free Plan", "Entrepreneur")
LEGS = ("left", "right", "balanced")


class Org:
    """Drives the service layer and mirrors every step in the reference model."""

    def __init__(self, ctx: AppContext, model: Model) -> None:
        self.ctx, self.model = ctx, model
        self.count = 0
        model.root(1, "admin")
        self.fund([1])

    def ids(self) -> list[int]:
        """Every member id so far."""
        return sorted(self.model.names)

    def fund(self, ids: list[int]) -> None:
        """Credit each member's purchase wallet."""

        def work(session: Session) -> None:
            for user_id in ids:
                wallets.write(
                    session,
                    user_id=user_id,
                    wallet_id=CREDIT,
                    amount=FUND,
                    description="ABCD",
                    now=self.ctx.now(session),
                )

        self.ctx.db.transaction(work)
        for user_id in ids:
            self.model.fund(user_id, FUND)

    def set_leg(self, user_id: int, leg: str) -> None:
        """Change a member's default leg through a profile edit."""

        def work(session: Session) -> None:
            members.update_member(
                session,
                user_id=str(user_id),
                fields={"default_leg": leg},
                token=None,
                now=self.ctx.now(session),
            )

        self.ctx.db.transaction(work)
        self.model.leg[user_id] = leg

    def signups(self, batch: list[tuple[int, str]], *, threads: bool) -> None:
        """Sign up one member per (sponsor, plan), concurrently when asked."""
        jobs = []
        for sponsor, plan in batch:
            self.count += 1
            jobs.append((f"mem{self.count}", sponsor, plan))

        def one(job: tuple[str, int, str]) -> None:
            name, sponsor, plan = job
            fields: dict[str, str | None] = {
                "sponsor": self.model.names[sponsor],
                "first_name": "P",
                "last_name": "Q",
                "email": f"{name}@example.com",
                "user_name": name,
                "mobile": "1",
                "password": "abcdef",
                "country_code": "US",
            }

            def work(session: Session) -> None:
                members.create_member(
                    session, fields=fields, plan_name=plan, now=self.ctx.now(session)
                )

            self.ctx.db.transaction(work, retries=50)

        if threads and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                list(pool.map(one, jobs))
        else:
            for job in jobs:
                one(job)
        by_name = {name: (sponsor, plan) for name, sponsor, plan in jobs}
        with self.ctx.db.read() as session:
            created = session.execute(
                select(Member.id, Member.username)
                .where(Member.username.in_(list(by_name)))
                .order_by(Member.id)
            ).all()
        for user_id, name in created:
            sponsor, plan = by_name[name]
            self.model.signup(user_id, name, sponsor, plan)
        self.fund([user_id for user_id, _ in created])

    def check(self) -> None:
        """Compare the database with the model."""
        with self.ctx.db.read() as session:
            check_trees(session, self.model)
            check_aggregates(session, self.model)
            check_wallets(session, self.model)


batches = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(PLANS)), min_size=1, max_size=6),
        st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(LEGS)), max_size=2),
    ),
    min_size=1,
    max_size=3,
)


def choose(ids: list[int], pick: int) -> int:
    """A sponsor: half the picks among the newest members (deep chains), half uniform."""
    if pick % 2:
        return ids[pick // 2 % len(ids)]
    return ids[-1 - pick // 2 % min(3, len(ids))]


def run_scenario(ctx: AppContext, model: Model, plan: list, *, threads: bool) -> None:
    """Reset, replay the generated batches, and check everything after each batch."""
    wipe_and_seed(ctx, load_all())
    org = Org(ctx, model)
    for signups, legs in plan:
        for pick, leg in legs:
            ids = org.ids()
            org.set_leg(choose(ids, pick), leg)
        ids = org.ids()
        org.signups([(choose(ids, pick), name) for pick, name in signups], threads=threads)
        org.check()


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=batches, spill=st.sampled_from(("outer", "breadth_first")))
def test_engines_match_the_reference(
    ctx: AppContext,
    is_postgres: bool,
    configure: Configure,
    fast_hash: None,
    plan: list,
    spill: str,
) -> None:
    configure(binary_spillover=spill)
    run_scenario(ctx, Model(spillover=spill), plan, threads=is_postgres)


def test_balanced_by_volume_matches_the_reference(
    ctx: AppContext, configure: Configure, fast_hash: None
) -> None:
    configure(balanced_measure="volume")
    rng = random.Random(7)
    chain = [([(0, "Entrepreneur")], [(0, "balanced")]) for _ in range(4)]  # five levels deep
    plan = [
        *chain,
        ([(rng.randrange(100), rng.choice(PLANS)) for _ in range(6)], [(1, "balanced")]),
        ([(rng.randrange(100), rng.choice(PLANS)) for _ in range(6)], [(2, "balanced")]),
    ]
    run_scenario(ctx, Model(measure="volume"), plan, threads=False)


def test_concurrent_signups_fill_the_matrix_breadth_first(
    ctx: AppContext, is_postgres: bool, fast_hash: None
) -> None:
    """Many sponsors at once, all in admin's matrix: the final tree is the BFS reference's."""
    rng = random.Random(11)
    plan = [
        ([(0, "Free Plan")] * 4, []),
        ([(rng.randrange(100), "Free Plan") for _ in range(10)], []),
        ([(rng.randrange(100), "Entrepreneur") for _ in range(10)], []),
    ]
    run_scenario(ctx, Model(), plan, threads=is_postgres)
