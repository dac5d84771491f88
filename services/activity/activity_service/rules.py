"""The activity rules as effective-dated data (svckit.rules): the daily 5-3-1 and 1-1-1 targets, the
visit minimum and when the agent with the fewest visits is flagged, and how far back or ahead an
entry may be dated. Seeded with DOMAIN.md §3's defaults; a change is a new version."""

from __future__ import annotations

from pydantic import Field, model_validator

from activity_service.models import RuleVersion
from svckit.rules import RuleBook, RuleValue


class Requirement(RuleValue):
    """At least `minimum` activities of `kinds` (together) in a day, e.g. 1 new-customer or recruiting visit."""

    label: str = Field(min_length=1, max_length=200)
    kinds: list[str] = Field(min_length=1, max_length=20)
    minimum: int = Field(ge=1, le=1000)


class DailyTargets(RuleValue):
    """The daily model of an agent (5-3-1) and of a supervisor (1-1-1), and the weekly tracking calls
    a supervisor owes each member."""

    agent: list[Requirement] = Field(min_length=1, max_length=20)
    supervisor: list[Requirement] = Field(min_length=1, max_length=20)
    tracking_calls_per_member_per_week: int = Field(ge=0, le=50)

    @model_validator(mode="after")
    def _labels_unique(self) -> DailyTargets:
        for role in (self.agent, self.supervisor):
            labels = [r.label for r in role]
            if len(labels) != len(set(labels)):
                raise ValueError("requirement labels must be unique within a role")
        return self

    def kinds(self) -> set[str]:
        return {k for r in (*self.agent, *self.supervisor) for k in r.kinds}


class VisitMinimum(RuleValue):
    """Visits an agent makes each working day at least (a shortfall needs a written explanation), and
    after how many consecutive weeks as the team's fewest-visits agent they are flagged for assessment."""

    per_day: int = Field(ge=0, le=100)
    flag_after_weeks: int = Field(ge=1, le=52)


class EntryWindow(RuleValue):
    """How old an entry may be when it is written, and how far ahead of the server's clock."""

    max_past_days: int = Field(ge=0, le=366)
    future_tolerance_minutes: int = Field(ge=0, le=24 * 60)


class PlanDeadlines(RuleValue):
    """When plans and review sheets are due (DOMAIN.md §3): the weekly review sheet on a weekday of the
    week it reviews (offset 0) or of the week after (offset 1); an agent's monthly record and the team's
    monthly work plan by a day of their month (the 5th); the team's annual plan before a day of January
    (10 January: the 9th is the last day). A sheet is overdue the day after it is due."""

    weekly_review_due_weekday: int = Field(ge=0, le=6, description="0 Monday … 6 Sunday")
    weekly_review_week_offset: int = Field(ge=0, le=1)
    monthly_record_due_day: int = Field(ge=1, le=28)
    team_monthly_plan_due_day: int = Field(ge=1, le=28)
    annual_plan_before: str = Field(pattern=r"^01-(0[2-9]|[12][0-9]|3[01])$",
                                    description="MM-DD in January: the plan is due the day before")


class MeetingNorms(RuleValue):
    """How many morning/evening meetings 早夕会 a team holds at least each week (Monday–Sunday)."""

    morning_evening_per_week: int = Field(ge=0, le=14)


RULES: dict[str, type[RuleValue]] = {
    "daily_targets": DailyTargets,
    "visit_minimum": VisitMinimum,
    "entry_window": EntryWindow,
    "plan_deadlines": PlanDeadlines,
    "meeting_norms": MeetingNorms,
}

BOOK = RuleBook(RuleVersion, RULES)
in_force = BOOK.in_force
