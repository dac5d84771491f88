"""The demo company: reproducible, realistic in shape, loaded consistently, answered by the API
like a plain walk of supervisor links, and open to further changes through the API."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from org_service import demo, rules
from org_service.app import create_app
from org_service.demo import AGENT, AM, DIRECTOR, PROB, SUP, Company, DemoConfig, Loaded
from org_service.settings import OrgSettings
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

SIZE = 300


def small(**changes: Any) -> DemoConfig:
    return DemoConfig(**{"agents": SIZE, "tag": "t", **changes})


def in_force(company: Company, on: int) -> list[demo.PositionRow]:
    return [p for p in company.positions if p[1] <= on and (p[2] is None or p[2] > on)]


def sample_dates(company: Company) -> list[date]:
    return [date.fromordinal(company.start + (company.until - company.start) * k // 5) for k in range(6)]


def test_the_same_seed_gives_the_same_company_and_another_seed_another() -> None:
    first, again, other = demo.generate(small()), demo.generate(small()), demo.generate(small(seed=2))
    assert (first.agents, first.positions, first.lineage, first.teams) == (
        again.agents, again.positions, again.lineage, again.teams)
    assert first.positions != other.positions


def test_the_company_has_the_shape_of_a_real_one() -> None:
    company = demo.generate(small(agents=10_000))
    assert sum(company.active) == 10_000
    kinds = Counter(kind for _, kind, *_ in company.institutions)
    assert (kinds["hq"], kinds["sales_office"]) == (1, kinds["branch"])
    assert 2 <= kinds["branch"] <= 4
    now = in_force(company, company.until)
    assert len(now) == 10_000
    assert max(len(p[7]) for p in now) <= 5  # six levels at most: director … agent
    assert set(Counter(p[6] for p in now)) == set(range(6))  # every rank of the ladder is held
    assert {"hired", "team rebalanced", "supervisor_left", "promotion: assessment"} <= {p[8] for p in company.positions}
    assert any(left is not None for *_, left, _ in company.agents)
    assert len({licence for _, _, licence, *_ in company.agents}) == len(company.agents)
    assert {kind for _, kind, _, _ in company.lineage} == {"recruiter", "nurturer"}
    # A department is named after the institution path below HQ; its groups after the department.
    inst, _, kind, number, *_, name = company.teams[0]
    branch = company.institutions[company.institutions[inst][0] or 0][4]
    assert kind == "department"
    assert name == rules.department_name([branch, company.institutions[inst][4]], number)
    group = next(t for t in company.teams if t[1] == 0)
    assert group[6] == rules.group_name(name, group[3])


def test_rollups_are_the_headcount_the_versions_imply_on_every_date() -> None:
    company = demo.generate(small())
    stored = demo.rollups(company.positions)
    for on in range(company.start, company.until + 1, 37):
        expected = Counter((a, p[6]) for p in in_force(company, on) for a in p[7])
        found = {(a, r): n for a, r, f, t, n in stored if f <= on and (t is None or t > on)}
        assert found == dict(expected), date.fromordinal(on)


@dataclass
class Seeded:
    company: Company
    loaded: Loaded
    dsn: str

    def ids(self, *local: int) -> list[int]:
        return [self.loaded.agent_ids[i] for i in local]

    def samples(self) -> list[int]:
        """A supervisor of every rank, and the director of the largest line."""
        c = self.company
        picks = [next(i for i, r in enumerate(c.rank) if r == rank and c.active[i]) for rank in (PROB, SUP, DIRECTOR)]
        return self.ids(c.big_line, *picks)


@pytest.fixture(scope="module")
async def seeded(stack_db: StackDatabase) -> Seeded:
    company, loaded = await demo.seed(small(tag=secrets.token_hex(3)), stack_db.dsn("org"))
    return Seeded(company, loaded, stack_db.dsn("org"))


@pytest.fixture
async def conn(seeded: Seeded) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(demo.libpq_dsn(seeded.dsn))
    yield connection
    await connection.close()


@pytest.fixture
async def org(seeded: Seeded, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(OrgSettings(database_url=seeded.dsn, INTERNAL_TOKEN_SECRET=internal_secret))
    async with running(app) as client:
        client.headers.update(internal_headers(internal_secret, "org", username="demo-test",
                                               roles=frozenset({"admin"})))
        yield client


async def test_everything_loaded_is_consistent_on_every_sample_date(seeded: Seeded, conn: asyncpg.Connection) -> None:
    assert seeded.loaded.rows["agent"] == len(seeded.company.agents)
    assert await demo.verify(conn, seeded.loaded.hq, sample_dates(seeded.company), seeded.samples()) == []


async def test_verification_notices_a_rollup_that_is_off(seeded: Seeded, conn: asyncpg.Connection) -> None:
    top = seeded.loaded.agent_ids[seeded.company.big_line]
    on = date.fromordinal(seeded.company.until)
    async with conn.transaction():
        await conn.execute("UPDATE org.subtree_rollup SET headcount = headcount + 1 WHERE agent_id = $1"
                           " AND rank_code = 'agent' AND valid_to IS NULL", top)
        problems = await demo.verify(conn, seeded.loaded.hq, [on], [top])
        await conn.execute("UPDATE org.subtree_rollup SET headcount = headcount - 1 WHERE agent_id = $1"
                           " AND rank_code = 'agent' AND valid_to IS NULL", top)
    assert len(problems) == 2
    assert "rollups differ" in problems[0]
    assert f"below agent {top}" in problems[1]


async def _walk_up(conn: asyncpg.Connection, agent: int, on: date) -> list[int]:
    rows = await conn.fetch(
        "WITH RECURSIVE up(agent_id, level) AS ("
        "  SELECT supervisor_id, 1 FROM org.agent_position WHERE agent_id = $1 AND supervisor_id IS NOT NULL"
        "   AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)"
        "  UNION ALL"
        "  SELECT p.supervisor_id, up.level + 1 FROM org.agent_position p JOIN up ON p.agent_id = up.agent_id"
        "  WHERE p.supervisor_id IS NOT NULL AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2))"
        " SELECT agent_id FROM up ORDER BY level", agent, on)
    return [r["agent_id"] for r in rows]


async def _walk_down(conn: asyncpg.Connection, agent: int, on: date) -> dict[str, int]:
    return {r["rank_code"]: r["headcount"] for r in await conn.fetch(demo.CTE_HEADCOUNT, agent, on)}


async def test_the_api_answers_like_a_walk_of_supervisor_links(
    seeded: Seeded, conn: asyncpg.Connection, org: httpx.AsyncClient
) -> None:
    company, ids = seeded.company, seeded.loaded.agent_ids
    checked = Counter[str]()
    for on in sample_dates(company):
        versions = in_force(company, on.toordinal())
        for agent, *_, rank, path, _ in versions[:: max(1, len(versions) // 12)]:
            chain = (await org.get(f"/v1/agents/{ids[agent]}/chain", params={"on": on.isoformat()})).json()
            assert [link["agent_id"] for link in chain] == await _walk_up(conn, ids[agent], on)
            assert [link["agent_id"] for link in chain] == [ids[a] for a in reversed(path)]
            subtree = (await org.get(f"/v1/agents/{ids[agent]}/subtree", params={"on": on.isoformat()})).json()
            assert subtree["headcount_by_rank"] == await _walk_down(conn, ids[agent], on)
            checked[demo.RANK_CODES[rank]] += 1
    assert checked["agent"] > 0
    assert checked["director"] > 0


async def test_a_generated_company_takes_further_changes_and_stays_consistent(
    seeded: Seeded, conn: asyncpg.Connection, org: httpx.AsyncClient
) -> None:
    company, ids = seeded.company, seeded.loaded.agent_ids
    after = date.fromordinal(company.until + 1)
    # A supervisor with people below moves, with them, under someone of a higher rank in the same office.
    paths = {p[0]: p[7] for p in company.positions if p[2] is None}
    bosses = {company.supervisor[i] for i in paths}
    mover = next(i for i in paths if PROB <= company.rank[i] <= AM and i in bosses and company.supervisor[i] >= 0)
    below_before = await _walk_down(conn, ids[mover], after)
    target = next(i for i in paths if company.rank[i] > company.rank[mover] and mover not in paths[i]
                  and company.institution[i] == company.institution[mover] and i != company.supervisor[mover])
    moved = await org.post(f"/v1/agents/{ids[mover]}/moves", json={
        "effective_on": after.isoformat(), "supervisor_id": ids[target], "reason": "demo test: regrouped"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["path"][-1] == ids[target]
    # An agent is promoted, another one leaves.
    promoted, leaver = [i for i in paths if company.rank[i] == AGENT and mover not in paths[i]][:2]
    promotion = await org.post(f"/v1/agents/{ids[promoted]}/rank-changes", json={
        "effective_on": after.isoformat(), "rank_code": "probationary_supervisor", "kind": "promotion",
        "reason": "demo test"})
    assert promotion.status_code == 200, promotion.text
    left = await org.post(f"/v1/agents/{ids[leaver]}/leave", json={
        "effective_on": (after + timedelta(days=1)).isoformat(), "reason": "demo test"})
    assert left.status_code == 200, left.text

    dates = [date.fromordinal(company.until), after, after + timedelta(days=1)]
    samples = [ids[mover], ids[target], ids[company.supervisor[mover]], *seeded.samples()]
    assert await demo.verify(conn, seeded.loaded.hq, dates, samples) == []
    assert await _walk_down(conn, ids[mover], after) == below_before
    subtree = (await org.get(f"/v1/agents/{ids[target]}/subtree", params={"on": after.isoformat()})).json()
    assert subtree["headcount_by_rank"] == await _walk_down(conn, ids[target], after)


def test_the_command_line_loads_and_verifies_a_company(stack_db: StackDatabase) -> None:
    env = {**os.environ, "ORG_DATABASE_URL": stack_db.dsn("org")}
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "org_service.demo", "--agents", "200", "--seed", "5", "--tag", secrets.token_hex(3),
         "--verify"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "200 agents in force" in done.stdout
    assert "consistent on" in done.stdout
    # Seeding for `make run DEMO=...` leaves an organisation that already has people alone.
    again = subprocess.run(
        [sys.executable, "-m", "org_service.demo", "--agents", "200", "--if-empty"], env=env, capture_output=True,
        text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already has agents; nothing generated" in again.stdout
