"""Data scope: self, subtree, institutions, everything, and nothing by default."""

import pytest

from svckit.internal_auth import Caller, mint_internal_token, verify_internal_token
from svckit.scope import DataScope

SECRET = "scope-" + "0123456789abcdefghijklmnopqrstuvwxyz"


def test_an_agent_sees_only_themself() -> None:
    scope = DataScope(agent_id=7)
    assert scope.allows(agent_id=7, agent_path=[1, 3])
    assert not scope.allows(agent_id=8, agent_path=[1, 3, 7])  # not a supervisor: no subtree
    assert not scope.allows(agent_id=8, agent_path=[1, 3], institution_path=[1, 2])


def test_a_supervisor_sees_their_subtree_and_nothing_beside_it() -> None:
    scope = DataScope(agent_id=7, subtree=True)
    assert scope.allows(agent_id=7)
    assert scope.allows(agent_id=12, agent_path=[1, 3, 7, 9])
    assert not scope.allows(agent_id=3, agent_path=[1])  # their own supervisor
    assert not scope.allows(agent_id=13, agent_path=[1, 3, 8])  # a peer's team


def test_staff_see_their_institutions_and_below() -> None:
    scope = DataScope(institutions=frozenset({20}))
    assert scope.allows(agent_id=5, institution_path=[1, 20, 31])
    assert not scope.allows(agent_id=5, institution_path=[1, 21, 33])
    assert DataScope(everything=True).allows(agent_id=None)
    assert DataScope().empty
    assert not DataScope().allows(agent_id=5, agent_path=[1], institution_path=[1])


@pytest.mark.parametrize("claim", [None, "all", {"all": "yes", "agent": True, "inst": ["1", 2.5]}])
def test_a_missing_or_malformed_claim_grants_nothing(claim: object) -> None:
    assert DataScope.from_claim(claim) == DataScope()


def test_the_scope_travels_signed_in_the_internal_token() -> None:
    scope = DataScope(agent_id=7, subtree=True, institutions=frozenset({20}))
    token = mint_internal_token(SECRET, caller_service="gateway", audience="activity", user_id="u", scope=scope,
                                institutions={20})
    caller = verify_internal_token(SECRET, token, audience="activity")
    assert caller.data_scope == scope
    assert caller.institutions == frozenset({20})


def test_services_acting_alone_see_everything_and_unscoped_users_nothing() -> None:
    assert Caller(service="performance").data_scope.everything
    assert Caller(service="gateway", user_id="u").data_scope.empty
    assert Caller(service="gateway").data_scope.empty  # the gateway never acts without a user
