"""Targets: annual team targets decomposed to quarter, month, week and agent; achievement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import select

from performance_service import targets
from performance_service.api.deps import RuleMakers, ScopeDep, actor_of
from performance_service.models import DIRECTORY, Target
from performance_service.schemas import MONTH_OR_YEAR, AchievementRead, TargetCreate, TargetRead
from svckit import directory
from svckit.errors import NotFound
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1/targets", tags=["targets"])


async def _institution_visible(session: SessionDep, scope: DataScope, institution_id: int, what: str,
                               object_id: int) -> None:
    if not await directory.allows(session, scope, DIRECTORY, agent_id=None, institution_id=institution_id):
        raise NotFound(f"{what} {object_id} does not exist", code=f"{what}_not_found", field=f"{what}_id")


async def _read(session: SessionDep, target: Target) -> dict[str, Any]:
    shares = await targets.shares(session, target.id)
    return {**{c: getattr(target, c) for c in ("id", "team_id", "institution_id", "year", "metric", "amount",
                                                "currency", "month_weights", "created_by")},
            "shares": [{"level": s.level, "key": s.key, "amount": s.amount} for s in shares]}


@router.post("", response_model=TargetRead, status_code=201, dependencies=[RuleMakers])
async def create_target(body: TargetCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep) -> dict[str, Any]:
    """Set a team's annual target; it is decomposed to quarters, months, ISO weeks and agents at once."""
    await _institution_visible(session, scope, body.institution_id, "institution", body.institution_id)
    target = await targets.create(session, team_id=body.team_id, institution_id=body.institution_id,
                                  year=body.year, metric=body.metric, amount=body.amount,
                                  month_weights=body.month_weights, agent_weights=body.agent_weights,
                                  actor=actor_of(caller))
    return await _read(session, target)


@router.get("", response_model=list[TargetRead])
async def find_targets(session: SessionDep, scope: ScopeDep, team_id: Annotated[int, Query(gt=0)],
                       year: Annotated[int, Query(ge=2000, le=2100)],
                       metric: Annotated[str | None, Query(pattern="^(premium|recruits|new_policies)$")] = None,
                       ) -> list[dict[str, Any]]:
    """A team's targets for a year (at most one per metric), with every share; e.g. for activity to hold a
    team's monthly plan to its month's share."""
    query = select(Target).where(Target.team_id == team_id, Target.year == year)
    if metric is not None:
        query = query.where(Target.metric == metric)
    found = []
    for target in (await session.execute(query.order_by(Target.metric))).scalars():
        if await directory.allows(session, scope, DIRECTORY, agent_id=None, institution_id=target.institution_id):
            found.append(await _read(session, target))
    return found


@router.get("/{target_id}", response_model=TargetRead)
async def read_target(target_id: int, session: SessionDep, scope: ScopeDep) -> dict[str, Any]:
    """A target with every share."""
    target = await targets.get(session, target_id)
    await _institution_visible(session, scope, target.institution_id, "target", target_id)
    return await _read(session, target)


@router.get("/{target_id}/achievement", response_model=AchievementRead)
async def achievement(target_id: int, session: SessionDep, scope: ScopeDep,
                      period: Annotated[str, Query(pattern=MONTH_OR_YEAR)]) -> dict[str, Any]:
    """What the team achieved against the target in a month or the year."""
    target = await targets.get(session, target_id)
    await _institution_visible(session, scope, target.institution_id, "target", target_id)
    return await targets.achievement(session, target, period)
