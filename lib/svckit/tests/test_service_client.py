"""Service-to-service calls: a fresh internal token per call, bounded retries only where safe."""

import httpx

from svckit.http import ServiceClient
from svckit.internal_auth import Caller, verify_internal_token
from svckit.scope import SYSTEM_SCOPE, DataScope

SECRET = "s3cret-" + "0123456789abcdefghijklmnopqrstuvwxyz"


def flaky(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses[min(len(seen), len(statuses)) - 1], json={})

    return httpx.MockTransport(answer)


async def test_reads_are_retried_and_carry_the_end_user() -> None:
    seen: list[httpx.Request] = []
    client = ServiceClient(service="org", base_url="http://org", caller_service="performance", secret=SECRET,
                           transport=flaky([503, 502, 200], seen))
    scope = DataScope(institutions=frozenset({12, 7}))
    caller = Caller(service="gateway", user_id="u-9", username="zhao", roles=frozenset({"finance"}),
                    institutions=frozenset({7}), scope=scope)
    response = await client.request("GET", "/v1/snapshot", caller=caller)
    await client.aclose()
    assert response.status_code == 200
    assert len(seen) == 3
    identity = verify_internal_token(SECRET, seen[-1].headers["authorization"].removeprefix("Bearer "),
                                     audience="org")
    assert (identity.service, identity.user_id, identity.roles) == ("performance", "u-9", frozenset({"finance"}))
    # The person is limited there as here: their institutions and data scope travel with them.
    assert (identity.institutions, identity.data_scope) == (frozenset({7}), scope)


async def test_a_call_on_our_own_acts_for_the_system() -> None:
    seen: list[httpx.Request] = []
    client = ServiceClient(service="org", base_url="http://org", caller_service="performance", secret=SECRET,
                           transport=flaky([200], seen))
    await client.request("GET", "/v1/snapshot")
    await client.aclose()
    identity = verify_internal_token(SECRET, seen[-1].headers["authorization"].removeprefix("Bearer "),
                                     audience="org")
    assert (identity.user_id, identity.data_scope) == (None, SYSTEM_SCOPE)


async def test_writes_without_a_key_are_never_retried_and_with_one_are() -> None:
    seen: list[httpx.Request] = []
    client = ServiceClient(service="ledger", base_url="http://ledger", caller_service="performance",
                           secret=SECRET, transport=flaky([503, 201], seen))
    assert (await client.request("POST", "/v1/payables", json={})).status_code == 503
    assert len(seen) == 1
    seen.clear()
    response = await client.request("POST", "/v1/payables", json={}, idempotency_key="run-7:agent-3")
    await client.aclose()
    assert response.status_code == 201
    assert [r.headers["idempotency-key"] for r in seen] == ["run-7:agent-3", "run-7:agent-3"]


async def test_retries_are_bounded() -> None:
    seen: list[httpx.Request] = []
    client = ServiceClient(service="org", base_url="http://org", caller_service="ledger", secret=SECRET,
                           retries=2, transport=flaky([503], seen))
    assert (await client.request("GET", "/v1/x")).status_code == 503
    await client.aclose()
    assert len(seen) == 3
