"""A settlement run from start to posted: claim the period, take the inputs (org's hierarchy at the
period's end, the ledger's outstanding premium, count-back answers, the rule set, the facts' high-water
mark) and keep them with the run, compute (settlement.py), store every line and payable in one
transaction that also supersedes the period's previous run, then post the payables to the ledger.

- Only a closed period (its last day before today, Asia/Shanghai) can be settled.
- One final run of a period at a time: a second is refused (409) while one is running (a partial
  unique index, taken under an advisory lock of the period). A run that a dead process left
  `running` is marked failed when the service starts again, or else by the period's next run.
- Nothing is half-stored: a run that fails before its results commit is marked failed and posts
  nothing. Payables are posted in chunks, each idempotent in the ledger per run and agent; a run
  whose posting was interrupted is completed by `post` again, never paid twice, and a new final
  run of the period completes it first (it pays only the difference from it).
- A what-if run applies a proposed rule set to a past period and posts nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import BigInteger, Numeric, func, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from performance_service import inputs, rules, upstream
from performance_service.models import DIRECTORY, Dispute, RuleSet, RunPayable, SettlementRun
from performance_service.settlement import Result, settle_from
from performance_service.upstream import Upstreams
from svckit.db import Database
from svckit.errors import BadGateway, Conflict, DomainError, NotFound, Unprocessable
from svckit.kit import ServiceKit
from svckit.timeutil import utcnow

log = logging.getLogger("performance.runs")
ABANDONED = "abandoned: its process stopped before it finished"


class Stopwatch:
    """Seconds spent in each phase of a run (kept with its totals: where the time goes)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now


@dataclass(frozen=True)
class RunRequest:
    period: str
    mode: str  # final | what_if
    actor: str
    rule_set_id: int | None = None
    proposed: dict[str, Any] | None = None


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a month `YYYY-MM`."""
    first = date(int(period[:4]), int(period[5:]), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def check_closed(period: str, today: date) -> None:
    _, last = period_bounds(period)
    if last >= today:
        raise Unprocessable(f"period {period} is not closed yet (it ends on {last}; today is {today})",
                            code="period_open", field="period")


async def rule_set_for(session: AsyncSession, request: RunRequest, period_end: date) -> tuple[int | None, str, Any]:
    """The rule set a run applies: a proposed one (what-if), one named, or the one in force at the period's end."""
    if request.proposed is not None:
        return None, "proposed", rules.parse(request.proposed, field="rule_set")
    query = select(RuleSet)
    if request.rule_set_id is not None:
        query = query.where(RuleSet.id == request.rule_set_id)
    else:
        query = query.where(RuleSet.status == "in_force", RuleSet.valid_from <= period_end,
                            (RuleSet.valid_to.is_(None)) | (RuleSet.valid_to > period_end))
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        what = f"rule set {request.rule_set_id}" if request.rule_set_id else f"a rule set in force on {period_end}"
        raise Unprocessable(f"there is no {what}", code="rule_set_not_found", field="rule_set_id")
    if request.mode == "final" and found.status != "in_force":
        raise Unprocessable("a final run applies a rule set in force; try a proposed one as what-if",
                            code="rule_set_not_in_force", field="rule_set_id")
    return found.id, found.version, rules.parse(found.body, field="rule_set")


async def claim(db: Database, request: RunRequest, today: date) -> SettlementRun:
    """Record the run as running, in its own committed transaction (so a second one is refused)."""
    check_closed(request.period, today)
    _, last = period_bounds(request.period)
    async with db.sessionmaker() as session:
        async with session.begin():
            rule_set_id, version, body = await rule_set_for(session, request, last)
            if request.mode == "final":
                # The caller holds the period's run lock (`period_lock`): a run still marked running was
                # left by a process that died (its lock went with its connection).
                await session.execute(update(SettlementRun).where(
                    SettlementRun.period == request.period, SettlementRun.mode == "final",
                    SettlementRun.status == "running").values(
                    status="failed", error=ABANDONED, finished_at=func.now()))
            upto = (await session.execute(text("SELECT coalesce(max(id), 0) FROM performance.fact"))).scalar_one()
            prefix = "S" if request.mode == "final" else "W"
            run = SettlementRun(
                id=f"{prefix}-{request.period}-{secrets.token_hex(4)}", period=request.period, mode=request.mode,
                status="running", rule_set_id=rule_set_id, fact_upto=upto, started_by=request.actor,
                rules={"version": version, "body": body.model_dump(mode="json")})
            session.add(run)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"another run of {request.period} is in progress", code="run_in_progress",
                               field="period") from None
        return run


async def _copy(session: AsyncSession, table: str, columns: list[str], records: list[tuple[Any, ...]]) -> None:
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table, schema_name="performance", columns=columns, records=records)


SNAPSHOT_STAGE = text("CREATE TEMP TABLE snapshot_line (line jsonb) ON COMMIT DROP")
SNAPSHOT_STORE = text(
    "INSERT INTO performance.run_agent (run_id, agent_id, supervisor_id, path, rank_code, institution_id, team_id)"
    " SELECT :run, (line->>'agent_id')::bigint, (line->>'supervisor_id')::bigint,"
    "  translate(line->>'path', '[]', '{}')::bigint[], line->>'rank_code', (line->>'institution_id')::bigint,"
    "  (line->>'team_id')::bigint FROM snapshot_line")


async def take_inputs(session: AsyncSession, up: Upstreams, run: SettlementRun, body: rules.RuleSetBody) -> None:
    """Org's hierarchy at the period's end, the ledger's outstanding premium and count-back answers,
    stored with the run (reproducible without asking them again)."""
    start, last = period_bounds(run.period)
    org = up.need_org()
    # The snapshot streams from org into PostgreSQL as it arrives: PostgreSQL parses the JSON lines.
    await session.execute(SNAPSHOT_STAGE)
    raw = await (await session.connection()).get_raw_connection()
    try:
        async with upstream.snapshot(org, last) as lines:
            # JSON has no raw control characters: \x01 and \x02 never occur as quote or delimiter.
            await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
                "snapshot_line", source=lines, columns=["line"], format="csv", delimiter="\x01", quote="\x02")
    except httpx.HTTPError as error:
        raise upstream.unreachable("org", error) from None
    await session.execute(SNAPSHOT_STORE, {"run": run.id})
    ledger = up.need_ledger()
    try:
        response = await ledger.request("GET", "/v1/receivables/outstanding",
                                        params={"period_end": last.isoformat()})
    except httpx.HTTPError as error:
        raise upstream.unreachable("ledger", error) from None
    if response.status_code != 200:
        raise upstream.refused("ledger", response)
    await _copy(session, "run_outstanding", ["run_id", "agent_id", "currency", "outstanding", "overdue"], [
        (run.id, r["agent_id"], r["currency"], Decimal(str(r["outstanding"])), Decimal(str(r["overdue"])))
        for r in response.json()])
    if any(a.count_back for a in body.management_allowances):
        await _count_back(session, org, run, start, last)


async def _count_back(session: AsyncSession, org: Any, run: SettlementRun, start: date, last: date) -> None:
    """Ask org, for every nurturer of a peer-level team (and the supervisors above them, for teams
    nurtured indirectly), which separated teams count back for the period."""
    found = await session.execute(text("SELECT DISTINCT nurturer_id FROM performance.peer_team WHERE peer_on <= :end"),
                                  {"end": last})
    nurturers = {int(x) for x in found.scalars()}
    if not nurturers:
        return
    above = (await session.execute(text(
        "SELECT DISTINCT unnest(path) FROM performance.run_agent WHERE run_id = :run AND agent_id = ANY(:ids)"),
        {"run": run.id, "ids": sorted(nurturers)})).scalars()
    records: dict[tuple[int, int], tuple[Any, ...]] = {}
    for asker in sorted(nurturers | {int(x) for x in above}):
        response = await org.request("GET", f"/v1/agents/{asker}/count-back", params={
            "period_start": start.isoformat(), "period_end": (last + timedelta(days=1)).isoformat(),
            "assessment": "maintenance"})
        if response.status_code != 200:
            raise upstream.refused("org", response)
        for team in response.json():
            records[(asker, int(team["team_head_id"]))] = (
                run.id, asker, team["team_head_id"], team["generation"], team["separated"], team["reason"],
                Decimal(str(team["share"])))
    await _copy(session, "run_count_back", ["run_id", "nurturer_id", "team_head_id", "generation", "separated",
                                            "reason", "share"], list(records.values()))


async def store(session: AsyncSession, run: SettlementRun, body: rules.RuleSetBody, result: Result,
                disputes: list[int], commission_lines: int) -> None:
    """Lines, payables, supersession and its diff, in the run's one transaction."""
    currency = body.currency
    dumps = json.dumps
    lines = [(run.id, x.agent_id, x.line_no, x.kind, x.rule, currency, x.amount, dumps(x.base, ensure_ascii=False),
              x.arithmetic) for x in result.lines]
    await _copy(session, "statement_line", ["run_id", "agent_id", "line_no", "kind", "rule", "currency", "amount",
                                            "base", "arithmetic"], lines)
    final = run.mode == "final"
    await _copy(session, "run_payable", ["run_id", "agent_id", "branch_id", "currency", "gross", "net", "held",
                                         "carried", "status"], [
        (run.id, p.agent_id, p.branch_id, currency, p.gross, p.net, p.held, p.carried,
         ("to_post" if p.net > 0 else "nothing_due") if final else "what_if") for p in result.payables])
    totals = {"agents_paid": sum(1 for p in result.payables if p.net > 0),
              "lines": len(result.lines) + commission_lines,
              "gross": str(sum((p.gross for p in result.payables), Decimal(0))),
              "net": str(sum((p.net for p in result.payables), Decimal(0))),
              "held": str(sum((p.held for p in result.payables), Decimal(0))),
              "carried": str(sum((p.carried for p in result.payables), Decimal(0))), "currency": currency}
    previous = (await session.execute(select(SettlementRun).where(
        SettlementRun.period == run.period, SettlementRun.mode == "final", SettlementRun.status == "completed",
    ).with_for_update())).scalar_one_or_none()
    diff = await diff_summary(session, previous.id, run.id) if previous is not None else None
    if final and previous is not None:
        previous.status, previous.superseded_by = "superseded", run.id
        run.supersedes = previous.id
        await session.flush()
    if final and disputes:
        await session.execute(update(Dispute).where(Dispute.id.in_(disputes)).values(
            status="settled", settled_in_run=run.id))
    run.status, run.totals, run.diff, run.finished_at = "completed", totals, diff, utcnow()
    run.agents = len(result.payables)
    await session.flush()


# Agents whose gross, held or carried differ between the runs :before and :after.
DIFFERING = text(
    "SELECT coalesce(n.agent_id, o.agent_id) AS agent_id, coalesce(o.gross, 0) AS gross_before,"
    "  coalesce(n.gross, 0) AS gross_after, coalesce(o.net, 0) AS net_before, coalesce(n.net, 0) AS net_after"
    " FROM (SELECT * FROM performance.run_payable WHERE run_id = :before) o"
    " FULL JOIN (SELECT * FROM performance.run_payable WHERE run_id = :after) n ON n.agent_id = o.agent_id"
    " WHERE coalesce(o.gross, 0) <> coalesce(n.gross, 0) OR coalesce(o.held, 0) <> coalesce(n.held, 0)"
    "   OR coalesce(o.carried, 0) <> coalesce(n.carried, 0)",
).columns(agent_id=BigInteger, gross_before=Numeric, gross_after=Numeric, net_before=Numeric,
          net_after=Numeric).subquery("differing")


async def diff_rows(session: AsyncSession, before: str, after: str, limit: int,
                    visible: Callable[[Any, Any], ColumnElement[bool]] | None = None) -> list[dict[str, Any]]:
    """Agents whose gross, held or carried differ between two runs (gross before and after);
    `visible(agent column, institution column)`: only the agents it allows (a data scope), judged
    on the organisation's replica."""
    query = select(DIFFERING).order_by(DIFFERING.c.agent_id).limit(limit)
    if visible is not None:
        agents = DIRECTORY.agents
        query = (query.select_from(DIFFERING.outerjoin(agents, agents.c.agent_id == DIFFERING.c.agent_id))
                 .where(visible(DIFFERING.c.agent_id, agents.c.institution_id)))
    return [dict(r._mapping) for r in await session.execute(query, {"before": before, "after": after})]


async def diff_summary(session: AsyncSession, before: str, after: str) -> dict[str, Any]:
    row = (await session.execute(select(
        func.count().label("agents"),
        func.coalesce(func.sum(DIFFERING.c.gross_after - DIFFERING.c.gross_before), 0).label("gross_change")),
        {"before": before, "after": after})).one()
    return {"compared_with": before, "agents_changed": int(row.agents), "gross_change": str(row.gross_change)}


async def compute_and_store(db: Database, up: Upstreams, run: SettlementRun, work_mem_mb: int,
                            timeout_s: float) -> None:
    body = rules.RuleSetBody.model_validate(run.rules["body"])
    _, last = period_bounds(run.period)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(text(f"SET LOCAL work_mem = '{int(work_mem_mb)}MB'"))
        await session.execute(text(f"SET LOCAL statement_timeout = '{int(timeout_s * 1000)}ms'"))
        mine = await session.get(SettlementRun, run.id, with_for_update=True)
        assert mine is not None
        clock = Stopwatch()
        await take_inputs(session, up, mine, body)
        clock.lap("inputs_taken")
        previous = (await session.execute(select(SettlementRun.id).where(
            SettlementRun.period == run.period, SettlementRun.mode == "final",
            SettlementRun.status == "completed"))).scalar()
        earned = await inputs.write_commission(session, body, run_id=run.id, period=run.period, upto=run.fact_upto)
        clock.lap("commission_written")
        read, disputes = await inputs.read(
            session, run_id=run.id, period=run.period, period_end=last, upto=run.fact_upto,
            currency=body.currency, supersedes=previous if run.mode == "final" else None,
            final=run.mode == "final")
        clock.lap("inputs_read")
        result = settle_from(body, read, earned)
        clock.lap("computed")
        await store(session, mine, body, result, disputes, sum(e.lines for e in earned.values()))
        clock.lap("stored")
        mine.totals = {**(mine.totals or {}), "seconds": clock.laps}
        await session.flush()
    log.info("settlement run %s: %s", run.id, clock.laps)


async def fail(db: Database, run_id: str, error: str) -> None:
    async with db.sessionmaker.begin() as session:
        await session.execute(update(SettlementRun).where(SettlementRun.id == run_id).values(
            status="failed", error=error[:2000], finished_at=func.now()))


MARK_POSTED = text(
    "UPDATE performance.run_payable p SET status = 'posted', payable_id = x.payable_id"
    " FROM unnest(CAST(:agents AS bigint[]), CAST(:ids AS bigint[])) AS x(agent_id, payable_id)"
    " WHERE p.run_id = :run AND p.agent_id = x.agent_id")


async def post(db: Database, up: Upstreams, run_id: str, chunk: int, concurrency: int = 1) -> int:
    """Post the run's payables still to post, in chunks (`concurrency` at a time: they name disjoint
    agents, and the ledger takes each line once per run and agent); returns how many were posted now."""
    async with db.sessionmaker() as session:
        run = await session.get(SettlementRun, run_id)
        if run is None:
            raise NotFound(f"run {run_id} does not exist", code="run_not_found", field="run_id")
        if run.mode != "final" or run.status not in ("completed", "superseded"):
            raise Conflict(f"run {run_id} is {run.mode} and {run.status}: nothing to post", code="run_not_postable",
                           field="run_id")
        _, last = period_bounds(run.period)
        todo = (await session.execute(select(RunPayable.agent_id, RunPayable.net, RunPayable.currency).where(
            RunPayable.run_id == run_id, RunPayable.status == "to_post").order_by(RunPayable.agent_id))).all()
    ledger = up.need_ledger()
    started = time.perf_counter()
    chunks = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
    gate = asyncio.Semaphore(max(concurrency, 1))

    async def send(part: Sequence[Any]) -> int:
        async with gate:
            try:
                response = await ledger.request(
                    "POST", f"/v1/payables/settlements/{run_id}", idempotency_key=f"{run_id}:{part[0].agent_id}:"
                    f"{len(part)}", json={"period": run.period, "effective_on": last.isoformat(), "lines": [
                        {"agent_id": r.agent_id, "amount": str(r.net), "currency": r.currency} for r in part]})
            except httpx.HTTPError as error:
                raise upstream.unreachable("ledger", error) from None
            if response.status_code != 200:
                raise upstream.refused("ledger", response)
            answered = response.json()
            async with db.sessionmaker.begin() as session:
                await session.execute(MARK_POSTED, {"run": run_id, "agents": [r["agent_id"] for r in answered],
                                                    "ids": [r["payable_id"] for r in answered]})
            return len(answered)

    results = await asyncio.gather(*(send(part) for part in chunks), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    posted = sum(r for r in results if isinstance(r, int))
    async with db.sessionmaker.begin() as session:
        await session.execute(update(SettlementRun).where(SettlementRun.id == run_id).values(posted=True))
    log.info("settlement run %s: %d payables posted in %.3f s", run_id, posted, time.perf_counter() - started)
    return posted


@asynccontextmanager
async def period_lock(db: Database, period: str) -> AsyncIterator[None]:
    """One final run of a period at a time, across processes: a session-level advisory lock held on a
    connection of its own for the whole run, released when it ends (or when its process dies)."""
    async with db.engine.connect() as connection:
        key = {"period": period}
        taken = (await connection.execute(text(
            "SELECT pg_try_advisory_lock(hashtext('performance.settlement'), hashtext(:period))"), key)).scalar()
        await connection.commit()
        if not taken:
            running = (await connection.execute(select(SettlementRun.id).where(
                SettlementRun.period == period, SettlementRun.mode == "final",
                SettlementRun.status == "running"))).scalar()
            raise Conflict(f"run {running or '(starting)'} of {period} is in progress", code="run_in_progress",
                           field="period", run_id=running)
        try:
            yield
        finally:
            await connection.execute(text(
                "SELECT pg_advisory_unlock(hashtext('performance.settlement'), hashtext(:period))"), key)
            await connection.commit()


async def fail_abandoned(db: Database) -> list[str]:
    """Mark failed the final runs a process that died left `running`, and return their ids. A live run
    holds its period's lock, so a period whose lock is free has none. What-if runs take no lock and
    are left alone."""
    async with db.sessionmaker() as session:
        periods = (await session.execute(select(SettlementRun.period).where(
            SettlementRun.mode == "final", SettlementRun.status == "running").distinct())).scalars().all()
    marked: list[str] = []
    for period in periods:
        try:
            async with period_lock(db, period), db.sessionmaker.begin() as session:
                found = await session.execute(update(SettlementRun).where(
                    SettlementRun.period == period, SettlementRun.mode == "final",
                    SettlementRun.status == "running").values(
                    status="failed", error=ABANDONED, finished_at=func.now()).returning(SettlementRun.id))
                marked += found.scalars().all()
        except Conflict:
            continue  # a live process is settling this month
    return marked


async def abandoned_runs(kit: ServiceKit, stop: asyncio.Event) -> None:
    """A worker that runs once at startup. A run that a crash left `running` then reads as failed at
    once, rather than only when its month is settled again."""
    try:
        marked = await fail_abandoned(kit.db)
    except (OSError, SQLAlchemyError):  # the database is not there yet: the month's next run marks them
        log.warning("could not look for settlement runs left running by a stopped process", exc_info=True)
        return
    if marked:
        log.warning("settlement runs left running by a stopped process, now failed: %s", ", ".join(marked))


async def execute(db: Database, up: Upstreams, request: RunRequest, *, today: date, chunk: int, work_mem_mb: int,
                  timeout_s: float, concurrency: int = 1) -> str:
    """Claim, compute and store, then post (final runs, under the period's lock): the run's id."""
    check_closed(request.period, today)
    if request.mode != "final":
        return await _execute(db, up, request, today=today, chunk=chunk, work_mem_mb=work_mem_mb,
                              timeout_s=timeout_s, concurrency=concurrency)
    async with period_lock(db, request.period):
        await post_earlier_runs(db, up, request.period, chunk, concurrency)
        return await _execute(db, up, request, today=today, chunk=chunk, work_mem_mb=work_mem_mb,
                              timeout_s=timeout_s, concurrency=concurrency)


async def post_earlier_runs(db: Database, up: Upstreams, period: str, chunk: int, concurrency: int) -> None:
    """Complete the posting of the period's earlier final runs before a new one starts. A new run pays
    only the difference from what they stored (PAID_BEFORE), so a payable a crash or a ledger failure
    left unposted would otherwise be paid by no run at all."""
    async with db.sessionmaker() as session:
        unposted = (await session.execute(select(SettlementRun.id).where(
            SettlementRun.period == period, SettlementRun.mode == "final",
            SettlementRun.status.in_(("completed", "superseded")), SettlementRun.posted.is_(False),
        ).order_by(SettlementRun.started_at))).scalars().all()
    for run_id in unposted:
        try:
            await post(db, up, run_id, chunk, concurrency)
        except DomainError as error:
            raise BadGateway(f"run {run_id} of {period} has payables the ledger has not taken yet ({error.detail});"
                             " a new run pays only the difference from it, so it waits until they are posted",
                             code="payables_not_posted", run_id=run_id) from None


async def _execute(db: Database, up: Upstreams, request: RunRequest, *, today: date, chunk: int, work_mem_mb: int,
                   timeout_s: float, concurrency: int) -> str:
    run = await claim(db, request, today)
    try:
        await compute_and_store(db, up, run, work_mem_mb, timeout_s)
    except DomainError as error:
        await fail(db, run.id, error.detail)
        raise
    except Exception as error:
        log.exception("settlement run %s failed", run.id)
        await fail(db, run.id, f"{type(error).__name__}: {error}")
        raise
    if request.mode == "final":
        try:
            await post(db, up, run.id, chunk, concurrency)
        except DomainError as error:
            raise BadGateway(f"run {run.id} is stored but not all its payables reached the ledger ({error.detail});"
                             f" POST /v1/settlements/{run.id}/post completes it", code="payables_not_posted",
                             run_id=run.id) from None
    return run.id
