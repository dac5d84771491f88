"""Request and response bodies of the ledger API. Amounts travel as decimal strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from svckit.money import CurrencyCode
from svckit.timeutil import UtcDatetime


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


def no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("send amounts as decimal strings, not JSON numbers with fractions")
    return value



class PostingIn(Schema):
    account: str = Field(description="Account code from the chart, e.g. premium_receivable")
    side: Literal["debit", "credit"]
    amount: Decimal = Field(gt=0, description="Positive decimal string, at most the currency's minor unit",
                           examples=["1200.00"])
    currency: CurrencyCode = "CNY"
    agent_id: int | None = None
    policy_id: int | None = None
    customer_id: int | None = None

    _amount = field_validator("amount", mode="before")(no_float)


class EntryCreate(Schema):
    branch_id: int = Field(description="The branch 分公司 whose books the entry belongs to")
    effective_on: date = Field(description="Business date of the entry (Asia/Shanghai)")
    description: str = Field(min_length=1, max_length=500)
    postings: list[PostingIn] = Field(min_length=2, max_length=200)


class PostingRead(Schema):
    line_no: int
    account: str
    side: Literal["debit", "credit"]
    amount: Decimal
    currency: str
    agent_id: int | None
    policy_id: int | None
    customer_id: int | None
    receivable_id: int | None


class EntryRead(Schema):
    id: int
    branch_id: int
    kind: str
    description: str
    effective_on: date
    posted_at: datetime
    source: str | None
    reverses_id: int | None
    actor: str
    postings: list[PostingRead]


class Reversal(Schema):
    effective_on: date
    reason: str = Field(min_length=1, max_length=500)


class BalanceRead(Schema):
    account: str
    currency: str
    debits: Decimal
    credits: Decimal
    net_debit: Decimal = Field(description="Debits minus credits")


class TrialBalanceRead(Schema):
    at: datetime | None
    on: date | None = Field(default=None, description="Entries of this business date or before only")
    accounts: list[BalanceRead]
    totals: dict[str, dict[str, Decimal]] = Field(description="Per currency: debits and credits, always equal")
    balanced: bool


class AccountCreate(Schema):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,49}$")
    gl_code: str = Field(pattern=r"^[0-9]{4,10}$", description="General-ledger code 科目代码")
    name: str = Field(min_length=1, max_length=200)
    name_zh: str = Field(min_length=1, max_length=200)
    kind: Literal["asset", "liability", "equity", "income", "expense"]
    guard_by: Literal["branch", "agent", "customer", "policy"] | None = Field(
        default=None, description="Keep the account per this sub-ledger and never let one go below zero")


class AccountRead(Schema):
    code: str
    gl_code: str
    name: str
    name_zh: str
    kind: str
    guarded: bool
    guard_by: str | None


class CalendarDayIn(Schema):
    day: date
    kind: Literal["holiday", "makeup_workday"]
    name: str = Field(min_length=1, max_length=100, examples=["春节"])


class CalendarYearLoad(Schema):
    days: list[CalendarDayIn] = Field(max_length=200, description="Official holidays and make-up working days")
    source: str = Field(min_length=1, max_length=200, examples=["国务院办公厅关于2027年部分节假日安排的通知"])


class CalendarYearRead(Schema):
    year: int
    source: str
    loaded_by: str
    loaded_at: datetime
    holidays: int
    makeup_workdays: int
    recomputed_deadlines: int = 0


class DeadlineRead(Schema):
    due_on: date
    policyholder_kind: Literal["individual", "organisation"]
    working_days: int
    deadline_on: date
    provisional: bool = Field(description="True when the count reached a year whose holidays are not loaded")
    unknown_years: list[int]


class Policyholder(Schema):
    kind: Literal["individual", "organisation"]
    name: str = Field(min_length=1, max_length=200)
    external_ref: str = Field(min_length=1, max_length=100, description="The insurer's customer number")


class PolicyCreate(Schema):
    policy_no: str = Field(min_length=1, max_length=50)
    agent_id: int = Field(description="The servicing agent")
    institution_id: int | None = Field(default=None, description="Booking institution; the agent's by default")
    policyholder: Policyholder
    product_code: str = Field(min_length=1, max_length=50)
    insurer: str = Field(min_length=1, max_length=100)
    premium: Decimal = Field(gt=0, description="Premium per installment", examples=["3600.00"])
    standard_premium: Decimal | None = Field(default=None, ge=0, description="标准保费, for performance")
    currency: CurrencyCode = "CNY"
    frequency: Literal["single", "annual", "semiannual", "quarterly", "monthly"]
    payment_mode: Literal["cash", "transfer", "bank_debit", "pos"]
    issued_on: date
    mandate_ref: str | None = Field(default=None, max_length=100, description="Auto-debit mandate at the bank")

    _premium = field_validator("premium", "standard_premium", mode="before")(no_float)


class PolicyRead(Schema):
    id: int
    policy_no: str
    branch_id: int
    institution_id: int
    agent_id: int
    customer_id: int
    product_code: str
    insurer: str
    currency: str
    premium: Decimal
    frequency: str
    payment_mode: str
    issued_on: date
    status: str
    status_on: date
    installments_due: int


class PolicyEventRead(Schema):
    id: int
    kind: str
    effective_on: date
    details: dict[str, Any]
    actor: str
    recorded_at: datetime


class Renewal(Schema):
    due_on: date
    premium: Decimal | None = Field(default=None, gt=0)

    _premium = field_validator("premium", mode="before")(no_float)


class PolicyEnd(Schema):
    how: Literal["lapsed", "surrendered", "cancelled"]
    effective_on: date
    reason: str = Field(min_length=1, max_length=500)


class Reassignment(Schema):
    agent_id: int
    effective_on: date
    reason: str = Field(min_length=1, max_length=500)


class ReceivableRead(Schema):
    id: int
    branch_id: int
    policy_id: int
    installment_no: int
    agent_id: int
    institution_id: int
    customer_id: int
    policyholder_kind: str
    due_on: date
    deadline_on: date
    deadline_provisional: bool
    currency: str
    amount: Decimal
    received: Decimal
    status: str


class AgingRowRead(Schema):
    group_id: int | None
    currency: str
    not_due: Decimal
    within_deadline: Decimal
    overdue: dict[str, Decimal] = Field(description="Outstanding by days past the deadline")
    receivables: int


class AgingRead(Schema):
    on: date
    group_by: str
    buckets: list[str]
    rows: list[AgingRowRead]


class OutstandingRead(Schema):
    agent_id: int
    currency: str
    outstanding: Decimal
    overdue: Decimal
    overdue_receivables: int


class ReceiptCreate(Schema):
    receivable_id: int
    amount: Decimal = Field(gt=0, examples=["3600.00"])
    currency: CurrencyCode = "CNY"
    method: Literal["cash", "transfer", "pos", "cheque"]
    handed_over_at: UtcDatetime
    note: str = Field(default="", max_length=500)

    _amount = field_validator("amount", mode="before")(no_float)


class ReceiptDecision(Schema):
    note: str = Field(default="", max_length=500)


class ReceiptRead(Schema):
    id: int
    branch_id: int
    receivable_id: int
    policy_id: int
    agent_id: int
    currency: str
    amount: Decimal
    method: str
    handed_over_at: datetime
    note: str
    recorded_by: str
    recorded_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    entry_id: int | None


class RunningLine(Schema):
    posted_at: datetime
    entry_id: int
    line_no: int
    kind: str
    description: str
    policy_id: int | None
    receivable_id: int | None
    currency: str
    charged: Decimal = Field(description="Premium that fell due (debit)")
    paid: Decimal = Field(description="Money received or written off (credit)")
    balance: Decimal = Field(description="Still owed after this line")
