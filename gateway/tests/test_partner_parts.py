"""The partner API's parts without HTTP: nonce memory on real PostgreSQL (concurrent claims, expiry,
purge), the token bucket, the secret box, the spooled body and redirects mapped back to public paths."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from gateway_service import partner_api, partner_auth, repository
from gateway_service.models import Partner, PartnerNonce
from gateway_service.proxy import _public_location
from gateway_service.ratelimit import TokenBuckets
from gateway_service.secretbox import SecretBox, SecretUnreadable
from gateway_service.spool import SpooledBody
from svckit.db import Database
from svckit.timeutil import utcnow


@pytest.fixture
async def partner_id(gateway_db: Database) -> uuid.UUID:
    async with gateway_db.sessionmaker.begin() as session:
        partner = Partner(code=f"p-{secrets.token_hex(4)}", name="test", kind="bank", active=True)
        session.add(partner)
        await session.flush()
        return partner.id


async def lock_wait(db: Database, pid: int) -> None:
    """Return once the backend `pid` waits for a lock held by another transaction (polled, bounded)."""
    async with db.sessionmaker() as observer:
        for _ in range(1000):
            waiting = (await observer.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                                              {"pid": pid})).scalar()
            await observer.rollback()  # a fresh snapshot of pg_stat_activity each time
            if waiting == "Lock":
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the second claim never waited for the first")


async def test_a_nonce_claimed_by_an_open_transaction_is_refused_once_it_commits(
    gateway_db: Database, partner_id: uuid.UUID,
) -> None:
    nonce, now = secrets.token_urlsafe(16), utcnow()
    expires = now + timedelta(minutes=5)
    async with gateway_db.sessionmaker() as first, gateway_db.sessionmaker() as second:
        pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert await repository.record_nonce(first, partner_id, nonce, expires_at=expires, now=now)
        # The second claim waits on the first's uncommitted row...
        waiting = asyncio.ensure_future(repository.record_nonce(second, partner_id, nonce, expires_at=expires,
                                                                now=now))
        await lock_wait(gateway_db, pid)
        assert not waiting.done()
        await first.commit()
        # ...and, once it is committed, finds it: exactly one of two simultaneous requests passes.
        assert await waiting is False
        await second.rollback()


async def test_a_nonce_claimed_by_a_transaction_that_rolls_back_is_free_again(
    gateway_db: Database, partner_id: uuid.UUID,
) -> None:
    nonce, now = secrets.token_urlsafe(16), utcnow()
    expires = now + timedelta(minutes=5)
    async with gateway_db.sessionmaker() as first, gateway_db.sessionmaker() as second:
        pid = (await second.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert await repository.record_nonce(first, partner_id, nonce, expires_at=expires, now=now)
        waiting = asyncio.ensure_future(repository.record_nonce(second, partner_id, nonce, expires_at=expires,
                                                                now=now))
        await lock_wait(gateway_db, pid)
        await first.rollback()
        assert await waiting is True
        await second.commit()


async def test_expired_nonces_are_taken_over_and_purged(gateway_db: Database, partner_id: uuid.UUID) -> None:
    now = utcnow()
    old, live, reused = (secrets.token_urlsafe(16) for _ in range(3))
    async with gateway_db.sessionmaker.begin() as session:
        for nonce, expires in ((old, now - timedelta(seconds=1)), (reused, now - timedelta(seconds=1)),
                               (live, now + timedelta(minutes=5))):
            assert await repository.record_nonce(session, partner_id, nonce, expires_at=expires,
                                                 now=now - timedelta(hours=1))
    async with gateway_db.sessionmaker.begin() as session:
        # An expired nonce is no replay: its request could no longer pass the window.
        assert await repository.record_nonce(session, partner_id, reused, expires_at=now + timedelta(minutes=5),
                                             now=now)
        assert not await repository.record_nonce(session, partner_id, live, expires_at=now + timedelta(minutes=5),
                                                 now=now)

    assert await partner_auth.purge_nonces(gateway_db) >= 1

    async with gateway_db.sessionmaker() as session:
        left = set((await session.execute(select(PartnerNonce.nonce).where(
            PartnerNonce.partner_id == partner_id))).scalars())
    assert left == {live, reused}


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [100.0]
    buckets = TokenBuckets(rate_per_second=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("icbc") for _ in range(3)] == [None, None, None]
    assert buckets.take("icbc") == pytest.approx(0.5)
    assert buckets.take("ccb") is None  # one bucket per partner
    now[0] += 0.5
    assert buckets.take("icbc") is None
    assert buckets.take("icbc") == pytest.approx(0.5)
    now[0] += 60
    assert [buckets.take("icbc") for _ in range(4)][-1] is not None  # refills only up to the burst


def test_the_secret_box_opens_only_with_its_key_and_context() -> None:
    box, other = SecretBox("m" * 20 + secrets.token_urlsafe(20)), SecretBox(secrets.token_urlsafe(40))
    sealed = box.seal("the secret", context="partner_key:pk_1")
    assert box.open(sealed, context="partner_key:pk_1") == "the secret"
    assert box.seal("the secret", context="partner_key:pk_1") != sealed  # a fresh nonce each time
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for opener, value, context in ((other, sealed, "partner_key:pk_1"), (box, sealed, "partner_key:pk_2"),
                                   (box, tampered, "partner_key:pk_1"), (box, b"\x02" + sealed[1:], "partner_key:pk_1"),
                                   (box, sealed[:10], "partner_key:pk_1")):
        with pytest.raises(SecretUnreadable):
            opener.open(value, context=context)


async def test_a_spooled_body_is_hashed_and_replayed_whole_any_number_of_times() -> None:
    data = secrets.token_bytes(3 * 1024 * 1024 + 17)

    async def arriving() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65_536):
            yield data[start:start + 65_536]

    for memory in (0, 64 * 1024, 8 * 1024 * 1024):
        body = SpooledBody(memory)
        try:
            await body.receive(arriving())
            assert (body.size, body.sha256_hex) == (len(data), hashlib.sha256(data).hexdigest())
            assert b"".join([chunk async for chunk in body]) == data
            assert b"".join([chunk async for chunk in body]) == data  # again, for a retried connection
        finally:
            body.close()


@pytest.mark.parametrize(("location", "public"), [
    ("http://ledger:8004/v1/bank/results/7", "/api/v1/partner/bank/results/7"),
    ("/v1/bank/results/7?x=1", "/api/v1/partner/bank/results/7?x=1"),
    ("/v1/bankers", "/v1/bankers"),
    ("https://bank.example/x", "https://bank.example/x"),
    ("http://ledger:80045/v1/bank/x", "http://ledger:80045/v1/bank/x"),
])
def test_partner_redirects_point_at_the_partner_prefix(location: str, public: str) -> None:
    paths = (partner_api.UPSTREAM_PREFIX, partner_api.PUBLIC_PREFIX)
    assert _public_location(location, "http://ledger:8004", paths) == public


def test_user_redirects_keep_pointing_at_the_service_prefix() -> None:
    assert _public_location("http://ledger:8004/v1/next", "http://ledger:8004", ("", "/api/v1/ledger")) == (
        "/api/v1/ledger/v1/next")
    assert _public_location("/v1/next", "http://ledger:8004", ("", "/api/v1/ledger")) == "/api/v1/ledger/v1/next"
