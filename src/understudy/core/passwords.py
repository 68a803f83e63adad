"""Password hashing with argon2 (pwdlib), shared by every service and the operator console."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """A salted argon2 hash of the password."""
    return _hasher().hash(password)


def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    """Check a password; returns (matches, new hash to store when the parameters changed)."""
    try:
        return _hasher().verify_and_update(password, hashed)
    except UnknownHashError:  # a malformed stored hash never matches
        return False, None
