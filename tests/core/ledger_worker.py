"""Worker side of the ledger concurrency test: one process, many threads, one shared database.

Started by tests/core/test_ledger_concurrency.py with the spawn start method, so everything
here must be importable and every argument picklable. Each thread owns its own `Database`
(one connection), runs a shuffled list of random operations through `db.transaction`, and
records only what committed. The process puts one report dict on the queue at the end.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.db import Database
from understudy.core.ledger import HoldNotPending, InsufficientFunds


@dataclass(frozen=True)
class Plan:
    """What one worker process is to do."""

    worker: int
    url: str
    threads: int
    ops_per_thread: int
    seed: int
    world: int
    users: tuple[int, ...]
    race_holds: tuple[tuple[int, int], ...]  # (hold id, amount) every thread tries to resolve


@dataclass
class Outcome:
    """What one thread saw commit, and what it saw refused."""

    moves: list[tuple[int, int, int]] = field(default_factory=list)  # (from, to, amount)
    postings: int = 0
    holds_placed: int = 0
    holds_resolved: int = 0
    won: list[tuple[int, str, int, int]] = field(default_factory=list)  # (hold, state, to, amt)
    race_attempts: int = 0
    race_lost: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)


def _now() -> datetime:
    """Wall-clock time; the ledger only stores it."""
    return datetime.now(UTC)


class _Runner:
    """One thread's random walk over the ledger."""

    def __init__(self, plan: Plan, index: int, barrier: threading.Barrier) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed * 1_000 + plan.worker * 100 + index)
        self.db = Database(plan.url, pool_size=1)
        self.barrier = barrier
        self.out = Outcome()
        self.own_holds: list[tuple[int, int, int]] = []  # (hold id, account, amount)

    def two_users(self) -> tuple[int, int]:
        """Two distinct funded accounts."""
        a, b = self.rng.sample(self.plan.users, 2)
        return a, b

    def amount(self) -> int:
        """Mostly affordable amounts, sometimes far too much."""
        return self.rng.choice([self.rng.randint(1, 4_000), self.rng.randint(1, 300), 10**9])

    def run(self) -> Outcome:
        """Wait for every thread, then run the shuffled operations."""
        ops: list[tuple[str, Any]] = [("random", None)] * self.plan.ops_per_thread
        ops += [("race", hold) for hold in self.plan.race_holds]
        self.rng.shuffle(ops)
        try:
            self.barrier.wait(timeout=60)
            for kind, arg in ops:
                self.step(kind, arg)
            for hold_id, account, _amount in list(self.own_holds):
                self.resolve_own(hold_id, account, void=True)
        except Exception:
            self.out.errors.append(traceback.format_exc())
        finally:
            self.db.dispose()
        return self.out

    def step(self, kind: str, arg: Any) -> None:
        """One operation; ledger refusals are expected, anything else is recorded as an error."""
        try:
            if kind == "race":
                self.race(*arg)
                return
            choice = self.rng.random()
            if choice < 0.35:
                self.transfer()
            elif choice < 0.45:
                self.deposit()
            elif choice < 0.55:
                self.withdraw()
            elif choice < 0.65:
                self.split()
            elif choice < 0.85 or not self.own_holds:
                self.place()
            else:
                hold_id, account, _amount = self.rng.choice(self.own_holds)
                self.resolve_own(hold_id, account, void=self.rng.random() < 0.4)
        except InsufficientFunds:
            self.out.refused += 1

    def _post(self, moves: list[tuple[int, int, int]]) -> None:
        """Commit one posting made of the given moves, then record them."""
        lines = [line for src, dst, amt in moves for line in ((src, -amt), (dst, amt))]
        self.db.transaction(lambda s: ledger.post(s, lines=lines, label="move", now=_now()))
        self.out.moves.extend(moves)
        self.out.postings += 1

    def transfer(self) -> None:
        """A transfer between two funded accounts (heavy contention on few rows)."""
        a, b = self.two_users()
        amount = self.amount()
        self.db.transaction(
            lambda s: ledger.transfer(s, source=a, dest=b, amount=amount, label="t", now=_now())
        )
        self.out.moves.append((a, b, amount))
        self.out.postings += 1

    def deposit(self) -> None:
        """Money in from the world account."""
        self._post([(self.plan.world, self.rng.choice(self.plan.users), self.rng.randint(1, 500))])

    def withdraw(self) -> None:
        """Money out to the world account."""
        self._post([(self.rng.choice(self.plan.users), self.plan.world, self.amount())])

    def split(self) -> None:
        """Two payers debited in one posting (the savepoint path when one cannot pay)."""
        a, b, c = self.rng.sample(self.plan.users, 3)
        self._post([(a, c, self.amount()), (b, c, self.amount())])

    def place(self) -> None:
        """Reserve funds on one account; resolved later by this thread."""
        account = self.rng.choice(self.plan.users)
        amount = self.rng.randint(1, 3_000)
        hold_id = self.db.transaction(
            lambda s: (
                ledger.place_hold(s, account_id=account, amount=amount, label="own", now=_now()).id
            )
        )
        self.own_holds.append((hold_id, account, amount))
        self.out.holds_placed += 1

    def _charge(self, s: Session, hold_id: int, dest: int, amount: int) -> None:
        """Post a hold to one account."""
        ledger.post_hold(s, hold_id=hold_id, to=[(dest, amount)], label="charge", now=_now())

    def resolve_own(self, hold_id: int, account: int, *, void: bool) -> None:
        """Post part of, or void, a hold this thread placed (it must still be pending)."""
        amount = next(a for h, _, a in self.own_holds if h == hold_id)
        self.own_holds = [h for h in self.own_holds if h[0] != hold_id]
        if void:
            self.db.transaction(lambda s: ledger.void_hold(s, hold_id=hold_id, now=_now()))
        else:
            dest = self.rng.choice([u for u in self.plan.users if u != account])
            charge = self.rng.randint(1, amount)
            self.db.transaction(lambda s: self._charge(s, hold_id, dest, charge))
            self.out.moves.append((account, dest, charge))
            self.out.postings += 1
        self.out.holds_resolved += 1

    def race(self, hold_id: int, amount: int) -> None:
        """Try to resolve a hold every other thread is also trying to resolve."""
        self.out.race_attempts += 1
        post = self.rng.random() < 0.5
        charge = self.rng.randint(1, amount)

        def resolve(s: Session) -> tuple[int, int]:
            """Post (to another account) or void; returns (hold account, credited account)."""
            if not post:
                ledger.void_hold(s, hold_id=hold_id, now=_now())
                return (0, 0)
            hold = s.get(ledger.Hold, hold_id)
            assert hold is not None
            target = self.rng.choice([u for u in self.plan.users if u != hold.account_id])
            self._charge(s, hold_id, target, charge)
            return (hold.account_id, target)

        try:
            account, target = self.db.transaction(resolve)
        except HoldNotPending:
            self.out.race_lost += 1
            return
        if post:
            self.out.moves.append((account, target, charge))
            self.out.postings += 1
            self.out.won.append((hold_id, "posted", target, charge))
        else:
            self.out.won.append((hold_id, "voided", 0, 0))


class _RetryCounter(logging.Handler):
    """Counts the transient failures `Database.transaction` retried (for diagnostics only)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        """Tally one retry by the first words of its cause."""
        if record.getMessage().startswith("retrying transaction"):
            cause = str(record.args[0] if record.args else "?").strip().splitlines()[0]
            self.retries[cause[:60]] += 1


def run_worker(plan: Plan, start: Any, queue: Any) -> None:
    """Process entry point: run the threads, then report everything on the queue."""
    report: dict[str, Any] = {"worker": plan.worker, "pid": os.getpid(), "errors": []}
    counter = _RetryCounter()
    db_log = logging.getLogger("understudy.core.db")
    db_log.setLevel(logging.DEBUG)
    db_log.addHandler(counter)
    outcomes: list[Outcome] = []
    try:
        barrier = threading.Barrier(plan.threads)
        runners = [_Runner(plan, i, barrier) for i in range(plan.threads)]
        results: list[Outcome | None] = [None] * plan.threads

        def main(i: int) -> None:
            """Thread body: run one runner and keep its outcome."""
            results[i] = runners[i].run()

        threads = [threading.Thread(target=main, args=(i,)) for i in range(plan.threads)]
        start.wait(timeout=120)  # a barrier: both processes begin together
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes = [r for r in results if r is not None]
        if len(outcomes) != plan.threads:
            report["errors"].append(f"{plan.threads - len(outcomes)} thread(s) gave no outcome")
    except Exception:
        report["errors"].append(traceback.format_exc())
    report["outcomes"] = [o.__dict__ for o in outcomes]
    report["retries"] = dict(counter.retries)
    queue.put(report)


def die(code: int, start: Any, queue: Any) -> None:
    """Process entry point that dies without reporting (tests the parent's watchdog)."""
    os._exit(code)


def hang(code: int, start: Any, queue: Any) -> None:
    """Process entry point that never reports (tests the parent's deadline)."""
    threading.Event().wait(3600)
