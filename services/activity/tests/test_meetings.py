"""Team meetings through the service's API: recording with host and roll, the rotation of morning-meeting
hosts, corrections with versions, who may read a meeting, and the weekly minimum of morning/evening
meetings per team."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from activity_service.teams import Member, Team
from svckit.scope import DataScope
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .conftest import Stack, company, hire
from .test_plans import feed_events


async def team(stack: Stack) -> tuple[Any, int, list[int]]:
    c = await company(stack.org)
    manager = await hire(stack.org, c, "department_manager")
    agents = [await hire(stack.org, c, "agent", manager) for _ in range(3)]
    await stack.sync()
    return c, manager, agents


def roll(present: list[int], absent: tuple[int, ...] = (), excused: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    return ([{"agent_id": a, "status": "present"} for a in present]
            + [{"agent_id": a, "status": "absent"} for a in absent]
            + [{"agent_id": a, "status": "excused", "note": "sick leave"} for a in excused])


async def test_morning_meetings_rotate_hosts_and_keep_the_roll(stack: Stack) -> None:
    c, manager, (a1, a2, a3) = await team(stack)
    boss = stack.agent(manager, supervisor=True)
    today = business_date(utcnow())
    first = ok(await stack.activity.get(f"/v1/teams/{c.department}/next-host", headers=boss))
    assert first["agent_id"] == a1
    assert [t["agent_id"] for t in first["rotation"]] == [a1, a2, a3]
    body = {"team_id": c.department, "kind": "morning", "held_on": today.isoformat(), "host_agent_id": a1,
            "minutes": "分享昨日拜访,布置今日5-3-1", "decisions": ["本周产说会定在周四"],
            "attendance": roll([manager, a1], absent=(a2,), excused=(a3,))}
    meeting = ok(await stack.activity.post("/v1/meetings", json=body, headers=boss), 201)
    assert (meeting["leader_agent_id"], meeting["version"]) == (manager, 1)
    assert {a["agent_id"]: a["status"] for a in meeting["attendance"]} == {
        manager: "present", a1: "present", a2: "absent", a3: "excused"}
    problem(await stack.activity.post("/v1/meetings", json=body, headers=boss), 409, "meeting_exists")
    turn = ok(await stack.activity.get(f"/v1/teams/{c.department}/next-host", headers=stack.agent(a1)))
    assert turn["agent_id"] == a2
    assert turn["rotation"][-1] == {"agent_id": a1, "last_hosted_on": today.isoformat()}
    # The host records their own evening meeting; the next turn moves on.
    evening = {**body, "kind": "evening", "host_agent_id": a2, "attendance": roll([manager, a1, a2, a3])}
    problem(await stack.activity.post("/v1/meetings", json=evening, headers=stack.agent(a3)), 403,
            "not_meeting_recorder")
    ok(await stack.activity.post("/v1/meetings", json=evening, headers=stack.agent(a2)), 201)
    assert ok(await stack.activity.get(f"/v1/teams/{c.department}/next-host", headers=boss))["agent_id"] == a3
    told = [e["payload"] for e in await feed_events(stack, "meeting.held") if e["payload"]["team_id"] == c.department]
    assert [(e["kind"], e["host_agent_id"], e["absent"], e["excused"]) for e in told] == [
        ("morning", a1, [a2], [a3]), ("evening", a2, [], [])]

    # Bad records are refused with the field and the rule.
    _, stranger, (outsider, *_) = await team(stack)
    cases = [
        ({**body, "held_on": (today + timedelta(days=1)).isoformat()}, "meeting_in_future", "held_on"),
        ({**body, "kind": "weekly"}, "host_not_supervisor", "host_agent_id"),
        ({**body, "kind": "weekly", "host_agent_id": outsider}, "host_not_in_team", "host_agent_id"),
        ({**body, "kind": "weekly", "host_agent_id": manager, "attendance": roll([manager, a1, a2])},
         "attendance_incomplete", "attendance"),
        ({**body, "kind": "weekly", "host_agent_id": manager,
          "attendance": roll([a1, a2, a3, outsider], absent=(manager,))}, "attendee_not_in_team",
         "attendance.3.agent_id"),
        ({**body, "kind": "weekly", "host_agent_id": manager, "attendance": roll([a1, a2, a3], absent=(manager,))},
         "host_absent", "host_agent_id"),
    ]
    for case, code, field in cases:
        assert problem(await stack.activity.post("/v1/meetings", json=case, headers=boss), 422, code)["field"] == field
    # Another company's supervisor does not even see the team.
    problem(await stack.activity.post("/v1/meetings", json={**body, "kind": "weekly", "host_agent_id": manager},
                                      headers=stack.agent(stranger, supervisor=True)), 404, "team_not_found")
    problem(await stack.activity.get(f"/v1/teams/{c.department}/next-host",
                                     headers=stack.agent(stranger, supervisor=True)), 404, "team_not_found")

    # Members on the roll read the minutes; nobody outside does. Corrections carry the version.
    assert ok(await stack.activity.get(f"/v1/meetings/{meeting['id']}", headers=stack.agent(a2)))["minutes"]
    problem(await stack.activity.get(f"/v1/meetings/{meeting['id']}", headers=stack.agent(outsider)), 404,
            "meeting_not_found")
    staff = stack.as_user(DataScope(institutions=frozenset({c.office})), "back_office")
    assert {m["kind"] for m in ok(await stack.activity.get("/v1/meetings", headers=staff))["items"]} == {
        "morning", "evening"}
    assert ok(await stack.activity.get("/v1/meetings", headers=stack.agent(outsider)))["items"] == []
    fixed = ok(await stack.activity.put(f"/v1/meetings/{meeting['id']}", json={
        "version": 1, "minutes": body["minutes"], "decisions": body["decisions"],
        "attendance": roll([manager, a1, a2], excused=(a3,))}, headers=boss))
    assert fixed["version"] == 2
    assert {a["agent_id"]: a["status"] for a in fixed["attendance"]}[a2] == "present"
    stale = problem(await stack.activity.put(f"/v1/meetings/{meeting['id']}", json={
        "version": 1, "minutes": "x", "attendance": roll([manager, a1, a2, a3])}, headers=boss), 409,
        "version_conflict")
    assert stale["current_version"] == 2


async def test_teams_below_two_morning_or_evening_meetings_a_week_are_reported(stack: Stack) -> None:
    c, manager, (a1, a2, a3) = await team(stack)
    other, other_manager, other_agents = await team(stack)
    today = business_date(utcnow())
    everyone = [manager, a1, a2, a3]
    for kind, host in (("morning", a1), ("evening", a2)):
        ok(await stack.activity.post("/v1/meetings", json={
            "team_id": c.department, "kind": kind, "held_on": today.isoformat(), "host_agent_id": host,
            "attendance": roll(everyone)}, headers=stack.agent(manager, supervisor=True)), 201)
    ok(await stack.activity.post("/v1/meetings", json={
        "team_id": other.department, "kind": "morning", "held_on": today.isoformat(),
        "host_agent_id": other_agents[0], "attendance": roll([other_manager, *other_agents])},
        headers=stack.agent(other_manager, supervisor=True)), 201)
    # A weekly meeting is not a morning/evening meeting: it does not count toward the norm.
    ok(await stack.activity.post("/v1/meetings", json={
        "team_id": other.department, "kind": "weekly", "held_on": today.isoformat(), "host_agent_id": other_manager,
        "attendance": roll([other_manager, *other_agents])}, headers=stack.agent(other_manager, supervisor=True)), 201)

    mine = ok(await stack.activity.get("/v1/meeting-norms", headers=stack.agent(manager, supervisor=True)))
    assert mine["minimum"] == 2
    assert [(r["team_id"], r["held"], r["below"]) for r in mine["rows"]] == [(c.department, 2, False)]
    theirs = ok(await stack.activity.get("/v1/meeting-norms", params={"below_only": True},
                                         headers=stack.agent(other_manager, supervisor=True)))
    assert [(r["team_id"], r["held"], r["below"]) for r in theirs["rows"]] == [(other.department, 1, True)]
    last_week = ok(await stack.activity.get("/v1/meeting-norms", params={
        "on": (today - timedelta(days=7)).isoformat(), "below_only": True},
        headers=stack.agent(manager, supervisor=True)))
    assert last_week["complete"] is True
    assert [(r["team_id"], r["held"]) for r in last_week["rows"]] == [(c.department, 0)]
    # Back office of both offices sees both teams; an agent is not shown the report.
    staff = stack.as_user(DataScope(institutions=frozenset({c.office, other.office})), "back_office")
    both = ok(await stack.activity.get("/v1/meeting-norms", params={"below_only": True}, headers=staff))
    assert [r["team_id"] for r in both["rows"]] == [other.department]
    problem(await stack.activity.get("/v1/meeting-norms", headers=stack.agent(a1)), 403, "role_required")
    # A group leader inside the department answers for the teams they head, not for the department.
    leader = await hire(stack.org, c, "supervisor", manager)
    await stack.sync()
    assert ok(await stack.activity.get("/v1/meeting-norms", headers=stack.agent(leader, supervisor=True)))[
        "rows"] == []
    problem(await stack.activity.get("/v1/meeting-norms", params={"on": (today + timedelta(days=8)).isoformat()},
                                     headers=stack.agent(manager, supervisor=True)), 422, "period_in_future")


def test_a_teams_supervisor_is_the_member_nobody_else_stands_above() -> None:
    # 1 heads the department; 2 leads a group inside it (3 below them); 4 reports to 1.
    members = (Member(1, (9,), 5), Member(2, (9, 1), 5), Member(3, (9, 1, 2), 5), Member(4, (9, 1), 5))
    team = Team(7, members)
    assert team.supervisors == [1]
    assert team.agents == [2, 3, 4]
    assert team.institution_id == 5
    assert Team(8, (Member(6, (9,), 5),)).agents == [6]  # alone, the supervisor hosts
