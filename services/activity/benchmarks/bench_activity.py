"""The activity log under load, through the gateway (`make bench BENCH=activity`).

Real processes on loopback: org (the gateway asks it each user's data scope), activity (its copy of
the organisation kept from org's feed by its own worker) and the gateway, each a uvicorn process;
durable commits (synchronous_commit on, the server's default). USERS agents are hired through org's
API with gateway accounts of their own and log in with their passwords.

- Echo: a bare FastAPI echo endpoint (svckit.ops.echo) under the same server, the same entry bodies,
  CONCURRENCY clients: the ceiling of the framework on this machine.
- Single entries: one entry per request (`POST /v1/entries`, a new app-generated id each), CONCURRENCY
  clients, straight to activity (internal tokens minted as the gateway does) and through the gateway
  (people's access tokens), interleaved in each repeat; then the same one at a time to read the
  median the gateway adds.
- Batch sync: offline batches of BATCH entries over the past week per agent (`POST /v1/entries/sync`)
  through the gateway, SYNC_CONCURRENCY at once; then one batch again, which must change nothing.
- Compliance: COMPLIANCE_AGENTS more agents in activity's copy of the organisation (one branch, 20
  offices, teams of 10) with a month of days in numbers (5-3-1 counts spread as agents work), and the
  month's report for all of them, per agent, through the gateway by back office.

Afterwards the database is checked: one entry per accepted item, each agent's days adding up to
their entries. Every figure is the best of REPEATS. BENCH_ACTIVITY_{USERS,SINGLE,BATCH,BATCHES,
CONCURRENCY,SYNC_CONCURRENCY,COMPLIANCE_AGENTS,WORKERS,GATEWAY_WORKERS,REPEATS,ONLY} change it
(ONLY: a comma-separated choice of single, sync, compliance).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from activity_service import entries, workdays
from gateway_service import accounts
from gateway_service.models import SCHEMA as GATEWAY_SCHEMA
from gateway_service.roles import Role
from gateway_service.settings import GatewaySettings
from svckit.db import Database, libpq_dsn
from svckit.internal_auth import mint_internal_token
from svckit.ops.bench import BenchContext, Figure
from svckit.ops.loadgen import Run, drive, drive_sql, http_request, in_thread, serve
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers
from svckit.testing.org import company, hire
from svckit.timeutil import business_date, utcnow

USERS = int(os.environ.get("BENCH_ACTIVITY_USERS", "100"))
SINGLE = int(os.environ.get("BENCH_ACTIVITY_SINGLE", "6000"))
BATCH = int(os.environ.get("BENCH_ACTIVITY_BATCH", "500"))
BATCHES = int(os.environ.get("BENCH_ACTIVITY_BATCHES", "120"))
CONCURRENCY = int(os.environ.get("BENCH_ACTIVITY_CONCURRENCY", "100"))
SYNC_CONCURRENCY = int(os.environ.get("BENCH_ACTIVITY_SYNC_CONCURRENCY", "24"))
COMPLIANCE_AGENTS = int(os.environ.get("BENCH_ACTIVITY_COMPLIANCE_AGENTS", "10000"))
WORKERS = int(os.environ.get("BENCH_ACTIVITY_WORKERS", "2"))
GATEWAY_WORKERS = int(os.environ.get("BENCH_ACTIVITY_GATEWAY_WORKERS", "2"))
REPEATS = int(os.environ.get("BENCH_ACTIVITY_REPEATS", "3"))
ONLY = set(filter(None, os.environ.get("BENCH_ACTIVITY_ONLY", "").split(","))) or {"single", "sync", "compliance"}
SEQUENTIAL = 400
RAW_CONNECTIONS = 20  # as ACTIVITY_DB_POOL_SIZE below
GATEWAY_ENTRIES = "/api/v1/activity/v1/entries"

AGENT_KINDS = ["phone_appointment", "interview", "closing_visit", "new_customer_visit", "recruiting_visit",
               "service_visit"]
# The synthetic branch of the compliance report: ids far from anything org hands out.
SYN_HQ, SYN_BRANCH, SYN_OFFICE0, SYN_AGENT0, SYN_TEAM0 = 9_000_000, 9_000_001, 9_000_100, 90_000_000, 9_100_000


def entry(rng: random.Random, now: datetime, *, spread_minutes: int) -> dict[str, Any]:
    when = now - timedelta(minutes=rng.randint(1, spread_minutes), seconds=rng.randint(0, 59))
    return {"id": str(uuid.uuid4()), "kind": rng.choice(AGENT_KINDS), "occurred_at": when.isoformat(),
            "outcome": rng.choice(["appointment set", "follow up", "no answer", "signed"]),
            "notes": "met at the office; interested in critical illness cover"}


def check(run: Run, statuses: set[int], what: str) -> None:
    bad = {s: n for s, n in run.statuses().items() if s not in statuses}
    if bad:
        sample = next(body for status, body in run.answers if status not in statuses)
        raise RuntimeError(f"{what}: unexpected answers {bad}: {sample[:500]!r}")


# ---------------------------------------------------------------------------------------------
# Set-up: people in org and the gateway; the synthetic branch in activity's copy.


async def people(ctx: BenchContext, org_port: int) -> tuple[list[tuple[int, str, str, str]], str]:
    """USERS agents under one manager: (agent id, gateway user id, username, password); and the back
    office user's password."""
    gateway_db = Database.connect(ctx.db.dsn("gateway"), schema=GATEWAY_SCHEMA)
    made: list[tuple[str, str, str]] = []
    try:
        async with gateway_db.sessionmaker.begin() as session:
            for _ in range(USERS):
                username, password = f"agent-{secrets.token_hex(5)}", secrets.token_urlsafe(16)
                user = await accounts.create_user(session, username=username, password=password, roles=[Role.AGENT])
                made.append((str(user.id), username, password))
            # Back office of the synthetic branch, for the compliance report.
            staff_password = secrets.token_urlsafe(16)
            await accounts.create_user(session, username="bench-back-office", password=staff_password,
                                       roles=[Role.BACK_OFFICE], institution_ids=[SYN_BRANCH])
    finally:
        await gateway_db.dispose()
    admin = internal_headers(ctx.internal_secret, "org", username="bench", roles=frozenset({"admin"}))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{org_port}", headers=admin, timeout=30) as org:
        c = await company(org)
        manager = await hire(org, c, "department_manager")
        agents = [await hire(org, c, "agent", manager, user_id=user_id) for user_id, _, _ in made]
    return [(agent, user_id, username, password) for agent, (user_id, username, password)
            in zip(agents, made, strict=True)], staff_password


def previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


async def synthetic_branch(conn: asyncpg.Connection, rng: random.Random, month: tuple[date, date]) -> int:
    """COMPLIANCE_AGENTS agents in teams of 10 (a supervisor and 9 agents) over 20 offices, with their
    days of `month` in numbers; returns how many day rows."""
    offices = [SYN_OFFICE0 + o for o in range(20)]
    await conn.copy_records_to_table("org_institution", schema_name="activity", columns=[
        "institution_id", "path", "name"], records=[(SYN_HQ, [SYN_HQ], "总公司"), (SYN_BRANCH, [SYN_HQ, SYN_BRANCH],
                                                                                   "基准分公司")]
        + [(o, [SYN_HQ, SYN_BRANCH, o], f"营销服务部{o}") for o in offices])
    agents = []
    for n in range(COMPLIANCE_AGENTS):
        team, lead = n // 10, SYN_AGENT0 + (n // 10) * 10
        path = [] if n % 10 == 0 else [lead]
        agents.append((SYN_AGENT0 + n, path, offices[team % len(offices)], SYN_TEAM0 + team,
                       "supervisor" if n % 10 == 0 else "agent", "active"))
    await conn.copy_records_to_table("org_agent", schema_name="activity", columns=[
        "agent_id", "path", "institution_id", "team_id", "rank_code", "status"], records=agents)
    days = workdays.between(*month).days
    rows = []
    for agent_id, _, office, team, _, _ in agents:
        diligence = rng.random()
        for day in days:
            if rng.random() > 0.3 + 0.7 * diligence:
                continue  # a day without anything logged
            counts = {"phone_appointment": rng.randint(2, 7), "interview": rng.randint(1, 4),
                      "closing_visit": rng.randint(0, 2), "new_customer_visit": rng.randint(0, 1),
                      "recruiting_visit": rng.randint(0, 1)}
            counts = {k: v for k, v in counts.items() if v}
            visits = sum(v for k, v in counts.items() if k != "phone_appointment")
            explanation = "training at the branch" if visits < 5 and rng.random() < 0.3 else None
            rows.append((agent_id, day, office, team, json.dumps(counts), visits, explanation))
    await conn.copy_records_to_table("activity_day", schema_name="activity", columns=[
        "agent_id", "day", "institution_id", "team_id", "counts", "visits", "explanation"], records=rows)
    await conn.execute("ANALYZE activity.org_agent; ANALYZE activity.org_institution; ANALYZE activity.activity_day")
    return len(rows)


async def replica_holds(conn: asyncpg.Connection, agents: Sequence[int]) -> None:
    for _ in range(600):
        found = await conn.fetchval("SELECT count(*) FROM activity.org_agent WHERE agent_id = ANY($1::bigint[])",
                                    list(agents))
        if found == len(agents):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("activity never received the hired agents from org's feed")


async def login(gateway_port: int, users: Sequence[tuple[str, str]]) -> list[str]:
    tokens = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}", timeout=30) as client:
        for username, password in users:
            answer = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
            answer.raise_for_status()
            tokens.append(answer.json()["access_token"])
    return tokens


# ---------------------------------------------------------------------------------------------
# The runs.


def single_requests(rng: random.Random, tokens: Sequence[str], n: int, path: str) -> list[bytes]:
    now = utcnow()
    return [http_request("POST", path, tokens[i % len(tokens)], entry(rng, now, spread_minutes=600))
            for i in range(n)]


def positional(statement: TextClause) -> tuple[str, list[str]]:
    """The service's own SQL as asyncpg takes it: $n placeholders, and the names they stand for."""
    compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    return compiled.string, list(compiled.positiontup or ())


async def raw_entries(dsn: str, rng: random.Random, agents: Sequence[int], n: int) -> Run:
    """The database's ceiling for single entries: what activity does for one (the writer with the kinds
    and the entry window, the insert, the day's numbers with their event) as the same statements over
    bare asyncpg in one transaction each, committed durably, with no HTTP, no validation and no
    framework: CONCURRENCY clients over as many connections as one activity worker pools."""
    writer_sql, writer_names = positional(entries.WRITER)
    insert_sql, insert_names = positional(entries.INSERT_ONE)
    day_sql, day_names = positional(entries.ADD_DAY)
    now = utcnow()
    work = [(agents[i % len(agents)], entry(rng, now, spread_minutes=600)) for i in range(n)]
    async def one(conn: asyncpg.Connection, k: int) -> None:
        agent, item = work[k]
        occurred = datetime.fromisoformat(item["occurred_at"])
        values: dict[str, Any] = {"agent_id": agent, "today": business_date(utcnow())}
        writer = await conn.fetchrow(writer_sql, *[values[name] for name in writer_names])
        values = {"agent_id": agent, "id": uuid.UUID(item["id"]), "kind": item["kind"], "occurred_at": occurred,
                  "day": business_date(occurred), "customer_id": None, "member_agent_id": None,
                  "outcome": item["outcome"], "notes": item["notes"], "withdrawn": False,
                  "institution_id": writer["institution_id"], "team_id": writer["team_id"]}
        await conn.fetchrow(insert_sql, *[values[name] for name in insert_names])
        counts = json.dumps({item["kind"]: 1})
        values.update(counts=counts, first_counts=counts, request_id=None,
                      visits=int(json.loads(writer["kinds"])[item["kind"]][1]))
        await conn.execute(day_sql, *[values[name] for name in day_names])

    return await drive_sql(dsn, n, one, concurrency=CONCURRENCY, connections=RAW_CONNECTIONS)


def sync_requests(rng: random.Random, tokens: Sequence[str], n: int) -> list[bytes]:
    now = utcnow()
    return [http_request("POST", "/api/v1/activity/v1/entries/sync", tokens[i % len(tokens)], {
        "entries": [entry(rng, now, spread_minutes=7 * 24 * 60) for _ in range(BATCH)]}) for i in range(n)]


async def run(ctx: BenchContext) -> list[Figure]:
    rng = random.Random(20261129)  # noqa: S311 - reproducible test data, not secrets
    secret = ctx.internal_secret
    # Access logs at info cost each request more than the work measured; warnings and errors are kept.
    base_env = {"INTERNAL_TOKEN_SECRET": secret, **{f"{s}_LOG_LEVEL": "WARNING" for s in ("ORG", "ACTIVITY",
                                                                                         "GATEWAY")}}
    conn = await asyncpg.connect(libpq_dsn(ctx.db.dsn("activity")))
    with ExitStack() as stack:
        org_port, _ = stack.enter_context(serve("org_service.app:create_app", {
            **base_env, "ORG_DATABASE_URL": ctx.db.dsn("org"), "ORG_DB_POOL_SIZE": "8", "ORG_DB_MAX_OVERFLOW": "2"},
            root=ctx.root, name="org"))
        hired, staff_password = await people(ctx, org_port)
        month = previous_month(business_date(utcnow()))
        day_rows = await synthetic_branch(conn, rng, month)
        activity_port, _ = stack.enter_context(serve("activity_service.app:create_app", {
            **base_env, "ACTIVITY_DATABASE_URL": ctx.db.dsn("activity"),
            "ACTIVITY_ORG_URL": f"http://127.0.0.1:{org_port}", "ACTIVITY_ORG_POLL_SECONDS": "0.2",
            "ACTIVITY_DB_POOL_SIZE": "20", "ACTIVITY_DB_MAX_OVERFLOW": "5"},
            root=ctx.root, workers=WORKERS, name="activity"))
        await replica_holds(conn, [agent for agent, _, _, _ in hired])
        gateway_env = {
            **base_env, "GATEWAY_DATABASE_URL": ctx.db.dsn("gateway"), "GATEWAY_JWT_SECRET": secrets.token_urlsafe(48),
            "GATEWAY_PARTNER_MASTER_KEY": secrets.token_urlsafe(48), "GATEWAY_ORG_URL": f"http://127.0.0.1:{org_port}",
            "GATEWAY_ACTIVITY_URL": f"http://127.0.0.1:{activity_port}", "GATEWAY_ADMIN_PASSWORD": "",
            "GATEWAY_DB_POOL_SIZE": "4", "GATEWAY_DB_MAX_OVERFLOW": "2"}
        # The gateway as configured by default, and the same with the other upstream pool, for the
        # comparison that decided the default (same secrets: a person's token is good at both).
        default_pool = GatewaySettings.model_fields["upstream_transport"].default
        other_pool = "httpx" if default_pool == "aiohttp" else "aiohttp"
        gateway_port, _ = stack.enter_context(serve("gateway_service.app:create_app", gateway_env, root=ctx.root,
                                                    workers=GATEWAY_WORKERS, name="gateway"))
        other_port, _ = stack.enter_context(serve("gateway_service.app:create_app", {
            **gateway_env, "GATEWAY_UPSTREAM_TRANSPORT": other_pool}, root=ctx.root, workers=GATEWAY_WORKERS,
            name=f"gateway-{other_pool}"))
        echo_port, _ = stack.enter_context(serve("svckit.ops.echo:create_app", {}, root=ctx.root, workers=WORKERS,
                                                 name="echo"))
        people_tokens = await login(gateway_port, [(u, p) for _, _, u, p in hired])
        internal = [mint_internal_token(secret, caller_service="gateway", audience="activity", user_id=user_id,
                                        username=username, roles=frozenset({"agent"}), ttl=timedelta(hours=3),
                                        scope=DataScope(agent_id=agent))
                    for agent, user_id, username, _ in hired]
        # Warm every path (connections, scope caches, prepared statements) before anything is timed.
        accepted = 0
        for port, path, tokens in ((echo_port, "/echo", internal), (activity_port, "/v1/entries", internal),
                                   (gateway_port, GATEWAY_ENTRIES, people_tokens),
                                   (other_port, GATEWAY_ENTRIES, people_tokens)):
            warm = single_requests(rng, tokens, 400, path)
            check(await in_thread(lambda p=port, w=warm: drive(p, w, CONCURRENCY)), {201}, f"warm-up {path}")  # type: ignore[misc]
            accepted += len(warm) if port != echo_port else 0
        figures: list[Figure] = []
        notes: list[str] = []
        if "single" in ONLY:
            best: dict[str, Run] = {}

            def keep(name: str, result: Run) -> None:
                if name not in best or result.rate > best[name].rate:
                    best[name] = result

            for _ in range(REPEATS):
                for name, port, path, tokens in (("echo", echo_port, "/echo", internal),
                                                 ("direct", activity_port, "/v1/entries", internal),
                                                 ("gateway", gateway_port, GATEWAY_ENTRIES, people_tokens),
                                                 ("other", other_port, GATEWAY_ENTRIES, people_tokens)):
                    requests = single_requests(rng, tokens, SINGLE, path)
                    result = await in_thread(lambda p=port, r=requests: drive(p, r, CONCURRENCY))  # type: ignore[misc]
                    check(result, {201}, name)
                    accepted += SINGLE if name != "echo" else 0
                    keep(name, result)
                keep("raw", await in_thread(lambda: raw_entries(
                    libpq_dsn(ctx.db.dsn("activity")), rng, [agent for agent, _, _, _ in hired], SINGLE)))
                accepted += SINGLE
            sequential: dict[str, list[float]] = {"direct": [], "gateway": []}
            for _ in range(REPEATS):
                for name, port, path, tokens in (("direct", activity_port, "/v1/entries", internal),
                                                 ("gateway", gateway_port, GATEWAY_ENTRIES, people_tokens)):
                    requests = single_requests(rng, tokens, SEQUENTIAL, path)
                    result = await in_thread(lambda p=port, r=requests: drive(p, r, 1))  # type: ignore[misc]
                    check(result, {201}, f"{name} one at a time")
                    accepted += SEQUENTIAL
                    sequential[name].append(statistics.median(result.latencies) * 1000)

            direct, gateway, echo = best["direct"], best["gateway"], best["echo"]
            other, raw = best["other"], best["raw"]
            notes.append(f"gateway over the {default_pool} pool {gateway.rate:.0f}/s p99 {gateway.p(99):.1f} ms, over "
                         f"the {other_pool} pool {other.rate:.0f}/s p99 {other.p(99):.1f} ms")
            notes.append(f"bare SQL {raw.rate:.0f}/s p50 {raw.p(50):.1f} p99 {raw.p(99):.1f} ms")
            notes.append(f"echo {echo.rate:.0f}/s p99 {echo.p(99):.1f} ms; direct {direct.rate:.0f}/s p50 "
                         f"{direct.p(50):.1f} p99 {direct.p(99):.1f} ms; gateway p50 {gateway.p(50):.1f} ms; one at a "
                         f"time direct {min(sequential['direct']):.2f} ms, gateway {min(sequential['gateway']):.2f} ms")
            figures += [
                Figure("single_per_s", gateway.rate, "/s"),
                Figure("single_p99_ms", gateway.p(99), "ms"),
                Figure("echo_per_s", echo.rate, "/s"),
                Figure("single_ratio_to_echo", gateway.rate / echo.rate, "x"),
                Figure("direct_single_per_s", direct.rate, "/s"),
                Figure("raw_sql_single_per_s", raw.rate, "/s"),
                Figure("raw_sql_ratio_to_echo", raw.rate / echo.rate, "x"),
                Figure("gateway_throughput_ratio", gateway.rate / direct.rate, "x"),
                Figure("gateway_added_p50_ms", min(sequential["gateway"]) - min(sequential["direct"]), "ms"),
                Figure(f"gateway_{other_pool}_pool_single_per_s", other.rate, "/s"),
                Figure(f"gateway_{default_pool}_vs_{other_pool}_pool_ratio", gateway.rate / other.rate, "x"),
            ]
        if "sync" in ONLY:
            sync_best: Run | None = None
            for _ in range(REPEATS):
                batches = sync_requests(rng, people_tokens, BATCHES)
                result = await in_thread(lambda b=batches: drive(gateway_port, b, SYNC_CONCURRENCY))  # type: ignore[misc]
                check(result, {200}, "sync")
                for _, body in result.answers:
                    answer = json.loads(body)
                    if answer["accepted"] != BATCH:
                        raise RuntimeError(f"a batch was not accepted whole: {body[:300]!r}")
                accepted += BATCHES * BATCH
                if sync_best is None or result.rate > sync_best.rate:
                    sync_best = result
                last = batches
            assert sync_best is not None
            resent = await in_thread(lambda: drive(gateway_port, last[-1:], 1))
            check(resent, {200}, "resend")
            if {r["status"] for r in json.loads(resent.answers[0][1])["results"]} != {"unchanged"}:
                raise RuntimeError("a resent batch changed something")

            figures.insert(0, Figure("sync_entries_per_s", sync_best.rate * BATCH, "entries/s"))
        if "compliance" in ONLY:
            staff_token = (await login(gateway_port, [("bench-back-office", staff_password)]))[0]
            report_request = http_request("GET", f"/api/v1/activity/v1/compliance?period=month&on={month[0]}"
                                          f"&institution_id={SYN_BRANCH}", staff_token)
            compliance_best = float("inf")
            for _ in range(REPEATS):
                result = await in_thread(lambda: drive(gateway_port, [report_request], 1))
                check(result, {200}, "compliance")
                rows = json.loads(result.answers[0][1])["rows"]
                if len(rows) != COMPLIANCE_AGENTS:
                    raise RuntimeError(f"the compliance report holds {len(rows)} agents, not {COMPLIANCE_AGENTS}")
                compliance_best = min(compliance_best, result.seconds)

            figures.append(Figure("compliance_10k_s", compliance_best, "s"))
            notes.append(f"compliance over {day_rows} agent-days")
        stored = await conn.fetchval("SELECT count(*) FROM activity.entry")
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM (SELECT e.agent_id, e.day, count(*) FILTER (WHERE NOT e.withdrawn) AS n"
            " FROM activity.entry e GROUP BY 1, 2) e JOIN activity.activity_day d USING (agent_id, day)"
            " WHERE (SELECT coalesce(sum(value::int), 0) FROM jsonb_each_text(d.counts)) <> e.n")
    await conn.close()
    if stored != accepted:
        raise RuntimeError(f"{accepted} entries accepted but {stored} stored")
    if mismatched:
        raise RuntimeError(f"{mismatched} agent days do not add up to their entries")
    print(f"# activity: {USERS} agents, {CONCURRENCY} clients, activity x{WORKERS} and gateway x{GATEWAY_WORKERS} "
          f"workers; {'; '.join([*notes, f'{stored} entries stored'])}", flush=True)
    return figures
