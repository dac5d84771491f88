"""ORM model of the org service, bound to its own schema `org`.

Every relation that changes over time is a version with `[valid_from, valid_to)` business
dates (Asia/Shanghai); `valid_to` NULL means open-ended. Versions are closed and new ones
opened; history is never rewritten.
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
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svckit.models import service_metadata
from svckit.platform_tables import platform_tables

SCHEMA = "org"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


PLATFORM_TABLES = platform_tables(Base.metadata)


class Institution(Base):
    """An institution 机构: HQ 总公司 → branch 分公司 → sales office 营业部 / marketing service office
    营销服务部 / sub-branch 支公司."""

    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    kind: Mapped[str] = mapped_column(Text)
    tier: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    # Ancestors from HQ down to and including this institution: scope checks are one containment test.
    path: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('hq', 'branch', 'sales_office', 'service_office', 'sub_branch')", name="kind"),
        CheckConstraint("tier BETWEEN 1 AND 4", name="tier"),
        CheckConstraint("closed_on IS NULL OR closed_on > opened_on", name="dates_in_order"),
        Index("ix_institution_path", "path", postgresql_using="gin"),
    )


class Team(Base):
    """A sales team: a department 业务部 under an institution, or a group 业务组 under a department."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    parent_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    kind: Mapped[str] = mapped_column(Text)
    number: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('department', 'group')", name="kind"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("(kind = 'department') = (parent_team_id IS NULL)", name="groups_have_a_department"),
    )


class TeamName(Base):
    """A team's name over time (names follow the institution path and may be changed)."""

    __tablename__ = "team_name"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        # A name in current use belongs to one team only.
        Index("uq_team_name_current", "name", unique=True, postgresql_where=text("valid_to IS NULL")),
    )


class Rank(Base):
    """A rung of the rank ladder 职级 (agent 业务员 … director 总监); the ladder is data."""

    __tablename__ = "rank"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    ladder_order: Mapped[int] = mapped_column(Integer, unique=True)
    is_supervisor: Mapped[bool] = mapped_column(Boolean)


class RankRule(Base):
    """Requirements of a rank, effective-dated (seed 000: e.g. an assistant manager's team has
    13–15 people including 3 supervisors)."""

    __tablename__ = "rank_rule"

    rank_code: Mapped[str] = mapped_column(ForeignKey("rank.code"), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    min_team_size: Mapped[int] = mapped_column(Integer, server_default="0")
    min_supervisors_in_team: Mapped[int] = mapped_column(Integer, server_default="0")
    max_direct_reports: Mapped[int | None] = mapped_column(Integer)
    # Whether someone of this rank may report to a supervisor of a lower rank.
    may_report_to_lower_rank: Mapped[bool] = mapped_column(Boolean, server_default="false")

    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),)


class Agent(Base):
    """A sales agent 营销员 and their record; where they stand over time is in `agent_position`."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    licence_no: Mapped[str] = mapped_column(Text, unique=True)
    hire_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    left_on: Mapped[date | None] = mapped_column(Date)
    home_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    # The gateway account of this agent, when they have one (links identity to the org chart).
    user_id: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'left')", name="status"),
        CheckConstraint("(status = 'left') = (left_on IS NOT NULL)", name="left_has_a_date"),
    )


class AgentPosition(Base):
    """Where an agent stands from `valid_from` until `valid_to`: supervisor, team, institution, rank,
    and the chain of supervisors above them (`path`, from the top down to the direct supervisor)."""

    __tablename__ = "agent_position"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    rank_code: Mapped[str] = mapped_column(ForeignKey("rank.code"))
    path: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("supervisor_id IS DISTINCT FROM agent_id", name="not_own_supervisor"),
        CheckConstraint("cardinality(path) = 0 OR path[cardinality(path)] = supervisor_id",
                        name="path_ends_at_supervisor"),
        Index("ix_agent_position_path", "path", postgresql_using="gin"),
        Index("ix_agent_position_open_supervisor", "supervisor_id", postgresql_where=text("valid_to IS NULL")),
        # Direct reports on any date (not only today's): without it, as-of reads scan every version.
        Index("ix_agent_position_supervisor_valid_from", "supervisor_id", "valid_from"),
        Index("ix_agent_position_open_team", "team_id", postgresql_where=text("valid_to IS NULL")),
    )


class AgentLineage(Base):
    """Bloodline 血缘: who recruited 增员人 and who nurtured 育成人 an agent, over time."""

    __tablename__ = "agent_lineage"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))

    __table_args__ = (
        CheckConstraint("kind IN ('recruiter', 'nurturer')", name="kind"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("sponsor_id <> agent_id", name="not_own_sponsor"),
        Index("ix_agent_lineage_sponsor", "sponsor_id", "kind"),
    )


class SubtreeRollup(Base):
    """How many people of each rank stand below an agent, over time; maintained on every write so
    subtree aggregates never walk the tree."""

    __tablename__ = "subtree_rollup"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    rank_code: Mapped[str] = mapped_column(ForeignKey("rank.code"), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    headcount: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("headcount >= 0", name="headcount_not_negative"),
    )


class OrgChange(Base):
    """The append-only record of every change made to the organisation: who, when, what."""

    __tablename__ = "org_change"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date] = mapped_column(Date)
    subject_type: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_org_change_subject", "subject_type", "subject_id"),)


class TeamStandard(Base):
    """What a team must plan and hold to be created (seed 000 第四条), by the kind of institution it sits
    under and the kind of team, effective-dated: the standards are data administrators change."""

    __tablename__ = "team_standard"

    institution_kind: Mapped[str] = mapped_column(Text, primary_key=True)
    team_kind: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    min_annual_premium_plan: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(Text, server_default="CNY")
    min_headcount: Mapped[int] = mapped_column(Integer)
    max_headcount: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("team_kind IN ('department', 'group')", name="team_kind"),
        CheckConstraint("min_annual_premium_plan >= 0", name="plan_not_negative"),
        CheckConstraint("min_headcount >= 0 AND (max_headcount IS NULL OR max_headcount >= min_headcount)",
                        name="headcount_range"),
    )


class ApprovalChainStep(Base):
    """One step of an approval chain, effective-dated; position 1 is the application itself (made by
    submitting, so it names no deciding role)."""

    __tablename__ = "approval_chain"

    chain: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    step: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    # The level the decider works at: assigned to the request institution's ancestor of this tier
    # (2 branch, 1 HQ); NULL when any holder of the role may decide.
    tier: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("(position = 1) = (role IS NULL)", name="only_the_application_has_no_role"),
        CheckConstraint("tier BETWEEN 1 AND 4", name="tier"),
    )


class TeamChangeRequest(Base):
    """A request to create, merge, split (fission 裂变) or dissolve teams, and where it stands."""

    __tablename__ = "team_change_request"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    # Position of the step awaiting a decision; NULL once the request is closed.
    current_step: Mapped[int | None] = mapped_column(SmallInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    annual_premium_plan: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(Text)
    # The standard the request was checked against at submission, as it read then.
    standard: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    requester: Mapped[str] = mapped_column(Text)
    requester_user_id: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(Text)
    # What execution wrote (team created, people moved, teams dissolved).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (
        CheckConstraint("kind IN ('create', 'merge', 'split', 'dissolve')", name="kind"),
        CheckConstraint("status IN ('submitted', 'in_review', 'approved', 'rejected', 'cancelled', 'executed')",
                        name="status"),
        CheckConstraint("(current_step IS NULL) = (status IN ('approved', 'rejected', 'cancelled', 'executed'))",
                        name="open_requests_have_a_current_step"),
        CheckConstraint("(annual_premium_plan IS NULL) = (currency IS NULL)", name="plan_has_a_currency"),
        Index("ix_team_change_request_status", "status", "id"),
        Index("ix_team_change_request_institution", "institution_id", "id"),
    )


class TeamChangeStep(Base):
    """The approval chain copied onto a request when it is submitted (later rule changes do not alter it)."""

    __tablename__ = "team_change_step"

    request_id: Mapped[int] = mapped_column(ForeignKey("team_change_request.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    step: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[int | None] = mapped_column(SmallInteger)


class TeamChangeDecision(Base):
    """One decision on one step of a request: who, in which role, when, and why. Append-only."""

    __tablename__ = "team_change_decision"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    request_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(SmallInteger)
    step: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("decision IN ('approve', 'reject')", name="decision"),
        # A step is decided once; a second decision of the same step fails even if a check were missed.
        UniqueConstraint("request_id", "position"),
        ForeignKeyConstraint(["request_id", "position"],
                             ["team_change_step.request_id", "team_change_step.position"]),
    )


class FissionPolicy(Base):
    """How a team that reaches its nurturer's rank (平级) is treated, effective-dated (seed 000 §4.2):
    Ping An / PICC separate on peer level and may return; China Life does not separate, never
    returns and protects the peer for 2 years; count-back 回算 of the separated team's headcount and
    performance to the nurturer in the first assessment periods and during the protection period."""

    __tablename__ = "fission_policy"

    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    style: Mapped[str] = mapped_column(Text)
    separate_on_peer_level: Mapped[bool] = mapped_column(Boolean)
    may_return: Mapped[bool] = mapped_column(Boolean)
    counts_indirect: Mapped[bool] = mapped_column(Boolean)
    protection_months: Mapped[int] = mapped_column(Integer)
    count_back_periods: Mapped[int] = mapped_column(Integer)
    assessment_period_months: Mapped[int] = mapped_column(Integer)
    count_back_for_promotion: Mapped[bool] = mapped_column(Boolean)
    count_back_for_maintenance: Mapped[bool] = mapped_column(Boolean)
    count_back_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        CheckConstraint("protection_months >= 0 AND count_back_periods >= 0 AND assessment_period_months > 0",
                        name="periods_not_negative"),
        CheckConstraint("count_back_share >= 0 AND count_back_share <= 1", name="share_is_a_fraction"),
        CheckConstraint("NOT may_return OR separate_on_peer_level", name="only_separated_teams_return"),
    )


class TeamSeparation(Base):
    """A nurtured supervisor reached their nurturer's rank; under the policy then in force their team
    separated from the nurturer's (or, where policies keep peers together, was protected)."""

    __tablename__ = "team_separation"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    nurtured_agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    nurturer_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    peer_on: Mapped[date] = mapped_column(Date)
    separated: Mapped[bool] = mapped_column(Boolean)
    returned_on: Mapped[date | None] = mapped_column(Date)
    # The policy version it happened under: later policy changes never alter it.
    policy_valid_from: Mapped[date] = mapped_column(ForeignKey("fission_policy.valid_from"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("returned_on IS NULL OR returned_on > peer_on", name="dates_in_order"),
        CheckConstraint("returned_on IS NULL OR separated", name="only_separated_teams_return"),
        Index("ix_team_separation_nurturer", "nurturer_id"),
        Index("uq_team_separation_open", "nurtured_agent_id", "nurturer_id", unique=True,
              postgresql_where=text("returned_on IS NULL")),
    )


class AgentTerritory(Base):
    """Where an agent works, over time: a territory 辖区 (one owner at a time; inbound enquiries from it
    go to that owner) or a channel 渠道 (car clubs, 4S shops, parking lots, SMEs…; may be shared)."""

    __tablename__ = "agent_territory"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("kind IN ('territory', 'channel')", name="kind"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),
        Index("uq_agent_territory_one_owner", "code", unique=True,
              postgresql_where=text("kind = 'territory' AND valid_to IS NULL")),
        Index("ix_agent_territory_code", "kind", "code"),
    )
