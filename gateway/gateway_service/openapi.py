"""One OpenAPI document for the whole API: the gateway's own paths plus every service's, as the
public sees them (under /api/v1/<service>), with component names made unique per service."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx

from gateway_service import partner_api
from gateway_service.proxy import is_forwardable
from gateway_service.upstreams import Upstreams
from svckit.errors import PROBLEM_MEDIA_TYPE
from svckit.internal_auth import mint_internal_token
from svckit.problems import RETRY_AFTER, file_errors_as_problems, operations

Document = dict[str, Any]
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links",
                      "callbacks")
# Probes for orchestrators, not API for people; the gateway has its own.
HIDDEN_SERVICE_PATHS = frozenset({"/healthz", "/readyz"})
SECURITY_SCHEME = "bearerAuth"
UNAVAILABLE = "x-unavailable-services"


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
    return {op["operationId"] for item in doc.get("paths", {}).values() for op in operations(item)
            if "operationId" in op}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(roots: Any, components: dict[str, Any]) -> set[str]:
    """Every `#/components/...` ref reachable from `roots`, following refs inside components too."""
    seen: set[str] = set()
    pending = list(_refs(roots))
    while pending:
        ref = pending.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        _, _, section, name = ref.split("/", 3)
        pending.extend(_refs(components.get(section, {}).get(name)))
    return seen


def _problem_answers(doc: Document) -> dict[str, Any]:
    """Answers the gateway itself may give on any proxied call, described with its own problem schemas."""
    schemas = doc.get("components", {}).get("schemas", {})
    if not {"Problem", "ValidationProblem"} <= schemas.keys():
        return {}
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    # A 422 is a request that failed validation (`errors` names each field) or one a business rule
    # refused (a plain problem with its `code`, e.g. `invalid_cursor`).
    invalid = {PROBLEM_MEDIA_TYPE: {"schema": {"anyOf": [{"$ref": "#/components/schemas/ValidationProblem"},
                                                         {"$ref": "#/components/schemas/Problem"}]}}}
    retry = {"headers": copy.deepcopy(RETRY_AFTER)}
    return {
        "422": {"description": "Invalid request (`errors` names each field), or refused by a business rule",
                "content": invalid},
        "401": {"description": "Missing, invalid or expired access token", "content": content},
        "413": {"description": "The request body is over the gateway's limit (`payload_too_large`)",
                "content": content},
        "502": {"description": "The service failed or broke off its answer (`upstream_broke_off`, "
                "`upstream_rejected_gateway`), or a service behind it failed", "content": content},
        "503": {"description": "The service cannot be reached (`service_unavailable`), the caller's data scope "
                "cannot be told (`scope_unavailable`), or the service cannot reach its database "
                "(`database_unavailable`, with `Retry-After`)", "content": content, **retry},
        "504": {"description": "The service did not answer in time (`service_timeout`)", "content": content},
    }


# What the gateway itself may answer on every operation it forwards, whatever the service declares.
FORWARDED_STATUSES = ("401", "413", "502", "503", "504")
PARTNER_STATUSES = (*FORWARDED_STATUSES, "429")


def add_own_answers(doc: Document) -> None:
    """Declare on the gateway's own API operations what any of them may answer: a body over the limit,
    and its database (or a service it asks) out of reach. Route-specific declarations are kept."""
    if not (answers := _problem_answers(doc)):
        return
    unavailable = {"description": "The gateway cannot reach its database (`database_unavailable`, with "
                   "`Retry-After`) or a service it asks", "content": answers["503"]["content"],
                   "headers": copy.deepcopy(RETRY_AFTER)}
    for path, item in doc.get("paths", {}).items():
        if path.startswith("/api/v1/"):
            for operation in operations(item):
                responses = operation.setdefault("responses", {})
                responses.setdefault("413", answers["413"])
                responses.setdefault("503", unavailable)


def _partner_answers(doc: Document) -> dict[str, Any]:
    """What the gateway itself may answer on the partner prefix instead of the user-route answers."""
    if "401" not in (answers := _problem_answers(doc)):
        return {}
    content = answers["401"]["content"]
    return {
        "401": {"description": "Not signed as the partner bank: `partner_signature_missing`, "
                "`partner_header_malformed`, `partner_key_unknown`, `partner_timestamp_out_of_window`, "
                "`partner_nonce_replayed`, `partner_signature_invalid`; `header` names the header at fault",
                "content": content},
        "413": {"description": "The body is over the partner limit (`payload_too_large`)", "content": content},
        "429": {"description": "Over the partner's request rate (`rate_limited`); wait `Retry-After` seconds",
                "content": content, "headers": copy.deepcopy(RETRY_AFTER)},
    }


def add_service(doc: Document, service: str, spec: Document, operation_ids: set[str]) -> None:
    """Add one service's public paths under its prefix, with its components renamed `<service>.<Name>`.
    The ledger's bank API is re-homed under the partner prefix, signed by the bank instead of a user's token."""
    theirs = spec.get("components", {})
    renames = {f"#/components/{section}/{name}": f"#/components/{section}/{service}.{name}"
               for section in COMPONENT_SECTIONS for name in theirs.get(section, {})}
    gateway_answers, partner_answers = _problem_answers(doc), _partner_answers(doc)
    paths: dict[str, Any] = {}
    for path, item in spec.get("paths", {}).items():
        if path in HIDDEN_SERVICE_PATHS or not is_forwardable(path):
            continue
        partner = partner_api.is_partner_path(service, path)
        public_item = _rename_refs(item, renames)
        for operation in operations(public_item):
            operation["operationId"] = _unique(f"{service}_{operation.get('operationId', 'operation')}",
                                               operation_ids)
            label = partner_api.TAG if partner else service
            operation["tags"] = [f"{label}: {tag}" for tag in operation.get("tags", [])] or [label]
            # The gateway, not the service, is what authenticates the public caller.
            operation["security"] = partner_api.security() if partner else [{SECURITY_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            if "422" in responses and "422" in gateway_answers:  # services answer validation errors as we do
                responses["422"] = gateway_answers["422"]
            answers = {**gateway_answers, **partner_answers} if partner else gateway_answers
            # The public is refused by the gateway, never by the service: a service refusing the
            # gateway's internal token is the gateway's 502.
            if "401" in answers:
                responses["401"] = answers["401"]
            file_errors_as_problems(operation)
            for status in PARTNER_STATUSES if partner else FORWARDED_STATUSES:
                if status in answers:
                    responses.setdefault(status, answers[status])
        paths[partner_api.public_path(path) if partner else f"/api/v1/{service}{path}"] = public_item
    renamed = {section: {f"{service}.{name}": _rename_refs(value, renames) for name, value in items.items()}
               for section, items in theirs.items() if section in COMPONENT_SECTIONS}
    # Only what the published paths use: schemas of internal endpoints stay unpublished.
    used = _reachable(paths, renamed)
    components = doc.setdefault("components", {})
    for section, items in renamed.items():
        for name, value in items.items():
            if f"#/components/{section}/{name}" in used:
                components.setdefault(section, {})[name] = value
    doc.setdefault("paths", {}).update(paths)


def add_partner_scheme(doc: Document) -> None:
    """The partner bank's signature headers and the guide to signing, whether or not its routes are up."""
    doc.setdefault("components", {}).setdefault("securitySchemes", {}).update(copy.deepcopy(
        partner_api.SECURITY_SCHEMES))
    tags = [tag for tag in doc.get("tags", []) if tag.get("name") != partner_api.TAG]
    doc["tags"] = [*tags, {"name": partner_api.TAG, "description": partner_api.GUIDE}]


def merge(own: Document, services: dict[str, Document | None]) -> Document:
    doc = copy.deepcopy(own)
    add_own_answers(doc)
    add_partner_scheme(doc)
    operation_ids = _operation_ids(doc)
    unavailable = []
    for service, spec in services.items():
        if spec is None:
            unavailable.append(service)
        else:
            add_service(doc, service, spec, operation_ids)
    doc[UNAVAILABLE] = unavailable
    return doc


async def _fetch(upstreams: Upstreams, service: str, seconds: float, internal_secret: str) -> Document | None:
    # Services only answer callers holding an internal token, their API description included.
    token = mint_internal_token(internal_secret, caller_service="gateway", audience=service)
    try:
        response = await upstreams.client(service).get(
            upstreams.url(service, b"/openapi.json"), timeout=seconds, headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None  # a service that is down is listed as unavailable, not allowed to break the document
    return body if isinstance(body, dict) else None


async def merged_document(own: Document, upstreams: Upstreams, seconds: float, internal_secret: str) -> Document:
    names = upstreams.names
    specs = await asyncio.gather(*(_fetch(upstreams, name, seconds, internal_secret) for name in names))
    return merge(own, dict(zip(names, specs, strict=True)))


class OpenAPICache:
    """Keeps the merged document briefly, so docs traffic does not fan out to every service each time."""

    # An incomplete document (a service was down) is retried sooner, so a restarted service shows up fast.
    INCOMPLETE_TTL_SECONDS = 5.0

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
                ttl = min(self.ttl, self.INCOMPLETE_TTL_SECONDS) if self._doc.get(UNAVAILABLE) else self.ttl
                self._expires = time.monotonic() + ttl
            return self._doc
