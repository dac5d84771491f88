"""The month so far per agent: received premium, FYC and the monthly target's achievement."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Query
from pydantic import Field

from performance_service import progress
from performance_service.api.deps import ScopeDep
from performance_service.schemas import PERIOD, Schema
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1", tags=["targets"])


class AgentMonthRead(Schema):
    agent_id: int
    team_id: int | None
    received_premium: Decimal = Field(description="Received premium of the month so far, net of reversals")
    first_year_received: Decimal = Field(description="Of which on policies in their first year")
    fyc: Decimal = Field(description="First-year commission: first-year received premium × the product's "
                                     "year-1 rate in the rule set in force")
    target: Decimal | None = Field(description="The agent's premium target for the month: their share of the "
                                               "team's annual target × the month's part of it; null when none")
    achievement: Decimal | None = Field(description="received_premium ÷ target")


class MonthProgressRead(Schema):
    period: str
    currency: str
    agents: list[AgentMonthRead] = Field(description="Everyone the caller may see who has not left, by id")


@router.get("/month-progress", response_model=MonthProgressRead)
async def month_progress(
    session: SessionDep, scope: ScopeDep, period: Annotated[str, Query(pattern=PERIOD, description="YYYY-MM")],
    limit: Annotated[int, Query(ge=1, le=5000, description="At most this many agents")] = 1000,
) -> MonthProgressRead:
    """Each agent's month so far within the caller's scope (an agent: themself; a supervisor: their
    subtree): received premium, FYC, and achievement against their monthly premium target."""
    currency, rows = await progress.month_progress(session, scope, period=period, limit=limit)
    return MonthProgressRead(period=period, currency=currency,
                             agents=[AgentMonthRead.model_validate(r) for r in rows])
