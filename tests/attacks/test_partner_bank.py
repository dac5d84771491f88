"""The partner bank's signed API attacked end to end, with the real ledger behind the gateway:
forged, replayed, stale and tampered requests are 401 problem+json naming the header at fault and
never reach the ledger; a partner over its rate gets 429 with Retry-After and is served again once
that time has passed, while other partners are not slowed. (gateway/tests/test_partner_auth.py covers
each rule in-process against a stand-in ledger; this is the whole path.)
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from svckit.partner_signing import sign
from tests.attacks.people import PARTNER_BURST, PARTNER_RATE_PER_SECOND, admin_login, created, eventually
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e
PREFIX = "/api/v1/partner/bank"


@dataclass(frozen=True)
class Bank:
    code: str
    key_id: str
    secret: str


@pytest.fixture(scope="module")
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def branch(client: httpx.Client) -> int:
    admin = admin_login(client)
    tag = secrets.token_hex(3)
    hq = created(client.post("/api/v1/org/v1/institutions", headers=admin, json={
        "kind": "hq", "tier": 1, "code": f"H{tag}", "name": "总公司", "opened_on": "2020-01-01"}))
    return int(created(client.post("/api/v1/org/v1/institutions", headers=admin, json={
        "parent_id": hq["id"], "kind": "branch", "tier": 2, "code": f"B{tag}", "name": f"分公司{tag}",
        "opened_on": "2020-01-01"}))["id"])


def new_bank(client: httpx.Client, branch: int) -> Bank:
    """A partner with a key, and the ledger's account at that bank (so its API answers for it)."""
    admin = admin_login(client)
    code = f"bank-{secrets.token_hex(4)}"
    created(client.post("/api/v1/auth/partners", headers=admin, json={"code": code, "name": "合作银行"}))
    key = created(client.post(f"/api/v1/auth/partners/{code}/keys", headers=admin))
    account = eventually(lambda: client.put(f"/api/v1/ledger/v1/bank-accounts/{code}", headers=admin,
                                            json={"name": "合作银行", "branch_id": branch}),
                         lambda r: r.status_code in (200, 201))  # the ledger learns of the branch from org
    created(account)
    return Bank(code, key["key_id"], key["secret"])


@pytest.fixture
def bank(client: httpx.Client, branch: int) -> Bank:
    return new_bank(client, branch)


def signed(client: httpx.Client, bank: Bank, method: str, path: str, *, body: bytes = b"",
           sign_as: dict[str, Any] | None = None) -> httpx.Request:
    values: dict[str, Any] = {"key_id": bank.key_id, "secret": bank.secret, "method": method,
                              "path": PREFIX + path, "query": "", "body": body, **(sign_as or {})}
    headers = {**sign(**values), **({"Content-Type": "application/json"} if body else {})}
    return client.build_request(method, PREFIX + path, content=body or None, headers=headers)


def refused(response: httpx.Response, code: str, header: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert (body["code"], body["header"]) == (code, header), body
    assert response.headers["www-authenticate"].startswith("HMAC-SHA256")


def test_a_signed_call_reaches_the_real_ledger(client: httpx.Client, bank: Bank) -> None:
    response = client.send(signed(client, bank, "GET", "/batches"))
    assert response.status_code == 200, response.text
    assert response.json() == []
    # A body the ledger validates: it is the ledger, not the gateway, that answers.
    body = b'{"results": []}'
    answered = client.send(signed(client, bank, "POST", "/results", body=body))
    assert answered.status_code in (200, 422), answered.text
    assert answered.json().get("code") != "partner_signature_invalid"


@pytest.mark.parametrize(("forgery", "code", "header"), [
    ({"secret": "not-the-banks-secret-" + "x" * 30}, "partner_signature_invalid", "X-Partner-Signature"),
    ({"key_id": "pk_unknown"}, "partner_key_unknown", "X-Partner-Key"),
    ({"body": b'{"results": [{"instruction_id": "DI-1"}]}'}, "partner_signature_invalid", "X-Partner-Signature"),
    ({"path": PREFIX + "/batches"}, "partner_signature_invalid", "X-Partner-Signature"),
    ({"method": "GET"}, "partner_signature_invalid", "X-Partner-Signature"),
    ({"timestamp": int(time.time()) - 3600}, "partner_timestamp_out_of_window", "X-Partner-Timestamp"),
    ({"timestamp": int(time.time()) + 3600}, "partner_timestamp_out_of_window", "X-Partner-Timestamp"),
], ids=["forged secret", "unknown key", "body tampered", "path changed", "method changed", "stale", "future"])
def test_forged_stale_and_tampered_requests_are_refused(client: httpx.Client, bank: Bank, forgery: dict[str, Any],
                                                        code: str, header: str) -> None:
    sent = b'{"results": []}'
    request = signed(client, bank, "POST", "/results", body=sent, sign_as=forgery)
    if "key_id" in forgery:
        request.headers["X-Partner-Key"] = forgery["key_id"]
    refused(client.send(request), code, header)


def test_a_replayed_request_is_refused_and_a_new_timestamp_does_not_revive_it(
    client: httpx.Client, bank: Bank,
) -> None:
    first = signed(client, bank, "GET", "/batches")
    assert client.send(first).status_code == 200
    again = client.build_request("GET", first.url, headers=dict(first.headers))
    refused(client.send(again), "partner_nonce_replayed", "X-Partner-Nonce")
    # The same nonce under a fresh timestamp needs a new signature; the old one does not sign it.
    moved = client.build_request("GET", first.url, headers=first.headers)
    moved.headers["X-Partner-Timestamp"] = str(int(first.headers["X-Partner-Timestamp"]) + 1)
    refused(client.send(moved), "partner_signature_invalid", "X-Partner-Signature")


def test_a_users_token_and_a_partner_signature_do_not_cross(client: httpx.Client, bank: Bank) -> None:
    admin = admin_login(client)
    as_user = client.get(f"{PREFIX}/batches", headers=admin)
    refused(as_user, "partner_signature_missing", "X-Partner-Key")
    headers = sign(key_id=bank.key_id, secret=bank.secret, method="GET", path="/api/v1/ledger/v1/bank/batches")
    on_user_route = client.get("/api/v1/ledger/v1/bank/batches", headers=headers)
    assert on_user_route.status_code == 401, on_user_route.text
    assert on_user_route.headers["content-type"].startswith("application/problem+json")


def test_a_partner_over_its_rate_gets_429_with_retry_after_and_then_is_served_again(
    client: httpx.Client, branch: int,
) -> None:
    busy, quiet = new_bank(client, branch), new_bank(client, branch)
    answers = [client.send(signed(client, busy, "GET", "/batches")) for _ in range(PARTNER_BURST + 3)]
    statuses = [r.status_code for r in answers]
    assert statuses[0] == 200, statuses
    assert 429 in statuses, statuses
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.headers["content-type"].startswith("application/problem+json"), limited.text
    body = limited.json()
    assert (body["status"], body["code"], body["partner"]) == (429, "rate_limited", busy.code), body
    wait = int(limited.headers["retry-after"])
    assert 1 <= wait <= int(1 / PARTNER_RATE_PER_SECOND) + 1
    # Another partner is not slowed by this one.
    assert client.send(signed(client, quiet, "GET", "/batches")).status_code == 200
    time.sleep(wait)
    recovered = client.send(signed(client, busy, "GET", "/batches"))
    assert recovered.status_code == 200, recovered.text
