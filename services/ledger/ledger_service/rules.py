"""The ledger's business rules as effective-dated data: each rule has a name, a value whose shape
is checked here, and versions that follow one another in time. Seeded with DOMAIN.md's defaults
(seed 000 第十四条); a change is a new version, never an edit of one in force."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service.models import RuleVersion
from svckit.errors import Conflict, NotFound, Unprocessable


class RuleValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CollectionDeadlines(RuleValue):
    """Working days to collect a premium after it falls due, by policyholder kind."""

    individual: int = Field(ge=0, le=250, description="e.g. 5 working days")
    organisation: int = Field(ge=0, le=250, description="e.g. 20 working days")

    def for_kind(self, kind: str) -> int:
        return self.individual if kind == "individual" else self.organisation


class AgingBuckets(RuleValue):
    """Upper bounds (days past the deadline) of the overdue buckets; beyond the last is the last bucket."""

    bounds: list[int] = Field(min_length=1, max_length=12, description="e.g. [30, 60, 90]")

    @model_validator(mode="after")
    def _increasing(self) -> AgingBuckets:
        if any(b <= 0 for b in self.bounds) or self.bounds != sorted(set(self.bounds)):
            raise ValueError("bounds must be positive and strictly increasing")
        return self

    def labels(self) -> list[str]:
        edges = [0, *self.bounds]
        return [f"{lo + 1}-{hi}" for lo, hi in itertools.pairwise(edges)] + [f">{self.bounds[-1]}"]


class Clawback(RuleValue):
    """Commission recovered from the agent when a policy is surrendered or lapses within the window."""

    window_months: int = Field(ge=0, le=60, description="e.g. 12 months from issue")
    share: Decimal = Field(ge=0, le=1, description="Share of the commission paid on the policy, e.g. 1")


R = TypeVar("R", bound=RuleValue)

RULES: dict[str, type[RuleValue]] = {
    "collection_deadlines": CollectionDeadlines,
    "aging_buckets": AgingBuckets,
    "clawback": Clawback,
}


def parse(name: str, value: dict[str, Any]) -> RuleValue:
    if name not in RULES:
        raise NotFound(f"no rule named {name!r}", code="rule_not_found", field="name")
    try:
        return RULES[name].model_validate(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise Unprocessable(f"{name}: {where}: {first['msg']}", code="invalid_rule_value",
                            field=f"value.{where}") from None


async def in_force(session: AsyncSession, kind: type[R], on: date) -> R:
    name = next(n for n, k in RULES.items() if k is kind)
    value = (await session.execute(select(RuleVersion.value).where(
        RuleVersion.name == name, RuleVersion.valid_from <= on,
        (RuleVersion.valid_to.is_(None)) | (RuleVersion.valid_to > on)))).scalar()
    if value is None:
        raise Conflict(f"no {name} rule is in force on {on}", code="rule_not_in_force", field="effective_on")
    return kind.model_validate(value)


async def add_version(session: AsyncSession, name: str, valid_from: date, value: dict[str, Any],
                      actor: str) -> RuleVersion:
    """A new version from `valid_from`, closing the open one; never before the open one began."""
    parsed = parse(name, value)
    current = (await session.execute(select(RuleVersion).where(
        RuleVersion.name == name, RuleVersion.valid_to.is_(None)).with_for_update())).scalar_one_or_none()
    if current is not None:
        if valid_from <= current.valid_from:
            raise Conflict(f"the {name} version in force began on {current.valid_from}; a new one must begin later",
                           code="effective_date_before_history", field="valid_from")
        await session.execute(update(RuleVersion).where(
            RuleVersion.name == name, RuleVersion.valid_from == current.valid_from).values(valid_to=valid_from))
    version = RuleVersion(name=name, valid_from=valid_from, valid_to=None,
                          value=parsed.model_dump(mode="json"), recorded_by=actor)
    session.add(version)
    await session.flush()
    return version
