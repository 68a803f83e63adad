"""Money routes on the wire: currencies, wallets, statements, transfers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from understudy.core.money import major_number
from understudy.nebeus import banking, cards, identity, trading, withdrawals
from understudy.nebeus.dashboard_api import render_movement, settle_caller
from understudy.nebeus.jsonrpc import Call, Failure, field_error, route
from understudy.nebeus.models import MoneyAccount
from understudy.nebeus.params import (
    amount,
    optional_datetime,
    optional_int,
    required,
    text,
)
from understudy.nebeus.two_step import CODE_PARAMS, confirm

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}


def number(value: Decimal) -> int | float:
    """A Decimal as a JSON number (whole values as int)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _refused(exc: banking.BankingError) -> Failure:
    if exc.field:
        return field_error(exc.field, exc.message)
    return Failure({"status": "error", "message": exc.message})


def _account(call: Call, name: str, label: str = "Account") -> MoneyAccount:
    value = required(call.params, name, label=label)
    try:
        return banking.own_account(call.db, user_id=call.uid, account_id=value)
    except banking.BankingError as exc:
        raise field_error(name, exc.message) from None


@route(
    "/utils/get_currencies/1.0/json",
    auth=False,
    readonly=True,
    summary="Currencies at market rate",
)
def get_currencies(call: Call) -> list[dict[str, Any]]:
    """Supported currencies at market rate (`id` is what `to_sum_currency` takes)."""
    return [
        {
            "id": c.id,
            "data-custom-class": f"_{c.name.lower()}",
            "name": c.name,
            "rate": number(Decimal(c.rate)),
            "symbol": c.symbol,
            "symbol-pos": c.symbol_pos,
            "value": c.name.lower(),
        }
        for c in banking.list_currencies(call.db)
    ]


@route("/accounts/1.0/json", readonly=True, summary="The caller's wallets")
def accounts(call: Call) -> list[dict[str, Any]]:
    """The caller's wallets in creation order with balance, reserved and available."""
    settle_caller(call)
    rates = banking.rates(call.db)
    return [
        {
            "id": acc.id,
            "acc_number": acc.acc_number,
            "currency": {"name": acc.currency, "rate": number(rates[acc.currency])},
            "sum": major_number(bal.balance, acc.currency),
            "reserved": major_number(bal.held, acc.currency),
            "available": major_number(bal.available, acc.currency),
        }
        for acc, bal in banking.accounts_of(call.db, user_id=call.uid)
    ]


@route("/accounts/create/1.0/json", params={"currency": STR}, summary="Open a wallet")
def create_account(call: Call) -> dict[str, Any]:
    """Open a wallet in another supported currency."""
    currency = text(call.params, "currency", label="Currency").upper()
    try:
        account = banking.create_account(call.db, user_id=call.uid, currency=currency, now=call.now)
    except banking.BankingError as exc:
        raise field_error("currency", exc.message) from None
    return {"status": "success", "account_id": account.id}


@route(
    "/accounts/transactions/1.0/json",
    params={
        "account_id": INT,
        "date_from": STR,
        "date_to": STR,
        "offset": INT,
        "limit": INT,
    },
    readonly=True,
    summary="Posted movements of the caller's wallets",
)
def transactions(call: Call) -> list[dict[str, Any]]:
    """Posted lines of the caller's wallets (or one), newest first, dashboard-shaped."""
    settle_caller(call)
    account_id = None
    if call.params.get("account_id") not in (None, False, ""):
        account_id = _account(call, "account_id").id
    found = banking.movements(
        call.db,
        user_id=call.uid,
        account_id=account_id,
        date_from=optional_datetime(call.params, "date_from"),
        date_to=optional_datetime(call.params, "date_to", end=True),
        offset=optional_int(call.params, "offset", default=0) or 0,
        limit=optional_int(call.params, "limit", default=None),
    )
    return [render_movement(call.db, m) for m in found]


@route(
    "/accounts/transfer/1.0/json",
    params={"debit_from": INT, "recipient_login": STR, "sum": NUM} | CODE_PARAMS,
    summary="Transfer to another user (two-step)",
)
def transfer(call: Call) -> dict[str, Any]:
    """Send money to another user's wallet in the same currency, confirmed by an e-mailed code."""
    source = _account(call, "debit_from")
    login = text(call.params, "recipient_login", label="Recipient")
    recipient = identity.find_user_by_login(call.db, login)
    if recipient is None or not recipient.active:
        raise field_error("recipient_login", "User not found")
    if recipient.id == call.uid:
        raise field_error("recipient_login", "You cannot transfer to yourself")
    minor = amount(call.params, "sum", currency=source.currency)
    if banking.available(call.db, account=source) < minor:
        raise field_error("sum", "Insufficient funds")
    values = {"debit_from": source.id, "recipient": recipient.id, "sum": minor}
    answer = confirm(call, operation="transfer", values=values)
    if answer is not None:
        return answer
    try:
        banking.transfer(
            call.db,
            user_id=call.uid,
            debit_from=source,
            recipient=recipient,
            amount=minor,
            now=call.now,
        )
    except banking.BankingError as exc:
        raise _refused(exc) from None
    return {"status": "success"}


@route(
    "/accounts/withdraw/1.0/json",
    params={"account_id": INT, "address": STR, "sum": NUM} | CODE_PARAMS,
    summary="Withdraw to a BTC address or an IBAN (two-step)",
)
def withdraw(call: Call) -> dict[str, Any]:
    """Hold the sum and pay it out after 60 s, confirmed by an e-mailed code."""
    withdrawals.settle_due(call.db, user_id=call.uid, now=call.now)
    account = _account(call, "account_id")
    address = text(call.params, "address", label="Address")
    minor = amount(call.params, "sum", currency=account.currency)
    try:
        address = withdrawals.normalise_address(account, address)
    except banking.BankingError as exc:
        raise _refused(exc) from None
    if banking.available(call.db, account=account) < minor:
        raise field_error("sum", "Insufficient funds")
    values = {"account_id": account.id, "address": address, "sum": minor}
    answer = confirm(call, operation="withdraw", values=values)
    if answer is not None:
        return answer
    try:
        row = withdrawals.request(
            call.db, account=account, address=address, amount=minor, now=call.now
        )
    except banking.BankingError as exc:
        raise _refused(exc) from None
    return {"status": "success", "withdrawal_id": row.id}


@route("/payment_sources/1.0/json", readonly=True, summary="Saved cards and wallets to pay from")
def payment_sources(call: Call) -> list[dict[str, Any]]:
    """Saved cards, then the caller's wallets."""
    saved = [
        {"id": f"card:{c.id}", "type": "card", "name": cards.masked(c.first4, c.last4)}
        for c in trading.cards_of(call.db, user_id=call.uid)
    ]
    return saved + [
        {"id": f"account:{acc.id}", "type": "account", "name": f"{acc.currency} {acc.acc_number}"}
        for acc, _ in banking.accounts_of(call.db, user_id=call.uid)
    ]
