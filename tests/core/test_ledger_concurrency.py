"""50 concurrent writers (2 spawned processes x 25 threads) on one ledger: nothing lost or doubled.

Workers (tests/core/ledger_worker.py) transfer between a few funded accounts, place and resolve
their own holds, and all race to resolve the same pre-created holds. They report only what
committed; the parent replays those reports and compares the result with the database.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.core import ledger_worker
from tests.core.ledger_worker import Plan
from understudy.context import AppContext
from understudy.core import ledger
from understudy.core.ledger import Account, Hold, Line, Posting

PROCESSES = 2
THREADS = 25  # per process: 50 writers in all
OPS_PER_THREAD = 24
RACE_HOLDS = 12  # every thread tries to resolve every one of them
RACE_HOLD_AMOUNT = 500
USERS = 6
FUNDING = 20_000
DEADLINE = 300.0  # seconds: a hung worker fails the test instead of hanging the suite
SEED = 20_261_122

pytestmark = pytest.mark.slow


def _collect(
    procs: Sequence[multiprocessing.process.BaseProcess], reports: Any, deadline: float
) -> list[dict[str, Any]]:
    """One report per worker; fails (never hangs) if a worker dies or the deadline passes."""
    got: dict[int, dict[str, Any]] = {}
    quiet_polls: Counter[int] = Counter()
    end = time.monotonic() + deadline
    while len(got) < len(procs):
        try:
            report = reports.get(timeout=0.5)
        except queue_module.Empty:
            pass
        else:
            got[report["worker"]] = report
            continue
        for i, proc in enumerate(procs):
            if i in got or proc.is_alive():
                continue
            if proc.exitcode != 0:
                pytest.fail(f"worker {i} died (exit code {proc.exitcode}) before reporting")
            quiet_polls[i] += 1  # exited cleanly: its report may still be in the pipe
            if quiet_polls[i] > 10:
                pytest.fail(f"worker {i} exited without reporting")
        if time.monotonic() > end:
            pytest.fail(f"workers still running after {deadline:.0f} s")
    return [got[i] for i in range(len(procs))]


def run_workers(
    target: Callable[[Any, Any, Any], None], args: Sequence[Any], deadline: float
) -> list[dict[str, Any]]:
    """Run target(arg, start_barrier, queue) in one spawned process per arg; return reports."""
    mp = multiprocessing.get_context("spawn")
    reports = mp.Queue()
    start = mp.Barrier(len(args))
    procs = [
        mp.Process(target=target, args=(arg, start, reports), daemon=True, name=f"ledger-{i}")
        for i, arg in enumerate(args)
    ]
    for proc in procs:
        proc.start()
    try:
        collected = _collect(procs, reports, deadline)
        for i, proc in enumerate(procs):
            proc.join(timeout=30)
            if proc.exitcode != 0:
                pytest.fail(f"worker {i} ended with exit code {proc.exitcode}")
        return collected
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=10)
        reports.close()
        reports.join_thread()


def _setup(ctx: AppContext) -> tuple[int, tuple[int, ...], dict[int, tuple[int, int]]]:
    """Open the world account and funded users, and place the holds to race on."""
    with ctx.db.write() as s:
        now = ctx.now(s)
        world = ledger.open_account(
            s, key="c:world:USD", currency="USD", now=now, allow_negative=True
        ).id
        users = tuple(
            ledger.open_account(s, key=f"c:user{i}", currency="USD", now=now).id
            for i in range(USERS)
        )
        for user in users:
            ledger.transfer(s, source=world, dest=user, amount=FUNDING, label="fund", now=now)
        race = {}
        for i in range(RACE_HOLDS):
            account = users[i % USERS]
            hold = ledger.place_hold(
                s, account_id=account, amount=RACE_HOLD_AMOUNT, label="race", now=now
            )
            race[hold.id] = (account, RACE_HOLD_AMOUNT)
    return world, users, race


def test_fifty_concurrent_writers(ctx: AppContext, database_url: str) -> None:
    world, users, race = _setup(ctx)
    plans = [
        Plan(
            worker=i,
            url=database_url,
            threads=THREADS,
            ops_per_thread=OPS_PER_THREAD,
            seed=SEED,
            world=world,
            users=users,
            race_holds=tuple((h, amount) for h, (_, amount) in sorted(race.items())),
        )
        for i in range(PROCESSES)
    ]
    reports = run_workers(ledger_worker.run_worker, plans, DEADLINE)

    outcomes = [o for r in reports for o in r["outcomes"]]
    errors = [e for r in reports for e in r["errors"]] + [e for o in outcomes for e in o["errors"]]
    assert errors == [], f"{len(errors)} worker error(s), first:\n{errors[0]}"
    assert len(outcomes) == PROCESSES * THREADS

    with ctx.db.read() as s:
        problems = ledger.verify(s)
        accounts = {
            r.id: r
            for r in s.execute(
                select(
                    Account.id,
                    Account.currency,
                    Account.balance,
                    Account.held,
                    Account.allow_negative,
                )
            ).all()
        }
        holds = {r.id: r for r in s.execute(select(Hold.id, Hold.state, Hold.posting_id)).all()}
        posting_count = s.scalar(select(func.count()).select_from(Posting))
        lines_by_posting: dict[int, set[tuple[int, int]]] = defaultdict(set)
        for line in s.execute(select(Line.posting_id, Line.account_id, Line.amount)).all():
            lines_by_posting[line.posting_id].add((line.account_id, line.amount))

    # the ledger is consistent, balanced and nobody overspent
    assert problems == []
    totals: dict[str, int] = defaultdict(int)
    for row in accounts.values():
        totals[row.currency] += row.balance
        assert row.held == 0, f"account {row.id} still holds {row.held}"
        assert row.allow_negative or row.balance >= 0, f"account {row.id} is at {row.balance}"
    assert dict(totals) == {"USD": 0}
    assert not [h for h in holds.values() if h.state == "pending"]

    # every raced hold was resolved exactly once, as its single winner says
    winners: dict[int, list[tuple[int, str, int, int]]] = defaultdict(list)
    for outcome in outcomes:
        for hold_id, state, target, charge in outcome["won"]:
            winners[hold_id].append((hold_id, state, target, charge))
    assert set(winners) <= set(race)
    for hold_id, (account, _amount) in race.items():
        assert len(winners[hold_id]) == 1, f"hold {hold_id} won by {winners[hold_id]}"
        [(_, state, target, charge)] = winners[hold_id]
        stored = holds[hold_id]
        assert stored.state == state
        if state == "posted":
            assert stored.posting_id is not None
            assert lines_by_posting[stored.posting_id] == {(account, -charge), (target, charge)}
        else:
            assert stored.posting_id is None
    attempts = sum(o["race_attempts"] for o in outcomes)
    assert attempts == PROCESSES * THREADS * RACE_HOLDS
    assert sum(o["race_lost"] for o in outcomes) == attempts - RACE_HOLDS

    # the database equals a replay of what the workers saw commit, and holds nothing more
    expected = {a: 0 for a in accounts}
    expected[world] = -FUNDING * USERS
    for user in users:
        expected[user] = FUNDING
    for outcome in outcomes:
        for source, dest, amount in outcome["moves"]:
            expected[source] -= amount
            expected[dest] += amount
    assert {a: row.balance for a, row in accounts.items()} == expected
    assert posting_count == USERS + sum(o["postings"] for o in outcomes)
    placed = sum(o["holds_placed"] for o in outcomes)
    assert placed == sum(o["holds_resolved"] for o in outcomes)
    assert len(holds) == RACE_HOLDS + placed

    # and the run really was contended: refusals happened alongside many commits
    assert sum(o["refused"] for o in outcomes) > 0
    assert sum(o["postings"] for o in outcomes) > PROCESSES * THREADS


@pytest.mark.parametrize(
    ("target", "deadline", "message"),
    [(ledger_worker.die, 120.0, "died"), (ledger_worker.hang, 4.0, "still running")],
)
def test_a_dead_or_hung_worker_fails_the_test(
    target: Callable[[Any, Any, Any], None], deadline: float, message: str
) -> None:
    """The harness above fails instead of hanging when a worker misbehaves."""
    with pytest.raises(pytest.fail.Exception, match=message):
        run_workers(target, [3, 3], deadline=deadline)
