"""Random operation sequences on the ledger, checked step by step against a pure-Python model.

The model below never calls into the ledger: it keeps balances, holds and hold states in
dicts and predicts, for every operation, either the exact refusal or the exact new state.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.core import ledger
from understudy.core.ledger import (
    Account,
    CurrencyMismatch,
    Hold,
    HoldNotPending,
    InsufficientFunds,
    LedgerError,
    Line,
    UnbalancedPosting,
)

CURRENCIES = ("USD", "BTC")
NAMES = ("ann", "ben", "cat", "dan", "eve")
amounts = st.one_of(st.integers(1, 2_000), st.integers(2_000, 20_000), st.just(10**12))
percent = st.sampled_from([0, 1, 50, 99, 100, 101, 250])  # of the hold: 0 and >100 are refused


@dataclass
class ModelAccount:
    """What the model believes about one account."""

    key: str
    currency: str
    allow_negative: bool = False
    balance: int = 0
    held: int = 0

    @property
    def available(self) -> int:
        """Spendable amount."""
        return self.balance - self.held


@dataclass
class ModelHold:
    """What the model believes about one hold."""

    account: str
    amount: int
    state: str = "pending"


class LedgerMachine(RuleBasedStateMachine):
    """Drives the ledger with random operations and compares it with the model after each."""

    accounts = Bundle("accounts")
    holds = Bundle("holds")

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.prefix = f"prop-{uuid.uuid4().hex}"  # a clean slate without wiping the database
        self.model: dict[str, ModelAccount] = {}
        self.ids: dict[str, int] = {}
        self.hold_model: dict[int, ModelHold] = {}
        for currency in CURRENCIES:
            name = f"world-{currency}"
            self.model[name] = ModelAccount(
                key=f"{self.prefix}:{name}", currency=currency, allow_negative=True
            )
            self.ids[name] = self._run(
                lambda s, name=name, currency=currency: (
                    ledger.open_account(
                        s,
                        key=self.model[name].key,
                        currency=currency,
                        now=self.ctx.now(s),
                        allow_negative=True,
                    ).id
                ),
                expected=None,
                keep_going=False,
            )

    # --- plumbing -------------------------------------------------------------------------

    def _run(
        self,
        op: Callable[[Session], Any],
        *,
        expected: type[LedgerError] | None,
        keep_going: bool,
    ) -> Any:
        """Run op in one write transaction and check it fails exactly as the model predicts.

        On a refusal the transaction is rolled back, or, with keep_going, committed anyway
        (which proves the refused operation wrote nothing).
        """
        error: LedgerError | None = None
        result: Any = None
        try:
            with self.ctx.db.write() as s:
                try:
                    result = op(s)
                except LedgerError as exc:
                    error = exc
                    if not keep_going:
                        raise
        except LedgerError as exc:
            assert exc is error
        if expected is None:
            assert error is None, f"unexpected refusal {error!r}"
        else:
            assert type(error) is expected, f"expected {expected.__name__}, got {error!r}"
        return result

    def _post_lines(self, lines: list[tuple[str, int]]) -> type[LedgerError] | None:
        """The model's verdict on a posting of (account name, amount) lines."""
        nets: dict[str, int] = defaultdict(int)
        for name, amount in lines:
            nets[name] += amount
        nets = {name: amount for name, amount in nets.items() if amount}
        if not nets:
            return UnbalancedPosting
        per_currency: dict[str, int] = defaultdict(int)
        for name, amount in nets.items():
            per_currency[self.model[name].currency] += amount
        if any(per_currency.values()):
            return UnbalancedPosting
        for name, amount in nets.items():
            acct = self.model[name]
            if amount < 0 and not acct.allow_negative and acct.available < -amount:
                return InsufficientFunds
        return None

    def _apply_lines(self, lines: list[tuple[str, int]]) -> None:
        """Book accepted lines in the model."""
        for name, amount in lines:
            self.model[name].balance += amount

    def _post(self, lines: list[tuple[str, int]], keep_going: bool) -> None:
        """Post lines through the ledger and the model."""
        expected = self._post_lines(lines)
        self._run(
            lambda s: ledger.post(
                s,
                lines=[(self.ids[name], amount) for name, amount in lines],
                label="prop",
                now=self.ctx.now(s),
            ),
            expected=expected,
            keep_going=keep_going,
        )
        if expected is None:
            self._apply_lines(lines)

    # --- accounts -------------------------------------------------------------------------

    def _open(self, name: str, currency: str) -> Any:
        """Open (or re-open) an account and add it to the bundle unless refused."""
        known = self.model.get(name)
        expected = CurrencyMismatch if known is not None and known.currency != currency else None
        key = f"{self.prefix}:{name}"
        account_id = self._run(
            lambda s: ledger.open_account(s, key=key, currency=currency, now=self.ctx.now(s)).id,
            expected=expected,
            keep_going=False,
        )
        if expected is not None:
            return multiple()
        if known is None:
            self.model[name] = ModelAccount(key=key, currency=currency)
            self.ids[name] = account_id
        else:
            assert account_id == self.ids[name]
        return name

    @initialize(target=accounts)
    def open_funded_usd(self) -> Any:
        """Start with one funded USD account."""
        name = self._open("ann", "USD")
        self._post([("world-USD", -5_000), (name, 5_000)], keep_going=False)
        return name

    @initialize(target=accounts)
    def open_funded_btc(self) -> Any:
        """Start with one funded BTC account."""
        name = self._open("dan", "BTC")
        self._post([("world-BTC", -5_000), (name, 5_000)], keep_going=False)
        return name

    @rule(target=accounts, name=st.sampled_from(NAMES), currency=st.sampled_from(CURRENCIES))
    def open_account(self, name: str, currency: str) -> Any:
        """Open an account; opening it again in another currency is refused."""
        return self._open(name, currency)

    # --- postings -------------------------------------------------------------------------

    @rule(account=accounts, amount=amounts)
    def deposit(self, account: str, amount: int) -> None:
        """Money from outside: the world account of the currency pays."""
        world = f"world-{self.model[account].currency}"
        self._post([(world, -amount), (account, amount)], keep_going=False)

    @rule(account=accounts, amount=amounts, keep_going=st.booleans())
    def withdraw(self, account: str, amount: int, keep_going: bool) -> None:
        """Money out to the world; refused beyond what is available."""
        world = f"world-{self.model[account].currency}"
        self._post([(account, -amount), (world, amount)], keep_going=keep_going)

    @rule(source=accounts, dest=accounts, amount=amounts, keep_going=st.booleans())
    def transfer(self, source: str, dest: str, amount: int, keep_going: bool) -> None:
        """A plain transfer, possibly to itself or across currencies (both refused)."""
        expected = self._post_lines([(source, -amount), (dest, amount)])
        self._run(
            lambda s: ledger.transfer(
                s,
                source=self.ids[source],
                dest=self.ids[dest],
                amount=amount,
                label="prop",
                now=self.ctx.now(s),
            ),
            expected=expected,
            keep_going=keep_going,
        )
        if expected is None:
            self._apply_lines([(source, -amount), (dest, amount)])

    @rule(
        first=accounts,
        second=accounts,
        payee=accounts,
        one=amounts,
        two=amounts,
        keep_going=st.booleans(),
    )
    def split_payment(
        self, first: str, second: str, payee: str, one: int, two: int, keep_going: bool
    ) -> None:
        """Two payers, one payee: either debit may be the one that cannot pay."""
        self._post([(first, -one), (second, -two), (payee, one + two)], keep_going=keep_going)

    # --- holds ----------------------------------------------------------------------------

    @rule(target=holds, account=accounts, amount=amounts, keep_going=st.booleans())
    def place_hold(self, account: str, amount: int, keep_going: bool) -> Any:
        """Reserve funds; refused beyond what is available."""
        acct = self.model[account]
        expected = InsufficientFunds if acct.available < amount else None
        hold_id = self._run(
            lambda s: (
                ledger.place_hold(
                    s,
                    account_id=self.ids[account],
                    amount=amount,
                    label="prop",
                    now=self.ctx.now(s),
                ).id
            ),
            expected=expected,
            keep_going=keep_going,
        )
        if expected is not None:
            return multiple()
        acct.held += amount
        assert hold_id not in self.hold_model
        self.hold_model[hold_id] = ModelHold(account=account, amount=amount)
        return hold_id

    def _post_hold_verdict(
        self, hold: ModelHold, dest: str, charge: int
    ) -> type[LedgerError] | None:
        """The model's verdict on charging `charge` of a hold to dest."""
        if hold.state != "pending":
            return HoldNotPending
        if charge > hold.amount or charge == 0:
            return LedgerError
        if dest == hold.account or self.model[dest].currency != self.model[hold.account].currency:
            return UnbalancedPosting
        return None

    def _charge(self, hold_id: int, dest: str, charge: int, keep_going: bool) -> None:
        """Post a hold through the ledger and the model."""
        hold = self.hold_model[hold_id]
        expected = self._post_hold_verdict(hold, dest, charge)
        self._run(
            lambda s: ledger.post_hold(
                s, hold_id=hold_id, to=[(self.ids[dest], charge)], label="prop", now=self.ctx.now(s)
            ),
            expected=expected,
            keep_going=keep_going,
        )
        if expected is None:
            self.model[hold.account].held -= hold.amount
            self._apply_lines([(hold.account, -charge), (dest, charge)])
            hold.state = "posted"

    def _void(self, hold_id: int, keep_going: bool) -> None:
        """Void a hold through the ledger and the model."""
        hold = self.hold_model[hold_id]
        expected = HoldNotPending if hold.state != "pending" else None
        self._run(
            lambda s: ledger.void_hold(s, hold_id=hold_id, now=self.ctx.now(s)),
            expected=expected,
            keep_going=keep_going,
        )
        if expected is None:
            self.model[hold.account].held -= hold.amount
            hold.state = "voided"

    @rule(hold_id=holds, dest=accounts, pct=percent, keep_going=st.booleans())
    def post_hold(self, hold_id: int, dest: str, pct: int, keep_going: bool) -> None:
        """Charge part, all or too much of a hold (which may already be resolved)."""
        self._charge(hold_id, dest, self.hold_model[hold_id].amount * pct // 100, keep_going)

    @precondition(lambda self: any(h.state == "pending" for h in self.hold_model.values()))
    @rule(data=st.data(), pct=percent, keep_going=st.booleans())
    def charge_pending_hold(self, data: st.DataObject, pct: int, keep_going: bool) -> None:
        """Charge a hold known to be pending, mostly to an account that can take it."""
        hold_id = data.draw(
            st.sampled_from(sorted(h for h, m in self.hold_model.items() if m.state == "pending"))
        )
        hold = self.hold_model[hold_id]
        currency = self.model[hold.account].currency
        fitting = sorted(
            n for n, a in self.model.items() if a.currency == currency and n != hold.account
        )
        dest = data.draw(st.sampled_from(fitting) if fitting else st.just(hold.account))
        self._charge(hold_id, dest, hold.amount * pct // 100, keep_going)

    @rule(hold_id=holds, keep_going=st.booleans())
    def void_hold(self, hold_id: int, keep_going: bool) -> None:
        """Release a hold (which may already be resolved)."""
        self._void(hold_id, keep_going)

    @rule(
        hold_id=holds,
        dest=accounts,
        first=st.sampled_from(["post", "void"]),
        second=st.sampled_from(["post", "void"]),
        keep_going=st.booleans(),
    )
    def resolve_twice(
        self, hold_id: int, dest: str, first: str, second: str, keep_going: bool
    ) -> None:
        """Resolve a hold twice in a row: once resolved, every further attempt changes nothing."""
        hold = self.hold_model[hold_id]
        for how in (first, second):
            if how == "post":
                self._charge(hold_id, dest, max(1, hold.amount // 2), keep_going)
            else:
                self._void(hold_id, keep_going)

    # --- invariants -----------------------------------------------------------------------

    def _own_problems(self, s: Session, problems: list[str]) -> list[str]:
        """The problems verify() reports about this example's rows (or cannot attribute).

        Examples share one database, so a problem left by an earlier failing example must not
        make later ones fail too: that would defeat shrinking. With a correct ledger every
        example sees verify() == [] anyway.
        """
        ids = list(self.ids.values())
        owned = {
            "posting": {
                str(p) for p in s.scalars(select(Line.posting_id).where(Line.account_id.in_(ids)))
            },
            "line": {str(i) for i in s.scalars(select(Line.id).where(Line.account_id.in_(ids)))},
            "hold": {str(h) for h in self.hold_model},
        }
        keys = tuple(f"{a.key}: " for a in self.model.values())
        own = []
        for problem in problems:
            match = re.match(r"(posting|line|hold) (\d+) ", problem)
            if match is not None:
                mine = match[2] in owned[match[1]]
            elif problem.startswith("prop-"):
                mine = problem.startswith(keys)
            else:
                mine = True  # cannot tell whose it is: count it
            if mine:
                own.append(problem)
        return own

    @invariant()
    def ledger_matches_model(self) -> None:
        """Balances, holds and hold states equal the model; verify() finds nothing."""
        with self.ctx.db.read() as s:
            rows = s.execute(
                select(Account.key, Account.balance, Account.held, Account.allow_negative).where(
                    Account.key.startswith(f"{self.prefix}:")
                )
            ).all()
            stored_holds = s.execute(
                select(Hold.id, Hold.state, Hold.posting_id).where(
                    Hold.id.in_(list(self.hold_model))
                )
            ).all()
            problems = self._own_problems(s, ledger.verify(s))
        assert {r.key: (r.balance, r.held) for r in rows} == {
            a.key: (a.balance, a.held) for a in self.model.values()
        }
        for r in rows:
            assert r.allow_negative or r.balance - r.held >= 0, r.key
        for currency in CURRENCIES:
            assert sum(a.balance for a in self.model.values() if a.currency == currency) == 0
        assert {h.id: h.state for h in stored_holds} == {
            h: m.state for h, m in self.hold_model.items()
        }
        for h in stored_holds:
            assert (h.posting_id is not None) == (h.state == "posted"), h
        assert problems == []


MACHINE_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_ledger_state_machine(ctx: AppContext) -> None:
    """Random sequences of ledger operations keep the ledger equal to the model."""
    run_state_machine_as_test(lambda: LedgerMachine(ctx), settings=MACHINE_SETTINGS)


@pytest.mark.parametrize("keep_going", [False, True])
def test_model_catches_a_refusal_that_writes(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, keep_going: bool
) -> None:
    """The machine is able to fail: a ledger that half-applies a refused posting is caught."""
    real_update = ledger._update_accounts

    def leaky_update(
        session: Session, k: int, params: dict[str, object], *, returning: bool
    ) -> tuple[bool, dict[int, str]]:
        """Update, except that a refused debit first books something anyway."""
        changed, found = real_update(session, k, params, returning=returning)
        if not changed:
            for i in range(k):
                session.execute(
                    Account.__table__.update()
                    .where(Account.id == params[f"a{i}"])
                    .values(held=Account.held + 1)
                )
        return changed, found

    monkeypatch.setattr(ledger, "_update_accounts", leaky_update)
    machine = LedgerMachine(ctx)
    name = machine._open("ann", "USD")
    machine.deposit(name, 100)
    machine.ledger_matches_model()
    machine.withdraw(name, 101, keep_going=keep_going)
    if keep_going:
        with pytest.raises(AssertionError):
            machine.ledger_matches_model()
    else:
        machine.ledger_matches_model()  # rolled back: the leak never reached the database
