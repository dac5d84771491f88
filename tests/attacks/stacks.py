"""Starting the stack the attack tests run against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
from tests.e2e.stack import RunningStack, running_stack, throwaway_database


@contextmanager
def attack_stack(pg_admin_dsn: str, data_dir: Path) -> Iterator[RunningStack]:
    """The five processes on a database of their own, dropped afterwards."""
    with throwaway_database(pg_admin_dsn, "attacks") as (dsn, prefix):
        yield from _running(dsn, prefix, data_dir)


def _running(dsn: str, prefix: str, data_dir: Path) -> Iterator[RunningStack]:
    env = {
        "DATABASE_URL": dsn, "STACK_ROLE_PREFIX": prefix,
        "GATEWAY_JWT_SECRET": JWT_SECRET, "INTERNAL_TOKEN_SECRET": INTERNAL_SECRET,
        "GATEWAY_ADMIN_USERNAME": ADMIN_USERNAME, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Every request asks org for the caller's scope, so a scope test never sees a cached answer.
        "GATEWAY_SCOPE_CACHE_SECONDS": "0",
        "GATEWAY_PARTNER_RATE_PER_SECOND": str(PARTNER_RATE_PER_SECOND),
        "GATEWAY_PARTNER_RATE_BURST": str(PARTNER_BURST),
        "GATEWAY_LOGIN_FAILURE_RATE_PER_SECOND": str(LOGIN_FAILURE_RATE_PER_SECOND),
        "GATEWAY_LOGIN_FAILURE_BURST": str(LOGIN_FAILURE_BURST),
    }
    with running_stack(env, data_dir) as running:
        running.wait_healthy(timeout=180)
        yield running
        assert running.stop() == 0, running.text()[-4000:]
