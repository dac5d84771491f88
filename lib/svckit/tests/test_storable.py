"""Values PostgreSQL cannot store (integers beyond 64 bits, text holding NUL) are the caller's 422
naming the field and the rule, checked before the endpoint queries anything: never a 500."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import text

from svckit.routing import SessionDep, service_router
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase
from svckit.testing.responses import problem

from .conftest import kit_app

TOO_BIG = 2**63


class Note(BaseModel):
    agent_ids: list[int]
    text: str
    extra: dict[str, Any] = {}


def notes_router():  # type: ignore[no-untyped-def]
    router = service_router(prefix="/v1")

    @router.get("/agents/{agent_id}")
    async def read_agent(agent_id: int, session: SessionDep, code: Annotated[str | None, Query()] = None,
                         team_id: Annotated[int | None, Query()] = None) -> dict[str, Any]:
        # The values reach the database as a bigint and a text, as every service's queries do.
        row = (await session.execute(text("SELECT CAST(:id AS bigint), CAST(:code AS text), CAST(:team AS bigint)"),
                                     {"id": agent_id, "code": code, "team": team_id})).one()
        return {"id": row[0], "code": row[1], "team_id": row[2]}

    @router.post("/notes")
    async def write_note(body: Note, session: SessionDep) -> dict[str, Any]:
        await session.execute(text("SELECT CAST(:ids AS bigint[]), CAST(:t AS text)"),
                              {"ids": body.agent_ids, "t": body.text})
        return {"agent_ids": body.agent_ids}

    return router


@pytest.fixture
async def client(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running(kit_app(stack_db, internal_secret, [notes_router()])) as client:
        client.headers.update(internal_headers(internal_secret, "kit"))
        yield client


def _errors(response: httpx.Response) -> list[tuple[str, str]]:
    body = problem(response, 422, "validation_failed")
    return [(e["field"], e["rule"]) for e in body["errors"]]


async def test_values_within_range_pass(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/agents/{TOO_BIG - 1}", params={"code": "9" * 30, "team_id": -(2**63)})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": TOO_BIG - 1, "code": "9" * 30, "team_id": -(2**63)}
    note = await client.post("/v1/notes", json={"agent_ids": [1, TOO_BIG - 1], "text": "账号 6222021234567890123",
                                                "extra": {"card": 6222021234567890123}})
    assert note.status_code == 200, note.text


async def test_integers_beyond_64_bits_are_named(client: httpx.AsyncClient) -> None:
    assert _errors(await client.get(f"/v1/agents/{TOO_BIG}")) == [("path.agent_id", "int64_range")]
    assert _errors(await client.get("/v1/agents/1", params={"team_id": str(-TOO_BIG - 1)})) == [
        ("query.team_id", "int64_range")]
    body = {"agent_ids": [1, TOO_BIG, 3], "text": "ok", "extra": {"deep": [{"n": -(10**30)}]}}
    assert _errors(await client.post("/v1/notes", json=body)) == [("agent_ids.1", "int64_range"),
                                                                  ("extra.deep.0.n", "int64_range")]


async def test_a_string_parameter_that_looks_like_a_big_number_is_just_a_string(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/agents/1", params={"code": str(10**30)})
    assert response.status_code == 200, response.text


async def test_nul_characters_are_named(client: httpx.AsyncClient) -> None:
    assert _errors(await client.get("/v1/agents/1", params={"code": "a\x00b"})) == [("query.code", "string_nul")]
    response = await client.post("/v1/notes", json={"agent_ids": [], "text": "x\x00", "extra": {"k\x00": 1}})
    assert _errors(response) == [("text", "string_nul"), ("extra.k\x00", "string_nul")]


async def test_authentication_comes_first(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/agents/{TOO_BIG}", headers={"Authorization": ""})
    assert response.status_code == 401, response.text
