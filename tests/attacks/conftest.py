"""The whole stack as real processes (`python -m svckit.ops.stack run`) on a throw-away database of
its own, shared by every attack test of the package: real HTTP, real services, real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.attacks.stacks import attack_stack
from tests.attacks.world import World, build
from tests.e2e.stack import RunningStack


@pytest.fixture(scope="package")
def stack(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with attack_stack(pg_admin_dsn, tmp_path_factory.mktemp("attack-stack")) as running:
        yield running


@pytest.fixture(scope="package")
def world(stack: RunningStack) -> World:
    """The company every object-level attack aims at (see world.py), built once."""
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        return build(client)
