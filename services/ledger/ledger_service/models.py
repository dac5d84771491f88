"""ORM model of the ledger service, bound to its own schema `ledger`.

Money is `numeric` with its currency beside it, never a float. The journal is append-only: a
trigger refuses any UPDATE or DELETE of an entry or posting, and a deferred constraint trigger
refuses to commit an entry whose postings do not balance per currency. The high-volume tables
(journal entries and postings, receivables) carry the branch (分公司) they belong to in their
primary key: it is the distribution key when they are spread over a Citus cluster (deploy/).
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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svckit.directory import directory_tables
from svckit.models import service_metadata
from svckit.platform_tables import platform_tables
from svckit.rules import RuleVersionColumns

SCHEMA = "ledger"
AMOUNT = Numeric(20, 4)


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


PLATFORM_TABLES = platform_tables(Base.metadata)
DIRECTORY = directory_tables(Base.metadata)


class RuleVersion(RuleVersionColumns, Base):
    """A version of one of the ledger's business rules (collection deadlines, aging buckets, clawback
    window), in force from `valid_from` until `valid_to`; the value's shape is checked by `rules.py`."""


class CalendarYear(Base):
    """A year whose holidays and make-up working days are known; deadlines in other years are provisional."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CalendarDay(Base):
    """An exception to the Monday–Friday week: an official holiday 法定节假日 on a weekday, or a
    make-up working day 调休上班 on a weekend."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_year.year", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'makeup_workday')", name="kind"),
        CheckConstraint("extract(year FROM day) = year", name="day_in_year"),
    )


class Account(Base):
    """An account of the chart of accounts 会计科目. `guarded` accounts may never be overdrawn: their
    balance on the normal side, per sub-ledger (`guard_by`), stays at or above zero."""

    __tablename__ = "account"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    gl_code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    guarded: Mapped[bool] = mapped_column(Boolean, server_default="false")
    guard_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('asset', 'liability', 'equity', 'income', 'expense')", name="kind"),
        CheckConstraint("guard_by IN ('branch', 'agent', 'customer', 'policy')", name="guard_by"),
        CheckConstraint("guarded = (guard_by IS NOT NULL)", name="guard_has_a_subledger"),
    )


class JournalEntry(Base):
    """A balanced journal entry 记账凭证; never changed, corrected only by a reversing entry."""

    __tablename__ = "journal_entry"

    branch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # What produced the entry (a receipt, a bank result line, a payable…); unique, so a source takes
    # effect once however often it is delivered.
    source: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_journal_entry_id", "id"),
        Index("ix_journal_entry_posted_at", "posted_at"),
        Index("uq_journal_entry_source", "branch_id", "source", unique=True,
              postgresql_where=text("source IS NOT NULL")),
        # An entry is reversed at most once.
        Index("uq_journal_entry_reverses_id", "branch_id", "reverses_id", unique=True,
              postgresql_where=text("reverses_id IS NOT NULL")),
    )


class JournalPosting(Base):
    """One line of an entry: a signed amount (debit positive, credit negative) on an account, with
    the agent, policy and customer it concerns, for balances along each of them."""

    __tablename__ = "journal_posting"

    branch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The entry and the account are checked once per statement by the `refer` trigger (migration
    # 0007), not by foreign keys: those ran once per posting.
    account: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    policy_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    receivable_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_journal_posting_account", "account", "currency", "posted_at", postgresql_include=["amount"]),
        Index("ix_journal_posting_agent", "agent_id", "account", "posted_at", postgresql_include=["amount"],
              postgresql_where=text("agent_id IS NOT NULL")),
        Index("ix_journal_posting_policy", "policy_id", "account", "posted_at", postgresql_include=["amount"],
              postgresql_where=text("policy_id IS NOT NULL")),
        Index("ix_journal_posting_customer", "customer_id", "account", "posted_at", postgresql_include=["amount"],
              postgresql_where=text("customer_id IS NOT NULL")),
        Index("ix_journal_posting_receivable", "receivable_id", "posted_at", postgresql_include=["amount"],
              postgresql_where=text("receivable_id IS NOT NULL")),
    )


class GuardedBalance(Base):
    """Running balance of a guarded account's sub-ledger, on its normal side; the check makes an
    overdraft impossible, and the row lock serialises only postings to the same sub-ledger."""

    __tablename__ = "guarded_balance"

    account: Mapped[str] = mapped_column(ForeignKey("account.code"), primary_key=True)
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    subledger_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    balance: Mapped[Decimal] = mapped_column(AMOUNT, server_default="0")

    __table_args__ = (CheckConstraint("balance >= 0", name="not_overdrawn"),)


class Customer(Base):
    """A policyholder 投保人 as the ledger knows them: who pays, for the running account 往来台帐."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    # The insurer's own customer number; unique per kind so a policyholder is registered once.
    external_ref: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('individual', 'organisation')", name="kind"),
        UniqueConstraint("kind", "external_ref"),
    )


class Policy(Base):
    """An insurance policy 保单 and who services it; its life is told by `policy_event`."""

    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    policy_no: Mapped[str] = mapped_column(Text, unique=True)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    product_code: Mapped[str] = mapped_column(Text)
    insurer: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    premium: Mapped[Decimal] = mapped_column(AMOUNT)
    frequency: Mapped[str] = mapped_column(Text)
    payment_mode: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default="in_force")
    status_on: Mapped[date] = mapped_column(Date)
    # The customer's auto-debit mandate at the partner bank (a reference, never the account number).
    mandate_ref: Mapped[str | None] = mapped_column(Text)
    installments_due: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("premium > 0", name="premium_positive"),
        CheckConstraint("frequency IN ('single', 'annual', 'semiannual', 'quarterly', 'monthly')", name="frequency"),
        CheckConstraint("payment_mode IN ('cash', 'transfer', 'bank_debit', 'pos')", name="payment_mode"),
        CheckConstraint("status IN ('in_force', 'lapsed', 'surrendered', 'cancelled')", name="status"),
        Index("ix_policy_agent_id", "agent_id"),
        Index("ix_policy_customer_id", "customer_id"),
    )


class PolicyEvent(Base):
    """Something that happened to a policy: issued 承保, renewed 续保, lapsed, surrendered 退保,
    cancelled, agent reassigned; attributable and never edited."""

    __tablename__ = "policy_event"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    kind: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    actor: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('issued', 'renewed', 'lapsed', 'surrendered', 'cancelled', 'agent_reassigned')",
                        name="kind"),
        Index("ix_policy_event_policy_id", "policy_id", "id"),
    )


class Receivable(Base):
    """A premium due 应收保费: one installment of a policy, to collect by its deadline (a number of
    working days after it falls due, by policyholder kind)."""

    __tablename__ = "receivable"

    branch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    policy_id: Mapped[int] = mapped_column(BigInteger)
    installment_no: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    policyholder_kind: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    deadline_on: Mapped[date] = mapped_column(Date)
    # True while the deadline needed a calendar year not yet loaded (counted Monday–Friday until it is).
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, server_default="false")
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    received: Mapped[Decimal] = mapped_column(AMOUNT, server_default="0")
    status: Mapped[str] = mapped_column(Text, server_default="open")
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("received >= 0 AND received <= amount", name="received_within_amount"),
        CheckConstraint("status IN ('open', 'settled', 'written_off')", name="status"),
        CheckConstraint("(status = 'open') = (settled_at IS NULL)", name="settled_has_a_time"),
        CheckConstraint("policyholder_kind IN ('individual', 'organisation')", name="policyholder_kind"),
        UniqueConstraint("branch_id", "policy_id", "installment_no"),
        Index("ix_receivable_id", "id"),
        Index("ix_receivable_open_deadline", "deadline_on", postgresql_where=text("status = 'open'"),
              postgresql_include=["agent_id", "institution_id", "amount", "received", "currency"]),
        Index("ix_receivable_agent", "agent_id", "due_on"),
        # The aging report by agent or institution reads this alone, in the order it groups by.
        Index("ix_receivable_open_agent", "agent_id", "currency", postgresql_where=text("status = 'open'"),
              postgresql_include=["institution_id", "due_on", "deadline_on", "amount", "received"]),
        Index("ix_receivable_provisional", "deadline_on", postgresql_where=text("deadline_provisional")),
    )


class Receipt(Base):
    """Money an agent handed over 交款, recorded in their business ledger 业务台帐 and confirmed (or
    rejected) by a cashier once; only a confirmed receipt posts to cash."""

    __tablename__ = "receipt"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    receivable_id: Mapped[int] = mapped_column(BigInteger)
    policy_id: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    method: Mapped[str] = mapped_column(Text)
    handed_over_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, server_default="")
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(Text, server_default="recorded")
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("method IN ('cash', 'transfer', 'pos', 'cheque')", name="method"),
        CheckConstraint("status IN ('recorded', 'confirmed', 'rejected')", name="status"),
        CheckConstraint("(status = 'recorded') = (decided_at IS NULL)", name="decision_has_a_time"),
        CheckConstraint("(status = 'confirmed') = (entry_id IS NOT NULL)", name="confirmed_is_posted"),
        Index("ix_receipt_agent_id", "agent_id", "id"),
        Index("ix_receipt_pending", "branch_id", "id", postgresql_where=text("status = 'recorded'")),
    )




class CommissionPayable(Base):
    """What a settlement run owes an agent 应付佣金, posted once per run and agent, then paid by finance."""

    __tablename__ = "commission_payable"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    settlement_run: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    entry_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, server_default="posted")
    posted_by: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    paid_by: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_entry_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('posted', 'paid')", name="status"),
        CheckConstraint("(status = 'paid') = (payment_entry_id IS NOT NULL)", name="paid_is_posted"),
        CheckConstraint("period ~ '^[0-9]{4}-[0-9]{2}$'", name="period_is_a_month"),
        UniqueConstraint("settlement_run", "agent_id"),
        Index("ix_commission_payable_agent_id", "agent_id", "id"),
    )


class BankAccount(Base):
    """A partner bank's collection account 代扣账户 with us: the branch whose books its money lands in
    (unmatched money waits in that branch's suspense)."""

    __tablename__ = "bank_account"

    bank_code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text, server_default="CNY")
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DebitBatch(Base):
    """A batch of auto-debit instructions 代扣批次 for one bank; the bank fetches it and answers per instruction."""

    __tablename__ = "debit_batch"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("bank_account.bank_code"))
    due_through: Mapped[date] = mapped_column(Date)
    instructions: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="ready")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("status IN ('ready', 'acknowledged')", name="status"),)


class DebitInstruction(Base):
    """One premium to debit from a customer's account under their mandate; its id is stable and is
    what the bank quotes back. It ends succeeded or failed exactly once."""

    __tablename__ = "debit_instruction"

    id: Mapped[UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("debit_batch.id"))
    bank_code: Mapped[str] = mapped_column(Text)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    receivable_id: Mapped[int] = mapped_column(BigInteger)
    policy_id: Mapped[int] = mapped_column(BigInteger)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    institution_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    mandate_ref: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    reason_code: Mapped[str | None] = mapped_column(Text)
    bank_reference: Mapped[str | None] = mapped_column(Text)
    result_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    entry_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'exception')", name="status"),
        # One instruction in flight per premium: a receivable is never debited twice at once.
        Index("uq_debit_instruction_pending_receivable", "receivable_id", unique=True,
              postgresql_where=text("status = 'pending'")),
        Index("ix_debit_instruction_batch_id", "batch_id"),
    )


class ReconciliationFile(Base):
    """A daily reconciliation file 对账文件 from a bank, kept with what it did; the same file sent
    again (same digest) is answered with this record and changes nothing."""

    __tablename__ = "reconciliation_file"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bank_code: Mapped[str] = mapped_column(Text)
    file_date: Mapped[date] = mapped_column(Date)
    sha256: Mapped[str] = mapped_column(Text)
    lines: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Applied in parts (reconcile.py); `applying` until every part has committed.
    status: Mapped[str] = mapped_column(Text, server_default="applied")
    parts: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        UniqueConstraint("bank_code", "sha256"),
        CheckConstraint("status IN ('applying', 'applied')", name="status"),
        CheckConstraint("parts > 0", name="parts_positive"),
    )


class ReconciliationFilePart(Base):
    """One applied part of a reconciliation file and what it did (its lines are one partition of the
    file by instruction); a part recorded here is never applied again."""

    __tablename__ = "reconciliation_file_part"

    file_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("reconciliation_file.id"), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BankResult(Base):
    """Every result a bank sent, by API or in a file, and what it did: nothing a bank says is lost."""

    __tablename__ = "bank_result"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bank_code: Mapped[str] = mapped_column(Text)
    instruction_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    outcome: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(Text)
    bank_reference: Mapped[str] = mapped_column(Text)
    value_date: Mapped[date] = mapped_column(Date)
    file_id: Mapped[int | None] = mapped_column(BigInteger)
    line_no: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'failure')", name="outcome"),
        Index("ix_bank_result_instruction_id", "instruction_id"),
    )


class BankException(Base):
    """Something finance must look at 异常: money that matched nothing (kept in suspense), a
    conflicting or mismatched result, money for a premium already paid."""

    __tablename__ = "bank_exception"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bank_code: Mapped[str] = mapped_column(Text)
    branch_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)
    instruction_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    result_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(Text)
    in_suspense: Mapped[bool] = mapped_column(Boolean)
    suspense_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolution_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('unknown_instruction', 'amount_mismatch', 'conflicting_result', 'already_paid')",
                        name="kind"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint("in_suspense = (suspense_entry_id IS NOT NULL)", name="suspense_is_posted"),
        CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name="resolved_has_a_time"),
        Index("ix_bank_exception_open", "branch_id", "id", postgresql_where=text("status = 'open'")),
    )


__all__ = ["ARRAY", "DIRECTORY", "PLATFORM_TABLES", "SCHEMA", "Base"]
