"""Values PostgreSQL cannot store, refused at the edge as validation errors naming the field.

Pydantic accepts any Python int and any str, but a bigint column holds 64 bits and a text column
cannot hold the NUL character: without this check such a value reaches the driver and the caller
gets a 500. Checked once per request before the endpoint's dependencies run, for the route's integer path and
query parameters, every path and query string, and a JSON body (parsed again only when the raw
bytes hint at a long number or an escaped NUL, so ordinary bodies cost one byte scan).
"""

from __future__ import annotations

import contextlib
import json
import re
import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")
# 19 digits is where 64 bits end; `\u0000` is how JSON writes NUL.
_SUSPICIOUS_BODY = re.compile(rb"[0-9]{19}|\\u0000")
_RULES = {
    "int64_range": f"must be between {INT64_MIN} and {INT64_MAX}",
    "string_nul": "must not contain the NUL character (\\u0000)",
}


def _accepts_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, list, tuple, set, frozenset):
        return any(_accepts_int(arg) for arg in get_args(annotation))
    return False


def _int_parameters(route: APIRoute) -> frozenset[tuple[str, str]]:
    """(location, name) of the route's path and query parameters that take integers, computed once."""
    cached: frozenset[tuple[str, str]] | None = getattr(route, "_svckit_int_parameters", None)
    if cached is None:
        found: set[tuple[str, str]] = set()
        pending = [route.dependant]
        while pending:  # the endpoint's own parameters and those of its dependencies
            dependant = pending.pop()
            found.update(("path", f.alias) for f in dependant.path_params if _accepts_int(f.field_info.annotation))
            found.update(("query", f.alias) for f in dependant.query_params if _accepts_int(f.field_info.annotation))
            pending.extend(dependant.dependencies)
        cached = frozenset(found)
        route._svckit_int_parameters = cached  # type: ignore[attr-defined]
    return cached


def _problem(loc: tuple[Any, ...], rule: str, value: Any) -> dict[str, Any]:
    return {"type": rule, "loc": loc, "msg": _RULES[rule], "input": value}


def _walk(value: Any, loc: tuple[Any, ...]) -> Iterator[dict[str, Any]]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            yield _problem(loc, "int64_range", value)
    elif isinstance(value, str):
        if "\x00" in value:
            yield _problem(loc, "string_nul", value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield _problem((*loc, key), "string_nul", key)
            yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


def _parameter_errors(request: Request, route: APIRoute) -> Iterator[dict[str, Any]]:
    ints = _int_parameters(route)
    given = [("path", name, str(value)) for name, value in request.path_params.items()]
    given += [("query", name, value) for name, value in request.query_params.multi_items()]
    for location, name, value in given:
        if "\x00" in value:
            yield _problem((location, name), "string_nul", value)
        elif (location, name) in ints and _INTEGER.fullmatch(value.strip()) and not (
                INT64_MIN <= int(value) <= INT64_MAX):
            yield _problem((location, name), "int64_range", value)


async def refuse_unstorable_values(request: Request) -> None:
    """Raise a validation error naming every integer beyond 64 bits and every string holding NUL
    (a router dependency: it runs after authentication and before the endpoint's own dependencies)."""
    route = request.scope.get("route")
    errors = list(_parameter_errors(request, route)) if isinstance(route, APIRoute) else []
    if "json" in request.headers.get("content-type", ""):
        raw = await request.body()  # kept by the request: the endpoint reads the same bytes
        if _SUSPICIOUS_BODY.search(raw):
            with contextlib.suppress(ValueError):  # not JSON: the endpoint's own validation says so
                errors += _walk(json.loads(raw), ("body",))
    if errors:
        raise RequestValidationError(errors)
