"""The gateway's cost, over real sockets to real uvicorn processes.

Baselines, in the same run: the org service's bare /healthz (what the framework and the load
client cost), and the same authenticated read sent straight to the org service with an internal
token. Through the gateway a call adds access-token and session checks, a fresh internal token
and a second network hop.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx

from gateway_service import accounts
from gateway_service.models import SCHEMA
from gateway_service.roles import Role
from svckit.db import Database
from svckit.internal_auth import mint_internal_token
from svckit.ops.bench import BenchContext, Figure
from svckit.ops.services import answers_ok

REQUESTS, CONCURRENCY, LOGINS, REPEATS = 1_000, 16, 20, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _processes(ctx: BenchContext, org_port: int, gateway_port: int, jwt_secret: str) -> Iterator[None]:
    base = {**os.environ, "INTERNAL_TOKEN_SECRET": ctx.internal_secret, "ORG_LOG_LEVEL": "WARNING",
            "GATEWAY_LOG_LEVEL": "WARNING"}
    specs = [
        ("org_service.app:create_app", org_port, {"ORG_DATABASE_URL": ctx.db.dsn("org")}),
        ("gateway_service.app:create_app", gateway_port, {
            "GATEWAY_DATABASE_URL": ctx.db.dsn("gateway"), "GATEWAY_JWT_SECRET": jwt_secret,
            "GATEWAY_PARTNER_MASTER_KEY": secrets.token_urlsafe(48),
            "GATEWAY_ORG_URL": f"http://127.0.0.1:{org_port}"}),
    ]
    procs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--no-access-log",
             "--log-level", "warning"], env={**base, **extra}, cwd=ctx.root)
        for app, port, extra in specs
    ]
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=2.0) as probe:
            for port in (org_port, gateway_port):
                while not answers_ok(probe, f"http://127.0.0.1:{port}/readyz"):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"process on port {port} not ready")
                    time.sleep(0.2)
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


async def _load(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(REQUESTS))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await client.get(url, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def run(ctx: BenchContext) -> list[Figure]:
    jwt_secret = secrets.token_urlsafe(48)
    password = secrets.token_urlsafe(16)
    db = Database.connect(ctx.db.dsn("gateway"), schema=SCHEMA)
    async with db.sessionmaker.begin() as session:
        await accounts.create_user(session, username="bench-agent", password=password, roles=[Role.AGENT])
    await db.dispose()

    org_port, gateway_port = _free_port(), _free_port()
    with _processes(ctx, org_port, gateway_port, jwt_secret):
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            gateway = f"http://127.0.0.1:{gateway_port}"
            login_times = []
            for _ in range(LOGINS):
                started = time.perf_counter()
                answer = await client.post(f"{gateway}/api/v1/auth/login",
                                           json={"username": "bench-agent", "password": password})
                login_times.append(time.perf_counter() - started)
            access = answer.json()["access_token"]

            internal = mint_internal_token(ctx.internal_secret, caller_service="gateway", audience="org",
                                           user_id="bench", roles={"agent"}, ttl=timedelta(hours=1))
            urls = {
                "bare": (f"http://127.0.0.1:{org_port}/healthz", {}),
                "direct": (f"http://127.0.0.1:{org_port}/v1/caller", {"Authorization": f"Bearer {internal}"}),
                "proxied": (f"{gateway}/api/v1/org/v1/caller", {"Authorization": f"Bearer {access}"}),
            }
            best: dict[str, tuple[float, list[float]]] = {}
            for _ in range(REPEATS):  # interleaved, fastest run of each kept
                for name, (url, headers) in urls.items():
                    seconds, latencies = await _load(client, url, headers)
                    if name not in best or seconds < best[name][0]:
                        best[name] = (seconds, latencies)
    (bare_s, _), (direct_s, direct), (proxied_s, proxied) = best["bare"], best["direct"], best["proxied"]
    return [
        Figure("bare_healthz_requests_per_s", REQUESTS / bare_s, "1/s"),
        Figure("direct_requests_per_s", REQUESTS / direct_s, "1/s"),
        Figure("proxied_requests_per_s", REQUESTS / proxied_s, "1/s"),
        Figure("proxied_vs_direct_ratio", direct_s / proxied_s, "x"),
        Figure("direct_p50_ms", _pct(direct, 50), "ms"),
        Figure("proxied_p50_ms", _pct(proxied, 50), "ms"),
        Figure("proxied_p99_ms", _pct(proxied, 99), "ms"),
        Figure("login_p50_ms", statistics.median(login_times) * 1000, "ms"),
    ]
