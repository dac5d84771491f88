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


RULES: dict[str, type[RuleValue]] = {
    "daily_targets": DailyTargets,
    "visit_minimum": VisitMinimum,
    "entry_window": EntryWindow,
}

BOOK = RuleBook(RuleVersion, RULES)
in_force = BOOK.in_force
