"""Request and response bodies of the performance API (pydantic v2, amounts as decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A month of the years 1900-2999: the year 0 is no date, and month arithmetic near 9999 overflows.
PERIOD = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
MONTH_OR_YEAR = r"^(19|2[0-9])[0-9]{2}(-(0[1-9]|1[0-2]))?$"


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


def no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("send amounts as decimal strings, not JSON numbers with fractions")
    return value


class RuleSetCreate(Schema):
    version: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:-]+$", examples=["2027"])
    status: Literal["in_force", "proposed"] = Field(description="in_force from valid_from, or a proposal for "
                                                   "what-if runs")
    valid_from: date = Field(description="First day the version applies (never inside a settled period)")
    body: dict[str, Any] = Field(description="The basic law: see performance_service.rules.RuleSetBody")


class RuleSetRead(Schema):
    id: int
    version: str
    status: str
    valid_from: date
    valid_to: date | None
    body: dict[str, Any]
    recorded_by: str
    recorded_at: datetime


class SettlementCreate(Schema):
    period: str = Field(pattern=PERIOD, examples=["2026-10"], description="The month settled (a closed one)")
    mode: Literal["final", "what_if"] = "final"
    rule_set_id: int | None = Field(default=None, description="Default: the version in force at the period's end")
    rule_set: dict[str, Any] | None = Field(default=None, description="What-if only: a proposed basic law")


class SettlementRead(Schema):
    id: str
    period: str
    mode: str
    status: str
    rule_set_id: int | None
    rule_set_version: str
    supersedes: str | None
    superseded_by: str | None
    fact_upto: int = Field(description="Facts up to this id were read (the run's high-water mark)")
    agents: int
    totals: dict[str, Any] | None
    diff: dict[str, Any] | None
    posted: bool
    error: str | None
    late_facts: int | None = Field(description="Facts of the period recorded after the run read them: a "
                                   "re-run would count them (not counted in lists)")
    started_by: str
    started_at: datetime
    finished_at: datetime | None


class DiffRow(Schema):
    agent_id: int
    gross_before: Decimal
    gross_after: Decimal
    net_before: Decimal
    net_after: Decimal


class LineRead(Schema):
    line_no: int
    kind: str = Field(description="commission, management_allowance, nurturing_allowance, recruiting_bonus, clawback, "
                      "adjustment, "
                      "paid_before, carried_in, withholding, withholding_release, carry_forward")
    rule: str = Field(description="The rule of the run's rule set that produced the line")
    currency: str
    amount: Decimal
    base: dict[str, Any] = Field(description="The facts and figures the line was computed on")
    arithmetic: str


class StatementRead(Schema):
    run_id: str
    period: str
    agent_id: int
    rule_set_version: str
    currency: str
    gross: Decimal
    net: Decimal = Field(description="What this run pays the agent (the sum of the lines)")
    held: Decimal = Field(description="Commission withheld at the end of the period")
    carried: Decimal = Field(description="Deficit carried to the next period")
    status: str
    payable_id: int | None
    lines: list[LineRead]


class DisputeCreate(Schema):
    run_id: str
    agent_id: int
    line_no: int
    reason: str = Field(min_length=1, max_length=2000)


class SupervisorReview(Schema):
    endorse: bool = Field(description="Whether the supervisor supports the dispute")
    note: str = Field(min_length=1, max_length=2000)


class FinanceDecision(Schema):
    accept: bool
    adjustment: Decimal | None = Field(default=None, description="Paid (or, negative, recovered) in the next run")
    note: str = Field(min_length=1, max_length=2000)

    _amount = field_validator("adjustment", mode="before")(no_float)


class DisputeRead(Schema):
    id: int
    run_id: str
    agent_id: int
    line_no: int
    reason: str
    status: str
    raised_by: str
    raised_at: datetime
    supervisor_note: str | None
    supervisor_by: str | None
    finance_note: str | None
    finance_by: str | None
    adjustment: Decimal | None
    currency: str
    settled_in_run: str | None


class QuarantineRead(Schema):
    id: int
    event_id: int
    event_type: str
    agent_id: int | None
    reason: str
    received_at: datetime
    admitted_at: datetime | None


class FactSummary(Schema):
    agent_id: int
    period: str
    currency: str
    fyp: Decimal
    standard_premium: Decimal
    received_premium: Decimal = Field(description="Net of reversals; the only premium that earns commission")
    first_year_received: Decimal
    renewal_received: Decimal
    new_policies: int
    policies_ended: int


class ConditionGap(Schema):
    condition: str
    required: Decimal
    actual: Decimal
    missing: Decimal = Field(description="0 when the condition is met")
    met: bool


class GapRead(Schema):
    agent_id: int
    period: str
    kind: Literal["promotion", "maintenance"]
    rank_code: str
    target_rank: str
    months: int
    window: list[str] = Field(description="The periods assessed")
    met: bool
    conditions: list[ConditionGap]
    count_back: list[dict[str, Any]] = Field(description="Teams counted back by org for this assessment")


class RankingRow(Schema):
    place: int = Field(description="1 is first; equal values share a place")
    key: int = Field(description="The agent, team or institution id")
    value: Decimal


class Scores(Schema):
    sales: Decimal = Field(ge=0, le=100, description="Sales 业绩, 0–100")
    ability: Decimal = Field(ge=0, le=100, description="Ability 能力, 0–100")
    attitude: Decimal = Field(ge=0, le=100, description="Attitude 态度, 0–100")

    _floats = field_validator("sales", "ability", "attitude", mode="before")(no_float)


class AssessmentCreate(Schema):
    agent_id: int
    kind: Literal["monthly", "annual", "promotion", "maintenance"]
    period: str = Field(pattern=MONTH_OR_YEAR, description="YYYY-MM, or YYYY for annual")


class Evaluation(Schema):
    scores: Scores
    comment: str = Field(min_length=1, max_length=4000)


class Feedback(Schema):
    note: str = Field(min_length=1, max_length=4000, description="What the feedback interview concluded")


class ProposalSend(Schema):
    effective_on: date = Field(description="The rank change applies from this day")


class AssessmentRead(Schema):
    id: int
    agent_id: int
    kind: str
    period: str
    rank_code: str
    status: str
    self_scores: dict[str, Any] | None
    self_comment: str | None
    supervisor_scores: dict[str, Any] | None
    supervisor_comment: str | None
    supervisor_by: str | None
    weights: dict[str, Any] | None
    score: Decimal | None = Field(description="The consolidated score: consolidated_scores weighted by `weights`")
    sales_evidence: dict[str, Any] | None = Field(description=(
        "The sales part derived from the facts and the agent's targets for the period (on opening, then again "
        "on consolidation): for each measure its actual, target (with the target shares it comes from), "
        "achievement, score and arithmetic; `derived`, `score` and `arithmetic` for the part, or the `reason` "
        "it could not be derived; the rule (`rule`) and its rule set version"))
    consolidated_scores: dict[str, Any] | None = Field(description=(
        "The part scores consolidation weighted: ability and attitude as the supervisor entered them, sales "
        "as derived when it could be (see sales_source)"))
    sales_source: Literal["derived", "entered"] | None = Field(description=(
        "derived: the sales score came from sales_evidence; entered: from the supervisor's evaluation"))
    conditions: dict[str, Any] | None
    proposal: dict[str, Any] | None
    consolidated_by: str | None
    feedback: str | None
    feedback_by: str | None
    sent_to_org_at: datetime | None
    created_by: str
    created_at: datetime


class TargetCreate(Schema):
    team_id: int
    institution_id: int = Field(description="The team's institution (for data scope)")
    year: int = Field(ge=2000, le=2100)
    metric: Literal["premium", "recruits", "new_policies"]
    amount: Decimal = Field(gt=0, description="The year's target: received premium, people recruited, or new "
                            "policies issued (the KPI sales part's measures)")
    month_weights: list[Decimal] | None = Field(default=None, min_length=12, max_length=12,
                                                description="Share of each month; default equal")
    agent_weights: dict[int, Decimal] = Field(default_factory=dict, description="Each agent's share 个人分解")

    _floats = field_validator("amount", mode="before")(no_float)


class TargetShareRead(Schema):
    level: str
    key: str
    amount: Decimal


class TargetRead(Schema):
    id: int
    team_id: int
    institution_id: int
    year: int
    metric: str
    amount: Decimal
    currency: str
    month_weights: list[Any]
    created_by: str
    shares: list[TargetShareRead]


class AchievementRead(Schema):
    target_id: int
    period: str
    metric: str
    target: Decimal
    achieved: Decimal
    ratio: Decimal | None = Field(description="achieved ÷ target")
    by_agent: dict[str, Decimal]


class PersistencyRead(Schema):
    period: str
    months: int
    cohort: str = Field(description="The month the policies measured were issued in")
    policies: int
    premium: Decimal
    persisting_policies: int
    persisting_premium: Decimal
    premium_rate: Decimal | None
    count_rate: Decimal | None
    composite: Decimal | None = Field(description="premium weight × premium rate + count weight × count rate")
    weights: dict[str, Decimal]


class ContestCreate(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["四季度开门红"])
    institution_id: int = Field(description="The contest covers this institution and everything below it")
    period_from: str = Field(pattern=PERIOD)
    period_to: str = Field(pattern=PERIOD)
    metric: Literal["received_premium", "fyp", "standard_premium", "new_policies"]
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    rules: dict[str, Any] = Field(description="qualify_at_least, by_place [{place_from, place_to, prize, rank}], "
                                  "by_threshold [{at_least, prize, rank}]")


class ContestRead(Schema):
    id: int
    name: str
    institution_id: int
    period_from: str
    period_to: str
    metric: str
    currency: str
    rules: dict[str, Any]
    created_by: str


class StandingRow(Schema):
    place: int
    agent_id: int
    value: Decimal
    prize: str | None


class FactIn(Schema):
    agent_id: int
    kind: Literal["received_premium", "fyp", "standard_premium", "new_policy"]
    occurred_on: date = Field(description="Business date (Asia/Shanghai): the fact counts in its month")
    product_code: str | None = Field(default=None, max_length=60)
    policy_year: int | None = Field(default=None, ge=1, le=100)
    amount: Decimal = Field(description="Negative to correct")
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    policies: int = Field(default=0, ge=-1000, le=1000)

    _floats = field_validator("amount", mode="before")(no_float)


class FactImport(Schema):
    source: str = Field(min_length=1, max_length=200, description="Where the facts come from, e.g. an insurer's "
                        "monthly file; recorded with each fact")
    facts: list[FactIn] = Field(min_length=1, max_length=10_000)
