"""Request and response bodies of plans and reviews (pydantic v2, at the edge only)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AliasChoices, Field

from activity_service.plans import Kind
from activity_service.schemas import Schema


class CalendarDay(Schema):
    """A day of the monthly calendar 月工作行事历 and what is planned on it."""

    day: date
    plan: str = Field(min_length=1, max_length=1000)


class SplitPart(Schema):
    """A part of the period's target: a working week of the month, or a month of the year."""

    start: date
    end: date
    target: Decimal = Field(ge=0, max_digits=18, decimal_places=2)


class SplitPartRead(SplitPart):
    working_days: int


class SheetContent(Schema):
    planned: dict[str, int] = Field(default_factory=dict, description="原定目标: activities planned per kind of "
                                    "activity (and `visits`), e.g. {\"interview\": 15}")
    summary: str | None = Field(default=None, max_length=4000, description="本周总结 / 上月总结: the period's "
                                "summary (a team's annual plan: its reasoning)")
    plan: str | None = Field(default=None, max_length=8000, description="下周计划 / 本月计划 / the team's plan")
    calendar: list[CalendarDay] = Field(default_factory=list, max_length=62,
                                        description="月工作行事历 (monthly sheets only)")
    target: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2,
                                   description="本月经营目标 / the year's target, premium in CNY (not on weekly "
                                   "sheets)")
    split: list[SplitPart] = Field(default_factory=list, max_length=12,
                                   description="The target divided into the month's working weeks (or the year's "
                                   "months); left out, it is proposed in proportion to working days")


class SheetCreate(SheetContent):
    kind: Kind
    period_start: date = Field(description="The Monday of the week, the 1st of the month or 1 January")
    team_id: int | None = Field(default=None, gt=0, description="The team, for team plans (written by its supervisor)")


class SheetEdit(SheetContent):
    version: int = Field(ge=1, description="The version the change was made from")


class VersionIn(Schema):
    version: int = Field(ge=1)


class ReviewIn(Schema):
    version: int = Field(ge=1)
    decision: Literal["approve", "return"] = Field(description="approve, or return for rework")
    comment: str = Field(min_length=1, max_length=4000, description="主管关怀 / 批阅意见: the supervisor's comment")


class ActRead(Schema):
    act: str
    actor: str
    actor_agent_id: int | None
    comment: str | None
    sheet_version: int
    at: datetime


class SheetRead(Schema):
    id: int
    kind: str
    agent_id: int
    team_id: int | None
    institution_id: int
    period_start: date
    period_end: date
    due_on: date
    status: str
    planned: dict[str, int]
    actual: dict[str, int] = Field(description="实际达成: activities per kind and visits, from the activity log")
    summary: str | None
    plan: str | None
    calendar: list[CalendarDay]
    target: Decimal | None
    split: list[SplitPartRead] = Field(validation_alias=AliasChoices("week_split", "split"))
    target_checked: bool = Field(description="Whether the target was compared with the team's target in "
                                 "performance; false: not checked")
    submitted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class SheetWithActs(SheetRead):
    acts: list[ActRead] = Field(description="Every submission and review, oldest first")


class PeriodRead(Schema):
    kind: str
    period_start: date
    period_end: date
    due_on: date


class OverdueRead(Schema):
    kind: str
    period_start: date
    due_on: date
    agent_id: int | None = Field(description="Whose sheet: the agent, or the team's supervisor")
    team_id: int | None
    institution_id: int
    sheet_id: int | None
    status: Literal["missing", "draft", "returned"]


class OverdueReport(Schema):
    today: date
    periods: list[PeriodRead]
    overdue: list[OverdueRead]
    awaiting_review: list[SheetRead]
