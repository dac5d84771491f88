"""The activity app in-process on the run's database, with the real org app beside it: org's change
feed fills activity's copy of the organisation exactly as in production, over ASGI."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from activity_service.app import create_app as create_activity
from activity_service.models import DIRECTORY, PLATFORM_TABLES
from activity_service.settings import ActivitySettings
from org_service.app import create_app as create_org
from org_service.settings import OrgSettings
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers, running
from svckit.testing.org import Company, company, hire, org_replica
from svckit.testing.plugin import StackDatabase

__all__ = ["Company", "Stack", "company", "hire"]


@dataclass
class Stack:
    org: httpx.AsyncClient
    activity: httpx.AsyncClient
    secret: str
    drain: Callable[[], Awaitable[int]]

    def as_user(self, scope: DataScope, *roles: str, user: str | None = None) -> dict[str, str]:
        return internal_headers(self.secret, "activity", roles=frozenset(roles), scope=scope,
                                user_id=user or f"u-{secrets.token_hex(3)}", institutions=scope.institutions)

    def agent(self, agent_id: int, *, supervisor: bool = False) -> dict[str, str]:
        roles = ("agent", "supervisor") if supervisor else ("agent",)
        return self.as_user(DataScope(agent_id=agent_id, subtree=supervisor), *roles, user=f"user-{agent_id}")

    async def sync(self) -> None:
        """Apply org's feed to activity's copy until nothing is left (what the background loop does)."""
        await self.drain()


@pytest.fixture
async def stack(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[Stack]:
    org_app = create_org(OrgSettings(database_url=stack_db.dsn("org"), INTERNAL_TOKEN_SECRET=internal_secret))
    activity_app = create_activity(
        ActivitySettings(database_url=stack_db.dsn("activity"), INTERNAL_TOKEN_SECRET=internal_secret,
                         org_url="http://org.test"),
        org_transport=httpx.ASGITransport(app=org_app), start_workers=False)
    async with running(org_app, "http://org.test") as org, running(activity_app, "http://activity.test") as activity:
        org.headers.update(internal_headers(internal_secret, "org", username="hq-admin", roles=frozenset({"admin"})))
        async with org_replica(org_app, activity_app.state.kit, "activity", PLATFORM_TABLES, DIRECTORY,
                               internal_secret) as drain:
            yield Stack(org, activity, internal_secret, drain)
