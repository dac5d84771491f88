"""A settlement run is timed: performance's /metrics counts it in `settlement_duration_seconds`, by mode
and outcome (a refused run is an error, never a success)."""

from __future__ import annotations

from svckit.internal_auth import mint_internal_token
from svckit.testing.metrics import sample
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_lifecycle import month_after
from .test_runs_guarded import ready


async def scrape(stack: Stack) -> str:
    scraper = mint_internal_token(stack.secret, caller_service="monitor", audience="performance")
    response = await stack.performance.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
    assert response.status_code == 200, response.text
    return response.text


def runs(exposition: str, outcome: str) -> tuple[float, float]:
    labels = {"mode": "final", "outcome": outcome}
    return (sample(exposition, "settlement_duration_seconds_count", **labels) or 0.0,
            sample(exposition, "settlement_duration_seconds_sum", **labels) or 0.0)


async def test_each_settlement_run_is_timed_by_mode_and_outcome(stack: Stack) -> None:
    period, _ = await ready(stack)
    before = await scrape(stack)
    ok(await stack.performance.post("/v1/settlements", json={"period": period}), 201)
    unclosed, _ = month_after(period)  # today is in it
    problem(await stack.performance.post("/v1/settlements", json={"period": unclosed}), 422, "period_open")
    after = await scrape(stack)

    (ok_before, ok_seconds_before), (ok_after, ok_seconds_after) = runs(before, "ok"), runs(after, "ok")
    assert ok_after - ok_before == 1
    assert ok_seconds_after > ok_seconds_before
    assert runs(after, "error")[0] - runs(before, "error")[0] == 1
