"""The mobile home pages with the five real processes on one throw-away PostgreSQL: the agent's and the
supervisor's pages fill in as the services' followers catch up, and with the ledger killed (SIGKILL) the
pages still answer at once, the ledger's parts marked unavailable; started again, it is back."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from svckit.ops.throwaway import throwaway_database
from svckit.testing.org import company, hire
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .processes import Processes, running_processes

pytestmark = pytest.mark.e2e
T = TypeVar("T")


@dataclass
class System:
    processes: Processes

    def client(self, token: str | None = None, prefix: str = "") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.processes.gateway + prefix, headers=headers, timeout=30)

    async def login(self, username: str, password: str) -> str:
        async with self.client() as gateway:
            return str(ok(await gateway.post("/api/v1/auth/login",
                                             json={"username": username, "password": password}))["access_token"])


@pytest.fixture(scope="module")
def system(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with throwaway_database(pg_admin_dsn) as db, running_processes(
            db, Path(tmp_path_factory.mktemp("home"))) as processes:
        yield System(processes)


async def eventually(attempt: Callable[[], Awaitable[T | None]], what: str, patience: float = 60.0) -> T:
    deadline = asyncio.get_running_loop().time() + patience
    while (found := await attempt()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {patience:.0f}s: {what}")
        await asyncio.sleep(0.3)
    return found


async def test_the_home_pages_answer_with_a_service_killed_and_recover(system: System) -> None:
    admin = await system.login("admin", system.processes.admin_password)
    passwords = {name: secrets.token_urlsafe(16) for name in ("sup", "agent")}
    users: dict[str, str] = {}
    async with system.client(admin) as gateway:
        for name, role in (("sup", "supervisor"), ("agent", "agent")):
            created = ok(await gateway.post("/api/v1/auth/users", json={
                "username": f"{name}-{secrets.token_hex(4)}", "password": passwords[name], "roles": [role]}), 201)
            users[name] = created["username"]
            users[f"{name}_id"] = created["id"]
    async with system.client(admin, "/api/v1/org") as org:
        c = await company(org)
        sup = await hire(org, c, "supervisor", user_id=users["sup_id"])
        agent = await hire(org, c, "agent", sup, user_id=users["agent_id"])
    today = business_date(utcnow())
    async with system.client(admin) as gateway:
        async def issued() -> bool | None:
            # Refused (agent_not_found) until the ledger's follower has learnt of the new agent.
            answer = await gateway.post("/api/v1/ledger/v1/policies", json={
                "policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent, "product_code": "LIFE-20",
                "insurer": "本公司", "premium": "3600.00", "frequency": "annual", "payment_mode": "cash",
                "policyholder": {"kind": "individual", "name": "张三", "external_ref": f"C-{secrets.token_hex(4)}"},
                "issued_on": today.isoformat()})
            if answer.status_code == 422 and answer.json().get("code") == "agent_not_found":
                return None
            assert answer.status_code == 201, answer.text
            return True

        await eventually(issued, "the ledger knows the agent")
    agent_token = await system.login(users["agent"], passwords["agent"])
    sup_token = await system.login(users["sup"], passwords["sup"])

    async with system.client(agent_token) as mine, system.client(sup_token) as theirs:
        async def whole() -> dict[str, Any] | None:
            body: dict[str, Any] = ok(await mine.get("/api/v1/home/agent"))
            return body if not body["degraded"] else None

        home = await eventually(whole, "every service's copy of the organisation knows the agent")
        assert home["agent_id"] == agent
        assert (home["receivables_due"]["count"], home["weekly_review"]["state"]) == (1, "none")
        team = ok(await theirs.get("/api/v1/home/supervisor"))
        assert (team["agent_id"], team["degraded"], team["team_compliance"]["members"]) == (sup, [], 1)
        problem(await mine.get("/api/v1/home/supervisor"), 403, "role_required")

        await asyncio.to_thread(system.processes.kill, "ledger")
        started = asyncio.get_running_loop().time()
        degraded = ok(await mine.get("/api/v1/home/agent"))
        assert asyncio.get_running_loop().time() - started < 6  # within the parts' deadline (3 s), not a hang
        assert degraded["degraded"] == ["receivables_due"]
        assert degraded["receivables_due"]["status"] == "unavailable"
        assert "ledger" in degraded["receivables_due"]["reason"]
        assert degraded["activity_today"]["status"] == degraded["month_to_date"]["status"] == "ok"
        team = ok(await theirs.get("/api/v1/home/supervisor"))
        assert team["degraded"] == ["members_at_risk"]
        assert [n["reason"] for n in team["members_at_risk"]["not_checked"]] == ["overdue_receivables"]

        await asyncio.to_thread(system.processes.start, "ledger")
        again = await eventually(whole, "the ledger back")
        assert again["receivables_due"]["count"] == 1
