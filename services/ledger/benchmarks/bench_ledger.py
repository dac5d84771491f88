"""The ledger under load (`make bench BENCH=ledger`).

A generated organisation in the ledger's replica (36 branches, 360 offices, 52,200 agents), the
ledger as a real uvicorn process (two workers: the interactive path gains about 1.5x from them on
two vCPUs), called over loopback by a lean client: keep-alive HTTP/1.1 connections over asyncio
streams on uvloop, in a thread of their own, requests prepared as bytes beforehand (httpx's pool is
slower than the service, encode/httpx#3215).

- Interactive: balanced entries posted one per request (`POST /v1/journal/entries`, an
  Idempotency-Key and a request id each), CONCURRENCY at once: a spread mix of accounts and
  sub-ledgers, then a mix where 80% of entries hit `bank`, and, interleaved with them in each
  repeat, the same transfer in bare SQL over asyncpg (BEGIN, one statement writing the entry and its
  two postings, COMMIT) at the same concurrency. 500 requests are then retried twice at once and
  must replay their first answer.
- Batches: settlement runs of BATCH lines (1-3 policies each) through
  `POST /v1/payables/settlements/{run}`, then the last run again (all already posted); and
  `journal.post_many` in-process: BATCH bank debits, BATCH commission payments (each lowering a
  guarded balance: the locking path), and the bank debits again with the journal's balance triggers
  disabled in a transaction that is rolled back, for their cost.
- Aging: RECEIVABLES open premiums (and a fifth as many settled) copied in, spread as a book is,
  deadlines on the seeded working-day calendar; `GET /v1/receivables/aging` by institution and by
  agent, each answer compared row by row with a plain GROUP BY written separately.
- Reconciliation: RECON_LINES premiums of one branch paid by auto-debit, each with its instruction
  sent to the bank (set up by SQL), then the bank's file of RECON_LINES results (2% failures, some
  results twice, some amounts wrong, some lines naming nothing we sent) through
  `POST /v1/bank/reconciliation-files` on one request, its report checked against what the file
  holds; then the same file again (answered from its first report).

After everything, the database is checked: trial balance zero per currency, every entry balanced and
with postings, each request id and each source posted once, every guarded balance equal to its
sub-ledger in the journal and never below zero. Every figure is the best of REPEATS.
BENCH_LEDGER_{ONLY,ENTRIES,BATCH,RECEIVABLES,RECON_LINES,WORKERS,REPEATS,CONCURRENCY} change it for quick runs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import text

from ledger_service import journal
from ledger_service.calendar import WorkingCalendar
from ledger_service.postings import Line
from svckit.db import Database, libpq_dsn
from svckit.internal_auth import mint_internal_token
from svckit.ops import loadgen
from svckit.ops.bench import BenchContext, Figure
from svckit.ops.loadgen import Run, drive, in_thread, serve
from svckit.scope import DataScope

CONCURRENCY = int(os.environ.get("BENCH_LEDGER_CONCURRENCY", "32"))
ENTRIES = int(os.environ.get("BENCH_LEDGER_ENTRIES", "20000"))
WORKERS = int(os.environ.get("BENCH_LEDGER_WORKERS", "2"))
REPEATS = int(os.environ.get("BENCH_LEDGER_REPEATS", "3"))
BRANCHES, OFFICES_PER_BRANCH = 36, 10
HQ = 1


# ---------------------------------------------------------------------------------------------
# The organisation as the ledger's replica holds it.


class Org(NamedTuple):
    branches: list[int]
    offices: dict[int, list[int]]          # branch -> offices
    agents: list[tuple[int, int, int]]     # (agent, office, branch)


async def load_org(conn: asyncpg.Connection) -> Org:
    """HQ, 36 branches of 10 offices; per office a director, 4 department managers (a team each),
    5 supervisors under each manager and 6 agents under each supervisor: 145 people an office."""
    branches = [100 + b for b in range(BRANCHES)]
    offices = {b: [1000 + 10 * (b - 100) + o for o in range(OFFICES_PER_BRANCH)] for b in branches}
    institutions = [(HQ, [HQ], "总公司")] + [(b, [HQ, b], f"分公司{b}") for b in branches] + [
        (o, [HQ, b, o], f"营销服务部{o}") for b in branches for o in offices[b]]
    agents: list[tuple[int, list[int], int, int, str]] = []
    people: list[tuple[int, int, int]] = []
    next_id = 100_000
    for b in branches:
        for o in offices[b]:
            director = next_id
            next_id += 1
            agents.append((director, [], o, o * 10, "director"))
            for m in range(4):
                manager, team = next_id, o * 10 + m
                next_id += 1
                agents.append((manager, [director], o, team, "department_manager"))
                for _ in range(5):
                    supervisor = next_id
                    next_id += 1
                    agents.append((supervisor, [director, manager], o, team, "supervisor"))
                    for _ in range(6):
                        agents.append((next_id, [director, manager, supervisor], o, team, "agent"))
                        next_id += 1
    for agent, _, office, _, _ in agents:
        people.append((agent, office, 100 + (office - 1000) // 10))
    await conn.copy_records_to_table("org_institution", schema_name="ledger",
                                     columns=["institution_id", "path", "name"], records=institutions)
    await conn.copy_records_to_table("org_agent", schema_name="ledger", columns=[
        "agent_id", "path", "institution_id", "team_id", "rank_code", "status"],
        records=[(a, p, o, t, r, "active") for a, p, o, t, r in agents])
    await conn.execute("ANALYZE ledger.org_agent; ANALYZE ledger.org_institution")
    return Org(branches, offices, people)


# ---------------------------------------------------------------------------------------------
# The service as a process, and a lean HTTP/1.1 client.


@contextmanager
def service(ctx: BenchContext, workers: int) -> Iterator[tuple[int, int]]:
    env = {"LEDGER_DATABASE_URL": ctx.db.dsn("ledger"), "INTERNAL_TOKEN_SECRET": ctx.internal_secret,
           "LEDGER_DB_POOL_SIZE": str(max(CONCURRENCY // workers, 10))}
    os.environ.pop("LEDGER_ORG_URL", None)
    with serve("ledger_service.app:create_app", env, root=ctx.root, workers=workers, name="ledger") as running:
        yield running


def http_request(method: str, path: str, token: str, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
    return loadgen.http_request(method, path, token, body, headers, host="ledger")


# ---------------------------------------------------------------------------------------------
# Interactive entries.

SPREAD = [
    # (debit, credit, dimensions named on the lines)
    ("cash", "premium_receivable", ("agent_id", "policy_id", "customer_id")),
    ("premium_receivable", "premium_income", ("agent_id", "policy_id", "customer_id")),
    ("commission_expense", "commission_payable", ("agent_id",)),
    ("clawback_receivable", "commission_expense", ("agent_id", "policy_id")),
    ("bank", "premium_receivable", ("agent_id", "policy_id", "customer_id")),
    ("cash", "premium_income", ("agent_id",)),
]
HOT = ("bank", "premium_receivable", ("agent_id", "policy_id", "customer_id"))


def entry_body(rng: random.Random, org: Org, template: tuple[str, str, tuple[str, ...]]) -> dict[str, Any]:
    agent, _, branch = rng.choice(org.agents)
    amount = f"{rng.randint(100, 500_000) / 100:.2f}"
    dims = {"agent_id": agent, "policy_id": rng.randint(1, 5_000_000), "customer_id": rng.randint(1, 5_000_000)}
    named = {k: dims[k] for k in template[2]}
    return {"branch_id": branch, "effective_on": "2026-11-27", "description": "bench entry", "postings": [
        {"account": template[0], "side": "debit", "amount": amount, **named},
        {"account": template[1], "side": "credit", "amount": amount, **named}]}


def entry_requests(rng: random.Random, org: Org, token: str, n: int, *, hot: float, tag: str) -> list[bytes]:
    requests = []
    for i in range(n):
        template = HOT if rng.random() < hot else rng.choice(SPREAD)
        key = f"bench-{tag}-{i}"
        requests.append(http_request("POST", "/v1/journal/entries", token, entry_body(rng, org, template),
                                     {"Idempotency-Key": key, "X-Request-ID": key}))
    return requests


# The entry and its two postings in one statement (the journal's balance trigger refuses an entry
# whose postings another statement would add).
RAW_TRANSFER = (
    "WITH e AS (INSERT INTO ledger.journal_entry (branch_id, kind, description, effective_on, actor, request_id)"
    "  VALUES ($1, 'manual', 'bench entry', '2026-11-27', 'bench', $2) RETURNING branch_id, id, posted_at)"
    " INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount, agent_id,"
    "  posted_at)"
    " SELECT e.branch_id, e.id, v.line_no, v.account, 'CNY', v.amount, $6, e.posted_at"
    " FROM e, (VALUES (1, $3, $5::numeric), (2, $4, -$5::numeric)) AS v(line_no, account, amount)"
)


async def raw_transfers(dsn: str, rng: random.Random, org: Org, n: int, tag: str) -> Run:
    """The same double-entry transfer in bare SQL: one transaction (BEGIN, the statement, COMMIT)
    inserting the entry and its two postings, at the same concurrency, over asyncpg."""
    work = []
    for i in range(n):
        debit, credit, _ = rng.choice(SPREAD)
        agent, _, branch = rng.choice(org.agents)
        work.append((branch, f"raw-{tag}-{i}", debit, credit, Decimal(rng.randint(100, 500_000)) / 100, agent))

    async def transfer(conn: asyncpg.Connection, k: int) -> None:
        await conn.execute(RAW_TRANSFER, *work[k])

    return await loadgen.drive_sql(dsn, n, transfer, concurrency=CONCURRENCY, connections=CONCURRENCY)


def check_answers(run: Run, status: int) -> None:
    bad = [(s, b[:300]) for s, b in run.answers if s != status]
    if bad:
        raise RuntimeError(f"{len(bad)} requests answered otherwise than {status}: {bad[:3]}")


INVARIANTS = """
WITH journal AS (
  SELECT p.account, p.currency, CASE a.guard_by WHEN 'agent' THEN p.agent_id WHEN 'customer' THEN p.customer_id
    WHEN 'policy' THEN p.policy_id ELSE p.branch_id END AS subledger_id,
    sum(p.amount) * CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END AS balance
  FROM ledger.journal_posting p JOIN ledger.account a ON a.code = p.account AND a.guarded
  JOIN ledger.journal_entry e ON e.branch_id = p.branch_id AND e.id = p.entry_id
  WHERE coalesce(e.request_id, '') NOT LIKE 'raw-%'
  GROUP BY 1, 2, 3, a.kind)
SELECT
  (SELECT count(*) FROM (SELECT currency FROM ledger.journal_posting GROUP BY currency HAVING sum(amount) <> 0) t)
    AS unbalanced_currencies,
  (SELECT count(*) FROM (SELECT 1 FROM ledger.journal_posting GROUP BY branch_id, entry_id, currency
                         HAVING sum(amount) <> 0) t) AS unbalanced_entries,
  (SELECT count(*) FROM ledger.journal_entry e WHERE NOT EXISTS (
     SELECT 1 FROM ledger.journal_posting p WHERE p.branch_id = e.branch_id AND p.entry_id = e.id)) AS empty_entries,
  (SELECT count(*) - count(DISTINCT request_id) FROM ledger.journal_entry WHERE request_id LIKE 'bench-%')
    AS duplicate_requests,
  (SELECT count(*) - count(DISTINCT (branch_id, source)) FROM ledger.journal_entry WHERE source IS NOT NULL)
    AS duplicate_sources,
  (SELECT count(*) FROM ledger.guarded_balance g FULL JOIN journal j USING (account, currency, subledger_id)
   WHERE g.balance < 0 OR coalesce(g.balance, 0) <> coalesce(j.balance, 0)) AS guards_off_the_journal
"""


async def interactive(ctx: BenchContext, conn: asyncpg.Connection, org: Org, port: int, token: str,
                      ) -> dict[str, Any]:
    rng = random.Random(11)  # noqa: S311 - reproducible load
    dsn = libpq_dsn(ctx.db.dsn("ledger"))
    warm = entry_requests(rng, org, token, 2_000, hot=0.0, tag="warm")
    warmed = await in_thread(lambda: drive(port, warm, CONCURRENCY))
    check_answers(warmed, 201)
    spread: list[Run] = []
    hot: list[Run] = []
    raw: list[Run] = []
    sent = len(warm)
    for r in range(REPEATS):
        spread_requests = entry_requests(rng, org, token, ENTRIES, hot=0.0, tag=f"spread{r}")
        hot_requests = entry_requests(rng, org, token, ENTRIES, hot=0.8, tag=f"hot{r}")
        spread.append(await in_thread(lambda: drive(port, spread_requests, CONCURRENCY)))  # noqa: B023
        hot.append(await in_thread(lambda: drive(port, hot_requests, CONCURRENCY)))  # noqa: B023
        raw.append(await in_thread(lambda: raw_transfers(dsn, rng, org, ENTRIES, f"{r}")))  # noqa: B023
        check_answers(spread[-1], 201)
        check_answers(hot[-1], 201)
        sent += 2 * ENTRIES
    # Retries with the same Idempotency-Key, all at once: each replays its first answer.
    replays = entry_requests(random.Random(11), org, token, 500, hot=0.0, tag="warm")  # noqa: S311
    replayed = await in_thread(lambda: drive(port, replays + replays, CONCURRENCY))
    check_answers(replayed, 201)
    if any(a != b for a, b in zip(replayed.answers, warmed.answers[:500] * 2, strict=True)):
        raise RuntimeError("a retried request did not replay its first answer")
    posted = await conn.fetchval("SELECT count(*) FROM ledger.journal_entry WHERE request_id LIKE 'bench-%'")
    best_spread = max(spread, key=lambda x: x.rate)
    best_hot = max(hot, key=lambda x: x.rate)
    best_raw = max(raw, key=lambda x: x.rate)
    return {
        "spread": best_spread, "hot": best_hot, "raw": best_raw, "missing_or_extra": posted - sent,
        "all_spread": [x.rate for x in spread], "all_hot": [x.rate for x in hot],
        "all_raw": [x.rate for x in raw],
    }


# ---------------------------------------------------------------------------------------------
# Batches: a settlement run's payables over HTTP, and journal.post_many in-process.

BATCH = int(os.environ.get("BENCH_LEDGER_BATCH", "10000"))
TRIGGERS = (("journal_posting", "balanced"), ("journal_posting", "refer"), ("journal_entry", "complete"))


def settlement(rng: random.Random, org: Org) -> dict[str, Any]:
    """A month's commission for BATCH agents, each earned on one to three policies."""
    lines = []
    for agent, _, _ in rng.sample(org.agents, BATCH):
        parts = [Decimal(rng.randint(1_000, 300_000)) / 100 for _ in range(rng.randint(1, 3))]
        lines.append({"agent_id": agent, "amount": str(sum(parts)), "policies": [
            {"policy_id": rng.randint(1, 5_000_000), "amount": str(p)} for p in parts]})
    return {"period": "2026-11", "effective_on": "2026-11-30", "lines": lines}


async def settlements(port: int, org: Org, token: str) -> dict[str, Any]:
    """POST /v1/payables/settlements/{run} with BATCH lines, REPEATS runs; then the last run again
    (every line already posted)."""
    rng = random.Random(31)  # noqa: S311 - reproducible load
    seconds, posted_agents = [], set()
    request = b""
    for r in range(REPEATS):
        body = settlement(rng, org)
        request = http_request("POST", f"/v1/payables/settlements/bench-2026-11-{r}", token, body)
        run = await in_thread(lambda: drive(port, [request], 1))  # noqa: B023
        check_answers(run, 200)
        answer = json.loads(run.answers[0][1])
        if len(answer) != BATCH or any(x["status"] != "posted" for x in answer):
            raise RuntimeError("a settlement line was not posted")
        posted_agents |= {x["agent_id"] for x in answer}
        seconds.append(run.seconds)
    retry = await in_thread(lambda: drive(port, [request], 1))
    check_answers(retry, 200)
    if any(x["status"] != "already_posted" for x in json.loads(retry.answers[0][1])):
        raise RuntimeError("a retried settlement line posted again")
    return {"seconds": min(seconds), "retry": retry.seconds, "agents": sorted(posted_agents)}


def bank_entries(rng: random.Random, org: Org, tag: str) -> list[journal.NewEntry]:
    """A bank file's successful debits: Dr bank / Cr premium receivable, each with its source."""
    entries = []
    for i in range(BATCH):
        agent, _, branch = rng.choice(org.agents)
        amount = Decimal(rng.randint(10_000, 2_000_000)) / 100
        dims = {"agent_id": agent, "policy_id": rng.randint(1, 5_000_000), "customer_id": rng.randint(1, 2_000_000),
                "receivable_id": rng.randint(1, 5_000_000)}
        entries.append(journal.NewEntry(branch, "bank_debit", f"auto-debit {tag}-{i}", AS_OF, [
            Line("bank", "debit", amount, "CNY", **dims), Line("premium_receivable", "credit", amount, "CNY", **dims)],
            source=f"bench_result:{tag}:{i}"))
    return entries


def payments(rng: random.Random, org: Org, agents: Sequence[int]) -> list[journal.NewEntry]:
    """Commission paid out to BATCH agents (each owed from a settlement above): every entry lowers a
    guarded balance, so the batch takes the locking path, replayed entry by entry."""
    branch = {a: b for a, _, b in org.agents}
    return [journal.NewEntry(branch[a], "commission_payment", "commission paid", AS_OF, [
        Line("commission_payable", "debit", Decimal("1.00"), "CNY", agent_id=a),
        Line("bank", "credit", Decimal("1.00"), "CNY", agent_id=a)]) for a in rng.sample(list(agents), BATCH)]


async def post_many_in_process(ctx: BenchContext, org: Org, agents: Sequence[int]) -> dict[str, Any]:
    """journal.post_many of BATCH entries and commit, REPEATS times each: bank debits (no guarded
    account), commission payments (guarded balances falling), and the bank debits again with the
    journal's balance triggers disabled inside a transaction rolled back (their cost)."""
    rng = random.Random(37)  # noqa: S311 - reproducible load
    db = Database.connect(ctx.db.dsn("ledger"), schema="ledger", pool_size=2)
    timings: dict[str, list[float]] = {"bank": [], "bank_commit": [], "payments": [], "untriggered": []}
    try:
        for r in range(REPEATS):
            for name, entries in (("bank", bank_entries(rng, org, f"b{r}")), ("payments", payments(rng, org, agents))):
                async with db.sessionmaker() as session:
                    started = time.perf_counter()
                    posted = await journal.post_many(session, entries, actor="bench")
                    statements = time.perf_counter() - started
                    await session.commit()
                    timings[name].append(time.perf_counter() - started)
                    if name == "bank":
                        timings["bank_commit"].append(timings[name][-1] - statements)
                    if not all(posted):
                        raise RuntimeError(f"{name}: an entry was not posted")
            entries = bank_entries(rng, org, f"u{r}")
            async with db.sessionmaker() as session:
                for table, trigger in TRIGGERS:
                    await session.execute(text(f"ALTER TABLE ledger.{table} DISABLE TRIGGER {trigger}"))
                started = time.perf_counter()
                await journal.post_many(session, entries, actor="bench")
                timings["untriggered"].append(time.perf_counter() - started)
                await session.rollback()
    finally:
        await db.dispose()
    return {k: min(v) for k, v in timings.items()}


# ---------------------------------------------------------------------------------------------
# Aging over 1,000,000 open receivables.

AS_OF = date(2026, 11, 27)
RECEIVABLES = int(os.environ.get("BENCH_LEDGER_RECEIVABLES", "1000000"))
SETTLED = RECEIVABLES // 5
SIZE = "1m" if RECEIVABLES == 1_000_000 else str(RECEIVABLES)
RECEIVABLE_COLUMNS = ["branch_id", "policy_id", "installment_no", "agent_id", "institution_id", "customer_id",
                      "policyholder_kind", "due_on", "deadline_on", "currency", "amount", "received", "status",
                      "settled_at"]


async def working_calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    """The calendar the service counts deadlines on, as its migration seeded it."""
    years = {r["year"] for r in await conn.fetch("SELECT year FROM ledger.calendar_year")}
    days = {r["day"]: r["kind"] for r in await conn.fetch("SELECT day, kind FROM ledger.calendar_day")}
    return WorkingCalendar(frozenset(years), days)


def receivable_rows(rng: random.Random, org: Org, known: WorkingCalendar, count: int, *, open_: bool,
                    first_policy: int) -> Iterator[tuple[Any, ...]]:
    """Premiums due, spread as a book is: a third not yet due (the next two months), a quarter due in
    the last three weeks, the rest overdue with a long tail (mean 90 days, up to three years); agents
    busier than others; 15% organisations (20 working days to collect); some partly received; a few
    in dollars. Deadlines on the working-day calendar, exactly as the service counts them."""
    deadline_cache: dict[tuple[date, int], date] = {}
    weights = [1.0 + (n % 17) for n in range(len(org.agents))]
    agents = rng.choices(org.agents, weights=weights, k=count)
    policy, installment = first_policy, 0
    for n in range(count):
        agent, office, branch = agents[n]
        if installment == 0 or rng.random() < 0.3:
            policy, installment = policy + 1, 0
        installment += 1
        roll = rng.random()
        if roll < 0.35:
            due = AS_OF + timedelta(days=rng.randint(1, 60))
        elif roll < 0.6:
            due = AS_OF - timedelta(days=rng.randint(0, 20))
        else:
            due = AS_OF - timedelta(days=min(int(rng.expovariate(1 / 90)) + 1, 1095))
        if not open_:
            due = AS_OF - timedelta(days=rng.randint(0, 1095))
        organisation = rng.random() < 0.15
        days = 20 if organisation else 5
        deadline = deadline_cache.get((due, days))
        if deadline is None:
            deadline = deadline_cache[(due, days)] = known.add_working_days(due, days).on
        currency = "CNY" if rng.random() < 0.98 else rng.choice(["USD", "HKD"])
        amount = Decimal(round(rng.lognormvariate(8.0, 1.0), 2)).quantize(Decimal("0.01")) + Decimal("1.00")
        if open_:
            received = (amount * Decimal(rng.randint(1, 90)) / 100).quantize(Decimal("0.01")) if (
                rng.random() < 0.1) else Decimal(0)
            status, settled_at = "open", None
        else:
            received, status, settled_at = amount, "settled", datetime(2026, 1, 1, tzinfo=UTC)
        yield (branch, policy, installment, agent, office, rng.randint(1, 2_000_000),
               "organisation" if organisation else "individual", due, deadline, currency, amount, received, status,
               settled_at)


async def load_receivables(conn: asyncpg.Connection, org: Org) -> float:
    """COPY the book into ledger.receivable; seconds taken."""
    rng = random.Random(23)  # noqa: S311 - reproducible data
    known = await working_calendar(conn)
    started = time.perf_counter()
    # Policy ids far above any real policy's: the reconciliation stage after this one issues real
    # policies (ids from 1) in the same branch, and (branch, policy, installment) is unique.
    for open_, count, first in ((True, RECEIVABLES, 500_000_000), (False, SETTLED, 550_000_000)):
        rows = receivable_rows(rng, org, known, count, open_=open_, first_policy=first)
        while chunk := list(itertools.islice(rows, 100_000)):
            await conn.copy_records_to_table("receivable", schema_name="ledger", columns=RECEIVABLE_COLUMNS,
                                             records=chunk)
    await conn.execute("VACUUM (ANALYZE) ledger.receivable")
    return time.perf_counter() - started


# The report as a plain GROUP BY over the table, written independently of the service's query.
PLAIN_AGING = """
SELECT {key} AS group_id, r.currency,
  coalesce(sum(r.amount - r.received) FILTER (WHERE r.due_on > $1), 0) AS not_due,
  coalesce(sum(r.amount - r.received) FILTER (WHERE r.due_on <= $1 AND r.deadline_on >= $1), 0) AS within_deadline,
  coalesce(sum(r.amount - r.received) FILTER (WHERE $1 - r.deadline_on BETWEEN 1 AND 30), 0) AS b1,
  coalesce(sum(r.amount - r.received) FILTER (WHERE $1 - r.deadline_on BETWEEN 31 AND 60), 0) AS b2,
  coalesce(sum(r.amount - r.received) FILTER (WHERE $1 - r.deadline_on BETWEEN 61 AND 90), 0) AS b3,
  coalesce(sum(r.amount - r.received) FILTER (WHERE $1 - r.deadline_on BETWEEN 91 AND 180), 0) AS b4,
  coalesce(sum(r.amount - r.received) FILTER (WHERE $1 - r.deadline_on > 180), 0) AS b5,
  count(*) AS receivables
FROM ledger.receivable r WHERE r.status = 'open' GROUP BY 1, 2 ORDER BY 1, 2
"""


def aging_rows(body: bytes) -> list[tuple[Any, ...]]:
    rows = json.loads(body)["rows"]
    return [(r["group_id"], r["currency"], Decimal(r["not_due"]), Decimal(r["within_deadline"]),
             *(Decimal(v) for v in r["overdue"].values()), r["receivables"]) for r in rows]


async def aging(conn: asyncpg.Connection, port: int, token: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for group_by, key in (("institution", "r.institution_id"), ("agent", "r.agent_id")):
        request = http_request("GET", f"/v1/receivables/aging?on={AS_OF}&group_by={group_by}", token)
        answers = [await in_thread(lambda: drive(port, [request], 1)) for _ in range(REPEATS)]  # noqa: B023
        check_answers(answers[0], 200)
        sql_times, expected = [], []
        for _ in range(REPEATS):
            started = time.perf_counter()
            expected = [tuple(r) for r in await conn.fetch(PLAIN_AGING.format(key=key), AS_OF)]
            sql_times.append(time.perf_counter() - started)
        got = aging_rows(answers[0].answers[0][1])
        result[group_by] = {"seconds": min(a.seconds for a in answers), "sql": min(sql_times), "groups": len(got),
                            "differing": len(set(got) ^ set(expected)) + abs(len(got) - len(expected))}
    return result


RECON_LINES = int(os.environ.get("BENCH_LEDGER_RECON_LINES", "1000000"))
RECON_SIZE = "1m" if RECON_LINES == 1_000_000 else str(RECON_LINES)
BANK = "bench-bank"


async def load_debits(conn: asyncpg.Connection, org: Org, lines: int) -> tuple[float, list[tuple[str, Decimal]]]:
    """One branch's book of premiums paid by auto-debit, each with its instruction sent to the bank
    (written by SQL: this is setting the stage, not what is measured). Returns (seconds, instructions)."""
    started = time.perf_counter()
    branch = org.branches[0]
    people = [(a, o) for a, o, b in org.agents if b == branch]
    await conn.execute("INSERT INTO ledger.bank_account (bank_code, name, branch_id, updated_by)"
                       " VALUES ($1, 'bench bank', $2, 'bench')", BANK, branch)
    await conn.execute(
        "INSERT INTO ledger.customer (kind, name, external_ref)"
        " SELECT 'individual', 'c', 'recon-' || g FROM generate_series(1, $1) g", lines)
    await conn.execute(
        "INSERT INTO ledger.policy (policy_no, branch_id, institution_id, agent_id, customer_id, product_code,"
        "  insurer, currency, premium, frequency, payment_mode, issued_on, status_on, mandate_ref, installments_due)"
        " SELECT 'R' || c.external_ref, $1, ($3::bigint[])[1 + c.id % cardinality($3::bigint[])],"
        "  ($2::bigint[])[1 + c.id % cardinality($2::bigint[])], c.id, 'LIFE', 'us', 'CNY', 100 + (c.id * 37) % 9900,"
        "  'annual', 'bank_debit', DATE '2026-11-02', DATE '2026-11-02', 'M' || c.id, 1"
        " FROM ledger.customer c WHERE c.external_ref LIKE 'recon-%'",
        branch, [a for a, _ in people], [o for _, o in people])
    await conn.execute(
        "INSERT INTO ledger.receivable (branch_id, policy_id, installment_no, agent_id, institution_id, customer_id,"
        "  policyholder_kind, due_on, deadline_on, currency, amount)"
        " SELECT branch_id, id, 1, agent_id, institution_id, customer_id, 'individual', DATE '2026-11-25',"
        "  DATE '2026-12-02', 'CNY', premium FROM ledger.policy WHERE policy_no LIKE 'Rrecon-%'")
    batch = await conn.fetchval(
        "INSERT INTO ledger.debit_batch (bank_code, due_through, instructions, total, currency, created_by)"
        " VALUES ($1, DATE '2026-11-30', 0, 0, 'CNY', 'bench') RETURNING id", BANK)
    await conn.execute(
        "INSERT INTO ledger.debit_instruction (id, batch_id, bank_code, branch_id, receivable_id, policy_id,"
        "  agent_id, institution_id, customer_id, mandate_ref, amount, currency)"
        " SELECT gen_random_uuid(), $1, $2, r.branch_id, r.id, r.policy_id, r.agent_id, r.institution_id,"
        "  r.customer_id, 'M' || r.customer_id, r.amount, 'CNY'"
        " FROM ledger.receivable r JOIN ledger.policy p ON p.id = r.policy_id WHERE p.policy_no LIKE 'Rrecon-%'",
        batch, BANK)
    await conn.execute("VACUUM (ANALYZE) ledger.debit_instruction, ledger.receivable, ledger.policy")
    rows = await conn.fetch("SELECT CAST(id AS text), amount FROM ledger.debit_instruction WHERE bank_code = $1"
                            " ORDER BY id", BANK)
    return time.perf_counter() - started, [(r[0], r[1]) for r in rows]


def reconciliation_file(rng: random.Random, instructions: Sequence[tuple[str, Decimal]]) -> tuple[bytes, Counter[str]]:
    """A bank's day: mostly successes, 2% failures, some results sent twice, some amounts wrong, some
    lines naming nothing we sent. Returns the file and what each line should do."""
    out = ["instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code"]
    expect: Counter[str] = Counter()
    for n, (instruction, amount) in enumerate(instructions):
        draw = rng.random()
        if draw < 0.02:
            out.append(f"{instruction},B{n},2026-11-30,{amount:.2f},CNY,failure,insufficient_funds")
            expect["failed"] += 1
        elif draw < 0.023:
            out.append(f"{instruction},B{n},2026-11-30,{amount + 1:.2f},CNY,success,")
            expect["exceptions"] += 1
        else:
            out.append(f"{instruction},B{n},2026-11-30,{amount:.2f},CNY,success,")
            expect["applied"] += 1
            if draw > 0.995:  # the same result again, later in the file
                out.append(f"{instruction},B{n},2026-11-30,{amount:.2f},CNY,success,")
                expect["duplicates"] += 1
        if draw < 0.001:
            out.append(f",X{n},2026-11-30,10.00,CNY,success,")
            expect["exceptions"] += 1
    return ("\n".join(out) + "\n").encode(), expect


def upload(port: int, token: str, content: bytes) -> tuple[int, bytes, float]:
    """The file through the bank's endpoint on one HTTP request; (status, body, seconds)."""
    import http.client

    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1200)
    connection.request("POST", "/v1/bank/reconciliation-files?file_date=2026-11-30", body=content, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, time.perf_counter() - started


async def recon(ctx: BenchContext, conn: asyncpg.Connection, org: Org, port: int) -> dict[str, Any]:
    loaded, instructions = await load_debits(conn, org, RECON_LINES)
    content, expect = reconciliation_file(random.Random(31), instructions)  # noqa: S311 - reproducible data
    bank = mint_internal_token(ctx.internal_secret, caller_service="gateway", audience="ledger",
                               user_id=f"partner:{BANK}", username=BANK, roles={"partner_bank"},
                               ttl=timedelta(hours=2))
    status, body, seconds = await asyncio.to_thread(upload, port, bank, content)
    if status != 200:
        raise RuntimeError(f"reconciliation file answered {status}: {body[:500]!r}")
    report = json.loads(body)
    wrong = sum(abs(report[k] - v) for k, v in expect.items())
    print(f"# reconciliation: {len(content) / 1e6:.0f} MB, {report}", flush=True)
    again_status, again, again_seconds = await asyncio.to_thread(upload, port, bank, content)
    replayed = again_status == 200 and json.loads(again)["replayed"] is True
    return {"seconds": seconds, "lines": report["lines"], "load": loaded, "wrong": wrong,
            "replay_seconds": again_seconds, "replayed": replayed}


def recon_figures(result: dict[str, Any]) -> list[Figure]:
    return [
        Figure(f"recon_{RECON_SIZE}_s", result["seconds"], "s"),
        Figure("recon_lines_per_s", result["lines"] / result["seconds"], "/s"),
        Figure("recon_replay_s", result["replay_seconds"], "s"),
        Figure("recon_counts_differing_from_the_file", result["wrong"] + (0 if result["replayed"] else 1), "lines"),
    ]


STAGES = set(os.environ.get("BENCH_LEDGER_ONLY", "interactive,batch,aging,recon").split(","))


async def run(ctx: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    conn = await asyncpg.connect(libpq_dsn(ctx.db.dsn("ledger")))
    try:
        org = await load_org(conn)
        token = mint_internal_token(ctx.internal_secret, caller_service="gateway", audience="ledger",
                                    user_id="bench-admin", username="bench-admin", roles={"admin"},
                                    ttl=timedelta(hours=2), scope=DataScope(everything=True))
        with service(ctx, WORKERS) as (port, _):
            if "interactive" in STAGES:
                figures += interactive_figures(await interactive(ctx, conn, org, port, token))
            if "batch" in STAGES:
                paid = await settlements(port, org, token)
                figures += batch_figures(paid, await post_many_in_process(ctx, org, paid["agents"]))
            if "aging" in STAGES:
                loaded = await load_receivables(conn, org)
                figures.append(Figure("receivables_load_s", loaded, "s"))
                figures += aging_figures(await aging(conn, port, token))
            if "recon" in STAGES:
                figures += recon_figures(await recon(ctx, conn, org, port))
        # After everything posted above (the bare-SQL baseline's entries keep no guarded balances).
        violations = dict(await conn.fetchrow(INVARIANTS))
        print("# invariants after the run:", violations, flush=True)
        figures.append(Figure("invariant_violations", sum(violations.values()), "violations"))
    finally:
        await conn.close()
    return figures


def interactive_figures(result: dict[str, Any]) -> list[Figure]:
    print("# spread", result["all_spread"], "hot", result["all_hot"], "raw", result["all_raw"], flush=True)
    spread, hot, raw = result["spread"], result["hot"], result["raw"]
    return [
        Figure("postings_per_s", spread.rate, "/s"),
        Figure("postings_p50_ms", statistics.median(spread.latencies) * 1000, "ms"),
        Figure("postings_p99_ms", spread.p(99), "ms"),
        Figure("hot_postings_per_s", hot.rate, "/s"),
        Figure("hot_postings_p99_ms", hot.p(99), "ms"),
        Figure("hot_account_drop_ratio", spread.rate / hot.rate, "x"),
        Figure("raw_postings_per_s", raw.rate, "/s"),
        Figure("postings_ratio_to_raw", spread.rate / raw.rate, "x"),
        Figure("requests_without_exactly_one_entry", abs(result["missing_or_extra"]), "requests"),
    ]


def batch_figures(http: dict[str, Any], local: dict[str, float]) -> list[Figure]:
    return [
        Figure("batch_postings_per_s", BATCH / http["seconds"], "/s"),
        Figure("batch_settlement_10k_s", http["seconds"], "s"),
        Figure("batch_settlement_retry_10k_s", http["retry"], "s"),
        Figure("post_many_per_s", BATCH / local["bank"], "/s"),
        Figure("post_many_commit_ms", local["bank_commit"] * 1000, "ms"),
        Figure("post_many_guard_falling_per_s", BATCH / local["payments"], "/s"),
        Figure("post_many_untriggered_per_s", BATCH / local["untriggered"], "/s"),
        Figure("balance_trigger_share", 1 - local["untriggered"] / (local["bank"] - local["bank_commit"]), "x"),
    ]


def aging_figures(result: dict[str, Any]) -> list[Figure]:
    by_agent, by_institution = result["agent"], result["institution"]
    return [
        Figure(f"aging_{SIZE}_s", max(by_agent["seconds"], by_institution["seconds"]), "s"),
        Figure(f"aging_{SIZE}_institution_s", by_institution["seconds"], "s"),
        Figure(f"aging_{SIZE}_agent_s", by_agent["seconds"], "s"),
        Figure(f"aging_{SIZE}_plain_sql_institution_s", by_institution["sql"], "s"),
        Figure(f"aging_{SIZE}_plain_sql_agent_s", by_agent["sql"], "s"),
        Figure("aging_groups_agent", by_agent["groups"], "rows"),
        Figure("aging_rows_differing_from_plain_sql", by_agent["differing"] + by_institution["differing"], "rows"),
    ]
