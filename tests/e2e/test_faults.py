"""Faults: a service killed outright (SIGKILL) in the middle of its work and started again, with the
five real processes on one throw-away PostgreSQL (`processes.py`), everything through the gateway.

- (a) performance killed while a settlement run computes, then while it posts payables to the ledger;
- (b) activity killed while an app's batch sync is being written, performance killed beside it;
- (c) the ledger killed while the partner bank's signed results stream in;
- (d) the ledger killed while a reconciliation file is applied in parts, between its parts.

Afterwards nothing acknowledged is lost and nothing is applied twice (counts, balances and the trial
balance against what was acknowledged; every retry is a no-op), the change feeds catch up, and while
a service is dead the gateway answers 503 problem+json for it at once, never a hang or a 500. A kill is
placed deterministically: the test holds a PostgreSQL lock on the table the service is about to write,
waits until the service is blocked on it, kills it, then lets go.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest

from svckit.ops.provision import libpq_url, render
from svckit.ops.throwaway import StackDatabase, throwaway_database
from svckit.partner_signing import sign
from svckit.testing.org import Company, company, hire
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .processes import Processes, running_processes

pytestmark = pytest.mark.e2e
D = Decimal
T = TypeVar("T")
UPSTREAM_TIMEOUT = 8  # the gateway's limit on a whole call to a service, shortened for the hung service
FILE_PARTS = 3
BANK_PATH = "/api/v1/partner/bank"


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

    async def rows(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """One query as the administrator, on a connection of its own."""
        conn = await self.sql()
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def login(self, username: str, password: str) -> str:
        async with self.gateway() as client:
            answer = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
        return str(ok(answer)["access_token"])

    async def admin(self) -> str:
        return await self.login("admin", self.processes.admin_password)

    async def kill(self, name: str) -> None:
        await asyncio.to_thread(self.processes.kill, name)

    async def start(self, name: str) -> None:
        # From this (the main) thread: a child is signalled to stop when the thread that started it ends.
        self.processes.start(name)


@pytest.fixture(scope="module")
def system(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    # One payable per request to the ledger, so a settlement's posting takes many steps to interrupt.
    with throwaway_database(pg_admin_dsn) as db, running_processes(
            db, Path(tmp_path_factory.mktemp("faults")), PERFORMANCE_PAYABLES_CHUNK="1",
            PERFORMANCE_PAYABLES_CONCURRENCY="1", GATEWAY_UPSTREAM_TIMEOUT=str(UPSTREAM_TIMEOUT),
            # A file of a dozen lines is applied in three parts, as a bank's million-line file is.
            LEDGER_RECONCILIATION_PARTS=str(FILE_PARTS), LEDGER_RECONCILIATION_PART_MIN_LINES="2") as processes:
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
    which returns once a session of the table's service waits for the lock: it is stuck mid-write."""
    holder, watcher = await system.sql(), await system.sql()
    transaction = holder.transaction()
    await transaction.start()
    await holder.execute(f"LOCK TABLE {table} IN SHARE MODE")

    async def blocked() -> None:
        schema, name = table.split(".")

        async def waiting() -> bool | None:
            found = await watcher.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE n.nspname = $1 AND c.relname = $2 AND NOT l.granted AND a.usename = $3",
                schema, name, system.db.role(schema))
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
    assert int(answer.headers["retry-after"]) >= 1  # as every 503 declares


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
    rows = await system.rows("SELECT id, status, posted, error FROM performance.settlement_run"
                             " WHERE period = $1 AND mode = 'final'", period)
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

        async def marked_failed() -> dict[str, Any] | None:  # by the restarted service, no new run needed
            found = ok(await performance.get(f"/v1/settlements/{abandoned['id']}"))
            return dict(found) if found["status"] == "failed" else None

        assert (await eventually(marked_failed, "the abandoned run marked failed"))["totals"] is None

        # (2) Killed while posting: the ledger holds the first payable's insert; performance dies waiting.
        async with holding(system, "ledger.commission_payable") as blocked:
            settling = asyncio.create_task(performance.post("/v1/settlements", json={"period": period}))
            await blocked()
            await system.kill("performance")
            broken_off(await asyncio.wait_for(settling, 10), "performance")
        runs = await runs_of(system, period)
        assert runs[abandoned["id"]]["status"] == "failed"
        [first] = [r for r in runs.values() if r["id"] != abandoned["id"]]
        assert (first["status"], first["posted"]) == ("completed", False)
        unavailable(await performance.get(f"/v1/settlements/{first['id']}"), "performance")
        await system.start("performance")

        stored = ok(await performance.get(f"/v1/settlements/{first['id']}"))
        paid_agents = stored["totals"]["agents_paid"]
        assert paid_agents == len(agents) + 1  # the six agents and their department manager
        in_ledger = await payables_by_agent(ledger, [manager, supervisor, *agents])
        assert sum(len(x) for x in in_ledger.values()) == 1  # the one in flight when performance died

        # Settled again, as finance would after an error: the first run's payables are completed first,
        # the new run computes the same month to the same result and pays the difference, nothing.
        key = {"Idempotency-Key": f"settle-{period}-{secrets.token_hex(4)}"}
        again = ok(await performance.post("/v1/settlements", json={"period": period}, headers=key), 201)
        assert again["supersedes"] == first["id"]
        replayed = await performance.post("/v1/settlements", json={"period": period}, headers=key)
        assert (replayed.status_code, replayed.json()["id"]) == (201, again["id"])  # the first answer again
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert len(await runs_of(system, period)) == 3  # abandoned, first, again: the retry started none
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


def batches_of(entries: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [entries[i:i + size] for i in range(0, len(entries), size)]


async def test_a_batch_sync_cut_off_by_a_crash_is_resent_and_counted_once(system: System) -> None:
    admin = await system.admin()
    org, c = await new_company(system, admin)
    user_id, username, password = await user(system, admin, "agent")
    manager = await hire(org, c, "department_manager")
    agent = await hire(org, c, "agent", manager, user_id=user_id)
    await org.aclose()
    token = await system.login(username, password)
    kinds = ["phone_appointment", "interview", "closing_visit", "new_customer_visit"]
    now = utcnow()
    # What the app recorded offline: 240 entries over the last two hours, each with the id the app made.
    entries = [{"id": str(uuid.uuid4()), "kind": kinds[n % 4], "occurred_at": (now - timedelta(seconds=30 * n
                + 60)).isoformat()} for n in range(240)]
    sent = Counter((business_date(datetime.fromisoformat(e["occurred_at"])), e["kind"]) for e in entries)
    batches = batches_of(entries, 40)

    async with system.gateway(token, "/api/v1/activity") as activity, \
            system.gateway(admin, "/api/v1/performance") as performance:
        async def synced(batch: list[dict[str, Any]]) -> list[str]:
            answer = ok(await activity.post("/v1/entries/sync", json={"entries": batch}))
            return [r["status"] for r in answer["results"]]

        async def first_batch() -> list[str] | None:  # until activity's copy of org knows the agent
            answer = await activity.post("/v1/entries/sync", json={"entries": batches[0]})
            statuses = [r["status"] for r in answer.json()["results"]] if answer.status_code == 200 else []
            return statuses if "rejected" not in statuses and statuses else None

        assert await eventually(first_batch, "activity knows the new agent") == ["created"] * 40
        assert await synced(batches[1]) == ["created"] * 40

        # Activity dies while it writes the third batch; performance, which follows its feed, dies too.
        async with holding(system, "activity.entry") as blocked:
            cut_off = asyncio.create_task(activity.post("/v1/entries/sync", json={"entries": batches[2]}))
            await blocked()
            await system.kill("activity")
            await system.kill("performance")
            broken_off(await asyncio.wait_for(cut_off, 10), "activity")
        unavailable(await activity.post("/v1/entries/sync", json={"entries": batches[3]}), "activity")
        unavailable(await performance.get(f"/v1/facts/agents/{agent}/activity", params={"period": "2026-01"}),
                    "performance")

        # The app does not know what was kept, so it sends every batch again: what was acknowledged is
        # unchanged, the batch cut off (rolled back whole) and the rest are created, once.
        await system.start("activity")
        assert [await synced(b) for b in batches] == [["unchanged"] * 40] * 2 + [["created"] * 40] * 4
        assert [await synced(b) for b in batches] == [["unchanged"] * 40] * 6
        [stored] = await system.rows("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM activity.entry"
                                     " WHERE agent_id = $1", agent)
        assert (stored["n"], stored["ids"]) == (240, 240)
        days = sorted({day for day, _ in sent})
        counted = ok(await activity.get(f"/v1/agents/{agent}/days", params={
            "from": days[0].isoformat(), "to": days[-1].isoformat()}))
        assert Counter({(date.fromisoformat(d["day"]), k): n for d in counted for k, n in d["counts"].items()}) == sent

        # Performance, started again, catches up on activity's feed: the same numbers, each day once.
        await system.start("performance")
        periods = sorted({f"{day.year:04d}-{day.month:02d}" for day in days})
        expected = {p: (Counter({k: n for (day, k), n in sent.items() if day.strftime("%Y-%m") == p}),
                        sum(d["visits"] for d in counted if d["day"].startswith(p))) for p in periods}

        async def caught_up() -> bool | None:
            for p, (counts, visits) in expected.items():
                month = ok(await performance.get(f"/v1/facts/agents/{agent}/activity", params={"period": p}))
                if (Counter(month["counts"]), month["visits"]) != (counts, visits):
                    return None
            return True

        await eventually(caught_up, "performance's activity counts match activity's")


def json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()


def signed(key: dict[str, str], method: str, path: str, query: dict[str, Any] | None = None,
           body: bytes = b"") -> dict[str, str]:
    """A fresh signature (new nonce) for each sending, as the bank does for every retry."""
    return sign(key_id=key["key_id"], secret=key["secret"], method=method, path=path,
                query=urlencode(query or {}), body=body)


@dataclass
class DebitedBook:
    """A branch's premiums paid by auto-debit, their instructions sent to a partner bank (acknowledged)."""

    code: str
    key: dict[str, str]
    branch: int
    agents: list[int]
    agent_of: dict[str, int]  # mandate → agent
    instructions: list[dict[str, Any]]  # by amount


async def debited_book(system: System, admin: str, gw: httpx.AsyncClient, bank: httpx.AsyncClient) -> DebitedBook:
    org, c = await new_company(system, admin)
    supervisor = await hire(org, c, "supervisor")
    agents = [await hire(org, c, "agent", supervisor) for _ in range(3)]
    await org.aclose()
    code = f"bank{secrets.token_hex(3)}"
    today = business_date(utcnow())
    ok(await gw.post("/api/v1/auth/partners", json={"code": code, "name": "合作银行"}), 201)
    key = ok(await gw.post(f"/api/v1/auth/partners/{code}/keys"), 201)

    async def account() -> bool | None:  # refused until the ledger's copy of org knows the new branch
        answer = await gw.put(f"/api/v1/ledger/v1/bank-accounts/{code}", json={"name": "代扣账户",
                                                                               "branch_id": c.branch})
        return True if answer.status_code == 200 else None

    await eventually(account, "the ledger knows the new branch")
    agent_of: dict[str, int] = {}

    async def issue(agent: int, premium: str) -> bool | None:
        mandate = f"M-{secrets.token_hex(4)}"
        answer = await gw.post("/api/v1/ledger/v1/policies", json={
            "policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent, "product_code": "LIFE-20",
            "insurer": "本公司", "premium": premium, "frequency": "annual", "payment_mode": "bank_debit",
            "mandate_ref": mandate, "issued_on": today.isoformat(),
            "policyholder": {"kind": "individual", "name": "张三", "external_ref": f"C-{secrets.token_hex(4)}"}})
        if answer.status_code != 201:
            return None
        agent_of[mandate] = agent
        return True

    # The last one hired known to the ledger's copy of the organisation: the others, announced before, are.
    await eventually(lambda: issue(agents[-1], "100.00"), "the ledger knows the new agents")
    for n in range(1, 12):  # four each: the one above was premium 0, agents[(0 - 1) % 3]'s
        assert await issue(agents[(n - 1) % 3], f"{100 * (n + 1)}.00")
    batch = ok(await gw.post("/api/v1/ledger/v1/debit-batches", json={
        "bank_code": code, "due_through": today.isoformat()}), 201)
    assert batch["instructions"] == 12
    path = f"{BANK_PATH}/batches/{batch['id']}/instructions"
    listed = ok(await bank.get(path, params={"limit": 100}, headers=signed(key, "GET", path, {"limit": 100})))
    path = f"{BANK_PATH}/batches/{batch['id']}/acknowledgement"
    ok(await bank.post(path, headers=signed(key, "POST", path)))
    return DebitedBook(code, key, c.branch, agents, agent_of, sorted(listed["items"], key=lambda i: D(i["amount"])))


async def test_bank_results_cut_off_by_a_ledger_crash_take_effect_once(system: System) -> None:
    admin = await system.admin()
    today = business_date(utcnow())

    async with system.gateway(admin) as gw, system.gateway() as bank:
        book = await debited_book(system, admin, gw, bank)
        code, key, agents, agent_of, instructions = book.code, book.key, book.agents, book.agent_of, book.instructions

        # Every fourth debit fails; the others succeed with the amount instructed. Six messages of two.
        results = [{"instruction_id": i["id"], "bank_reference": f"B{n:04d}", "value_date": today.isoformat(),
                    "amount": i["amount"], "currency": "CNY",
                    **({"outcome": "failure", "reason_code": "insufficient_funds"} if n % 4 == 3 else
                       {"outcome": "success", "reason_code": None})} for n, i in enumerate(instructions)]
        messages = [json_bytes({"results": results[i:i + 2]}) for i in range(0, 12, 2)]
        path = f"{BANK_PATH}/results"

        async def send(n: int) -> httpx.Response:
            return await bank.post(path, content=messages[n], headers={
                **signed(key, "POST", path, body=messages[n]), "content-type": "application/json",
                "Idempotency-Key": f"results-{code}-{n}"})

        def dispositions(answer: httpx.Response) -> list[str]:
            return [x["disposition"] for x in ok(answer)["items"]]

        await system.kill("performance")  # it will have to catch up on the ledger's feed when it is back
        assert [dispositions(await send(n)) for n in (0, 1)] == [["applied", "applied"], ["applied", "failed"]]
        # (results 3, 7 and 11 are the failures)
        async with holding(system, "ledger.bank_result") as blocked:
            cut_off = asyncio.create_task(send(2))
            await blocked()
            await system.kill("ledger")
            broken_off(await asyncio.wait_for(cut_off, 10), "ledger")
        unavailable(await send(3), "ledger")
        unavailable(await gw.get("/api/v1/ledger/v1/journal/trial-balance"), "ledger")

        # The ledger back, the bank sends every message again (signed anew): each result counts once.
        await system.start("ledger")
        again = [dispositions(await send(n)) for n in range(6)]
        assert again == [["duplicate"] * 2] * 2 + [["applied", "applied"], ["applied", "failed"]] * 2
        assert all(d == ["duplicate"] * 2 for d in [dispositions(await send(n)) for n in range(6)])

        succeeded = {r["instruction_id"] for r in results if r["outcome"] == "success"}
        expected = {agent: D(0) for agent in agents}
        for i in instructions:
            expected[agent_of[i["mandate_ref"]]] += D(i["amount"]) if i["id"] in succeeded else D(0)
        assert ok(await gw.get("/api/v1/ledger/v1/bank-exceptions"))["items"] == []  # nothing held, no conflict
        for agent in agents:
            settled = ok(await gw.get("/api/v1/ledger/v1/receivables", params={
                "agent_id": agent, "status": "settled", "limit": 100}))["items"]
            still_open = ok(await gw.get("/api/v1/ledger/v1/receivables", params={
                "agent_id": agent, "status": "open", "limit": 100}))["items"]
            assert all(D(r["received"]) == D(r["amount"]) for r in settled)  # received once, not twice
            assert sum((D(r["received"]) for r in settled), D(0)) == expected[agent]
            assert all(D(r["received"]) == 0 for r in still_open)
            assert len(settled) + len(still_open) == 4
        [bank_account] = ok(await gw.get("/api/v1/ledger/v1/journal/balances", params={
            "account": "bank", "branch_id": book.branch}))
        assert D(bank_account["net_debit"]) == sum(expected.values(), D(0)) > 0
        trial = ok(await gw.get("/api/v1/ledger/v1/journal/trial-balance"))
        assert trial["balanced"] is True
        assert all(D(t["debits"]) == D(t["credits"]) for t in trial["totals"].values())

        # Performance, back after the ledger's restart and its own, has each premium as a fact, once.
        await system.start("performance")
        period = f"{today.year:04d}-{today.month:02d}"
        async def caught_up() -> bool | None:
            for agent, amount in expected.items():
                month = ok(await gw.get(f"/api/v1/performance/v1/facts/agents/{agent}", params={"period": period}))
                if sum((D(m["received_premium"]) for m in month), D(0)) != amount:
                    return None
            return True

        await eventually(caught_up, "performance's received premium matches the ledger's")


async def test_a_reconciliation_file_cut_off_between_its_parts_is_finished_when_sent_again(system: System) -> None:
    admin = await system.admin()
    today = business_date(utcnow()).isoformat()

    async with system.gateway(admin) as gw, system.gateway() as bank:
        book = await debited_book(system, admin, gw, bank)
        content = ("instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n" + "".join(
            f"{i['id']},F{n:04d},{today},{i['amount']},CNY,success,\n" for n, i in enumerate(book.instructions))
                   ).encode()
        path, query = f"{BANK_PATH}/reconciliation-files", {"file_date": today}

        async def upload() -> httpx.Response:
            return await bank.post(path, params=query, content=content, headers={
                **signed(book.key, "POST", path, query, content), "content-type": "text/csv"})

        def part_of(instruction: dict[str, Any]) -> int:  # as the ledger splits a file (reconcile.Part)
            return uuid.UUID(instruction["id"]).bytes[15] % FILE_PARTS

        # One premium's receivable is held: its part waits to settle it while the other parts commit.
        stuck = book.instructions[0]
        holder, watcher = await system.sql(), await system.sql()
        hold = holder.transaction()
        await hold.start()
        await holder.execute(
            "SELECT 1 FROM ledger.receivable WHERE id = (SELECT receivable_id FROM ledger.debit_instruction"
            " WHERE id = $1) FOR UPDATE", uuid.UUID(stuck["id"]))
        file_of = ("SELECT f.id, f.status, f.parts, array(SELECT part FROM ledger.reconciliation_file_part p"
                   " WHERE p.file_id = f.id ORDER BY part) AS done FROM ledger.reconciliation_file f"
                   " WHERE f.bank_code = $1")
        try:
            cut_off = asyncio.create_task(upload())

            async def others_committed() -> bool | None:
                found = await watcher.fetchrow(file_of, book.code)
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'",
                    system.db.role("ledger"))
                return True if found is not None and len(found["done"]) == FILE_PARTS - 1 and waiting else None

            await eventually(others_committed, "every part but the held one committed, that one waiting")
            await system.kill("ledger")
            broken_off(await asyncio.wait_for(cut_off, 10), "ledger")
        finally:
            await hold.rollback()
            await holder.close()
        applying = await watcher.fetchrow(file_of, book.code)
        assert (applying["status"], list(applying["done"])) == (
            "applying", sorted(set(range(FILE_PARTS)) - {part_of(stuck)}))
        pending = {str(r["id"]) for r in await watcher.fetch(
            "SELECT id FROM ledger.debit_instruction WHERE bank_code = $1 AND status = 'pending'", book.code)}
        assert pending == {i["id"] for i in book.instructions if part_of(i) == part_of(stuck)}

        # The ledger back, the bank sends the same file again (signed anew): the held part is applied,
        # the others are not applied twice, and the answer is the whole file's.
        await system.start("ledger")
        report = ok(await upload())
        assert (report["lines"], report["applied"], report["duplicates"], report["exceptions"], report["replayed"]) == (
            12, 12, 0, 0, False)
        assert D(report["applied_amount"]) == sum((D(i["amount"]) for i in book.instructions), D(0))
        assert {k: v for k, v in ok(await upload()).items() if k != "replayed"} == {
            k: v for k, v in report.items() if k != "replayed"}
        finished = await watcher.fetchrow(file_of, book.code)
        assert (finished["status"], list(finished["done"])) == ("applied", list(range(FILE_PARTS)))
        credited = await watcher.fetch(
            "SELECT i.amount, coalesce(sum(-p.amount), 0) AS credited FROM ledger.debit_instruction i"
            " LEFT JOIN ledger.journal_posting p ON p.receivable_id = i.receivable_id"
            "  AND p.account = 'premium_receivable' AND p.amount < 0"
            " WHERE i.bank_code = $1 GROUP BY i.id, i.amount", book.code)
        assert [r["credited"] for r in credited] == [r["amount"] for r in credited]  # each premium once
        assert ok(await gw.get("/api/v1/ledger/v1/journal/trial-balance"))["balanced"] is True
        await watcher.close()


async def test_a_hung_service_is_a_504_within_the_gateways_limit_and_answers_again_after(system: System) -> None:
    admin = await system.admin()
    async with system.gateway(admin) as gw:
        ok(await gw.get("/api/v1/activity/v1/kinds"))
        system.processes.freeze("activity")
        try:
            body = problem(await asyncio.wait_for(gw.get("/api/v1/activity/v1/kinds"), UPSTREAM_TIMEOUT + 20), 504,
                           "service_timeout")
            assert body["service"] == "activity"  # the gateway gave up at its limit: no hang, no 500
            health = await gw.get("/healthz")
            assert health.status_code == 503
            assert health.json()["services"]["activity"]["status"] == "timeout"
            assert health.json()["services"]["org"]["status"] == "ready"
            ok(await gw.get("/api/v1/org/v1/caller"))  # the others answer meanwhile
        finally:
            system.processes.thaw("activity")
        ok(await gw.get("/api/v1/activity/v1/kinds"))
        assert (await gw.get("/healthz")).status_code == 200
