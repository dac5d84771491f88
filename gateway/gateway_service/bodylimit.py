"""Request-body limits by path prefix: the partner bank uploads reconciliation files far larger than
anything a person sends, so its prefix has its own limit and everything else keeps the default."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from svckit.middleware import BodySizeLimitMiddleware


class BodySizeLimitByPrefix:
    def __init__(self, app: ASGIApp, *, default_bytes: int, by_prefix: Mapping[str, int]) -> None:
        self.default = BodySizeLimitMiddleware(app, max_bytes=default_bytes)
        # Longest prefix first, so a more specific prefix wins.
        self.limits = [(prefix, BodySizeLimitMiddleware(app, max_bytes=limit))
                       for prefix, limit in sorted(by_prefix.items(), key=lambda item: -len(item[0]))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        for prefix, limited in self.limits:
            if path.startswith(prefix):
                await limited(scope, receive, send)
                return
        await self.default(scope, receive, send)
