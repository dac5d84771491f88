"""Typed domain errors and their one rendering as RFC 9457 problem+json.

Domain and persistence code raise these; no `HTTPException` below the API layer.
Every problem carries a stable machine `code` clients can switch on.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from svckit.requestid import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("svckit.errors")


class DomainError(Exception):
    """Base of every expected error; subclasses fix the HTTP status and a default code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class Unprocessable(DomainError):
    status, code, title = 422, "unprocessable", "Request cannot be processed"


class TooManyRequests(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"


class BadGateway(DomainError):
    status, code, title = 502, "bad_gateway", "Bad gateway"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class GatewayTimeout(DomainError):
    status, code, title = 504, "upstream_timeout", "Upstream timed out"


def problem_body(
    *, status: int, code: str, title: str, detail: str, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_response(
    *, status: int, code: str, title: str, detail: str, instance: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body = problem_body(status=status, code=code, title=title, detail=detail, instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "premium", "amount") -> "premium.amount"; keep "query."/"header." prefixes visible.
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else (
        # What every 503 declares (svckit.problems): something out of reach now, to retry shortly.
        {"Retry-After": "1"} if exc.status == 503 else None)
    return problem_response(
        status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
        instance=request.url.path, headers=headers, **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_path(err.get("loc", ())), "rule": err.get("type", "invalid"), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem_response(
        status=422, code="validation_failed", title="Invalid request",
        detail=f"Invalid value for: {fields}", instance=request.url.path, errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a body that is not JSON with 422 `json_invalid`, but one that is not even
        # UTF-8 with a bare 400: the same fault, so the same answer (and one every route declares).
        unreadable = RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                              "msg": "The body is not UTF-8 encoded JSON", "input": {}}])
        return await _validation_error(request, unreadable)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
             413: "payload_too_large"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
    return problem_response(
        status=exc.status_code, code=code, title=detail, detail=detail, instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


def _database_unreachable(exc: BaseException) -> bool:
    """Whether the error is the database being out of reach (down, restarting, out of connection
    slots, pool exhausted): a temporary state the client should retry, not a fault in the request."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.TimeoutError | ConnectionError | OSError):
            return True
        if type(seen).__name__ in _UNREACHABLE_DRIVER_ERRORS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# asyncpg's names for a server that cannot take the connection now (matched by name: svckit does not
# import the driver).
_UNREACHABLE_DRIVER_ERRORS = frozenset({
    "TooManyConnectionsError", "CannotConnectNowError", "ConnectionDoesNotExistError", "AdminShutdownError",
    "CrashShutdownError", "ConnectionFailureError",
})


def unexpected_problem(exc: BaseException, instance: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The problem body (and headers) for an error nobody handled: 503 to retry when the database is
    out of reach, else a 500 that names nothing of our internals."""
    if _database_unreachable(exc):
        return problem_body(status=503, code="database_unavailable", title="Service unavailable",
                            detail="The service cannot reach its database right now; retry shortly.",
                            instance=instance), {"Retry-After": "1"}
    return problem_body(status=500, code="internal_error", title="Internal error",
                        detail="The request failed on our side; quote the request id when reporting it.",
                        instance=instance), {}


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to our log with the request id; the client only learns that it failed.
    body, headers = unexpected_problem(exc, request.url.path)
    if body["status"] == 503:
        log.warning("database unreachable on %s %s: %r", request.method, request.url.path, exc)
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
