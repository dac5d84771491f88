"""The org service over HTTP, on a generated company of 100,000 agents with 3 years of history.

One real uvicorn process, called over loopback one request at a time by the standard library's
`http.client` on one keep-alive connection (in a worker thread, so the figures are the request and
not the client's event loop); `/healthz` is also timed with a pooled httpx client, to show what the
client itself costs. Every latency is also read from the service's own access log (`*_server_*`:
the time inside the service, without the client and the socket).

Reads, as of random dates of the history: an agent's supervisor chain, a subtree's headcount by
rank, the full snapshot. The subtree sample is 100 holders of each rank from probationary
supervisor to director (500 in all, the same for every figure below), each on a random day of one
of their versions: probationary supervisors have a handful of people below them, directors thousands.
The chain sample is 100 holders of each rank from agent to department manager.

Maintained rollups against a walk, like for like (`*_ratio_to_cte`): the same aggregate (headcount
by rank below an agent on a date) answered at the SQL level by one statement over the maintained
rollups and by one plain recursive CTE over supervisor links as of the date (with the
`(supervisor_id, valid_from)` index that as-of reads use), both over the same asyncpg connection,
interleaved sample by sample. The ratio is median CTE time over median rollup time, for the whole
sample and per level: it grows with the size of the subtree.

Baselines in the same run: `/healthz` and `/v1/ranks` (the floor of an unauthenticated and of an
authenticated one-query request). Writes, dated after the history and kept: team moves and rank
changes, then a director's line of about 10,000 people moved under another director three times;
then a consistency check of everything written. BENCH_ORG_AGENTS changes the size for quick runs.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import re
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

from org_service import demo, queries
from org_service.demo import AGENT, AM, DIRECTOR, DM, PROB, RANK_CODES, SUP, Company, DemoConfig, Loaded
from svckit.db import libpq_dsn
from svckit.internal_auth import mint_internal_token
from svckit.ops.bench import BenchContext, Figure
from svckit.ops.services import answers_ok
from svckit.scope import DataScope

AGENTS = int(os.environ.get("BENCH_ORG_AGENTS", "100000"))
SIZE = "100k" if AGENTS == 100_000 else str(AGENTS)
SAMPLES, WRITES, BRANCH_MOVES, SNAPSHOTS = 500, 250, 3, 3
# The service's own statements for a chain and a subtree (scope check, position check and answer in
# one), with asyncpg's $1 (agent) and $2 (date) for their :a and :d: what the database costs of a read.
CHAIN_SQL, SUBTREE_SQL = (re.sub(r":([ad])\b", lambda m: "$1" if m[1] == "a" else "$2", str(statement))
                          for statement in (queries.CHAIN, queries.SUBTREE))
# The snapshot's lines rendered as JSON by PostgreSQL and streamed with COPY (the alternative measured).
SNAPSHOT_JSON = (
    "SELECT json_build_object('agent_id', p.agent_id, 'code', a.code, 'name', a.name, 'status', a.status,"
    " 'supervisor_id', p.supervisor_id, 'team_id', p.team_id, 'institution_id', p.institution_id,"
    " 'rank_code', p.rank_code, 'path', p.path, 'valid_from', p.valid_from, 'valid_to', p.valid_to)"
    " FROM org.agent_position p JOIN org.agent a ON a.id = p.agent_id"
    " WHERE p.valid_from <= '{on}' AND (p.valid_to IS NULL OR p.valid_to > '{on}')"
    " ORDER BY cardinality(p.path), p.agent_id"
)
Request = tuple[str, str, dict[str, object] | None]


class Service:
    """The org service as a process; its access log tells each request's time inside the service."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.base, self.log = port, f"http://127.0.0.1:{port}", log

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
                yield Service(port, log)
            finally:
                proc.terminate()
                proc.wait(timeout=15)


class Calls:
    """Sequential calls on one keep-alive `http.client` connection, each timed and named by its request id.

    Blocking, so each batch runs in a worker thread (`asyncio.to_thread`): nothing else runs in that
    thread while a request is timed."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def close(self) -> None:
        self.connection.close()

    def _run(self, requests: Sequence[Request]) -> tuple[list[float], list[str], list[Any]]:
        seconds, ids, bodies = [], [], list[Any]()
        for method, url, body in requests:
            payload = None if body is None else json.dumps(body).encode()
            headers = self.headers if payload is None else {**self.headers, "Content-Type": "application/json"}
            started = time.perf_counter()
            self.connection.request(method, url, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
            seconds.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"{method} {url} {body} answered {response.status}: {data[:300]!r}")
            ids.append(response.getheader("X-Request-ID") or "")
            bodies.append(json.loads(data))
        return seconds, ids, bodies

    async def run(self, requests: Sequence[Request]) -> tuple[list[float], list[str], list[Any]]:
        return await asyncio.to_thread(self._run, requests)

    async def gets(self, urls: Sequence[str]) -> tuple[list[float], list[str], list[Any]]:
        return await self.run([("GET", url, None) for url in urls])

    def _stream(self, url: str) -> tuple[float, int]:
        started, lines = time.perf_counter(), 0
        self.connection.request("GET", url, headers=self.headers)
        response = self.connection.getresponse()
        while chunk := response.read(1 << 16):
            lines += chunk.count(b"\n")
        if response.status != 200:
            raise RuntimeError(f"GET {url} answered {response.status}")
        return time.perf_counter() - started, lines

    async def stream(self, url: str) -> tuple[float, int]:
        """Seconds to read a whole streamed response, and its lines."""
        return await asyncio.to_thread(self._stream, url)


async def _httpx_gets(base: str, url: str, n: int) -> list[float]:
    """The same request timed with a pooled httpx client (the client's own cost, for comparison)."""
    seconds = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for _ in range(n):
            started = time.perf_counter()
            (await client.get(url)).raise_for_status()
            seconds.append(time.perf_counter() - started)
    return seconds


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


async def _sql(conn: asyncpg.Connection, query: str, pairs: Sequence[tuple[int, date]]) -> list[float]:
    """Each (agent, date) query timed."""
    seconds = []
    for agent, on in pairs:
        started = time.perf_counter()
        await conn.fetch(query, agent, on)
        seconds.append(time.perf_counter() - started)
    return seconds


async def _walk_against_rollups(conn: asyncpg.Connection, pairs: Sequence[tuple[int, date]],
                                ) -> tuple[list[float], list[float], list[dict[str, int]], list[dict[str, int]]]:
    """The same headcount by rank, by the recursive walk and by the rollups, alternating which goes
    first, so that drift on the machine and warm caches favour neither."""
    walk, rolled, walked, stored = [], [], list[dict[str, int]](), list[dict[str, int]]()
    for n, (agent, on) in enumerate(pairs):
        for query in ((demo.CTE_HEADCOUNT, demo.ROLLUP_HEADCOUNT) if n % 2 else
                      (demo.ROLLUP_HEADCOUNT, demo.CTE_HEADCOUNT)):
            started = time.perf_counter()
            rows = await conn.fetch(query, agent, on)
            elapsed = time.perf_counter() - started
            answer = {r["rank_code"]: r["headcount"] for r in rows}
            if query is demo.CTE_HEADCOUNT:
                walk.append(elapsed)
                walked.append(answer)
            else:
                rolled.append(elapsed)
                stored.append(answer)
    return walk, rolled, walked, stored


async def _snapshot_by_copy(conn: asyncpg.Connection, on: date) -> tuple[float, int]:
    started, lines = time.perf_counter(), 0

    async def sink(chunk: bytes) -> None:
        nonlocal lines
        lines += chunk.count(b"\n")

    await conn.copy_from_query(SNAPSHOT_JSON.format(on=on.isoformat()), output=sink)
    return time.perf_counter() - started, lines


def _writes(company: Company, loaded: Loaded, rng: random.Random, on: date,
            ) -> list[Request]:
    """Team moves (an agent to another supervisor of the same institution, and their team) alternating
    with promotions of other agents; each agent changes once."""
    ids, leaders = loaded.agent_ids, dict[int, list[int]]()
    active = [i for i, live in enumerate(company.active) if live]
    for i in active:
        if PROB <= company.rank[i] <= DM:
            leaders.setdefault(company.institution[i], []).append(i)
    writes: list[Request] = []
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
                  ) -> list[Request]:
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
    token = mint_internal_token(ctx.internal_secret, caller_service="gateway", audience="org", user_id="bench-admin",
                                username="bench-admin", roles={"admin"}, ttl=timedelta(hours=1),
                                scope=DataScope(everything=True))
    after, until = date.fromordinal(company.until + 1), company.config.until
    conn = await asyncpg.connect(libpq_dsn(ctx.db.dsn("org")))
    try:
        with _service(ctx) as service:
            calls = Calls(service.port, token)
            try:
                healthz, _, _ = await calls.gets(["/healthz"] * 200)
                healthz_httpx = await _httpx_gets(service.base, "/healthz", 200)
                floor, floor_ids, _ = await calls.gets(["/v1/ranks"] * 200)
                chain, chain_ids, _ = await calls.gets([f"/v1/agents/{ids[a]}/chain?on={d}" for a, d, _ in chains])
                subtree, subtree_ids, bodies = await calls.gets(
                    [f"/v1/agents/{ids[a]}/subtree?on={d}" for a, d, _ in subtrees])
                chain_sql = await _sql(conn, CHAIN_SQL, [(ids[a], d) for a, d, _ in chains])
                subtree_sql = await _sql(conn, SUBTREE_SQL, pairs)
                await _walk_against_rollups(conn, pairs[:10])  # statements prepared, outside the timing
                cte, rollup, walked, stored = await _walk_against_rollups(conn, pairs)
                snapshots = [await calls.stream(f"/v1/snapshot?on={until}") for _ in range(SNAPSHOTS)]
                copies = [await _snapshot_by_copy(conn, until) for _ in range(SNAPSHOTS)]
                _, _, (people,) = await calls.gets([f"/v1/agents/{ids[company.big_line]}/subtree?on={after}"])
                writes, write_ids, _ = await calls.run(_writes(company, loaded, rng, after))
                branch, _, _ = await calls.run(_branch_moves(company, loaded, rng, after))
            finally:
                calls.close()
            problems = await demo.verify(conn, loaded.hq, [until, after + timedelta(days=BRANCH_MOVES)],
                                         [ids[company.big_line], *(ids[a] for a, _, _ in subtrees[-5:])])
            server = {name: service.server_ms(request_ids) for name, request_ids in (
                ("floor", floor_ids), ("chain", chain_ids), ("subtree", subtree_ids), ("writes", write_ids))}
    finally:
        await conn.close()
    in_force = sum(company.active)
    if any(lines != in_force for _, lines in snapshots + copies):
        raise RuntimeError(f"snapshots streamed {[n for _, n in snapshots + copies]} lines; {in_force} in force")
    by_level = []
    for rank in (PROB, SUP, AM, DM, DIRECTOR):
        mine = [n for n, (_, _, r) in enumerate(subtrees) if r == rank]
        walk, rolled = _ms([cte[n] for n in mine]), _ms([rollup[n] for n in mine])
        by_level += [
            Figure(f"subtree_headcount_{RANK_CODES[rank]}_median", statistics.median(
                sum(walked[n].values()) for n in mine), "agents"),
            Figure(f"cte_{RANK_CODES[rank]}_p50_ms", walk, "ms"),
            Figure(f"rollup_sql_{RANK_CODES[rank]}_p50_ms", rolled, "ms"),
            Figure(f"subtree_ratio_to_cte_{RANK_CODES[rank]}", walk / rolled, "x"),
        ]
    return [
        *figures,
        Figure("healthz_p50_ms", _ms(healthz), "ms"),
        Figure("healthz_httpx_p50_ms", _ms(healthz_httpx), "ms"),
        Figure("ranks_p50_ms", _ms(floor), "ms"),
        Figure("ranks_server_p50_ms", _ms(server["floor"], scale=1), "ms"),
        Figure("chain_p50_ms", _ms(chain), "ms"),
        Figure("chain_p99_ms", _ms(chain, 99), "ms"),
        Figure("chain_server_p50_ms", _ms(server["chain"], scale=1), "ms"),
        Figure("chain_server_p99_ms", _ms(server["chain"], 99, scale=1), "ms"),
        Figure("chain_sql_p50_ms", _ms(chain_sql), "ms"),
        Figure("subtree_p50_ms", _ms(subtree), "ms"),
        Figure("subtree_p99_ms", _ms(subtree, 99), "ms"),
        Figure("subtree_server_p50_ms", _ms(server["subtree"], scale=1), "ms"),
        Figure("subtree_server_p99_ms", _ms(server["subtree"], 99, scale=1), "ms"),
        Figure("subtree_sql_p50_ms", _ms(subtree_sql), "ms"),
        Figure("subtree_answers_differing_from_cte",
               sum(b["headcount_by_rank"] != w for b, w in zip(bodies, walked, strict=True)), "answers"),
        Figure("rollup_answers_differing_from_cte", sum(r != w for r, w in zip(stored, walked, strict=True)),
               "answers"),
        Figure("cte_p50_ms", _ms(cte), "ms"),
        Figure("rollup_sql_p50_ms", _ms(rollup), "ms"),
        Figure("subtree_ratio_to_cte", statistics.median(cte) / statistics.median(rollup), "x"),
        *by_level,
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
    ]
