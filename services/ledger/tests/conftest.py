"""The ledger app in-process on the run's database, with the real org app beside it: org's change
feed fills the ledger's copy of the organisation exactly as in production, over ASGI."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ledger_service.app import create_app as create_ledger
from ledger_service.models import DIRECTORY, PLATFORM_TABLES
from ledger_service.settings import LedgerSettings
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
    ledger: httpx.AsyncClient
    secret: str
    follow: Any
    ledger_engine: Any

    def as_user(self, scope: DataScope, *roles: str, user: str | None = None) -> dict[str, str]:
        return internal_headers(self.secret, "ledger", roles=frozenset(roles), scope=scope,
                                user_id=user or f"u-{secrets.token_hex(3)}",
                                institutions=scope.institutions)

    async def sync(self) -> None:
        """Apply org's feed to the ledger's copy until nothing is left (what the background loop does)."""
        await self.follow()


@pytest.fixture
async def stack(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[Stack]:
    org_app = create_org(OrgSettings(database_url=stack_db.dsn("org"), INTERNAL_TOKEN_SECRET=internal_secret))
    # Files of a few lines are applied in parts here, as a bank's million-line file is.
    ledger_app = create_ledger(LedgerSettings(database_url=stack_db.dsn("ledger"),
                                              INTERNAL_TOKEN_SECRET=internal_secret, reconciliation_parts=3,
                                              reconciliation_part_min_lines=2))
    async with running(org_app, "http://org.test") as org, running(ledger_app, "http://ledger.test") as ledger:
        admin = internal_headers(internal_secret, "org", username="hq-admin", roles=frozenset({"admin"}))
        org.headers.update(admin)
        ledger.headers.update(internal_headers(internal_secret, "ledger", username="hq-admin",
                                               roles=frozenset({"admin"})))
        async with org_replica(org_app, ledger_app.state.kit, "ledger", PLATFORM_TABLES, DIRECTORY,
                               internal_secret) as drain:
            yield Stack(org, ledger, internal_secret, drain, ledger_app.state.kit.db.engine)
