"""The services performance calls: org (snapshot, count-back, directory) and the ledger (feed,
outstanding premium, payables), one pooled client each, closed when the app stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import httpx

from svckit.app import Worker
from svckit.errors import BadGateway, ServiceUnavailable
from svckit.http import ServiceClient
from svckit.kit import ServiceKit
from svckit.outbox import FeedPage


@dataclass
class Upstreams:
    org: ServiceClient | None
    ledger: ServiceClient | None

    def need_org(self) -> ServiceClient:
        if self.org is None:
            raise ServiceUnavailable("org is not configured (PERFORMANCE_ORG_URL)", code="org_not_configured")
        return self.org

    def need_ledger(self) -> ServiceClient:
        if self.ledger is None:
            raise ServiceUnavailable("the ledger is not configured (PERFORMANCE_LEDGER_URL)",
                                     code="ledger_not_configured")
        return self.ledger

    async def aclose(self) -> None:
        for client in (self.org, self.ledger):
            if client is not None:
                await client.aclose()

    def closer(self) -> Worker:
        """A worker whose only job is to close the clients when the app stops."""

        async def close(kit: ServiceKit, stop: asyncio.Event) -> None:
            await stop.wait()
            await self.aclose()

        return close


def refused(service: str, response: httpx.Response) -> BadGateway:
    return BadGateway(f"{service} answered {response.status_code}: {response.text[:500]}",
                      code=f"{service}_refused", upstream_status=response.status_code)


def unreachable(service: str, error: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"{service} did not answer: {type(error).__name__}: {error}",
                              code=f"{service}_unreachable")


async def feed_page(client: ServiceClient, after: str | None, limit: int) -> FeedPage:
    response = await client.request("GET", "/internal/feed", params={"after": after or "", "limit": limit})
    response.raise_for_status()
    return FeedPage.model_validate(response.json())


@asynccontextmanager
async def snapshot(org: ServiceClient, on: date) -> AsyncIterator[AsyncIterator[bytes]]:
    """Org's whole hierarchy in force on a date: NDJSON, one position a line, as it streams in."""
    token = {"Authorization": f"Bearer {org.token_for(None)}"}
    async with org.client.stream("GET", "/v1/snapshot", params={"on": on.isoformat()}, headers=token) as response:
        if response.status_code != 200:
            await response.aread()
            raise refused("org", response)
        yield response.aiter_bytes()
