"""Receivables falling due soon: the open premiums whose collection deadline is within the next working
days, counted on the ledger's own working-day calendar (holidays and make-up days included)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query
from pydantic import Field
from sqlalchemy import func, select

from ledger_service import access, calendar
from ledger_service.api.deps import AsOf, ScopeDep
from ledger_service.models import Receivable
from ledger_service.schemas import ReceivableRead, Schema
from svckit.routing import SessionDep, service_router

# Registered before the receivables router, whose /v1/receivables/{id} would otherwise take this path.
router = service_router(prefix="/v1/receivables", tags=["receivables"])


class CurrencyTotal(Schema):
    currency: str
    outstanding: Decimal = Field(description="Premium still to collect: amount less what was received")
    receivables: int


class DueSoonRead(Schema):
    on: date = Field(description="The first day of the window (today by default, Asia/Shanghai)")
    working_days: int
    until: date = Field(description="The last day of the window: the n-th working day after `on`")
    provisional: bool = Field(description="True when the window reaches a year whose holidays are not loaded "
                                          "(counted Monday–Friday there)")
    count: int = Field(description="Open receivables in the window, all of them (items may be fewer)")
    totals: list[CurrencyTotal]
    items: list[ReceivableRead] = Field(description="The first `limit` of them, earliest deadline first")


@router.get("/due-soon", response_model=DueSoonRead)
async def due_soon(
    session: SessionDep, scope: ScopeDep, on: AsOf,
    working_days: Annotated[int, Query(ge=0, le=60, description="How many working days ahead")] = 5,
    limit: Annotated[int, Query(ge=0, le=500, description="How many receivables to list")] = 50,
) -> DueSoonRead:
    """Open receivables within the caller's scope whose collection deadline falls from `on` to the
    `working_days`-th working day after it, on the ledger's working-day calendar."""
    known = await calendar.calendar_between(session, on, on + calendar.horizon(working_days))
    until = known.add_working_days(on, working_days)
    window = (Receivable.status == "open", Receivable.deadline_on >= on, Receivable.deadline_on <= until.on,
              access.condition(scope, Receivable.agent_id, Receivable.institution_id))
    outstanding = func.sum(Receivable.amount - Receivable.received)
    sums = (await session.execute(
        select(Receivable.currency, outstanding, func.count()).where(*window)
        .group_by(Receivable.currency).order_by(Receivable.currency))).all()
    rows = (await session.execute(
        select(Receivable).where(*window).order_by(Receivable.deadline_on, Receivable.id).limit(limit))).scalars()
    return DueSoonRead(
        on=on, working_days=working_days, until=until.on, provisional=until.provisional,
        count=sum(int(n) for _, _, n in sums),
        totals=[CurrencyTotal(currency=c, outstanding=Decimal(s), receivables=int(n)) for c, s, n in sums],
        items=[ReceivableRead.model_validate(r) for r in rows])
