"""Each user's data scope, asked of the org service and kept for a short while.

The scope names a root (the user's own agent, their subtree, their institutions), not a list of
people, so services evaluate membership live against their data; only a change of the user's
own link or roles waits for the cache to expire.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict

import httpx

from gateway_service.accounts import Principal
from gateway_service.proxy import refuse_if_gateway_was_rejected
from gateway_service.upstreams import Upstreams
from svckit.errors import ServiceUnavailable
from svckit.internal_auth import mint_internal_token
from svckit.requestid import current_request_id
from svckit.scope import DataScope

ScopeKey = tuple[uuid.UUID, uuid.UUID, frozenset[str], frozenset[int]]


class ScopeCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 50_000) -> None:
        self.ttl, self.max_entries = ttl_seconds, max_entries
        self._entries: OrderedDict[ScopeKey, tuple[float, DataScope]] = OrderedDict()
        # One question to org per user at a time: the requests arriving meanwhile wait for its answer.
        self._asking: dict[ScopeKey, asyncio.Future[DataScope]] = {}

    async def scope_of(self, principal: Principal, upstreams: Upstreams, secret: str, seconds: float) -> DataScope:
        if "admin" in principal.roles:
            return DataScope(everything=True)
        # Roles and institutions are part of the key: changing them takes effect on the next request.
        key = (principal.user_id, principal.session_id, principal.roles, principal.institution_ids)
        cached = self._entries.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        asking = self._asking.get(key)
        if asking is None:
            # A task of its own: a caller that goes away does not cancel the answer others wait for.
            asking = asyncio.ensure_future(self._ask_org(principal, upstreams, secret, seconds))
            self._asking[key] = asking
            asking.add_done_callback(lambda done: self._settled(key, done))
        scope = await asyncio.shield(asking)
        self._entries[key] = (time.monotonic() + self.ttl, scope)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return scope

    def _settled(self, key: ScopeKey, done: asyncio.Future[DataScope]) -> None:
        self._asking.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here: every caller may have gone away meanwhile

    @staticmethod
    async def _ask_org(principal: Principal, upstreams: Upstreams, secret: str, seconds: float) -> DataScope:
        token = mint_internal_token(
            secret, caller_service="gateway", audience="org", user_id=str(principal.user_id),
            username=principal.username, roles=principal.roles, institutions=principal.institution_ids,
            request_id=current_request_id(),
        )
        try:
            response = await upstreams.client("org").get(
                upstreams.url("org", b"/v1/scope"), headers={"Authorization": f"Bearer {token}"}, timeout=seconds,
            )
            if response.status_code == 401:
                await refuse_if_gateway_was_rejected(response, "org")  # our secrets out of step: a 502
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            body = None
        if not isinstance(body, dict):
            # Fail closed: without knowing what the user may see, nothing is forwarded.
            raise ServiceUnavailable("cannot tell what this user may see right now", code="scope_unavailable",
                                     service="org")
        return DataScope(
            everything=body.get("everything") is True,
            agent_id=body.get("agent_id") if isinstance(body.get("agent_id"), int) else None,
            subtree=body.get("subtree") is True,
            institutions=frozenset(i for i in body.get("institutions") or () if isinstance(i, int)),
            company_wide=body.get("company_wide") is True,
        )
