"""Plans and reviews: weekly review sheets, monthly records with their calendar, team monthly and annual
plans; submission, review by a supervisor with a comment, and the overdue lists."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import select

from activity_service import overdue, plans
from activity_service.api.deps import AgentDep, PageDep, ScopeDep, actor_of
from activity_service.models import PlanSheet
from activity_service.plan_schemas import (
    OverdueReport,
    ReviewIn,
    SheetContent,
    SheetCreate,
    SheetEdit,
    SheetRead,
    SheetWithActs,
    VersionIn,
)
from activity_service.team_targets import TeamTargets
from svckit.internal_auth import CallerDep, require_roles
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.timeutil import business_date, utcnow

router = service_router(prefix="/v1", tags=["plans and reviews"])
Overseers = require_roles("admin", "back_office", "supervisor")


def _targets(request: Request) -> TeamTargets:
    return TeamTargets(request.app.state.performance)


def _content(body: SheetContent) -> plans.Content:
    return plans.Content(planned=body.planned, summary=body.summary, plan=body.plan,
                         calendar=[c.model_dump() for c in body.calendar], target=body.target,
                         split=[p.model_dump() for p in body.split])


async def _with_acts(session: SessionDep, sheet: PlanSheet) -> SheetWithActs:
    acts = await plans.acts(session, sheet.id)
    data = SheetRead.model_validate(sheet).model_dump()
    if sheet.status in plans.EDITABLE:  # still being written: what the log says now (kept as of submission)
        data["actual"] = await plans.actual(session, sheet)
    return SheetWithActs.model_validate({**data, "acts": acts})


@router.post("/plans", response_model=SheetWithActs, status_code=201)
async def create_sheet(body: SheetCreate, session: SessionDep, agent_id: AgentDep, request: Request
                       ) -> SheetWithActs:
    """Start the caller's sheet for a week, month or year (a team plan: as the team's supervisor) as a draft.
    A team plan's target must agree with the team's target in performance (422 target_disagrees)."""
    sheet = await plans.create(session, author_id=agent_id, kind=body.kind, period_start=body.period_start,
                               team_id=body.team_id, content=_content(body), today=business_date(utcnow()),
                               targets=_targets(request))
    return await _with_acts(session, sheet)


@router.get("/plans", response_model=Page[SheetRead])
async def list_sheets(
    session: SessionDep, scope: ScopeDep, page: PageDep,
    kind: plans.Kind | None = None,
    agent_id: Annotated[int | None, Query(gt=0, description="Whose sheets (the author)")] = None,
    team_id: Annotated[int | None, Query(gt=0)] = None,
    status: Annotated[str | None, Query(pattern="^(draft|submitted|approved|returned)$")] = None,
    start: Annotated[date | None, Query(alias="from", description="Periods beginning on or after")] = None,
    end: Annotated[date | None, Query(alias="to", description="Periods beginning on or before")] = None,
) -> Page[SheetRead]:
    """Sheets the caller may see (their own; their subtree's for supervisors; their institutions' for
    staff; their team's plans), newest first."""
    query = select(PlanSheet).where(plans.visible_condition(scope))
    for column, value in ((PlanSheet.kind, kind), (PlanSheet.agent_id, agent_id), (PlanSheet.team_id, team_id),
                          (PlanSheet.status, status)):
        if value is not None:
            query = query.where(column == value)
    if start is not None:
        query = query.where(PlanSheet.period_start >= start)
    if end is not None:
        query = query.where(PlanSheet.period_start <= end)
    rows = (await session.execute(keyset(query, [PlanSheet.id.expression], page, descending=True))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.id])
    return Page(items=[SheetRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/plans/overdue", response_model=OverdueReport, dependencies=[Overseers])
async def overdue_sheets(
    session: SessionDep, scope: ScopeDep, caller: CallerDep,
    on: Annotated[date | None, Query(description="As of this day (default today, Asia/Shanghai)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Any:
    """Who has not handed in which sheet by its deadline (the latest period due of each kind), and the
    submitted sheets awaiting review, in the caller's scope."""
    found = await overdue.report(session, scope, today=on or business_date(utcnow()),
                                 caller_agent_id=caller.data_scope.agent_id, limit=limit)
    return OverdueReport(today=found.today, periods=found.periods, overdue=found.overdue,
                         awaiting_review=[SheetRead.model_validate(s) for s in found.awaiting_review])


@router.get("/plans/{sheet_id}", response_model=SheetWithActs)
async def read_sheet(sheet_id: int, session: SessionDep, scope: ScopeDep) -> SheetWithActs:
    """A sheet with every submission and review (404 outside the caller's scope)."""
    return await _with_acts(session, await plans.get(session, scope, sheet_id))


@router.put("/plans/{sheet_id}", response_model=SheetWithActs)
async def edit_sheet(sheet_id: int, body: SheetEdit, session: SessionDep, scope: ScopeDep,
                     request: Request) -> SheetWithActs:
    """The author rewrites a draft or a returned sheet, from the version last seen (409 when stale)."""
    sheet = await plans.get(session, scope, sheet_id, lock=True)
    await plans.edit(session, sheet, agent_id=scope.agent_id, version=body.version, content=_content(body),
                     now=utcnow(), targets=_targets(request))
    return await _with_acts(session, sheet)


@router.post("/plans/{sheet_id}/submit", response_model=SheetWithActs)
async def submit_sheet(sheet_id: int, body: VersionIn, session: SessionDep, scope: ScopeDep,
                       caller: CallerDep, request: Request) -> SheetWithActs:
    """The author hands the sheet in for review; its actual numbers are read from the activity log."""
    sheet = await plans.get(session, scope, sheet_id, lock=True)
    await plans.submit(session, sheet, agent_id=scope.agent_id, version=body.version, actor=actor_of(caller),
                       now=utcnow(), targets=_targets(request))
    return await _with_acts(session, sheet)


@router.post("/plans/{sheet_id}/review", response_model=SheetWithActs)
async def review_sheet(sheet_id: int, body: ReviewIn, session: SessionDep, scope: ScopeDep,
                       caller: CallerDep) -> SheetWithActs:
    """A supervisor above the author approves the sheet or returns it for rework, with a comment."""
    sheet = await plans.get(session, scope, sheet_id, lock=True)
    await plans.review(session, sheet, reviewer=scope.agent_id, staff=caller.has_role("back_office", "admin"),
                       version=body.version, decision=body.decision, comment=body.comment,
                       actor=actor_of(caller), now=utcnow())
    return await _with_acts(session, sheet)
