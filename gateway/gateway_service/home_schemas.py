"""The answers of the mobile home pages (/api/v1/home/...): each part is either its figures
(`"status": "ok"`) or `{"status": "unavailable", "reason": ...}` when the service holding it could not
answer in time; `degraded` names those parts. Amounts are decimal strings, dates Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Unavailable(Schema):
    """A part the service holding it could not give: down, slow, or answering an error."""

    status: Literal["unavailable"] = "unavailable"
    reason: str = Field(description="Why, e.g. `the ledger service did not answer within 3 s`")


# --- agent home -------------------------------------------------------------------------------------

class RequirementProgress(Schema):
    label: str = Field(description="A requirement of the daily model in force, e.g. 5 interviews 面谈")
    target: int = Field(description="How many the daily model in force asks for each working day")
    done: int = Field(description="How many are logged today")
    met: bool


class ActivityToday(Schema):
    """Today's 5-3-1 progress: today's counts against the daily targets in force (activity)."""

    status: Literal["ok"] = "ok"
    day: date
    working_day: bool = Field(description="Whether today is a working day (the targets hold on working days)")
    requirements: list[RequirementProgress]
    all_met: bool = Field(description="Every requirement met: today is a compliant day")
    visits: int
    visit_minimum: int = Field(description="Visits a working day asks for; fewer need a written explanation")


class MonthToDate(Schema):
    """This month so far (performance): FYC, received premium and the monthly target's achievement."""

    status: Literal["ok"] = "ok"
    period: str = Field(description="YYYY-MM")
    currency: str
    fyc: Decimal = Field(description="First-year commission earned so far this month")
    received_premium: Decimal
    target: Decimal | None = Field(description="This month's premium target; null when none is set")
    achievement: Decimal | None = Field(description="received_premium ÷ target, e.g. 0.4 for 40 %")


class ReceivableDue(Schema):
    receivable_id: int
    policy_id: int
    customer_id: int
    due_on: date
    deadline_on: date = Field(description="The last day to collect it")
    currency: str
    outstanding: Decimal = Field(description="Amount still to collect")


class CurrencyTotal(Schema):
    currency: str
    outstanding: Decimal
    receivables: int


class ReceivablesDue(Schema):
    """Open premiums whose collection deadline falls within the next working days, on the ledger's
    holiday calendar (ledger)."""

    status: Literal["ok"] = "ok"
    working_days: int
    until: date = Field(description="The last day of the window")
    provisional: bool = Field(description="The window reaches a year whose holidays are not loaded yet")
    count: int
    totals: list[CurrencyTotal]
    items: list[ReceivableDue] = Field(description="Earliest deadline first; at most 50")


class WeeklyReview(Schema):
    """This week's review sheet 周工作检视表 (activity)."""

    status: Literal["ok"] = "ok"
    week_start: date
    week_end: date
    state: Literal["none", "draft", "submitted", "reviewed"] = Field(
        description="none: not started; draft: being written; submitted: awaiting review; reviewed: a supervisor "
                    "approved or returned it")
    decision: Literal["approved", "returned"] | None = Field(description="When reviewed: the supervisor's decision")
    sheet_id: int | None
    due_on: date | None = Field(description="The last day to submit it on time")
    submitted_at: datetime | None


ActivityTodayPart = Annotated[ActivityToday | Unavailable, Field(discriminator="status")]
MonthToDatePart = Annotated[MonthToDate | Unavailable, Field(discriminator="status")]
ReceivablesDuePart = Annotated[ReceivablesDue | Unavailable, Field(discriminator="status")]
WeeklyReviewPart = Annotated[WeeklyReview | Unavailable, Field(discriminator="status")]


class AgentHome(Schema):
    agent_id: int = Field(description="The signed-in agent")
    today: date = Field(description="Today in Asia/Shanghai")
    activity_today: ActivityTodayPart
    month_to_date: MonthToDatePart
    receivables_due: ReceivablesDuePart
    weekly_review: WeeklyReviewPart
    degraded: list[str] = Field(description="The parts that are unavailable; empty when all answered")


# --- supervisor home --------------------------------------------------------------------------------

class MemberCompliance(Schema):
    agent_id: int
    compliant_days: int
    working_days: int
    compliance_rate: float | None
    visits: int


class TeamCompliance(Schema):
    """5-3-1 compliance of the members this week so far (activity)."""

    status: Literal["ok"] = "ok"
    week_start: date
    working_days: int = Field(description="Working days of the week up to today")
    members: int
    compliant_days: int
    member_days: int = Field(description="Working days so far × members")
    compliance_rate: float | None = Field(description="compliant_days ÷ member_days")
    by_member: list[MemberCompliance] = Field(description="Lowest compliance first")


class OverdueSheet(Schema):
    agent_id: int | None = Field(description="Whose sheet: the agent, or the team's supervisor for a team plan")
    kind: str = Field(description="weekly_review, monthly_record, team_monthly_plan or team_annual_plan")
    period_start: date
    due_on: date
    state: Literal["missing", "draft", "returned"]
    sheet_id: int | None


class AwaitingReview(Schema):
    sheet_id: int
    agent_id: int
    kind: str
    period_start: date
    submitted_at: datetime | None


class OverdueReviews(Schema):
    """Sheets not handed in by their deadline, and submitted sheets waiting for a review (activity)."""

    status: Literal["ok"] = "ok"
    overdue: list[OverdueSheet]
    awaiting_review: list[AwaitingReview]


class RankingRow(Schema):
    place: int = Field(description="1 is first; equal values share a place")
    agent_id: int
    value: Decimal


class TeamRanking(Schema):
    """This month's leaderboard of the subtree on received premium (performance)."""

    status: Literal["ok"] = "ok"
    period: str
    metric: Literal["received_premium"] = "received_premium"
    rows: list[RankingRow] = Field(description="The first ten places")


RiskReason = Literal["fewest_visits", "behind_target", "overdue_receivables"]


class MemberAtRisk(Schema):
    agent_id: int
    reasons: list[RiskReason]


class UncheckedReason(Schema):
    reason: RiskReason
    why: str = Field(description="Why it could not be checked")


class MembersAtRisk(Schema):
    """Members (the supervisor's subtree without themself) showing any of three signs:
    `fewest_visits`: the fewest visits of their team in each of the last N complete weeks (activity's flag);
    `behind_target`: received premium this month below their monthly target pro rata to the days of the
    month gone (today included);
    `overdue_receivables`: premium past its collection deadline (ledger)."""

    status: Literal["ok"] = "ok"
    members: list[MemberAtRisk] = Field(description="By agent id")
    not_checked: list[UncheckedReason] = Field(description="Signs that could not be checked now")


TeamCompliancePart = Annotated[TeamCompliance | Unavailable, Field(discriminator="status")]
OverdueReviewsPart = Annotated[OverdueReviews | Unavailable, Field(discriminator="status")]
TeamRankingPart = Annotated[TeamRanking | Unavailable, Field(discriminator="status")]
MembersAtRiskPart = Annotated[MembersAtRisk | Unavailable, Field(discriminator="status")]


class SupervisorHome(Schema):
    agent_id: int = Field(description="The signed-in supervisor")
    today: date = Field(description="Today in Asia/Shanghai")
    team_compliance: TeamCompliancePart
    overdue_reviews: OverdueReviewsPart
    team_ranking: TeamRankingPart
    members_at_risk: MembersAtRiskPart
    degraded: list[str] = Field(description="Parts unavailable, or members_at_risk with a sign not checked")
