"""Forwarding a client's call to a service: path checks, internal token, safe headers, streamed answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator
from urllib.parse import quote

import httpx
from fastapi import Request, Response
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from gateway_service.accounts import Principal
from gateway_service.upstreams import Upstreams
from svckit.errors import BadGateway, GatewayTimeout, NotFound, ServiceUnavailable
from svckit.internal_auth import mint_internal_token
from svckit.requestid import REQUEST_ID_HEADER, current_request_id
from svckit.scope import DataScope

log = logging.getLogger("gateway.proxy")

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Only what a service needs to understand the call; cookies, the client's own Authorization and
# anything else stay at the gateway.
FORWARDED_REQUEST_HEADERS = (
    "content-type", "accept", "accept-encoding", "accept-language", "idempotency-key", "if-match", "if-none-match",
)
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade",
})
# Our own server and middleware set these on the gateway's answer; the service's copies would duplicate them.
SET_BY_GATEWAY = frozenset({"date", "server", REQUEST_ID_HEADER.lower()})
# Service-to-service APIs (the change feed) and the services' metrics: never reachable from outside.
PRIVATE_FIRST_SEGMENTS = frozenset({"internal", "metrics"})
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
CONNECT_RETRIES = 1
# (a service's path prefix, the public prefix it is reached under), for rewriting redirects.
PathMap = tuple[str, str]


def is_forwardable(path: str) -> bool:
    """A service path the public may reach: no dot or empty segments, nothing under /internal."""
    segments = path.lstrip("/").split("/")
    inner = segments[:-1] if segments[-1] == "" else segments  # a trailing slash is fine
    if any(s in ("", ".", "..") for s in inner):
        return False
    return segments[0] not in PRIVATE_FIRST_SEGMENTS


def upstream_raw_path(path: str, query: bytes) -> bytes:
    if not is_forwardable(path):
        raise NotFound("no such path", code="not_found")
    raw = b"/" + quote(path, safe=_PATH_SAFE).encode("ascii")
    return raw + b"?" + query if query else raw


def _request_headers(request: Request, token: str) -> dict[str, str]:
    headers = {
        name: ", ".join(values) for name in FORWARDED_REQUEST_HEADERS if (values := request.headers.getlist(name))
    }
    # Without this httpx would ask for compression the client may not understand; we relay raw bytes.
    headers.setdefault("accept-encoding", "identity")
    headers["authorization"] = f"Bearer {token}"
    if request_id := current_request_id():
        headers[REQUEST_ID_HEADER] = request_id
    return headers


def _response_headers(upstream: httpx.Response, base_url: str, paths: PathMap) -> list[tuple[bytes, bytes]]:
    listed = {h.strip().lower() for h in upstream.headers.get("connection", "").split(",") if h.strip()}
    kept: list[tuple[bytes, bytes]] = []
    for raw_name, raw_value in upstream.headers.raw:
        name = raw_name.decode("latin-1").lower()
        if name in HOP_BY_HOP or name in SET_BY_GATEWAY or name in listed:
            continue
        if name == "location":
            raw_value = _public_location(raw_value.decode("latin-1"), base_url, paths).encode("latin-1")
        kept.append((raw_name.lower(), raw_value))
    return kept


def _public_location(location: str, base_url: str, paths: PathMap) -> str:
    # A service's redirect names its internal address; point the client at the gateway instead.
    if location.startswith(base_url + "/") or location == base_url:
        location = location[len(base_url):] or "/"
    elif not location.startswith("/") or location.startswith("//"):
        return location  # somewhere else entirely
    internal, public = paths
    if location == internal or location.startswith(internal + "/") or not internal:
        return public + location[len(internal):]
    return location


BUFFERED_MAX_BYTES = 256 * 1024


def _small(upstream: httpx.Response) -> bool:
    """An answer of known length small enough to hold in memory."""
    length = upstream.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= BUFFERED_MAX_BYTES


async def _relay(upstream: httpx.Response, service: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # The status line is already sent; all we can do is cut the connection and say why in the log.
        log.warning("upstream %s broke off its response: %s", service, type(exc).__name__, extra={"upstream": service})
        raise
    finally:
        await upstream.aclose()


async def _send(transport: httpx.AsyncBaseTransport, request: httpx.Request, total: float) -> httpx.Response:
    async with asyncio.timeout(total):  # httpx has per-phase timeouts only; this bounds the whole call
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                # Straight to the pool, past the client's cookie jar (a cookie one service set must never
                # ride along on another person's call), its redirect and auth handling (none apply).
                return await transport.handle_async_request(request)
            except httpx.ConnectError:
                # Nothing reached the service, so even a POST is safe to try once more.
                if attempt == CONNECT_RETRIES:
                    raise
                await asyncio.sleep(0.05)
    raise AssertionError("unreachable")


async def refuse_if_gateway_was_rejected(upstream: httpx.Response, service: str) -> None:
    """A service refusing *our* internal token is our misconfiguration (secrets out of step), not the
    user's: answering 401 would only send them to log in again. Any other 401 passes through."""
    await upstream.aread()
    try:
        code = upstream.json().get("code", "")
    except (ValueError, AttributeError):
        return
    if isinstance(code, str) and code.startswith("internal_token_"):
        log.error("upstream %s rejected the gateway's internal token: %s", service, code,
                  extra={"upstream": service, "upstream_code": code})
        raise BadGateway(f"the {service} service refused the gateway's credentials", code="upstream_rejected_gateway",
                         service=service)


async def forward(
    request: Request, *, upstreams: Upstreams, service: str, path: str, principal: Principal, scope: DataScope,
    internal_secret: str, total_timeout: float,
) -> Response:
    """Forward a person's call to `service` under their identity and data scope."""
    raw_path = upstream_raw_path(path, request.scope.get("query_string", b""))
    token = mint_internal_token(
        internal_secret, caller_service="gateway", audience=service, user_id=str(principal.user_id),
        username=principal.username, roles=principal.roles, request_id=current_request_id(),
        institutions=principal.institution_ids, scope=scope,
    )
    body = await request.body()  # bounded by the body-size limit, so buffering is safe
    return await send_to_service(request, upstreams=upstreams, service=service, raw_path=raw_path, token=token,
                                 content=body or None, total_timeout=total_timeout,
                                 paths=("", f"/api/v1/{service}"))


async def send_to_service(
    request: Request, *, upstreams: Upstreams, service: str, raw_path: bytes, token: str,
    content: bytes | AsyncIterable[bytes] | None, total_timeout: float, paths: PathMap,
    content_length: int | None = None,
) -> Response:
    """Send the call to the service with `token` and relay its answer; `paths` maps the service's
    paths back to public ones in redirects. An iterable `content` must be iterable more than once
    (a refused connection is retried) and comes with its `content_length`."""
    client = upstreams.client(service)
    url = upstreams.url(service, raw_path)
    headers = _request_headers(request, token)
    if content_length is not None:
        headers["content-length"] = str(content_length)
    # Each phase (a read, a write) may take as long as the whole call: the partner's long calls need it.
    timeout = httpx.Timeout(total_timeout, connect=client.timeout.connect)
    outgoing = httpx.Request(request.method, url, headers=headers, content=content,
                             extensions={"timeout": timeout.as_dict()})
    started = time.perf_counter()
    try:
        upstream = await _send(upstreams.transport(service), outgoing, total_timeout)
    except (httpx.TimeoutException, TimeoutError):
        log.warning("upstream %s timed out", service, extra={"upstream": service})
        raise GatewayTimeout(f"the {service} service did not answer in time", code="service_timeout",
                             service=service) from None
    except httpx.RequestError as exc:
        log.warning("upstream %s unreachable: %s", service, type(exc).__name__, extra={"upstream": service})
        raise ServiceUnavailable(f"the {service} service cannot be reached", code="service_unavailable",
                                 service=service) from None
    log.info("upstream %s %s %s", service, request.method, upstream.status_code, extra={
        "upstream": service, "upstream_status": upstream.status_code,
        "upstream_ms": round((time.perf_counter() - started) * 1000, 2),
    })
    response: Response
    if upstream.status_code == 401:
        await refuse_if_gateway_was_rejected(upstream, service)  # reads the (small) body
        response = Response(upstream.content, status_code=401)
    elif _small(upstream):
        # Most answers are small JSON: read whole and answered in one piece, without the task group a
        # streamed answer costs. A service breaking off is then still a clean 502.
        try:
            body = b"".join([chunk async for chunk in upstream.aiter_raw()])
        except httpx.HTTPError as exc:
            log.warning("upstream %s broke off its response: %s", service, type(exc).__name__,
                        extra={"upstream": service})
            raise BadGateway(f"the {service} service broke off its answer", code="upstream_broke_off",
                             service=service) from None
        finally:
            await upstream.aclose()
        response = Response(body, status_code=upstream.status_code)
    else:
        response = StreamingResponse(
            _relay(upstream, service), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose),
        )
    response.raw_headers = _response_headers(upstream, upstreams.urls[service], paths)
    return response
