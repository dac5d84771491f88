"""The whole stack in-process: the four services on their own schemas, the gateway routed to them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from activity_service.app import create_app as activity_app
from activity_service.settings import ActivitySettings
from gateway_service import accounts
from gateway_service.app import create_app
from gateway_service.models import SCHEMA
from gateway_service.roles import Role
from gateway_service.settings import GatewaySettings
from gateway_service.testing import Account, GatewayFactory, Login, UserFactory
from gateway_service.testing import login as login_through_gateway
from ledger_service.app import create_app as ledger_app
from ledger_service.settings import LedgerSettings
from org_service.app import create_app as org_app
from org_service.settings import OrgSettings
from performance_service.app import create_app as performance_app
from performance_service.settings import PerformanceSettings
from svckit.db import Database
from svckit.testing.asgi import running
from svckit.testing.plugin import StackDatabase

SERVICE_FACTORIES: dict[str, tuple[Callable[[Any], FastAPI], type[Any]]] = {
    "org": (org_app, OrgSettings),
    "performance": (performance_app, PerformanceSettings),
    "activity": (activity_app, ActivitySettings),
    "ledger": (ledger_app, LedgerSettings),
}


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
async def service_apps(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[dict[str, FastAPI]]:
    """Each service app with its lifespan running, on its own role and schema."""
    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        for name, (factory, settings_class) in SERVICE_FACTORIES.items():
            app = factory(settings_class(database_url=stack_db.dsn(name), INTERNAL_TOKEN_SECRET=internal_secret))
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps[name] = app
        yield apps


@pytest.fixture
def service_transports(service_apps: dict[str, FastAPI]) -> dict[str, httpx.AsyncBaseTransport]:
    return {name: httpx.ASGITransport(app=app) for name, app in service_apps.items()}


@pytest.fixture(scope="session")
def partner_master_key() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture
def gateway_settings(
    stack_db: StackDatabase, internal_secret: str, jwt_secret: str, partner_master_key: str,
) -> Callable[..., GatewaySettings]:
    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "database_url": stack_db.dsn("gateway"), "INTERNAL_TOKEN_SECRET": internal_secret,
            "jwt_secret": jwt_secret, "partner_master_key": partner_master_key, "admin_password": None, **overrides,
        }
        return GatewaySettings(**values)

    return make


@pytest.fixture
def start_gateway(
    gateway_settings: Callable[..., GatewaySettings], service_transports: dict[str, httpx.AsyncBaseTransport],
) -> GatewayFactory:
    """A gateway with custom settings or transports (defaults: every service in-process)."""

    @asynccontextmanager
    async def start(
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None, **settings: Any,
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(gateway_settings(**settings), transports=service_transports if transports is None
                         else transports)
        async with running(app, base_url="http://gateway.test") as client:
            yield client

    return start


@pytest.fixture
async def gateway(start_gateway: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway() as client:
        yield client


@pytest.fixture(scope="session")
async def gateway_db(stack_db: StackDatabase) -> AsyncIterator[Database]:
    db = Database.connect(stack_db.dsn("gateway"), schema=SCHEMA)
    yield db
    await db.dispose()


@pytest.fixture
def make_user(gateway_db: Database) -> UserFactory:
    """Create a user with a unique name straight through the accounts module (no HTTP)."""

    async def make(*roles: Role, password: str | None = None) -> Account:
        username, password = f"user-{secrets.token_hex(6)}", password or secrets.token_urlsafe(16)
        async with gateway_db.sessionmaker.begin() as session:
            user = await accounts.create_user(session, username=username, password=password,
                                              roles=roles or (Role.AGENT,))
        return Account(str(user.id), user.username, password, list(user.roles))

    return make


@pytest.fixture
def login() -> Login:
    return login_through_gateway
