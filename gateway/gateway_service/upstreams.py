"""One pooled httpx client per upstream service, opened in the lifespan and reused by every request."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from svckit.errors import NotFound
from svckit.http import CALLER_KEEPALIVE_SECONDS


class Upstreams:
    def __init__(
        self, urls: Mapping[str, str], *, timeout: httpx.Timeout, max_connections: int,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        transports = transports or {}
        unknown = set(transports) - set(urls)
        if unknown:
            raise ValueError(f"transports given for unknown services: {sorted(unknown)}")
        self.urls = dict(urls)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=CALLER_KEEPALIVE_SECONDS)
        self.clients = {
            # No redirects are followed: a service's redirect goes back to the client, rewritten.
            name: httpx.AsyncClient(timeout=timeout, limits=limits, transport=transports.get(name),
                                    follow_redirects=False)
            for name in urls
        }

    @property
    def names(self) -> list[str]:
        return list(self.urls)

    def client(self, service: str) -> httpx.AsyncClient:
        try:
            return self.clients[service]
        except KeyError:
            raise NotFound(
                f"no service named {service!r}; known: {', '.join(self.urls)}", code="unknown_service",
                service=service,
            ) from None

    def url(self, service: str, raw_path: bytes) -> httpx.URL:
        """Absolute upstream URL. Built by replacing the path, so a path like `//host` cannot change the host."""
        self.client(service)
        base = httpx.URL(self.urls[service])
        return base.copy_with(raw_path=base.raw_path.rstrip(b"/") + raw_path)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
