"""Plans and reviews 计划与检视: an agent's weekly review sheet 周工作检视表 and monthly record 月经营记录
(with the monthly calendar 月工作行事历), and a team's monthly work plan and annual plan with its task
decomposition, written by the team's supervisor.

A sheet is a draft its author edits (with versions), then submits; a supervisor above the author
approves it or returns it for rework with a comment (主管关怀 / 批阅意见). Each submission and review is
a recorded act — who, when, what comment — and a resubmission adds acts, never replaces them. What a
sheet achieved (`actual`) is read from the author's days in numbers (`activity_day`; a team's from its
members' days) when it is submitted. Deadlines are the rule `plan_deadlines`.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from activity_service import access, rules, teams, workdays
from activity_service.models import DIRECTORY, PLATFORM_TABLES, ActivityDay, ActivityKind, PlanAct, PlanSheet
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, Forbidden, NotFound, Unprocessable
from svckit.money import Money
from svckit.outbox import append_event
from svckit.scope import DataScope
from svckit.timeutil import business_date

Kind = Literal["weekly_review", "monthly_record", "team_monthly_plan", "team_annual_plan"]
TEAM_KINDS = frozenset({"team_monthly_plan", "team_annual_plan"})
AGENT_KINDS = ("weekly_review", "monthly_record")
EDITABLE = frozenset({"draft", "returned"})
CURRENCY = "CNY"
CONTENT = ("planned", "summary", "plan", "calendar", "target", "split")
# A team's premium target by period key ("2027", "2027-03"), or None when it cannot be known.
TargetLookup = Callable[[int, int], Awaitable[Mapping[str, Decimal] | None]]


def period_of(kind: str, on: date) -> tuple[date, date]:
    """The week (Monday–Sunday), month or year of a sheet of `kind` holding `on`."""
    if kind == "weekly_review":
        start = on - timedelta(days=on.weekday())
        return start, start + timedelta(days=6)
    if kind == "team_annual_plan":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    return on.replace(day=1), on.replace(day=_calendar.monthrange(on.year, on.month)[1])


def due_on(kind: str, start: date, rule: rules.PlanDeadlines) -> date:
    """The last day a sheet of `kind` for the period beginning `start` may be submitted on time."""
    if kind == "weekly_review":
        return start + timedelta(days=7 * rule.weekly_review_week_offset + rule.weekly_review_due_weekday)
    if kind == "monthly_record":
        return start.replace(day=rule.monthly_record_due_day)
    if kind == "team_monthly_plan":
        return start.replace(day=rule.team_monthly_plan_due_day)
    month, day = (int(p) for p in rule.annual_plan_before.split("-"))
    return date(start.year, month, day) - timedelta(days=1)


def last_due_period(kind: str, today: date, rule: rules.PlanDeadlines) -> tuple[date, date, date]:
    """The latest period of `kind` whose deadline has passed by `today`: (start, end, due)."""
    start, _ = period_of(kind, today)
    while True:
        due = due_on(kind, start, rule)
        if due < today:
            return start, period_of(kind, start)[1], due
        start = period_of(kind, start - timedelta(days=1))[0]


def parts_of(kind: str, start: date, end: date) -> list[tuple[date, date, int]]:
    """What a target is divided into: a month's working weeks (Monday–Sunday within the month, each with
    working days), or a year's months; each with its working days (the weight of a proposed split)."""
    if kind == "team_annual_plan":
        months = [period_of("monthly_record", date(start.year, m, 1)) for m in range(1, 13)]
        return [(s, e, len(workdays.between(s, e).days)) for s, e in months]
    if kind not in ("monthly_record", "team_monthly_plan"):
        return []
    parts, day = [], start
    while day <= end:
        week_end = min(day + timedelta(days=6 - day.weekday()), end)
        working = len(workdays.between(day, week_end).days)
        if working:
            parts.append((day, week_end, working))
        day = week_end + timedelta(days=1)
    return parts


@dataclass(frozen=True)
class Content:
    """What an author writes on a sheet; `split` is the target divided into the period's parts."""

    planned: Mapping[str, int]
    summary: str | None = None
    plan: str | None = None
    calendar: Sequence[Mapping[str, Any]] = ()
    target: Decimal | None = None
    split: Sequence[Mapping[str, Any]] = ()


def _split(kind: str, start: date, end: date, target: Decimal | None,
           split: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The split as stored: the one given, checked against the period's parts and the target, or — when
    none is given — the target divided in proportion to working days."""
    parts = parts_of(kind, start, end)
    if not parts:
        if split:
            raise Unprocessable("a weekly review sheet has no target to split", code="split_not_expected",
                                field="split")
        return []
    if target is None:
        if split:
            raise Unprocessable("a split needs the target it divides", code="target_required", field="target")
        return []
    if not split:
        amounts = Money.of(target, CURRENCY).allocate([w for _, _, w in parts])
        return [{"start": s.isoformat(), "end": e.isoformat(), "working_days": w, "target": str(m.amount)}
                for (s, e, w), m in zip(parts, amounts, strict=True)]
    expected = [(s, e) for s, e, _ in parts]
    given = [(p["start"], p["end"]) for p in split]
    if given != expected:
        unit = "months" if kind == "team_annual_plan" else "working weeks"
        raise Unprocessable(f"the split must follow the period's {unit}: "
                            + ", ".join(f"{s}–{e}" for s, e in expected), code="split_parts", field="split")
    total = sum((Decimal(p["target"]) for p in split), Decimal(0))
    if total != target:
        raise Unprocessable(f"the split adds up to {total}, the target is {target}", code="split_total",
                            field="split")
    return [{"start": s.isoformat(), "end": e.isoformat(), "working_days": w, "target": str(p["target"])}
            for (s, e, w), p in zip(parts, split, strict=True)]


async def _check_content(session: AsyncSession, sheet: PlanSheet, content: Content) -> dict[str, Any]:
    kinds = set((await session.execute(select(ActivityKind.code))).scalars())
    for key in content.planned:
        if key != "visits" and key not in kinds:
            raise Unprocessable(f"no kind of activity {key!r} to plan", code="unknown_kind", field=f"planned.{key}")
    if content.calendar and sheet.kind not in ("monthly_record", "team_monthly_plan"):
        raise Unprocessable("only a monthly sheet has a calendar", code="calendar_not_expected", field="calendar")
    for i, item in enumerate(content.calendar):
        if not sheet.period_start <= item["day"] <= sheet.period_end:
            raise Unprocessable(f"{item['day']} is outside {sheet.period_start}–{sheet.period_end}",
                                code="day_outside_period", field=f"calendar.{i}.day")
    if content.target is not None and sheet.kind == "weekly_review":
        raise Unprocessable("a weekly review sheet has no premium target", code="target_not_expected",
                            field="target")
    return {"planned": dict(content.planned), "summary": content.summary, "plan": content.plan,
            "calendar": [{"day": c["day"].isoformat(), "plan": c["plan"]} for c in content.calendar],
            "target": content.target,
            "week_split": _split(sheet.kind, sheet.period_start, sheet.period_end, content.target, content.split)}


async def check_target(sheet: PlanSheet, lookup: TargetLookup | None) -> bool:
    """Whether a team plan's target was found to agree with the team's target in performance (False: it
    could not be compared — not a team plan, no target, or performance unknown or silent); a target that
    disagrees is refused."""
    if sheet.team_id is None or sheet.target is None or lookup is None:
        return False
    shares = await lookup(sheet.team_id, sheet.period_start.year)
    key = (str(sheet.period_start.year) if sheet.kind == "team_annual_plan"
           else f"{sheet.period_start.year:04d}-{sheet.period_start.month:02d}")
    team_target = shares.get(key) if shares is not None else None
    if team_target is None:
        return False
    if Decimal(team_target) != Decimal(sheet.target):
        raise Unprocessable(f"the team's target for {key} is {team_target} in performance; this plan says "
                            f"{sheet.target}", code="target_disagrees", field="target", team_target=str(team_target))
    return True


async def create(session: AsyncSession, *, author_id: int, kind: str, period_start: date, team_id: int | None,
                 content: Content, today: date, targets: TargetLookup | None = None) -> PlanSheet:
    """A new draft of `author_id`'s sheet (or of the team they are the supervisor of) for a period."""
    if (kind in TEAM_KINDS) != (team_id is not None):
        raise Unprocessable(f"a {kind} sheet {'names' if kind in TEAM_KINDS else 'does not name'} a team",
                            code="team_required" if kind in TEAM_KINDS else "team_not_expected", field="team_id")
    start, end = period_of(kind, period_start)
    if start != period_start:
        raise Unprocessable(f"a {kind} period begins on {start}, not {period_start}", code="period_start_invalid",
                            field="period_start")
    next_start = period_of(kind, period_of(kind, today)[1] + timedelta(days=1))[0]
    if start > next_start:
        raise Unprocessable(f"plans are written for the current or the next period (from {next_start} at the "
                            "latest)", code="period_too_far", field="period_start")
    author = await access.active_agent(session, author_id)
    institution_id = author.institution_id
    if team_id is not None:
        team = await teams.load(session, team_id)
        if author_id not in team.ids:  # a team one is not in is none of one's business: as if it did not exist
            raise NotFound(f"team {team_id} does not exist", code="team_not_found", field="team_id")
        teams.require_supervisor(team, author_id)
        institution_id = team.institution_id
    query = select(PlanSheet.id).where(PlanSheet.kind == kind, PlanSheet.period_start == start)
    query = query.where(PlanSheet.team_id == team_id) if team_id is not None else query.where(
        PlanSheet.agent_id == author_id, PlanSheet.team_id.is_(None))
    existing = (await session.execute(query)).scalar()
    if existing is not None:
        raise Conflict(f"the {kind} sheet for {start} exists already (sheet {existing})", code="sheet_exists",
                       field="period_start", sheet_id=existing)
    rule = await rules.in_force(session, rules.PlanDeadlines, start)
    sheet = PlanSheet(kind=kind, agent_id=author_id, team_id=team_id, institution_id=institution_id,
                      period_start=start, period_end=end, status="draft", due_on=due_on(kind, start, rule),
                      version=1, target_checked=False)
    for name, value in (await _check_content(session, sheet, content)).items():
        setattr(sheet, name, value)
    sheet.target_checked = await check_target(sheet, targets)
    sheet.actual = await actual(session, sheet)
    session.add(sheet)
    # Two devices starting the same sheet at once: the second is refused like a later one.
    await flush_or_refuse(session, Conflict(f"the {kind} sheet for {start} exists already", code="sheet_exists",
                                            field="period_start"))
    return sheet


def visible_condition(scope: DataScope) -> ColumnElement[bool]:
    """Sheets the caller may read: their own, their subtree's (supervisors), their institutions' (staff),
    and the plans of the team they are a member of today."""
    mine = access.condition(scope, PlanSheet.agent_id, PlanSheet.institution_id)
    if scope.agent_id is None:
        return mine
    a = DIRECTORY.agents
    member = exists().where(a.c.agent_id == scope.agent_id, a.c.team_id == PlanSheet.team_id, a.c.status != "left")
    return or_(mine, and_(PlanSheet.team_id.is_not(None), member))


async def get(session: AsyncSession, scope: DataScope, sheet_id: int, *, lock: bool = False) -> PlanSheet:
    """A sheet the caller may read (`visible_condition`), else 404."""
    query = select(PlanSheet).where(PlanSheet.id == sheet_id, visible_condition(scope))
    found = (await session.execute(query.with_for_update(of=PlanSheet) if lock else query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"sheet {sheet_id} does not exist", code="sheet_not_found", field="sheet_id")
    return found


def _check_version(sheet: PlanSheet, version: int) -> None:
    if sheet.version != version:
        raise Conflict(f"sheet {sheet.id} is at version {sheet.version}; this change was made from version "
                       f"{version}", code="version_conflict", field="version", current_version=sheet.version)


def _require_author(sheet: PlanSheet, agent_id: int | None) -> None:
    if agent_id != sheet.agent_id:
        raise Forbidden(f"only the author of sheet {sheet.id} may change or submit it", code="not_the_author",
                        field="sheet_id")


def _require_editable(sheet: PlanSheet) -> None:
    if sheet.status not in EDITABLE:
        raise Conflict(f"sheet {sheet.id} is {sheet.status}; only a draft or a returned sheet changes",
                       code="sheet_not_editable", field="status", sheet_status=sheet.status)


async def edit(session: AsyncSession, sheet: PlanSheet, *, agent_id: int | None, version: int,
               content: Content, now: datetime, targets: TargetLookup | None = None) -> PlanSheet:
    _require_author(sheet, agent_id)
    _check_version(sheet, version)
    _require_editable(sheet)
    for name, value in (await _check_content(session, sheet, content)).items():
        setattr(sheet, name, value)
    sheet.target_checked = await check_target(sheet, targets)
    sheet.actual = await actual(session, sheet)
    sheet.version += 1
    sheet.updated_at = now
    await session.flush()
    return sheet


async def actual(session: AsyncSession, sheet: PlanSheet) -> dict[str, int]:
    """What the period achieved so far: activities per kind and visits, from the author's days (a team
    plan: the team's members' days)."""
    who = ActivityDay.team_id == sheet.team_id if sheet.team_id is not None else ActivityDay.agent_id == sheet.agent_id
    rows = (await session.execute(select(ActivityDay.counts, ActivityDay.visits).where(
        who, ActivityDay.day.between(sheet.period_start, sheet.period_end)))).all()
    totals: dict[str, int] = {}
    visits = 0
    for counts, day_visits in rows:
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + int(n)
        visits += day_visits
    return {**{k: n for k, n in sorted(totals.items()) if n}, "visits": visits}


MISSING = {"weekly_review": ("summary", "plan"), "monthly_record": ("summary", "plan", "target"),
           "team_monthly_plan": ("plan", "target"), "team_annual_plan": ("plan", "target")}


async def submit(session: AsyncSession, sheet: PlanSheet, *, agent_id: int | None, version: int, actor: str,
                 now: datetime, targets: TargetLookup | None = None) -> PlanSheet:
    """The author hands the sheet in for review; what it achieved is read now and kept with it."""
    _require_author(sheet, agent_id)
    _check_version(sheet, version)
    _require_editable(sheet)
    if not sheet.planned:
        raise Unprocessable("fill in what was planned (原定目标) before submitting", code="sheet_incomplete",
                            field="planned")
    for name in MISSING[sheet.kind]:
        if getattr(sheet, name) in (None, ""):
            raise Unprocessable(f"fill in {name} before submitting", code="sheet_incomplete", field=name)
    # Checked again: the team's target may have been set or changed since the draft.
    sheet.target_checked = await check_target(sheet, targets)
    sheet.actual = await actual(session, sheet)
    sheet.status, sheet.submitted_at, sheet.version = "submitted", now, sheet.version + 1
    sheet.updated_at = now
    session.add(PlanAct(sheet_id=sheet.id, act="submitted", actor=actor, actor_agent_id=agent_id,
                        sheet_version=sheet.version))
    await session.flush()
    await append_event(session, PLATFORM_TABLES, event_type="plan.submitted", aggregate_type="plan_sheet",
                       aggregate_id=str(sheet.id), payload={
                           **_event(sheet), "submitted_at": now, "late": business_date(now) > sheet.due_on})
    return sheet


def _event(sheet: PlanSheet) -> dict[str, Any]:
    return {"sheet_id": sheet.id, "kind": sheet.kind, "agent_id": sheet.agent_id, "team_id": sheet.team_id,
            "institution_id": sheet.institution_id, "period_start": sheet.period_start,
            "period_end": sheet.period_end, "due_on": sheet.due_on, "actual": sheet.actual}


async def review(session: AsyncSession, sheet: PlanSheet, *, reviewer: int | None, staff: bool, version: int,
                 decision: Literal["approve", "return"], comment: str, actor: str, now: datetime) -> PlanSheet:
    """A supervisor above the author approves the sheet or returns it for rework, with a comment. A team
    plan whose author has nobody above them in the organisation is reviewed by the institution's staff."""
    author = await access.agent_or_none(session, sheet.agent_id)
    above = list(author.path) if author is not None else []
    allowed = reviewer is not None and reviewer != sheet.agent_id and reviewer in above
    if not allowed and staff and sheet.team_id is not None and not above:
        allowed = True
    if not allowed:
        raise Forbidden(f"sheet {sheet.id} is reviewed by a supervisor above its author", code="not_a_reviewer",
                        field="sheet_id")
    _check_version(sheet, version)
    if sheet.status != "submitted":
        raise Conflict(f"sheet {sheet.id} is {sheet.status}, not awaiting review", code="not_awaiting_review",
                       field="status", sheet_status=sheet.status)
    sheet.status = "approved" if decision == "approve" else "returned"
    sheet.version += 1
    sheet.updated_at = now
    session.add(PlanAct(sheet_id=sheet.id, act="approved" if decision == "approve" else "returned", actor=actor,
                        actor_agent_id=reviewer, comment=comment, sheet_version=sheet.version))
    await session.flush()
    await append_event(session, PLATFORM_TABLES, event_type="plan.reviewed", aggregate_type="plan_sheet",
                       aggregate_id=str(sheet.id), payload={**_event(sheet), "decision": sheet.status,
                                                            "reviewer_agent_id": reviewer, "reviewed_at": now})
    return sheet


async def acts(session: AsyncSession, sheet_id: int) -> list[PlanAct]:
    return list((await session.execute(select(PlanAct).where(PlanAct.sheet_id == sheet_id)
                                       .order_by(PlanAct.id))).scalars())
