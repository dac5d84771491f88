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


def row_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
