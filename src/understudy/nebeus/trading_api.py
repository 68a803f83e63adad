"""Buy and sell bitcoin on the wire (contract §7)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from understudy.core.money import to_major
from understudy.core.text import is_ascii_digits
from understudy.nebeus import banking, cards, trading
from understudy.nebeus.accounts_api import number
from understudy.nebeus.jsonrpc import Call, error, field_error, route
from understudy.nebeus.models import Currency, MoneyAccount, SavedCard
from understudy.nebeus.params import amount, blank, required, text
from understudy.nebeus.two_step import CODE_PARAMS, confirm

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
RATE_MISMATCH = "Amount does not match the current rate"


def _dealing_item(currency: Currency, rate: Decimal) -> dict[str, Any]:
    return {
        "data-custom-class": f"_{currency.name.lower()}",
        "name": currency.name,
        "rate": number(rate),
        "symbol": currency.symbol,
        "symbol-pos": currency.symbol_pos,
        "value": currency.name.lower(),
    }


def _btc(call: Call) -> Currency:
    found = call.db.get(Currency, 2)
    assert found is not None and found.name == "BTC"
    return found


@route(
    "/utils/get_buy_currencies/1.0/json",
    readonly=True,
    summary="What can be bought, at the buy rate",
)
def get_buy_currencies(call: Call) -> list[dict[str, Any]]:
    """BTC at the buy rate, market·(1−0.02)."""
    buy, _ = trading.dealing_rates(call.db)
    return [_dealing_item(_btc(call), buy)]


@route(
    "/utils/get_sell_currencies/1.0/json",
    readonly=True,
    summary="What can be sold, at the sell rate",
)
def get_sell_currencies(call: Call) -> list[dict[str, Any]]:
    """BTC at the sell rate, market·(1+0.02)."""
    _, sell = trading.dealing_rates(call.db)
    return [_dealing_item(_btc(call), sell)]


@route("/btc/get_buy_limit/1.0/json", readonly=True, summary="EUR left to buy or sell this month")
def get_buy_limit(call: Call) -> dict[str, Any]:
    """The monthly EUR cap of the caller's credit rank minus this month's volume."""
    left = trading.remaining_limit(call.db, user_id=call.uid, now=call.now)
    return {"status": "success", "limit": number(left), "currency": "EUR"}


def _own(call: Call, name: str, currency: str) -> MoneyAccount:
    value = required(call.params, name, label="Account")
    try:
        account = banking.own_account(call.db, user_id=call.uid, account_id=value)
    except banking.BankingError as exc:
        raise field_error(name, exc.message) from None
    if account.currency != currency:
        raise field_error(name, "Account not found")
    return account


def _payment_source(call: Call, value: Any) -> SavedCard | MoneyAccount:
    kind, _, ident = str(value).partition(":")
    if is_ascii_digits(ident) and len(ident) < 10:
        if kind == "card":
            card = call.db.get(SavedCard, int(ident))
            if card is not None and card.user_id == call.uid:
                return card
        if kind == "account":
            account = call.db.get(MoneyAccount, int(ident))
            if account is not None and account.user_id == call.uid and account.currency == "EUR":
                return account
    raise field_error("payment_id", "Payment source not found")


def _new_card(call: Call) -> cards.Card:
    labels = (
        ("card_number", "Card number"),
        ("cardholder_name", "Cardholder name"),
        ("expiration_date", "Expiration date"),
        ("cvc", "CVC"),
    )
    given = {name: text(call.params, name, label=label) for name, label in labels}
    card = cards.Card(
        number=cards.normalise_number(given["card_number"]),
        holder=given["cardholder_name"],
        expiry=given["expiration_date"],
        cvc=given["cvc"],
    )
    if not cards.valid(card, now=call.now):
        raise error("Card details are not valid")
    return card


def _declined() -> Exception:
    return error("Something went wrong")


@route(
    "/buy_currency/1.0/json",
    params={
        "buy_amount": NUM,
        "deposit_amount": NUM,
        "account_id": INT,
        "payment_id": STR,
        "card_number": STR,
        "cardholder_name": STR,
        "expiration_date": STR,
        "cvc": STR,
        "save_card": BOOL,
    }
    | CODE_PARAMS,
    summary="Buy bitcoin with a card or the EUR wallet",
)
def buy_currency(call: Call) -> dict[str, Any]:
    """Buy BTC: a saved source (`payment_id`, two-step) or a new card charged at once."""
    btc_account = _own(call, "account_id", "BTC")
    btc = amount(call.params, "buy_amount", currency="BTC", label="Buy amount")
    eur = amount(call.params, "deposit_amount", currency="EUR", label="Deposit amount")
    rate_buy, _ = trading.dealing_rates(call.db)
    btc_major, eur_major = to_major(btc, "BTC"), to_major(eur, "EUR")
    if abs(btc_major - eur_major * rate_buy) > Decimal("1e-8"):
        raise field_error("buy_amount", RATE_MISMATCH)
    trading.lock_trader(call.db, user_id=call.uid)
    if eur_major > trading.remaining_limit(call.db, user_id=call.uid, now=call.now):
        raise field_error("buy_amount", "Limit exceeded")
    wallet: MoneyAccount | None = None
    if not blank(call.params.get("payment_id")):
        source = _payment_source(call, call.params["payment_id"])
        if isinstance(source, MoneyAccount):
            wallet = source
            if banking.available(call.db, account=wallet) < eur:
                raise field_error("deposit_amount", "Insufficient funds")
        values = {"account_id": btc_account.id, "btc": btc, "eur": eur}
        values["payment_id"] = str(call.params["payment_id"])
        answer = confirm(call, operation="buy_currency", values=values)
        if answer is not None:
            return answer
        if isinstance(source, SavedCard) and not cards.processor.charge(
            last4=source.last4, token=source.token, amount=eur, currency="EUR"
        ):
            raise _declined()
    else:
        card = _new_card(call)
        if not cards.processor.charge(
            last4=card.number[-4:], token=None, amount=eur, currency="EUR"
        ):
            raise _declined()
        if call.params.get("save_card") in (True, 1, "1", "true", "on"):
            trading.save_card(
                call.db,
                user_id=call.uid,
                number=card.number,
                holder=card.holder,
                expiry=card.expiry,
                token=cards.processor.tokenize(number=card.number),
                now=call.now,
            )
    try:
        trading.buy(
            call.db,
            user_id=call.uid,
            btc_account=btc_account,
            btc=btc,
            eur=eur,
            eur_wallet=wallet,
            now=call.now,
        )
    except banking.BankingError as exc:
        raise field_error("deposit_amount", exc.message) from None
    return {"status": "success"}


@route(
    "/sell_currency/1.0/json",
    params={"sell_sum": NUM, "buy_sum": NUM, "debit_from": INT, "deposit_to": INT} | CODE_PARAMS,
    summary="Sell bitcoin for EUR (two-step)",
)
def sell_currency(call: Call) -> dict[str, Any]:
    """Sell BTC from the BTC wallet into the EUR wallet, confirmed by an e-mailed code."""
    btc_account = _own(call, "debit_from", "BTC")
    eur_account = _own(call, "deposit_to", "EUR")
    btc = amount(call.params, "sell_sum", currency="BTC", label="Sell sum")
    eur = amount(call.params, "buy_sum", currency="EUR", label="Buy sum")
    _, rate_sell = trading.dealing_rates(call.db)
    btc_major, eur_major = to_major(btc, "BTC"), to_major(eur, "EUR")
    if abs(eur_major - btc_major / rate_sell) > Decimal("0.01"):
        raise field_error("buy_sum", RATE_MISMATCH)
    trading.lock_trader(call.db, user_id=call.uid)
    if eur_major > trading.remaining_limit(call.db, user_id=call.uid, now=call.now):
        raise field_error("buy_sum", "Limit exceeded")
    if banking.available(call.db, account=btc_account) < btc:
        raise field_error("sell_sum", "Insufficient funds")
    values = {"debit_from": btc_account.id, "deposit_to": eur_account.id, "btc": btc, "eur": eur}
    answer = confirm(call, operation="sell_currency", values=values)
    if answer is not None:
        return answer
    try:
        trading.sell(
            call.db,
            user_id=call.uid,
            btc_account=btc_account,
            eur_account=eur_account,
            btc=btc,
            eur=eur,
            now=call.now,
        )
    except banking.BankingError as exc:
        raise field_error("sell_sum", exc.message) from None
    return {"status": "success"}
