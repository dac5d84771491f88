"""Facts: an agent's month, and the events held in quarantine."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select, text

from performance_service import access, facts
from performance_service.api.deps import FinanceOnly, ScopeDep, actor_of
from performance_service.facts import FactIngest, admit_quarantined
from performance_service.models import ActivityDay, FactQuarantine
from performance_service.schemas import PERIOD, FactImport, FactSummary, QuarantineRead
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep, require_roles
from svckit.pagination import Page, PageParams, keyset, page_of, page_params
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/facts", tags=["facts"])
Importers = require_roles("admin", "finance", "back_office")
SUMMARY = text(
    "SELECT currency, coalesce(sum(amount) FILTER (WHERE kind = 'fyp'), 0) AS fyp,"
    "  coalesce(sum(amount) FILTER (WHERE kind = 'standard_premium'), 0) AS standard_premium,"
    "  coalesce(sum(amount) FILTER (WHERE kind IN ('received_premium', 'reversal')), 0) AS received_premium,"
    "  coalesce(sum(amount) FILTER (WHERE kind IN ('received_premium', 'reversal') AND policy_year = 1), 0)"
    "    AS first_year_received,"
    "  coalesce(sum(amount) FILTER (WHERE kind IN ('received_premium', 'reversal') AND policy_year > 1), 0)"
    "    AS renewal_received,"
    "  coalesce(sum(policies) FILTER (WHERE kind = 'new_policy'), 0) AS new_policies,"
    "  count(*) FILTER (WHERE kind = 'policy_ended') AS policies_ended"
    " FROM performance.fact WHERE agent_id = :agent AND period = :period GROUP BY currency ORDER BY currency")


@router.get("/agents/{agent_id}", response_model=list[FactSummary])
async def agent_month(agent_id: int, session: SessionDep, scope: ScopeDep,
                      period: Annotated[str, Query(pattern=PERIOD)]) -> list[dict[str, Any]]:
    """An agent's facts of a month, per currency: FYP, standard premium, received (first-year and renewal),
    new policies, policies ended."""
    await access.require_agent(session, scope, agent_id)
    rows = await session.execute(SUMMARY, {"agent": agent_id, "period": period})
    return [{"agent_id": agent_id, "period": period, **r._mapping} for r in rows]


@router.get("/quarantine", response_model=Page[QuarantineRead], dependencies=[FinanceOnly])
async def quarantine(session: SessionDep, scope: ScopeDep, page: Annotated[PageParams, Depends(page_params)],
                     held_only: bool = True) -> dict[str, Any]:
    """Ledger events not counted (an agent the organisation does not know, a policy never issued), oldest
    first, a page at a time: the head office sees all; a branch sees those whose agents are all known
    and in its scope."""
    query = select(FactQuarantine).where(access.held_condition(scope))
    if held_only:
        query = query.where(FactQuarantine.admitted_at.is_(None))
    rows = list((await session.execute(keyset(query, [FactQuarantine.id.expression], page))).scalars())
    items, next_cursor = page_of(rows, page, lambda q: (q.id,))
    return {"items": items, "next_cursor": next_cursor}


@router.post("/quarantine/admit", dependencies=[FinanceOnly])
async def admit(session: SessionDep, scope: ScopeDep) -> dict[str, int]:
    """Try the held events the caller may see again, now that the organisation or the policy may be known.

    Scoped rather than head-office-only: a held event is the ledger's own record, so admitting it only
    counts what the ledger booked, and a branch's finance may clear its own agents' events once org
    knows them. It may not touch another branch's: an event is admitted by a branch only when every
    agent it names is known today and in the branch's scope (access.held_condition), so an agent
    unknown when the event was held can never carry it into another branch's facts. Events naming
    an agent still unknown are the head office's (they belong to no branch yet)."""
    admitted, held = await admit_quarantined(session, FactIngest(), access.held_condition(scope))
    return {"admitted": admitted, "held": held}


@router.post("", status_code=201, dependencies=[Importers])
async def import_facts(body: FactImport, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                       _: IdempotencyDep) -> dict[str, int]:
    """Record facts from outside the ledger's feed (e.g. an insurer's monthly file), all or none; a line
    naming an agent unknown to the organisation or outside the caller's data scope refuses the whole
    file, naming the line (`facts[i].agent_id`, 422 `agent_not_found`)."""
    count = await facts.import_facts(session, [f.model_dump() for f in body.facts], source=body.source,
                                     actor=actor_of(caller), scope=scope)
    return {"recorded": count}


class ActivityMonth(BaseModel):
    """An agent's activity counts over a month, from activity's change feed."""

    agent_id: int
    period: str
    active_days: int = Field(description="Days with anything logged")
    visits: int
    counts: dict[str, int] = Field(description="Activities per kind, e.g. interview: 60")


@router.get("/agents/{agent_id}/activity", response_model=ActivityMonth)
async def agent_activity(agent_id: int, session: SessionDep, scope: ScopeDep,
                         period: Annotated[str, Query(pattern=PERIOD)]) -> ActivityMonth:
    """An agent's activity counts of a month (the KPI's activity part), as activity last announced
    each day."""
    await access.require_agent(session, scope, agent_id)
    year, month = (int(x) for x in period.split("-"))
    first = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    days = list((await session.execute(select(ActivityDay).where(
        ActivityDay.agent_id == agent_id, ActivityDay.day >= first, ActivityDay.day < end))).scalars())
    counts: dict[str, int] = {}
    for day in days:
        for kind, n in day.counts.items():
            counts[kind] = counts.get(kind, 0) + int(n)
    return ActivityMonth(agent_id=agent_id, period=period, active_days=sum(1 for d in days if d.counts),
                         visits=sum(d.visits for d in days), counts={k: n for k, n in sorted(counts.items()) if n})
