"""Starting the stack the attack tests run against."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from svckit.ops.provision import drop, libpq_url, render
from svckit.ops.services import ALL
from tests.attacks.people import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    INTERNAL_SECRET,
    JWT_SECRET,
    LOGIN_FAILURE_BURST,
    LOGIN_FAILURE_RATE_PER_SECOND,
    PARTNER_BURST,
    PARTNER_RATE_PER_SECOND,
)
from tests.e2e.stack import RunningStack, running_stack


@contextmanager
def attack_stack(pg_admin_dsn: str, data_dir: Path) -> Iterator[RunningStack]:
    """The five processes on a database of their own, dropped afterwards."""
    name, prefix = f"attacks_{secrets.token_hex(4)}", f"x{secrets.token_hex(3)}_"
    env = {
        "DATABASE_URL": render(libpq_url(pg_admin_dsn).set(database=name)), "STACK_ROLE_PREFIX": prefix,
        "GATEWAY_JWT_SECRET": JWT_SECRET, "INTERNAL_TOKEN_SECRET": INTERNAL_SECRET,
        "GATEWAY_ADMIN_USERNAME": ADMIN_USERNAME, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Every request asks org for the caller's scope, so a scope test never sees a cached answer.
        "GATEWAY_SCOPE_CACHE_SECONDS": "0",
        "GATEWAY_PARTNER_RATE_PER_SECOND": str(PARTNER_RATE_PER_SECOND),
        "GATEWAY_PARTNER_RATE_BURST": str(PARTNER_BURST),
        "GATEWAY_LOGIN_FAILURE_RATE_PER_SECOND": str(LOGIN_FAILURE_RATE_PER_SECOND),
        "GATEWAY_LOGIN_FAILURE_BURST": str(LOGIN_FAILURE_BURST),
    }
    try:
        with running_stack(env, data_dir) as running:
            running.wait_healthy(timeout=180)
            yield running
            assert running.stop() == 0, running.text()[-4000:]
    finally:
        asyncio.run(drop(pg_admin_dsn, name, schemas=[s.name for s in ALL], role_prefix=prefix))
