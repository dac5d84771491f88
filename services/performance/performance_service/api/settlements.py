"""Monthly settlement runs: final (stored, posted to the ledger, superseding the period's previous run)
or what-if (a proposed rule set on a past period, nothing posted)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import select, text
from sqlalchemy.sql.elements import ColumnElement

from performance_service import access, runs
from performance_service.api.deps import (
    HeadOfficeSettlers,
    ScopeDep,
    SettingsDep,
    Settlers,
    TodayDep,
    UpstreamsDep,
    actor_of,
)
from performance_service.models import SettlementRun
from performance_service.schemas import PERIOD, DiffRow, SettlementCreate, SettlementRead
from svckit.errors import NotFound, Unprocessable
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.kit import kit_of
from svckit.metrics import duration_histogram, observe_duration
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/settlements", tags=["settlement"])
SETTLEMENT_DURATION = duration_histogram("settlement_duration_seconds", "A settlement run, claimed to posted", "mode")


LATE_FACTS = text("SELECT count(*) FROM performance.fact WHERE period = :period AND id > :upto")


async def read_model(session: SessionDep, run: SettlementRun, *, late: bool = True) -> SettlementRead:
    """`late`: count the facts recorded since (a scan of the period's facts; not in lists)."""
    count = (await session.execute(LATE_FACTS, {"period": run.period, "upto": run.fact_upto})).scalar_one() \
        if late else None
    return SettlementRead.model_validate({**{c: getattr(run, c) for c in (
        "id", "period", "mode", "status", "rule_set_id", "supersedes", "superseded_by", "fact_upto", "agents",
        "totals", "diff", "posted", "error", "started_by", "started_at", "finished_at")},
        "rule_set_version": run.rules.get("version", ""), "late_facts": count})


async def _get(session: SessionDep, run_id: str) -> SettlementRun:
    found = await session.get(SettlementRun, run_id)
    if found is None:
        raise NotFound(f"run {run_id} does not exist", code="run_not_found", field="run_id")
    return found


@router.post("", response_model=SettlementRead, status_code=201, dependencies=[HeadOfficeSettlers])
async def run_settlement(body: SettlementCreate, request: Request, session: SessionDep, caller: CallerDep,
                         up: UpstreamsDep, settings: SettingsDep, today: TodayDep,
                         _: IdempotencyDep) -> SettlementRead:
    """Settle a closed month: snapshot the inputs, compute every statement, store it, post the payables.
    A second final run of a settled month supersedes the first and pays the difference."""
    if body.rule_set is not None and body.mode != "what_if":
        raise Unprocessable("a proposed rule set runs only as what-if", code="proposed_rules_final", field="rule_set")
    request_ = runs.RunRequest(period=body.period, mode=body.mode, actor=actor_of(caller),
                               rule_set_id=body.rule_set_id, proposed=body.rule_set)
    with observe_duration(SETTLEMENT_DURATION, mode=body.mode):
        run_id = await runs.execute(kit_of(request).db, up, request_, today=today, chunk=settings.payables_chunk,
                                    work_mem_mb=settings.settlement_work_mem_mb,
                                    timeout_s=settings.settlement_timeout_s, concurrency=settings.payables_concurrency)
    return await read_model(session, await _get(session, run_id))


@router.get("", response_model=list[SettlementRead], dependencies=[Settlers])
async def list_settlements(session: SessionDep,
                           period: Annotated[str | None, Query(pattern=PERIOD)] = None) -> list[SettlementRead]:
    """Runs, newest first (of one period when given)."""
    query = select(SettlementRun).order_by(SettlementRun.started_at.desc()).limit(200)
    if period is not None:
        query = query.where(SettlementRun.period == period)
    return [await read_model(session, r, late=False) for r in (await session.execute(query)).scalars()]


@router.get("/{run_id}", response_model=SettlementRead, dependencies=[Settlers])
async def read_settlement(run_id: str, session: SessionDep) -> SettlementRead:
    """One run: its inputs' high-water mark, rule set, totals, and its diff with the run it superseded."""
    return await read_model(session, await _get(session, run_id))


@router.get("/{run_id}/diff", response_model=list[DiffRow], dependencies=[Settlers])
async def diff(run_id: str, session: SessionDep, scope: ScopeDep,
               against: Annotated[str | None, Query(description="Default: the run it superseded, or for a "
                                                    "what-if the period's current final run")] = None,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    """Agents whose pay differs between this run and another, by agent."""
    run = await _get(session, run_id)
    other = against or run.supersedes
    if other is None:
        other = (await session.execute(select(SettlementRun.id).where(
            SettlementRun.period == run.period, SettlementRun.mode == "final", SettlementRun.status == "completed",
            SettlementRun.id != run.id))).scalar()
    if other is None:
        raise NotFound(f"run {run_id} has no run to compare with", code="nothing_to_compare", field="against")
    await _get(session, other)
    # The run is the company's; what each agent is paid is shown only for agents the caller may see
    # (as their statements are): another branch's finance gets none of this branch's rows.
    def visible(agent_id: Any, institution_id: Any) -> ColumnElement[bool]:
        return access.condition(scope, agent_id, institution_id)

    return await runs.diff_rows(session, other, run.id, limit, None if scope.everything else visible)


@router.post("/{run_id}/post", response_model=SettlementRead, dependencies=[HeadOfficeSettlers])
async def post_payables(run_id: str, request: Request, session: SessionDep, up: UpstreamsDep,
                        settings: SettingsDep) -> SettlementRead:
    """Post what a final run has not posted yet (after an interruption); idempotent."""
    await runs.post(kit_of(request).db, up, run_id, settings.payables_chunk, settings.payables_concurrency)
    session.expire_all()
    return await read_model(session, await _get(session, run_id))
