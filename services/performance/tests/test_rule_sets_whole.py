"""Every stored rule-set version says all of its rules itself: none reads a part from the code's
defaults, so changing a default in code cannot change the rules of a closed period."""

from __future__ import annotations

from sqlalchemy import text

from performance_service.rules import parse

from .conftest import Stack


async def test_every_stored_version_holds_every_part(stack: Stack) -> None:
    async with stack.engine.connect() as connection:
        bodies = (await connection.execute(text("SELECT version, body FROM performance.rule_set"))).all()
    assert bodies  # migration 0002's seed at least
    for version, body in bodies:
        # Parsing adds nothing a stored body lacks (before migration 0011 the seed lacked two parts).
        assert set(parse(body).model_dump(mode="json")) == set(body), version
