"""Receivables: one, lists of the overdue, aging, and what was outstanding at a period's end."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query, Response
from sqlalchemy import Select, select
from sqlalchemy.sql.elements import ColumnElement

from ledger_service import access, receipts, receivables, rules
from ledger_service.api.deps import AsOf, PageDep, ScopeDep
from ledger_service.models import DIRECTORY, Receivable
from ledger_service.schemas import AgingRead, OutstandingRead, ReceivableRead
from svckit.errors import Forbidden
from svckit.pagination import Page, PageParams, keyset, page_of
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/receivables", tags=["receivables"])


@router.get("", response_model=Page[ReceivableRead])
async def list_receivables(
    session: SessionDep, scope: ScopeDep, page: PageDep, agent_id: int | None = None,
    status: Literal["open", "settled", "written_off"] | None = "open",
    deadline_from: Annotated[date | None, Query(description="Deadlines on or after this day")] = None,
    deadline_to: Annotated[date | None, Query(description="Deadlines on or before this day")] = None,
) -> Page[ReceivableRead]:
    """The caller's receivables (an agent: their business ledger's premiums to collect), by deadline:
    e.g. what falls due in the next working days."""
    query = select(Receivable).where(access.condition(scope, Receivable.agent_id, Receivable.institution_id))
    if agent_id is not None:
        query = query.where(Receivable.agent_id == agent_id)
    if status is not None:
        query = query.where(Receivable.status == status)
    if deadline_from is not None:
        query = query.where(Receivable.deadline_on >= deadline_from)
    if deadline_to is not None:
        query = query.where(Receivable.deadline_on <= deadline_to)
    return await _page(session, query, page)


async def _page(session: SessionDep, query: Select[Receivable], page: PageParams) -> Page[ReceivableRead]:
    keys: list[ColumnElement[Any]] = [Receivable.deadline_on.expression, Receivable.id.expression]
    rows = (await session.execute(keyset(query, keys, page))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.deadline_on, r.id])
    return Page(items=[ReceivableRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/overdue", response_model=Page[ReceivableRead])
async def overdue(
    session: SessionDep, scope: ScopeDep, page: PageDep, on: AsOf,
    agent_id: int | None = None, team_id: int | None = None, institution_id: int | None = None,
) -> Page[ReceivableRead]:
    """Open receivables past their collection deadline on the date, by deadline, within the caller's
    scope; narrowed to an agent, a team or an institution (and everything below it)."""
    query = select(Receivable).where(Receivable.status == "open", Receivable.deadline_on < on,
                                     access.condition(scope, Receivable.agent_id, Receivable.institution_id))
    if agent_id is not None:
        query = query.where(Receivable.agent_id == agent_id)
    if team_id is not None:
        d = DIRECTORY.agents
        query = query.where(Receivable.agent_id.in_(select(d.c.agent_id).where(d.c.team_id == team_id)))
    if institution_id is not None:
        i = DIRECTORY.institutions
        query = query.where(Receivable.institution_id.in_(
            select(i.c.institution_id).where(i.c.path.contains([institution_id]))))
    return await _page(session, query, page)


@router.get("/aging", response_model=AgingRead)
async def aging(
    session: SessionDep, scope: ScopeDep, on: AsOf,
    group_by: Annotated[Literal["agent", "team", "institution", "all"], Query()] = "institution",
) -> Response:
    """Outstanding premium by age on the date: not yet due, within the deadline, then past it in the
    buckets of the aging rule in force."""
    rule = await rules.in_force(session, rules.AgingBuckets, on)
    rows = await receivables.aging(session, on=on, group_by=group_by, bounds=rule.bounds,
                                   where=access.condition(scope, Receivable.agent_id, Receivable.institution_id))
    labels = rule.labels()
    # By agent, tens of thousands of rows: validated in one pass over plain rows rather than row by row,
    # and answered as the JSON FastAPI would render, without validating it all a second time.
    read = AgingRead.model_validate({"on": on, "group_by": group_by, "buckets": labels, "rows": [{
        "group_id": r.group_id, "currency": r.currency, "not_due": r.not_due, "within_deadline": r.within_deadline,
        "overdue": dict(zip(labels, r.buckets, strict=True)), "receivables": r.receivables} for r in rows]})
    return Response(read.model_dump_json(), media_type="application/json")


@router.get("/outstanding", response_model=list[OutstandingRead])
async def outstanding(
    session: SessionDep, scope: ScopeDep,
    period_end: Annotated[date, Query(description="Last day of the assessment period")],
    agent_id: Annotated[list[int] | None, Query(description="Limit to these agents")] = None,
) -> list[dict[str, object]]:
    """Per agent: premium outstanding at the end of the period and how much of it was overdue then
    (the monthly receivables assessment 应收考核 that performance reads)."""
    if not scope.everything:
        raise Forbidden("the assessment data is for services and administrators", code="scope_too_narrow")
    return await receivables.outstanding_at(session, period_end, agent_id)


@router.get("/{receivable_id}", response_model=ReceivableRead)
async def read_receivable(receivable_id: int, session: SessionDep, scope: ScopeDep) -> Receivable:
    """One receivable."""
    found = await receipts.receivable(session, receivable_id)
    await access.require(session, scope, agent_id=found.agent_id, institution_id=found.institution_id,
                         what="receivable", object_id=receivable_id, field="receivable_id")
    return found
