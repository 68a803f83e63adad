"""Argon2 password hashing."""

from __future__ import annotations

from understudy.core.passwords import hash_password, verify_password


def test_hash_is_salted_argon2_and_verifies() -> None:
    first, second = hash_password("Secret123"), hash_password("Secret123")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password("Secret123", first) == (True, None)
    assert verify_password("secret123", first)[0] is False


def test_malformed_hash_never_matches() -> None:
    assert verify_password("anything", "not-a-hash") == (False, None)
    assert verify_password("", "") == (False, None)
