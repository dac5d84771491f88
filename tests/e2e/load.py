"""A branch's working day through the gateway, against the real processes: the load harness of
`make bench BENCH=system` (benchmarks/bench_branch_day.py) and of tests/e2e/test_load.py.

The branch is made through the public API only, deterministically for a seed: an office with a
department manager, groups of PER_GROUP agents under a supervisor each, back office, gateway
accounts for everyone; policies issued two months ago (their premiums now overdue), last month's
facts settled (statements and rankings to read) and a weekly review sheet from every agent waiting
for their supervisor.

Then CONCURRENCY clients, closed-loop (each sends its next request when the last is answered), pick
who acts and what by weight for SECONDS: agents log entries, open the app's home screen, register
customers, sync offline batches and hand in weekly review sheets; supervisors read their team's
compliance, review the sheets handed in, write coaching notes and open their home screen; back
office reads overdue receivables, the branch's compliance report, rankings and statements. Every
answer other than the one expected (a sync item not created, a home screen with a part missing, a
report without the rows it must hold) is an error, kept with a sample.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import httpx

from svckit.ops.loadgen import in_thread
from svckit.timeutil import business_date, utcnow

HIRED_ON = "2024-01-01"
FEED_PATIENCE_S = 90.0  # how long a service may take to learn of a new agent from org's feed
OVERDUE_ISSUE_DAYS = 60  # well past any collection deadline (5 or 20 working days)
ENTRY_KINDS = ("phone_appointment", "interview", "closing_visit", "new_customer_visit", "recruiting_visit",
               "service_visit")
OUTCOMES = ("appointment set", "follow up", "no answer", "signed")
COACHING_METHODS = ("conversation", "training", "joint_visit", "home_visit")
COACHING_MOMENTS = ("new_visits", "frustrated", "erratic", "undecided")


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


# What each role does, and how often, in a day: agents log far more than anyone reads.
AGENT_MIX = {"entry": 40, "agent_home": 8, "customer": 8, "sync": 6, "weekly_sheet": 3}
SUPERVISOR_MIX = {"team_compliance": 6, "sheet_review": 5, "coaching": 4, "supervisor_home": 3}
BACK_OFFICE_MIX = {"overdue_receivables": 3, "compliance_report": 2, "rankings": 3, "statements": 4}
ROLE_MIX = {"agent": sum(AGENT_MIX.values()), "supervisor": sum(SUPERVISOR_MIX.values()),
            "back_office": sum(BACK_OFFICE_MIX.values())}
# The requests measured, one kind each (a weekly sheet is started, then handed in).
KINDS = ("entry", "agent_home", "customer", "sync", "sheet_create", "sheet_submit", "team_compliance", "sheet_review",
         "coaching", "supervisor_home", "overdue_receivables", "compliance_report", "rankings", "statements")


@dataclass
class Agent:
    agent_id: int
    token: str
    supervisor: Supervisor
    weeks_back: int = 1  # the next past week whose review sheet is still to be written


@dataclass
class Supervisor:
    agent_id: int
    token: str
    members: list[int] = field(default_factory=list)
    to_review: deque[tuple[int, int]] = field(default_factory=deque)  # (sheet id, version) handed in


@dataclass
class Branch:
    branch_id: int
    period: str  # last month, settled
    agents: list[Agent]
    supervisors: list[Supervisor]
    back_office: list[str]  # tokens


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    logged: Counter[int] = field(default_factory=Counter)  # entries accepted per agent
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: int, kind: str | None = None) -> float:
        """The q-th percentile latency in ms, of one kind or of all."""
        values = self.latencies[kind] if kind else [v for vs in self.latencies.values() for v in vs]
        if len(values) < 2:
            return values[0] * 1000 if values else 0.0
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000

    def report(self) -> str:
        lines = [f"{'kind':<20} {'requests':>8} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}"]
        for kind in (*KINDS, None):
            count = len(self.latencies[kind]) if kind else self.requests
            errors = sum(1 for e in self.errors if kind in (None, e[0]))
            ms = " ".join(f"{self.percentile(q, kind):>8.1f}" for q in (50, 95, 99))
            lines.append(f"{kind or 'all':<20} {count:>8} {count / self.seconds:>8.1f} {ms} {errors:>6}")
        samples: dict[tuple[str, int], str] = {}
        for kind, status, body in self.errors:
            samples.setdefault((kind, status), body)
        lines += [f"error {kind} {status} (x{sum(1 for e in self.errors if e[:2] == (kind, status))}): {body}"
                  for (kind, status), body in samples.items()]
        return "\n".join(lines)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise AssertionError(f"{response.request.method} {response.request.url.path} answered "
                             f"{response.status_code}, not {status}: {response.text[:500]}")
    return response.json()


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _last_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


async def _gather_limited(work: Iterable[Awaitable[Any]], limit: int = 4) -> list[Any]:
    """Set-up calls a few at a time: logins and new accounts hash passwords with argon2."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in work))


async def _until_accepted(call: Callable[[], Awaitable[httpx.Response]], status: int) -> Any:
    """A service learns of new agents from org's change feed a moment later: ask again until it knows."""
    deadline = time.monotonic() + FEED_PATIENCE_S
    while True:
        response = await call()
        if response.status_code == status or time.monotonic() > deadline:
            return _ok(response, status)
        await asyncio.sleep(0.3)


async def seed(gateway: str, admin_password: str, config: LoadConfig, *, admin: str = "admin") -> Branch:
    """The branch, its people with their accounts, and what their day starts from."""
    rng = random.Random(config.seed)  # reproducible test data
    tag = f"{config.seed % 100_000:05d}"
    today = business_date(utcnow())
    period_start = _last_month(today)
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as client:
        login = await client.post("/api/v1/auth/login", json={"username": admin, "password": admin_password})
        client.headers["Authorization"] = f"Bearer {_ok(login)['access_token']}"

        async def institution(kind: str, tier: int, code: str, name: str, parent: int | None) -> int:
            return int(_ok(await client.post("/api/v1/org/v1/institutions", json={
                "kind": kind, "tier": tier, "code": f"{code}-{tag}", "name": name, "parent_id": parent,
                "opened_on": "2020-01-01"}), 201)["id"])

        hq = await institution("hq", 1, "HQ", "总公司", None)
        branch = await institution("branch", 2, "TJ", f"天津{tag}分公司", hq)
        office = await institution("service_office", 3, "HG", "汉沽营销服务部", branch)
        department = int(_ok(await client.post("/api/v1/org/v1/teams", json={
            "institution_id": office, "valid_from": "2020-01-01"}), 201)["id"])
        groups = config.agents // config.per_group + (config.agents % config.per_group > 0)

        async def account(username: str, roles: list[str], institutions: list[int]) -> tuple[str, str]:
            password = f"load-{tag}-{username}-pw"
            user = _ok(await client.post("/api/v1/auth/users", json={
                "username": username, "password": password, "roles": roles, "institution_ids": institutions}), 201)
            return str(user["id"]), password

        async def hire(n: str, rank: str, team: int, supervisor: int | None, user_id: str | None) -> int:
            return int(_ok(await client.post("/api/v1/org/v1/agents", json={
                "code": f"A{tag}-{n}", "name": f"员工{n}", "licence_no": f"L{tag}-{n}", "hire_date": HIRED_ON,
                "institution_id": office, "team_id": team, "supervisor_id": supervisor, "rank_code": rank,
                "user_id": user_id}), 201)["id"])

        manager = await hire("m", "department_manager", department, None, None)
        sup_accounts = await _gather_limited(account(f"sup-{tag}-{g}", ["supervisor"], []) for g in range(groups))
        agent_accounts = await _gather_limited(account(f"agent-{tag}-{a}", ["agent"], [])
                                               for a in range(config.agents))
        staff_accounts = await _gather_limited(account(f"bo-{tag}-{b}", ["back_office"], [branch])
                                               for b in range(config.back_office))
        supervisors, agents = [], []
        for g, (user_id, _) in enumerate(sup_accounts):
            group = int(_ok(await client.post("/api/v1/org/v1/teams", json={
                "institution_id": office, "parent_team_id": department, "valid_from": "2020-01-01"}), 201)["id"])
            lead = await hire(f"s{g}", "supervisor", group, manager, user_id)
            members = [await hire(f"a{a}", "agent", group, lead, agent_accounts[a][0])
                       for a in range(g * config.per_group, min(config.agents, (g + 1) * config.per_group))]
            supervisors.append((lead, members))
            agents += [(member, lead) for member in members]

        async def token(username: str, password: str) -> str:
            answer = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
            return str(_ok(answer)["access_token"])

        sup_tokens = await _gather_limited(token(f"sup-{tag}-{g}", p) for g, (_, p) in enumerate(sup_accounts))
        agent_tokens = await _gather_limited(token(f"agent-{tag}-{a}", p) for a, (_, p) in enumerate(agent_accounts))
        staff_tokens = await _gather_limited(token(f"bo-{tag}-{b}", p) for b, (_, p) in enumerate(staff_accounts))
        by_id = {lead: Supervisor(lead, t, members) for (lead, members), t in zip(supervisors, sup_tokens, strict=True)}
        people = [Agent(agent_id, t, by_id[lead]) for (agent_id, lead), t in zip(agents, agent_tokens, strict=True)]
        staff = {"Authorization": f"Bearer {staff_tokens[0]}"}

        # Premiums issued two months ago and never paid: overdue today. The ledger knows an agent once
        # org's feed has reached it, so the last one hired is asked until it is known.
        issued_on = (today - timedelta(days=OVERDUE_ISSUE_DAYS)).isoformat()

        def policy(n: int, agent_id: int) -> Callable[[], Awaitable[httpx.Response]]:
            premium = f"{rng.randint(12, 96) * 100}.00"
            return lambda: client.post("/api/v1/ledger/v1/policies", headers=staff, json={
                "policy_no": f"P{tag}-{n:06d}", "agent_id": agent_id, "product_code": "WL-20",
                "insurer": "平安人寿", "premium": premium, "frequency": "annual",
                "payment_mode": "cash", "issued_on": issued_on,
                "policyholder": {"kind": "individual", "name": f"客户{n}", "external_ref": f"C{tag}-{n}"}})

        await _until_accepted(policy(len(people) - 1, people[-1].agent_id), 201)
        await _gather_limited(_ok_later(policy(n, a.agent_id), 201) for n, a in enumerate(people[:-1]) if n % 2 == 0)

        # Last month's facts, settled: every agent has a statement and a place in the rankings.
        facts = [{"agent_id": a.agent_id, "kind": kind,
                  "occurred_on": (period_start + timedelta(days=n % 28)).isoformat(),
                  "product_code": "WL-20", "policy_year": 1, "amount": f"{rng.randint(10, 400) * 100}.00",
                  "policies": 1 if kind == "fyp" else 0}
                 for n, a in enumerate(people) for kind in ("fyp", "received_premium")]
        await _until_accepted(lambda: client.post("/api/v1/performance/v1/facts", json={
            "source": f"load seed {tag}", "facts": facts}), 201)
        period = period_start.strftime("%Y-%m")
        _ok(await client.post("/api/v1/performance/v1/settlements", json={"period": period}), 201)

    branch_day = Branch(branch, period, people, list(by_id.values()), staff_tokens)
    # A weekly review sheet from every agent, waiting for the supervisor; activity too learns of
    # agents from org's feed.
    async with aiohttp.ClientSession(base_url=gateway) as session:
        first = people[-1]
        deadline = time.monotonic() + FEED_PATIENCE_S
        while True:
            status, sheet = await _send(session, "POST", "/api/v1/activity/v1/plans", first.token,
                                        _sheet_body(first, today))
            if status == 201 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        if status != 201:
            raise AssertionError(f"activity never accepted a weekly sheet: {status} {sheet!r}")
        await _submit(session, first, sheet, None)
        first.weeks_back += 1
        for agent in people[:-1]:
            status, sheet = await _send(session, "POST", "/api/v1/activity/v1/plans", agent.token,
                                        _sheet_body(agent, today))
            if status != 201:
                raise AssertionError(f"weekly sheet refused: {status} {sheet!r}")
            await _submit(session, agent, sheet, None)
            agent.weeks_back += 1
    return branch_day


async def _ok_later(call: Callable[[], Awaitable[httpx.Response]], status: int) -> Any:
    return _ok(await call(), status)


def _entry_body(rng: random.Random, now: datetime, spread_minutes: int) -> dict[str, Any]:
    """An entry of the past `spread_minutes`, with the id the app generated."""
    when = now - timedelta(minutes=rng.randint(1, spread_minutes), seconds=rng.randint(0, 59))
    return {"id": _uuid(rng), "kind": rng.choice(ENTRY_KINDS), "occurred_at": when.isoformat(),
            "outcome": rng.choice(OUTCOMES), "notes": "面谈顺利, 客户关注重疾保障"}


def _sheet_body(agent: Agent, today: date) -> dict[str, Any]:
    week = _monday(today) - timedelta(weeks=agent.weeks_back)
    return {"kind": "weekly_review", "period_start": week.isoformat(),
            "planned": {"phone_appointment": 25, "interview": 15, "closing_visit": 5},
            "summary": "完成面谈12次, 促成2件", "plan": "下周重点跟进A类客户"}


async def _send(session: aiohttp.ClientSession, method: str, path: str, token: str,
                body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"}) as answer:
        raw = await answer.read()
    try:
        return answer.status, json.loads(raw)
    except ValueError:
        return answer.status, raw[:300].decode(errors="replace")


async def _submit(session: aiohttp.ClientSession, agent: Agent, sheet: dict[str, Any], tally: Tally | None) -> None:
    status, body = await _timed(session, tally, "sheet_submit", "POST",
                                f"/api/v1/activity/v1/plans/{sheet['id']}/submit", agent.token,
                                {"version": sheet["version"]}, 200)
    if status == 200:
        agent.supervisor.to_review.append((int(body["id"]), int(body["version"])))
    elif tally is None:
        raise AssertionError(f"weekly sheet not handed in: {status} {body!r}")


def _whole_page(home: dict[str, Any]) -> bool:
    return not home["degraded"]


def _holds(holds: Callable[[Any], bool] | None, answer: Any) -> bool:
    try:
        return holds is None or holds(answer)
    except (KeyError, TypeError):  # not the shape expected at all
        return False


def _sample(answer: Any) -> str:
    """What an error shows: a home page's missing parts first (they say why), else the answer's start."""
    if isinstance(answer, dict) and answer.get("degraded"):
        answer = {part: answer.get(part) for part in answer["degraded"]}
    return json.dumps(answer, ensure_ascii=False)[:400]


async def _timed(session: aiohttp.ClientSession, tally: Tally | None, kind: str, method: str, path: str, token: str,
                 body: Any, expected: int, holds: Callable[[Any], bool] | None = None) -> tuple[int, Any]:
    """One request, timed; an unexpected status, or an answer without what it must hold, is an error."""
    started = time.perf_counter()
    try:
        status, answer = await _send(session, method, path, token, body)
    except (aiohttp.ClientError, TimeoutError) as failure:
        status, answer = 0, f"{type(failure).__name__}: {failure}"
    if tally is not None:
        tally.latencies[kind].append(time.perf_counter() - started)
        if status != expected or not _holds(holds, answer):
            tally.errors.append((kind, status, f"{method} {path}: {_sample(answer)}"))
    return status, answer


class Day:
    """What each person does, one request (or a started and handed-in sheet) at a time."""

    def __init__(self, branch: Branch, config: LoadConfig, session: aiohttp.ClientSession, tally: Tally) -> None:
        self.branch, self.config, self.session, self.tally = branch, config, session, tally
        self.today = business_date(utcnow())

    def call(self, kind: str, method: str, path: str, token: str, body: Any = None, expected: int = 200,
             holds: Callable[[Any], bool] | None = None) -> Awaitable[tuple[int, Any]]:
        return _timed(self.session, self.tally, kind, method, f"/api/v1/{path}", token, body, expected, holds)

    async def act(self, rng: random.Random) -> None:
        role = rng.choices(list(ROLE_MIX), weights=list(ROLE_MIX.values()))[0]
        if role == "agent":
            what = rng.choices(list(AGENT_MIX), weights=list(AGENT_MIX.values()))[0]
            await getattr(self, what)(rng, rng.choice(self.branch.agents))
        elif role == "supervisor":
            what = rng.choices(list(SUPERVISOR_MIX), weights=list(SUPERVISOR_MIX.values()))[0]
            await getattr(self, what)(rng, rng.choice(self.branch.supervisors))
        else:
            what = rng.choices(list(BACK_OFFICE_MIX), weights=list(BACK_OFFICE_MIX.values()))[0]
            await getattr(self, what)(rng, rng.choice(self.branch.back_office))

    # Agents.
    async def entry(self, rng: random.Random, agent: Agent) -> None:
        status, _ = await self.call("entry", "POST", "activity/v1/entries", agent.token,
                                    _entry_body(rng, utcnow(), 600), 201)
        if status == 201:
            self.tally.logged[agent.agent_id] += 1

    async def agent_home(self, rng: random.Random, agent: Agent) -> None:
        """The app's home screen, one round trip: a part left unavailable is an error here."""
        await self.call("agent_home", "GET", "home/agent", agent.token, holds=_whole_page)

    async def customer(self, rng: random.Random, agent: Agent) -> None:
        n = rng.randint(1, 99_999)
        await self.call("customer", "POST", "activity/v1/customers", agent.token, {
            "client_id": _uuid(rng), "name": f"客户{n}", "company": "汉沽渔业", "phone": f"139{n:08d}",
            "intent": rng.randint(1, 5), "grade": rng.choice("ABCDE"), "channel": "缘故",
            "obstacle": "price"}, 201)

    async def sync(self, rng: random.Random, agent: Agent) -> None:
        now = utcnow()
        status, answer = await self.call("sync", "POST", "activity/v1/entries/sync", agent.token, {
            "entries": [_entry_body(rng, now, 3 * 24 * 60) for _ in range(self.config.sync_batch)]})
        if status == 200:
            refused = [r for r in answer["results"] if r["status"] != "created"]
            self.tally.logged[agent.agent_id] += len(answer["results"]) - len(refused)
            if refused:
                self.tally.errors.append(("sync", status, json.dumps(refused[0], ensure_ascii=False)[:400]))

    async def weekly_sheet(self, rng: random.Random, agent: Agent) -> None:
        body = _sheet_body(agent, self.today)
        agent.weeks_back += 1
        status, sheet = await self.call("sheet_create", "POST", "activity/v1/plans", agent.token, body, 201)
        if status == 201:
            await _submit(self.session, agent, sheet, self.tally)

    # Supervisors.
    async def team_compliance(self, rng: random.Random, supervisor: Supervisor) -> None:
        await self.call("team_compliance", "GET", "activity/v1/compliance?period=week", supervisor.token,
                        holds=lambda report: len(report["rows"]) == len(supervisor.members) + 1)

    async def sheet_review(self, rng: random.Random, supervisor: Supervisor) -> None:
        if not supervisor.to_review:  # nothing handed in: the supervisor looks at the team instead
            await self.team_compliance(rng, supervisor)
            return
        sheet_id, version = supervisor.to_review.popleft()
        decision = "approve" if rng.random() < 0.8 else "return"
        await self.call("sheet_review", "POST", f"activity/v1/plans/{sheet_id}/review", supervisor.token, {
            "version": version, "decision": decision, "comment": "计划具体, 继续保持" if decision == "approve"
            else "请补充A类客户的跟进计划"})

    async def coaching(self, rng: random.Random, supervisor: Supervisor) -> None:
        await self.call("coaching", "POST", "activity/v1/coaching", supervisor.token, {
            "member_agent_id": rng.choice(supervisor.members), "coached_at": utcnow().isoformat(),
            "client_id": _uuid(rng), "moment": rng.choice(COACHING_MOMENTS), "method": rng.choice(COACHING_METHODS),
            "content": "演练促成话术", "outcome": "掌握了二择一法", "follow_up_on": self.today.isoformat()}, 201)

    async def supervisor_home(self, rng: random.Random, supervisor: Supervisor) -> None:
        await self.call("supervisor_home", "GET", "home/supervisor", supervisor.token,
                        holds=_whole_page)

    # Back office.
    async def overdue_receivables(self, rng: random.Random, token: str) -> None:
        await self.call("overdue_receivables", "GET", f"ledger/v1/receivables/overdue?on={self.today}"
                        f"&institution_id={self.branch.branch_id}&limit=50", token,
                        holds=lambda page: bool(page["items"]))

    async def compliance_report(self, rng: random.Random, token: str) -> None:
        await self.call("compliance_report", "GET", f"activity/v1/compliance?period=month&level=team"
                        f"&institution_id={self.branch.branch_id}", token, holds=lambda report: bool(report["rows"]))

    async def rankings(self, rng: random.Random, token: str) -> None:
        by = rng.choice(("agent", "team", "institution"))
        await self.call("rankings", "GET", f"performance/v1/rankings?period={self.branch.period}&by={by}&limit=50",
                        token, holds=bool)

    async def statements(self, rng: random.Random, token: str) -> None:
        agent = rng.choice(self.branch.agents)
        await self.call("statements", "GET", f"performance/v1/statements/{agent.agent_id}"
                        f"?period={self.branch.period}", token,
                        holds=lambda statement: statement["agent_id"] == agent.agent_id and bool(statement["lines"]))


async def drive(gateway: str, branch: Branch, config: LoadConfig) -> Tally:
    """CONCURRENCY closed-loop clients for SECONDS, on a loop of their own (svckit.ops.loadgen)."""

    async def work() -> Tally:
        tally = Tally()
        connector = aiohttp.TCPConnector(limit=config.concurrency, force_close=False)
        async with aiohttp.ClientSession(base_url=gateway, connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=120)) as session:
            day = Day(branch, config, session, tally)

            async def client(n: int) -> None:
                rng = random.Random(config.seed * 1000 + n)  # a reproducible mix
                while time.perf_counter() < stop or (config.until_every_kind and missing_kinds(tally)
                                                     and time.perf_counter() < started + 10 * config.seconds):
                    await day.act(rng)

            started = time.perf_counter()
            stop = started + config.seconds
            await asyncio.gather(*(client(n) for n in range(config.concurrency)))
            tally.seconds = time.perf_counter() - started
        return tally

    return await in_thread(work)


def missing_kinds(tally: Tally) -> Sequence[str]:
    return [kind for kind in KINDS if not tally.latencies[kind]]


def main(argv: Sequence[str] | None = None) -> int:
    """Against a stack already running (`make run`): a new branch (pick a new --seed for each run on
    the same data: codes and usernames carry it), then its day; exit status 1 on any error."""
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.load", description=main.__doc__)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--admin", default="admin")
    defaults = LoadConfig()
    for name in ("agents", "per_group", "back_office", "concurrency", "seconds", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(getattr(defaults, name)),
                            default=getattr(defaults, name))
    args = parser.parse_args(argv)
    password = os.environ.get("LOAD_ADMIN_PASSWORD")
    if not password:
        parser.error("set LOAD_ADMIN_PASSWORD to the administrator's password")
    config = LoadConfig(agents=args.agents, per_group=args.per_group, back_office=args.back_office,
                        concurrency=args.concurrency, seconds=args.seconds, seed=args.seed)
    branch = asyncio.run(seed(args.gateway, password, config, admin=args.admin))
    tally = asyncio.run(drive(args.gateway, branch, config))
    print(tally.report())
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
