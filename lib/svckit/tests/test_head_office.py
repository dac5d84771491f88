"""Changes for the whole company: the role is not enough, the caller's scope must be company-wide."""

from collections.abc import AsyncIterator

import httpx
import pytest

from svckit.errors import Forbidden
from svckit.internal_auth import Caller, mint_internal_token, require_head_office, verify_internal_token
from svckit.routing import service_router
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

from .conftest import kit_app

SECRET = "head-" + "0123456789abcdefghijklmnopqrstuvwxyz"
CompanyRules = require_head_office("admin", "finance")
HEAD_OFFICE = DataScope(institutions=frozenset({1}), company_wide=True)
BRANCH = DataScope(institutions=frozenset({20}))


async def _check(caller: Caller) -> Caller:
    checked: Caller = await CompanyRules.dependency(caller)
    return checked


def test_company_wide_travels_in_the_claim_and_is_false_when_absent() -> None:
    token = mint_internal_token(SECRET, caller_service="gateway", audience="ledger", user_id="u", scope=HEAD_OFFICE)
    assert verify_internal_token(SECRET, token, audience="ledger").data_scope == HEAD_OFFICE
    assert DataScope.from_claim(HEAD_OFFICE.to_claim()).company_wide
    assert not DataScope.from_claim({"inst": [20]}).company_wide  # a token minted before the claim existed
    assert not DataScope.from_claim({"inst": [20], "cw": "yes"}).company_wide
    assert DataScope(everything=True).company_wide  # administrators and the system
    assert DataScope.from_claim({"all": True}).company_wide


async def test_head_office_staff_and_administrators_pass() -> None:
    for caller in (Caller(service="gateway", user_id="u", roles=frozenset({"finance"}), scope=HEAD_OFFICE),
                   Caller(service="gateway", user_id="u", roles=frozenset({"admin"}),
                          scope=DataScope(everything=True))):
        assert await _check(caller) is caller


async def test_a_service_acting_for_the_system_passes_with_the_role() -> None:
    system = Caller(service="performance", roles=frozenset({"finance"}))
    assert await _check(system) is system
    with pytest.raises(Forbidden) as refused:
        await _check(Caller(service="performance"))
    assert refused.value.code == "role_required"


@pytest.mark.parametrize("scope", [BRANCH, DataScope(), DataScope(agent_id=7, subtree=True)])
async def test_branch_staff_with_the_role_are_refused(scope: DataScope) -> None:
    with pytest.raises(Forbidden) as refused:
        await _check(Caller(service="gateway", user_id="u", roles=frozenset({"finance"}), scope=scope))
    assert refused.value.code == "head_office_only"
    assert "whole company" in refused.value.detail


async def test_the_role_is_checked_first() -> None:
    with pytest.raises(Forbidden) as refused:
        await _check(Caller(service="gateway", user_id="u", roles=frozenset({"agent"}), scope=HEAD_OFFICE))
    assert refused.value.code == "role_required"


@pytest.fixture
async def client(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    router = service_router(prefix="/v1")

    @router.post("/company-rules", dependencies=[CompanyRules])
    async def change() -> dict[str, bool]:
        return {"changed": True}

    async with running(kit_app(stack_db, internal_secret, [router])) as c:
        yield c


async def test_the_refusal_is_a_403_problem(client: httpx.AsyncClient, internal_secret: str) -> None:
    finance = frozenset({"finance"})
    refused = await client.post("/v1/company-rules", headers=internal_headers(
        internal_secret, "kit", roles=finance, scope=BRANCH))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "head_office_only"
    allowed = await client.post("/v1/company-rules", headers=internal_headers(
        internal_secret, "kit", roles=finance, scope=HEAD_OFFICE))
    assert allowed.status_code == 200, allowed.text
