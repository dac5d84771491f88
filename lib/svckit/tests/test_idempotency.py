"""Idempotency-Key: replay the first response, refuse a reused key, one effect under concurrency."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from svckit.errors import Conflict
from svckit.idempotency import IdempotencyDep
from svckit.kit import kit_of
from svckit.outbox import append_event
from svckit.routing import SessionDep, service_router
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

from .conftest import kit_app


class NoteCreate(BaseModel):
    text: str
    hold_seconds: float = 0.0
    fail: bool = False


def notes_router():  # type: ignore[no-untyped-def]
    router = service_router(prefix="/v1")

    @router.post("/notes", status_code=201)
    async def create_note(
        body: NoteCreate, request: Request, session: SessionDep, _: IdempotencyDep
    ) -> dict[str, object]:
        event_id = await append_event(session, kit_of(request).tables, event_type="note.created",
                                      aggregate_type="note", aggregate_id=body.text, payload={"text": body.text})
        await asyncio.sleep(body.hold_seconds)  # keeps the transaction open so duplicates really overlap
        if body.fail:
            raise Conflict("refused on purpose", code="refused")
        return {"event_id": event_id, "text": body.text}

    return router


@pytest.fixture
async def client(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running(kit_app(stack_db, internal_secret, [notes_router()])) as c:
        c.headers.update(internal_headers(internal_secret, "kit", user_id="agent-7"))
        yield c


async def _effects(engine: AsyncEngine, tag: str) -> int:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM kit.outbox_event WHERE aggregate_id = :t"), {"t": tag})
        return int(result.scalar_one())


async def test_a_repeated_key_returns_the_first_response_and_does_nothing_more(
    client: httpx.AsyncClient, kit_engine: AsyncEngine
) -> None:
    first = await client.post("/v1/notes", json={"text": "idem-a"}, headers={"Idempotency-Key": "k-a"})
    again = await client.post("/v1/notes", json={"text": "idem-a"}, headers={"Idempotency-Key": "k-a"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _effects(kit_engine, "idem-a") == 1


async def test_the_same_key_with_a_different_body_is_refused(client: httpx.AsyncClient) -> None:
    await client.post("/v1/notes", json={"text": "idem-b"}, headers={"Idempotency-Key": "k-b"})
    reused = await client.post("/v1/notes", json={"text": "something else"}, headers={"Idempotency-Key": "k-b"})
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert reused.json()["field"] == "header.Idempotency-Key"


async def test_concurrent_duplicates_produce_one_effect_and_one_answer(
    client: httpx.AsyncClient, kit_engine: AsyncEngine
) -> None:
    body = {"text": "idem-c", "hold_seconds": 0.2}
    responses = await asyncio.gather(
        *(client.post("/v1/notes", json=body, headers={"Idempotency-Key": "k-c"}) for _ in range(6))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert await _effects(kit_engine, "idem-c") == 1


async def test_a_failed_first_attempt_leaves_the_key_free_for_a_retry(
    client: httpx.AsyncClient, kit_engine: AsyncEngine
) -> None:
    failed = await client.post("/v1/notes", json={"text": "idem-d", "fail": True}, headers={"Idempotency-Key": "k-d"})
    assert failed.status_code == 409
    assert await _effects(kit_engine, "idem-d") == 0
    retried = await client.post("/v1/notes", json={"text": "idem-d"}, headers={"Idempotency-Key": "k-d"})
    assert retried.status_code == 201
    assert await _effects(kit_engine, "idem-d") == 1


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, internal_secret: str, kit_engine: AsyncEngine
) -> None:
    await client.post("/v1/notes", json={"text": "idem-e"}, headers={"Idempotency-Key": "shared"})
    other = internal_headers(internal_secret, "kit", user_id="agent-8")
    response = await client.post("/v1/notes", json={"text": "idem-e"}, headers={**other, "Idempotency-Key": "shared"})
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await _effects(kit_engine, "idem-e") == 2


async def test_without_a_key_each_request_acts(client: httpx.AsyncClient, kit_engine: AsyncEngine) -> None:
    await client.post("/v1/notes", json={"text": "idem-f"})
    await client.post("/v1/notes", json={"text": "idem-f"})
    assert await _effects(kit_engine, "idem-f") == 2
