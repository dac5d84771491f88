"""One pooled httpx client per called service, minting the internal token on every call.

Retries are bounded and only where repeating is safe: idempotent methods, or writes that
carry an Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from svckit.internal_auth import Caller, mint_internal_token
from svckit.requestid import REQUEST_ID_HEADER, current_request_id

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
# Callers drop an idle connection well before the service does (uvicorn runs with --timeout-keep-alive
# SERVICE_KEEPALIVE_SECONDS): otherwise a request sent just as the service closes it fails, and a POST
# cannot be retried safely.
SERVICE_KEEPALIVE_SECONDS = 30
CALLER_KEEPALIVE_SECONDS = 15.0


class ServiceClient:
    def __init__(
        self, *, service: str, base_url: str, caller_service: str, secret: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT, retries: int = 2, transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self.service, self.caller_service, self.secret, self.retries = service, caller_service, secret, retries
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                                keepalive_expiry=CALLER_KEEPALIVE_SECONDS),
        )

    def token_for(self, caller: Caller | None) -> str:
        """Our own token, or one carrying the person we act for: their roles, institutions and data
        scope, so the called service limits them as we do (without a scope a person sees nothing there)."""
        if caller is None:
            return mint_internal_token(self.secret, caller_service=self.caller_service, audience=self.service,
                                       request_id=current_request_id())
        return mint_internal_token(
            self.secret, caller_service=self.caller_service, audience=self.service, user_id=caller.user_id,
            username=caller.username, roles=caller.roles, request_id=current_request_id(),
            institutions=caller.institutions, scope=caller.scope,
        )

    async def request(
        self, method: str, path: str, *, caller: Caller | None = None, idempotency_key: str | None = None,
        headers: dict[str, str] | None = None, **kwargs: Any,
    ) -> httpx.Response:
        method = method.upper()
        retryable = method in SAFE_METHODS or idempotency_key is not None
        attempts = 1 + (self.retries if retryable else 0)
        for attempt in range(attempts):
            sent = {"Authorization": f"Bearer {self.token_for(caller)}", **(headers or {})}
            if request_id := current_request_id():
                sent[REQUEST_ID_HEADER] = request_id
            if idempotency_key is not None:
                sent["Idempotency-Key"] = idempotency_key
            try:
                response = await self.client.request(method, path, headers=sent, **kwargs)
            except httpx.TransportError:
                if attempt + 1 >= attempts:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt + 1 >= attempts:
                    return response
            await asyncio.sleep(0.05 * 2**attempt + random.uniform(0, 0.05))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.client.aclose()
