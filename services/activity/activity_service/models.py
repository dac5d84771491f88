"""ORM model of the activity service, bound to its own schema `activity`.

Privacy is in the shape of the tables: a customer's identity and contact data live in
`customer_contact`, apart from what supervisors may see of a customer (grade, intent, channel,
territory, obstacle); only the owning agent's reads touch that table, and each read is written to
`contact_access`. Activity entries are keyed by the agent and the id the agent's app generated,
so a batch resent after a lost answer finds its entries instead of writing them twice; the agent
is the distribution key when entries are spread over a Citus cluster (deploy/).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svckit.directory import directory_tables
from svckit.models import service_metadata
from svckit.platform_tables import platform_tables
from svckit.rules import RuleVersionColumns

SCHEMA = "activity"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


PLATFORM_TABLES = platform_tables(Base.metadata)
DIRECTORY = directory_tables(Base.metadata)


class RuleVersion(RuleVersionColumns, Base):
    """A version of one of the activity rules (daily targets, visit minimum, entry window, meeting and
    plan norms), in force from `valid_from` until `valid_to`; shapes are checked by `rules.py`."""


class ActivityKind(Base):
    """A kind of activity an agent or a supervisor logs 活动类型. `role` says who logs it; `is_visit`
    whether it counts toward the daily visit minimum; `about_member` whether it concerns a member of
    the supervisor's team (coaching, tracking call)."""

    __tablename__ = "activity_kind"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    role: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    is_visit: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    about_member: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (CheckConstraint("role IN ('agent', 'supervisor')", name="role"),)


class Entry(Base):
    """One activity in an agent's log 活动日志, identified by the id the agent's app generated."""

    __tablename__ = "entry"

    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, ForeignKey("activity_kind.code"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The business day (Asia/Shanghai) of `occurred_at`: the day the activity counts for.
    day: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    member_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    withdrawn: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_entry_agent_day", "agent_id", "day"),
        CheckConstraint("version > 0", name="version_positive"),
    )


class ActivityDay(Base):
    """An agent's working day in numbers: how many of each kind (`counts`), how many visits, and the
    written explanation of a shortfall against the visit minimum. Kept with every entry written, so
    compliance reports read one row per agent and day instead of every entry."""

    __tablename__ = "activity_day"

    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    visits: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_activity_day_day_institution", "day", "institution_id"),
        CheckConstraint("visits >= 0", name="visits_not_negative"),
    )


class Customer(Base):
    """A customer or prospect 客户 as its agent's supervisors may see it: no name, no contact data.

    Grades (seed 000 ABC管理): A high potential/easy, B high/hard, C low/easy, D low/hard, E unknown.
    """

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    owner_agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)
    territory: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(Text)
    obstacle: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    client_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    registered_by: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('individual', 'organisation')", name="kind"),
        CheckConstraint("grade IN ('A', 'B', 'C', 'D', 'E')", name="grade"),
        CheckConstraint("intent BETWEEN 1 AND 5", name="intent"),
        CheckConstraint("source IN ('agent', 'enquiry')", name="source"),
        Index("ix_customer_owner", "owner_agent_id"),
        Index("uq_customer_owner_client_id", "owner_agent_id", "client_id", unique=True,
              postgresql_where=text("client_id IS NOT NULL")),
    )


class CustomerContact(Base):
    """A customer's identity and contact data 客户信息: read only by the owning agent, each read logged."""

    __tablename__ = "customer_contact"

    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)


class CustomerGrade(Base):
    """Each grade a customer was given, by whom and why: grades are reassessed, never overwritten."""

    __tablename__ = "customer_grade"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer.id"), index=True)
    grade: Mapped[str] = mapped_column(Text)
    intent: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    graded_by: Mapped[str] = mapped_column(Text)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CustomerTransfer(Base):
    """A recorded handover of a customer from one agent to another (e.g. when an agent leaves)."""

    __tablename__ = "customer_transfer"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer.id"), index=True)
    from_agent_id: Mapped[int] = mapped_column(BigInteger)
    to_agent_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    transferred_by: Mapped[str] = mapped_column(Text)
    transferred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ContactAccess(Base):
    """Who read a customer's contact data, when, and through what: the access log 查阅记录."""

    __tablename__ = "contact_access"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Enquiry(Base):
    """An inbound enquiry 来电/来访 registered by back office, assigned to the territory's owner."""

    __tablename__ = "enquiry"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    territory: Mapped[str] = mapped_column(Text)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer.id"))
    assigned_agent_id: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())



# Plans and reviews, meetings, coaching and callbacks (issue 5, items 3–5).


class PlanSheet(Base):
    """A plan or review sheet: an agent's weekly review 周工作检视表 or monthly record 月经营记录 (with the
    monthly calendar 月工作行事历), or a team's monthly work plan 团队月工作计划 or annual plan and task
    decomposition 年度计划. Written as a draft, submitted, then approved or returned by a supervisor;
    every submission and review is kept in `plan_act`."""

    __tablename__ = "plan_sheet"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    # The author: the agent whose sheet it is, or the team's supervisor who writes a team plan.
    agent_id: Mapped[int] = mapped_column(BigInteger)
    # The team a team plan is for (NULL for an agent's own sheets).
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default=text("'draft'"))
    planned: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    actual: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    summary: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    calendar: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    target: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    week_split: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # Whether `target` was compared with the team's target in performance (False: not checked).
    target_checked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    due_on: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('weekly_review', 'monthly_record', 'team_monthly_plan', 'team_annual_plan')",
                        name="kind"),
        CheckConstraint("status IN ('draft', 'submitted', 'approved', 'returned')", name="status"),
        CheckConstraint("(kind LIKE 'team_%') = (team_id IS NOT NULL)", name="team_plans_name_a_team"),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint("version > 0", name="version_positive"),
        Index("uq_plan_sheet_agent_period", "kind", "agent_id", "period_start", unique=True,
              postgresql_where=text("team_id IS NULL")),
        Index("uq_plan_sheet_team_period", "kind", "team_id", "period_start", unique=True,
              postgresql_where=text("team_id IS NOT NULL")),
        Index("ix_plan_sheet_status_period", "status", "kind", "period_start"),
    )


class PlanAct(Base):
    """A recorded act on a sheet: submitted by its author, approved or returned by a supervisor with a
    comment (主管关怀 / 批阅意见). Never edited: a resubmission is a new act."""

    __tablename__ = "plan_act"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sheet_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plan_sheet.id"), index=True)
    act: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    actor_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    sheet_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("act IN ('submitted', 'approved', 'returned')", name="act"),)


class Meeting(Base):
    """A team meeting: morning/evening 早夕会, weekly 周例会 or monthly 月例会, with its host, minutes and
    decisions; attendance in `meeting_attendance`."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    # The team's supervisor when the meeting was recorded: whose scope the meeting falls in.
    leader_agent_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)
    held_on: Mapped[date] = mapped_column(Date)
    host_agent_id: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    recorded_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('morning', 'evening', 'weekly', 'monthly')", name="kind"),
        # One meeting of a kind per team and day: recording it again is refused, naming the first.
        Index("uq_meeting_team_kind_day", "team_id", "kind", "held_on", unique=True),
        Index("ix_meeting_team_held_on", "team_id", "held_on"),
    )


class MeetingAttendance(Base):
    """Whether a member of the team was at a meeting: present, absent or excused."""

    __tablename__ = "meeting_attendance"

    meeting_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("meeting.id", ondelete="CASCADE"),
                                            primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("status IN ('present', 'absent', 'excused')", name="status"),)


class CoachingMoment(Base):
    """A moment that calls for one-on-one coaching 个别辅导的时机 (seed 002), and what to do then."""

    __tablename__ = "coaching_moment"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    guidance_zh: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, unique=True)


class CoachingRecord(Base):
    """A supervisor's record of coaching one member 个别辅导记录: seen by that supervisor and that member only."""

    __tablename__ = "coaching_record"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    supervisor_agent_id: Mapped[int] = mapped_column(BigInteger)
    member_agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    coached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    moment: Mapped[str] = mapped_column(Text, ForeignKey("coaching_moment.code"))
    method: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    client_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    # The entry of the supervisor's log that counted this act (1-1-1), if any.
    entry_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("method IN ('conversation', 'training', 'joint_visit', 'home_visit')", name="method"),
        Index("ix_coaching_record_supervisor", "supervisor_agent_id", "coached_at"),
        Index("ix_coaching_record_member", "member_agent_id", "coached_at"),
        Index("uq_coaching_record_client_id", "supervisor_agent_id", "client_id", unique=True,
              postgresql_where=text("client_id IS NOT NULL")),
        Index("uq_coaching_record_entry_id", "supervisor_agent_id", "entry_id", unique=True,
              postgresql_where=text("entry_id IS NOT NULL")),
    )


class CallbackRecord(Base):
    """A supervisor's call to a member's customer 回访电话记录表: the customer by id only, never its
    identity or contact data; seen by that supervisor and that member only."""

    __tablename__ = "callback_record"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    supervisor_agent_id: Mapped[int] = mapped_column(BigInteger)
    member_agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer.id"))
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purpose: Mapped[str] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    revisit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    advice_to_member: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    entry_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("outcome IN ('reached', 'not_reached', 'declined', 'revisit_agreed')", name="outcome"),
        Index("ix_callback_record_supervisor", "supervisor_agent_id", "called_at"),
        Index("ix_callback_record_member", "member_agent_id", "called_at"),
        Index("uq_callback_record_client_id", "supervisor_agent_id", "client_id", unique=True,
              postgresql_where=text("client_id IS NOT NULL")),
        Index("uq_callback_record_entry_id", "supervisor_agent_id", "entry_id", unique=True,
              postgresql_where=text("entry_id IS NOT NULL")),
    )


class SupervisorDiary(Base):
    """A supervisor's evening business diary 主管经营日志: one per supervisor and business day."""

    __tablename__ = "supervisor_diary"

    supervisor_agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    tomorrow_plan: Mapped[str | None] = mapped_column(Text)
    self_check: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def row_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
