"""The org service over HTTP, on a generated company of 100,000 agents with 3 years of history.

One real uvicorn process, called one request at a time by a pooled httpx client with an internal
token; every latency is also read from the service's own access log (`*_server_*`: the time
inside the service, without the client and the socket). Reads, as of random dates of the
history: an agent's supervisor chain, a subtree's headcount by rank (supervisors of every
level), the full snapshot. Baselines in the same run: `/healthz` and `/v1/ranks` (the floor of
an unauthenticated and of an authenticated one-query request), and the same headcounts walked
by a plain recursive CTE over supervisor links, straight on the database. Writes, dated after
the history and kept: team moves and rank changes, then a director's line of about 10,000
people moved under another director three times; then a consistency check of everything written.
BENCH_ORG_AGENTS changes the size for quick runs.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from org_service import demo
from org_service.demo import AGENT, AM, DIRECTOR, DM, PROB, SUP, Company, DemoConfig, Loaded
from svckit.internal_auth import mint_internal_token
from svckit.ops.bench import BenchContext, Figure
from svckit.ops.services import answers_ok
from svckit.scope import DataScope

AGENTS = int(os.environ.get("BENCH_ORG_AGENTS", "100000"))
SIZE = "100k" if AGENTS == 100_000 else str(AGENTS)
SAMPLES, WRITES, BRANCH_MOVES, SNAPSHOTS = 500, 250, 3, 3
# A chain in one statement: what the database costs of `GET /chain` (the rest is the service's floor).
CHAIN_SQL = (
    "SELECT u.id, a.code, a.name, p.rank_code, p.team_id FROM org.agent_position me"
    " CROSS JOIN LATERAL unnest(me.path) WITH ORDINALITY AS u(id, n)"
    " JOIN org.agent a ON a.id = u.id"
    " JOIN org.agent_position p ON p.agent_id = u.id AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2)"
    " WHERE me.agent_id = $1 AND me.valid_from <= $2 AND (me.valid_to IS NULL OR me.valid_to > $2) ORDER BY u.n DESC"
)
# The snapshot's lines rendered as JSON by PostgreSQL and streamed with COPY (the alternative measured).
SNAPSHOT_JSON = (
    "SELECT json_build_object('agent_id', p.agent_id, 'code', a.code, 'name', a.name, 'status', a.status,"
    " 'supervisor_id', p.supervisor_id, 'team_id', p.team_id, 'institution_id', p.institution_id,"
    " 'rank_code', p.rank_code, 'path', p.path, 'valid_from', p.valid_from, 'valid_to', p.valid_to)"
    " FROM org.agent_position p JOIN org.agent a ON a.id = p.agent_id"
    " WHERE p.valid_from <= '{on}' AND (p.valid_to IS NULL OR p.valid_to > '{on}')"
    " ORDER BY cardinality(p.path), p.agent_id"
)


class Service:
    """The org service as a process; its access log tells each request's time inside the service."""

    def __init__(self, base: str, log: Path) -> None:
        self.base, self.log = base, log

    def server_ms(self, request_ids: Sequence[str]) -> list[float]:
        durations = {}
        for line in self.log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("logger") == "svckit.access":
                durations[entry.get("request_id")] = float(entry["duration_ms"])
        return [durations[i] for i in request_ids]


@contextmanager
def _service(ctx: BenchContext) -> Iterator[Service]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "ORG_DATABASE_URL": ctx.db.dsn("org"), "INTERNAL_TOKEN_SECRET": ctx.internal_secret,
           "ORG_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}  # the access log, line by line
    with tempfile.TemporaryDirectory(prefix="bench-org-") as folder:
        log = Path(folder) / "access.log"
        with log.open("w", encoding="utf-8") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "uvicorn", "org_service.app:create_app", "--factory", "--port", str(port),
                 "--no-access-log", "--log-level", "warning"], env=env, cwd=ctx.root, stdout=out)
            try:
                deadline = time.monotonic() + 60
                with httpx.Client(timeout=2.0) as probe:
                    while not answers_ok(probe, f"http://127.0.0.1:{port}/readyz"):
                        if time.monotonic() > deadline:
                            raise RuntimeError("org service not ready")
                        time.sleep(0.2)
                yield Service(f"http://127.0.0.1:{port}", log)
            finally:
                proc.terminate()
                proc.wait(timeout=15)


class Calls:
    """Sequential calls, each timed by the client and named by its request id."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def run(self, requests: Sequence[tuple[str, str, dict[str, object] | None]],
                  ) -> tuple[list[float], list[str], list[Any]]:
        seconds, ids, bodies = [], [], list[Any]()
        for method, url, body in requests:
            started = time.perf_counter()
            response = await self.client.request(method, url, json=body)
            seconds.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{method} {url} {body} answered {response.status_code}: {response.text[:300]}")
            ids.append(response.headers["X-Request-ID"])
            bodies.append(response.json())
        return seconds, ids, bodies

    async def gets(self, urls: Sequence[str]) -> tuple[list[float], list[str], list[Any]]:
        return await self.run([("GET", url, None) for url in urls])


def _ms(values: Sequence[float], q: int = 50, *, scale: float = 1000) -> float:
    return (statistics.median(values) if q == 50 else statistics.quantiles(values, n=100)[q - 1]) * scale


def _as_of(company: Company, rng: random.Random, ranks: Sequence[int]) -> list[tuple[int, date, int]]:
    """(agent, date, rank): someone of each rank in turn, on a random day of one of their versions."""
    by_rank: dict[int, list[demo.PositionRow]] = {r: [] for r in ranks}
    for version in company.positions:
        if version[6] in by_rank and (version[6] == DIRECTOR or version[7]):
            by_rank[version[6]].append(version)
    present = [r for r in ranks if by_rank[r]]
    picks = []
    for n in range(SAMPLES):
        agent, start, end, _, _, _, rank, _, _ = rng.choice(by_rank[present[n % len(present)]])
        last = min(end - 1 if end is not None else company.until, company.until)
        picks.append((agent, date.fromordinal(rng.randint(start, last)), rank))
    return picks


async def _sql(conn: asyncpg.Connection, query: str, pairs: Sequence[tuple[int, date]],
               ) -> tuple[list[float], list[dict[str, int]]]:
    """Each (agent, date) query timed; the answers read as headcount by rank when they are."""
    seconds, answers = [], []
    for agent, on in pairs:
        started = time.perf_counter()
        rows = await conn.fetch(query, agent, on)
        seconds.append(time.perf_counter() - started)
        answers.append({r["rank_code"]: r["headcount"] for r in rows} if rows and len(rows[0]) == 2 else {})
    return seconds, answers


async def _snapshot(client: httpx.AsyncClient, on: date) -> tuple[float, int]:
    started, lines = time.perf_counter(), 0
    async with client.stream("GET", "/v1/snapshot", params={"on": on.isoformat()}) as response:
        async for chunk in response.aiter_bytes():
            lines += chunk.count(b"\n")
    return time.perf_counter() - started, lines


async def _snapshot_by_copy(conn: asyncpg.Connection, on: date) -> tuple[float, int]:
    started, lines = time.perf_counter(), 0

    async def sink(chunk: bytes) -> None:
        nonlocal lines
        lines += chunk.count(b"\n")

    await conn.copy_from_query(SNAPSHOT_JSON.format(on=on.isoformat()), output=sink)
    return time.perf_counter() - started, lines


def _writes(company: Company, loaded: Loaded, rng: random.Random, on: date,
            ) -> list[tuple[str, str, dict[str, object] | None]]:
    """Team moves (an agent to another supervisor of the same institution, and their team) alternating
    with promotions of other agents; each agent changes once."""
    ids, leaders = loaded.agent_ids, dict[int, list[int]]()
    active = [i for i, live in enumerate(company.active) if live]
    for i in active:
        if PROB <= company.rank[i] <= DM:
            leaders.setdefault(company.institution[i], []).append(i)
    writes: list[tuple[str, str, dict[str, object] | None]] = []
    for n, x in enumerate(rng.sample([i for i in active if company.rank[i] == AGENT], 2 * WRITES)):
        if n % 2:
            writes.append(("POST", f"/v1/agents/{ids[x]}/rank-changes", {
                "effective_on": on.isoformat(), "rank_code": "probationary_supervisor", "kind": "promotion",
                "reason": "bench: assessment"}))
            continue
        target = rng.choice([t for t in leaders[company.institution[x]][:400] if t != company.supervisor[x]])
        writes.append(("POST", f"/v1/agents/{ids[x]}/moves", {
            "effective_on": on.isoformat(), "supervisor_id": ids[target],
            "team_id": loaded.team_ids[company.led[target]], "reason": "bench: team rebalanced"}))
    return writes


def _branch_moves(company: Company, loaded: Loaded, rng: random.Random, after: date,
                  ) -> list[tuple[str, str, dict[str, object] | None]]:
    """The big line's director under another director, then another, then back to the top."""
    head = company.big_line
    others = [t for t, r in enumerate(company.rank) if r == DIRECTOR and company.active[t] and t != head]
    return [("POST", f"/v1/agents/{loaded.agent_ids[head]}/moves", {
        "effective_on": (after + timedelta(days=1 + n)).isoformat(), "reason": "bench: line reassigned",
        "supervisor_id": None if target is None else loaded.agent_ids[target]})
        for n, target in enumerate([*rng.sample(others, BRANCH_MOVES - 1), None])]


async def run(ctx: BenchContext) -> list[Figure]:
    started = time.perf_counter()
    company, loaded = await demo.seed(DemoConfig(agents=AGENTS), ctx.db.dsn("org"))
    figures = [Figure(f"generate_{SIZE}_s", time.perf_counter() - started, "s")]
    rng, ids = random.Random(7), loaded.agent_ids  # noqa: S311 - reproducible samples
    chains = _as_of(company, rng, [AGENT, PROB, SUP, AM, DM])
    subtrees = _as_of(company, rng, [PROB, SUP, AM, DM, DIRECTOR])
    pairs = [(ids[a], d) for a, d, _ in subtrees]
    subtree_urls = [f"/v1/agents/{ids[a]}/subtree?on={d}" for a, d, _ in subtrees]
    tops = [n for n, (_, _, rank) in enumerate(subtrees) if rank == DIRECTOR]
    token = mint_internal_token(ctx.internal_secret, caller_service="gateway", audience="org", user_id="bench-admin",
                                username="bench-admin", roles={"admin"}, ttl=timedelta(hours=1),
                                scope=DataScope(everything=True))
    after, until = date.fromordinal(company.until + 1), company.config.until
    conn = await asyncpg.connect(demo.libpq_dsn(ctx.db.dsn("org")))
    try:
        with _service(ctx) as service:
            async with httpx.AsyncClient(base_url=service.base, timeout=120,
                                         headers={"Authorization": f"Bearer {token}"}) as client:
                calls = Calls(client)
                healthz, _, _ = await calls.gets(["/healthz"] * 200)
                floor, floor_ids, _ = await calls.gets(["/v1/ranks"] * 200)
                chain, chain_ids, _ = await calls.gets([f"/v1/agents/{ids[a]}/chain?on={d}" for a, d, _ in chains])
                subtree, subtree_ids, bodies = await calls.gets(subtree_urls)
                chain_sql, _ = await _sql(conn, CHAIN_SQL, [(ids[a], d) for a, d, _ in chains])
                cte, walked = await _sql(conn, demo.CTE_HEADCOUNT, pairs)
                rollup, _ = await _sql(conn, demo.ROLLUP_HEADCOUNT, pairs)
                snapshots = [await _snapshot(client, until) for _ in range(SNAPSHOTS)]
                copies = [await _snapshot_by_copy(conn, until) for _ in range(SNAPSHOTS)]
                people = (await client.get(f"/v1/agents/{ids[company.big_line]}/subtree?on={after}")).json()
                writes, write_ids, _ = await calls.run(_writes(company, loaded, rng, after))
                branch, _, _ = await calls.run(_branch_moves(company, loaded, rng, after))
                problems = await demo.verify(conn, loaded.hq, [until, after + timedelta(days=BRANCH_MOVES)],
                                             [ids[company.big_line], *(ids[a] for a, _, _ in subtrees[-5:])])
            server = {name: service.server_ms(request_ids) for name, request_ids in (
                ("floor", floor_ids), ("chain", chain_ids), ("subtree", subtree_ids), ("writes", write_ids))}
    finally:
        await conn.close()
    in_force = sum(company.active)
    if any(lines != in_force for _, lines in snapshots + copies):
        raise RuntimeError(f"snapshots streamed {[n for _, n in snapshots + copies]} lines; {in_force} in force")
    return [
        *figures,
        Figure("healthz_p50_ms", _ms(healthz), "ms"),
        Figure("ranks_p50_ms", _ms(floor), "ms"),
        Figure("ranks_server_p50_ms", _ms(server["floor"], scale=1), "ms"),
        Figure("chain_p50_ms", _ms(chain), "ms"),
        Figure("chain_p99_ms", _ms(chain, 99), "ms"),
        Figure("chain_server_p50_ms", _ms(server["chain"], scale=1), "ms"),
        Figure("chain_sql_p50_ms", _ms(chain_sql), "ms"),
        Figure("subtree_p50_ms", _ms(subtree), "ms"),
        Figure("subtree_p99_ms", _ms(subtree, 99), "ms"),
        Figure("subtree_server_p50_ms", _ms(server["subtree"], scale=1), "ms"),
        Figure("subtree_director_p50_ms", _ms([subtree[n] for n in tops]), "ms"),
        Figure("cte_p50_ms", _ms(cte), "ms"),
        Figure("cte_director_p50_ms", _ms([cte[n] for n in tops]), "ms"),
        Figure("subtree_ratio_to_cte", statistics.median(cte) / statistics.median(subtree), "x"),
        Figure("subtree_answers_differing_from_cte",
               sum(b["headcount_by_rank"] != w for b, w in zip(bodies, walked, strict=True)), "answers"),
        Figure("rollup_sql_p50_ms", _ms(rollup), "ms"),
        Figure("rollup_sql_ratio_to_cte", statistics.median(cte) / statistics.median(rollup), "x"),
        Figure(f"snapshot_{SIZE}_s", min(s for s, _ in snapshots), "s"),
        Figure(f"snapshot_{SIZE}_sql_json_copy_s", min(s for s, _ in copies), "s"),
        Figure("move_p50_ms", _ms(writes[0::2]), "ms"),
        Figure("move_server_p50_ms", _ms(server["writes"][0::2], scale=1), "ms"),
        Figure("rank_change_p50_ms", _ms(writes[1::2]), "ms"),
        Figure("rank_change_server_p50_ms", _ms(server["writes"][1::2], scale=1), "ms"),
        Figure("write_p99_ms", _ms(writes, 99), "ms"),
        Figure("branch_move_10k_s" if AGENTS == 100_000 else f"branch_move_{SIZE}_s", statistics.median(branch), "s"),
        Figure("branch_move_people", float(people["headcount"]), "agents"),
        Figure("inconsistencies_after_writes", len(problems), "problems"),
        # Directors head the big subtrees where a walk costs most: the maintained rollup against the CTE.
        Figure("subtree_director_ratio_to_cte", _ms([cte[n] for n in tops]) / _ms([subtree[n] for n in tops]), "x"),
        Figure("rollup_sql_director_ratio_to_cte", _ms([cte[n] for n in tops]) / _ms([rollup[n] for n in tops]), "x"),
    ]
