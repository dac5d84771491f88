"""A run whose posting broke off half way (the ledger took some chunks, then the process or the ledger
went away) and the month settled again instead of completing it: the new run first posts what the
earlier one left, then pays only the difference, so every agent is paid once, in full. A run a dead
process left `running` is marked failed when the service starts again, unless a live one holds it."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from performance_service.app import create_app
from performance_service.runs import ABANDONED
from performance_service.settings import PerformanceSettings
from svckit.testing.asgi import running
from svckit.testing.plugin import StackDatabase
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_runs_guarded import ready

D = Decimal


async def payables_of(stack: Stack, agent: int) -> list[tuple[str, Decimal]]:
    items = ok(await stack.ledger.get("/v1/payables", params={"agent_id": agent}))["items"]
    return sorted((x["settlement_run"], D(x["amount"])) for x in items)


async def test_a_rerun_after_a_half_posted_run_pays_every_agent_once(stack: Stack) -> None:
    period, p = await ready(stack)
    app = stack.performance_app
    app.state.settings = app.state.settings.model_copy(update={"payables_chunk": 1, "payables_concurrency": 1})
    ledger = app.state.upstreams.ledger
    real = ledger.request
    calls = {"payables": 0}

    async def second_chunk_fails(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if path.startswith("/v1/payables/"):
            calls["payables"] += 1
            if calls["payables"] == 2:
                raise httpx.ConnectError("ledger went away")
        return await real(method, path, **kwargs)

    ledger.request = second_chunk_fails
    problem(await stack.performance.post("/v1/settlements", json={"period": period}), 502, "payables_not_posted")
    first = ok(await stack.performance.get("/v1/settlements", params={"period": period}))[0]  # newest first
    assert (first["status"], first["posted"], first["totals"]["agents_paid"]) == ("completed", False, 3)
    paid_now = [await payables_of(stack, agent) for agent in p.values()]
    assert sum(len(x) for x in paid_now) == 2  # the second of three chunks never reached the ledger

    # Settled again rather than completed: the earlier run's payables go first, then the difference (none).
    again = ok(await stack.performance.post("/v1/settlements", json={"period": period}), 201)
    assert (again["supersedes"], again["totals"]["gross"], D(again["totals"]["net"])) == (
        first["id"], first["totals"]["gross"], D(0))
    assert ok(await stack.performance.get(f"/v1/settlements/{first['id']}"))["posted"] is True
    for agent in p.values():
        statement = await stack.performance.get(f"/v1/statements/{agent}", params={"run_id": first["id"]})
        net = D(ok(statement)["net"]) if statement.status_code != 404 else D(0)  # 404: nothing earned
        assert await payables_of(stack, agent) == ([(first["id"], net)] if net > 0 else []), agent
    assert ok(await stack.performance.post(f"/v1/settlements/{first['id']}/post"))["posted"] is True
    assert await payables_of(stack, p["a"]) == [(first["id"], D("300.00"))]


async def test_a_rerun_waits_while_the_ledger_cannot_take_the_earlier_runs_payables(stack: Stack) -> None:
    period, p = await ready(stack)
    ledger = stack.performance_app.state.upstreams.ledger
    real = ledger.request
    ledger_up = {"yes": False}

    async def down_for_payables(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if path.startswith("/v1/payables/") and not ledger_up["yes"]:
            raise httpx.ConnectError("ledger down")
        return await real(method, path, **kwargs)

    ledger.request = down_for_payables
    problem(await stack.performance.post("/v1/settlements", json={"period": period}), 502, "payables_not_posted")
    first = ok(await stack.performance.get("/v1/settlements", params={"period": period}))[0]  # newest first
    refused = problem(await stack.performance.post("/v1/settlements", json={"period": period}), 502,
                      "payables_not_posted")
    assert refused["run_id"] == first["id"]
    newest = ok(await stack.performance.get("/v1/settlements", params={"period": period}))[0]
    assert newest["id"] == first["id"]  # no new run was started

    ledger_up["yes"] = True
    again = ok(await stack.performance.post("/v1/settlements", json={"period": period}), 201)
    assert again["supersedes"] == first["id"]
    assert await payables_of(stack, p["a"]) == [(first["id"], D("300.00"))]


RUN_STATE = text("SELECT id, status, error FROM performance.settlement_run WHERE id IN ('S-dead', 'S-live')"
                 " ORDER BY id")


async def test_a_run_left_running_by_a_dead_process_is_failed_when_the_service_starts(
        stack: Stack, stack_db: StackDatabase, internal_secret: str) -> None:
    lock = text("SELECT pg_advisory_lock(hashtext('performance.settlement'), hashtext(:period))")
    async with stack.engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO performance.settlement_run (id, period, mode, status, rules, fact_upto, started_by)"
            " VALUES ('S-dead', '1999-01', 'final', 'running', '{}', 0, 'test'),"
            "        ('S-live', '1999-02', 'final', 'running', '{}', 0, 'test')"))
    async with stack.engine.connect() as live:  # a live process settling 1999-02 holds its period's lock
        await live.execute(lock, {"period": "1999-02"})
        await live.commit()
        restarted = create_app(PerformanceSettings(database_url=stack_db.dsn("performance"),
                                                   INTERNAL_TOKEN_SECRET=internal_secret), follow=False)
        async with running(restarted):
            for _ in range(100):
                async with stack.engine.connect() as connection:
                    states = (await connection.execute(RUN_STATE)).all()
                if states[0].status != "running":
                    break
                await asyncio.sleep(0.05)
        assert [tuple(r) for r in states] == [("S-dead", "failed", ABANDONED), ("S-live", "running", None)]
    async with stack.engine.begin() as connection:  # the live one's process is gone now too
        await connection.execute(text("UPDATE performance.settlement_run SET status = 'failed'"
                                      " WHERE id = 'S-live'"))
