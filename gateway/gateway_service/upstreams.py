"""One pooled httpx client per upstream service, opened in the lifespan and reused by every request."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from svckit.errors import NotFound
from svckit.http import CALLER_KEEPALIVE_SECONDS


class Upstreams:
    def __init__(
        self, urls: Mapping[str, str], *, timeout: httpx.Timeout, max_connections: int,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None, pool: str = "httpx",
    ) -> None:
        transports = transports or {}
        unknown = set(transports) - set(urls)
        if unknown:
            raise ValueError(f"transports given for unknown services: {sorted(unknown)}")
        self.urls = dict(urls)
        self._bases = {name: httpx.URL(url) for name, url in urls.items()}  # parsed once
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=CALLER_KEEPALIVE_SECONDS)
        self.transports = {name: transports.get(name) or _pool_transport(pool, limits) for name in urls}
        self.clients = {
            # No redirects are followed: a service's redirect goes back to the client, rewritten.
            name: httpx.AsyncClient(timeout=timeout, limits=limits, transport=self.transports[name],
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

    def transport(self, service: str) -> httpx.AsyncBaseTransport:
        """The service's connection pool itself, shared with its client (which closes it)."""
        self.client(service)
        return self.transports[service]

    def url(self, service: str, raw_path: bytes) -> httpx.URL:
        """Absolute upstream URL. Built by replacing the path, so a path like `//host` cannot change the host."""
        self.client(service)
        base = self._bases[service]
        return base.copy_with(raw_path=base.raw_path.rstrip(b"/") + raw_path)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def _pool_transport(pool: str, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """"httpx": httpx's own pool. "aiohttp": the same httpx API over aiohttp's connection pool."""
    if pool != "aiohttp":
        return httpx.AsyncHTTPTransport(limits=limits)
    from aiohttp import ClientConnectorError
    from httpx_aiohttp import AiohttpTransport

    class Transport(AiohttpTransport):
        """httpx-aiohttp 0.2 names a refused connection a connect *timeout*; here it is what it is, a
        ConnectError (nothing reached the service: a 503, and safe to retry), as with httpx's own pool.
        Only a failure to connect is: a connection reset once the request may have been sent stays what
        it was, since retrying it could apply a POST twice."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return await super().handle_async_request(request)
            except httpx.ConnectTimeout as error:
                cause = error.__cause__
                if isinstance(cause, ClientConnectorError) and not isinstance(cause, TimeoutError):
                    raise httpx.ConnectError(str(error), request=request) from cause
                raise

    return Transport(limits=limits, trust_env=False)
