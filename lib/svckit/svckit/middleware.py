"""Pure ASGI middleware shared by the gateway and every service."""

from __future__ import annotations

import json
import logging
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svckit.errors import problem_body, unexpected_problem
from svckit.requestid import REQUEST_ID_HEADER, accept_or_new, restore_request_id, set_request_id

access_log = logging.getLogger("svckit.access")


class RequestContextMiddleware:
    """Assigns the request id, echoes it in the response and writes one access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(REQUEST_ID_HEADER.lower().encode())
        request_id = accept_or_new(incoming.decode("latin-1") if incoming else None)
        previous = set_request_id(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                raw = list(message.get("headers") or [])
                raw.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # Rendered here, inside the request's context, so the problem still carries its request id.
            body, headers = unexpected_problem(error, scope["path"])
            if body["status"] == 503:
                access_log.warning("database unreachable on %s %s: %r", scope["method"], scope["path"], error)
            else:
                access_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:
                raise
            await _send_problem(send_with_id, body, body["status"], headers)
        finally:
            access_log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"method": scope["method"], "path": scope["path"], "status": status,
                       "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            restore_request_id(previous)


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Starlette's HTTPException is the one FastAPI lets through from body parsing,
                    # so the app's own handler renders it as a payload_too_large problem.
                    raise HTTPException(413, f"Request body exceeds {self.max_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except HTTPException as error:
            if error.status_code != 413 or response_started:
                raise
            if not response_started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await _send_problem(send, problem_body(
            status=413, code="payload_too_large", title="Request body too large",
            detail=f"Request body exceeds {self.max_bytes} bytes", instance=scope["path"],
        ), 413)


async def _send_problem(send: Send, problem: dict[str, object], status: int,
                        headers: dict[str, str] | None = None) -> None:
    body = json.dumps(problem).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]})
    await send({"type": "http.response.body", "body": body})
