"""Internal tokens: only a valid, unexpired token for this very service gets through."""

from datetime import timedelta

import httpx
import pytest

from svckit.errors import Unauthorized
from svckit.internal_auth import mint_internal_token, verify_internal_token
from svckit.settings import ServiceSettings

SECRET = "k" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"


def test_a_valid_token_names_the_calling_service_and_the_end_user() -> None:
    token = mint_internal_token(SECRET, caller_service="gateway", audience="org", user_id="u1",
                                username="li.lei", roles={"agent"}, request_id="req-12345678")
    caller = verify_internal_token(SECRET, token, audience="org")
    assert (caller.service, caller.user_id, caller.username, caller.roles, caller.request_id) == (
        "gateway", "u1", "li.lei", frozenset({"agent"}), "req-12345678")


@pytest.mark.parametrize(("token_args", "audience", "secret", "code"), [
    ({"audience": "org"}, "ledger", SECRET, "internal_token_audience"),
    ({"audience": "org", "ttl": timedelta(seconds=-60)}, "org", SECRET, "internal_token_expired"),
    ({"audience": "org"}, "org", SECRET[::-1], "internal_token_invalid"),
])
def test_wrong_audience_expired_or_forged_tokens_are_refused(
    token_args: dict[str, object], audience: str, secret: str, code: str
) -> None:
    token = mint_internal_token(SECRET, caller_service="gateway", **token_args)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized) as refused:
        verify_internal_token(secret, token, audience=audience)
    assert refused.value.code == code


def test_weak_internal_secrets_are_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="INTERNAL_TOKEN_SECRET"):
        ServiceSettings(database_url="postgresql://x@/y", INTERNAL_TOKEN_SECRET="changeme")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="INTERNAL_TOKEN_SECRET"):
        ServiceSettings(database_url="postgresql://x@/y", INTERNAL_TOKEN_SECRET="a" * 40)  # type: ignore[call-arg]


async def test_a_service_rejects_calls_without_a_valid_token(kit_client: httpx.AsyncClient) -> None:
    missing = await kit_client.get("/v1/caller")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "internal_token_missing"
    forged = await kit_client.get("/v1/caller", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401
    assert forged.json()["code"] == "internal_token_invalid"
