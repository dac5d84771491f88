"""Token and password primitives, without HTTP or a database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gateway_service import passwords, tokens
from svckit.errors import Unauthorized
from svckit.timeutil import utcnow

SECRET = "k" * 10 + "0123456789abcdefghijklmnopqrstuv"


def mint(**overrides: object) -> str:
    values: dict[str, object] = {"user_id": uuid.uuid4(), "session_id": uuid.uuid4(), "username": "ann",
                                 "roles": ["agent"], "now": utcnow(), "ttl": timedelta(minutes=15), **overrides}
    return tokens.mint_access_token(SECRET, **values)  # type: ignore[arg-type]


def test_an_access_token_round_trips() -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    claims = tokens.verify_access_token(SECRET, mint(user_id=user_id, session_id=session_id))
    assert (claims.user_id, claims.session_id, claims.username, claims.roles) == (
        user_id, session_id, "ann", ("agent",))


def test_a_token_for_another_audience_or_key_is_refused() -> None:
    with pytest.raises(Unauthorized) as wrong_key:
        tokens.verify_access_token("x" * 42, mint())
    assert wrong_key.value.code == "invalid_token"
    with pytest.raises(Unauthorized) as expired:
        tokens.verify_access_token(SECRET, mint(now=utcnow() - timedelta(hours=1)))
    assert expired.value.code == "token_expired"


def test_refresh_tokens_are_random_and_stored_only_as_a_hash() -> None:
    first, second = tokens.new_refresh_token(), tokens.new_refresh_token()
    assert first != second
    assert len(first) >= 43  # 256 bits
    digest = tokens.refresh_token_hash(first)
    assert len(digest) == 32
    assert first.encode() not in digest
    assert digest == tokens.refresh_token_hash(first)


async def test_password_hashes_are_argon2id_and_verify_only_the_right_password() -> None:
    stored = await passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify_password(stored, "correct horse battery")
    assert not await passwords.verify_password(stored, "correct horse battery!")
    assert not await passwords.verify_password(None, "correct horse battery")
    assert not await passwords.verify_password("not-a-hash", "anything")
    assert not passwords.needs_rehash(stored)
