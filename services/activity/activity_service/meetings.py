"""Team meetings 会议 (seed 000 第十三条): morning/evening meetings 早夕会 hosted in rotation by the
team's agents, weekly and monthly meetings 周例会/月例会 hosted by the supervisor; attendance of every
member, written minutes and decisions, archived. The rule `meeting_norms` says how many morning/evening
meetings a team holds at least each week; the report names the teams below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from activity_service import access, rules, teams
from activity_service.models import PLATFORM_TABLES, Meeting, MeetingAttendance
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, Forbidden, NotFound, Unprocessable
from svckit.outbox import append_event
from svckit.scope import DataScope

ROTATING = ("morning", "evening")  # hosted in rotation by the team's agents
BY_SUPERVISOR = ("weekly", "monthly")


@dataclass(frozen=True)
class Attendance:
    agent_id: int
    status: str
    note: str | None = None


def visible_condition(scope: DataScope) -> ColumnElement[bool]:
    """Meetings the caller may read: those of teams led by someone in their scope (the supervisor, those
    above, the institution's staff), and those they hosted or were on the roll of."""
    clauses = [access.condition(scope, Meeting.leader_agent_id, Meeting.institution_id)]
    if scope.agent_id is not None:
        clauses.append(Meeting.host_agent_id == scope.agent_id)
        clauses.append(exists().where(MeetingAttendance.meeting_id == Meeting.id,
                                      MeetingAttendance.agent_id == scope.agent_id))
    return or_(*clauses)


async def get(session: AsyncSession, scope: DataScope, meeting_id: int, *, lock: bool = False) -> Meeting:
    query = select(Meeting).where(Meeting.id == meeting_id, visible_condition(scope))
    found = (await session.execute(query.with_for_update(of=Meeting) if lock else query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"meeting {meeting_id} does not exist", code="meeting_not_found", field="meeting_id")
    return found


async def attendance(session: AsyncSession, meeting_id: int) -> list[MeetingAttendance]:
    return list((await session.execute(select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting_id)
                                       .order_by(MeetingAttendance.agent_id))).scalars())


def _check_roll(team: teams.Team, host_agent_id: int, roll: Sequence[Attendance]) -> None:
    """Every member today is on the roll once, nobody else; the host was there."""
    seen: set[int] = set()
    for i, item in enumerate(roll):
        if item.agent_id not in team.ids:
            raise Unprocessable(f"agent {item.agent_id} is not a member of team {team.team_id}",
                                code="attendee_not_in_team", field=f"attendance.{i}.agent_id")
        if item.agent_id in seen:
            raise Unprocessable(f"agent {item.agent_id} is on the roll twice", code="attendee_twice",
                                field=f"attendance.{i}.agent_id")
        seen.add(item.agent_id)
    missing = sorted(team.ids - seen)
    if missing:
        raise Unprocessable(f"the roll lacks members {missing}: say for each whether present, absent or excused",
                            code="attendance_incomplete", field="attendance")
    if next(a.status for a in roll if a.agent_id == host_agent_id) != "present":
        raise Unprocessable("the host was at the meeting", code="host_absent", field="host_agent_id")


def _check_host(team: teams.Team, kind: str, host_agent_id: int) -> None:
    if host_agent_id not in team.ids:
        raise Unprocessable(f"agent {host_agent_id} is not a member of team {team.team_id}",
                            code="host_not_in_team", field="host_agent_id")
    if kind in BY_SUPERVISOR and host_agent_id not in team.supervisors:
        raise Unprocessable(f"a {kind} meeting is hosted by the team's supervisor", code="host_not_supervisor",
                            field="host_agent_id")


def _require_recorder(team: teams.Team, recorder: int | None, host_agent_id: int) -> None:
    if recorder is None or (recorder not in team.supervisors and recorder != host_agent_id):
        raise Forbidden("a meeting is recorded by the team's supervisor or its host", code="not_meeting_recorder",
                        field="team_id")


async def record(session: AsyncSession, scope: DataScope, *, team_id: int, kind: str, held_on: date,
                 host_agent_id: int, minutes: str | None, decisions: Sequence[str], roll: Sequence[Attendance],
                 actor: str, today: date) -> Meeting:
    """Record a meeting held (by the team's supervisor or its host) and announce it on the change feed."""
    team = await teams.visible(session, scope, team_id)
    _require_recorder(team, scope.agent_id, host_agent_id)
    if held_on > today:
        raise Unprocessable(f"{held_on} has not come yet: a meeting is recorded once held", code="meeting_in_future",
                            field="held_on")
    window = await rules.in_force(session, rules.EntryWindow, today)
    if held_on < today - timedelta(days=window.max_past_days):
        raise Unprocessable(f"meetings older than {window.max_past_days} days cannot be recorded",
                            code="meeting_too_old", field="held_on")
    _check_host(team, kind, host_agent_id)
    _check_roll(team, host_agent_id, roll)
    existing = (await session.execute(select(Meeting.id).where(
        Meeting.team_id == team_id, Meeting.kind == kind, Meeting.held_on == held_on))).scalar()
    if existing is not None:
        raise Conflict(f"the {kind} meeting of team {team_id} on {held_on} is recorded already (meeting {existing})",
                       code="meeting_exists", field="held_on", meeting_id=existing)
    meeting = Meeting(team_id=team_id, institution_id=team.institution_id, leader_agent_id=team.supervisors[0],
                      kind=kind, held_on=held_on, host_agent_id=host_agent_id, minutes=minutes,
                      decisions=list(decisions), recorded_by=actor, version=1)
    session.add(meeting)
    await flush_or_refuse(session, Conflict(f"the {kind} meeting of team {team_id} on {held_on} is recorded "
                                            "already", code="meeting_exists", field="held_on"))
    session.add_all([MeetingAttendance(meeting_id=meeting.id, agent_id=a.agent_id, status=a.status, note=a.note)
                     for a in roll])
    await session.flush()
    await append_event(session, PLATFORM_TABLES, event_type="meeting.held", aggregate_type="meeting",
                       aggregate_id=str(meeting.id), payload=_event(meeting, roll))
    return meeting


def _event(meeting: Meeting, roll: Sequence[Attendance]) -> dict[str, Any]:
    return {"meeting_id": meeting.id, "team_id": meeting.team_id, "institution_id": meeting.institution_id,
            "kind": meeting.kind, "held_on": meeting.held_on, "host_agent_id": meeting.host_agent_id,
            "present": sorted(a.agent_id for a in roll if a.status == "present"),
            "absent": sorted(a.agent_id for a in roll if a.status == "absent"),
            "excused": sorted(a.agent_id for a in roll if a.status == "excused")}


async def amend(session: AsyncSession, scope: DataScope, meeting: Meeting, *, version: int, minutes: str | None,
                decisions: Sequence[str], roll: Sequence[Attendance], now: datetime) -> Meeting:
    """Correct the minutes, decisions or roll of a recorded meeting, from the version last seen."""
    team = await teams.load(session, meeting.team_id)
    _require_recorder(team, scope.agent_id, meeting.host_agent_id)
    if meeting.version != version:
        raise Conflict(f"meeting {meeting.id} is at version {meeting.version}; this change was made from version "
                       f"{version}", code="version_conflict", field="version", current_version=meeting.version)
    on_roll = {a.agent_id for a in await attendance(session, meeting.id)}
    # The roll of a past meeting is judged against who was on it then, plus today's members.
    team = teams.Team(team.team_id, team.members + tuple(teams.Member(i, (), meeting.institution_id)
                                                         for i in on_roll - team.ids))
    _check_roll(team, meeting.host_agent_id, roll)
    meeting.minutes, meeting.decisions, meeting.version = minutes, list(decisions), meeting.version + 1
    for row in await attendance(session, meeting.id):
        await session.delete(row)
    await session.flush()
    session.add_all([MeetingAttendance(meeting_id=meeting.id, agent_id=a.agent_id, status=a.status, note=a.note)
                     for a in roll])
    await session.flush()
    return meeting


@dataclass(frozen=True)
class Turn:
    agent_id: int
    last_hosted_on: date | None


async def rotation(session: AsyncSession, scope: DataScope, team_id: int) -> list[Turn]:
    """The team's agents in the order they are due to host the next morning/evening meeting: those who
    never hosted first (by id), then those whose last turn is oldest."""
    team = await teams.visible(session, scope, team_id)
    candidates = team.agents
    rows = (await session.execute(
        select(Meeting.host_agent_id, func.max(Meeting.held_on), func.max(Meeting.id))
        .where(Meeting.team_id == team_id, Meeting.kind.in_(ROTATING), Meeting.host_agent_id.in_(candidates))
        .group_by(Meeting.host_agent_id))).all()
    last = {host: (held_on, meeting_id) for host, held_on, meeting_id in rows}
    order = sorted(candidates, key=lambda a: (a in last, last.get(a, (date.min, 0)), a))
    return [Turn(a, last[a][0] if a in last else None) for a in order]


@dataclass(frozen=True)
class NormRow:
    team_id: int
    institution_id: int
    held: int
    minimum: int

    @property
    def below(self) -> bool:
        return self.held < self.minimum


async def weekly_norm(session: AsyncSession, scope: DataScope, *, on: date,
                      today: date) -> tuple[date, date, int, list[NormRow]]:
    """Morning/evening meetings each team in the caller's scope held in the week (Monday–Sunday) of `on`,
    against the rule in force that week."""
    start = on - timedelta(days=on.weekday())
    end = start + timedelta(days=6)
    if start > today:
        raise Unprocessable(f"the week from {start} has not begun", code="period_in_future", field="on")
    norm = await rules.in_force(session, rules.MeetingNorms, start)
    scoped = teams.in_scope(scope).subquery()
    held = (select(func.count()).where(Meeting.team_id == scoped.c.team_id, Meeting.kind.in_(ROTATING),
                                       and_(Meeting.held_on >= start, Meeting.held_on <= end))
            .scalar_subquery())
    rows = (await session.execute(select(scoped.c.team_id, scoped.c.institution_id, held.label("held"))
                                  .order_by(scoped.c.team_id))).all()
    return start, end, norm.morning_evening_per_week, [
        NormRow(r.team_id, r.institution_id, int(r.held), norm.morning_evening_per_week) for r in rows]
