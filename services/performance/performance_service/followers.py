"""The two feeds performance follows, each applied exactly once (svckit.feed):
- org's: the replica of the organisation (data scope, svckit.directory) and the peer-level teams
  平级 (a nurtured supervisor reaching their nurturer's rank) that nurturing allowances and
  count-back need;
- the ledger's: facts (facts.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import date

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import upstream
from performance_service.facts import SOURCE as LEDGER
from performance_service.facts import FactIngest
from performance_service.models import DIRECTORY, PLATFORM_TABLES, PeerTeam, Recruit
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
