"""ORM model of the performance service, bound to its own schema `performance`.

Money is `numeric` with its currency beside it, never a float. Facts are append-only and carry the
branch (分公司) in their primary key: it is their distribution key on a Citus cluster (deploy/).
A settlement run keeps the inputs it read (hierarchy, outstanding premium, count-back answers, the
rule set and the facts' high-water mark) and its results; nothing of a finished run is edited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svckit.directory import directory_tables
from svckit.models import service_metadata
from svckit.platform_tables import platform_tables

SCHEMA = "performance"
AMOUNT = Numeric(20, 4)


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


PLATFORM_TABLES = platform_tables(Base.metadata)
DIRECTORY = directory_tables(Base.metadata)


class Fact(Base):
    """One business fact 业绩事实 of an agent in a period (Asia/Shanghai month), from the ledger's feed."""

    __tablename__ = "fact"
    __table_args__ = (
        CheckConstraint("kind IN ('fyp', 'standard_premium', 'received_premium', 'new_policy', 'reversal',"
                        " 'policy_ended')", name="kind_known"),
        CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name="period_is_a_month"),
        Index("ix_fact_period_agent_id", "period", "agent_id"),
        Index("ix_fact_policy_id", "policy_id"),
    )

    branch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Text)
    policy_id: Mapped[int | None] = mapped_column(BigInteger)
    product_code: Mapped[str | None] = mapped_column(Text)
    policy_year: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    policies: Mapped[int] = mapped_column(Integer, server_default="0")
    event_id: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class FactQuarantine(Base):
    """A ledger event naming an agent the organisation does not know: held here, never counted silently."""

    __tablename__ = "fact_quarantine"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_type: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    admitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PolicyRecord(Base):
    """What performance knows of a policy (product, issue date) to rate the premium received on it."""

    __tablename__ = "policy"

    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    product_code: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default="in_force")
    status_on: Mapped[date] = mapped_column(Date)


class PeerTeam(Base):
    """A nurtured supervisor who reached their nurturer's rank 平级 (from org's feed): a nurtured team 育成."""

    __tablename__ = "peer_team"

    nurtured_agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    nurturer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    peer_on: Mapped[date] = mapped_column(Date, primary_key=True)
    separated: Mapped[bool] = mapped_column(Boolean)
    policy_style: Mapped[str] = mapped_column(Text)


class RuleSet(Base):
    """A version of the basic law 基本法: every rate, bracket and threshold settlement applies, as data."""

    __tablename__ = "rule_set"
    __table_args__ = (
        CheckConstraint("status IN ('in_force', 'proposed')", name="status_known"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        Index("uq_rule_set_valid_from", "valid_from", unique=True, postgresql_where=text("status = 'in_force'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    version: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SettlementRun(Base):
    """One monthly settlement 月度结算 (or a what-if), with the inputs it read and its totals."""

    __tablename__ = "settlement_run"
    __table_args__ = (
        CheckConstraint("mode IN ('final', 'what_if')", name="mode_known"),
        CheckConstraint("status IN ('running', 'completed', 'superseded', 'failed')", name="status_known"),
        # One final run of a period at a time, and one that counts.
        Index("uq_settlement_run_running", "period", unique=True,
              postgresql_where=text("status = 'running' AND mode = 'final'")),
        Index("uq_settlement_run_current", "period", unique=True,
              postgresql_where=text("status = 'completed' AND mode = 'final'")),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    period: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    rule_set_id: Mapped[int | None] = mapped_column(BigInteger)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    supersedes: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[str | None] = mapped_column(Text)
    fact_upto: Mapped[int] = mapped_column(BigInteger)
    agents: Mapped[int] = mapped_column(Integer, server_default="0")
    totals: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    posted: Mapped[bool] = mapped_column(Boolean, server_default="false")
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RunAgent(Base):
    """The hierarchy as of the period's end, as org's snapshot gave it to the run."""

    __tablename__ = "run_agent"

    run_id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supervisor_id: Mapped[int | None] = mapped_column(BigInteger)
    path: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    rank_code: Mapped[str] = mapped_column(Text)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)


class RunOutstanding(Base):
    """Premium outstanding and overdue at the period's end per agent, as the ledger answered."""

    __tablename__ = "run_outstanding"

    run_id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    outstanding: Mapped[Decimal] = mapped_column(AMOUNT)
    overdue: Mapped[Decimal] = mapped_column(AMOUNT)


class RunCountBack(Base):
    """A separated team that counts back 回算 to a nurturer for the period, as org answered."""

    __tablename__ = "run_count_back"

    run_id: Mapped[str] = mapped_column(Text, primary_key=True)
    nurturer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_head_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    separated: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    share: Mapped[Decimal] = mapped_column(Numeric(9, 6))


class StatementLine(Base):
    """One line of an agent's statement 佣金明细: its rule, its base facts and its arithmetic.

    A commission line (hundreds of thousands a month) keeps its base in typed columns (product, policy
    year, premium received, facts, rate), from which its base and arithmetic are rendered when read
    (settlement.commission_detail); every other line keeps them as written."""

    __tablename__ = "statement_line"
    __table_args__ = (
        CheckConstraint("base IS NOT NULL OR (kind = 'commission' AND premium IS NOT NULL)", name="explained"),
    )

    run_id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    base: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    arithmetic: Mapped[str | None] = mapped_column(Text)
    product_code: Mapped[str | None] = mapped_column(Text)
    policy_year: Mapped[int | None] = mapped_column(Integer)
    premium: Mapped[Decimal | None] = mapped_column(AMOUNT)
    facts: Mapped[int | None] = mapped_column(Integer)
    rate: Mapped[Decimal | None] = mapped_column(Numeric)


class RunPayable(Base):
    """What a run owes an agent net, the balances it carries forward, and whether the ledger has it."""

    __tablename__ = "run_payable"
    __table_args__ = (
        CheckConstraint("status IN ('to_post', 'posted', 'nothing_due', 'what_if')", name="status_known"),
    )

    run_id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    gross: Mapped[Decimal] = mapped_column(AMOUNT)
    net: Mapped[Decimal] = mapped_column(AMOUNT)
    held: Mapped[Decimal] = mapped_column(AMOUNT, server_default="0")
    carried: Mapped[Decimal] = mapped_column(AMOUNT, server_default="0")
    status: Mapped[str] = mapped_column(Text)
    payable_id: Mapped[int | None] = mapped_column(BigInteger)


class Dispute(Base):
    """An agent's dispute 申诉 of one statement line, reviewed by a supervisor then finance; an accepted
    one is paid as an adjustment line of the next final run, never by editing a closed one."""

    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'supervisor_reviewed', 'accepted', 'rejected', 'settled')",
                        name="status_known"),
        Index("ix_dispute_agent_id", "agent_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    run_id: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    line_no: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    raised_by: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    supervisor_note: Mapped[str | None] = mapped_column(Text)
    supervisor_by: Mapped[str | None] = mapped_column(Text)
    supervisor_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finance_note: Mapped[str | None] = mapped_column(Text)
    finance_by: Mapped[str | None] = mapped_column(Text)
    finance_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    adjustment: Mapped[Decimal | None] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(Text, server_default="CNY")
    settled_in_run: Mapped[str | None] = mapped_column(Text)


class Assessment(Base):
    """A KPI evaluation 考核 of an agent for a period: self → supervisor → consolidation → feedback
    interview (seed 001), with the rule set's weights and the sales part derived from facts and targets
    when it can be (its evidence kept); a promotion or maintenance assessment also
    holds the conditions it checked (with org's count-back) and the rank change it proposes to org."""

    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint("kind IN ('monthly', 'annual', 'promotion', 'maintenance')", name="kind_known"),
        CheckConstraint("status IN ('self_evaluation', 'supervisor_evaluation', 'consolidated', 'feedback_done')",
                        name="status_known"),
        CheckConstraint("sales_source IN ('derived', 'entered')", name="sales_source_known"),
        Index("uq_assessment_agent_id", "agent_id", "kind", "period", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(Text)
    rank_code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="self_evaluation")
    self_scores: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    self_comment: Mapped[str | None] = mapped_column(Text)
    supervisor_scores: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    supervisor_comment: Mapped[str | None] = mapped_column(Text)
    supervisor_by: Mapped[str | None] = mapped_column(Text)
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The sales part derived from facts and targets (sales.py): on opening, and again on consolidation.
    sales_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    consolidated_scores: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    sales_source: Mapped[str | None] = mapped_column(Text)
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    consolidated_by: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_by: Mapped[str | None] = mapped_column(Text)
    sent_to_org_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Recruit(Base):
    """An agent who joined a team 增员 (org's feed): recruiting achievement against targets, and the
    recruiter the recruiting bonus is paid to."""

    __tablename__ = "recruit"
    __table_args__ = (Index("ix_recruit_team_id", "team_id", "joined_on"),
                      Index("ix_recruit_joined_on", "joined_on"))

    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    supervisor_id: Mapped[int | None] = mapped_column(BigInteger)
    joined_on: Mapped[date] = mapped_column(Date)
    # 增员人 and 育成人 as org announced them on joining (a bloodline is permanent); the recruiting bonus.
    recruiter_id: Mapped[int | None] = mapped_column(BigInteger)
    nurturer_id: Mapped[int | None] = mapped_column(BigInteger)


class Target(Base):
    """A team's annual target 年度目标 (premium or recruiting), decomposed to quarters, months, weeks and
    agents; every share is recorded, and the shares of a level add up exactly to the year."""

    __tablename__ = "target"
    __table_args__ = (
        CheckConstraint("metric IN ('premium', 'recruits', 'new_policies')", name="metric_known"),
        Index("uq_target_team_id", "team_id", "year", "metric", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    year: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(Text, server_default="CNY")
    month_weights: Mapped[list[Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TargetShare(Base):
    """One share of a target: a quarter (2027-Q1), a month (2027-03), an ISO week (2027-W05) or an agent."""

    __tablename__ = "target_share"
    __table_args__ = (CheckConstraint("level IN ('quarter', 'month', 'week', 'agent')", name="level_known"),)

    target_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    level: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)


class Contest(Base):
    """A sales contest 竞赛: a metric over some months in an institution's subtree, prizes by place and
    by threshold reached (so that many people can win, seed 000)."""

    __tablename__ = "contest"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    period_from: Mapped[str] = mapped_column(Text)
    period_to: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text, server_default="CNY")
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActivityDay(Base):
    """An agent's working day in numbers as activity last announced it (`activity.day_counted`):
    activities per kind and visits, the activity counts of KPI. `event_id` is the feed event it came
    from: for one agent and day, activity writes its events in the order the day changed."""

    __tablename__ = "activity_day"

    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB)
    visits: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
