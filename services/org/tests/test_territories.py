"""Territories have one owner at a time, channels may be shared, leaving ends both."""

from __future__ import annotations

import secrets

import httpx

from .test_org_api import company, hire, ok, problem


async def test_a_territory_changes_hands_on_a_date_and_channels_are_shared(org: httpx.AsyncClient) -> None:
    c = await company(org)
    first, second = await hire(org, c, "agent"), await hire(org, c, "agent")
    area = f"TJ-HG-{secrets.token_hex(3)}"
    ok(await org.post(f"/v1/agents/{first}/territories", json={"kind": "territory", "code": area,
                                                               "effective_on": "2024-02-01"}), 201)
    taken = await org.post(f"/v1/agents/{second}/territories", json={"kind": "territory", "code": area,
                                                                     "effective_on": "2024-06-01"})
    problem(taken, 409, "territory_taken")
    ok(await org.post(f"/v1/agents/{first}/territories/end", json={"kind": "territory", "code": area,
                                                                   "effective_on": "2024-06-01"}))
    ok(await org.post(f"/v1/agents/{second}/territories", json={"kind": "territory", "code": area,
                                                                "effective_on": "2024-06-01"}), 201)
    assert ok(await org.get(f"/v1/territories/{area}/owner", params={"on": "2024-05-31"}))["agent_id"] == first
    assert ok(await org.get(f"/v1/territories/{area}/owner", params={"on": "2024-06-01"}))["agent_id"] == second
    problem(await org.get(f"/v1/territories/{area}/owner", params={"on": "2024-01-01"}), 404, "territory_unowned")

    shop = f"4S-{secrets.token_hex(3)}"
    for agent in (first, second):
        ok(await org.post(f"/v1/agents/{agent}/territories", json={"kind": "channel", "code": shop,
                                                                   "effective_on": "2024-03-01"}), 201)
    held = ok(await org.get(f"/v1/agents/{first}/territories", params={"on": "2024-07-01"}))
    assert [(t["kind"], t["code"]) for t in held] == [("channel", shop)]


async def test_leaving_ends_territories_and_channels(org: httpx.AsyncClient) -> None:
    c = await company(org)
    agent = await hire(org, c, "agent")
    area = f"TJ-JX-{secrets.token_hex(3)}"
    ok(await org.post(f"/v1/agents/{agent}/territories", json={"kind": "territory", "code": area,
                                                               "effective_on": "2024-02-01"}), 201)
    ok(await org.post(f"/v1/agents/{agent}/leave", json={"effective_on": "2025-01-01", "reason": "resigned"}))
    assert ok(await org.get(f"/v1/territories/{area}/owner", params={"on": "2024-12-31"}))["agent_id"] == agent
    problem(await org.get(f"/v1/territories/{area}/owner", params={"on": "2025-01-01"}), 404, "territory_unowned")
    assert ok(await org.get(f"/v1/agents/{agent}/territories", params={"on": "2025-02-01"})) == []
    gone = await org.post(f"/v1/agents/{agent}/territories", json={"kind": "channel", "code": "x",
                                                                   "effective_on": "2025-02-01"})
    problem(gone, 409, "agent_left")
    problem(await org.post(f"/v1/agents/{agent}/territories", json={"kind": "planet", "code": "x",
                                                                    "effective_on": "2025-02-01"}), 422,
            "validation_failed")
