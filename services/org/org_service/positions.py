"""Writing where agents stand: position versions, the supervisor paths below a moved agent, and
the subtree rollups above it, all maintained in the same transaction (set-based, so a move costs
a handful of statements whatever the size of the subtree).

Only flushes; the request's transaction commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from org_service.models import AgentPosition

# One lock for structural writes: two concurrent moves could otherwise each pass the cycle check
# and together form a cycle. Moves take milliseconds, so serialising them costs little.
HIERARCHY_LOCK = 0x6F7267_0001


async def lock_hierarchy(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HIERARCHY_LOCK})


@dataclass(frozen=True)
class Placement:
    """Where an agent is to stand from a date on."""

    supervisor_id: int | None
    team_id: int | None
    institution_id: int
    rank_code: str
    path: list[int]


async def open_position(session: AsyncSession, agent_id: int) -> AgentPosition | None:
    """The agent's latest, open-ended version (None once they have left)."""
    return (await session.execute(
        select(AgentPosition).where(AgentPosition.agent_id == agent_id, AgentPosition.valid_to.is_(None))
    )).scalar_one_or_none()


async def position_on(session: AsyncSession, agent_id: int, on: date) -> AgentPosition | None:
    return (await session.execute(
        select(AgentPosition).where(
            AgentPosition.agent_id == agent_id, AgentPosition.valid_from <= on,
            (AgentPosition.valid_to.is_(None)) | (AgentPosition.valid_to > on),
        )
    )).scalar_one_or_none()


async def write_version(
    session: AsyncSession, agent_id: int, effective_on: date, placement: Placement, reason: str,
    current: AgentPosition | None,
) -> AgentPosition:
    """Close the open version at `effective_on` and open the new one (a same-day change replaces it);
    returns the version now open."""
    if current is not None and current.valid_from == effective_on:
        current.supervisor_id, current.team_id = placement.supervisor_id, placement.team_id
        current.institution_id, current.rank_code = placement.institution_id, placement.rank_code
        current.path, current.reason = placement.path, reason
        await session.flush()
        return current
    if current is not None:
        current.valid_to = effective_on
    opened = AgentPosition(
        agent_id=agent_id, valid_from=effective_on, valid_to=None, supervisor_id=placement.supervisor_id,
        team_id=placement.team_id, institution_id=placement.institution_id, rank_code=placement.rank_code,
        path=placement.path, reason=reason,
    )
    session.add(opened)
    await session.flush()
    return opened


async def close_version(session: AsyncSession, current: AgentPosition, effective_on: date) -> None:
    """The agent stops standing anywhere from `effective_on` (leaving)."""
    if current.valid_from == effective_on:
        await session.delete(current)
    else:
        current.valid_to = effective_on
    await session.flush()


async def repath_subtree(session: AsyncSession, agent_id: int, old_prefix_len: int, new_prefix: Sequence[int],
                         effective_on: date) -> int:
    """Everyone below `agent_id` gets the new chain above it from `effective_on`; returns how many.

    `old_prefix_len` is the length of the moved agent's old path; below it, a path reads
    old_path + [agent] + rest, and becomes new_path + [agent] + rest. One statement: open versions
    from `effective_on` are rewritten in place, older ones are closed and followed by a new version.
    (Its parts see the same snapshot and touch different rows.)
    """
    params = {"a": agent_id, "d": effective_on, "prefix": list(new_prefix), "cut": old_prefix_len + 2}
    moved = await session.execute(text(
        "WITH same_day AS ("
        "  UPDATE org.agent_position SET path = CAST(:prefix AS bigint[]) || path[:cut : cardinality(path)]"
        "  WHERE valid_to IS NULL AND valid_from = :d AND path @> ARRAY[CAST(:a AS bigint)] RETURNING 1),"
        " closed AS ("
        "  UPDATE org.agent_position SET valid_to = :d"
        "  WHERE valid_to IS NULL AND valid_from < :d AND path @> ARRAY[CAST(:a AS bigint)]"
        "  RETURNING agent_id, supervisor_id, team_id, institution_id, rank_code, path),"
        " opened AS ("
        "  INSERT INTO org.agent_position"
        "   (agent_id, valid_from, valid_to, supervisor_id, team_id, institution_id, rank_code, path, reason)"
        "  SELECT agent_id, :d, NULL, supervisor_id, team_id, institution_id, rank_code,"
        "         CAST(:prefix AS bigint[]) || path[:cut : cardinality(path)], 'supervisor_chain_moved' FROM closed"
        "  RETURNING 1)"
        " SELECT (SELECT count(*) FROM same_day) + (SELECT count(*) FROM opened)"
    ), params)
    return int(moved.scalar_one())


async def headcount_below(session: AsyncSession, agent_id: int, on: date) -> Counter[str]:
    rows = (await session.execute(text(
        "SELECT rank_code, headcount FROM org.subtree_rollup"
        " WHERE agent_id = :a AND valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)"
    ), {"a": agent_id, "d": on})).all()
    return Counter({row.rank_code: row.headcount for row in rows if row.headcount})


async def shift_rollups(session: AsyncSession, deltas: Mapping[tuple[int, str], int], effective_on: date) -> None:
    """Add `delta` to the headcount of (ancestor, rank) from `effective_on` on, in every version.

    Counting is additive, so later versions simply shift by the same amount; the version that
    spans the date is split, and an ancestor without one gets a new version up to its next one.
    """
    changes = [(agent, rank, delta) for (agent, rank), delta in deltas.items() if delta]
    if not changes:
        return
    params = {
        "agents": [a for a, _, _ in changes], "ranks": [r for _, r, _ in changes],
        "deltas": [d for _, _, d in changes], "d": effective_on,
    }
    delta_table = ("SELECT * FROM unnest(CAST(:agents AS bigint[]), CAST(:ranks AS text[]), CAST(:deltas AS int[]))"
                   " AS t(agent_id, rank_code, delta)")
    # One statement, three parts that see the same snapshot and touch different rows: versions from
    # the date shift; a version spanning it is closed there and continued, shifted; a pair without a
    # version on the date gets one, up to its next version (if any).
    await session.execute(text(
        f"WITH t AS ({delta_table}),"  # noqa: S608 - a constant fragment
        " later AS ("
        "  UPDATE org.subtree_rollup s SET headcount = s.headcount + t.delta FROM t"
        "  WHERE s.agent_id = t.agent_id AND s.rank_code = t.rank_code AND s.valid_from >= :d RETURNING 1),"
        " spanning AS ("
        "  SELECT s.agent_id, s.rank_code, s.valid_from, s.valid_to, s.headcount, t.delta"
        "  FROM org.subtree_rollup s JOIN t USING (agent_id, rank_code)"
        "  WHERE s.valid_from < :d AND (s.valid_to IS NULL OR s.valid_to > :d) FOR UPDATE OF s),"
        " closed AS ("
        "  UPDATE org.subtree_rollup s SET valid_to = :d FROM spanning p"
        "  WHERE s.agent_id = p.agent_id AND s.rank_code = p.rank_code AND s.valid_from = p.valid_from RETURNING 1)"
        " INSERT INTO org.subtree_rollup (agent_id, rank_code, valid_from, valid_to, headcount)"
        " SELECT agent_id, rank_code, :d, valid_to, headcount + delta FROM spanning"
        " UNION ALL"
        " SELECT t.agent_id, t.rank_code, :d,"
        "   (SELECT min(n.valid_from) FROM org.subtree_rollup n"
        "     WHERE n.agent_id = t.agent_id AND n.rank_code = t.rank_code AND n.valid_from > :d), t.delta"
        " FROM t WHERE NOT EXISTS (SELECT 1 FROM org.subtree_rollup c WHERE c.agent_id = t.agent_id"
        "   AND c.rank_code = t.rank_code AND c.valid_from <= :d AND (c.valid_to IS NULL OR c.valid_to > :d))"
    ), params)


def arrival(ancestors: Sequence[int], counts: Mapping[str, int], sign: int = 1) -> dict[tuple[int, str], int]:
    """Rollup deltas for `counts` people (by rank) arriving below (sign 1) or leaving (-1) `ancestors`."""
    return {(a, rank): sign * n for a in ancestors for rank, n in counts.items() if n}


def merge_deltas(*parts: Mapping[tuple[int, str], int]) -> dict[tuple[int, str], int]:
    total: Counter[tuple[int, str]] = Counter()
    for part in parts:
        total.update(part)
    return {key: value for key, value in total.items() if value}
