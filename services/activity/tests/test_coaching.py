"""Coaching records, callback records and the supervisor's diary through the service's API: a record is
the writing supervisor's and the coached member's alone, a callback names the customer by id only, and
records link to the 1-1-1 entries that counted them without counting twice."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .conftest import Stack, company, hire
from .test_activity_log import entry


async def team(stack: Stack) -> tuple[Any, int, int, int, int]:
    """manager → supervisor → member, peer."""
    c = await company(stack.org)
    manager = await hire(stack.org, c, "department_manager")
    supervisor = await hire(stack.org, c, "supervisor", manager)
    member = await hire(stack.org, c, "agent", supervisor)
    peer = await hire(stack.org, c, "agent", supervisor)
    await stack.sync()
    return c, manager, supervisor, member, peer


def coaching(member: int, **extra: Any) -> dict[str, Any]:
    return {"member_agent_id": member, "coached_at": utcnow().isoformat(), "moment": "frustrated",
            "method": "conversation", "content": "连续三次被拒,一起复盘拒绝处理话术", "outcome": "愿意明天再访",
            "follow_up_on": business_date(utcnow()).isoformat(), **extra}


async def test_coaching_notes_are_the_supervisors_and_the_members_alone(stack: Stack) -> None:
    c, manager, supervisor, member, peer = await team(stack)
    boss = stack.agent(supervisor, supervisor=True)
    moments = ok(await stack.activity.get("/v1/coaching-moments", headers=boss))
    assert len(moments) == 10
    assert (moments[0]["code"], moments[-1]["code"]) == ("new_visits", "large_case")
    body = coaching(member, client_id=str(uuid.uuid4()))
    record = ok(await stack.activity.post("/v1/coaching", json=body, headers=boss), 201)
    assert (record["supervisor_agent_id"], record["member_agent_id"], record["version"]) == (supervisor, member, 1)
    again = ok(await stack.activity.post("/v1/coaching", json=body, headers=boss), 200)
    assert again["id"] == record["id"]
    rid = record["id"]
    # The supervisor and the member read it; nobody else, not those above, not staff, not an administrator.
    assert ok(await stack.activity.get(f"/v1/coaching/{rid}", headers=stack.agent(member)))["content"]
    outsiders = [stack.agent(peer), stack.agent(manager, supervisor=True),
                 stack.as_user(DataScope(institutions=frozenset({c.office})), "back_office"),
                 stack.as_user(DataScope(everything=True), "admin")]
    for headers in outsiders:
        problem(await stack.activity.get(f"/v1/coaching/{rid}", headers=headers), 404, "coaching_record_not_found")
        assert ok(await stack.activity.get("/v1/coaching", headers=headers))["items"] == []
    assert [r["id"] for r in ok(await stack.activity.get("/v1/coaching", headers=stack.agent(member)))["items"]] == [
        rid]
    due = ok(await stack.activity.get("/v1/coaching", params={"follow_up_by": business_date(utcnow()).isoformat()},
                                      headers=boss))
    assert [r["id"] for r in due["items"]] == [rid]
    # Only the writer corrects it, from the version last seen.
    edit = {k: body[k] for k in ("moment", "method", "content", "outcome", "follow_up_on")} | {"version": 1}
    problem(await stack.activity.put(f"/v1/coaching/{rid}", json=edit, headers=stack.agent(member)), 403,
            "not_the_author")
    fixed = ok(await stack.activity.put(f"/v1/coaching/{rid}", json={**edit, "method": "joint_visit"}, headers=boss))
    assert fixed["version"] == 2
    problem(await stack.activity.put(f"/v1/coaching/{rid}", json=edit, headers=boss), 409, "version_conflict")
    # Bad records are refused with the field and the rule.
    _, _, _, stranger, _ = await team(stack)
    cases = [
        (coaching(member, moment="bad_mood"), 422, "unknown_moment", "moment"),
        (coaching(stranger), 422, "not_your_member", "member_agent_id"),
        (coaching(manager), 422, "not_your_member", "member_agent_id"),
        (coaching(member, coached_at=(utcnow() + timedelta(hours=3)).isoformat()), 422, "in_future", "coached_at"),
        (coaching(member, follow_up_on=(business_date(utcnow()) - timedelta(days=3)).isoformat()), 422,
         "follow_up_before_coaching", "follow_up_on"),
    ]
    for case, status, code, field in cases:
        found = problem(await stack.activity.post("/v1/coaching", json=case, headers=boss), status, code)
        assert found["field"] == field
    problem(await stack.activity.post("/v1/coaching", json=coaching(member),
                                      headers=stack.as_user(DataScope(institutions=frozenset({c.office})),
                                                            "back_office")), 403, "not_an_agent")


async def test_a_record_links_the_entry_that_counted_it_once(stack: Stack) -> None:
    _, _, supervisor, member, peer = await team(stack)
    boss = stack.agent(supervisor, supervisor=True)
    logged = entry("coaching", utcnow().isoformat(), member_agent_id=member)
    ok(await stack.activity.post("/v1/entries", json=logged, headers=boss), 201)
    linked = ok(await stack.activity.post("/v1/coaching", json=coaching(member, entry_id=logged["id"]), headers=boss),
                201)
    assert linked["entry_id"] == logged["id"]
    problem(await stack.activity.post("/v1/coaching", json=coaching(member, entry_id=logged["id"]), headers=boss),
            409, "entry_already_recorded")
    found = problem(await stack.activity.post("/v1/coaching", json=coaching(peer, entry_id=logged["id"]),
                                              headers=boss), 422, "entry_mismatch")
    assert found["field"] == "entry_id"
    problem(await stack.activity.post("/v1/coaching", json=coaching(member, entry_id=str(uuid.uuid4())),
                                      headers=boss), 422, "entry_mismatch")


async def test_callbacks_name_the_members_customer_by_id_only(stack: Stack) -> None:
    _, manager, supervisor, member, peer = await team(stack)
    boss = stack.agent(supervisor, supervisor=True)
    customer = ok(await stack.activity.post("/v1/customers", json={
        "name": "王先生", "phone": "13800000000", "kind": "individual", "intent": 4, "grade": "A"},
        headers=stack.agent(member)), 201)
    theirs = ok(await stack.activity.post("/v1/customers", json={
        "name": "李女士", "phone": "13900000000", "kind": "individual", "intent": 2},
        headers=stack.agent(peer)), 201)
    body = {"member_agent_id": member, "customer_id": customer["id"], "called_at": utcnow().isoformat(),
            "purpose": "了解上午拜访的服务是否满意", "findings": "对保障额度有疑问", "outcome": "revisit_agreed",
            "revisit_at": (utcnow() + timedelta(days=1)).isoformat(), "advice_to_member": "带上保额测算表"}
    record = ok(await stack.activity.post("/v1/callbacks", json=body, headers=boss), 201)
    assert record["customer_id"] == customer["id"]
    assert not {"name", "phone", "contact", "company"} & set(record)
    assert "13800000000" not in str(record)
    found = problem(await stack.activity.post("/v1/callbacks", json={**body, "customer_id": theirs["id"]},
                                              headers=boss), 422, "customer_not_found")
    assert found["field"] == "customer_id"
    problem(await stack.activity.post("/v1/callbacks", json={**body, "outcome": "great"}, headers=boss), 422,
            "validation_failed")
    rid = record["id"]
    assert ok(await stack.activity.get(f"/v1/callbacks/{rid}", headers=stack.agent(member)))["outcome"] == \
        "revisit_agreed"
    for headers in (stack.agent(peer), stack.agent(manager, supervisor=True)):
        problem(await stack.activity.get(f"/v1/callbacks/{rid}", headers=headers), 404, "callback_record_not_found")
    listed = ok(await stack.activity.get("/v1/callbacks", params={"member_agent_id": member}, headers=boss))
    assert [r["id"] for r in listed["items"]] == [rid]
    edit = {k: body[k] for k in ("purpose", "findings", "revisit_at", "advice_to_member")}
    fixed = ok(await stack.activity.put(f"/v1/callbacks/{rid}", json={**edit, "outcome": "reached", "version": 1},
                                        headers=boss))
    assert (fixed["outcome"], fixed["version"]) == ("reached", 2)


async def test_the_supervisors_evening_diary(stack: Stack) -> None:
    c, manager, supervisor, member, _ = await team(stack)
    boss = stack.agent(supervisor, supervisor=True)
    today = business_date(utcnow())
    ok(await stack.activity.post("/v1/coaching", json=coaching(member), headers=boss), 201)
    ok(await stack.activity.post("/v1/entries", json=entry("tracking_call", utcnow().isoformat(),
                                                           member_agent_id=member), headers=boss), 201)
    body = {"summary": "辅导一人,追踪一人", "problems": "回访对象重复", "tomorrow_plan": "陪访王先生",
            "self_check": "提前确定回访名单"}
    written = ok(await stack.activity.put(f"/v1/diary/{today.isoformat()}", json=body, headers=boss), 201)
    assert written["version"] == 1
    assert written["numbers"]["coaching_records"] == 1
    assert written["numbers"]["counts"]["tracking_call"] == 1
    problem(await stack.activity.put(f"/v1/diary/{today.isoformat()}", json=body, headers=boss), 409,
            "version_conflict")
    rewritten = ok(await stack.activity.put(f"/v1/diary/{today.isoformat()}", json={**body, "version": 1,
                                                                                     "summary": "改"}, headers=boss))
    assert (rewritten["summary"], rewritten["version"]) == ("改", 2)
    problem(await stack.activity.put(f"/v1/diary/{(today + timedelta(days=1)).isoformat()}", json=body,
                                     headers=boss), 422, "day_in_future")
    path = f"/v1/agents/{supervisor}/diary/{today.isoformat()}"
    assert ok(await stack.activity.get(path, headers=stack.agent(manager, supervisor=True)))["summary"] == "改"
    assert ok(await stack.activity.get(path, headers=stack.as_user(DataScope(institutions=frozenset({c.office})),
                                                                   "back_office")))["version"] == 2
    problem(await stack.activity.get(path, headers=stack.agent(member)), 404, "diary_not_found")
