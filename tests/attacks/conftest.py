"""The whole stack as real processes (`python -m svckit.ops.stack run`) on a throw-away database of
its own, shared by every attack test of the package: real HTTP, real services, real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import httpx
import pytest

from svckit.ops.provision import drop, libpq_url, render
from svckit.ops.services import ALL
from tests.attacks.people import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    INTERNAL_SECRET,
    JWT_SECRET,
    PARTNER_BURST,
    PARTNER_RATE_PER_SECOND,
)
from tests.attacks.world import World, build
from tests.e2e.stack import RunningStack, running_stack


@pytest.fixture(scope="package")
def stack(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    name, prefix = f"attacks_{secrets.token_hex(4)}", f"x{secrets.token_hex(3)}_"
    env = {
        "DATABASE_URL": render(libpq_url(pg_admin_dsn).set(database=name)), "STACK_ROLE_PREFIX": prefix,
        "GATEWAY_JWT_SECRET": JWT_SECRET, "INTERNAL_TOKEN_SECRET": INTERNAL_SECRET,
        "GATEWAY_ADMIN_USERNAME": ADMIN_USERNAME, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Every request asks org for the caller's scope, so a scope test never sees a cached answer.
        "GATEWAY_SCOPE_CACHE_SECONDS": "0",
        "GATEWAY_PARTNER_RATE_PER_SECOND": str(PARTNER_RATE_PER_SECOND),
        "GATEWAY_PARTNER_RATE_BURST": str(PARTNER_BURST),
    }
    try:
        with running_stack(env, tmp_path_factory.mktemp("attack-stack")) as running:
            running.wait_healthy(timeout=180)
            yield running
            assert running.stop() == 0, running.text()[-4000:]
    finally:
        asyncio.run(drop(pg_admin_dsn, name, schemas=[s.name for s in ALL], role_prefix=prefix))


@pytest.fixture(scope="package")
def world(stack: RunningStack) -> World:
    """The company every object-level attack aims at (see world.py), built once."""
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        return build(client)
