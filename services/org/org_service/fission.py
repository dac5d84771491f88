"""Fission 裂变 and bloodline protection: what happens when a nurtured supervisor reaches their
nurturer's rank, and which separated teams count back 回算 to a nurturer in an assessment period.

The rules are an effective-dated policy; each separation keeps the version it happened under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from org_service import positions, rules
from org_service.models import PLATFORM_TABLES, AgentLineage, FissionPolicy, TeamSeparation
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.outbox import append_event

Assessment = Literal["promotion", "maintenance"]


async def policy_on(session: AsyncSession, on: date) -> FissionPolicy:
    policy = (await session.execute(select(FissionPolicy).where(
        FissionPolicy.valid_from <= on, (FissionPolicy.valid_to.is_(None)) | (FissionPolicy.valid_to > on),
    ))).scalar_one_or_none()
    if policy is None:
        raise Unprocessable(f"no fission policy is in force on {on}", code="no_fission_policy", field="on")
    return policy


async def set_policy(session: AsyncSession, actor: str, valid_from: date, values: dict[str, Any]) -> FissionPolicy:
    """A new policy version from `valid_from`; the one in force ends there. Never before it began."""
    current = (await session.execute(select(FissionPolicy).where(FissionPolicy.valid_to.is_(None))
                                     .with_for_update())).scalar_one_or_none()
    if current is not None:
        rules.not_before_history(valid_from, current.valid_from, what="the fission policy")
        if current.valid_from == valid_from:
            raise Conflict(f"a policy version already starts on {valid_from}", code="policy_version_exists",
                           field="valid_from")
        current.valid_to = valid_from
        await session.flush()
    policy = FissionPolicy(valid_from=valid_from, recorded_by=actor, **values)
    session.add(policy)
    await session.flush()
    return policy


async def on_rank_change(session: AsyncSession, move_agent: Any, agent_id: int, rank_code: str,
                         effective_on: date) -> TeamSeparation | None:
    """After a rank change: if the agent now holds their nurturer's rank, apply the policy in force.

    `move_agent(agent_id, supervisor_id, effective_on)` moves the separating team; passed in so this
    module does not depend on the module that calls it.
    """
    # The nurturer, where they stand on the date, and whether that is the agent's new rung: one statement.
    nurturer = (await session.execute(text(
        "SELECT l.sponsor_id AS nurturer_id, np.agent_id IS NOT NULL AS placed, np.supervisor_id,"
        "  nk.ladder_order = mk.ladder_order AS peer"
        " FROM org.agent_lineage l"
        " LEFT JOIN org.agent_position np ON np.agent_id = l.sponsor_id AND np.valid_from <= :d"
        "   AND (np.valid_to IS NULL OR np.valid_to > :d)"
        " LEFT JOIN org.rank nk ON nk.code = np.rank_code"
        " LEFT JOIN org.rank mk ON mk.code = :rank"
        " WHERE l.agent_id = :a AND l.kind = 'nurturer'"
    ), {"a": agent_id, "d": effective_on, "rank": rank_code})).one_or_none()
    if nurturer is None or not nurturer.placed or not nurturer.peer:
        return None
    nurturer_id = int(nurturer.nurturer_id)
    open_record = (await session.execute(select(TeamSeparation).where(
        TeamSeparation.nurtured_agent_id == agent_id, TeamSeparation.nurturer_id == nurturer_id,
        TeamSeparation.returned_on.is_(None)))).scalar_one_or_none()
    if open_record is not None:
        return None
    policy = await policy_on(session, effective_on)
    current = await positions.open_position(session, agent_id)
    below_nurturer = current is not None and nurturer_id in current.path
    separated = policy.separate_on_peer_level and below_nurturer
    if separated:
        # The team leaves the nurturer's line and stands beside it, under the nurturer's supervisor.
        await move_agent(agent_id, nurturer.supervisor_id, effective_on)
    record = TeamSeparation(nurtured_agent_id=agent_id, nurturer_id=nurturer_id, peer_on=effective_on,
                            separated=separated, policy_valid_from=policy.valid_from)
    session.add(record)
    await session.flush()
    await append_event(session, PLATFORM_TABLES, event_type="team.peer_level_reached", aggregate_type="agent",
                       aggregate_id=str(agent_id), payload={
                           "agent_id": agent_id, "nurturer_id": nurturer_id, "effective_on": effective_on.isoformat(),
                           "separated": separated, "policy_style": policy.style})
    return record


async def return_team(session: AsyncSession, separation_id: int, effective_on: date, move_agent: Any,
                      ) -> TeamSeparation:
    """A separated team returns under its nurturer (分离可回归), where the policy it separated under allows."""
    record = await session.get(TeamSeparation, separation_id, with_for_update=True)
    if record is None:
        raise NotFound(f"separation {separation_id} does not exist", code="separation_not_found")
    policy = await session.get(FissionPolicy, record.policy_valid_from)
    if not record.separated or policy is None or not policy.may_return:
        raise Conflict("under the policy it separated under, this team may not return", code="return_not_allowed")
    if record.returned_on is not None:
        raise Conflict(f"the team returned on {record.returned_on}", code="already_returned")
    rules.dates_in_order(record.peer_on, effective_on, field="effective_on")
    await move_agent(record.nurtured_agent_id, record.nurturer_id, effective_on)
    record.returned_on = effective_on
    await session.flush()
    return record


@dataclass(frozen=True)
class CountBack:
    separation_id: int
    team_head_id: int
    nurturer_id: int
    generation: int
    peer_on: date
    separated: bool
    reason: Literal["first_periods", "protection_period"]
    share: Decimal
    headcount_by_rank: dict[str, int]


def counts_back(policy: FissionPolicy, *, peer_on: date, returned_on: date | None, period_start: date,
                assessment: Assessment, generation: int) -> Literal["first_periods", "protection_period"] | None:
    """The rule itself, without a database: does a peer-level team count back for this period, and why."""
    if generation > 1 and not policy.counts_indirect:
        return None
    if not (policy.count_back_for_promotion if assessment == "promotion" else policy.count_back_for_maintenance):
        return None
    if period_start < peer_on or (returned_on is not None and returned_on <= period_start):
        return None
    if period_start < rules.add_months(peer_on, policy.count_back_periods * policy.assessment_period_months):
        return "first_periods"
    if period_start < rules.add_months(peer_on, policy.protection_months):
        return "protection_period"
    return None


async def count_back(session: AsyncSession, nurturer_id: int, period_start: date, period_end: date,
                     assessment: Assessment) -> list[CountBack]:
    """Which peer-level teams count back to `nurturer_id` in the period, at what share (for performance)."""
    rules.dates_in_order(period_start, period_end, field="period_end")
    nurtured: dict[int, int] = {}  # nurturer in the line -> generation of the teams they produced
    frontier, generation = [nurturer_id], 1
    while frontier and generation <= 20:
        for sponsor in frontier:
            nurtured.setdefault(sponsor, generation)
        frontier = list((await session.execute(select(AgentLineage.agent_id).where(
            AgentLineage.kind == "nurturer", AgentLineage.sponsor_id.in_(frontier)))).scalars())
        frontier = [a for a in frontier if a not in nurtured]
        generation += 1
    records = (await session.execute(select(TeamSeparation, FissionPolicy).join(
        FissionPolicy, FissionPolicy.valid_from == TeamSeparation.policy_valid_from).where(
        TeamSeparation.nurturer_id.in_(list(nurtured))))).all()
    answer: list[CountBack] = []
    for record, policy in records:
        gen = nurtured[record.nurturer_id]
        reason = counts_back(policy, peer_on=record.peer_on, returned_on=record.returned_on,
                             period_start=period_start, assessment=assessment, generation=gen)
        if reason is None:
            continue
        counts = dict(await positions.headcount_below(session, record.nurtured_agent_id, period_end))
        on_end = await positions.position_on(session, record.nurtured_agent_id, period_end)
        if on_end is not None:
            counts[on_end.rank_code] = counts.get(on_end.rank_code, 0) + 1
        answer.append(CountBack(record.id, record.nurtured_agent_id, record.nurturer_id, gen, record.peer_on,
                                record.separated, reason, policy.count_back_share, counts))
    return sorted(answer, key=lambda c: (c.generation, c.peer_on, c.team_head_id))
