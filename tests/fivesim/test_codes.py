"""Activation-code extraction: the contract's table (§10.2) and its edge rules."""

from __future__ import annotations

from understudy.fivesim.codes import extract_code

CONTRACT_TABLE = {
    "VK: 09363 - use this code to reclaim your suspended profile.": "09363",
    "Your Telegram code is 123-456": "123456",
    "Код подтверждения: 5821": "5821",
    "Order 2024 confirmed. Your code: 7788": "7788",
    "Call +79001234567 for help": "",
}


def test_contract_table() -> None:
    assert {text: extract_code(text) for text in CONTRACT_TABLE} == CONTRACT_TABLE


def test_edge_rules() -> None:
    assert extract_code("Use 415127 as your login code") == "415127"
    assert extract_code("12345") == "12345"  # no keyword: the first candidate
    assert extract_code("123") == ""  # too short
    assert extract_code("code 123456789") == ""  # runs over 8 digits are skipped
    assert extract_code("pin 12 34") == "1234"  # split once, 4 digits together
    assert extract_code("pin 12") == ""
    assert extract_code("Пароль 9999, заказ 1111") == "9999"
    assert extract_code("1111 then the code is 2222 3333") == "22223333"
