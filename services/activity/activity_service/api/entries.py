"""The agent's activity log: single entries, the offline batch sync, edits with versions, and the day
in numbers (with the explanation a shortfall needs)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from activity_service import days, entries
from activity_service.api.deps import AgentDep, PageDep, ScopeDep
from activity_service.models import ActivityDay, Entry
from activity_service.schemas import (
    DayRead,
    EntryEdit,
    EntryIn,
    EntryRead,
    ExplanationIn,
    SyncBatch,
    SyncResult,
)
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.timeutil import utcnow

router = service_router(prefix="/v1", tags=["activity log"])
_ENTRY = TypeAdapter(EntryIn)
_BATCH = TypeAdapter(list[EntryIn])


def _input(body: EntryIn) -> entries.EntryInput:
    return entries.EntryInput(body.id, body.kind, body.occurred_at, body.customer_id, body.member_agent_id,
                              body.outcome, body.notes, body.withdrawn, body.version)


def _raise(result: entries.ItemResult) -> None:
    if result.status == "conflict":
        raise Conflict(result.detail or "version conflict", code=result.code, field=result.field,
                       current_version=result.version)
    if result.status == "rejected":
        raise Unprocessable(result.detail or "invalid entry", code=result.code, field=result.field)


async def _read(session: SessionDep, agent_id: int, entry_id: UUID) -> Entry:
    found = await session.get(Entry, (agent_id, entry_id))
    if found is None:
        raise NotFound(f"entry {entry_id} does not exist", code="entry_not_found", field="entry_id")
    return found


@router.post("/entries", response_model=EntryRead, status_code=201,
             responses={200: {"description": "The entry was already logged as sent (a resend)",
                              "model": EntryRead}})
async def log_entry(body: EntryIn, session: SessionDep, agent_id: AgentDep, response: Response) -> Any:
    """Log one activity in the caller's own log. Sending the same entry again changes nothing."""
    [result] = await entries.write(session, agent_id, [_input(body)], utcnow())
    _raise(result)
    if result.row is not None:
        return result.row
    response.status_code = 200
    return await _read(session, agent_id, body.id)


def _parse(raw_items: list[dict[str, Any]]) -> tuple[list[tuple[int, entries.EntryInput]], dict[int, dict[str, Any]]]:
    """The items as entries, and a rejection for each malformed one. The whole batch is validated at
    once (the usual case); only when something in it is malformed is it judged item by item."""
    try:
        return [(n, _input(m)) for n, m in enumerate(_BATCH.validate_python(raw_items))], {}
    except ValidationError:
        pass  # something in it is malformed: each item is judged on its own below
    parsed: list[tuple[int, entries.EntryInput]] = []
    rejected: dict[int, dict[str, Any]] = {}
    for index, raw in enumerate(raw_items):
        try:
            parsed.append((index, _input(_ENTRY.validate_python(raw))))
        except ValidationError as error:
            first = error.errors()[0]
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            try:
                item_id = str(UUID(str(raw_id))) if raw_id is not None else None
            except ValueError:
                item_id = None
            rejected[index] = {"index": index, "id": item_id, "status": "rejected", "version": None,
                               "code": "invalid_entry", "field": ".".join(str(p) for p in first["loc"]) or "entry",
                               "detail": first["msg"]}
    return parsed, rejected


@router.post("/entries/sync", response_model=SyncResult)
async def sync_entries(body: SyncBatch, session: SessionDep, agent_id: AgentDep) -> Response:
    """Entries an app kept while offline (up to 500), judged one by one: valid items are kept, each
    other item is answered with the field and the rule it broke. Resending a batch changes nothing;
    an edit made from an old version is a conflict, never a silent overwrite."""
    parsed, results = _parse(body.entries)
    written = await entries.write(session, agent_id, [item for _, item in parsed], utcnow())
    for (index, _), result in zip(parsed, written, strict=True):
        results[index] = {"index": index, "id": str(result.id), "status": result.status, "version": result.version,
                          "code": result.code, "field": result.field, "detail": result.detail}
    ordered = [results[i] for i in range(len(body.entries))]
    accepted = sum(1 for r in ordered if r["status"] in {"created", "updated", "unchanged"})
    # Written out directly: 500 results are plain data already, their shape is SyncResult's.
    return JSONResponse({"accepted": accepted, "rejected": len(ordered) - accepted, "results": ordered})


@router.put("/entries/{entry_id}", response_model=EntryRead)
async def edit_entry(entry_id: UUID, body: EntryEdit, session: SessionDep, agent_id: AgentDep) -> Any:
    """Change an entry of the caller's log, made from the version the device last saw (409 when another
    device changed it since)."""
    await _read(session, agent_id, entry_id)
    [result] = await entries.write(session, agent_id, [entries.EntryInput(id=entry_id, **body.model_dump())],
                                   utcnow())
    _raise(result)
    return result.row if result.row is not None else await _read(session, agent_id, entry_id)


@router.get("/entries/{entry_id}", response_model=EntryRead)
async def read_entry(entry_id: UUID, session: SessionDep, agent_id: AgentDep) -> Entry:
    """One entry of the caller's own log (logs are never shown to anyone else)."""
    return await _read(session, agent_id, entry_id)


@router.get("/entries", response_model=Page[EntryRead])
async def list_entries(session: SessionDep, agent_id: AgentDep, page: PageDep,
                       on: Annotated[date | None, Query(description="Only this business day")] = None,
                       ) -> Page[EntryRead]:
    """The caller's own log, newest first."""
    query = select(Entry).where(Entry.agent_id == agent_id)
    if on is not None:
        query = query.where(Entry.day == on)
    rows = (await session.execute(keyset(query, [Entry.occurred_at.expression, Entry.id.expression], page,
                                         descending=True))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.occurred_at, r.id])
    return Page(items=[EntryRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/agents/{agent_id}/days", response_model=list[DayRead])
async def agent_days(agent_id: int, session: SessionDep, scope: ScopeDep,
                     start: Annotated[date, Query(alias="from")], end: Annotated[date, Query(alias="to")],
                     ) -> list[ActivityDay]:
    """An agent's days in numbers (counts per kind, visits, explanations), for the agent and those whose
    scope holds them: supervisors see how much, never with whom."""
    await days.require_visible_agent(session, scope, agent_id)
    return await days.between(session, agent_id, start, end)


@router.put("/days/{day}/explanation", response_model=DayRead)
async def explain_shortfall(day: date, body: ExplanationIn, session: SessionDep, agent_id: AgentDep) -> ActivityDay:
    """The agent's written explanation of a day below the visit minimum."""
    return await days.explain(session, agent_id, day, body.text, utcnow())
