"""Contests 竞赛 with rules and prizes: a leaderboard of a metric over months in an institution's
subtree; prizes by place (contiguous, non-overlapping bands) and by threshold (everyone who reaches a
value wins its prize), each contestant getting the best prize they qualify for."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Integer, Numeric, and_, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from performance_service.models import DIRECTORY, Contest, Fact
from performance_service.rankings import METRICS
from svckit.errors import NotFound, Unprocessable


class PlacePrize(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    place_from: int = Field(ge=1)
    place_to: int = Field(ge=1)
    prize: str = Field(min_length=1, max_length=200)
    rank: int = Field(default=0, description="Which prize is better when several apply (higher wins)")


class ThresholdPrize(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at_least: Decimal = Field(gt=0)
    prize: str = Field(min_length=1, max_length=200)
    rank: int = Field(default=0)


class ContestRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    qualify_at_least: Decimal = Field(default=Decimal(0), ge=0, description="Below this, no place and no prize")
    by_place: list[PlacePrize] = Field(default_factory=list)
    by_threshold: list[ThresholdPrize] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands(self) -> ContestRules:
        bands = sorted(enumerate(self.by_place), key=lambda x: x[1].place_from)
        for n, band in bands:
            if band.place_to < band.place_from:
                raise ValueError(f"by_place[{n}].place_to: before place_from")
        for (_, before), (n, after) in itertools.pairwise(bands):
            if after.place_from <= before.place_to:
                raise ValueError(f"by_place[{n}].place_from: overlaps places {before.place_from}–{before.place_to}")
        return self

    def prize_for(self, place: int, value: Decimal) -> str | None:
        found: list[PlacePrize | ThresholdPrize] = [p for p in self.by_place if p.place_from <= place <= p.place_to]
        found += [t for t in self.by_threshold if value >= t.at_least]
        best = max(found, key=lambda p: p.rank, default=None)
        return best.prize if best is not None else None


def parse(rules: dict[str, Any]) -> ContestRules:
    try:
        return ContestRules.model_validate(rules)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        inner, sep, rest = message.partition(": ")
        if sep and " " not in inner:
            where, message = f"{where}.{inner}" if where else inner, rest
        raise Unprocessable(f"rules.{where}: {message}", code="invalid_contest_rules",
                            field=f"rules.{where}") from None


async def get(session: AsyncSession, contest_id: int) -> Contest:
    found = await session.get(Contest, contest_id)
    if found is None:
        raise NotFound(f"contest {contest_id} does not exist", code="contest_not_found", field="contest_id")
    return found


def months(period_from: str, period_to: str) -> list[str]:
    year, month = int(period_from[:4]), int(period_from[5:])
    found: list[str] = []
    while f"{year:04d}-{month:02d}" <= period_to and len(found) < 36:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


async def standings(session: AsyncSession, contest: Contest, visible: ColumnElement[bool]) -> list[dict[str, Any]]:
    rules = ContestRules.model_validate(contest.rules)
    value: ColumnElement[Any] = (cast(func.sum(Fact.policies), Integer) if contest.metric == "new_policies"
                                 else cast(func.sum(Fact.amount), Numeric))
    inst = DIRECTORY.institutions.alias("contest_institution")
    query = (select(Fact.agent_id, value.label("value"))
             .where(Fact.period.in_(months(contest.period_from, contest.period_to)),
                    Fact.kind.in_(METRICS[contest.metric]), visible,
                    exists().where(and_(inst.c.institution_id == Fact.institution_id,
                                        inst.c.path.contains([contest.institution_id])))))
    if contest.metric != "new_policies":
        query = query.where(Fact.currency == contest.currency)
    grouped = query.group_by(Fact.agent_id).having(value >= rules.qualify_at_least).subquery()
    ranked = select(grouped.c.agent_id, grouped.c.value,
                    func.rank().over(order_by=grouped.c.value.desc()).label("place")
                    ).order_by(grouped.c.value.desc(), grouped.c.agent_id).limit(1000)
    return [{"place": r.place, "agent_id": r.agent_id, "value": r.value,
             "prize": rules.prize_for(r.place, Decimal(r.value))} for r in await session.execute(ranked)]
