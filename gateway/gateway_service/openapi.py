"""One OpenAPI document for the whole API: the gateway's own paths plus every service's, as the
public sees them (under /api/v1/<service>), with component names made unique per service."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from gateway_service.proxy import is_forwardable
from gateway_service.upstreams import Upstreams

Document = dict[str, Any]
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links",
                      "callbacks")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Probes for orchestrators, not API for people; the gateway has its own.
HIDDEN_SERVICE_PATHS = frozenset({"/healthz", "/readyz"})
PROBLEM_MEDIA_TYPE = "application/problem+json"
SECURITY_SCHEME = "bearerAuth"


def with_problem_media_type(doc: Document) -> Document:
    """File every error answer of the gateway's own routes under problem+json, which is what we send."""
    doc = copy.deepcopy(doc)
    for item in doc.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in {"4", "5"} and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return doc


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rename_refs(v, renames))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def _unique(candidate: str, taken: set[str]) -> str:
    name, n = candidate, 2
    while name in taken:
        name, n = f"{candidate}_{n}", n + 1
    taken.add(name)
    return name


def _operation_ids(doc: Document) -> set[str]:
    return {op["operationId"] for item in doc.get("paths", {}).values() for m, op in item.items()
            if m in HTTP_METHODS and "operationId" in op}


def _problem_answers(doc: Document) -> dict[str, Any]:
    if "Problem" not in doc.get("components", {}).get("schemas", {}):
        return {}
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        "401": {"description": "Missing, invalid or expired access token", "content": content},
        "503": {"description": "The service cannot be reached (`service_unavailable`)", "content": content},
        "504": {"description": "The service did not answer in time (`service_timeout`)", "content": content},
    }


def add_service(doc: Document, service: str, spec: Document, operation_ids: set[str]) -> None:
    """Add one service's paths under its public prefix, prefixing its component names and refs."""
    components = doc.setdefault("components", {})
    renames: dict[str, str] = {}
    for section in COMPONENT_SECTIONS:
        for name in spec.get("components", {}).get(section, {}):
            renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{service}.{name}"
    for section in COMPONENT_SECTIONS:
        for name, value in spec.get("components", {}).get(section, {}).items():
            components.setdefault(section, {})[f"{service}.{name}"] = _rename_refs(value, renames)
    gateway_answers = _problem_answers(doc)
    for path, item in spec.get("paths", {}).items():
        if path in HIDDEN_SERVICE_PATHS or not is_forwardable(path):
            continue
        public_item = _rename_refs(item, renames)
        for method, operation in public_item.items():
            if method not in HTTP_METHODS:
                continue
            operation["operationId"] = _unique(f"{service}_{operation.get('operationId', method)}", operation_ids)
            operation["tags"] = [f"{service}: {tag}" for tag in operation.get("tags", [])] or [service]
            # The gateway, not the service, is what authenticates the public caller.
            operation["security"] = [{SECURITY_SCHEME: []}]
            for status, answer in gateway_answers.items():
                operation.setdefault("responses", {}).setdefault(status, answer)
        doc.setdefault("paths", {})[f"/api/v1/{service}{path}"] = public_item


def merge(own: Document, services: dict[str, Document | None]) -> Document:
    doc = copy.deepcopy(own)
    operation_ids = _operation_ids(doc)
    unavailable = []
    for service, spec in services.items():
        if spec is None:
            unavailable.append(service)
        else:
            add_service(doc, service, spec, operation_ids)
    doc["x-unavailable-services"] = unavailable
    return doc


async def _fetch(upstreams: Upstreams, service: str, timeout: float) -> Document | None:
    try:
        response = await upstreams.client(service).get(upstreams.url(service, b"/openapi.json"), timeout=timeout)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None  # a service that is down is listed as unavailable, not allowed to break the document
    return body if isinstance(body, dict) else None


async def merged_document(own: Document, upstreams: Upstreams, timeout: float) -> Document:
    names = upstreams.names
    specs = await asyncio.gather(*(_fetch(upstreams, name, timeout) for name in names))
    return merge(own, dict(zip(names, specs, strict=True)))


class OpenAPICache:
    """Keeps the merged document briefly, so docs traffic does not fan out to every service each time."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._doc: Document | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self, build: Callable[[], Awaitable[Document]]) -> Document:
        if self._doc is not None and time.monotonic() < self._expires:
            return self._doc
        async with self._lock:  # one rebuild at a time; the others wait and reuse it
            if self._doc is None or time.monotonic() >= self._expires:
                self._doc = await build()
                self._expires = time.monotonic() + self.ttl
            return self._doc
