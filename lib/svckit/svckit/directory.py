"""The organisation as another service needs it for data scope: a local replica of who stands where
today, kept from org's change feed.

A service checks every object it holds against the caller's `DataScope` with its own data (never
by asking org per request). For that it keeps, in its own schema, each agent's supervisor path and
institution chain as of today, and each institution's chain. The replica is refreshed from org:
- an org event about an agent refreshes that agent and everyone below them (a move carries the
  people below), read from org's `/v1/directory` as of today; one call per page of events;
- an event dated in the future is remembered and applied on its day;
- an institution event refreshes the institutions.
Refreshing re-reads org's answer rather than replaying the event, so it is idempotent, and a
late or repeated event can never leave the replica behind org.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from svckit.db import Database
from svckit.errors import NotFound, Unprocessable
from svckit.feed import FeedConsumer
from svckit.http import ServiceClient
from svckit.kit import ServiceKit
from svckit.models import service_metadata
from svckit.outbox import FeedEvent, FeedPage
from svckit.platform_tables import PlatformTables
from svckit.scope import DataScope
from svckit.timeutil import business_date, utcnow

log = logging.getLogger("svckit.directory")
SOURCE = "org"


@dataclass(frozen=True)
class DirectoryTables:
    agents: Table
    institutions: Table
    due: Table

    @property
    def all(self) -> tuple[Table, ...]:
        return (self.agents, self.institutions, self.due)


def directory_tables(metadata: MetaData) -> DirectoryTables:
    agents = Table(
        "org_agent", metadata,
        Column("agent_id", BigInteger, primary_key=True),
        Column("user_id", Text),
        # Supervisors from the top down to the direct supervisor, as of today.
        Column("path", ARRAY(BigInteger), nullable=False),
        Column("institution_id", BigInteger, nullable=False),
        Column("team_id", BigInteger),
        Column("rank_code", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("refreshed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_org_agent_path", "path", postgresql_using="gin"),
        Index("ix_org_agent_user_id", "user_id"),
    )
    institutions = Table(
        "org_institution", metadata,
        Column("institution_id", BigInteger, primary_key=True),
        # HQ down to and including the institution.
        Column("path", ARRAY(BigInteger), nullable=False),
        Column("name", Text, nullable=False),
        Column("refreshed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_org_institution_path", "path", postgresql_using="gin"),
    )
    due = Table(
        "org_refresh_due", metadata,
        Column("agent_id", BigInteger, primary_key=True),
        Column("due_on", Date, primary_key=True),
    )
    return DirectoryTables(agents, institutions, due)


def create_directory_tables_v1(connection: Connection, schema: str) -> None:
    """Create the replica's tables in `schema` (called from a service's migration), with the
    constraint names every service's metadata uses."""
    for table in directory_tables(service_metadata(schema)).all:
        table.create(connection)


def drop_directory_tables_v1(connection: Connection, schema: str) -> None:
    for table in reversed(directory_tables(service_metadata(schema)).all):
        table.drop(connection)


def branch_of(institution_path: Sequence[int]) -> int:
    """The branch 分公司 an institution belongs to: the second level of its chain (HQ is its own)."""
    return int(institution_path[1] if len(institution_path) > 1 else institution_path[0])


def scope_condition(scope: DataScope, tables: DirectoryTables, agent_col: Any,
                    institution_col: Any) -> ColumnElement[bool]:
    """A WHERE condition: rows whose agent (`agent_col`) or institution (`institution_col`) the scope
    allows, judged on today's organisation. One helper, used by every scoped query; `agent_col` is
    None for objects that belong to an institution only."""
    if scope.everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if scope.agent_id is not None and agent_col is not None:  # objects without an owner: institutions only
        clauses.append(agent_col == scope.agent_id)
        if scope.subtree:
            a = tables.agents.alias("scope_agent")  # never correlated with a query's own join of the table
            clauses.append(exists().where(and_(a.c.agent_id == agent_col, a.c.path.contains([scope.agent_id]))))
    if scope.institutions:
        i = tables.institutions.alias("scope_institution")
        clauses.append(exists().where(and_(i.c.institution_id == institution_col,
                                           i.c.path.overlap(sorted(scope.institutions)))))
    return or_(*clauses) if clauses else false()


async def allows(session: AsyncSession, scope: DataScope, tables: DirectoryTables, *, agent_id: int | None,
                 institution_id: int | None) -> bool:
    """Whether the scope allows one object, owned by `agent_id` and booked at `institution_id`."""
    if scope.everything:
        return True
    if scope.agent_id is not None and agent_id == scope.agent_id:
        return True
    query = select(scope_condition(scope, tables, agent_id, institution_id))
    return bool((await session.execute(query)).scalar())


async def agent(session: AsyncSession, tables: DirectoryTables, agent_id: int) -> Any:
    """The replica's row of an agent (with their institution chain), or None."""
    a, i = tables.agents, tables.institutions
    return (await session.execute(
        select(a, i.c.path.label("institution_path")).join(i, i.c.institution_id == a.c.institution_id)
        .where(a.c.agent_id == agent_id)
    )).one_or_none()


async def institution_path(session: AsyncSession, tables: DirectoryTables, institution_id: int) -> list[int] | None:
    i = tables.institutions
    path = (await session.execute(select(i.c.path).where(i.c.institution_id == institution_id))).scalar()
    return list(path) if path is not None else None


class DirectoryReplica:
    """Applies org's change feed to the replica; `handle_page` is the feed consumer's page handler."""

    def __init__(self, tables: DirectoryTables, org: ServiceClient) -> None:
        self.tables, self.org = tables, org

    async def fetch_page(self, after: str | None, limit: int) -> FeedPage:
        response = await self.org.request("GET", "/internal/feed", params={"after": after or "", "limit": limit})
        response.raise_for_status()
        return FeedPage.model_validate(response.json())

    async def apply(self, session: AsyncSession, events: Sequence[FeedEvent]) -> None:
        """Refresh what a page of org events touched: now for what is in force, later for future dates."""
        today = business_date(utcnow())
        agents: set[int] = set()
        institutions = False
        for event in events:
            if event.aggregate_type in {"institution", "team"}:
                institutions = True
            agent_id = event.payload.get("agent_id")
            if event.aggregate_type == "agent" and isinstance(agent_id, int):
                effective = _date(event.payload.get("effective_on"))
                if effective is not None and effective > today:
                    await session.execute(insert(self.tables.due).values(agent_id=agent_id, due_on=effective)
                                          .on_conflict_do_nothing())
                agents.add(agent_id)
        if institutions or agents:
            await self.refresh_institutions(session)
        await self.refresh_agents(session, agents, today)

    async def apply_due(self, session: AsyncSession) -> int:
        """Apply the changes whose day has come; returns how many agents were refreshed."""
        today = business_date(utcnow())
        due = self.tables.due
        ids = (await session.execute(delete(due).where(due.c.due_on <= today).returning(due.c.agent_id))).scalars()
        agents = set(ids)
        await self.refresh_agents(session, agents, today)
        return len(agents)

    async def refresh_agents(self, session: AsyncSession, agent_ids: Iterable[int], on: date) -> None:
        ids = sorted(set(agent_ids))
        if not ids:
            return
        response = await self.org.request("POST", "/v1/directory/agents", json={"agent_ids": ids, "on": on.isoformat()})
        response.raise_for_status()
        rows = response.json()["agents"]
        await self.store_agents(session, rows)

    async def store_agents(self, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
        a = self.tables.agents
        for start in range(0, len(rows), 1000):
            chunk = [{k: row[k] for k in ("agent_id", "user_id", "path", "institution_id", "team_id", "rank_code",
                                          "status")} for row in rows[start:start + 1000]]
            statement = insert(a).values(chunk)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[a.c.agent_id],
                set_={c: statement.excluded[c] for c in ("user_id", "path", "institution_id", "team_id",
                                                          "rank_code", "status")} | {"refreshed_at": func.now()}))

    async def refresh_institutions(self, session: AsyncSession) -> None:
        response = await self.org.request("GET", "/v1/directory/institutions")
        response.raise_for_status()
        rows = response.json()["institutions"]
        i = self.tables.institutions
        for start in range(0, len(rows), 1000):
            statement = insert(i).values([{"institution_id": r["institution_id"], "path": r["path"], "name": r["name"]}
                                          for r in rows[start:start + 1000]])
            await session.execute(statement.on_conflict_do_update(
                index_elements=[i.c.institution_id],
                set_={"path": statement.excluded.path, "name": statement.excluded.name, "refreshed_at": func.now()}))


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def keep_replica(db: Database, platform: PlatformTables, tables: DirectoryTables, org: ServiceClient,
                       stop: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
    """Follow org's change feed into the replica until `stop`; apply future-dated changes on their day."""
    replica = DirectoryReplica(tables, org)
    consumer = FeedConsumer(db, platform, SOURCE, replica.fetch_page, handle_page=replica.apply)
    while not stop.is_set():
        try:
            applied = await consumer.drain(limit=1000)
            async with db.sessionmaker.begin() as session:
                applied += await replica.apply_due(session)
        except Exception:
            log.exception("org directory: refresh failed, will retry")
            applied = 0
        if applied == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle_seconds)


def org_follower(service: str, org_url: str, platform: PlatformTables, tables: DirectoryTables, *,
                 poll_seconds: float = 1.0, transport: httpx.AsyncBaseTransport | None = None,
                 ) -> Callable[[ServiceKit, asyncio.Event], Coroutine[Any, Any, None]]:
    """A service worker (svckit.app) that keeps `service`'s copy of the organisation from org's feed."""

    async def follow(kit: ServiceKit, stop: asyncio.Event) -> None:
        org = ServiceClient(service="org", base_url=org_url, caller_service=service, secret=kit.internal_secret,
                            transport=transport)
        try:
            await keep_replica(kit.db, platform, tables, org, stop, idle_seconds=poll_seconds)
        finally:
            await org.aclose()

    return follow


class Guard:
    """A service's checks of objects against the caller's data scope, on its copy of the organisation.
    Outside the scope answers 404, like an object that does not exist, so ids cannot be probed."""

    def __init__(self, tables: DirectoryTables) -> None:
        self.tables = tables

    def condition(self, scope: DataScope, agent_col: Any, institution_col: Any) -> ColumnElement[bool]:
        """The WHERE condition every scoped list uses."""
        return scope_condition(scope, self.tables, agent_col, institution_col)

    async def require(self, session: AsyncSession, scope: DataScope, *, agent_id: int | None,
                      institution_id: int | None, what: str, object_id: Any, field: str) -> None:
        if not await allows(session, scope, self.tables, agent_id=agent_id, institution_id=institution_id):
            raise NotFound(f"{what} {object_id} does not exist", code=f"{what}_not_found", field=field)

    async def active_agent(self, session: AsyncSession, agent_id: int, *, field: str = "agent_id") -> Any:
        """An agent as the organisation stands today; unknown or departed agents are refused."""
        row = await agent(session, self.tables, agent_id)
        if row is None:
            raise Unprocessable(f"agent {agent_id} is not known to the organisation", code="agent_not_found",
                                field=field)
        if row.status == "left":
            raise Unprocessable(f"agent {agent_id} has left", code="agent_left", field=field)
        return row

    async def agent_or_none(self, session: AsyncSession, agent_id: int) -> Any:
        return await agent(session, self.tables, agent_id)

    async def institution_path(self, session: AsyncSession, institution_id: int, *,
                               field: str = "institution_id") -> list[int]:
        path = await institution_path(session, self.tables, institution_id)
        if path is None:
            raise Unprocessable(f"institution {institution_id} is not known to the organisation",
                                code="institution_not_found", field=field)
        return path
