"""Commission payables 应付佣金: performance posts what a settlement run owes each agent (once per run
and agent, however often it retries), with the policies the commission was earned on so that a
later surrender can claw it back; finance marks each payable paid, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import journal
from ledger_service.models import PLATFORM_TABLES, CommissionPayable
from ledger_service.postings import Line
from svckit.directory import branch_of
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.money import MINOR_UNITS
from svckit.outbox import append_event
from svckit.pgarray import numbers, param, texts


@dataclass(frozen=True)
class PayableLine:
    agent_id: int
    amount: Decimal
    currency: str
    by_policy: list[tuple[int, Decimal]]


@dataclass(frozen=True)
class LineResult:
    agent_id: int
    status: str
    payable_id: int
    entry_id: int


def check_line(n: int, line: PayableLine) -> None:
    if line.by_policy and sum(a for _, a in line.by_policy) != line.amount:
        raise Unprocessable(f"line {n}: the policies' commissions add up to {sum(a for _, a in line.by_policy)}, "
                            f"not {line.amount}", code="policy_split_mismatch", field=f"lines[{n}].policies")
    units = MINOR_UNITS.get(line.currency)
    if units is None:
        raise Unprocessable(f"line {n}: unknown currency {line.currency!r}", code="unknown_currency",
                            field=f"lines[{n}].currency")
    for amount, field in [(line.amount, "amount"), *((a, f"policies[{i}].amount")
                                                     for i, (_, a) in enumerate(line.by_policy))]:
        if amount != round(amount, units):
            raise Unprocessable(f"line {n}: {line.currency} amounts have at most {units} decimals",
                                code="amount_too_precise", field=f"lines[{n}].{field}")


# Each line's agent with their institution's chain (for the branch), as the replica holds them today.
AGENT_BRANCHES = text(
    "SELECT a.agent_id, i.path FROM ledger.org_agent a JOIN ledger.org_institution i USING (institution_id)"
    " WHERE a.agent_id = ANY(CAST(:agents AS bigint[]))")
INSERT_PAYABLES = text(
    "INSERT INTO ledger.commission_payable (settlement_run, period, agent_id, branch_id, currency, amount, entry_id,"  # noqa: S608 - constant fragments; every value is a bound parameter
    "  posted_by)"
    " SELECT :run, :period, p.agent_id, p.branch_id, p.currency, p.amount, p.entry_id, :actor"
    f" FROM unnest({param('agents', 'bigint')}, {param('branches', 'bigint')},"
    f"   {param('currencies', 'text')}, {param('amounts', 'numeric')},"
    f"   {param('entries', 'bigint')}) WITH ORDINALITY"
    "   AS p(agent_id, branch_id, currency, amount, entry_id, n) ORDER BY n"
    " RETURNING agent_id, id")
# Each entry's lines into the journal's stage, in the order they are numbered: Dr commission expense
# per policy (or once, for a line without policies), then Cr the agent's commission payable.
STAGE_ENTRIES = text(
    f"WITH lines AS (SELECT * FROM unnest({param('keys', 'integer')},"  # noqa: S608 - as above
    f"   {param('agents', 'bigint')}, {param('amounts', 'numeric')},"
    f"   {param('currencies', 'text')}, {param('split', 'boolean')})"
    "   AS l(key, agent_id, amount, currency, split))"
    " INSERT INTO journal_stage_line (entry_key, account, currency, amount, agent_id, policy_id)"
    " SELECT key, account, currency, amount, agent_id, policy_id FROM ("
    "  SELECT p.key, 1 AS part, p.ord, 'commission_expense' AS account, l.currency, p.amount, l.agent_id,"
    "    p.policy_id"
    f"  FROM unnest({param('policy_keys', 'integer')}, {param('policies', 'bigint')},"
    f"    {param('policy_amounts', 'numeric')}) WITH ORDINALITY AS p(key, policy_id, amount, ord)"
    "  JOIN lines l USING (key)"
    "  UNION ALL SELECT key, 1, 0, 'commission_expense', currency, amount, agent_id, NULL FROM lines WHERE NOT split"
    "  UNION ALL SELECT key, 2, 0, 'commission_payable', currency, -amount, agent_id, NULL FROM lines) x"
    " ORDER BY key, part, ord")


async def _existing(session: AsyncSession, run: str, agents: list[int]) -> dict[int, CommissionPayable]:
    ids = bindparam("agents", agents, type_=ARRAY(BigInteger))
    return {p.agent_id: p for p in (await session.execute(select(CommissionPayable).where(
        CommissionPayable.settlement_run == run, CommissionPayable.agent_id == any_(ids)))).scalars()}


def _already(n: int, run: str, line: PayableLine, found: CommissionPayable) -> LineResult:
    if (found.amount, found.currency) != (line.amount, line.currency):
        raise Conflict(f"line {n}: run {run} already owes agent {line.agent_id} {found.amount} "
                       f"{found.currency}; a corrected settlement is a new run", code="payable_differs",
                       field=f"lines[{n}].amount")
    return LineResult(line.agent_id, "already_posted", found.id, found.entry_id)


async def post_run(session: AsyncSession, *, run: str, period: str, effective_on: date, lines: list[PayableLine],
                   actor: str) -> list[LineResult]:
    """Post each agent's payable of a settlement run; a line already posted for this run and agent is
    reported as such (and refused if its amount differs: a changed run is a new run). The new lines
    post together, set-based: their journal entries' lines are staged by one statement and posted by
    `journal.post_staged` (the journal's rules checked there; payables only grow guarded balances),
    the payables written by one more."""
    first: dict[int, int] = {}
    for n, line in enumerate(lines):
        check_line(n, line)
        if first.setdefault(line.agent_id, n) != n:
            raise Unprocessable(f"line {n}: agent {line.agent_id} is already on line {first[line.agent_id]}; a run "
                                "owes each agent one payable", code="agent_repeated", field=f"lines[{n}].agent_id")
    agents = [x.agent_id for x in lines]
    existing = await _existing(session, run, agents)
    branches = {r.agent_id: branch_of(r.path) for r in (await session.execute(AGENT_BRANCHES, {"agents": agents}))}
    results: list[LineResult | None] = [None] * len(lines)
    new: list[int] = []
    for n, line in enumerate(lines):
        found = existing.get(line.agent_id)
        if found is not None:
            results[n] = _already(n, run, line, found)
        elif line.agent_id not in branches:
            raise Unprocessable(f"line {n}: agent {line.agent_id} is not known to the organisation",
                                code="agent_not_found", field=f"lines[{n}].agent_id")
        else:
            new.append(n)
    entries = await _post_entries(session, run, period, effective_on, lines, new, branches, actor)
    # A line whose entry is already there was posted meanwhile by a concurrent retry of this run,
    # which has committed since: it answers as a retry would.
    raced = [n for n in new if n not in entries]
    if raced:
        now = await _existing(session, run, [lines[n].agent_id for n in raced])
        for n in raced:
            results[n] = _already(n, run, lines[n], now[lines[n].agent_id])
    done = [n for n in new if n in entries]
    if done:
        ids: dict[int, int] = {r.agent_id: r.id for r in await session.execute(INSERT_PAYABLES, {
            "run": run, "period": period, "actor": actor, "agents": numbers(lines[n].agent_id for n in done),
            "branches": numbers(branches[lines[n].agent_id] for n in done),
            "currencies": texts([lines[n].currency for n in done]), "amounts": numbers(lines[n].amount for n in done),
            "entries": numbers(entries[n] for n in done)})}
        for n in done:
            results[n] = LineResult(lines[n].agent_id, "posted", ids[lines[n].agent_id], entries[n])
    answered = [r for r in results if r is not None]
    await append_event(session, PLATFORM_TABLES, event_type="payables.posted", aggregate_type="settlement_run",
                       aggregate_id=run, payload={"settlement_run": run, "period": period,
                                                  "posted": sum(r.status == "posted" for r in answered)})
    return answered


async def _post_entries(session: AsyncSession, run: str, period: str, effective_on: date, lines: list[PayableLine],
                        new: list[int], branches: dict[int, int], actor: str) -> dict[int, int]:
    """Dr commission expense (per policy, for clawback) / Cr the agent's commission payable, an entry
    per new line (keyed by its line number); returns each posted entry's id by line number."""
    if not new:
        return {}
    await journal.open_stage(session)
    split = [n for n in new if lines[n].by_policy]
    await session.execute(STAGE_ENTRIES, {
        "keys": numbers(new), "agents": numbers(lines[n].agent_id for n in new),
        "amounts": numbers(lines[n].amount for n in new), "currencies": texts([lines[n].currency for n in new]),
        "split": "{" + ",".join("t" if lines[n].by_policy else "f" for n in new) + "}",
        "policy_keys": numbers(n for n in split for _ in lines[n].by_policy),
        "policies": numbers(policy for n in split for policy, _ in lines[n].by_policy),
        "policy_amounts": numbers(amount for n in split for _, amount in lines[n].by_policy)})
    description = f"commission {period}, settlement {run}"
    return await journal.post_staged(session, [
        journal.StagedEntry(n, branches[lines[n].agent_id], "commission", description, effective_on,
                            f"payable:{run}:{lines[n].agent_id}") for n in new], actor=actor)


async def get(session: AsyncSession, payable_id: int) -> CommissionPayable:
    found = await session.get(CommissionPayable, payable_id)
    if found is None:
        raise NotFound(f"payable {payable_id} does not exist", code="payable_not_found", field="payable_id")
    return found


async def pay(session: AsyncSession, payable_id: int, *, paid_on: date, actor: str) -> CommissionPayable:
    """Finance paid the agent: Dr commission payable / Cr bank, once."""
    payable = await get(session, payable_id)
    if payable.status == "paid":
        raise Conflict(f"payable {payable_id} was paid on {payable.paid_at}", code="payable_already_paid",
                       field="payable_id")
    posted = await journal.post(
        session, branch_id=payable.branch_id, kind="commission_payment", effective_on=paid_on, actor=actor,
        description=f"commission paid: settlement {payable.settlement_run}", source=f"payment:{payable.id}", lines=[
            Line("commission_payable", "debit", payable.amount, payable.currency, agent_id=payable.agent_id),
            Line("bank", "credit", payable.amount, payable.currency, agent_id=payable.agent_id)])
    if posted is None:
        raise Conflict(f"payable {payable_id} was already paid", code="payable_already_paid", field="payable_id")
    values: dict[str, Any] = {"status": "paid", "paid_by": actor, "paid_at": posted.posted_at,
                              "payment_entry_id": posted.entry_id}
    await session.execute(update(CommissionPayable).where(CommissionPayable.id == payable_id).values(**values))
    await session.refresh(payable)
    return payable
