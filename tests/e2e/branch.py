"""A branch for the load harness (tests/e2e/load.py), made through the gateway's public API only and
the same for a seed: HQ → branch → office, a department manager, groups of PER_GROUP agents under a
supervisor each, back office, a gateway account and a login for every person; policies issued two
months ago (their premiums now overdue), last month's facts settled (statements and rankings to
read), and a weekly review sheet from every agent handed in to their supervisor."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from svckit.timeutil import business_date, utcnow

HIRED_ON = "2024-01-01"
OPENED_ON = "2020-01-01"
FEED_PATIENCE_S = 90.0  # how long a service may take to learn of a new agent from org's feed
OVERDUE_ISSUE_DAYS = 60  # well past any collection deadline (5 or 20 working days)
PRODUCT = "WL-20"


@dataclass(frozen=True)
class LoadConfig:
    agents: int = 200
    per_group: int = 8  # agents under one supervisor
    back_office: int = 3
    concurrency: int = 32
    seconds: float = 60.0
    until_every_kind: bool = False  # go on past SECONDS (up to ten times as long) until every kind has run
    sync_batch: int = 20  # entries an app kept offline
    seed: int = 20261129


@dataclass
class Supervisor:
    agent_id: int
    token: str
    members: list[int] = field(default_factory=list)
    to_review: deque[tuple[int, int]] = field(default_factory=deque)  # (sheet id, version) handed in


@dataclass
class Agent:
    agent_id: int
    token: str
    supervisor: Supervisor
    weeks_back: int = 1  # the next past week whose review sheet is still to be written


@dataclass
class Branch:
    branch_id: int
    period: str  # last month, settled
    agents: list[Agent]
    supervisors: list[Supervisor]
    back_office: list[str]  # tokens


def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise AssertionError(f"{response.request.method} {response.request.url.path} answered "
                             f"{response.status_code}, not {status}: {response.text[:500]}")
    return response.json()


def sheet_body(agent: Agent, today: date) -> dict[str, Any]:
    """The agent's weekly review sheet 周工作检视表 for the next past week not yet written."""
    week = today - timedelta(days=today.weekday(), weeks=agent.weeks_back)
    return {"kind": "weekly_review", "period_start": week.isoformat(),
            "planned": {"phone_appointment": 25, "interview": 15, "closing_visit": 5},
            "summary": "完成面谈12次, 促成2件", "plan": "下周重点跟进A类客户"}


async def _few_at_a_time(work: Iterable[Awaitable[Any]], limit: int = 4) -> list[Any]:
    """Set-up calls a few at a time: logins and new accounts hash passwords with argon2."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in work))


async def _until_accepted(call: Callable[[], Awaitable[httpx.Response]], status: int) -> Any:
    """A service learns of new agents from org's change feed a moment later: ask again until it knows.
    Each service applies org's events in order, so once it knows the last agent hired it knows all."""
    deadline = time.monotonic() + FEED_PATIENCE_S
    while True:
        response = await call()
        if response.status_code == status or time.monotonic() > deadline:
            return ok(response, status)
        await asyncio.sleep(0.3)


class Seeding:
    """The branch's set-up, as the administrator and then as its people."""

    def __init__(self, client: httpx.AsyncClient, config: LoadConfig) -> None:
        self.client, self.config = client, config
        self.rng = random.Random(config.seed)  # reproducible test data
        self.tag = f"{config.seed % 100_000:05d}"  # in codes and usernames: several branches can share a stack
        self.today = business_date(utcnow())

    async def post(self, path: str, body: Any, status: int = 201, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return ok(await self.client.post(f"/api/v1/{path}", json=body, headers=headers), status)

    async def institution(self, kind: str, tier: int, code: str, name: str, parent: int | None) -> int:
        return int((await self.post("org/v1/institutions", {
            "kind": kind, "tier": tier, "code": f"{code}-{self.tag}", "name": name, "parent_id": parent,
            "opened_on": OPENED_ON}))["id"])

    async def team(self, office: int, department: int | None) -> int:
        return int((await self.post("org/v1/teams", {"institution_id": office, "parent_team_id": department,
                                                     "valid_from": OPENED_ON}))["id"])

    async def account(self, username: str, role: str, institutions: list[int]) -> tuple[str, str, str]:
        """(user id, username, password) of a new gateway account."""
        password = f"load-{self.tag}-{username}-pw"
        user = await self.post("auth/users", {"username": username, "password": password, "roles": [role],
                                              "institution_ids": institutions})
        return str(user["id"]), username, password

    async def login(self, username: str, password: str) -> str:
        answer = await self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        return str(ok(answer)["access_token"])

    async def hire(self, n: str, rank: str, office: int, team: int, supervisor: int | None,
                   user_id: str | None) -> int:
        return int((await self.post("org/v1/agents", {
            "code": f"A{self.tag}-{n}", "name": f"员工{n}", "licence_no": f"L{self.tag}-{n}", "hire_date": HIRED_ON,
            "institution_id": office, "team_id": team, "supervisor_id": supervisor, "rank_code": rank,
            "user_id": user_id}))["id"])

    async def people(self, branch: int, office: int) -> tuple[list[Supervisor], list[Agent], list[str]]:
        """Supervisors with their groups, agents, and back-office tokens: accounts first, then hired
        with them, then everyone logged in (a scope asked before the hire would be kept a while)."""
        config, tag = self.config, self.tag
        groups = -(-config.agents // config.per_group)
        department = await self.team(office, None)
        manager = await self.hire("m", "department_manager", office, department, None, None)
        leads = await _few_at_a_time(self.account(f"sup-{tag}-{g}", "supervisor", []) for g in range(groups))
        members = await _few_at_a_time(self.account(f"agent-{tag}-{a}", "agent", []) for a in range(config.agents))
        staff = await _few_at_a_time(self.account(f"bo-{tag}-{b}", "back_office", [branch])
                                     for b in range(config.back_office))
        hired: dict[str, int] = {}  # user id → agent id
        lines: list[tuple[str, list[str]]] = []  # a supervisor's user id and their members'
        for g, (lead, _, _) in enumerate(leads):
            group = await self.team(office, department)
            hired[lead] = await self.hire(f"s{g}", "supervisor", office, group, manager, lead)
            line = [user for user, _, _ in members[g * config.per_group:(g + 1) * config.per_group]]
            for a, user in enumerate(line, start=g * config.per_group):
                hired[user] = await self.hire(f"a{a}", "agent", office, group, hired[lead], user)
            lines.append((lead, line))
        everyone = (*leads, *members, *staff)
        tokens = await _few_at_a_time(self.login(username, password) for _, username, password in everyone)
        token_of = {user: token for (user, _, _), token in zip(everyone, tokens, strict=True)}
        supervisors, agents = [], []
        for lead, line in lines:
            supervisor = Supervisor(hired[lead], token_of[lead], [hired[user] for user in line])
            supervisors.append(supervisor)
            agents += [Agent(hired[user], token_of[user], supervisor) for user in line]
        return supervisors, agents, [token_of[user] for user, _, _ in staff]

    async def overdue_premiums(self, agents: list[Agent], staff: str) -> None:
        """A policy for every second agent, issued two months ago and never paid: overdue today."""
        issued_on = (self.today - timedelta(days=OVERDUE_ISSUE_DAYS)).isoformat()

        def policy(n: int, agent: Agent) -> Callable[[], Awaitable[httpx.Response]]:
            body = {"policy_no": f"P{self.tag}-{n:06d}", "agent_id": agent.agent_id, "product_code": PRODUCT,
                    "insurer": "平安人寿", "premium": f"{self.rng.randint(12, 96) * 100}.00", "frequency": "annual",
                    "payment_mode": "cash", "issued_on": issued_on,
                    "policyholder": {"kind": "individual", "name": f"客户{n}", "external_ref": f"C{self.tag}-{n}"}}
            return lambda: self.client.post("/api/v1/ledger/v1/policies", json=body,
                                            headers={"Authorization": f"Bearer {staff}"})

        last = len(agents) - 1
        await _until_accepted(policy(last, agents[last]), 201)
        calls = [policy(n, agent) for n, agent in enumerate(agents[:last]) if n % 2 == 0]
        for answer in await _few_at_a_time(call() for call in calls):
            ok(answer, 201)

    async def settled_month(self, agents: list[Agent]) -> str:
        """Last month's facts (first-year and received premium) for every agent, settled; the period."""
        start = (self.today.replace(day=1) - timedelta(days=1)).replace(day=1)
        facts = [{"agent_id": agent.agent_id, "kind": kind, "occurred_on": (start + timedelta(days=n % 28)).isoformat(),
                  "product_code": PRODUCT, "policy_year": 1, "amount": f"{self.rng.randint(10, 400) * 100}.00",
                  "policies": 1 if kind == "fyp" else 0}
                 for n, agent in enumerate(agents) for kind in ("fyp", "received_premium")]
        await _until_accepted(lambda: self.client.post("/api/v1/performance/v1/facts", json={
            "source": f"load seed {self.tag}", "facts": facts}), 201)
        period = start.strftime("%Y-%m")
        await self.post("performance/v1/settlements", {"period": period})
        return period

    async def sheets_handed_in(self, agents: list[Agent]) -> None:
        """Every agent's review sheet of last week, handed in and waiting for the supervisor."""
        for n, agent in enumerate([agents[-1], *agents[:-1]]):
            def create(a: Agent = agent) -> Awaitable[httpx.Response]:
                return self.client.post("/api/v1/activity/v1/plans", json=sheet_body(a, self.today),
                                        headers={"Authorization": f"Bearer {a.token}"})

            # Activity too learns of agents from org's feed: asked again for the first sheet only.
            sheet = await _until_accepted(create, 201) if n == 0 else ok(await create(), 201)
            handed_in = await self.post(f"activity/v1/plans/{sheet['id']}/submit", {"version": sheet["version"]},
                                        200, token=agent.token)
            agent.supervisor.to_review.append((int(handed_in["id"]), int(handed_in["version"])))
            agent.weeks_back += 1


async def seed(gateway: str, admin_password: str, config: LoadConfig, *, admin: str = "admin") -> Branch:
    """The branch, its people with their accounts, and what their day starts from."""
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as client:
        setup = Seeding(client, config)
        client.headers["Authorization"] = f"Bearer {await setup.login(admin, admin_password)}"
        hq = await setup.institution("hq", 1, "HQ", "总公司", None)
        branch = await setup.institution("branch", 2, "TJ", f"天津{setup.tag}分公司", hq)
        office = await setup.institution("service_office", 3, "HG", "汉沽营销服务部", branch)
        supervisors, agents, staff = await setup.people(branch, office)
        await setup.overdue_premiums(agents, staff[0])
        period = await setup.settled_month(agents)
        await setup.sheets_handed_in(agents)
    return Branch(branch, period, agents, supervisors, staff)
