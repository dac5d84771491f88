"""The team change workflow through the API, on a real database: standards, the approval chain, execution
on the effective date through the effective-dated model, and what is recorded on the way."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from svckit.db import async_url
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers
from svckit.testing.plugin import StackDatabase

from .test_org_api import Company, chain, company, hire, ok, problem

PLAN = {"amount": "4000000.00", "currency": "CNY"}  # the seeded minimum under a marketing service office


@dataclass
class Staff:
    """The people of the chain, each assigned to their institution: the office's back office applies,
    the branch's marketing management reviews, the branch GM office approves, then HQ's marketing management."""

    applicant: dict[str, str]
    branch_mm: dict[str, str]
    branch_gm: dict[str, str]
    hq_mm: dict[str, str]


def person(secret: str, name: str, role: str, institution: int) -> dict[str, str]:
    return internal_headers(secret, "org", user_id=f"u-{name}", username=name, roles=frozenset({role}),
                            scope=DataScope(institutions=frozenset({institution})),
                            institutions=frozenset({institution}))


def staff(secret: str, c: Company) -> Staff:
    return Staff(person(secret, "hg-back-office", "back_office", c.office),
                 person(secret, "tj-marketing", "marketing_management", c.branch),
                 person(secret, "tj-gm", "gm_office", c.branch),
                 person(secret, "hq-marketing", "marketing_management", c.hq))


def create_body(c: Company, **extra: Any) -> dict[str, Any]:
    return {"kind": "create", "institution_id": c.office, "effective_on": "2026-01-01", "reason": "2025 assessment",
            "annual_premium_plan": PLAN, "planned_headcount": 6, **extra}


async def decide(org: httpx.AsyncClient, request_id: int, step: str, headers: dict[str, str] | None = None, *,
                 decision: str = "approve", comment: str | None = None) -> httpx.Response:
    return await org.post(f"/v1/team-changes/{request_id}/decisions", headers=headers,
                          json={"step": step, "decision": decision, "comment": comment or f"{step} {decision}s"})


async def approve_all(org: httpx.AsyncClient, request_id: int) -> dict[str, Any]:
    """Steps 2–4 as an admin (who may act on any step)."""
    body: dict[str, Any] = {}
    for step in ("branch_marketing_management", "branch_gm_office", "hq_marketing_management"):
        body = ok(await decide(org, request_id, step))
    return body


async def events(org: httpx.AsyncClient, secret: str) -> list[dict[str, Any]]:
    feed = internal_headers(secret, "org", caller_service="activity", user_id=None)
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(await org.get("/internal/feed", params={"after": cursor, "limit": 500}, headers=feed))
        if not page["events"]:
            return found
        found += page["events"]
        cursor = page["next_cursor"]


async def position(org: httpx.AsyncClient, agent: int, on: str) -> dict[str, Any]:
    return dict(ok(await org.get(f"/v1/agents/{agent}", params={"on": on}))["position"])


async def test_a_create_passes_all_four_steps_and_the_team_exists_from_its_date(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    submitted = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)
    rid = submitted["id"]
    assert (submitted["status"], submitted["current_step"], submitted["requester"]) == (
        "submitted", "branch_marketing_management", "hg-back-office")
    assert submitted["standard"]["min_annual_premium_plan"] == "4000000.00"
    assert [(st["step"], st["role"], st["state"]) for st in submitted["steps"]] == [
        ("institution", None, "approved"), ("branch_marketing_management", "marketing_management", "current"),
        ("branch_gm_office", "gm_office", "pending"), ("hq_marketing_management", "marketing_management", "pending")]
    assert submitted["steps"][0]["decision"]["actor"] == "hg-back-office"

    before = datetime.now().astimezone()
    ok(await decide(org, rid, "branch_marketing_management", s.branch_mm, comment="plan credible"))
    review = ok(await decide(org, rid, "branch_gm_office", s.branch_gm, comment="agreed"))
    assert (review["status"], review["current_step"], review["result"]) == ("in_review", "hq_marketing_management",
                                                                             None)
    done = ok(await decide(org, rid, "hq_marketing_management", s.hq_mm, comment="confirmed 确认"))
    after = datetime.now().astimezone() + timedelta(seconds=1)
    assert (done["status"], done["current_step"], done["closed_by"]) == ("executed", None, "hq-marketing")

    decisions = [st["decision"] for st in done["steps"]]
    assert [(d["actor"], d["role"], d["comment"]) for d in decisions[1:]] == [
        ("tj-marketing", "marketing_management", "plan credible"), ("tj-gm", "gm_office", "agreed"),
        ("hq-marketing", "marketing_management", "confirmed 确认")]
    for d in decisions[1:]:
        decided_at = datetime.fromisoformat(d["decided_at"])
        assert decided_at.utcoffset() == timedelta(0)
        assert before <= decided_at <= after
    assert ok(await org.get(f"/v1/team-changes/{rid}")) == done

    team = ok(await org.get(f"/v1/teams/{done['result']['team_id']}"))
    assert (team["valid_from"], team["name"]) == ("2026-01-01", f"{c.branch_name}汉沽营销服务部业务二部")
    too_early = await org.post("/v1/agents", json={
        "code": f"A-{secrets.token_hex(4)}", "name": "x", "licence_no": f"L-{secrets.token_hex(4)}",
        "hire_date": "2025-12-31", "institution_id": c.office, "team_id": team["id"], "rank_code": "agent"})
    problem(too_early, 409, "team_dissolved")
    assert (await hire(org, c, "agent", on="2026-01-01", team_id=team["id"])) > 0

    mine = [e for e in await events(org, internal_secret)
            if e["aggregate_type"] == "team_change" and e["aggregate_id"] == str(rid)]
    assert [e["type"] for e in mine] == ["team_change.submitted"] + ["team_change.decided"] * 3 + [
        "team_change.executed"]
    assert mine[-1]["payload"]["result"] == {"team_id": team["id"]}


async def test_a_plan_below_the_standard_is_refused_with_the_rule_named(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    low = await org.post("/v1/team-changes", headers=s.applicant, json=create_body(
        c, annual_premium_plan={"amount": "3999999.99", "currency": "CNY"}))
    body = problem(low, 422, "premium_plan_below_standard")
    assert (body["field"], body["rule"], body["minimum"]) == (
        "annual_premium_plan.amount", "team_standard.min_annual_premium_plan", "4000000.00")
    small = problem(await org.post("/v1/team-changes", headers=s.applicant, json=create_body(c, planned_headcount=3)),
                    422, "headcount_below_standard")
    assert (small["field"], small["minimum"]) == ("planned_headcount", 4)
    problem(await org.post("/v1/team-changes", headers=s.applicant, json=create_body(
        c, annual_premium_plan={"amount": "5000000", "currency": "USD"})), 422, "currency_mismatch")
    floats = await org.post("/v1/team-changes", headers=s.applicant, json=create_body(
        c, annual_premium_plan={"amount": 4000000.5, "currency": "CNY"}))
    problem(floats, 422, "validation_failed")

    # A sales office 营业部 asks more: the same plan passes under a service office and fails under it.
    sales = ok(await org.post("/v1/institutions", json={
        "parent_id": c.branch, "kind": "sales_office", "tier": 3, "code": f"YY-{secrets.token_hex(3)}",
        "name": "营业部", "opened_on": "2020-01-01"}), 201)
    outside = await org.post("/v1/team-changes", headers=s.applicant, json=create_body(c, institution_id=sales["id"]))
    problem(outside, 422, "institution_not_found")  # a sibling office is outside the applicant's scope
    refused = await org.post("/v1/team-changes", json=create_body(c, institution_id=sales["id"]))
    assert problem(refused, 422, "premium_plan_below_standard")["minimum"] == "5000000.00"
    standards = ok(await org.get("/v1/team-standards", params={"on": "2026-01-01"}, headers=s.applicant))
    department = {row["institution_kind"]: row for row in standards if row["team_kind"] == "department"}
    assert department["sales_office"]["min_annual_premium_plan"] == {"amount": "5000000.00", "currency": "CNY"}
    assert department["sub_branch"]["min_headcount"] == 4
    nothing = ok(await org.get("/v1/team-changes", params={"institution_id": c.branch}))
    assert nothing == {"items": [], "next_cursor": None}


async def test_rejection_at_step_two_ends_the_request_and_creates_nothing(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    rid = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
    rejected = ok(await decide(org, rid, "branch_marketing_management", s.branch_mm, decision="reject",
                               comment="plan not credible"))
    assert (rejected["status"], rejected["current_step"], rejected["result"]) == ("rejected", None, None)
    assert [st["state"] for st in rejected["steps"]] == ["approved", "rejected", "not_reached", "not_reached"]
    assert rejected["steps"][1]["decision"]["comment"] == "plan not credible"
    problem(await decide(org, rid, "branch_gm_office", s.branch_gm), 409, "team_change_closed")
    problem(await org.post(f"/v1/team-changes/{rid}/cancel", headers=s.applicant), 409, "team_change_closed")

    everything = await events(org, internal_secret)
    created = [e for e in everything if e["type"] == "team.created" and e["payload"]["institution_id"] == c.office]
    assert [e["aggregate_id"] for e in created] == [str(c.department)]  # only the one company() made directly
    mine = [e["type"] for e in everything if e["aggregate_type"] == "team_change" and e["aggregate_id"] == str(rid)]
    assert mine == ["team_change.submitted", "team_change.decided"]


async def test_steps_are_decided_in_order_once_by_their_role_at_their_level(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    rid = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
    problem(await decide(org, rid, "branch_marketing_management", s.branch_gm), 403, "step_role_required")
    problem(await decide(org, rid, "branch_marketing_management", s.applicant), 403, "role_required")
    problem(await decide(org, rid, "branch_gm_office", s.branch_gm), 409, "step_not_current")
    problem(await decide(org, rid, "institution", s.branch_mm), 409, "step_already_decided")
    problem(await decide(org, rid, "ceo_office", s.branch_mm), 422, "unknown_step")
    elsewhere = person(internal_secret, "hb-marketing", "marketing_management", (await company(org)).branch)
    problem(await decide(org, rid, "branch_marketing_management", elsewhere), 404, "team_change_not_found")

    ok(await decide(org, rid, "branch_marketing_management", s.branch_mm))
    problem(await decide(org, rid, "branch_marketing_management", s.branch_mm), 409, "step_already_decided")
    ok(await decide(org, rid, "branch_gm_office", s.branch_gm))
    # The branch's marketing management holds the role of the last step but not at HQ.
    problem(await decide(org, rid, "hq_marketing_management", s.branch_mm), 403, "step_institution_required")
    current = ok(await org.get(f"/v1/team-changes/{rid}", headers=s.hq_mm))
    assert (current["status"], current["current_step"]) == ("in_review", "hq_marketing_management")


async def test_two_approvers_of_one_step_cannot_both_decide_it(
    org: httpx.AsyncClient, internal_secret: str, stack_db: StackDatabase
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    rid = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
    second = person(internal_secret, "tj-marketing-2", "marketing_management", c.branch)
    # Hold both approvers just before they read the decisions taken so far, then let them go together:
    # only the lock on the request stops the second from deciding the step again.
    engine = create_async_engine(async_url(stack_db.dsn("org")), poolclass=NullPool)
    try:
        async with engine.connect() as blocker:
            await blocker.execute(text("LOCK TABLE org.team_change_decision IN ACCESS EXCLUSIVE MODE"))
            racing = asyncio.ensure_future(asyncio.gather(
                decide(org, rid, "branch_marketing_management", s.branch_mm),
                decide(org, rid, "branch_marketing_management", second)))
            waiting = 0
            for _ in range(500):
                await blocker.execute(text("SELECT pg_stat_clear_snapshot()"))  # else one snapshot per transaction
                waiting = (await blocker.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND application_name = 'org'"))).scalar_one()
                if waiting == 2:
                    break
                await asyncio.sleep(0.01)
            assert waiting == 2
            await blocker.rollback()
            answers = await racing
    finally:
        await engine.dispose()
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["code"] == "step_already_decided"
    decided = ok(await org.get(f"/v1/team-changes/{rid}"))["steps"][1]["decision"]
    assert decided["actor"] == ("tj-marketing" if answers[0].status_code == 200 else "tj-marketing-2")


async def test_a_merge_moves_the_members_from_its_date_and_dissolves_the_source(org: httpx.AsyncClient) -> None:
    c = await company(org)
    target = ok(await org.post("/v1/teams", json={"institution_id": c.office, "valid_from": "2020-01-01"}), 201)["id"]
    leader = await hire(org, c, "department_manager", on="2023-01-01", team_id=target)
    top = await hire(org, c, "supervisor", on="2023-01-01")  # in the source team, c.department
    members = [top] + [await hire(org, c, "agent", top) for _ in range(3)]
    body = {"kind": "merge", "institution_id": c.office, "effective_on": "2025-01-01", "reason": "below standard",
            "target_team_id": target, "source_team_ids": [c.department], "annual_premium_plan": PLAN,
            "new_supervisor_id": leader}
    problem(await org.post("/v1/team-changes", json={**body, "source_team_ids": [target]}), 422,
            "target_among_sources")
    problem(await org.post("/v1/team-changes", json={**body, "effective_on": "2023-06-01"}), 409,
            "effective_date_before_history")
    rid = ok(await org.post("/v1/team-changes", json=body), 201)["id"]
    assert ok(await org.get(f"/v1/team-changes/{rid}"))["standard"]["team_kind"] == "department"
    done = await approve_all(org, rid)
    assert done["status"] == "executed"
    assert sorted(done["result"]["moved_agent_ids"]) == sorted(members)
    assert done["result"]["dissolved_team_ids"] == [c.department]

    a1 = members[1]
    assert await chain(org, a1, "2024-12-31") == [top]
    assert await chain(org, a1, "2025-01-01") == [top, leader]
    assert (await position(org, a1, "2024-12-31"))["team_id"] == c.department
    assert (await position(org, a1, "2025-01-01"))["team_id"] == target
    assert (await position(org, top, "2025-01-01"))["supervisor_id"] == leader
    source = ok(await org.get(f"/v1/teams/{c.department}"))
    assert source["valid_to"] == "2025-01-01"
    below = ok(await org.get(f"/v1/agents/{leader}/subtree", params={"on": "2025-01-01"}))
    assert below["headcount_by_rank"] == {"supervisor": 1, "agent": 3}
    assert ok(await org.get(f"/v1/agents/{leader}/subtree", params={"on": "2024-12-31"}))["headcount"] == 0


async def test_a_split_moves_the_listed_agents_and_everyone_below_them(org: httpx.AsyncClient) -> None:
    c = await company(org)
    director = await hire(org, c, "director", on="2023-01-01")
    manager = await hire(org, c, "department_manager", director, on="2023-01-01")
    stay = await hire(org, c, "supervisor", manager)
    stay_agent = await hire(org, c, "agent", stay)
    leaving = await hire(org, c, "supervisor", manager)
    followers = [await hire(org, c, "agent", leaving) for _ in range(3)]
    body = {"kind": "split", "institution_id": c.office, "effective_on": "2025-07-01", "reason": "grew too large",
            "source_team_id": c.department, "agent_ids": [leaving], "annual_premium_plan": PLAN,
            "new_supervisor_id": director}
    stranger = await hire(org, await company(org), "agent")
    not_member = problem(await org.post("/v1/team-changes", json={**body, "agent_ids": [leaving, stranger]}), 409,
                         "agent_not_in_team")
    assert (not_member["field"], not_member["agent_ids"]) == ("agent_ids", [stranger])
    problem(await org.post("/v1/team-changes", json={**body, "agent_ids": [stay]}), 422, "headcount_below_standard")

    rid = ok(await org.post("/v1/team-changes", json=body), 201)["id"]
    done = await approve_all(org, rid)
    new_team = done["result"]["team_id"]
    assert sorted(done["result"]["moved_agent_ids"]) == sorted([leaving, *followers])
    assert ok(await org.get(f"/v1/teams/{new_team}"))["valid_from"] == "2025-07-01"
    for agent in followers:
        assert (await position(org, agent, "2025-07-01"))["team_id"] == new_team
        assert (await position(org, agent, "2025-06-30"))["team_id"] == c.department
        assert await chain(org, agent, "2025-07-01") == [leaving, director]
        assert await chain(org, agent, "2025-06-30") == [leaving, manager, director]
    assert (await position(org, stay_agent, "2025-07-01"))["team_id"] == c.department
    below = ok(await org.get(f"/v1/agents/{manager}/subtree", params={"on": "2025-07-01"}))
    assert below["headcount_by_rank"] == {"supervisor": 1, "agent": 1}


async def test_a_team_with_members_is_dissolved_only_with_somewhere_for_them_to_go(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    empty = ok(await org.post("/v1/teams", json={"institution_id": c.office, "valid_from": "2020-01-01"}), 201)["id"]
    agent = await hire(org, c, "agent")
    body = {"kind": "dissolve", "institution_id": c.office, "effective_on": "2025-01-01", "reason": "no business",
            "team_id": c.department}
    refused = problem(await org.post("/v1/team-changes", json=body, headers=s.applicant), 409, "team_not_empty")
    assert (refused["field"], refused["members"]) == ("destination_team_id", 1)

    # Empty when submitted, not when executed: the final approval is refused and nothing changes.
    rid = ok(await org.post("/v1/team-changes", json={**body, "team_id": empty}, headers=s.applicant), 201)["id"]
    ok(await decide(org, rid, "branch_marketing_management"))
    ok(await decide(org, rid, "branch_gm_office"))
    await hire(org, c, "agent", team_id=empty)
    problem(await decide(org, rid, "hq_marketing_management"), 409, "team_not_empty")
    assert ok(await org.get(f"/v1/team-changes/{rid}"))["current_step"] == "hq_marketing_management"
    assert ok(await org.get(f"/v1/teams/{empty}"))["valid_to"] is None

    moving = ok(await org.post("/v1/team-changes", headers=s.applicant,
                               json={**body, "destination_team_id": empty}), 201)["id"]
    done = await approve_all(org, moving)
    assert done["result"] == {"team_id": empty, "moved_agent_ids": [agent], "dissolved_team_ids": [c.department]}
    assert (await position(org, agent, "2025-01-01"))["team_id"] == empty
    assert (await position(org, agent, "2024-12-31"))["team_id"] == c.department
    assert ok(await org.get(f"/v1/teams/{c.department}"))["valid_to"] == "2025-01-01"


async def test_a_repeated_submission_with_one_key_is_one_request(org: httpx.AsyncClient, internal_secret: str) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    key = {"Idempotency-Key": f"tc-{secrets.token_hex(8)}"}
    first = await org.post("/v1/team-changes", json=create_body(c), headers={**s.applicant, **key})
    again = await org.post("/v1/team-changes", json=create_body(c), headers={**s.applicant, **key})
    assert (first.status_code, again.status_code, again.headers.get("Idempotent-Replayed")) == (201, 201, "true")
    assert again.json() == first.json()
    problem(await org.post("/v1/team-changes", json=create_body(c, planned_headcount=7),
                           headers={**s.applicant, **key}), 422, "idempotency_key_reused")
    listed = ok(await org.get("/v1/team-changes", params={"institution_id": c.office}))
    assert [r["id"] for r in listed["items"]] == [first.json()["id"]]


async def test_cancel_by_the_requester_or_an_admin_before_the_final_approval(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    colleague = person(internal_secret, "hg-back-office-2", "back_office", c.office)
    first = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
    problem(await org.post(f"/v1/team-changes/{first}/cancel", headers=colleague), 403, "not_requester")
    ok(await decide(org, first, "branch_marketing_management"))
    cancelled = ok(await org.post(f"/v1/team-changes/{first}/cancel", headers=s.applicant))
    assert (cancelled["status"], cancelled["closed_by"], cancelled["current_step"]) == (
        "cancelled", "hg-back-office", None)
    problem(await decide(org, first, "branch_gm_office"), 409, "team_change_closed")

    second = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
    assert ok(await org.post(f"/v1/team-changes/{second}/cancel"))["closed_by"] == "hq-admin"
    third = ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
    await approve_all(org, third)
    problem(await org.post(f"/v1/team-changes/{third}/cancel", headers=s.applicant), 409, "team_change_closed")


async def test_requests_are_listed_newest_first_by_page_within_the_callers_scope(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    s = staff(internal_secret, c)
    ids = [ok(await org.post("/v1/team-changes", json=create_body(c), headers=s.applicant), 201)["id"]
           for _ in range(3)]
    ok(await decide(org, ids[0], "branch_marketing_management", decision="reject"))
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"institution_id": c.branch, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = ok(await org.get("/v1/team-changes", headers=s.branch_mm, params=params))
        seen += [(r["id"], r["status"], r["current_step"]) for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(ids[2], "submitted", "branch_marketing_management"),
                    (ids[1], "submitted", "branch_marketing_management"), (ids[0], "rejected", None)]
    open_only = ok(await org.get("/v1/team-changes", params={"status": "submitted", "institution_id": c.office}))
    assert [r["id"] for r in open_only["items"]] == [ids[2], ids[1]]
    outsider = person(internal_secret, "hb-back-office", "back_office", (await company(org)).branch)
    assert ok(await org.get("/v1/team-changes", params={"institution_id": c.office}, headers=outsider))["items"] == []
    problem(await org.get(f"/v1/team-changes/{ids[0]}", headers=outsider), 404, "team_change_not_found")
    agent = internal_headers(internal_secret, "org", roles=frozenset({"agent"}),
                             scope=DataScope(institutions=frozenset({c.office})))
    problem(await org.get(f"/v1/team-changes/{ids[0]}", headers=agent), 403, "role_required")
    problem(await org.post("/v1/team-changes", json=create_body(c), headers=agent), 403, "role_required")
