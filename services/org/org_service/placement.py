"""Everything a hire, move or rank change is checked against, read in one statement: the target
institution and team, the supervisor's open position, the rank rules in force, and what stands below
the agent. The checks themselves stay in `agents` and `rules`, in their order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from org_service import rules
from svckit.errors import Unprocessable

# :a the agent, :d the effective date, :i / :t / :s the institution, team and supervisor to check (or NULL).
# Who stands below is asked of open versions only when someone reports to the agent now: every
# open version below the agent passes through one of those reports (paths are kept whole on every
# move), and it spares leaves a search of the path index.
CONTEXT = text(
    "SELECT i.id IS NOT NULL AS institution_found, i.opened_on, i.closed_on,"
    "  t.id IS NOT NULL AS team_found, t.valid_from AS team_from, t.valid_to AS team_to,"
    "  t.institution_id AS team_institution_id,"
    "  EXISTS (SELECT 1 FROM org.agent WHERE id = :s) AS supervisor_found,"
    "  sp.agent_id IS NOT NULL AS supervisor_placed, sp.valid_from AS supervisor_from,"
    "  sp.rank_code AS supervisor_rank, sp.path AS supervisor_path,"
    "  k.codes, k.orders, k.may_report_lower, below.report_ranks,"
    "  CASE WHEN below.report_ranks IS NOT NULL THEN (SELECT max(valid_from) FROM org.agent_position"
    "    WHERE valid_to IS NULL AND path @> ARRAY[CAST(:a AS bigint)]) END AS latest_start_below,"
    "  r.ranks, r.headcounts"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN org.institution i ON i.id = :i"
    " LEFT JOIN org.team t ON t.id = :t"
    " LEFT JOIN org.agent_position sp ON sp.agent_id = :s AND sp.valid_to IS NULL"
    " CROSS JOIN LATERAL (SELECT array_agg(k.code) AS codes, array_agg(k.ladder_order) AS orders,"
    "   array_agg(rr.may_report_to_lower_rank) AS may_report_lower"
    "   FROM org.rank k JOIN org.rank_rule rr ON rr.rank_code = k.code"
    "   WHERE rr.valid_from <= :d AND (rr.valid_to IS NULL OR rr.valid_to > :d)) AS k"
    " CROSS JOIN LATERAL (SELECT array_agg(DISTINCT rank_code) AS report_ranks FROM org.agent_position"
    "   WHERE supervisor_id = :a AND valid_to IS NULL) AS below"
    " CROSS JOIN LATERAL (SELECT array_agg(rank_code) AS ranks, array_agg(headcount) AS headcounts"
    "   FROM org.subtree_rollup WHERE agent_id = :a AND valid_from <= :d"
    "   AND (valid_to IS NULL OR valid_to > :d) AND headcount <> 0) AS r"
)


@dataclass(frozen=True)
class OpenPosition:
    """The supervisor's open version, as far as a placement needs it."""

    valid_from: date
    rank_code: str
    path: list[int]


@dataclass(frozen=True)
class Context:
    on: date
    institution: tuple[date, date | None] | None  # opened_on, closed_on; None: no such institution
    team: tuple[date, date | None, int] | None  # valid_from, valid_to, institution; None: no such team
    supervisor_found: bool
    supervisor: OpenPosition | None  # the supervisor's open version (None: left, or no such agent)
    standings: dict[str, list[rules.RankStanding]]  # the rank rules in force on `on`
    report_ranks: list[str]  # ranks of the agent's direct reports now
    latest_start_below: date | None  # latest start of an open version below the agent
    below: Counter[str]  # headcount by rank below the agent on `on` (rollups)

    def standing(self, rank_code: str, *, field: str) -> rules.RankStanding:
        found = self.standings.get(rank_code, [])
        if not found:
            raise Unprocessable(f"rank {rank_code!r} does not exist or has no rule in force on {self.on}",
                                code="unknown_rank", field=field)
        if len(found) > 1:
            raise RuntimeError(f"rank {rank_code!r} has overlapping rules on {self.on}")
        return found[0]


def _standings(codes: Sequence[str] | None, orders: Sequence[int] | None, may: Sequence[bool] | None,
               ) -> dict[str, list[rules.RankStanding]]:
    standings: dict[str, list[rules.RankStanding]] = {}
    for code, order, lower in zip(codes or [], orders or [], may or [], strict=True):
        standings.setdefault(code, []).append(rules.RankStanding(code, order, lower))
    return standings


async def context(session: AsyncSession, agent_id: int, on: date, *, institution_id: int | None = None,
                  team_id: int | None = None, supervisor_id: int | None = None) -> Context:
    row: Any = (await session.execute(CONTEXT, {"a": agent_id, "d": on, "i": institution_id, "t": team_id,
                                                "s": supervisor_id})).one()
    return Context(
        on=on,
        institution=(row.opened_on, row.closed_on) if row.institution_found else None,
        team=(row.team_from, row.team_to, row.team_institution_id) if row.team_found else None,
        supervisor_found=row.supervisor_found,
        supervisor=OpenPosition(row.supervisor_from, row.supervisor_rank, list(row.supervisor_path))
        if row.supervisor_placed else None,
        standings=_standings(row.codes, row.orders, row.may_report_lower),
        report_ranks=sorted(row.report_ranks or []),
        latest_start_below=row.latest_start_below,
        below=Counter(dict(zip(row.ranks or [], row.headcounts or [], strict=True))),
    )
