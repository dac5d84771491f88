"""Leaderboards by period, agent, team and institution."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from performance_service import access, rankings
from performance_service.api.deps import ScopeDep
from performance_service.models import Fact
from performance_service.schemas import PERIOD, RankingRow
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/rankings", tags=["rankings"])


@router.get("", response_model=list[RankingRow])
async def leaderboard(
    session: SessionDep, scope: ScopeDep, period: Annotated[str, Query(pattern=PERIOD)],
    by: Annotated[Literal["agent", "team", "institution"], Query()] = "agent",
    metric: Annotated[Literal["received_premium", "fyp", "standard_premium", "new_policies"], Query()] =
    "received_premium",
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "CNY",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The month's leaderboard within what the caller may see; equal values share a place."""
    return await rankings.leaderboard(session, period=period, by=by, metric=metric, currency=currency,
                                      visible=access.condition(scope, Fact.agent_id, Fact.institution_id),
                                      limit=limit)
