"""How errors are described in OpenAPI: the problem+json schemas, once for every app."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from svckit.errors import PROBLEM_MEDIA_TYPE
from svckit.internal_auth import require_caller

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str = Field(description="URI reference naming the problem type")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="Explanation of this occurrence")
    code: str = Field(description="Stable machine-readable code to switch on")
    instance: str | None = Field(default=None, description="The request path")
    request_id: str | None = Field(default=None, description="Quote it when reporting a problem")


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `roles.0`")
    rule: str = Field(description="Which rule failed, e.g. `string_too_short`")
    message: str = Field(description="Human-readable reason")


class ValidationProblem(Problem):
    errors: list[FieldProblem] = Field(description="One entry per invalid field")


# A 422 is either a request that failed validation (`errors` names each field and rule) or a
# well-formed request a business rule refused (a plain problem, e.g. `invalid_cursor`).
UnprocessableProblem = ValidationProblem | Problem


# What each status means when a route answers it; a route may describe its own more closely.
PROBLEM_DESCRIPTIONS = {
    401: "Not authenticated: no valid token (`code` says what was wrong with it)",
    403: "The caller's role or data scope does not allow this (`forbidden`, `role_required`; "
         "`head_office_only`: a change for the whole company, by head-office staff or an administrator; ...)",
    404: "An object the request names does not exist, or is outside the caller's scope",
    409: "The request conflicts with the current state (a duplicate, a stale or reused key, ...)",
    413: "The request body is over the size limit (`payload_too_large`)",
    422: "Invalid request (`errors` names each field), or refused by a business rule",
    429: "Too many requests (`rate_limited`); wait `Retry-After` seconds",
    502: "A service behind this one failed (`bad_gateway`, `upstream_*`)",
    503: "Temporarily unavailable: a database or a service cannot be reached (`database_unavailable`, with "
         "`Retry-After`; `service_unavailable`, ...); retry shortly",
    504: "A service behind this one did not answer in time",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying, when the wait is known",
                               "schema": {"type": "integer", "minimum": 1}}}
# What every route of a service may answer whatever it does: authentication by the internal token
# (401), role and data-scope checks (403), lookups (404), conflicting state (409), the body limit
# (413), validation (422) and a database out of reach (503 `database_unavailable`).
SERVICE_ROUTE_STATUSES = (401, 403, 404, 409, 413, 422, 503)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers (filed under problem+json by `with_problem_media_type`).

    Declaring 422 also replaces FastAPI's default validation schema, which is not what we send."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {"model": UnprocessableProblem if status == 422 else Problem,
                                    "description": PROBLEM_DESCRIPTIONS.get(status, "Problem details")}
        if status in (429, 503):
            response["headers"] = copy.deepcopy(RETRY_AFTER)
        responses[status] = response
    return responses


def with_problem_models(responses: dict[int | str, dict[str, Any]] | None) -> dict[int | str, dict[str, Any]]:
    """A route's `responses` with every error entry that names no model or content given the house's
    Problem schema: `{404: {"description": "No such visit"}}` still documents what is sent."""
    described: dict[int | str, dict[str, Any]] = {}
    for status, response in (responses or {}).items():
        if str(status)[:1] in {"4", "5"} and not {"model", "content"} & response.keys():
            model = problem_responses(int(status))[int(status)]["model"]
            response = {**response, "model": model}
        described[status] = response
    return described


def service_problem_responses() -> dict[int | str, dict[str, Any]]:
    """The problem answers every service route declares (`service_router` adds them to each route)."""
    return problem_responses(*SERVICE_ROUTE_STATUSES)


def operations(path_item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (operation for method, operation in path_item.items() if method in HTTP_METHODS)


def file_errors_as_problems(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if status[:1] in {"4", "5"} and "application/json" in content:
            content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def with_problem_media_type(doc: dict[str, Any]) -> dict[str, Any]:
    """File every error answer under problem+json, which is what we send."""
    doc = copy.deepcopy(doc)
    for item in doc.get("paths", {}).values():
        for operation in operations(item):
            file_errors_as_problems(operation)
    return doc


def install_problem_openapi(app: FastAPI) -> None:
    """Make the app's own /openapi.json describe its errors as they are sent."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problem_media_type(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_router(app: FastAPI) -> APIRouter:
    """`GET /openapi.json` for internal callers (the gateway merges it into the public document)."""
    router = APIRouter(dependencies=[Depends(require_caller)])

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    return router
