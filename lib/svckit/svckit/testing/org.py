"""A small company set up through org's API, for the tests of org and of every service that follows it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from svckit.directory import DirectoryReplica, DirectoryTables
from svckit.feed import FeedConsumer
from svckit.http import ServiceClient
from svckit.kit import ServiceKit
from svckit.platform_tables import PlatformTables
from svckit.testing.responses import ok


@dataclass
class Company:
    hq: int
    branch: int
    office: int
    branch_name: str
    department: int


async def company(org: httpx.AsyncClient) -> Company:
    """HQ → 天津…分公司 → 汉沽营销服务部, with one department, all open since 2020."""
    tag = secrets.token_hex(3)
    hq = ok(await org.post("/v1/institutions", json={"kind": "hq", "tier": 1, "code": f"HQ-{tag}", "name": "总公司",
                                                    "opened_on": "2020-01-01"}), 201)
    branch_name = f"天津{tag}分公司"
    branch = ok(await org.post("/v1/institutions", json={
        "parent_id": hq["id"], "kind": "branch", "tier": 2, "code": f"TJ-{tag}", "name": branch_name,
        "opened_on": "2020-01-01"}), 201)
    office = ok(await org.post("/v1/institutions", json={
        "parent_id": branch["id"], "kind": "service_office", "tier": 3, "code": f"HG-{tag}", "name": "汉沽营销服务部",
        "opened_on": "2020-01-01"}), 201)
    department = ok(await org.post("/v1/teams", json={"institution_id": office["id"], "valid_from": "2020-01-01"}), 201)
    return Company(hq["id"], branch["id"], office["id"], branch_name, department["id"])


async def hire(org: httpx.AsyncClient, c: Company, rank: str, supervisor: int | None = None, *,
               on: str = "2024-01-01", **extra: Any) -> int:
    """An agent of `rank` in the company's office and department; returns their id."""
    tag = secrets.token_hex(4)
    body = {"code": f"A-{tag}", "name": f"员工{tag}", "licence_no": f"L-{tag}", "hire_date": on,
            "institution_id": c.office, "team_id": c.department, "supervisor_id": supervisor, "rank_code": rank,
            **extra}
    return int(ok(await org.post("/v1/agents", json=body), 201)["id"])


@asynccontextmanager
async def org_replica(org_app: Any, kit: ServiceKit, service: str, platform: PlatformTables,
                      tables: DirectoryTables, secret: str) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """`drain()`: apply org's change feed to `service`'s copy of the organisation until nothing is
    left, over ASGI, exactly as the service's background worker does."""
    org_client = ServiceClient(service="org", base_url="http://org.test", caller_service=service, secret=secret,
                               transport=httpx.ASGITransport(app=org_app))
    replica = DirectoryReplica(tables, org_client)
    consumer = FeedConsumer(kit.db, platform, "org", replica.fetch_page, handle_page=replica.apply)
    try:
        yield consumer.drain
    finally:
        await org_client.aclose()
