"""Fission and count-back under both styles of seed 000 §4.2, and the rule itself without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from org_service.fission import counts_back
from org_service.models import FissionPolicy
from org_service.rules import add_months
from svckit.testing.asgi import internal_headers

from .test_org_api import company, hire, ok, problem

PICC = FissionPolicy(style="ping_an_picc", separate_on_peer_level=True, may_return=True, counts_indirect=True,
                     protection_months=0, count_back_periods=2, assessment_period_months=6,
                     count_back_for_promotion=True, count_back_for_maintenance=True, count_back_share=Decimal(1))
CHINA_LIFE = {"style": "china_life", "separate_on_peer_level": False, "may_return": False, "counts_indirect": False,
              "protection_months": 24, "count_back_periods": 2, "assessment_period_months": 6,
              "count_back_for_promotion": False, "count_back_for_maintenance": True, "count_back_share": "1"}


def test_months_are_added_the_calendar_way() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 3, 1), 24) == date(2027, 3, 1)
    assert add_months(date(2025, 11, 15), 2) == date(2026, 1, 15)


@pytest.mark.parametrize(("period_start", "assessment", "generation", "returned_on", "expected"), [
    (date(2025, 1, 1), "maintenance", 1, None, "first_periods"),
    (date(2025, 7, 1), "promotion", 1, None, "first_periods"),
    (date(2026, 1, 1), "maintenance", 1, None, None),           # two 6-month periods are over
    (date(2025, 7, 1), "maintenance", 2, None, "first_periods"),  # indirect lines count under this style
    (date(2025, 7, 1), "maintenance", 1, date(2025, 6, 1), None),  # it came back: nothing to count back
    (date(2024, 12, 1), "maintenance", 1, None, None),           # before it reached peer level
])
def test_the_count_back_rule(period_start: date, assessment: str, generation: int, returned_on: date | None,
                             expected: str | None) -> None:
    assert counts_back(PICC, peer_on=date(2025, 1, 1), returned_on=returned_on, period_start=period_start,
                       assessment=assessment, generation=generation) == expected  # type: ignore[arg-type]


async def _count_back(org: httpx.AsyncClient, nurturer: int, start: str, end: str,
                      kind: str) -> list[dict[str, object]]:
    return list(ok(await org.get(f"/v1/agents/{nurturer}/count-back", params={
        "period_start": start, "period_end": end, "assessment": kind})))


async def test_ping_an_picc_style_separates_counts_back_and_may_return(org: httpx.AsyncClient) -> None:
    c = await company(org)
    director = await hire(org, c, "director", on="2023-01-01")
    manager = await hire(org, c, "department_manager", director, on="2023-01-01")
    nurtured = await hire(org, c, "supervisor", manager, on="2023-01-01", nurturer_id=manager)
    member = await hire(org, c, "agent", nurtured, on="2023-01-01")
    grand = await hire(org, c, "supervisor", nurtured, on="2023-01-01", nurturer_id=nurtured)

    ok(await org.post(f"/v1/agents/{nurtured}/rank-changes", json={
        "effective_on": "2024-01-01", "rank_code": "department_manager", "kind": "promotion", "reason": "H2"}))
    chain = [link["agent_id"] for link in ok(await org.get(f"/v1/agents/{member}/chain",
                                                            params={"on": "2024-01-01"}))]
    assert chain == [nurtured, director]  # the team left the nurturer's line and follows its head
    before = [link["agent_id"] for link in ok(await org.get(f"/v1/agents/{member}/chain",
                                                             params={"on": "2023-12-31"}))]
    assert before == [nurtured, manager, director]

    answer = await _count_back(org, manager, "2024-01-01", "2024-07-01", "maintenance")
    assert [(a["team_head_id"], a["reason"], a["share"], a["separated"]) for a in answer] == [
        (nurtured, "first_periods", "1.0000", True)]
    assert answer[0]["headcount_by_rank"] == {"department_manager": 1, "agent": 1, "supervisor": 1}
    assert await _count_back(org, manager, "2024-07-01", "2025-01-01", "promotion") != []
    assert await _count_back(org, manager, "2025-01-01", "2025-07-01", "maintenance") == []

    # The grand-nurtured supervisor reaches peer level with their own nurturer: an indirect team.
    ok(await org.post(f"/v1/agents/{grand}/rank-changes", json={
        "effective_on": "2024-03-01", "rank_code": "department_manager", "kind": "promotion", "reason": "H2"}))
    indirect = await _count_back(org, manager, "2024-04-01", "2024-07-01", "maintenance")
    assert sorted((a["team_head_id"], a["generation"]) for a in indirect) == [(nurtured, 1), (grand, 2)]

    separation = answer[0]["separation_id"]
    returned = ok(await org.post(f"/v1/separations/{separation}/return", json={"effective_on": "2024-05-01"}))
    assert returned["returned_on"] == "2024-05-01"
    again = [link["agent_id"] for link in ok(await org.get(f"/v1/agents/{member}/chain",
                                                            params={"on": "2024-05-01"}))]
    assert again == [nurtured, manager, director]
    later = await _count_back(org, manager, "2024-06-01", "2024-07-01", "maintenance")
    assert [a["team_head_id"] for a in later] == [grand]
    problem(await org.post(f"/v1/separations/{separation}/return", json={"effective_on": "2024-06-01"}), 409,
            "already_returned")


async def test_china_life_style_keeps_peers_protects_them_and_never_returns(org: httpx.AsyncClient) -> None:
    created = ok(await org.post("/v1/fission-policies", json={"valid_from": "2030-01-01", **CHINA_LIFE}), 201)
    assert created["style"] == "china_life"
    assert ok(await org.get("/v1/fission-policy", params={"on": "2029-12-31"}))["style"] == "ping_an_picc"
    assert ok(await org.get("/v1/fission-policy", params={"on": "2030-01-01"}))["style"] == "china_life"
    problem(await org.post("/v1/fission-policies", json={"valid_from": "2029-06-01", **CHINA_LIFE}), 409,
            "effective_date_before_history")

    c = await company(org)
    manager = await hire(org, c, "department_manager", on="2030-01-01")
    nurtured = await hire(org, c, "supervisor", manager, on="2030-01-01", nurturer_id=manager)
    grand = await hire(org, c, "supervisor", nurtured, on="2030-01-01", nurturer_id=nurtured)
    ok(await org.post(f"/v1/agents/{nurtured}/rank-changes", json={
        "effective_on": "2030-03-01", "rank_code": "department_manager", "kind": "promotion", "reason": "H2"}))
    chain = [link["agent_id"] for link in ok(await org.get(f"/v1/agents/{nurtured}/chain",
                                                            params={"on": "2030-03-01"}))]
    assert chain == [manager]  # peer level, but no separation under this style

    first = await _count_back(org, manager, "2030-04-01", "2030-10-01", "maintenance")
    assert [(a["reason"], a["separated"]) for a in first] == [("first_periods", False)]
    protected = await _count_back(org, manager, "2031-06-01", "2031-12-01", "maintenance")
    assert [a["reason"] for a in protected] == ["protection_period"]
    assert await _count_back(org, manager, "2032-04-01", "2032-10-01", "maintenance") == []  # 2 years are over
    assert await _count_back(org, manager, "2030-04-01", "2030-10-01", "promotion") == []  # maintenance only

    ok(await org.post(f"/v1/agents/{grand}/rank-changes", json={
        "effective_on": "2030-06-01", "rank_code": "department_manager", "kind": "promotion", "reason": "H1"}))
    assert [a["team_head_id"] for a in await _count_back(org, manager, "2030-07-01", "2030-10-01",
                                                          "maintenance")] == [nurtured]  # direct teams only
    problem(await org.post(f"/v1/separations/{first[0]['separation_id']}/return",
                           json={"effective_on": "2030-09-01"}), 409, "return_not_allowed")


async def test_fission_policy_is_administered_by_administrators(org: httpx.AsyncClient,
                                                                internal_secret: str) -> None:
    manager = internal_headers(internal_secret, "org", roles=frozenset({"marketing_management"}))
    problem(await org.post("/v1/fission-policies", json={"valid_from": "2040-01-01", **CHINA_LIFE},
                           headers=manager), 403, "role_required")
    bad = await org.post("/v1/fission-policies", json={"valid_from": "2040-01-01", **CHINA_LIFE,
                                                       "count_back_share": "1.5"})
    assert problem(bad, 422, "validation_failed")["errors"][0]["field"] == "count_back_share"
