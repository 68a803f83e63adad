"""Ledger unit behaviour: accounts, balanced postings, holds resolved once, and verify()."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.core import ledger
from understudy.core.ledger import (
    Account,
    Balance,
    CurrencyMismatch,
    Hold,
    HoldNotPending,
    InsufficientFunds,
    LedgerError,
    Line,
    Posting,
    UnbalancedPosting,
)


@dataclass(frozen=True)
class Book:
    """Ids of the accounts every test starts with (opened in this order, so ids ascend)."""

    world_usd: int
    world_btc: int
    alice: int  # USD, funded 10_000
    bob: int  # USD, funded 5_000
    carol: int  # USD, empty
    dave: int  # BTC, funded 300_000_000


@pytest.fixture
def book(ctx: AppContext) -> Book:
    """Open and fund the standard accounts."""
    with ctx.db.write() as s:
        now = ctx.now(s)

        def acct(key: str, currency: str, allow_negative: bool = False) -> int:
            """Open one account and return its id."""
            return ledger.open_account(
                s, key=key, currency=currency, now=now, allow_negative=allow_negative
            ).id

        ids = Book(
            world_usd=acct("t:world:USD", "USD", True),
            world_btc=acct("t:world:BTC", "BTC", True),
            alice=acct("t:alice", "USD"),
            bob=acct("t:bob", "USD"),
            carol=acct("t:carol", "USD"),
            dave=acct("t:dave", "BTC"),
        )
        for dest, amount, source in (
            (ids.alice, 10_000, ids.world_usd),
            (ids.bob, 5_000, ids.world_usd),
            (ids.dave, 300_000_000, ids.world_btc),
        ):
            ledger.transfer(s, source=source, dest=dest, amount=amount, label="fund", now=now)
    return ids


def balances(ctx: AppContext, *account_ids: int) -> list[tuple[int, int]]:
    """(balance, held) of each account, read in a fresh transaction."""
    with ctx.db.read() as s:
        return [astuple(ledger.balance_of(s, a)) for a in account_ids]


def astuple(b: Balance) -> tuple[int, int]:
    """A Balance as a (balance, held) pair."""
    return (b.balance, b.held)


def counts(ctx: AppContext) -> tuple[int, int, int, int]:
    """How many accounts, postings, lines and holds exist."""
    with ctx.db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Account, Posting, Line, Hold)
        )


def assert_clean(ctx: AppContext) -> None:
    """verify() finds nothing wrong."""
    with ctx.db.read() as s:
        assert ledger.verify(s) == []


def hold_row(ctx: AppContext, hold_id: int) -> Hold:
    """The hold as stored now."""
    with ctx.db.read() as s:
        hold = s.get(Hold, hold_id)
        assert hold is not None
        return hold


def place(ctx: AppContext, account_id: int, amount: int) -> int:
    """Place a hold in its own transaction and return its id."""
    with ctx.db.write() as s:
        return ledger.place_hold(
            s, account_id=account_id, amount=amount, label="hold", now=ctx.now(s)
        ).id


# --- accounts --------------------------------------------------------------------------------


def test_open_account_is_idempotent(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        first = ledger.open_account(s, key="t:x", currency="RUB", now=ctx.now(s))
        assert (first.balance, first.held, first.allow_negative) == (0, 0, False)
        first_id = first.id
    with ctx.db.write() as s:
        again = ledger.open_account(s, key="t:x", currency="RUB", now=ctx.now(s))
        assert again.id == first_id
        assert ledger.get_account(s, "t:x") is again
        assert ledger.get_account(s, "t:nope") is None
    assert counts(ctx)[0] == 1


def test_open_account_keeps_allow_negative_of_the_first_open(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        world = ledger.open_account(
            s, key="t:w", currency="USD", now=ctx.now(s), allow_negative=True
        )
        assert world.allow_negative is True
    with ctx.db.write() as s:
        assert ledger.open_account(s, key="t:w", currency="USD", now=ctx.now(s)).allow_negative


def test_open_account_currency_mismatch(ctx: AppContext, book: Book) -> None:
    before = counts(ctx)
    with ctx.db.write() as s, pytest.raises(CurrencyMismatch, match="USD"):
        ledger.open_account(s, key="t:alice", currency="BTC", now=ctx.now(s))
    assert counts(ctx) == before
    assert issubclass(CurrencyMismatch, LedgerError)


def test_balance_available() -> None:
    assert Balance(balance=100, held=30).available == 70
    assert Balance(balance=-5, held=0).available == -5


# --- transfers and postings ------------------------------------------------------------------


def test_transfer_moves_money_with_balanced_lines(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s:
        posting = ledger.transfer(
            s, source=book.alice, dest=book.carol, amount=2_500, label="pay", now=ctx.now(s)
        )
        posting_id, ref = posting.id, posting.ref
    assert re.fullmatch(r"[a-z0-9]{8}", ref)
    assert balances(ctx, book.alice, book.carol) == [(7_500, 0), (2_500, 0)]
    with ctx.db.read() as s:
        stored = s.get(Posting, posting_id)
        assert stored is not None and stored.label == "pay"
        lines = s.execute(
            select(Line.account_id, Line.amount, Line.currency).where(Line.posting_id == posting_id)
        ).all()
    assert sorted(lines) == sorted([(book.alice, -2_500, "USD"), (book.carol, 2_500, "USD")])
    assert_clean(ctx)


def test_world_account_may_go_negative(ctx: AppContext, book: Book) -> None:
    assert balances(ctx, book.world_usd, book.world_btc) == [(-15_000, 0), (-300_000_000, 0)]
    assert_clean(ctx)


def test_transfer_with_explicit_ref(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s:
        assert (
            ledger.transfer(
                s, source=book.bob, dest=book.carol, amount=1, label="x", now=ctx.now(s), ref="r1"
            ).ref
            == "r1"
        )
    with pytest.raises(IntegrityError), ctx.db.write() as s:
        ledger.transfer(
            s, source=book.bob, dest=book.carol, amount=1, label="x", now=ctx.now(s), ref="r1"
        )
    assert balances(ctx, book.bob, book.carol) == [(4_999, 0), (1, 0)]


@pytest.mark.parametrize("amount", [0, -1, -5_000])
def test_transfer_amount_must_be_positive(ctx: AppContext, book: Book, amount: int) -> None:
    before = counts(ctx)
    with ctx.db.write() as s, pytest.raises(LedgerError, match="positive"):
        ledger.transfer(
            s, source=book.alice, dest=book.bob, amount=amount, label="x", now=ctx.now(s)
        )
    assert counts(ctx) == before


def test_transfer_to_or_from_unknown_account(ctx: AppContext, book: Book) -> None:
    before = counts(ctx)
    for source, dest in ((book.alice, 99_999), (99_999, book.alice)):
        with ctx.db.write() as s, pytest.raises(LedgerError, match="unknown account"):
            ledger.transfer(s, source=source, dest=dest, amount=10, label="x", now=ctx.now(s))
            # the refusal wrote nothing, so committing the transaction is harmless
    assert counts(ctx) == before
    assert balances(ctx, book.alice) == [(10_000, 0)]
    assert_clean(ctx)


def test_transfer_across_currencies_is_unbalanced(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s, pytest.raises(UnbalancedPosting):
        ledger.transfer(s, source=book.alice, dest=book.dave, amount=10, label="x", now=ctx.now(s))
    assert balances(ctx, book.alice, book.dave) == [(10_000, 0), (300_000_000, 0)]


def test_transfer_to_self_has_no_lines(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s, pytest.raises(UnbalancedPosting, match="non-zero line"):
        ledger.transfer(s, source=book.alice, dest=book.alice, amount=10, label="x", now=ctx.now(s))


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [("alice", 0)],
        [("alice", 0), ("bob", 0)],
        [("alice", 5), ("alice", -5)],
    ],
)
def test_post_without_non_zero_lines(
    ctx: AppContext, book: Book, lines: list[tuple[str, int]]
) -> None:
    with ctx.db.write() as s, pytest.raises(UnbalancedPosting):
        ledger.post(s, lines=[(getattr(book, n), v) for n, v in lines], label="x", now=ctx.now(s))
    assert counts(ctx)[1] == 3  # only the funding postings


def test_post_must_balance(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s, pytest.raises(UnbalancedPosting, match="USD"):
        ledger.post(s, lines=[(book.alice, -100), (book.bob, 99)], label="x", now=ctx.now(s))
    # zero in total is not enough: each currency must balance on its own
    with ctx.db.write() as s, pytest.raises(UnbalancedPosting):
        ledger.post(s, lines=[(book.alice, -100), (book.dave, 100)], label="x", now=ctx.now(s))
    assert balances(ctx, book.alice, book.bob, book.dave) == [
        (10_000, 0),
        (5_000, 0),
        (300_000_000, 0),
    ]


def test_post_in_two_currencies_balanced_per_currency(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s:
        posting = ledger.post(
            s,
            lines=[(book.alice, -100), (book.carol, 100), (book.dave, -7), (book.world_btc, 7)],
            label="swap",
            now=ctx.now(s),
        )
        posting_id = posting.id
    assert balances(ctx, book.alice, book.carol, book.dave) == [
        (9_900, 0),
        (100, 0),
        (299_999_993, 0),
    ]
    with ctx.db.read() as s:
        by_currency = dict(
            s.execute(
                select(Line.currency, func.count())
                .where(Line.posting_id == posting_id)
                .group_by(Line.currency)
            ).all()
        )
    assert by_currency == {"USD": 2, "BTC": 2}
    assert_clean(ctx)


def test_post_merges_lines_of_one_account(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s:
        posting_id = ledger.post(
            s,
            lines=[(book.alice, -30), (book.alice, -20), (book.bob, 50), (book.carol, 0)],
            label="x",
            now=ctx.now(s),
        ).id
    with ctx.db.read() as s:
        lines = s.execute(
            select(Line.account_id, Line.amount).where(Line.posting_id == posting_id)
        ).all()
    assert sorted(lines) == sorted([(book.alice, -50), (book.bob, 50)])


def test_insufficient_funds_single_debit_writes_nothing(ctx: AppContext, book: Book) -> None:
    before = counts(ctx)
    with ctx.db.write() as s:
        with pytest.raises(InsufficientFunds) as info:
            ledger.transfer(
                s, source=book.bob, dest=book.carol, amount=5_001, label="x", now=ctx.now(s)
            )
        assert (info.value.account_id, info.value.amount) == (book.bob, 5_001)
        assert astuple(ledger.balance_of(s, book.bob)) == (5_000, 0)
        # carry on in the same transaction and commit
        ledger.transfer(
            s, source=book.bob, dest=book.carol, amount=5_000, label="y", now=ctx.now(s)
        )
    assert balances(ctx, book.bob, book.carol) == [(0, 0), (5_000, 0)]
    assert counts(ctx)[1] == before[1] + 1
    assert_clean(ctx)


def _split_payment(s: Session, ctx: AppContext, book: Book, bob_pays: int) -> None:
    """Alice (lower id, debited first) pays 100 and bob pays bob_pays to carol."""
    ledger.post(
        s,
        lines=[(book.alice, -100), (book.bob, -bob_pays), (book.carol, 100 + bob_pays)],
        label="split",
        now=ctx.now(s),
    )


def test_multi_debit_second_debit_fails_then_transaction_continues(
    ctx: AppContext, book: Book
) -> None:
    assert book.alice < book.bob  # alice's debit is applied first and must be undone
    before = counts(ctx)
    with ctx.db.write() as s:
        with pytest.raises(InsufficientFunds) as info:
            _split_payment(s, ctx, book, bob_pays=5_001)
        assert info.value.account_id == book.bob
        assert [astuple(ledger.balance_of(s, a)) for a in (book.alice, book.bob, book.carol)] == [
            (10_000, 0),
            (5_000, 0),
            (0, 0),
        ]
        assert ledger.verify(s) == []
        _split_payment(s, ctx, book, bob_pays=5_000)
    assert balances(ctx, book.alice, book.bob, book.carol) == [(9_900, 0), (0, 0), (5_100, 0)]
    assert counts(ctx)[1:3] == (before[1] + 1, before[2] + 3)
    assert_clean(ctx)


def test_multi_debit_second_debit_fails_then_rollback(ctx: AppContext, book: Book) -> None:
    before = counts(ctx)
    with pytest.raises(InsufficientFunds), ctx.db.write() as s:
        _split_payment(s, ctx, book, bob_pays=5_001)
    assert balances(ctx, book.alice, book.bob, book.carol) == [(10_000, 0), (5_000, 0), (0, 0)]
    assert counts(ctx) == before
    assert_clean(ctx)


def test_multi_debit_refused_through_db_transaction(ctx: AppContext, book: Book) -> None:
    with pytest.raises(InsufficientFunds):
        ctx.db.transaction(lambda s: _split_payment(s, ctx, book, bob_pays=9_999))
    assert balances(ctx, book.alice, book.bob, book.carol) == [(10_000, 0), (5_000, 0), (0, 0)]
    assert_clean(ctx)


def test_holds_reduce_what_transfers_may_spend(ctx: AppContext, book: Book) -> None:
    place(ctx, book.alice, 9_000)
    with ctx.db.write() as s, pytest.raises(InsufficientFunds):
        ledger.transfer(
            s, source=book.alice, dest=book.carol, amount=1_001, label="x", now=ctx.now(s)
        )
    with ctx.db.write() as s:
        ledger.transfer(
            s, source=book.alice, dest=book.carol, amount=1_000, label="x", now=ctx.now(s)
        )
    assert balances(ctx, book.alice) == [(9_000, 9_000)]
    assert_clean(ctx)


# --- holds -------------------------------------------------------------------------------------


def test_place_hold_reserves_without_moving(ctx: AppContext, book: Book) -> None:
    hold_id = place(ctx, book.alice, 4_000)
    assert balances(ctx, book.alice) == [(10_000, 4_000)]
    hold = hold_row(ctx, hold_id)
    assert (hold.account_id, hold.amount, hold.state) == (book.alice, 4_000, "pending")
    assert hold.resolved_at is None and hold.posting_id is None
    place(ctx, book.alice, 6_000)  # exactly what is left
    assert balances(ctx, book.alice) == [(10_000, 10_000)]
    assert_clean(ctx)


def test_place_hold_insufficient_is_refused(ctx: AppContext, book: Book) -> None:
    place(ctx, book.bob, 3_000)
    before = counts(ctx)
    with ctx.db.write() as s:
        with pytest.raises(InsufficientFunds) as info:
            ledger.place_hold(s, account_id=book.bob, amount=2_001, label="h", now=ctx.now(s))
        assert (info.value.account_id, info.value.amount) == (book.bob, 2_001)
    assert counts(ctx) == before
    assert balances(ctx, book.bob) == [(5_000, 3_000)]
    with ctx.db.write() as s, pytest.raises(InsufficientFunds):
        ledger.place_hold(s, account_id=book.carol, amount=1, label="h", now=ctx.now(s))
    assert_clean(ctx)


def test_place_hold_on_allow_negative_account(ctx: AppContext, book: Book) -> None:
    place(ctx, book.world_usd, 1_000_000)
    assert balances(ctx, book.world_usd) == [(-15_000, 1_000_000)]
    assert_clean(ctx)


@pytest.mark.parametrize("amount", [0, -10])
def test_place_hold_amount_must_be_positive(ctx: AppContext, book: Book, amount: int) -> None:
    with ctx.db.write() as s, pytest.raises(LedgerError, match="positive"):
        ledger.place_hold(s, account_id=book.alice, amount=amount, label="h", now=ctx.now(s))
    assert balances(ctx, book.alice) == [(10_000, 0)]


def test_post_hold_partial_charge_releases_the_rest(ctx: AppContext, book: Book) -> None:
    hold_id = place(ctx, book.alice, 1_000)
    with ctx.db.write() as s:
        posting = ledger.post_hold(
            s, hold_id=hold_id, to=[(book.carol, 600)], label="charge", now=ctx.now(s)
        )
        posting_id = posting.id
    assert balances(ctx, book.alice, book.carol) == [(9_400, 0), (600, 0)]
    hold = hold_row(ctx, hold_id)
    assert (hold.state, hold.posting_id) == ("posted", posting_id)
    assert hold.resolved_at is not None
    assert_clean(ctx)


def test_post_hold_full_charge_to_several_accounts(ctx: AppContext, book: Book) -> None:
    hold_id = place(ctx, book.alice, 1_000)
    with ctx.db.write() as s:
        ledger.post_hold(
            s,
            hold_id=hold_id,
            to=[(book.carol, 700), (book.bob, 300), (book.world_usd, 0)],
            label="split",
            now=ctx.now(s),
        )
    assert balances(ctx, book.alice, book.bob, book.carol) == [(9_000, 0), (5_300, 0), (700, 0)]
    assert_clean(ctx)


@pytest.mark.parametrize(
    ("credits", "error"),
    [
        ([("carol", 1_001)], LedgerError),  # more than the hold
        ([("carol", 600), ("bob", 401)], LedgerError),
        ([("carol", 0)], LedgerError),  # nothing to charge: void instead
        ([], LedgerError),
        ([("carol", -5)], LedgerError),
        ([("dave", 100)], UnbalancedPosting),  # another currency
        ([("alice", 100)], UnbalancedPosting),  # paying itself leaves no line
        ([("nobody", 100)], LedgerError),  # unknown account
    ],
)
def test_post_hold_refusal_leaves_the_hold_pending(
    ctx: AppContext, book: Book, credits: list[tuple[str, int]], error: type[LedgerError]
) -> None:
    hold_id = place(ctx, book.alice, 1_000)
    before = counts(ctx)
    to = [(getattr(book, name, 99_999), amount) for name, amount in credits]
    with ctx.db.write() as s:
        with pytest.raises(error):
            ledger.post_hold(s, hold_id=hold_id, to=to, label="charge", now=ctx.now(s))
        assert astuple(ledger.balance_of(s, book.alice)) == (10_000, 1_000)
        # continue the same transaction and commit: the refusal must not have written anything
    assert counts(ctx) == before
    assert balances(ctx, book.alice, book.carol) == [(10_000, 1_000), (0, 0)]
    hold = hold_row(ctx, hold_id)
    assert (hold.state, hold.resolved_at, hold.posting_id) == ("pending", None, None)
    assert_clean(ctx)
    with ctx.db.write() as s:  # and it can still be charged properly
        ledger.post_hold(s, hold_id=hold_id, to=[(book.carol, 1_000)], label="ok", now=ctx.now(s))
    assert balances(ctx, book.alice, book.carol) == [(9_000, 0), (1_000, 0)]
    assert_clean(ctx)


def test_void_hold_releases_everything(ctx: AppContext, book: Book) -> None:
    hold_id = place(ctx, book.bob, 5_000)
    before = counts(ctx)
    with ctx.db.write() as s:
        voided = ledger.void_hold(s, hold_id=hold_id, now=ctx.now(s))
        assert voided.state == "voided"
    assert balances(ctx, book.bob) == [(5_000, 0)]
    assert counts(ctx) == before  # no posting for a void
    hold = hold_row(ctx, hold_id)
    assert hold.state == "voided" and hold.posting_id is None and hold.resolved_at is not None
    assert_clean(ctx)


def _post(ctx: AppContext, hold_id: int, dest: int, amount: int) -> None:
    """Charge a hold in its own transaction."""
    with ctx.db.write() as s:
        ledger.post_hold(s, hold_id=hold_id, to=[(dest, amount)], label="c", now=ctx.now(s))


def _void(ctx: AppContext, hold_id: int) -> None:
    """Void a hold in its own transaction."""
    with ctx.db.write() as s:
        ledger.void_hold(s, hold_id=hold_id, now=ctx.now(s))


@pytest.mark.parametrize(
    ("first", "second"),
    [("post", "post"), ("post", "void"), ("void", "post"), ("void", "void")],
)
def test_a_hold_resolves_exactly_once(ctx: AppContext, book: Book, first: str, second: str) -> None:
    hold_id = place(ctx, book.alice, 1_000)
    if first == "post":
        _post(ctx, hold_id, book.carol, 400)
    else:
        _void(ctx, hold_id)
    settled = balances(ctx, book.alice, book.carol)
    state_before = counts(ctx), hold_row(ctx, hold_id).state
    with pytest.raises(HoldNotPending):
        if second == "post":
            _post(ctx, hold_id, book.carol, 400)
        else:
            _void(ctx, hold_id)
    assert balances(ctx, book.alice, book.carol) == settled
    assert (counts(ctx), hold_row(ctx, hold_id).state) == state_before
    assert settled == ([(9_600, 0), (400, 0)] if first == "post" else [(10_000, 0), (0, 0)])
    assert_clean(ctx)


def test_second_resolve_in_the_same_transaction(ctx: AppContext, book: Book) -> None:
    hold_id = place(ctx, book.alice, 1_000)
    with ctx.db.write() as s:
        ledger.void_hold(s, hold_id=hold_id, now=ctx.now(s))
        with pytest.raises(HoldNotPending):
            ledger.void_hold(s, hold_id=hold_id, now=ctx.now(s))
        with pytest.raises(HoldNotPending):
            ledger.post_hold(s, hold_id=hold_id, to=[(book.carol, 1)], label="c", now=ctx.now(s))
    assert balances(ctx, book.alice, book.carol) == [(10_000, 0), (0, 0)]
    assert_clean(ctx)


def test_unknown_hold_is_not_pending(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s:
        with pytest.raises(HoldNotPending):
            ledger.void_hold(s, hold_id=424_242, now=ctx.now(s))
        with pytest.raises(HoldNotPending):
            ledger.post_hold(s, hold_id=424_242, to=[(book.carol, 1)], label="c", now=ctx.now(s))


# --- references --------------------------------------------------------------------------------


def test_new_ref_format_and_uniqueness(ctx: AppContext) -> None:
    with ctx.db.read() as s:
        refs = [ledger.new_ref(s) for _ in range(2_000)]
        long_ref = ledger.new_ref(s, length=20)
    assert all(re.fullmatch(r"[a-z0-9]{8}", r) for r in refs)
    assert len(set(refs)) == len(refs)
    assert re.fullmatch(r"[a-z0-9]{20}", long_ref)


def test_new_ref_skips_references_already_used(
    ctx: AppContext, book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ctx.db.write() as s:
        ledger.transfer(
            s, source=book.alice, dest=book.bob, amount=1, label="x", now=ctx.now(s), ref="aaaaaaaa"
        )
    drawn: Iterator[str] = iter("a" * 8 + "a" * 8 + "b" * 8)
    monkeypatch.setattr(ledger.secrets, "choice", lambda _alphabet: next(drawn))
    with ctx.db.read() as s:
        assert ledger.new_ref(s) == "bbbbbbbb"


# --- verify ------------------------------------------------------------------------------------


def _corrupt(ctx: AppContext, sql: str, **params: int) -> None:
    """Run raw SQL behind the ledger's back, in its own transaction."""
    with ctx.db.write() as s:
        s.execute(text(sql), params)


def _problems(ctx: AppContext) -> list[str]:
    """What verify() reports now."""
    with ctx.db.read() as s:
        return ledger.verify(s)


def test_verify_clean_ledger(ctx: AppContext, book: Book) -> None:
    place(ctx, book.alice, 100)
    _post(ctx, place(ctx, book.bob, 100), book.carol, 50)
    assert _problems(ctx) == []


def test_verify_detects_a_tampered_balance(ctx: AppContext, book: Book) -> None:
    _corrupt(ctx, "UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :id", id=book.bob)
    assert _problems(ctx) == ["t:bob: balance 5001 != lines 5000"]


def test_verify_detects_a_tampered_held(ctx: AppContext, book: Book) -> None:
    place(ctx, book.alice, 300)
    _corrupt(ctx, "UPDATE ledger_accounts SET held = 0 WHERE id = :id", id=book.alice)
    assert _problems(ctx) == ["t:alice: held 0 != pending holds 300"]


def test_verify_detects_spending_beyond_the_balance(ctx: AppContext, book: Book) -> None:
    _corrupt(
        ctx,
        "INSERT INTO ledger_holds (account_id, amount, label, state, created_at) "
        "SELECT id, 7000, 'forged', 'pending', created_at FROM ledger_accounts WHERE id = :id",
        id=book.bob,
    )
    problems = _problems(ctx)
    assert "t:bob: held 0 != pending holds 7000" in problems
    assert "t:bob: spendable -2000 below zero" in problems


def test_verify_detects_an_unbalanced_posting(ctx: AppContext, book: Book) -> None:
    with ctx.db.read() as s:
        line = s.scalars(select(Line).where(Line.account_id == book.bob)).one()
        posting_id = line.posting_id
    _corrupt(ctx, "UPDATE ledger_lines SET amount = amount + 5 WHERE id = :id", id=line.id)
    problems = _problems(ctx)
    assert f"posting {posting_id} unbalanced in USD by 5" in problems
    assert "t:bob: balance 5000 != lines 5005" in problems


def test_verify_detects_a_line_in_the_wrong_currency(ctx: AppContext, book: Book) -> None:
    with ctx.db.read() as s:
        line_id = s.scalars(select(Line.id).where(Line.account_id == book.alice)).one()
    _corrupt(ctx, "UPDATE ledger_lines SET currency = 'RUB' WHERE id = :id", id=line_id)
    problems = _problems(ctx)
    assert f"line {line_id} currency differs from its account" in problems
    assert any("unbalanced in RUB" in p for p in problems)


def test_verify_detects_a_posted_hold_without_posting(ctx: AppContext, book: Book) -> None:
    hold_id = place(ctx, book.alice, 100)
    _corrupt(ctx, "UPDATE ledger_holds SET state = 'posted' WHERE id = :id", id=hold_id)
    problems = _problems(ctx)
    assert f"hold {hold_id} posted without a posting" in problems
    assert "t:alice: held 100 != pending holds 0" in problems


def test_verify_sees_the_database_not_the_session_cache(ctx: AppContext, book: Book) -> None:
    with ctx.db.write() as s:
        bob = ledger.open_account(s, key="t:bob", currency="USD", now=ctx.now(s))
        assert bob.balance == 5_000  # now cached in this session's identity map
        s.execute(
            update(Account)
            .where(Account.id == book.bob)
            .values(balance=Account.balance + 1)
            .execution_options(synchronize_session=False)
        )
        assert ledger.verify(s) == ["t:bob: balance 5001 != lines 5000"]
        s.rollback()
    assert _problems(ctx) == []


def test_place_hold_on_unknown_account_says_so(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        with pytest.raises(LedgerError, match="unknown account 987654") as caught:
            ledger.place_hold(s, account_id=987654, amount=1, label="h", now=ctx.now(s))
        assert not isinstance(caught.value, ledger.InsufficientFunds)
