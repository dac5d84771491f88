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


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers (filed under problem+json by `with_problem_media_type`).

    Declaring 422 also replaces FastAPI's default validation schema, which is not what we send."""
    return {
        status: {"model": UnprocessableProblem if status == 422 else Problem, "description": "Problem details"}
        for status in statuses
    }


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
