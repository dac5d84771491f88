"""App factory of the gateway (run: uvicorn gateway_service.app:create_app --factory)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from gateway_service import partner_api, partner_auth
from gateway_service.api import auth, home, partners, system, users
from gateway_service.api.partner_bank import install_partner_error_handlers, partner_router
from gateway_service.api.proxy import proxy_router, unserved_router
from gateway_service.bodylimit import BodySizeLimitByPrefix
from gateway_service.models import PLATFORM_TABLES, SCHEMA
from gateway_service.openapi import OpenAPICache
from gateway_service.principals import PrincipalCache
from gateway_service.principals import listen_forever as principals_listen_forever
from gateway_service.ratelimit import TokenBuckets
from gateway_service.scopes import ScopeCache
from gateway_service.secretbox import SecretBox
from gateway_service.sessions import TokenPolicy
from gateway_service.settings import GatewaySettings
from gateway_service.state import GatewayState
from gateway_service.tokens import VerifiedTokens
from gateway_service.upstreams import Upstreams
from svckit.app import telemetry, tune_gc
from svckit.db import Database, libpq_dsn
from svckit.errors import install_error_handlers
from svckit.kit import ServiceKit
from svckit.logs import configure_logging
from svckit.metrics import install_metrics
from svckit.middleware import RequestContextMiddleware
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "gateway")
DESCRIPTION = (
    "The public entry of the sales-team backend. Log in at `/api/v1/auth/login`, then send the access "
    "token as `Authorization: Bearer <token>`. Services are reached under `/api/v1/<service>/`. "
    f"The partner bank signs its calls to `{partner_api.PUBLIC_PREFIX}/` instead (see the `{partner_api.TAG}` tag). "
    "Every error is RFC 9457 problem+json with a stable `code`."
)


def create_app(
    settings: GatewaySettings | None = None, database: Database | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build the gateway. Nothing connects here: database and upstream pools open in the lifespan.

    `transports` replaces the network for named services (tests route them to in-process apps).
    """
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway", settings.log_level)
        tune_gc()  # as every service: it holds sessions and tokens in memory, and allocates on every call
        db = database or Database.connect(
            settings.database_url, schema=SCHEMA, pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow, statement_timeout_ms=settings.db_statement_timeout_ms,
            application_name="gateway",
        )
        upstreams = Upstreams(
            settings.upstream_urls(), transports=transports, max_connections=settings.upstream_max_connections,
            pool=settings.upstream_transport,
            timeout=httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        )
        app.state.kit = ServiceKit(
            "gateway", db, PLATFORM_TABLES, settings.internal_token_secret.get_secret_value(), ALEMBIC_INI,
        )
        principals = PrincipalCache(settings.principal_cache_seconds)
        policy = TokenPolicy(settings.jwt_secret.get_secret_value(), settings.access_token_ttl,
                             settings.refresh_token_ttl)
        app.state.gateway = GatewayState(
            settings, policy, upstreams, OpenAPICache(settings.openapi_cache_seconds),
            ScopeCache(settings.scope_cache_seconds), SecretBox(settings.partner_master_key.get_secret_value()),
            TokenBuckets(settings.partner_rate_per_second, settings.partner_rate_burst),
            TokenBuckets(settings.login_failure_rate_per_second, settings.login_failure_burst),
            principals, VerifiedTokens(policy.secret),
        )
        background = [asyncio.create_task(partner_auth.purge_nonces_forever(db, settings.partner_nonce_purge_seconds))]
        if settings.principal_cache_seconds > 0:
            background.append(asyncio.create_task(principals_listen_forever(libpq_dsn(db.engine.url), principals)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await upstreams.aclose()
            if database is None:
                await db.dispose()

    # The stock /openapi.json and /docs are replaced by the merged document (api/system.py).
    app = FastAPI(title="Sales-team API", description=DESCRIPTION, version="0.1.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None, telemetry=telemetry())
    install_error_handlers(app)
    install_partner_error_handlers(app)
    app.add_middleware(BodySizeLimitByPrefix, default_bytes=settings.max_body_bytes,
                       by_prefix={partner_api.PUBLIC_PREFIX + "/": settings.partner_max_body_bytes})
    app.add_middleware(RequestContextMiddleware)
    install_metrics(app, settings.metrics_token, feed=False)  # its own /metrics, for internal scrapers only
    # First: nearly every call is forwarded to a service, and is matched here at once.
    app.include_router(proxy_router(settings.upstream_urls()))
    app.include_router(system.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(partners.router)
    app.include_router(partner_router())
    app.include_router(home.router)
    # Last: its catch-all path must not shadow the gateway's own routes.
    app.include_router(unserved_router(own=[auth.router, users.router, partners.router, home.router]))
    return app
