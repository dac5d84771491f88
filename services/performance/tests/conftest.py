"""Performance in-process on the run's database with the real org and ledger beside it: org's feed
fills the ledger's and performance's copies of the organisation, the ledger's feed fills the facts,
and settlement reads org's snapshot and posts to the ledger, all over ASGI."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ledger_service.app import create_app as create_ledger
from ledger_service.models import DIRECTORY as LEDGER_DIRECTORY
from ledger_service.models import PLATFORM_TABLES as LEDGER_TABLES
from ledger_service.settings import LedgerSettings
from org_service.app import create_app as create_org
from org_service.settings import OrgSettings
from performance_service.app import create_app as create_performance
from performance_service.followers import ledger_consumer, org_consumer
from performance_service.settings import PerformanceSettings
from svckit.directory import DirectoryReplica
from svckit.feed import FeedConsumer
from svckit.http import ServiceClient
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers, running
from svckit.testing.org import Company, company, hire
from svckit.testing.plugin import StackDatabase

__all__ = ["Company", "Stack", "company", "hire"]


@dataclass
class Stack:
    org: httpx.AsyncClient
    ledger: httpx.AsyncClient
    performance: httpx.AsyncClient
    secret: str
    follow: Any
    engine: Any
    performance_app: Any
    feeds: dict[str, Any]
    org_app: Any = None

    def as_user(self, scope: DataScope, *roles: str, user: str | None = None) -> dict[str, str]:
        return internal_headers(self.secret, "performance", roles=frozenset(roles), scope=scope,
                                user_id=user or f"u-{secrets.token_hex(3)}", institutions=scope.institutions)

    def ledger_as(self, scope: DataScope, *roles: str) -> dict[str, str]:
        return internal_headers(self.secret, "ledger", roles=frozenset(roles), scope=scope,
                                user_id=f"u-{secrets.token_hex(3)}", institutions=scope.institutions)

    async def sync(self) -> None:
        """Apply the feeds until nothing is left: org into both copies, then the ledger into facts."""
        await self.follow()


@pytest.fixture
async def stack(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[Stack]:
    org_app = create_org(OrgSettings(database_url=stack_db.dsn("org"), INTERNAL_TOKEN_SECRET=internal_secret))
    ledger_app = create_ledger(LedgerSettings(database_url=stack_db.dsn("ledger"),
                                              INTERNAL_TOKEN_SECRET=internal_secret))
    org_transport, ledger_transport = httpx.ASGITransport(app=org_app), httpx.ASGITransport(app=ledger_app)
    performance_app = create_performance(
        PerformanceSettings(database_url=stack_db.dsn("performance"), INTERNAL_TOKEN_SECRET=internal_secret,
                            org_url="http://org.test", ledger_url="http://ledger.test"),
        org_transport=org_transport, ledger_transport=ledger_transport, follow=False)
    async with running(org_app, "http://org.test") as org, running(ledger_app, "http://ledger.test") as ledger, \
            running(performance_app, "http://performance.test") as performance:
        org.headers.update(internal_headers(internal_secret, "org", username="hq-admin", roles=frozenset({"admin"})))
        ledger.headers.update(internal_headers(internal_secret, "ledger", username="hq-admin",
                                               roles=frozenset({"admin"})))
        performance.headers.update(internal_headers(internal_secret, "performance", username="hq-admin",
                                                    roles=frozenset({"admin"})))
        ledger_kit, kit = ledger_app.state.kit, performance_app.state.kit
        ledger_org = ServiceClient(service="org", base_url="http://org.test", caller_service="ledger",
                                   secret=internal_secret, transport=org_transport)
        replica = DirectoryReplica(LEDGER_DIRECTORY, ledger_org)
        ledger_follows = FeedConsumer(ledger_kit.db, LEDGER_TABLES, "org", replica.fetch_page,
                                      handle_page=replica.apply)
        up = performance_app.state.upstreams
        assert up.org is not None
        assert up.ledger is not None
        org_follows, _ = org_consumer(kit.db, up.org)
        facts_follow = ledger_consumer(kit.db, up.ledger)

        async def follow() -> None:
            await ledger_follows.drain()
            await org_follows.drain()
            await facts_follow.drain()

        feeds = {"ledger_org": ledger_follows, "org": org_follows, "facts": facts_follow}

        try:
            yield Stack(org, ledger, performance, internal_secret, follow, kit.db.engine, performance_app, feeds,
                        org_app)
        finally:
            await ledger_org.aclose()
