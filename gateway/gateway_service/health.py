"""Readiness of the gateway itself and of every service behind it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gateway_service.upstreams import Upstreams


async def _service_readiness(client: httpx.AsyncClient, url: httpx.URL, seconds: float) -> dict[str, Any]:
    try:
        response = await client.get(url, timeout=seconds)
    except httpx.TimeoutException:
        return {"status": "timeout"}
    except httpx.RequestError as exc:
        return {"status": "unreachable", "error": type(exc).__name__}
    try:
        body = response.json()
    except ValueError:
        return {"status": "invalid_answer", "http_status": response.status_code}
    if not isinstance(body, dict):
        return {"status": "invalid_answer", "http_status": response.status_code}
    return {
        "status": str(body.get("status") or "not_ready"), "migration": body.get("migration"),
        "database": body.get("database"),
    }


async def services_readiness(upstreams: Upstreams, seconds: float) -> dict[str, dict[str, Any]]:
    """Ask every service's /readyz at once; one slow service costs at most `seconds`."""
    names = upstreams.names
    results = await asyncio.gather(*(
        _service_readiness(upstreams.client(name), upstreams.url(name, b"/readyz"), seconds) for name in names
    ))
    return dict(zip(names, results, strict=True))
