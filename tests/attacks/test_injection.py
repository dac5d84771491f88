"""Injection through filters, sort and paging parameters of every list and lookup in the merged
OpenAPI document: SQL metacharacters as an agent with a small scope, whose answer is a 4xx or lists
nothing the agent could not already see; unknown sort or enum values, huge, negative and malformed
page sizes, and forged, tampered or borrowed cursors as someone the route lets in (so no role refusal
hides the validation): a 422 problem+json naming the field. Never a 5xx.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.attacks.people import admin_login, complete_document
from tests.attacks.world import World
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e
SQL = ["' OR '1'='1", "1 OR 1=1", "1; DROP TABLE agent; --", "%' UNION SELECT * FROM users --", "\\'; --",
       "a\x00b"]
Operation = tuple[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def reads(stack: RunningStack) -> list[Operation]:
    """Every GET a user may call (the partner bank's API has its own signature), with its parameters."""
    document = complete_document(stack.gateway)
    found = [(path, item["get"].get("parameters", [])) for path, item in document["paths"].items()
             if "get" in item and not path.startswith("/api/v1/partner/")]
    assert len(found) > 50
    return found


def _fill(path: str, world: World) -> str:
    """A path with each id of the agent's own world (a2's agent id, else 1)."""
    for name in ("agent_id", "team_id", "institution_id"):
        path = path.replace("{" + name + "}", str(world.ids[{"agent_id": "a2", "team_id": "team_x",
                                                             "institution_id": "office_x"}[name]]))
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "1" + path[end + 1:]
    return path


def _rows(response: httpx.Response) -> list[str]:
    if "ndjson" in response.headers.get("content-type", ""):
        return sorted(line for line in response.text.splitlines() if line.strip())
    body = response.json()
    items = body if isinstance(body, list) else [row for key in ("items", "rows", "agents", "accounts", "lines")
                                                  if isinstance(body, dict) and isinstance(body.get(key), list)
                                                  for row in body[key]]
    return sorted(json.dumps(row, sort_keys=True) for row in items)


def _problem(response: httpx.Response, context: str) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, f"{context}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), context
    body: dict[str, Any] = response.json()
    assert body["code"], context
    return body


def _caller(client: httpx.Client, world: World, path: str) -> dict[str, str]:
    """The administrator, or for what only agents or supervisors do, a1 or their supervisor: someone
    no role refusal stops, so the answer is what validation says."""
    for who in ("admin", "a1", "sup_a"):
        if client.get(_fill(path, world), headers=world.headers(who)).status_code != 403:
            return world.headers(who)
    raise AssertionError(f"nobody may call GET {path}")


def _enum(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    return "enum" in schema or any("enum" in option for option in schema.get("anyOf", []))


def test_sql_metacharacters_in_any_filter_are_refused_or_leak_nothing(
    client: httpx.Client, world: World, reads: list[Operation],
) -> None:
    agent = world.headers("a2")
    tried = 0
    for path, parameters in reads:
        url = _fill(path, world)
        baseline = client.get(url, headers=agent)
        for parameter in (p for p in parameters if p["in"] == "query"):
            for payload in SQL:
                response = client.get(url, headers=agent, params={parameter["name"]: payload})
                context = f"GET {path}?{parameter['name']}={payload!r}"
                tried += 1
                if response.status_code >= 400:
                    _problem(response, context)
                else:
                    # Accepted as a plain string: it may narrow what the agent sees, never widen it.
                    assert baseline.status_code < 400, context
                    assert set(_rows(response)) <= set(_rows(baseline)), context
    assert tried > 200


def test_sql_metacharacters_in_path_ids_are_refused(client: httpx.Client, world: World,
                                                    reads: list[Operation]) -> None:
    agent = world.headers("a2")
    for path, parameters in reads:
        for parameter in (p for p in parameters if p["in"] == "path"):
            for payload in SQL[:4]:
                url = _fill(path.replace("{" + parameter["name"] + "}", payload.replace("/", "%2F")), world)
                response = client.get(url, headers=agent)
                if response.status_code == 200:  # a free-text key (a rule's or a territory's name) that matches nothing
                    raise AssertionError(f"GET {url} answered 200: {response.text[:300]}")
                _problem(response, f"GET {url}")


def test_unknown_sort_and_enum_values_are_named(client: httpx.Client, world: World,
                                                reads: list[Operation]) -> None:
    enums = [(path, p["name"]) for path, parameters in reads for p in parameters if p["in"] == "query" and _enum(p)]
    assert any(name in ("by", "group_by", "metric") for _, name in enums), enums  # the sort and grouping keys
    for path, name in enums:
        response = client.get(_fill(path, world), headers=_caller(client, world, path),
                              params={name: "id; DROP TABLE agent"})
        body = _problem(response, f"GET {path}?{name}")
        assert response.status_code == 422, body
        assert f"query.{name}" in [e["field"] for e in body.get("errors", [])], body


@pytest.mark.parametrize("limit", ["1000000000", "0", "-1", str(2**70), "1e3", "ten"])
def test_huge_zero_negative_and_malformed_page_sizes_are_named(
    client: httpx.Client, world: World, reads: list[Operation], limit: str,
) -> None:
    paged = {path: p.get("schema", {}) for path, parameters in reads for p in parameters
             if p["name"] == "limit" and p["in"] == "query"}
    assert len(paged) > 10
    for path, schema in paged.items():
        if limit.lstrip("-").isdigit() and schema.get("minimum", 1) <= int(limit) <= schema.get("maximum", 0):
            continue  # documented as allowed there (a count without rows)
        response = client.get(_fill(path, world), headers=_caller(client, world, path), params={"limit": limit})
        body = _problem(response, f"GET {path}?limit={limit}")
        assert response.status_code == 422, body
        assert "query.limit" in [e["field"] for e in body.get("errors", [])], body


def test_forged_tampered_and_borrowed_cursors_are_refused(client: httpx.Client, world: World,
                                                          reads: list[Operation]) -> None:
    admin = admin_login(client)
    page = client.get("/api/v1/auth/users", headers=admin, params={"limit": 1}).json()
    real = page["next_cursor"]
    assert real, page
    assert client.get("/api/v1/auth/users", headers=admin, params={"limit": 1, "cursor": real}).status_code == 200
    tampered = real[:-2] + ("A" if real[-2] != "A" else "B") + real[-1]
    forged = base64.urlsafe_b64encode(json.dumps(["' OR 1=1 --", 0]).encode()).decode()
    bad = {"tampered": tampered, "forged": forged, "garbage": "%%%not-a-cursor%%%", "empty json": "e30",
           "huge": "A" * 5000, "borrowed": real}
    paged = [path for path, parameters in reads if any(p["name"] == "cursor" for p in parameters)]
    assert len(paged) > 5
    for path in [*paged, "/api/v1/auth/users"]:
        headers = admin if path == "/api/v1/auth/users" else _caller(client, world, path)
        for name, cursor in bad.items():
            if path == "/api/v1/auth/users" and name == "borrowed":
                continue  # its own cursor: valid there
            response = client.get(_fill(path, world), headers=headers, params={"cursor": cursor})
            body = _problem(response, f"GET {path} with a {name} cursor")
            assert response.status_code == 422, body
