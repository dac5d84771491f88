"""Failed logins per username: a burst, then 429 with Retry-After until a token is back; successes
never count; the buckets stay bounded however many usernames a guesser makes up."""

from __future__ import annotations

import httpx

from gateway_service.ratelimit import TokenBuckets
from gateway_service.roles import Role
from gateway_service.testing import GatewayFactory, Login, UserFactory, assert_problem


def test_waiting_spends_nothing_and_forgotten_callers_start_full() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate_per_second=0.5, burst=2, clock=lambda: now[0], max_callers=2)
    assert buckets.wait("ann") is None
    assert buckets.wait("ann") is None  # looking spends no token
    assert buckets.take("ann") is None
    assert buckets.take("ann") is None
    assert buckets.wait("ann") == 2.0
    now[0] = 2.0
    assert buckets.wait("ann") is None
    for name in ("bob", "cy", "dee"):
        buckets.take(name)
    assert len(buckets._buckets) == 2  # the least recent callers are forgotten


async def test_a_username_is_slowed_after_its_failed_logins_only(
    start_gateway: GatewayFactory, make_user: UserFactory, login: Login,
) -> None:
    async with start_gateway(login_failure_rate_per_second=0.001, login_failure_burst=3) as gateway:
        victim, other = await make_user(Role.AGENT), await make_user(Role.AGENT)
        for _ in range(5):
            await login(gateway, victim)  # successes never count

        async def attempt(password: str) -> httpx.Response:
            return await gateway.post("/api/v1/auth/login", json={"username": victim.username, "password": password})

        for _ in range(3):
            assert_problem(await attempt("wrong-password-1"), 401, "invalid_credentials")
        limited = await attempt(victim.password)
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        await login(gateway, other)
