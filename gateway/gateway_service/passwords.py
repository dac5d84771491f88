"""Password hashing with argon2id. Hashing is CPU-bound by design, so it runs off the event loop."""

from __future__ import annotations

import secrets
from functools import cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# Long enough for any passphrase, short enough that hashing cannot be abused to burn CPU.
MAX_LENGTH = 256

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so both answers take the same time.
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(stored: str | None, password: str) -> bool:
    try:
        _hasher.verify(stored if stored is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """True only for a real hash that matches; `stored=None` still costs one full verification."""
    return await anyio.to_thread.run_sync(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """The hash was made with weaker parameters than today's; replace it while we know the password."""
    return _hasher.check_needs_rehash(stored)


def generate_password() -> str:
    """A strong random password (~144 bits) for first-run bootstrap."""
    return secrets.token_urlsafe(18)
