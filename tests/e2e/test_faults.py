"""Faults: a service killed outright (SIGKILL) in the middle of its work and started again, with the
five real processes on one throw-away PostgreSQL (`processes.py`), everything through the gateway.

- (a) performance killed while a settlement run computes, then while it posts payables to the ledger;
- (b) activity killed while an app's batch sync is being written, performance killed beside it;
- (c) the ledger killed while the partner bank's signed results stream in.

Afterwards nothing acknowledged is lost and nothing is applied twice (counts, balances and the trial
balance against what was acknowledged; every retry is a no-op), the change feeds catch up, and while
a service is dead the gateway answers 503 problem+json for it at once, never a hang or a 500. A kill is
placed deterministically: the test holds a PostgreSQL lock on the table the service is about to write,
waits until the service is blocked on it, kills it, then lets go.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from svckit.ops.provision import libpq_url, render
from svckit.ops.throwaway import StackDatabase, throwaway_database
from svckit.testing.org import Company, company, hire
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .processes import Processes, running_processes

pytestmark = pytest.mark.e2e
D = Decimal
T = TypeVar("T")


@dataclass
class System:
    processes: Processes
    db: StackDatabase

    def gateway(self, token: str | None = None, prefix: str = "") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.processes.gateway + prefix, headers=headers, timeout=60)

    async def sql(self) -> asyncpg.Connection:
        """The database's administrator: to hold locks and to count what the services stored."""
        return await asyncpg.connect(render(libpq_url(self.db.database_admin_dsn)))

    async def login(self, username: str, password: str) -> str:
        async with self.gateway() as client:
            answer = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
        return str(ok(answer)["access_token"])

    async def admin(self) -> str:
        return await self.login("admin", self.processes.admin_password)

    async def kill(self, name: str) -> None:
        await asyncio.to_thread(self.processes.kill, name)

    async def start(self, name: str) -> None:
        await asyncio.to_thread(self.processes.start, name)


@pytest.fixture(scope="module")
def system(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    # One payable per request to the ledger, so a settlement's posting takes many steps to interrupt.
    with throwaway_database(pg_admin_dsn) as db, running_processes(
            db, Path(tmp_path_factory.mktemp("faults")), PERFORMANCE_PAYABLES_CHUNK="1",
            PERFORMANCE_PAYABLES_CONCURRENCY="1") as processes:
        yield System(processes, db)


async def eventually(attempt: Callable[[], Awaitable[T | None]], what: str, patience: float = 60.0) -> T:
    """`attempt()` until it returns something other than None (a follower catching up)."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        found = await attempt()
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {patience:.0f}s: {what}")
        await asyncio.sleep(0.2)


@asynccontextmanager
async def holding(system: System, table: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """SHARE-lock `table` (writers wait, readers do not) until the block ends; yields `blocked()`,
    which returns once some session is waiting for the lock, i.e. a service is stuck mid-write."""
    holder, watcher = await system.sql(), await system.sql()
    transaction = holder.transaction()
    await transaction.start()
    await holder.execute(f"LOCK TABLE {table} IN SHARE MODE")

    async def blocked() -> None:
        schema, name = table.split(".")

        async def waiting() -> bool | None:
            found = await watcher.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2"
                " AND NOT l.granted", schema, name)
            return True if found else None

        await eventually(waiting, f"a writer waiting on {table}", patience=90)

    try:
        yield blocked
    finally:
        await transaction.rollback()
        await holder.close()
        await watcher.close()


def broken_off(answer: httpx.Response | BaseException, service: str) -> None:
    """What a client gets when the service dies under its request: a problem from the gateway, at once
    (504 `service_timeout` today: the aiohttp pool reports a dropped connection as a timeout)."""
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code in (502, 503, 504), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["service"] == service


def unavailable(answer: httpx.Response, service: str) -> None:
    body = problem(answer, 503, "service_unavailable")
    assert body["service"] == service


async def new_company(system: System, token: str) -> tuple[httpx.AsyncClient, Company]:
    org = system.gateway(token, "/api/v1/org")
    return org, await company(org)


async def user(system: System, admin: str, role: str) -> tuple[str, str, str]:
    """A gateway account: (user id, username, password)."""
    username, password = f"{role}-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    async with system.gateway(admin) as client:
        made = ok(await client.post("/api/v1/auth/users", json={
            "username": username, "password": password, "roles": [role]}), 201)
    return str(made["id"]), username, password


def last_month() -> tuple[str, date]:
    first = business_date(utcnow()).replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}", first.replace(day=15)


async def runs_of(system: System, period: str) -> dict[str, dict[str, Any]]:
    conn = await system.sql()
    try:
        rows = await conn.fetch("SELECT id, status, posted, error FROM performance.settlement_run"
                                " WHERE period = $1 AND mode = 'final'", period)
    finally:
        await conn.close()
    return {r["id"]: dict(r) for r in rows}


async def test_a_settlement_killed_while_computing_and_while_posting_ends_paid_exactly_once(system: System) -> None:
    admin = await system.admin()
    org, c = await new_company(system, admin)
    manager = await hire(org, c, "department_manager")
    supervisor = await hire(org, c, "supervisor", manager)
    agents = [await hire(org, c, "agent", supervisor) for _ in range(6)]
    await org.aclose()
    period, day = last_month()
    facts = [{"agent_id": a, "kind": "received_premium", "occurred_on": day.isoformat(), "product_code": "LIFE-20",
              "policy_year": 1, "amount": f"{1000 * (n + 1)}.00"} for n, a in enumerate(agents)]

    async with system.gateway(admin, "/api/v1/performance") as performance, \
            system.gateway(admin, "/api/v1/ledger") as ledger:
        async def imported() -> bool | None:  # refused until performance's copy of org knows the agents
            answer = await performance.post("/v1/facts", json={"source": "faults e2e", "facts": facts})
            return True if answer.status_code == 201 else None

        await eventually(imported, "performance knows the new agents")

        # (1) Killed while computing: the run is claimed and its inputs taken; storing its lines waits.
        async with holding(system, "performance.statement_line") as blocked:
            settling = asyncio.create_task(performance.post("/v1/settlements", json={"period": period}))
            await blocked()
            await system.kill("performance")
            broken_off(await asyncio.wait_for(settling, 10), "performance")
        unavailable(await performance.get("/v1/settlements", params={"period": period}), "performance")
        [abandoned] = (await runs_of(system, period)).values()
        assert (abandoned["status"], abandoned["posted"]) == ("running", False)  # what the dead process left
        await system.start("performance")

        # (2) Killed while posting: the ledger holds the first payable's insert; performance dies waiting.
        async with holding(system, "ledger.commission_payable") as blocked:
            settling = asyncio.create_task(performance.post("/v1/settlements", json={"period": period}))
            await blocked()
            await system.kill("performance")
            broken_off(await asyncio.wait_for(settling, 10), "performance")
        runs = await runs_of(system, period)
        assert runs[abandoned["id"]]["status"] == "failed"  # marked by the next run, which was not blocked
        [first] = [r for r in runs.values() if r["id"] != abandoned["id"]]
        assert (first["status"], first["posted"]) == ("completed", False)
        unavailable(await performance.get(f"/v1/settlements/{first['id']}"), "performance")
        await system.start("performance")

        stored = ok(await performance.get(f"/v1/settlements/{first['id']}"))
        paid_agents = stored["totals"]["agents_paid"]
        assert paid_agents == len(agents) + 1  # the six agents and their department manager
        in_ledger = await payables_by_agent(ledger, [manager, supervisor, *agents])
        assert 0 < sum(len(x) for x in in_ledger.values()) < paid_agents  # half posted

        # Settled again, as finance would after an error: the first run's payables are completed first,
        # the new run computes the same month to the same result and pays the difference, nothing.
        again = ok(await performance.post("/v1/settlements", json={"period": period}), 201)
        assert again["supersedes"] == first["id"]
        assert (again["totals"]["gross"], D(again["totals"]["net"])) == (stored["totals"]["gross"], D(0))
        assert ok(await performance.get(f"/v1/settlements/{again['id']}/diff")) == []
        assert ok(await performance.get(f"/v1/settlements/{first['id']}"))["posted"] is True
        retried = ok(await performance.post(f"/v1/settlements/{first['id']}/post"))
        assert retried["posted"] is True

        in_ledger = await payables_by_agent(ledger, [manager, supervisor, *agents])
        total = D(0)
        for agent, payables in in_ledger.items():
            answer = await performance.get(f"/v1/statements/{agent}", params={"run_id": first["id"]})
            net = D(ok(answer)["net"]) if answer.status_code != 404 else D(0)
            assert payables == ([(first["id"], net)] if net else []), agent
            balance = ok(await ledger.get("/v1/journal/balances", params={
                "account": "commission_payable", "agent_id": agent}))
            assert sum((D(b["credits"]) - D(b["debits"]) for b in balance), D(0)) == net, agent
            total += net
        assert total == D(stored["totals"]["net"]) > 0
        trial = ok(await ledger.get("/v1/journal/trial-balance"))
        assert trial["balanced"] is True
        assert all(D(t["debits"]) == D(t["credits"]) for t in trial["totals"].values())


async def payables_by_agent(ledger: httpx.AsyncClient, agents: list[int]) -> dict[int, list[tuple[str, Decimal]]]:
    found = {}
    for agent in agents:
        items = ok(await ledger.get("/v1/payables", params={"agent_id": agent}))["items"]
        found[agent] = sorted((x["settlement_run"], D(x["amount"])) for x in items)
    return found
