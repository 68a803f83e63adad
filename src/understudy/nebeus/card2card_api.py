"""Card-to-card payments on the wire (contract §8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from understudy.core.db import is_id, row_by_id
from understudy.core.money import scale, to_major
from understudy.core.text import is_ascii_digits
from understudy.nebeus import banking, card2card, cards, trading
from understudy.nebeus.identity import EMAIL
from understudy.nebeus.jsonrpc import Call, error, field_error, route
from understudy.nebeus.models import Country, Currency, MoneyAccount, SavedCard
from understudy.nebeus.params import amount, as_int, blank, required, text
from understudy.nebeus.two_step import CODE_PARAMS, confirm

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
TRUE = (True, 1, "1", "true", "on")


def _source(call: Call) -> SavedCard | MoneyAccount:
    kind, _, ident = str(call.params["source_id"]).partition(":")
    if is_ascii_digits(ident) and len(ident) < 10:
        row: SavedCard | MoneyAccount | None = None
        if kind == "card":
            row = call.db.get(SavedCard, int(ident))
        elif kind == "account":
            row = call.db.get(MoneyAccount, int(ident))
        if row is not None and row.user_id == call.uid:
            return row
    raise field_error("source_id", "Payment source not found")


def _new_card(call: Call) -> cards.Card:
    labels = (
        ("card_number", "Card number"),
        ("cardholder_name", "Cardholder name"),
        ("expiration_date", "Expiration date"),
        ("cvv", "CVV"),
    )
    given = {name: text(call.params, name, label=label) for name, label in labels}
    card = cards.Card(
        number=cards.normalise_number(given["card_number"]),
        holder=given["cardholder_name"],
        expiry=given["expiration_date"],
        cvc=given["cvv"],
    )
    if not (
        is_ascii_digits(card.number) and 12 <= len(card.number) <= 19 and cards.luhn(card.number)
    ):
        raise field_error("card_number", "Card number is not valid")
    if not cards.valid(card, now=call.now):
        raise error("Card details are not valid")
    return card


def _recipient(call: Call) -> dict[str, Any]:
    """The recipient's card and name (and the fields to save a new one)."""
    if not blank(call.params.get("recipient_id")):
        rid = as_int(call.params["recipient_id"])
        saved = (
            card2card.recipient(call.db, user_id=call.uid, recipient_id=rid) if is_id(rid) else None
        )
        if saved is None:
            raise field_error("recipient_id", "Recipient not found")
        return {"card_number": saved.card_number, "cardholder_name": saved.cardholder_name}
    country_value = required(call.params, "recipient_country_id", label="Country")
    number = cards.normalise_number(text(call.params, "recipient_card_number", label="Card number"))
    email = text(call.params, "recipient_email", label="Email")
    name = text(call.params, "recipient_cardholder_name", label="Cardholder name")
    country_id = as_int(country_value)
    country = row_by_id(call.db, Country, country_id)
    if country is None:
        raise field_error("recipient_country_id", "Country not found")
    if not (is_ascii_digits(number) and 12 <= len(number) <= 19 and cards.luhn(number)):
        raise field_error("recipient_card_number", "Card number is not valid")
    if not EMAIL.match(email):
        raise field_error("recipient_email", "Email is not valid")
    phone = call.params.get("recipient_phone")
    return {
        "card_number": number,
        "cardholder_name": name[:200],
        "country_id": country.id,
        "email": email[:320],
        "phone": str(phone)[:32] if isinstance(phone, (str, int)) and phone != "" else None,
    }


@route(
    "/card2card/new/1.0/json",
    params={
        "from_sum": NUM,
        "to_sum": NUM,
        "to_sum_currency": INT,
        "source_id": STR,
        "card_number": STR,
        "cardholder_name": STR,
        "expiration_date": STR,
        "cvv": STR,
        "save_card_data": BOOL,
        "recipient_id": INT,
        "recipient_country_id": INT,
        "recipient_card_number": STR,
        "recipient_email": STR,
        "recipient_cardholder_name": STR,
        "recipient_phone": STR,
        "save_recipient_details": BOOL,
    }
    | CODE_PARAMS,
    summary="Pay a card from a card or a wallet",
)
def card2card_new(call: Call) -> dict[str, Any]:
    """Pay a recipient card; wallet funds are held and paid out after 60 s."""
    required(call.params, "from_sum", label="From sum")
    required(call.params, "to_sum", label="To sum")
    currency_value = required(call.params, "to_sum_currency", label="Currency")
    currency_id = as_int(currency_value)
    to_currency = (
        call.db.get(Currency, currency_id) if currency_id and 0 < currency_id < 100 else None
    )
    if to_currency is None:
        raise field_error("to_sum_currency", "Currency is not supported")
    source: SavedCard | MoneyAccount | None = None
    card: cards.Card | None = None
    if not blank(call.params.get("source_id")):
        source = _source(call)
    else:
        card = _new_card(call)
    from_currency = source.currency if isinstance(source, MoneyAccount) else "EUR"
    from_sum = amount(call.params, "from_sum", currency=from_currency, label="From sum")
    to_sum = amount(call.params, "to_sum", currency=to_currency.name, label="To sum")
    target = _recipient(call)
    rates = banking.rates(call.db)
    expected = to_major(from_sum, from_currency) * rates[to_currency.name] / rates[from_currency]
    tolerance = Decimal(1).scaleb(-scale(to_currency.name))
    if abs(to_major(to_sum, to_currency.name) - expected) > tolerance:
        raise field_error("to_sum", "Sum does not match the current rate")
    wallet = source if isinstance(source, MoneyAccount) else None
    if wallet is not None and banking.available(call.db, account=wallet) < from_sum:
        raise field_error("from_sum", "Insufficient funds")
    if source is not None:
        values = {
            "source": str(call.params["source_id"]),
            "from_sum": from_sum,
            "to_sum": to_sum,
            "to": to_currency.name,
            "card": target["card_number"],
        }
        answer = confirm(call, operation="card2card", values=values)
        if answer is not None:
            return answer
        if isinstance(source, SavedCard) and not cards.processor.charge(
            last4=source.last4, token=source.token, amount=from_sum, currency=from_currency
        ):
            raise error("Something went wrong")
    else:
        assert card is not None
        if not cards.processor.charge(
            last4=card.number[-4:], token=None, amount=from_sum, currency=from_currency
        ):
            raise error("Something went wrong")
        if call.params.get("save_card_data") in TRUE:
            trading.save_card(
                call.db,
                user_id=call.uid,
                number=card.number,
                holder=card.holder,
                expiry=card.expiry,
                token=cards.processor.tokenize(number=card.number),
                now=call.now,
            )
    if "email" in target and call.params.get("save_recipient_details") in TRUE:
        card2card.save_recipient(call.db, user_id=call.uid, **target)
    try:
        order = card2card.create_order(
            call.db,
            user_id=call.uid,
            from_sum=from_sum,
            from_currency=from_currency,
            to_sum=to_sum,
            to_currency=to_currency.name,
            wallet=wallet,
            card_number=target["card_number"],
            cardholder_name=target["cardholder_name"],
            now=call.now,
        )
    except banking.BankingError as exc:
        raise field_error(exc.field or "from_sum", exc.message) from None
    return {"status": "success", "order_id": order.id}


@route(
    "/card2card/search/1.0/json",
    params={"query": STR},
    readonly=True,
    summary="Search saved recipients",
)
def card2card_search(call: Call) -> list[dict[str, Any]]:
    """Saved recipients whose name, card number or e-mail contains `query`."""
    query = call.params.get("query")
    if not isinstance(query, (str, int)) or isinstance(query, bool):
        query = ""
    found = card2card.search(call.db, user_id=call.uid, query=str(query).strip())
    result = []
    for r in found:
        country = call.db.get(Country, r.country_id)
        result.append(
            {
                "id": r.id,
                "cardholder_name": r.cardholder_name,
                "card_number": cards.masked(r.card_number[:4], r.card_number[-4:]),
                "country_code": country.code if country else False,
                "email": r.email,
            }
        )
    return result
