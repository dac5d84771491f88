"""Plans and reviews through the service's API: weekly review sheets with their actual numbers from the
log, monthly records with the target split into working weeks, team plans by the team's supervisor,
review as a recorded act, deadlines as rules, the overdue lists, and who may see which sheet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from activity_service import plans
from activity_service.app import create_app as create_activity
from activity_service.models import DIRECTORY, PLATFORM_TABLES
from activity_service.rules import PlanDeadlines
from activity_service.settings import ActivitySettings
from org_service.app import create_app as create_org
from org_service.settings import OrgSettings
from performance_service.app import create_app as create_performance
from performance_service.settings import PerformanceSettings
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers, running
from svckit.testing.org import org_replica
from svckit.testing.plugin import StackDatabase
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .conftest import Stack, company, hire
from .test_activity_log import at, entry


async def team(stack: Stack) -> tuple[Any, int, int, int]:
    c = await company(stack.org)
    manager = await hire(stack.org, c, "department_manager")
    a1 = await hire(stack.org, c, "agent", manager)
    a2 = await hire(stack.org, c, "agent", manager)
    await stack.sync()
    return c, manager, a1, a2


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def feed_events(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    headers = internal_headers(stack.secret, "activity", caller_service="performance", user_id=None)
    events, cursor = [], None
    while True:
        page = ok(await stack.activity.get("/internal/feed", params={"after": cursor or "", "limit": 1000},
                                           headers=headers))
        events += [e for e in page["events"] if e["type"] == event_type]
        if not page["events"]:
            return events
        cursor = page["next_cursor"]


async def test_a_weekly_review_is_submitted_returned_resubmitted_and_approved_with_its_history(stack: Stack) -> None:
    _, manager, agent, peer = await team(stack)
    today = business_date(utcnow())
    week = monday(today)
    ok(await stack.activity.post("/v1/entries/sync", json={"entries": [
        entry("interview", at(today, 0, 5)), entry("phone_appointment", at(today, 0, 6))]},
        headers=stack.agent(agent)))
    me, boss = stack.agent(agent), stack.agent(manager, supervisor=True)
    body = {"kind": "weekly_review", "period_start": week.isoformat(), "planned": {"interview": 15, "visits": 25},
            "summary": "两次面谈", "plan": "下周约访十位老客户"}
    sheet = ok(await stack.activity.post("/v1/plans", json=body, headers=me), 201)
    assert (sheet["status"], sheet["version"], sheet["agent_id"]) == ("draft", 1, agent)
    assert sheet["actual"]["interview"] >= 1
    assert sheet["actual"]["visits"] >= 1
    assert sheet["due_on"] == (week + timedelta(days=7)).isoformat()  # the Monday after (rule plan_deadlines)
    problem(await stack.activity.post("/v1/plans", json=body, headers=me), 409, "sheet_exists")
    bad = problem(await stack.activity.post("/v1/plans", json={**body, "period_start": (week + timedelta(days=1))
                                                              .isoformat()}, headers=me), 422, "period_start_invalid")
    assert bad["field"] == "period_start"
    problem(await stack.activity.post("/v1/plans", json={**body, "period_start": (week + timedelta(days=14))
                                                        .isoformat()}, headers=me), 422, "period_too_far")
    problem(await stack.activity.post("/v1/plans", json={**body, "planned": {"juggling": 1},
                                                        "period_start": (week + timedelta(days=7)).isoformat()},
                                      headers=me), 422,
            "unknown_kind")
    sid = sheet["id"]
    # Nobody else edits or submits it; another agent does not even see it.
    problem(await stack.activity.put(f"/v1/plans/{sid}", json={"version": 1, "planned": {}}, headers=boss), 403,
            "not_the_author")
    problem(await stack.activity.get(f"/v1/plans/{sid}", headers=stack.agent(peer)), 404, "sheet_not_found")
    # The author submits; a supervisor returns it with a comment, the author reworks and resubmits.
    submitted = ok(await stack.activity.post(f"/v1/plans/{sid}/submit", json={"version": 1}, headers=me))
    assert submitted["status"] == "submitted"
    self_review = {"version": 2, "decision": "approve", "comment": "好"}
    problem(await stack.activity.post(f"/v1/plans/{sid}/review", json=self_review,
                                      headers=stack.agent(agent, supervisor=True)), 403, "not_a_reviewer")
    problem(await stack.activity.put(f"/v1/plans/{sid}", json={"version": 2, "planned": {"interview": 1}},
                                     headers=me), 409, "sheet_not_editable")
    returned = ok(await stack.activity.post(f"/v1/plans/{sid}/review", json={
        "version": 2, "decision": "return", "comment": "下周计划不够具体,请写明拜访对象"}, headers=boss))
    assert returned["status"] == "returned"
    stale = problem(await stack.activity.put(f"/v1/plans/{sid}", json={"version": 2, "planned": {"interview": 12}},
                                             headers=me), 409, "version_conflict")
    assert stale["current_version"] == 3
    ok(await stack.activity.put(f"/v1/plans/{sid}", json={**{k: body[k] for k in ("planned", "summary")},
                                                          "plan": "周二拜访王总,周四拜访李总", "version": 3},
                                headers=me))
    ok(await stack.activity.post(f"/v1/plans/{sid}/submit", json={"version": 4}, headers=me))
    approved = ok(await stack.activity.post(f"/v1/plans/{sid}/review", json={
        "version": 5, "decision": "approve", "comment": "计划可行,注意下午电话追踪"}, headers=boss))
    assert approved["status"] == "approved"
    assert [(a["act"], a["actor_agent_id"]) for a in approved["acts"]] == [
        ("submitted", agent), ("returned", manager), ("submitted", agent), ("approved", manager)]
    assert approved["acts"][1]["comment"].startswith("下周计划")
    problem(await stack.activity.post(f"/v1/plans/{sid}/review", json={"version": 6, "decision": "approve",
                                                                      "comment": "again"}, headers=boss), 409,
            "not_awaiting_review")
    # A supervisor of another company does not see it; the author's supervisor finds it in their list.
    _, stranger, _, _ = await team(stack)
    problem(await stack.activity.get(f"/v1/plans/{sid}", headers=stack.agent(stranger, supervisor=True)), 404,
            "sheet_not_found")
    listed = ok(await stack.activity.get("/v1/plans", params={"agent_id": agent}, headers=boss))
    assert [s["id"] for s in listed["items"]] == [sid]
    assert ok(await stack.activity.get("/v1/plans", params={"agent_id": agent},
                                       headers=stack.agent(peer)))["items"] == []
    # Performance learns of each submission and review from the change feed.
    submitted_events = [e for e in await feed_events(stack, "plan.submitted") if e["aggregate_id"] == str(sid)]
    reviewed = [e["payload"]["decision"] for e in await feed_events(stack, "plan.reviewed")
                if e["aggregate_id"] == str(sid)]
    assert len(submitted_events) == 2
    assert reviewed == ["returned", "approved"]


async def test_a_monthly_record_splits_its_target_into_working_weeks(stack: Stack) -> None:
    _, _, agent, _ = await team(stack)
    me = stack.agent(agent)
    first = business_date(utcnow()).replace(day=1)
    body = {"kind": "monthly_record", "period_start": first.isoformat(), "planned": {"closing_visit": 20},
            "summary": "上月完成保费八万", "plan": "本月主攻A类客户", "target": "100000.00",
            "calendar": [{"day": first.isoformat(), "plan": "月初启动会"}]}
    sheet = ok(await stack.activity.post("/v1/plans", json=body, headers=me), 201)
    parts = sheet["split"]
    assert parts
    assert sum(Decimal(p["target"]) for p in parts) == Decimal("100000.00")
    assert all(p["working_days"] > 0 for p in parts)
    assert first.isoformat() <= parts[0]["start"]
    assert parts[-1]["end"][:7] == first.isoformat()[:7]
    assert all(date.fromisoformat(p["start"]).weekday() == 0 for p in parts[1:])  # Monday–Sunday weeks
    # The team's target lives in performance, which offers no team-target endpoint yet: not checked.
    assert sheet["target_checked"] is False
    assert sheet["due_on"] == first.replace(day=5).isoformat()
    given = [{k: p[k] for k in ("start", "end", "target")} for p in parts]
    wrong_total = [{**given[0], "target": str(Decimal(given[0]["target"]) + 1)}, *given[1:]]
    edit = {k: v for k, v in body.items() if k not in ("kind", "period_start")} | {"version": 1}
    problem(await stack.activity.put(f"/v1/plans/{sheet['id']}", json={**edit, "split": wrong_total}, headers=me),
            422, "split_total")
    problem(await stack.activity.put(f"/v1/plans/{sheet['id']}", json={**edit, "split": given[1:]}, headers=me),
            422, "split_parts")
    outside = problem(await stack.activity.put(f"/v1/plans/{sheet['id']}", json={
        **edit, "calendar": [{"day": (first - timedelta(days=1)).isoformat(), "plan": "x"}]}, headers=me), 422,
        "day_outside_period")
    assert outside["field"] == "calendar.0.day"
    kept = ok(await stack.activity.put(f"/v1/plans/{sheet['id']}", json={**edit, "split": given}, headers=me))
    assert kept["version"] == 2
    assert kept["split"] == parts
    # A weekly sheet has no premium target; a monthly one cannot be submitted without its plan.
    problem(await stack.activity.post("/v1/plans", json={"kind": "weekly_review", "period_start":
                                                         monday(first).isoformat(), "target": "1"},
                                      headers=me), 422, "target_not_expected")
    emptied = ok(await stack.activity.put(f"/v1/plans/{sheet['id']}", json={**edit, "version": 2, "plan": None},
                                          headers=me))
    missing = problem(await stack.activity.post(f"/v1/plans/{sheet['id']}/submit",
                                                json={"version": emptied["version"]}, headers=me), 422,
                      "sheet_incomplete")
    assert missing["field"] == "plan"


async def test_team_plans_are_the_supervisors_and_the_overdue_lists_follow_scope(stack: Stack) -> None:
    c, manager, agent, peer = await team(stack)
    boss, me = stack.agent(manager, supervisor=True), stack.agent(agent)
    today = business_date(utcnow())
    month = today.replace(day=1)
    plan = {"kind": "team_monthly_plan", "period_start": month.isoformat(), "team_id": c.department,
            "planned": {"interview": 120}, "plan": "两次产说会,每人每周三个促成", "target": "500000"}
    problem(await stack.activity.post("/v1/plans", json=plan, headers=me), 403, "not_team_supervisor")
    _, stranger, _, _ = await team(stack)
    problem(await stack.activity.post("/v1/plans", json=plan, headers=stack.agent(stranger, supervisor=True)), 404,
            "team_not_found")
    problem(await stack.activity.post("/v1/plans", json={**plan, "team_id": None}, headers=boss), 422,
            "team_required")
    team_plan = ok(await stack.activity.post("/v1/plans", json=plan, headers=boss), 201)
    assert (team_plan["team_id"], team_plan["agent_id"]) == (c.department, manager)
    assert team_plan["target_checked"] is False
    # The team's members read their team's plan; they do not write it, and another team's agent sees nothing.
    assert ok(await stack.activity.get(f"/v1/plans/{team_plan['id']}", headers=me))["plan"] == plan["plan"]
    problem(await stack.activity.post(f"/v1/plans/{team_plan['id']}/submit", json={"version": 1}, headers=me), 403,
            "not_the_author")
    _, _, outsider, _ = await team(stack)
    problem(await stack.activity.get(f"/v1/plans/{team_plan['id']}", headers=stack.agent(outsider)), 404,
            "sheet_not_found")

    overdue = ok(await stack.activity.get("/v1/plans/overdue", headers=boss))
    periods = {p["kind"]: p for p in overdue["periods"]}
    assert set(periods) == {"weekly_review", "monthly_record", "team_monthly_plan", "team_annual_plan"}
    assert all(p["due_on"] < today.isoformat() for p in periods.values())
    late = {(o["kind"], o["agent_id"]) for o in overdue["overdue"]}
    for person in (manager, agent, peer):
        assert ("weekly_review", person) in late
        assert ("monthly_record", person) in late
    team_rows = [o for o in overdue["overdue"] if o["team_id"] == c.department and o["kind"].startswith("team_")]
    assert {(o["kind"], o["agent_id"]) for o in team_rows} >= {("team_annual_plan", manager)}

    # The agent hands in the overdue weekly sheet: off the overdue list, onto the supervisor's review list.
    week = periods["weekly_review"]["period_start"]
    sheet = ok(await stack.activity.post("/v1/plans", json={"kind": "weekly_review", "period_start": week,
                                                            "planned": {"interview": 15}, "summary": "迟交",
                                                            "plan": "补课"}, headers=me), 201)
    ok(await stack.activity.post(f"/v1/plans/{sheet['id']}/submit", json={"version": 1}, headers=me))
    overdue = ok(await stack.activity.get("/v1/plans/overdue", headers=boss))
    late = {(o["kind"], o["agent_id"]) for o in overdue["overdue"]}
    assert ("weekly_review", agent) not in late
    assert ("weekly_review", peer) in late
    assert [s["id"] for s in overdue["awaiting_review"]] == [sheet["id"]]
    late_event = [e for e in await feed_events(stack, "plan.submitted") if e["aggregate_id"] == str(sheet["id"])]
    assert late_event[0]["payload"]["late"] is True
    # Returned for rework, it is overdue again until handed in anew.
    ok(await stack.activity.post(f"/v1/plans/{sheet['id']}/review", json={"version": 2, "decision": "return",
                                                                          "comment": "总结太简单"}, headers=boss))
    overdue = ok(await stack.activity.get("/v1/plans/overdue", headers=boss))
    assert {(o["agent_id"], o["status"]) for o in overdue["overdue"] if o["kind"] == "weekly_review"} >= {
        (agent, "returned"), (peer, "missing")}
    assert overdue["awaiting_review"] == []
    ok(await stack.activity.put(f"/v1/plans/{sheet['id']}", json={"version": 3, "planned": {"interview": 15},
                                                                  "summary": "本周面谈十二次", "plan": "补课"},
                                headers=me))
    ok(await stack.activity.post(f"/v1/plans/{sheet['id']}/submit", json={"version": 4}, headers=me))

    # Back office of the institution sees the same; another company's supervisor none of it; agents nothing.
    staff = stack.as_user(DataScope(institutions=frozenset({c.office})), "back_office")
    seen = ok(await stack.activity.get("/v1/plans/overdue", headers=staff))
    assert {o["agent_id"] for o in seen["overdue"] if o["kind"] == "weekly_review"} == {manager, peer}
    assert [s["id"] for s in seen["awaiting_review"]] == [sheet["id"]]
    _, stranger, _, _ = await team(stack)
    other = ok(await stack.activity.get("/v1/plans/overdue", headers=stack.agent(stranger, supervisor=True)))
    assert not {o["agent_id"] for o in other["overdue"]} & {manager, agent, peer}
    assert other["awaiting_review"] == []
    problem(await stack.activity.get("/v1/plans/overdue", headers=me), 403, "role_required")
    # The top supervisor of the office has nobody above: the institution's back office reviews the team plan.
    ok(await stack.activity.post(f"/v1/plans/{team_plan['id']}/submit", json={"version": 1}, headers=boss))
    problem(await stack.activity.post(f"/v1/plans/{team_plan['id']}/review", json={
        "version": 2, "decision": "approve", "comment": "同意"}, headers=boss), 403, "not_a_reviewer")
    reviewed = ok(await stack.activity.post(f"/v1/plans/{team_plan['id']}/review", json={
        "version": 2, "decision": "approve", "comment": "同意,注意产说会预算"}, headers=staff))
    assert reviewed["status"] == "approved"


async def test_deadlines_are_rules_as_data(stack: Stack) -> None:
    c, manager, _, _ = await team(stack)
    admin = stack.as_user(DataScope(everything=True), "admin")
    [seeded] = ok(await stack.activity.get("/v1/rules/plan_deadlines", headers=admin))
    assert seeded["value"]["team_monthly_plan_due_day"] == 5
    assert seeded["value"]["annual_plan_before"] == "01-10"
    assert ok(await stack.activity.get("/v1/rules/meeting_norms", headers=admin))[0]["value"] == {
        "morning_evening_per_week": 2}
    next_year = date(business_date(utcnow()).year + 1, 1, 1)
    ok(await stack.activity.post("/v1/rules/plan_deadlines", json={"valid_from": next_year.isoformat(), "value": {
        **seeded["value"], "annual_plan_before": "01-20"}}, headers=admin), 201)
    problem(await stack.activity.post("/v1/rules/plan_deadlines", json={
        "valid_from": (next_year + timedelta(days=1)).isoformat(),
        "value": {**seeded["value"], "annual_plan_before": "02-30"}}, headers=admin), 422, "invalid_rule_value")
    annual = ok(await stack.activity.post("/v1/plans", json={
        "kind": "team_annual_plan", "period_start": next_year.isoformat(), "team_id": c.department,
        "planned": {"recruiting_visit": 50}, "plan": "年度任务分解到月", "target": "6000000"},
        headers=stack.agent(manager, supervisor=True)), 201)
    assert annual["due_on"] == date(next_year.year, 1, 19).isoformat()
    assert len(annual["split"]) == 12
    assert sum(Decimal(p["target"]) for p in annual["split"]) == Decimal("6000000")


async def test_two_devices_starting_the_same_sheet_at_once_get_one_sheet(stack: Stack) -> None:
    _, _, agent, _ = await team(stack)
    body = {"kind": "monthly_record", "period_start": business_date(utcnow()).replace(day=1).isoformat(),
            "planned": {"interview": 60}, "target": "80000"}
    first, second = await asyncio.gather(*(stack.activity.post("/v1/plans", json=body, headers=stack.agent(agent))
                                           for _ in range(2)))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    refused = first if first.status_code == 409 else second
    assert refused.json()["code"] == "sheet_exists"
    listed = ok(await stack.activity.get("/v1/plans", params={"kind": "monthly_record"}, headers=stack.agent(agent)))
    assert len(listed["items"]) == 1


RULE = PlanDeadlines(weekly_review_due_weekday=0, weekly_review_week_offset=1, monthly_record_due_day=5,
                     team_monthly_plan_due_day=5, annual_plan_before="01-10")


def test_deadlines_and_the_latest_period_due() -> None:
    assert plans.due_on("weekly_review", date(2026, 11, 23), RULE) == date(2026, 11, 30)
    assert plans.due_on("team_monthly_plan", date(2026, 11, 1), RULE) == date(2026, 11, 5)
    assert plans.due_on("team_annual_plan", date(2026, 1, 1), RULE) == date(2026, 1, 9)
    # On the day a sheet is due it is not late yet: the latest period overdue is the one before.
    assert plans.last_due_period("weekly_review", date(2026, 11, 30), RULE)[0] == date(2026, 11, 16)
    assert plans.last_due_period("weekly_review", date(2026, 12, 1), RULE)[0] == date(2026, 11, 23)
    assert plans.last_due_period("monthly_record", date(2026, 11, 5), RULE)[0] == date(2026, 10, 1)
    assert plans.last_due_period("monthly_record", date(2026, 11, 6), RULE)[0] == date(2026, 11, 1)
    assert plans.last_due_period("team_annual_plan", date(2026, 1, 9), RULE)[0] == date(2025, 1, 1)
    assert plans.last_due_period("team_annual_plan", date(2026, 1, 10), RULE)[0] == date(2026, 1, 1)
    same_week = RULE.model_copy(update={"weekly_review_due_weekday": 5, "weekly_review_week_offset": 0})
    assert plans.due_on("weekly_review", date(2026, 11, 23), same_week) == date(2026, 11, 28)


def test_a_month_splits_into_its_working_weeks_holidays_and_make_up_days_included() -> None:
    # October 2025: 1–8 National Day and Mid-Autumn holidays, Saturday 11 October a make-up working day.
    parts = plans.parts_of("monthly_record", date(2025, 10, 1), date(2025, 10, 31))
    assert parts == [(date(2025, 10, 6), date(2025, 10, 12), 3), (date(2025, 10, 13), date(2025, 10, 19), 5),
                     (date(2025, 10, 20), date(2025, 10, 26), 5), (date(2025, 10, 27), date(2025, 10, 31), 5)]
    assert len(plans.parts_of("team_annual_plan", date(2025, 1, 1), date(2025, 12, 31))) == 12
    assert plans.parts_of("weekly_review", date(2025, 10, 6), date(2025, 10, 12)) == []


@pytest.fixture
async def with_targets(stack_db: StackDatabase, internal_secret: str
                       ) -> AsyncIterator[tuple[Stack, httpx.AsyncClient]]:
    """The stack with the real performance app beside activity: activity asks it for team targets over ASGI."""
    org_app = create_org(OrgSettings(database_url=stack_db.dsn("org"), INTERNAL_TOKEN_SECRET=internal_secret))
    performance_app = create_performance(PerformanceSettings(database_url=stack_db.dsn("performance"),
                                                             INTERNAL_TOKEN_SECRET=internal_secret), follow=False)
    activity_app = create_activity(
        ActivitySettings(database_url=stack_db.dsn("activity"), INTERNAL_TOKEN_SECRET=internal_secret,
                         org_url="http://org.test", performance_url="http://performance.test"),
        org_transport=httpx.ASGITransport(app=org_app), start_workers=False,
        performance_transport=httpx.ASGITransport(app=performance_app))
    async with running(org_app, "http://org.test") as org, \
            running(performance_app, "http://performance.test") as performance, \
            running(activity_app, "http://activity.test") as activity:
        org.headers.update(internal_headers(internal_secret, "org", username="hq-admin", roles=frozenset({"admin"})))
        performance.headers.update(internal_headers(internal_secret, "performance", username="marketing",
                                                    roles=frozenset({"marketing_management"}),
                                                    scope=DataScope(everything=True)))
        async with org_replica(org_app, activity_app.state.kit, "activity", PLATFORM_TABLES, DIRECTORY,
                               internal_secret) as drain:
            yield Stack(org, activity, internal_secret, drain), performance


async def test_team_plans_agree_with_the_teams_target_in_performance(
        with_targets: tuple[Stack, httpx.AsyncClient]) -> None:
    stack, performance = with_targets
    c, manager, _, _ = await team(stack)
    boss = stack.agent(manager, supervisor=True)
    month = business_date(utcnow()).replace(day=1)
    target = ok(await performance.post("/v1/targets", json={
        "team_id": c.department, "institution_id": c.office, "year": month.year, "metric": "premium",
        "amount": "1200000.00"}), 201)
    share = next(Decimal(s["amount"]) for s in target["shares"] if s["level"] == "month"
                 and s["key"] == f"{month.year:04d}-{month.month:02d}")
    plan = {"kind": "team_monthly_plan", "period_start": month.isoformat(), "team_id": c.department,
            "planned": {"interview": 120}, "plan": "产说会两场", "target": str(share + 1)}
    refused = problem(await stack.activity.post("/v1/plans", json=plan, headers=boss), 422, "target_disagrees")
    assert refused["field"] == "target"
    assert Decimal(refused["team_target"]) == share
    agreed = ok(await stack.activity.post("/v1/plans", json={**plan, "target": str(share)}, headers=boss), 201)
    assert agreed["target_checked"] is True
    annual = ok(await stack.activity.post("/v1/plans", json={
        **plan, "kind": "team_annual_plan", "period_start": date(month.year, 1, 1).isoformat(),
        "target": "1200000.00"}, headers=boss), 201)
    assert annual["target_checked"] is True
    # A team without a target in performance keeps its plan's target, unchecked — never passed off as checked.
    other, other_manager, _, _ = await team(stack)
    unchecked = ok(await stack.activity.post("/v1/plans", json={**plan, "team_id": other.department},
                                             headers=stack.agent(other_manager, supervisor=True)), 201)
    assert unchecked["target_checked"] is False
    # Once checked, an edit to a disagreeing target is refused too; the submission checks again.
    problem(await stack.activity.put(f"/v1/plans/{agreed['id']}", json={
        "version": 1, "planned": plan["planned"], "plan": plan["plan"], "target": "1.00"}, headers=boss), 422,
        "target_disagrees")
    submitted = ok(await stack.activity.post(f"/v1/plans/{agreed['id']}/submit", json={"version": 1}, headers=boss))
    assert submitted["target_checked"] is True
