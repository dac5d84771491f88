"""What a settlement run reads, set-based: the month's facts at a high-water mark, the balances the last
period left, what earlier runs of the period paid, accepted disputes, the peer-level teams, and the
inputs taken from org and the ledger (stored with the run first, then read back from there)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service.rules import RuleSetBody
from performance_service.settlement import (
    Adjustment,
    Balance,
    CountBackTeam,
    Earned,
    EndedPolicy,
    Inputs,
    Position,
    Recruitment,
)

ENDED = text(
    "SELECT e.agent_id, e.policy_id, p.product_code, e.detail->>'how' AS how, p.issued_on, e.occurred_on AS ended_on,"
    "  array_agg(r.policy_year ORDER BY r.policy_year) FILTER (WHERE r.policy_year IS NOT NULL) AS years,"
    "  array_agg(r.amount ORDER BY r.policy_year) FILTER (WHERE r.policy_year IS NOT NULL) AS amounts"
    " FROM performance.fact e JOIN performance.policy p ON p.policy_id = e.policy_id"
    " LEFT JOIN LATERAL (SELECT f.policy_year, sum(f.amount) AS amount FROM performance.fact f"
    "   WHERE f.policy_id = e.policy_id AND f.kind IN ('received_premium', 'reversal') AND f.period <= :period"
    "     AND f.id <= :upto AND f.currency = :currency GROUP BY f.policy_year) r ON true"
    " WHERE e.period = :period AND e.kind = 'policy_ended' AND e.id <= :upto"
    " GROUP BY e.agent_id, e.policy_id, p.product_code, e.detail->>'how', p.issued_on, e.occurred_on")
# The balances left by the latest settled month before this one (a month not settled carries nothing).
PREVIOUS = text(
    "SELECT rp.agent_id, rp.held, rp.carried FROM performance.run_payable rp"
    " JOIN performance.settlement_run r ON r.id = rp.run_id"
    " WHERE r.mode = 'final' AND r.status = 'completed' AND (rp.held <> 0 OR rp.carried <> 0)"
    "   AND r.period = (SELECT max(period) FROM performance.settlement_run"
    "                   WHERE mode = 'final' AND status = 'completed' AND period < :period)")
PAID_BEFORE = text(
    "SELECT rp.agent_id, sum(rp.net) AS paid FROM performance.run_payable rp"
    " JOIN performance.settlement_run r ON r.id = rp.run_id"
    " WHERE r.period = :period AND r.mode = 'final' AND r.status IN ('completed', 'superseded')"
    " GROUP BY rp.agent_id HAVING sum(rp.net) <> 0")
ADJUSTMENTS = text(
    "SELECT d.id, d.agent_id, d.adjustment, d.finance_note FROM performance.dispute d"
    " JOIN performance.settlement_run r ON r.id = d.run_id"
    " WHERE d.status = 'accepted' AND d.adjustment IS NOT NULL AND d.adjustment <> 0 AND d.currency = :currency"
    "   AND r.period < :period")
ADJUSTMENTS_AGAIN = text(
    "SELECT d.id, d.agent_id, d.adjustment, d.finance_note FROM performance.dispute d"
    " WHERE d.status = 'settled' AND d.settled_in_run = :run")
POSITIONS = text(
    "SELECT a.agent_id, a.supervisor_id, a.rank_code,"
    "  CASE WHEN cardinality(i.path) > 1 THEN i.path[2] ELSE coalesce(i.path[1], 0) END AS branch_id"
    " FROM performance.run_agent a LEFT JOIN performance.org_institution i ON i.institution_id = a.institution_id"
    " WHERE a.run_id = :run ORDER BY cardinality(a.path), a.agent_id")
OUTSTANDING = text("SELECT agent_id, outstanding, overdue FROM performance.run_outstanding"
                   " WHERE run_id = :run AND currency = :currency")
COUNT_BACK = text("SELECT nurturer_id, team_head_id, share, separated FROM performance.run_count_back"
                  " WHERE run_id = :run")
NURTURED = text("SELECT DISTINCT ON (nurtured_agent_id) nurtured_agent_id, nurturer_id FROM performance.peer_team"
                " WHERE peer_on <= :end ORDER BY nurtured_agent_id, peer_on DESC")

# Joiners of the last five years (the longest window a recruiting bonus may have) who have a recruiter.
RECRUITMENTS = text("SELECT agent_id, recruiter_id, joined_on FROM performance.recruit"
                    " WHERE recruiter_id IS NOT NULL AND joined_on <= :end AND joined_on > :end - interval '5 years'")


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


async def _rows(session: AsyncSession, statement: Any, params: dict[str, Any]) -> list[Any]:
    return list((await session.execute(statement, params)).all())


async def read(session: AsyncSession, *, run_id: str, period: str, period_end: date, upto: int, currency: str,
               supersedes: str | None, final: bool) -> tuple[Inputs, list[int]]:
    """The run's inputs (org's and the ledger's already stored with the run), and the disputes it settles."""
    params = {"period": period, "upto": upto, "currency": currency, "run": run_id}
    positions = [Position(r.agent_id, r.supervisor_id, r.rank_code, r.branch_id)
                 for r in await _rows(session, POSITIONS, params)]
    ended = [EndedPolicy(r.agent_id, r.policy_id, r.product_code, r.how or "ended", r.issued_on.isoformat(),
                         r.ended_on.isoformat(), months_between(r.issued_on, r.ended_on),
                         tuple(zip(r.years or [], r.amounts or [], strict=True)))
             for r in await _rows(session, ENDED, params)]
    outstanding = {r.agent_id: (r.outstanding, r.overdue) for r in await _rows(session, OUTSTANDING, params)}
    previous = {r.agent_id: Balance(r.held, r.carried) for r in await _rows(session, PREVIOUS, {"period": period})}
    count_back = [CountBackTeam(r.nurturer_id, r.team_head_id, r.share, r.separated)
                  for r in await _rows(session, COUNT_BACK, params)]
    nurtured = {int(r.nurtured_agent_id): int(r.nurturer_id) for r in await _rows(
        session, NURTURED, {"end": period_end})}
    year, month = int(period[:4]), int(period[5:7])
    recruitments = [Recruitment(int(r.agent_id), int(r.recruiter_id), r.joined_on.isoformat(),
                                (year - r.joined_on.year) * 12 + month - r.joined_on.month + 1,
                                months_between(r.joined_on, period_end))
                    for r in await _rows(session, RECRUITMENTS, {"end": period_end})]
    adjustments: list[Adjustment] = []
    disputes: list[int] = []
    paid: dict[int, Decimal] = defaultdict(Decimal)
    if final:
        rows = await _rows(session, ADJUSTMENTS, params)
        if supersedes is not None:
            rows += await _rows(session, ADJUSTMENTS_AGAIN, {"run": supersedes})
        adjustments = [Adjustment(r.agent_id, r.id, r.adjustment, r.finance_note or "") for r in rows]
        disputes = [r.id for r in rows]
        paid.update({r.agent_id: r.paid for r in await _rows(session, PAID_BEFORE, params)})
    inputs = Inputs(positions, [], ended, outstanding, previous, adjustments, count_back, nurtured, dict(paid),
                    recruitments)
    return inputs, disputes


def rounded_sql(expression: str, rules: RuleSetBody) -> str:
    """The rule set's rounding as SQL (numeric round is half away from zero, as ROUND_HALF_UP)."""
    places, mode = int(rules.rounding.places), rules.rounding.mode
    if mode == "half_up":
        return f"round({expression}, {places})"
    if mode == "down":
        return f"trunc({expression}, {places})"
    scale = "1" + "0" * places  # 10^places, an exact numeric
    scaled = f"(({expression}) * {scale})"
    if mode == "up":
        return f"round(sign({scaled}) * ceil(abs({scaled})) / {scale}, {places})"
    return (f"round((CASE WHEN abs({scaled} - trunc({scaled})) = 0.5 AND mod(trunc({scaled}), 2) = 0"
            f" THEN trunc({scaled}) ELSE round({scaled}) END) / {scale}, {places})")


def commission_statements(rules: RuleSetBody) -> tuple[Any, Any]:
    """Commission lines computed set-based straight into the run's statement (the arithmetic of
    settlement.commission, its base in typed columns), then summed per agent."""
    amount = rounded_sql("s.amount * s.rate", rules)
    write = text(
        # The rounding expression is built from the validated rule (an int and an enum), never from input.
        "INSERT INTO performance.statement_line (run_id, agent_id, line_no, kind, rule, currency, amount,"  # noqa: S608
        "   product_code, policy_year, premium, facts, rate)"
        " WITH rates AS (SELECT * FROM unnest(CAST(:products AS text[]), CAST(:froms AS int[]),"
        "    CAST(:tos AS int[]), CAST(:rates AS numeric[])) AS r(product_code, year_from, year_to, rate)),"
        " sums AS (SELECT agent_id, coalesce(product_code, '') AS product_code,"
        "    coalesce(policy_year, 1) AS policy_year, sum(amount) AS amount, count(*) AS facts FROM performance.fact"
        "  WHERE period = :period AND id <= :upto AND currency = :currency AND kind IN ('received_premium', 'reversal')"
        "  GROUP BY 1, 2, 3),"
        # The rates tile each product's years (rules.Commission), so each join finds one rate at most.
        " rated AS (SELECT f.*, coalesce(p.rate, a.rate) AS rate FROM sums f"
        "    LEFT JOIN rates p ON p.product_code = f.product_code AND f.policy_year BETWEEN p.year_from AND p.year_to"
        "    LEFT JOIN rates a ON a.product_code = '*' AND f.policy_year BETWEEN a.year_from AND a.year_to)"
        " SELECT :run, s.agent_id,"
        "    row_number() OVER (PARTITION BY s.agent_id ORDER BY s.product_code COLLATE \"C\", s.policy_year),"
        f"   'commission', 'commission', :currency, coalesce({amount}, 0), s.product_code, s.policy_year, s.amount,"
        "    s.facts, s.rate"
        "  FROM rated s")
    totals = text(
        "SELECT agent_id, sum(amount) AS total, coalesce(sum(amount) FILTER (WHERE policy_year = 1), 0) AS fyc,"
        "  count(*) AS lines FROM performance.statement_line WHERE run_id = :run AND kind = 'commission'"
        " GROUP BY agent_id")
    return write, totals


async def write_commission(session: AsyncSession, rules: RuleSetBody, *, run_id: str, period: str, upto: int
                           ) -> dict[int, Earned]:
    rates = rules.commission.rates
    write, totals = commission_statements(rules)
    await session.execute(write, {
        "run": run_id, "period": period, "upto": upto, "currency": rules.currency,
        "products": [r.product_code for r in rates], "froms": [r.year_from for r in rates],
        "tos": [r.year_to if r.year_to is not None else 2**31 - 1 for r in rates],
        "rates": [r.rate for r in rates]})
    exact = rules.rounding.apply  # sums of lines rounded to the rule's places, shown at those places
    return {r.agent_id: Earned(exact(r.total), exact(r.fyc), r.lines)
            for r in await session.execute(totals, {"run": run_id})}
