"""A period names a month of the years 1900-2999: year 0 is no date and month arithmetic near the year
9999 overflows, so anything else is the caller's 422 naming the field, never a 500 (found by the
attack tests' schemathesis run: `period=0000-01` answered 500)."""

from __future__ import annotations

import pytest

from svckit.scope import DataScope
from svckit.testing.responses import problem

from .conftest import Stack


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "1899-12", "3000-01"])
async def test_a_period_outside_the_supported_years_is_a_validation_problem(stack: Stack, period: str) -> None:
    finance = stack.as_user(DataScope(everything=True), "finance")
    for response in (
        await stack.performance.get("/v1/month-progress", params={"period": period}, headers=finance),
        await stack.performance.post("/v1/settlements", json={"period": period}, headers=finance),
        await stack.performance.get("/v1/rankings", params={"period": period}, headers=finance),
    ):
        body = problem(response, 422, "validation_failed")
        assert [e["field"] for e in body["errors"]] in (["query.period"], ["period"]), body
