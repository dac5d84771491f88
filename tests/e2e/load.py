"""A branch's working day through the gateway, against the real processes: the load harness of
`make bench BENCH=system` (benchmarks/bench_branch_day.py) and of tests/e2e/test_load.py.

The branch comes from tests/e2e/branch.py, made through the public API, the same for a seed.

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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from svckit.ops.loadgen import in_thread
from svckit.timeutil import business_date, utcnow

from .branch import Agent, Branch, LoadConfig, Supervisor, seed, sheet_body

ENTRY_KINDS = ("phone_appointment", "interview", "closing_visit", "new_customer_visit", "recruiting_visit",
               "service_visit")
OUTCOMES = ("appointment set", "follow up", "no answer", "signed")
COACHING_METHODS = ("conversation", "training", "joint_visit", "home_visit")
COACHING_MOMENTS = ("new_visits", "frustrated", "erratic", "undecided")


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


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _entry_body(rng: random.Random, now: datetime, spread_minutes: int) -> dict[str, Any]:
    """An entry of the past `spread_minutes`, with the id the app generated."""
    when = now - timedelta(minutes=rng.randint(1, spread_minutes), seconds=rng.randint(0, 59))
    return {"id": _uuid(rng), "kind": rng.choice(ENTRY_KINDS), "occurred_at": when.isoformat(),
            "outcome": rng.choice(OUTCOMES), "notes": "面谈顺利, 客户关注重疾保障"}


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


class Day:
    """What each person does, one request (or a started and handed-in sheet) at a time."""

    def __init__(self, branch: Branch, config: LoadConfig, session: aiohttp.ClientSession, tally: Tally) -> None:
        self.branch, self.config, self.session, self.tally = branch, config, session, tally
        self.today = business_date(utcnow())

    async def call(self, kind: str, method: str, path: str, token: str, body: Any = None, expected: int = 200,
                   holds: Callable[[Any], bool] | None = None) -> tuple[int, Any]:
        """One request, timed; an unexpected status, or an answer without what it must hold, is an error."""
        started = time.perf_counter()
        try:
            async with self.session.request(method, f"/api/v1/{path}", json=body,
                                            headers={"Authorization": f"Bearer {token}"}) as response:
                status, raw = response.status, await response.read()
            answer: Any = json.loads(raw)
        except (aiohttp.ClientError, TimeoutError) as failure:
            status, answer = 0, f"{type(failure).__name__}: {failure}"
        except ValueError:  # not JSON
            answer = raw[:300].decode(errors="replace")
        self.tally.latencies[kind].append(time.perf_counter() - started)
        if status != expected or not _holds(holds, answer):
            self.tally.errors.append((kind, status, f"{method} /api/v1/{path}: {_sample(answer)}"))
        return status, answer

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
        body = sheet_body(agent, self.today)
        agent.weeks_back += 1
        status, sheet = await self.call("sheet_create", "POST", "activity/v1/plans", agent.token, body, 201)
        if status != 201:
            return
        status, handed_in = await self.call("sheet_submit", "POST", f"activity/v1/plans/{sheet['id']}/submit",
                                            agent.token, {"version": sheet["version"]})
        if status == 200:
            agent.supervisor.to_review.append((int(handed_in["id"]), int(handed_in["version"])))

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
