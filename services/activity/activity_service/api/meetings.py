"""Team meetings: morning/evening, weekly and monthly, with host, roll, minutes and decisions; who hosts
next; and the teams below the weekly minimum of morning/evening meetings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import select

from activity_service import meetings
from activity_service.api.deps import PageDep, ScopeDep, actor_of
from activity_service.meeting_schemas import (
    MeetingCreate,
    MeetingEdit,
    MeetingKind,
    MeetingNormReport,
    MeetingRead,
    MeetingWithRoll,
    NextHost,
    NormRowRead,
    TurnRead,
)
from activity_service.models import Meeting
from svckit.errors import Unprocessable
from svckit.internal_auth import CallerDep, require_roles
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.timeutil import business_date, utcnow

router = service_router(prefix="/v1", tags=["meetings"])
Overseers = require_roles("admin", "back_office", "supervisor")


def _roll(body: Any) -> list[meetings.Attendance]:
    return [meetings.Attendance(a.agent_id, a.status, a.note) for a in body.attendance]


async def _with_roll(session: SessionDep, meeting: Meeting) -> MeetingWithRoll:
    roll = await meetings.attendance(session, meeting.id)
    return MeetingWithRoll.model_validate({**MeetingRead.model_validate(meeting).model_dump(), "attendance": roll})


@router.post("/meetings", response_model=MeetingWithRoll, status_code=201)
async def record_meeting(body: MeetingCreate, session: SessionDep, scope: ScopeDep,
                         caller: CallerDep) -> MeetingWithRoll:
    """Record a meeting the team held (by its supervisor or its host), with the roll of every member."""
    meeting = await meetings.record(session, scope, team_id=body.team_id, kind=body.kind, held_on=body.held_on,
                                    host_agent_id=body.host_agent_id, minutes=body.minutes,
                                    decisions=body.decisions, roll=_roll(body), actor=actor_of(caller),
                                    today=business_date(utcnow()))
    return await _with_roll(session, meeting)


@router.get("/meetings", response_model=Page[MeetingRead])
async def list_meetings(
    session: SessionDep, scope: ScopeDep, page: PageDep,
    team_id: Annotated[int | None, Query(gt=0)] = None,
    kind: MeetingKind | None = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Page[MeetingRead]:
    """Meetings the caller may read (their teams', or those they attended), newest first."""
    query = select(Meeting).where(meetings.visible_condition(scope))
    if team_id is not None:
        query = query.where(Meeting.team_id == team_id)
    if kind is not None:
        query = query.where(Meeting.kind == kind)
    if start is not None:
        query = query.where(Meeting.held_on >= start)
    if end is not None:
        query = query.where(Meeting.held_on <= end)
    rows = (await session.execute(keyset(query, [Meeting.held_on.expression, Meeting.id.expression], page,
                                         descending=True))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.held_on, r.id])
    return Page(items=[MeetingRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/meetings/{meeting_id}", response_model=MeetingWithRoll)
async def read_meeting(meeting_id: int, session: SessionDep, scope: ScopeDep) -> MeetingWithRoll:
    """A meeting with its roll (404 outside the caller's reach)."""
    return await _with_roll(session, await meetings.get(session, scope, meeting_id))


@router.put("/meetings/{meeting_id}", response_model=MeetingWithRoll)
async def amend_meeting(meeting_id: int, body: MeetingEdit, session: SessionDep, scope: ScopeDep) -> MeetingWithRoll:
    """Correct the minutes, decisions or roll, from the version last seen (409 when stale)."""
    meeting = await meetings.get(session, scope, meeting_id, lock=True)
    await meetings.amend(session, scope, meeting, version=body.version, minutes=body.minutes,
                         decisions=body.decisions, roll=_roll(body), now=utcnow())
    return await _with_roll(session, meeting)


@router.get("/teams/{team_id}/next-host", response_model=NextHost)
async def next_host(team_id: int, session: SessionDep, scope: ScopeDep) -> NextHost:
    """Who hosts the team's next morning/evening meeting: the agent whose turn is oldest (never hosted
    first), from the meetings recorded and the team's members today."""
    turns = await meetings.rotation(session, scope, team_id)
    if not turns:
        raise Unprocessable(f"team {team_id} has no agent to host", code="no_host", field="team_id")
    return NextHost(team_id=team_id, agent_id=turns[0].agent_id,
                    rotation=[TurnRead(agent_id=t.agent_id, last_hosted_on=t.last_hosted_on) for t in turns])


@router.get("/meeting-norms", response_model=MeetingNormReport, dependencies=[Overseers])
async def meeting_norms(
    session: SessionDep, scope: ScopeDep,
    on: Annotated[date | None, Query(description="A day of the week (default today, Asia/Shanghai)")] = None,
    below_only: Annotated[bool, Query(description="Only the teams below the minimum")] = False,
) -> MeetingNormReport:
    """Morning/evening meetings held per team in the caller's scope in a week, against the rule (at least 2)."""
    today = business_date(utcnow())
    start, end, minimum, rows = await meetings.weekly_norm(session, scope, on=on or today, today=today)
    return MeetingNormReport(start=start, end=end, complete=end < today, minimum=minimum, rows=[
        NormRowRead(team_id=r.team_id, institution_id=r.institution_id, held=r.held, minimum=r.minimum,
                    below=r.below) for r in rows if r.below or not below_only])
