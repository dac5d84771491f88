"""The cast and the instruments of the month test: people logged in through the gateway, the partner
bank signing its calls, and waiting for the change feeds with a deadline instead of sleeping."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from svckit.partner_signing import sign
from svckit.testing.responses import ok, problem

__all__ = ["Bank", "Month", "Person", "eventually", "money", "ok", "problem"]

T = TypeVar("T")
API = "/api/v1"


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def eventually(what: str, probe: Callable[[], T | None], *, timeout: float = 90.0, every: float = 0.3) -> T:
    """Ask `probe` until it answers something other than None, for at most `timeout` seconds. The
    services learn from each other through change feeds, so some facts arrive a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(every)


class Person:
    """Someone logged in at the gateway; paths are relative to `/api/v1/`."""

    def __init__(self, gateway: str, username: str, password: str) -> None:
        token = ok(httpx.post(f"{gateway}{API}/auth/login", json={"username": username, "password": password}))
        self.username = username
        self.client = httpx.Client(base_url=f"{gateway}{API}/", timeout=60,
                                   headers={"Authorization": f"Bearer {token['access_token']}"})

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)

    def post(self, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return self.client.post(path, json=body, headers=headers)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.client.put(path, json=body)

    def close(self) -> None:
        self.client.close()


@dataclass
class Bank:
    """The partner bank as a machine: every call signed with its key (svckit.partner_signing)."""

    gateway: str
    code: str
    key_id: str
    secret: str

    def call(self, method: str, path: str, *, query: str = "", json_body: Any = None, content: bytes = b"",
             content_type: str = "application/json") -> httpx.Response:
        full = f"{API}/partner/bank/{path}"
        body = json.dumps(json_body).encode() if json_body is not None else content
        headers = sign(key_id=self.key_id, secret=self.secret, method=method, path=full, query=query,
                       body_hash=hashlib.sha256(body).hexdigest())
        if body:
            headers["content-type"] = content_type
        url = f"{self.gateway}{full}" + (f"?{query}" if query else "")
        return httpx.request(method, url, content=body, headers=headers, timeout=60)


@dataclass
class Month:
    """Everything the chapters build and later chapters need, by business name."""

    gateway: str
    admin: Person
    password: str  # every account's but the administrator's
    people: dict[str, Person] = field(default_factory=dict)  # username → logged in
    institutions: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)  # username → org agent id
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    receivables: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    bank: Bank | None = None
    settlement: dict[str, Any] = field(default_factory=dict)

    def as_(self, username: str) -> Person:
        """`username`, logged in once and kept for the rest of the month."""
        if username not in self.people:
            self.people[username] = Person(self.gateway, username, self.password)
        return self.people[username]

    def close(self) -> None:
        for person in (self.admin, *self.people.values()):
            person.close()
