"""The activity log through the service's API: single entries, offline batch sync, versions, the day in
numbers, compliance and the fewest-visits flag, on a real PostgreSQL with org beside it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem
from svckit.timeutil import BUSINESS_TZ, business_date, utcnow

from .conftest import Stack, company, hire


def at(day: date, hour: int = 10, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BUSINESS_TZ).isoformat()


def entry(kind: str, when: str, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": kind, "occurred_at": when, **extra}


def day_531(day: date, **extra: Any) -> list[dict[str, Any]]:
    """A full 5-3-1 day: 5 phone appointments, 3 interviews, 1 closing visit, 1 new-customer visit."""
    kinds = ["phone_appointment"] * 5 + ["interview"] * 3 + ["closing_visit", "new_customer_visit"]
    return [entry(k, at(day, 9 + i // 2, (i % 2) * 30), **extra) for i, k in enumerate(kinds)]


async def team(stack: Stack) -> tuple[Any, int, int, int]:
    c = await company(stack.org)
    manager = await hire(stack.org, c, "department_manager")
    a1 = await hire(stack.org, c, "agent", manager)
    a2 = await hire(stack.org, c, "agent", manager)
    await stack.sync()
    return c, manager, a1, a2


async def test_an_entry_is_logged_once_and_counts_for_its_day(stack: Stack) -> None:
    _, _, agent, _ = await team(stack)
    today = business_date(utcnow())
    body = entry("interview", at(today, 0, 1), notes="met Mr Wang")
    created = ok(await stack.activity.post("/v1/entries", json=body, headers=stack.agent(agent)), 201)
    assert created["version"] == 1
    assert created["day"] == today.isoformat()
    again = ok(await stack.activity.post("/v1/entries", json=body, headers=stack.agent(agent)), 200)
    assert again["version"] == 1
    [day] = ok(await stack.activity.get(f"/v1/agents/{agent}/days", params={"from": today.isoformat(),
                                                                            "to": today.isoformat()},
                                        headers=stack.agent(agent)))
    assert day["counts"] == {"interview": 1}
    assert day["visits"] == 1


async def test_bad_entries_are_refused_with_the_field_and_the_rule(stack: Stack) -> None:
    _, manager, agent, other = await team(stack)
    now = utcnow()
    cases = [
        (entry("interview", (now + timedelta(hours=2)).isoformat()), "entry_in_future", "occurred_at"),
        (entry("interview", (now - timedelta(days=400)).isoformat()), "entry_too_old", "occurred_at"),
        (entry("juggling", now.isoformat()), "unknown_kind", "kind"),
        (entry("interview", now.isoformat(), customer_id=999_999_999), "customer_not_found", "customer_id"),
        (entry("coaching", now.isoformat(), member_agent_id=other), "not_your_member", "member_agent_id"),
    ]
    for body, code, field in cases:
        found = problem(await stack.activity.post("/v1/entries", json=body, headers=stack.agent(agent)), 422, code)
        assert found["field"] == field
    # A supervisor cannot write into an agent's log: whatever they send lands in their own, or is refused.
    staff = stack.as_user(DataScope(institutions=frozenset({1})), "back_office")
    found = problem(await stack.activity.post("/v1/entries", json=entry("interview", now.isoformat()),
                                              headers=staff), 403, "not_an_agent")
    found = problem(await stack.activity.post("/v1/entries", json={**entry("interview", now.isoformat()),
                                                                   "agent_id": agent},
                    headers=stack.agent(manager, supervisor=True)), 422, "validation_failed")
    assert [e["field"] for e in found["errors"]] == ["agent_id"]
    listed = ok(await stack.activity.get("/v1/entries", headers=stack.agent(agent)))
    assert listed["items"] == []


async def test_a_batch_keeps_the_valid_items_and_a_resend_changes_nothing(stack: Stack) -> None:
    _, _, agent, _ = await team(stack)
    yesterday = business_date(utcnow()) - timedelta(days=1)
    items: list[Any] = day_531(yesterday)
    items.append({"kind": "interview"})  # malformed: no id, no time
    items.append(entry("interview", "not a time"))
    items.append(entry("interview", (utcnow() + timedelta(days=3)).isoformat()))
    first = ok(await stack.activity.post("/v1/entries/sync", json={"entries": items}, headers=stack.agent(agent)))
    assert (first["accepted"], first["rejected"]) == (10, 3)
    assert [r["status"] for r in first["results"]] == ["created"] * 10 + ["rejected"] * 3
    assert first["results"][10]["field"] == "id"
    assert first["results"][10]["id"] is None
    assert first["results"][11]["field"] == "occurred_at"
    assert first["results"][12]["code"] == "entry_in_future"
    again = ok(await stack.activity.post("/v1/entries/sync", json={"entries": items}, headers=stack.agent(agent)))
    assert [r["status"] for r in again["results"]][:10] == ["unchanged"] * 10
    [day] = ok(await stack.activity.get(f"/v1/agents/{agent}/days", params={"from": yesterday.isoformat(),
                                                                            "to": yesterday.isoformat()},
                                        headers=stack.agent(agent)))
    assert day["counts"] == {"phone_appointment": 5, "interview": 3, "closing_visit": 1, "new_customer_visit": 1}
    assert day["visits"] == 5
    too_many = {"entries": [entry("interview", utcnow().isoformat()) for _ in range(501)]}
    found = problem(await stack.activity.post("/v1/entries/sync", json=too_many, headers=stack.agent(agent)), 422,
                    "validation_failed")
    assert [e["field"] for e in found["errors"]] == ["entries"]


async def test_two_devices_cannot_silently_overwrite_each_other(stack: Stack) -> None:
    _, _, agent, _ = await team(stack)
    body = entry("phone_appointment", utcnow().isoformat())
    ok(await stack.activity.post("/v1/entries", json=body, headers=stack.agent(agent)), 201)
    edit = {k: body[k] for k in ("kind", "occurred_at")} | {"version": 1}
    phone = ok(await stack.activity.put(f"/v1/entries/{body['id']}", json={**edit, "kind": "interview"},
                                        headers=stack.agent(agent)))
    assert phone["version"] == 2
    assert phone["kind"] == "interview"
    tablet = problem(await stack.activity.put(f"/v1/entries/{body['id']}", json={**edit, "outcome": "no answer"},
                                              headers=stack.agent(agent)), 409, "version_conflict")
    assert tablet["current_version"] == 2
    # Withdrawing the entry takes it out of the day's numbers.
    ok(await stack.activity.put(f"/v1/entries/{body['id']}", json={**edit, "kind": "interview", "version": 2,
                                                                  "withdrawn": True}, headers=stack.agent(agent)))
    today = business_date(datetime.fromisoformat(body["occurred_at"]))
    [day] = ok(await stack.activity.get(f"/v1/agents/{agent}/days", params={"from": today.isoformat(),
                                                                            "to": today.isoformat()},
                                        headers=stack.agent(agent)))
    assert day["counts"] == {}
    assert day["visits"] == 0
    # Another agent's entry does not exist for this agent.
    _, _, stranger, _ = await team(stack)
    problem(await stack.activity.get(f"/v1/entries/{body['id']}", headers=stack.agent(stranger)), 404,
            "entry_not_found")


async def test_supervisors_see_numbers_and_compliance_never_the_log(stack: Stack) -> None:
    _, manager, agent, idle = await team(stack)
    today = business_date(utcnow())
    day = today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    ok(await stack.activity.post("/v1/entries/sync", json={"entries": day_531(day)}, headers=stack.agent(agent)))
    boss = stack.agent(manager, supervisor=True)
    assert ok(await stack.activity.get("/v1/entries", headers=boss))["items"] == []  # their own log: empty
    report = ok(await stack.activity.get("/v1/compliance", params={"period": "day", "on": day.isoformat()},
                                         headers=boss))
    rows = {r["agent_id"]: r for r in report["rows"]}
    assert set(rows) == {manager, agent, idle}
    assert report["working_days"] in (0, 1)
    if report["working_days"] == 1:  # a holiday has no working day to comply on
        assert rows[agent]["compliant_days"] == 1
        assert rows[agent]["shortfall_days"] == 0
        assert rows[idle]["compliant_days"] == 0
        assert rows[idle]["unexplained_shortfall_days"] == 1
        assert [r["done"] for r in rows[agent]["requirements"]] == [5, 3, 1, 1]
        explained = ok(await stack.activity.put(f"/v1/days/{day.isoformat()}/explanation",
                                                json={"text": "training all day at the branch"},
                                                headers=stack.agent(idle)))
        assert explained["explanation"].startswith("training")
        report = ok(await stack.activity.get("/v1/compliance", params={"period": "day", "on": day.isoformat()},
                                             headers=boss))
        assert {r["agent_id"]: r for r in report["rows"]}[idle]["unexplained_shortfall_days"] == 0
    # The agent's compliant day needs no explanation.
    found = problem(await stack.activity.put(f"/v1/days/{day.isoformat()}/explanation",
                                             json={"text": "nothing to say"}, headers=stack.agent(agent)), 409,
                    "no_shortfall")
    assert found["field"] == "day"
    team_level = ok(await stack.activity.get("/v1/compliance", params={"period": "month", "on": day.isoformat(),
                                                                       "level": "team"}, headers=boss))
    assert sum(r["agents"] for r in team_level["rows"]) == 3
    # The agent sees only themself; another team's agent sees nothing of this one.
    own = ok(await stack.activity.get("/v1/compliance", params={"on": day.isoformat()}, headers=stack.agent(agent)))
    assert [r["agent_id"] for r in own["rows"]] == [agent]
    problem(await stack.activity.get(f"/v1/agents/{agent}/days", params={"from": day.isoformat(),
                                                                         "to": day.isoformat()},
                                     headers=stack.agent(idle)), 404, "agent_not_found")
    seen = ok(await stack.activity.get(f"/v1/agents/{agent}/days", params={"from": day.isoformat(),
                                                                           "to": day.isoformat()}, headers=boss))
    assert seen[0]["visits"] == 5


async def test_the_fewest_visits_for_n_weeks_is_flagged(stack: Stack) -> None:
    _, manager, busy, idle = await team(stack)
    today = business_date(utcnow())
    monday = today - timedelta(days=today.weekday())
    for weeks_back in (1, 2):
        day = monday - timedelta(days=7 * weeks_back) + timedelta(days=1)
        if (today - day).days > 31:
            continue
        ok(await stack.activity.post("/v1/entries/sync", json={"entries": day_531(day)}, headers=stack.agent(busy)))
        ok(await stack.activity.post("/v1/entries/sync", json={"entries": [entry("interview", at(day, 15))]},
                                     headers=stack.agent(idle)))
        ok(await stack.activity.post("/v1/entries/sync", json={"entries": [entry("interview", at(day, h))
                                                                           for h in (14, 16)]},
                                     headers=stack.agent(manager, supervisor=True)))
    flags = ok(await stack.activity.get("/v1/visit-flags", headers=stack.agent(manager, supervisor=True)))
    assert flags["weeks"] == 2
    flagged = {f["agent_id"]: f for f in flags["flagged"]}
    assert idle in flagged
    assert busy not in flagged
    assert flagged[idle]["weekly_visits"] == [1, 1]


async def test_rules_are_versioned_data(stack: Stack) -> None:
    admin = stack.as_user(DataScope(everything=True), "admin")
    versions = ok(await stack.activity.get("/v1/rules/visit_minimum", headers=admin))
    assert versions[-1]["value"] == {"per_day": 5, "flag_after_weeks": 2}
    tomorrow = business_date(utcnow()) + timedelta(days=1)
    ok(await stack.activity.post("/v1/rules/visit_minimum", json={"valid_from": tomorrow.isoformat(),
                                                                  "value": {"per_day": 6, "flag_after_weeks": 3}},
                                 headers=admin), 201)
    bad = problem(await stack.activity.post("/v1/rules/daily_targets", json={
        "valid_from": (tomorrow + timedelta(days=1)).isoformat(), "value": {"agent": [], "supervisor": []}},
        headers=admin), 422, "invalid_rule_value")
    assert bad["field"].startswith("value.agent")
    kinds = ok(await stack.activity.get("/v1/kinds", headers=admin))
    assert {"phone_appointment", "coaching"} <= {k["code"] for k in kinds}


async def test_a_batch_carries_edits_and_reports_stale_ones_as_conflicts(stack: Stack) -> None:
    _, _, agent, _ = await team(stack)
    now = utcnow()
    first, second = entry("interview", now.isoformat()), entry("phone_appointment", now.isoformat())
    ok(await stack.activity.post("/v1/entries/sync", json={"entries": [first, second]}, headers=stack.agent(agent)))
    edits = [{**first, "outcome": "signed", "version": 1},     # made from the stored version: applied
             {**second, "outcome": "no answer", "version": 3},  # made from a version that never was
             {**second, "outcome": "call back"},                # the same id twice in one batch
             entry("interview", now.isoformat(), version=1)]   # an edit of an entry that does not exist
    answer = ok(await stack.activity.post("/v1/entries/sync", json={"entries": edits}, headers=stack.agent(agent)))
    assert [(r["status"], r["version"]) for r in answer["results"]] == [
        ("updated", 2), ("conflict", 1), ("rejected", None), ("conflict", None)]
    assert answer["results"][2]["code"] == "duplicate_id"
    # An id already used, sent again without a version and with another content, is not an edit.
    reused = ok(await stack.activity.post("/v1/entries/sync", json={"entries": [{**second, "outcome": "x"}]},
                                          headers=stack.agent(agent)))
    assert (reused["results"][0]["status"], reused["results"][0]["code"]) == ("conflict", "version_conflict")
    again = ok(await stack.activity.post("/v1/entries/sync", json={"entries": edits[:1]}, headers=stack.agent(agent)))
    assert again["results"][0]["status"] == "unchanged"
    stored = ok(await stack.activity.get(f"/v1/entries/{first['id']}", headers=stack.agent(agent)))
    assert (stored["outcome"], stored["version"]) == ("signed", 2)
    untouched = ok(await stack.activity.get(f"/v1/entries/{second['id']}", headers=stack.agent(agent)))
    assert (untouched["outcome"], untouched["version"]) == (None, 1)


async def test_tracking_calls_are_counted_per_member_against_the_weekly_number(stack: Stack) -> None:
    _, manager, called, forgotten = await team(stack)
    today = business_date(utcnow())
    calls = [entry("tracking_call", at(today, 0, 5 + i), member_agent_id=called) for i in range(2)]
    withdrawn = entry("tracking_call", at(today, 0, 9), member_agent_id=forgotten, withdrawn=True)
    boss = stack.agent(manager, supervisor=True)
    ok(await stack.activity.post("/v1/entries/sync", json={"entries": [*calls, withdrawn]}, headers=boss))
    report = ok(await stack.activity.get("/v1/tracking-calls", headers=boss))
    assert report["per_member_per_week"] == 2
    rows = {r["member_agent_id"]: (r["supervisor_id"], r["calls"], r["short_by"]) for r in report["rows"]}
    assert rows == {called: (manager, 2, 0), forgotten: (manager, 0, 2)}
    # An agent holds no supervisor's report but their own (and has no members).
    assert ok(await stack.activity.get("/v1/tracking-calls", headers=stack.agent(called)))["rows"] == []
