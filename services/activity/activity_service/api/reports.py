"""Compliance with the daily 5-3-1 / 1-1-1 models per person, team and institution, and the agents
flagged for the fewest visits."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from activity_service import compliance
from activity_service.api.deps import ScopeDep
from activity_service.schemas import ComplianceReport, TrackingCalls, VisitFlags
from svckit.routing import SessionDep, service_router
from svckit.timeutil import business_date, utcnow

router = service_router(prefix="/v1", tags=["compliance"])


@router.get("/compliance", response_model=ComplianceReport)
async def compliance_report(
    session: SessionDep, scope: ScopeDep,
    period: compliance.Period = "day",
    on: Annotated[date | None, Query(description="A day of the period (default today, Asia/Shanghai)")] = None,
    model: Annotated[compliance.Model, Query(description="agent: 5-3-1; supervisor: 1-1-1")] = "agent",
    level: compliance.Level = "agent",
    institution_id: Annotated[int | None, Query(gt=0, description="Only this institution and below")] = None,
    team_id: Annotated[int | None, Query(gt=0)] = None,
) -> ComplianceReport:
    """Compliance over the day, week (Monday–Sunday) or month of `on`, for everyone the caller's scope
    holds: days meeting the daily model, each requirement done against its target, visits and the days
    below the visit minimum still without a written explanation."""
    today = business_date(utcnow())
    found = await compliance.report(session, scope, period=period, on=on or today, today=today, model=model,
                                    level=level, institution_id=institution_id, team_id=team_id)
    return ComplianceReport(model=model, level=level, start=found.start, end=found.end,
                            working_days=found.working_days, provisional=found.provisional,
                            visit_minimum=found.visit_minimum, rows=found.rows)


@router.get("/visit-flags", response_model=VisitFlags)
async def visit_flags(session: SessionDep, scope: ScopeDep,
                      on: Annotated[date | None, Query(description="Weeks before the week of this day")] = None,
                      ) -> VisitFlags:
    """Agents with the fewest visits of their team in each of the last N complete weeks (N is a rule):
    flagged for assessment."""
    weeks, flagged = await compliance.fewest_visit_flags(session, scope, on=on or business_date(utcnow()))
    return VisitFlags(weeks=weeks, flagged=flagged)


@router.get("/tracking-calls", response_model=TrackingCalls)
async def tracking_calls(session: SessionDep, scope: ScopeDep,
                         on: Annotated[date | None, Query(description="A day of the week (default today)")] = None,
                         ) -> TrackingCalls:
    """Tracking calls each supervisor in the caller's scope made to each direct member in the week
    (Monday–Sunday), against the weekly number per member the rules ask for."""
    week_of, minimum, rows = await compliance.tracking_calls(session, scope, on=on or business_date(utcnow()))
    return TrackingCalls(week_of=week_of, per_member_per_week=minimum, rows=rows)
