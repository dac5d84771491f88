"""The feeds performance follows, each applied exactly once (svckit.feed):
- org's: the replica of the organisation (data scope, svckit.directory) and the peer-level teams
  平级 (a nurtured supervisor reaching their nurturer's rank) that nurturing allowances and
  count-back need;
- the ledger's: facts (facts.py);
- activity's: each agent's days in numbers (the activity counts of KPI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import upstream
from performance_service.facts import SOURCE as LEDGER
from performance_service.facts import FactIngest
from performance_service.models import DIRECTORY, PLATFORM_TABLES, ActivityDay, PeerTeam, Recruit
from svckit.app import Worker
from svckit.db import Database
from svckit.directory import SOURCE as ORG
from svckit.directory import DirectoryReplica
from svckit.feed import FeedConsumer
from svckit.http import ServiceClient
from svckit.kit import ServiceKit
from svckit.outbox import FeedEvent, FeedPage

log = logging.getLogger("performance.followers")


class OrgFollower:
    def __init__(self, org: ServiceClient) -> None:
        self.replica = DirectoryReplica(DIRECTORY, org)

    async def apply(self, session: AsyncSession, events: Sequence[FeedEvent]) -> None:
        await self.replica.apply(session, events)
        for event in events:
            if event.type == "agent.joined":
                p = event.payload
                await session.execute(insert(Recruit).values(
                    agent_id=int(p["agent_id"]), team_id=p.get("team_id"), institution_id=int(p["institution_id"]),
                    supervisor_id=p.get("supervisor_id"), joined_on=date.fromisoformat(p["effective_on"]),
                    recruiter_id=p.get("recruiter_id"), nurturer_id=p.get("nurturer_id"),
                ).on_conflict_do_nothing())
            if event.type == "team.peer_level_reached":
                p = event.payload
                await session.execute(insert(PeerTeam).values(
                    nurtured_agent_id=int(p["agent_id"]), nurturer_id=int(p["nurturer_id"]),
                    peer_on=date.fromisoformat(p["effective_on"]), separated=bool(p["separated"]),
                    policy_style=str(p.get("policy_style") or "")).on_conflict_do_nothing())


def org_consumer(db: Database, org: ServiceClient) -> tuple[FeedConsumer, OrgFollower]:
    follower = OrgFollower(org)
    return FeedConsumer(db, PLATFORM_TABLES, ORG, follower.replica.fetch_page, handle_page=follower.apply), follower


def ledger_consumer(db: Database, ledger: ServiceClient) -> FeedConsumer:
    async def fetch(after: str | None, limit: int) -> FeedPage:
        return await upstream.feed_page(ledger, after, limit)

    return FeedConsumer(db, PLATFORM_TABLES, LEDGER, fetch, handle_page=FactIngest().handle_page)


def follow_org(org: ServiceClient, idle_seconds: float) -> Worker:
    async def run(kit: ServiceKit, stop: asyncio.Event) -> None:
        consumer, follower = org_consumer(kit.db, org)
        while not stop.is_set():
            try:
                applied = await consumer.drain(limit=1000)
                async with kit.db.sessionmaker.begin() as session:
                    applied += await follower.replica.apply_due(session)
            except Exception:
                log.exception("org feed: page failed, will retry")
                applied = 0
            if applied == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)

    return run


def follow_ledger(ledger: ServiceClient, idle_seconds: float) -> Worker:
    async def run(kit: ServiceKit, stop: asyncio.Event) -> None:
        await ledger_consumer(kit.db, ledger).run(stop, idle_seconds=idle_seconds, limit=1000)

    return run


ACTIVITY = "activity"


async def apply_activity_days(session: AsyncSession, events: Sequence[FeedEvent]) -> None:
    """Keep each agent's day as activity last announced it. An event older than the one kept (by
    event id: activity writes a day's events in the order the day changed) changes nothing."""
    latest: dict[tuple[int, str], FeedEvent] = {}
    for event in events:
        if event.type == "activity.day_counted":
            latest[(int(event.payload["agent_id"]), str(event.payload["day"]))] = event
    if not latest:
        return
    rows = [{"agent_id": agent_id, "day": date.fromisoformat(day), "institution_id": int(e.payload["institution_id"]),
             "counts": {str(k): int(v) for k, v in dict(e.payload["counts"]).items()},
             "visits": int(e.payload["visits"]), "event_id": e.id} for (agent_id, day), e in latest.items()]
    statement = insert(ActivityDay).values(rows)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[ActivityDay.agent_id, ActivityDay.day],
        set_={"institution_id": statement.excluded.institution_id, "counts": statement.excluded.counts,
              "visits": statement.excluded.visits, "event_id": statement.excluded.event_id,
              "updated_at": func.now()},
        where=ActivityDay.event_id < statement.excluded.event_id))


def activity_consumer(db: Database, activity: ServiceClient) -> FeedConsumer:
    async def fetch(after: str | None, limit: int) -> FeedPage:
        response = await activity.request("GET", "/internal/feed", params={"after": after or "", "limit": limit})
        response.raise_for_status()
        return FeedPage.model_validate(response.json())

    return FeedConsumer(db, PLATFORM_TABLES, ACTIVITY, fetch, handle_page=apply_activity_days)


def follow_activity(activity: ServiceClient, idle_seconds: float) -> Worker:
    async def run(kit: ServiceKit, stop: asyncio.Event) -> None:
        try:
            await activity_consumer(kit.db, activity).run(stop, idle_seconds=idle_seconds, limit=1000)
        finally:
            await activity.aclose()

    return run
