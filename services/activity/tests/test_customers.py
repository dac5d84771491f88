"""Customers: registration, grades with history, contact data private to the owner (every read logged),
handover between agents, inbound enquiries routed to the territory's owner by org."""

from __future__ import annotations

import uuid
from typing import Any

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem
from svckit.timeutil import utcnow

from .conftest import Stack, company, hire


def form(**extra: Any) -> dict[str, Any]:
    return {"name": "王先生", "company": "汉沽建材", "phone": "138 0000 0000", "channel": "建材商",
            "territory": "HG-01", "intent": 4, "grade": "A", "obstacle": "price", **extra}


async def test_contact_data_is_the_owners_alone_and_every_read_is_logged(stack: Stack) -> None:
    c = await company(stack.org)
    manager = await hire(stack.org, c, "department_manager")
    owner = await hire(stack.org, c, "agent", manager)
    peer = await hire(stack.org, c, "agent", manager)
    await stack.sync()
    registered = ok(await stack.activity.post("/v1/customers", json=form(), headers=stack.agent(owner)), 201)
    customer = registered["id"]
    assert registered["contact"]["name"] == "王先生"
    boss = stack.agent(manager, supervisor=True)
    summary = ok(await stack.activity.get(f"/v1/customers/{customer}", headers=boss))
    assert summary["grade"] == "A"
    assert "contact" not in summary
    assert "王先生" not in str(summary)
    problem(await stack.activity.get(f"/v1/customers/{customer}/contact", headers=boss), 403, "contact_private")
    problem(await stack.activity.get(f"/v1/customers/{customer}", headers=stack.agent(peer)), 404,
            "customer_not_found")
    problem(await stack.activity.get(f"/v1/customers/{customer}/contact", headers=stack.agent(peer)), 404,
            "customer_not_found")
    listed = ok(await stack.activity.get("/v1/customers", headers=boss))
    assert [x["id"] for x in listed["items"]] == [customer]
    assert "王先生" not in str(listed)
    assert ok(await stack.activity.get("/v1/customers", headers=stack.agent(peer)))["items"] == []
    ok(await stack.activity.get(f"/v1/customers/{customer}/contact", headers=stack.agent(owner)))
    ok(await stack.activity.get("/v1/customers/mine", headers=stack.agent(owner)))
    auditor = stack.as_user(DataScope(everything=True), "compliance")
    log = ok(await stack.activity.get("/v1/contact-access", params={"customer_id": customer}, headers=auditor))
    assert [e["purpose"] for e in log["items"]] == ["list", "read", "register"]
    assert {e["agent_id"] for e in log["items"]} == {owner}
    problem(await stack.activity.get("/v1/contact-access", headers=boss), 403, "role_required")


async def test_grades_keep_their_history_and_edits_their_versions(stack: Stack) -> None:
    c = await company(stack.org)
    owner = await hire(stack.org, c, "agent")
    await stack.sync()
    client_id = str(uuid.uuid4())
    first = ok(await stack.activity.post("/v1/customers", json=form(client_id=client_id, grade="E", intent=2),
                                         headers=stack.agent(owner)), 201)
    again = ok(await stack.activity.post("/v1/customers", json=form(client_id=client_id, grade="E", intent=2),
                                         headers=stack.agent(owner)), 200)
    assert again["id"] == first["id"]
    customer = first["id"]
    graded = ok(await stack.activity.post(f"/v1/customers/{customer}/grades",
                                          json={"version": 1, "grade": "B", "intent": 4, "reason": "met the boss"},
                                          headers=stack.agent(owner)), 201)
    assert graded["version"] == 2
    problem(await stack.activity.post(f"/v1/customers/{customer}/grades", json={"version": 1, "grade": "A",
                                                                               "intent": 5},
                                      headers=stack.agent(owner)), 409, "version_conflict")
    history = ok(await stack.activity.get(f"/v1/customers/{customer}/grades", headers=stack.agent(owner)))
    assert [g["grade"] for g in history] == ["E", "B"]
    edited = ok(await stack.activity.patch(f"/v1/customers/{customer}", json={"version": 2, "phone": "139-1111-2222",
                                                                             "obstacle": "trust"},
                                           headers=stack.agent(owner)))
    assert edited["contact"]["phone"] == "139-1111-2222"
    assert edited["obstacle"] == "trust"
    bad = problem(await stack.activity.post("/v1/customers", json=form(grade="F"), headers=stack.agent(owner)), 422,
                  "validation_failed")
    assert [e["field"] for e in bad["errors"]] == ["grade"]


async def test_a_leaving_agents_customers_are_handed_over_by_a_recorded_transfer(stack: Stack) -> None:
    c = await company(stack.org)
    manager = await hire(stack.org, c, "department_manager")
    leaving = await hire(stack.org, c, "agent", manager)
    heir = await hire(stack.org, c, "agent", manager)
    outsider_company = await company(stack.org)
    outsider = await hire(stack.org, outsider_company, "agent")
    await stack.sync()
    ids = [ok(await stack.activity.post("/v1/customers", json=form(name=f"客户{i}"), headers=stack.agent(leaving)),
              201)["id"] for i in range(3)]
    ok(await stack.org.post(f"/v1/agents/{leaving}/leave", json={"effective_on": utcnow().date().isoformat(),
                                                                  "reason": "resigned"}))
    await stack.sync()
    boss = stack.agent(manager, supervisor=True)
    orphaned = ok(await stack.activity.get("/v1/customers", params={"owner_left": "true"}, headers=boss))
    assert sorted(x["id"] for x in orphaned["items"]) == ids
    # Not to someone outside the supervisor's team, and not by the departing agent's peer.
    problem(await stack.activity.post("/v1/customer-transfers", json={
        "from_agent_id": leaving, "to_agent_id": outsider, "reason": "agent_left"}, headers=boss), 404,
        "agent_not_found")
    problem(await stack.activity.post("/v1/customer-transfers", json={
        "from_agent_id": leaving, "to_agent_id": heir, "reason": "agent_left"}, headers=stack.agent(heir)), 403,
        "role_required")
    moved = ok(await stack.activity.post("/v1/customer-transfers", json={
        "from_agent_id": leaving, "to_agent_id": heir, "reason": "agent_left"}, headers=boss), 201)
    assert sorted(t["customer_id"] for t in moved) == ids
    contact = ok(await stack.activity.get(f"/v1/customers/{ids[0]}/contact", headers=stack.agent(heir)))
    assert contact["contact"]["name"] == "客户0"
    assert contact["owner_agent_id"] == heir
    history = ok(await stack.activity.get(f"/v1/customers/{ids[0]}/transfers", headers=boss))
    assert [(t["from_agent_id"], t["to_agent_id"]) for t in history] == [(leaving, heir)]
    assert ok(await stack.activity.get("/v1/customers", params={"owner_left": "true"}, headers=boss))["items"] == []


async def test_an_enquiry_goes_to_the_territorys_owner(stack: Stack) -> None:
    c = await company(stack.org)
    owner = await hire(stack.org, c, "agent")
    territory = f"T-{uuid.uuid4().hex[:6]}"
    ok(await stack.org.post(f"/v1/agents/{owner}/territories", json={
        "kind": "territory", "code": territory, "effective_on": "2024-01-01"}), 201)
    await stack.sync()
    back_office = stack.as_user(DataScope(institutions=frozenset({c.branch})), "back_office")
    enquiry = ok(await stack.activity.post("/v1/enquiries", json={
        "territory": territory, "name": "李女士", "phone": "022-1234567", "subject": "团体意外险"},
        headers=back_office), 201)
    assert enquiry["assigned_agent_id"] == owner
    mine = ok(await stack.activity.get("/v1/customers/mine", headers=stack.agent(owner)))
    assert [(x["id"], x["source"], x["contact"]["name"]) for x in mine["items"]] == [
        (enquiry["customer_id"], "enquiry", "李女士")]
    problem(await stack.activity.get(f"/v1/customers/{enquiry['customer_id']}/contact", headers=back_office), 403,
            "contact_private")
    problem(await stack.activity.post("/v1/enquiries", json={"territory": "NOBODY-1", "name": "x"},
                                      headers=back_office), 404, "territory_unowned")
    elsewhere = stack.as_user(DataScope(institutions=frozenset({10**9})), "back_office")
    problem(await stack.activity.post("/v1/enquiries", json={"territory": territory, "name": "x"},
                                      headers=elsewhere), 404, "territory_not_found")
    problem(await stack.activity.post("/v1/enquiries", json={"territory": "../agents", "name": "x"},
                                      headers=back_office), 422, "validation_failed")
