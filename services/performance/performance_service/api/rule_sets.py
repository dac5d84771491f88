"""The basic law 基本法 as versioned, effective-dated data."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from performance_service import rule_sets
from performance_service.api.deps import HeadOfficeRuleMakers, actor_of
from performance_service.models import RuleSet
from performance_service.schemas import RuleSetCreate, RuleSetRead
from svckit.errors import NotFound
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/rule-sets", tags=["rule sets"])


@router.get("", response_model=list[RuleSetRead])
async def list_rule_sets(session: SessionDep) -> list[RuleSet]:
    """Every version, in force and proposed, oldest first."""
    return list((await session.execute(select(RuleSet).order_by(RuleSet.valid_from, RuleSet.id))).scalars())


@router.post("", response_model=RuleSetRead, status_code=201, dependencies=[HeadOfficeRuleMakers])
async def create_rule_set(body: RuleSetCreate, session: SessionDep, caller: CallerDep) -> RuleSet:
    """Record a version: in force from a date after every settled period (the one before ends there),
    or proposed (for what-if runs). Overlapping or gapped brackets are refused naming the field."""
    return await rule_sets.create(session, version=body.version, status=body.status, valid_from=body.valid_from,
                                  body=body.body, actor=actor_of(caller))


@router.get("/in-force", response_model=RuleSetRead)
async def in_force(session: SessionDep, on: Annotated[date, Query(description="A business date")]) -> RuleSet:
    """The version in force on a date."""
    found = (await session.execute(select(RuleSet).where(
        RuleSet.status == "in_force", RuleSet.valid_from <= on,
        (RuleSet.valid_to.is_(None)) | (RuleSet.valid_to > on)))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no rule set is in force on {on}", code="rule_set_not_found", field="on")
    return found


@router.get("/{rule_set_id}", response_model=RuleSetRead)
async def read_rule_set(rule_set_id: int, session: SessionDep) -> RuleSet:
    """One version."""
    return await rule_sets.get(session, rule_set_id)
