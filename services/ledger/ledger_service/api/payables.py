"""Commission payables: posted by performance per settlement run, paid by finance."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path
from pydantic import Field, field_validator
from sqlalchemy import select

from ledger_service import access, payables
from ledger_service.api.deps import FinanceOnly, PageDep, ScopeDep, actor_of
from ledger_service.models import CommissionPayable
from ledger_service.schemas import Schema, no_float
from svckit.errors import Forbidden
from svckit.internal_auth import CallerDep
from svckit.money import CurrencyCode
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1/payables", tags=["commission payables"])
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,100}$", description="The settlement run's id")]


class PolicyCommission(Schema):
    policy_id: int
    amount: Decimal = Field(gt=0)

    _amount = field_validator("amount", mode="before")(no_float)


class PayableLineIn(Schema):
    agent_id: int
    amount: Decimal = Field(gt=0, examples=["5230.50"])
    currency: CurrencyCode = "CNY"
    policies: list[PolicyCommission] = Field(default_factory=list, max_length=10_000,
                                             description="The policies the commission was earned on (for clawback)")

    _amount = field_validator("amount", mode="before")(no_float)


class SettlementPayables(Schema):
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])
    effective_on: date = Field(description="Booking date, usually the period's last day")
    lines: list[PayableLineIn] = Field(min_length=1, max_length=20_000)


class LineResultRead(Schema):
    agent_id: int
    status: Literal["posted", "already_posted"]
    payable_id: int
    entry_id: int


class PayableRead(Schema):
    id: int
    settlement_run: str
    period: str
    agent_id: int
    branch_id: int
    currency: str
    amount: Decimal
    entry_id: int
    status: str
    posted_by: str
    posted_at: datetime
    paid_by: str | None
    paid_at: datetime | None
    payment_entry_id: int | None


class Payment(Schema):
    paid_on: date


def _settlement_poster(caller: CallerDep) -> None:
    """Performance (a service acting for the system) or an administrator posts a settlement's payables."""
    if not caller.data_scope.everything:
        raise Forbidden("payables are posted by the settlement service", code="role_required")


@router.post("/settlements/{run_id}", response_model=list[LineResultRead])
async def post_settlement(run_id: RunId, body: SettlementPayables, session: SessionDep,
                          caller: CallerDep) -> list[payables.LineResult]:
    """Post a settlement run's payables: Dr commission expense / Cr commission payable per agent.
    Idempotent per run and agent: a retried line answers `already_posted`."""
    _settlement_poster(caller)
    lines = [payables.PayableLine(x.agent_id, x.amount, x.currency, [(p.policy_id, p.amount) for p in x.policies])
             for x in body.lines]
    return await payables.post_run(session, run=run_id, period=body.period, effective_on=body.effective_on,
                                   lines=lines, actor=actor_of(caller))


async def _visible(session: SessionDep, scope: DataScope, payable_id: int) -> CommissionPayable:
    payable = await payables.get(session, payable_id)
    await access.require(session, scope, agent_id=payable.agent_id, institution_id=payable.branch_id,
                         what="payable", object_id=payable_id, field="payable_id")
    return payable


@router.get("", response_model=Page[PayableRead])
async def list_payables(session: SessionDep, scope: ScopeDep, page: PageDep, agent_id: int | None = None,
                        status: Literal["posted", "paid"] | None = None) -> Page[PayableRead]:
    """Payables the caller may see (an agent: their own), newest first."""
    query = select(CommissionPayable).where(
        access.condition(scope, CommissionPayable.agent_id, CommissionPayable.branch_id))
    if agent_id is not None:
        query = query.where(CommissionPayable.agent_id == agent_id)
    if status is not None:
        query = query.where(CommissionPayable.status == status)
    rows = (await session.execute(keyset(query, [CommissionPayable.id.expression], page, descending=True)))
    items, cursor = page_of(rows.scalars().all(), page, lambda p: [p.id])
    return Page(items=[PayableRead.model_validate(p) for p in items], next_cursor=cursor)


@router.get("/{payable_id}", response_model=PayableRead)
async def read_payable(payable_id: int, session: SessionDep, scope: ScopeDep) -> CommissionPayable:
    """One payable."""
    return await _visible(session, scope, payable_id)


@router.post("/{payable_id}/payment", response_model=PayableRead, dependencies=[FinanceOnly])
async def pay_payable(payable_id: int, body: Payment, session: SessionDep, caller: CallerDep,
                      scope: ScopeDep) -> CommissionPayable:
    """Finance paid the agent: Dr commission payable / Cr bank, once."""
    await _visible(session, scope, payable_id)
    return await payables.pay(session, payable_id, paid_on=body.paid_on, actor=actor_of(caller))
