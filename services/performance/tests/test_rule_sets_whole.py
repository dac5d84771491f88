"""Every stored rule-set version says all of its rules itself: none reads a part, or a setting inside
a part, from the code's defaults, so changing a default in code cannot change the rules of a closed
period."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from performance_service.rules import parse

from .conftest import Stack


def unstated(stored: Any, parsed: Any, where: str = "body") -> list[str]:
    """Where `parsed` holds a key that `stored` does not state (what parsing took from the code)."""
    if isinstance(parsed, dict):
        if not isinstance(stored, dict):
            return [where]
        found: list[str] = []
        for key, value in parsed.items():
            inner = f"{where}.{key}"
            found += [inner] if key not in stored else unstated(stored[key], value, inner)
        return found
    if isinstance(parsed, list) and isinstance(stored, list):
        return [missing for n, (s, p) in enumerate(zip(stored, parsed, strict=True))
                for missing in unstated(s, p, f"{where}[{n}]")]
    return []


def test_unstated_finds_a_nested_setting_left_out() -> None:
    parsed = {"a": [{"x": 1, "y": None}], "b": {"c": 2}}
    assert unstated({"a": [{"x": 1}], "b": {"c": 2}}, parsed) == ["body.a[0].y"]
    assert unstated({"a": [{"x": 1, "y": None}]}, parsed) == ["body.b"]
    assert unstated({"a": [{"x": 1, "y": None}], "b": {"c": 2}}, parsed) == []


async def test_every_stored_version_states_every_setting(stack: Stack) -> None:
    async with stack.engine.connect() as connection:
        bodies = (await connection.execute(text("SELECT version, body FROM performance.rule_set"))).all()
    assert bodies  # migration 0002's seed at least
    for version, body in bodies:
        # Parsing adds nothing a stored body lacks (before migrations 0011 and 0012 the seed lacked two
        # parts, a management allowance's count_back and its rank conditions' unset thresholds).
        assert unstated(body, parse(body).model_dump(mode="json")) == [], version
