"""Versions of the basic law: a new version in force ends the one before it, and may never begin on
or before the end of a period already settled (a rule change never alters a closed period)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import rules
from performance_service.models import RuleSet
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound

LAST_SETTLED = text(
    "SELECT max(period) FROM performance.settlement_run WHERE mode = 'final' AND status IN ('completed', 'superseded')")


async def create(session: AsyncSession, *, version: str, status: str, valid_from: date, body: dict[str, Any],
                 actor: str) -> RuleSet:
    parsed = rules.parse(body)
    if status == "in_force":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('performance.rule_set'))"))
        settled = (await session.execute(LAST_SETTLED)).scalar()
        if settled is not None and valid_from.strftime("%Y-%m") <= settled:
            raise Conflict(f"period {settled} is settled: a new version may begin only after it",
                           code="period_settled", field="valid_from")
        current = (await session.execute(select(RuleSet).where(
            RuleSet.status == "in_force", RuleSet.valid_to.is_(None)).with_for_update())).scalar_one_or_none()
        if current is not None:
            if valid_from <= current.valid_from:
                raise Conflict(f"version {current.version} is in force from {current.valid_from}; a new one begins "
                               "after that", code="before_version_in_force", field="valid_from")
            current.valid_to = valid_from
    found = RuleSet(version=version, status=status, valid_from=valid_from, body=parsed.model_dump(mode="json"),
                    recorded_by=actor)
    session.add(found)
    await flush_or_refuse(session, Conflict(f"version {version} already exists", code="rule_set_exists",
                                            field="version"))
    return found


async def get(session: AsyncSession, rule_set_id: int) -> RuleSet:
    found = await session.get(RuleSet, rule_set_id)
    if found is None:
        raise NotFound(f"rule set {rule_set_id} does not exist", code="rule_set_not_found", field="rule_set_id")
    return found
