"""Operating the real system: every process on its own PostgreSQL server, one request id through the
gateway's and a service's JSON logs, metrics for internal scrapers only, and a service's workers
sharing their metrics (prometheus_client multiprocess mode).

The five processes of the stack (`python -m svckit.ops.stack run`) each get a separate embedded
PostgreSQL server, given to them only through their own `<SVC>_DATABASE_URL`: nothing can join or
read across services, so what works here works with the services' databases anywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from svckit.migrations import upgrade_to_head
from svckit.ops.pgserver import embedded_server
from svckit.ops.provision import libpq_url, provision, render
from svckit.ops.services import ALL, by_name, repo_root
from svckit.testing.metrics import sample

from .stack import RunningStack, free_port, running_stack

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = "ops-" + secrets.token_urlsafe(18)
SCRAPE_TOKEN = "scrape-" + secrets.token_urlsafe(32)
DATABASE = "salesteam"
FOLLOWERS_OF_ORG = ("ledger", "activity", "performance")
T = TypeVar("T")


@dataclass(frozen=True)
class Server:
    admin_dsn: str  # the server's superuser, for the test's own checks
    dsn: str  # the service's own role on it: all the service is given


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    """One embedded PostgreSQL server per process, each holding only that process's schema and role."""
    with ExitStack() as stack:
        found: dict[str, Server] = {}
        for spec in ALL:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"ops-{spec.name}-")))
            folder.chmod(0o755)  # the embedded server runs as its own system user when we are root
            admin = stack.enter_context(embedded_server(folder / "data", keep_data=False))
            dsns = asyncio.run(provision(admin, DATABASE, schemas=[spec.name], role_prefix="own_",
                                         passwords={spec.name: secrets.token_urlsafe(24)}))
            found[spec.name] = Server(render(libpq_url(admin).set(database=DATABASE)), dsns[spec.name])
        where = {(url.host, url.port, url.query.get("host")) for url in (make_url(s.dsn) for s in found.values())}
        assert len(where) == len(ALL), "the servers are not distinct"
        yield found


@pytest.fixture(scope="module")
def stack(servers: dict[str, Server], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    env = {spec.dsn_env: servers[spec.name].dsn for spec in ALL}
    env.update({"GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD, "METRICS_TOKEN": SCRAPE_TOKEN})
    with running_stack(env, tmp_path_factory.mktemp("ops") / "data") as running:
        running.wait_healthy(timeout=180)
        yield running
        assert running.stop() == 0


def eventually(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (result := check()) is not None:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def query(dsn: str, sql: str, *args: Any) -> Any:
    async def run() -> Any:
        connection = await asyncpg.connect(dsn)
        try:
            return await connection.fetchval(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


def admin_client(stack: RunningStack) -> httpx.Client:
    login = httpx.post(f"{stack.gateway}/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    return httpx.Client(base_url=f"{stack.gateway}/api/v1", timeout=30,
                        headers={"Authorization": f"Bearer {login.json()['access_token']}"})


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def json_lines(stack: RunningStack) -> list[dict[str, Any]]:
    lines = []
    for line in list(stack.output):
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by the other processes' output: not ours to judge
    return lines


def scrape(url: str, token: str = SCRAPE_TOKEN) -> str:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.text


def test_one_request_id_is_in_the_json_logs_of_the_gateway_and_the_service_that_served_it(
    stack: RunningStack,
) -> None:
    with admin_client(stack) as admin:
        for service in ("org", "ledger"):
            request_id = f"ops-{service}-{secrets.token_hex(8)}"
            answer = admin.get(f"/{service}/v1/caller", headers={"X-Request-ID": request_id})
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-request-id"] == request_id

            def logged(rid: str = request_id) -> dict[str, dict[str, Any]] | None:
                access = {line["service"]: line for line in json_lines(stack)
                          if line.get("request_id") == rid and line["logger"] == "svckit.access"}
                return access if len(access) == 2 else None

            access = eventually(logged, f"access lines of {request_id}")
            assert set(access) == {"gateway", service}
            assert (access["gateway"]["path"], access["gateway"]["status"]) == (f"/api/v1/{service}/v1/caller", 200)
            assert (access[service]["path"], access[service]["status"]) == ("/v1/caller", 200)
            assert all(line["level"] == "info" and line["method"] == "GET" for line in access.values())
            # No other process logged anything under this request id.
            assert {line["service"] for line in json_lines(stack) if line.get("request_id") == request_id} == {
                "gateway", service}


def test_services_on_their_own_servers_work_together_through_the_gateway(
    stack: RunningStack, servers: dict[str, Server],
) -> None:
    for spec in ALL:  # each server holds its own schema and no other service's
        others = [s.name for s in ALL if s.name != spec.name]
        assert query(servers[spec.name].admin_dsn, "SELECT to_regnamespace($1) IS NOT NULL", spec.name)
        assert not any(query(servers[spec.name].admin_dsn, "SELECT to_regnamespace($1) IS NOT NULL", other)
                       for other in others)

    tag = secrets.token_hex(3)
    with admin_client(stack) as admin:
        hq = created(admin.post("/org/v1/institutions", json={
            "kind": "hq", "tier": 1, "code": f"HQ-{tag}", "name": "总公司", "opened_on": "2020-01-01"}))
        branch = created(admin.post("/org/v1/institutions", json={
            "parent_id": hq["id"], "kind": "branch", "tier": 2, "code": f"TJ-{tag}", "name": f"天津{tag}分公司",
            "opened_on": "2020-01-01"}))
        office = created(admin.post("/org/v1/institutions", json={
            "parent_id": branch["id"], "kind": "service_office", "tier": 3, "code": f"HG-{tag}",
            "name": "汉沽营销服务部", "opened_on": "2020-01-01"}))
        team = created(admin.post("/org/v1/teams", json={"institution_id": office["id"], "valid_from": "2020-01-01"}))
        agent = created(admin.post("/org/v1/agents", json={
            "code": f"A-{tag}", "name": f"员工{tag}", "licence_no": f"L-{tag}", "hire_date": "2024-01-01",
            "institution_id": office["id"], "team_id": team["id"], "supervisor_id": None, "rank_code": "agent"}))

        # Each follower learnt of the hire from org's change feed over HTTP, into its own server.
        for follower in FOLLOWERS_OF_ORG:
            replica = servers[follower].admin_dsn
            institution = eventually(lambda dsn=replica, schema=follower: query(
                dsn, f"SELECT institution_id FROM {schema}.org_agent WHERE agent_id = $1",  # noqa: S608
                agent["id"]), f"{follower} copies agent {agent['id']} from org's feed")
            assert institution == office["id"]
            lag = scrape(stack.url(follower))
            assert sample(lag, "feed_consumer_lag_events", consumer=follower, source="org") == 0

        # Requests through the gateway reach every service, each answering from its own server.
        assert admin.get(f"/org/v1/agents/{agent['id']}/chain", params={"on": "2024-06-30"}).status_code == 200
        days = admin.get(f"/activity/v1/agents/{agent['id']}/days", params={"from": "2024-06-01", "to": "2024-06-30"})
        assert (days.status_code, days.json()) == (200, [])
        assert admin.get("/ledger/v1/journal/trial-balance").status_code == 200
        assert admin.get("/performance/v1/caller").json()["service"] == "performance"
    assert httpx.get(f"{stack.gateway}/healthz").json()["status"] == "ok"


def test_metrics_are_served_to_internal_scrapers_only(stack: RunningStack) -> None:
    with admin_client(stack) as admin:
        # A service's metrics are never forwarded to the public, not even to an administrator.
        request_id = f"ops-metrics-{secrets.token_hex(8)}"
        hidden = admin.get("/org/metrics", headers={"X-Request-ID": request_id})
        assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
        assert admin.get("/ledger//metrics").status_code == 404
        assert not [line for line in json_lines(stack)
                    if line.get("request_id") == request_id and line["service"] != "gateway"], "forwarded"
        assert admin.get("/org/v1/caller").status_code == 200
        user_token = admin.headers["Authorization"]

    # Nor is the gateway's own: a person's token is not a scrape credential.
    for headers in ({}, {"Authorization": user_token}, {"Authorization": "Bearer " + "x" * 40}):
        refused = httpx.get(f"{stack.gateway}/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
    gateway = scrape(stack.gateway)
    forwarded = {"method": "GET", "route": "/api/v1/org/{path:path}", "status": "2xx"}
    assert (sample(gateway, "http_request_duration_seconds_count", **forwarded) or 0) >= 1
    assert sample(gateway, "http_requests_in_flight") is not None

    for spec in ALL[:-1]:
        assert httpx.get(f"{stack.url(spec.name)}/metrics").status_code == 401
        exposition = scrape(stack.url(spec.name))
        assert sample(exposition, "outbox_held_back_events") is not None, spec.name
    org = scrape(stack.url("org"))
    assert (sample(org, "http_request_duration_seconds_count", method="GET", route="/v1/caller", status="2xx")
            or 0) >= 1


def test_the_workers_of_one_service_report_their_requests_together(servers: dict[str, Server]) -> None:
    """Two uvicorn workers of org, PROMETHEUS_MULTIPROC_DIR set: whichever worker answers a scrape
    counts every request either of them served."""
    org, port = by_name("org"), free_port()
    upgrade_to_head(org.alembic_ini(repo_root(Path(__file__))), servers["org"].dsn)  # whether the stack ran or not
    with tempfile.TemporaryDirectory(prefix="ops-prom-") as shared:
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env.update({org.dsn_env: servers["org"].dsn, "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(36),
                    "METRICS_TOKEN": SCRAPE_TOKEN, "PROMETHEUS_MULTIPROC_DIR": shared, "PYTHONUNBUFFERED": "1"})
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", org.app, "--factory", "--workers", "2", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"], cwd=repo_root(Path(__file__)), env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            eventually(lambda: _answers(f"{base}/readyz"), "org's two workers ready", timeout=60)
            served = 0

            def both_workers_served() -> bool | None:
                nonlocal served
                for _ in range(20):  # a new connection each, so the kernel hands them to either worker
                    assert httpx.get(f"{base}/healthz", headers={"Connection": "close"}).status_code == 200
                    served += 1
                pids = {p.name.split("_")[1].split(".")[0] for p in Path(shared).glob("histogram_*.db")}
                return True if len(pids) == 2 else None

            eventually(both_workers_served, "both workers served a request", timeout=60)
            counts = set()
            for _ in range(8):
                exposition = scrape(base)
                counts.add(sample(exposition, "http_request_duration_seconds_count", method="GET",
                                  route="/healthz", status="2xx"))
            assert counts == {served}
            assert len(list(Path(shared).glob("gauge_livesum_*.db"))) == 2  # each worker's in-flight count
        finally:
            process.terminate()
            process.wait(timeout=30)
        # Workers that exited stop counting as in flight: their live gauges are gone.
        assert not list(Path(shared).glob("gauge_livesum_*.db"))


def _answers(url: str) -> bool | None:
    try:
        return True if httpx.get(url).status_code == 200 else None
    except httpx.TransportError:
        return None
