"""The promotion / maintenance gap: what is missing this period, condition by condition."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from performance_service import access, gaps, upstream
from performance_service.api.deps import ScopeDep, UpstreamsDep
from performance_service.runs import period_bounds
from performance_service.schemas import PERIOD, GapRead
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/agents", tags=["assessment"])


@router.get("/{agent_id}/rank-gap", response_model=GapRead)
async def rank_gap(
    agent_id: int, session: SessionDep, scope: ScopeDep, up: UpstreamsDep,
    period: Annotated[str, Query(pattern=PERIOD, description="The assessment ends with this month")],
    kind: Annotated[Literal["promotion", "maintenance"], Query()],
) -> dict[str, Any]:
    """For the agent's rank today: each condition's requirement, what was achieved and what is missing
    (FYC, new policies, team size with the teams org counts back, direct reports)."""
    agent = await access.require_agent(session, scope, agent_id)
    count_back: list[dict[str, Any]] = []
    if up.org is not None:
        condition = gaps.condition_for(await gaps.rules_at(session, period), agent.rank_code, kind)
        first, _ = period_bounds(gaps.window(period, condition.months)[0])
        _, last = period_bounds(period)
        response = await up.org.request("GET", f"/v1/agents/{agent_id}/count-back", params={
            "period_start": first.isoformat(), "period_end": last.isoformat(), "assessment": kind})
        if response.status_code != 200:
            raise upstream.refused("org", response)
        count_back = response.json()
    return await gaps.gap(session, agent_id=agent_id, rank_code=agent.rank_code, period=period, kind=kind,
                          count_back=count_back)
