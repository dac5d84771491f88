"""Runs under stress: two final runs at once (one is refused), the same inputs twice (the same lines),
a ledger that fails while payables are posted (the run is kept, and completed later, once), and the
seed rule set of the migration is the documented default."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from performance_service.defaults import DEFAULT_RULE_SET
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_lifecycle import clock_at, month_after
from .test_settlement_flow import department, sell, this_month


def test_the_migration_seeds_the_documented_defaults() -> None:
    path = next((Path(__file__).parents[1] / "migrations" / "versions").glob("*_0002_*.py"))
    spec = importlib.util.spec_from_file_location("performance_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.SEED_RULE_SET == DEFAULT_RULE_SET


async def ready(stack: Stack) -> tuple[str, dict[str, int]]:
    c, p = await department(stack)
    period, _ = this_month()
    await sell(stack, c, p["a"], "1000.00")
    await sell(stack, c, p["c"], "2500.00")
    await stack.sync()
    clock_at(stack, month_after(period)[1] + timedelta(days=2))
    return period, p


async def test_two_final_runs_at_once_one_is_refused(stack: Stack) -> None:
    period, _ = await ready(stack)
    ledger = stack.performance_app.state.upstreams.ledger
    real, reached, release = ledger.request, asyncio.Event(), asyncio.Event()

    async def held(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if path == "/v1/receivables/outstanding":
            reached.set()
            await release.wait()  # the first run stays in progress until the second has been answered
        return await real(method, path, **kwargs)

    ledger.request = held
    first = asyncio.create_task(stack.performance.post("/v1/settlements", json={"period": period}))
    await reached.wait()
    assert await count_running(stack, period) == 1
    refused = problem(await stack.performance.post("/v1/settlements", json={"period": period}), 409,
                      "run_in_progress")
    release.set()
    done = ok(await first, 201)
    assert refused["run_id"] == done["id"]
    assert await count_running(stack, period) == 0


async def count_running(stack: Stack, period: str) -> int:
    async with stack.engine.connect() as connection:
        return int((await connection.execute(text(
            "SELECT count(*) FROM performance.settlement_run WHERE period = :p AND status = 'running'"),
            {"p": period})).scalar_one())


async def test_the_same_inputs_give_the_same_lines(stack: Stack) -> None:
    period, _ = await ready(stack)
    body: dict[str, Any] = {"period": period, "mode": "what_if", "rule_set": DEFAULT_RULE_SET}
    one = ok(await stack.performance.post("/v1/settlements", json=body), 201)
    two = ok(await stack.performance.post("/v1/settlements", json=body), 201)
    assert one["fact_upto"] == two["fact_upto"]
    query = ("SELECT agent_id, line_no, kind, rule, amount, base, arithmetic FROM performance.statement_line"
             " WHERE run_id = :r ORDER BY agent_id, line_no")
    async with stack.engine.connect() as connection:
        first = (await connection.execute(text(query), {"r": one["id"]})).all()
        second = (await connection.execute(text(query), {"r": two["id"]})).all()
    assert first
    assert first == second
    assert ok(await stack.performance.get(f"/v1/settlements/{two['id']}/diff", params={"against": one["id"]})) == []


async def test_a_ledger_failure_keeps_the_run_and_posting_completes_it_once(stack: Stack) -> None:
    period, p = await ready(stack)
    ledger = stack.performance_app.state.upstreams.ledger
    real = ledger.request
    failures = {"left": 1}

    async def flaky(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if path.startswith("/v1/payables/") and failures["left"]:
            failures["left"] -= 1
            raise httpx.ConnectError("ledger down")
        return await real(method, path, **kwargs)

    ledger.request = flaky
    refused = problem(await stack.performance.post("/v1/settlements", json={"period": period}), 502,
                      "payables_not_posted")
    assert "ledger did not answer" in refused["detail"]
    runs = ok(await stack.performance.get("/v1/settlements", params={"period": period}))
    stored = runs[0]
    assert (stored["status"], stored["posted"]) == ("completed", False)
    assert ok(await stack.ledger.get("/v1/payables", params={"agent_id": p["a"]}))["items"] == []

    posted = ok(await stack.performance.post(f"/v1/settlements/{stored['id']}/post"))
    assert posted["posted"] is True
    again = ok(await stack.performance.post(f"/v1/settlements/{stored['id']}/post"))
    assert again["posted"] is True
    payables = ok(await stack.ledger.get("/v1/payables", params={"agent_id": p["a"]}))["items"]
    assert [(x["settlement_run"], x["amount"]) for x in payables] == [(stored["id"], "300.0000")]


async def test_stored_results_refuse_to_be_edited(stack: Stack) -> None:
    period, _ = await ready(stack)
    run = ok(await stack.performance.post("/v1/settlements", json={"period": period}), 201)
    for statement in (
        "UPDATE performance.statement_line SET amount = amount + 1 WHERE run_id = :r",
        "DELETE FROM performance.statement_line WHERE run_id = :r",
        "UPDATE performance.run_payable SET net = net + 1 WHERE run_id = :r",
        "DELETE FROM performance.run_payable WHERE run_id = :r",
    ):
        async with stack.engine.connect() as connection:
            with pytest.raises(IntegrityError, match="never edited"):
                await connection.execute(text(statement), {"r": run["id"]})
    # Its posting status may still move (that is how a run is posted).
    async with stack.engine.begin() as connection:
        await connection.execute(text("UPDATE performance.run_payable SET status = status WHERE run_id = :r"),
                                 {"r": run["id"]})
