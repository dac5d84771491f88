"""Facts taken once and quarantined when the organisation does not know the agent; disputes resolved by
an adjustment in a later run; rule versions that never reach into a settled period; nurturing and
count-back from org's peer-level teams; the promotion / maintenance gap."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from performance_service.defaults import DEFAULT_RULE_SET
from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack, company, hire
from .test_settlement_flow import department, sell, settle, statement, this_month

D = Decimal


def clock_at(stack: Stack, day: date) -> None:
    stack.performance_app.state.clock = lambda: datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


def month_after(period: str, months: int = 1) -> tuple[str, date]:
    first = date(int(period[:4]), int(period[5:]), 1)
    for _ in range(months):
        first = (first + timedelta(days=32)).replace(day=1)
    return f"{first.year:04d}-{first.month:02d}", first


async def count(stack: Stack, sql: str, **params: Any) -> int:
    async with stack.engine.connect() as connection:
        return int((await connection.execute(text(sql), params)).scalar_one())


async def test_facts_are_taken_once_and_unknown_agents_are_quarantined(stack: Stack) -> None:
    c, p = await department(stack)
    await sell(stack, c, p["a"], "1000.00")
    await stack.sync()
    facts = await count(stack, "SELECT count(*) FROM performance.fact WHERE agent_id = :a", a=p["a"])
    assert facts == 4  # FYP, standard premium, a new policy, premium received
    # The whole ledger feed delivered again: every event was applied already, nothing is counted twice.
    async with stack.engine.begin() as connection:
        await connection.execute(text("UPDATE performance.feed_cursor SET cursor = '0.0' WHERE source = 'ledger'"))
    await stack.feeds["facts"].drain()
    assert await count(stack, "SELECT count(*) FROM performance.fact WHERE agent_id = :a", a=p["a"]) == facts

    # A newcomer the ledger knows before performance's copy of the organisation does.
    newcomer = await hire(stack.org, c, "agent", p["s"])
    await stack.feeds["ledger_org"].drain()
    await sell(stack, c, newcomer, "800.00")
    await stack.feeds["facts"].drain()
    assert await count(stack, "SELECT count(*) FROM performance.fact WHERE agent_id = :a", a=newcomer) == 0
    held = [q for q in ok(await stack.performance.get("/v1/facts/quarantine"))["items"] if q["agent_id"] == newcomer]
    assert {q["event_type"] for q in held} == {"policy.issued", "premium.received"}
    # A page at a time, oldest first: the pages together are the whole list, each event once.
    pages, cursor = [], None
    while True:
        page = ok(await stack.performance.get("/v1/facts/quarantine", params={
            "limit": 1, **({"cursor": cursor} if cursor else {})}))
        pages += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [q["id"] for q in pages] == sorted(q["id"] for q in pages)
    assert [q for q in pages if q["agent_id"] == newcomer] == held
    assert held[0]["reason"] == f"agent {newcomer} is not known to the organisation"
    agent = stack.as_user(DataScope(agent_id=newcomer), "agent")
    problem(await stack.performance.get("/v1/facts/quarantine", headers=agent), 403, "role_required")

    await stack.feeds["org"].drain()
    admitted = ok(await stack.performance.post("/v1/facts/quarantine/admit"))
    assert admitted["admitted"] >= 2
    assert await count(stack, "SELECT count(*) FROM performance.fact WHERE agent_id = :a", a=newcomer) == 4
    still = ok(await stack.performance.get("/v1/facts/quarantine"))["items"]
    assert [q for q in still if q["agent_id"] == newcomer] == []


async def test_a_dispute_is_reviewed_and_paid_in_a_later_run(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    await sell(stack, c, p["a"], "1000.00")
    await stack.sync()
    following, first_day = month_after(period)
    clock_at(stack, first_day + timedelta(days=2))
    run = await settle(stack, period)
    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent", user="agent-a")
    body = {"run_id": run["id"], "agent_id": p["a"], "line_no": 1, "reason": "保费应按标准保费计算"}
    problem(await stack.performance.post("/v1/disputes", headers=stack.as_user(DataScope(agent_id=p["b"]), "agent"),
                                         json=body), 404, "statement_not_found")
    problem(await stack.performance.post("/v1/disputes", headers=agent, json={**body, "line_no": 9}), 404,
            "line_not_found")
    dispute = ok(await stack.performance.post("/v1/disputes", headers=agent, json=body), 201)
    assert (dispute["status"], dispute["raised_by"]) == ("open", "tester")
    problem(await stack.performance.post("/v1/disputes", headers=agent, json=body), 409, "dispute_open")

    finance = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    decision = {"accept": True, "adjustment": "120.50", "note": "按标准保费补发"}
    problem(await stack.performance.post(f"/v1/disputes/{dispute['id']}/finance-decision", headers=finance,
                                         json=decision), 409, "dispute_not_reviewed")
    other_supervisor = stack.as_user(DataScope(agent_id=p["c"], subtree=True), "supervisor")
    problem(await stack.performance.post(f"/v1/disputes/{dispute['id']}/supervisor-review",
                                         headers=other_supervisor, json={"endorse": True, "note": "x"}),
            404, "dispute_not_found")
    supervisor = stack.as_user(DataScope(agent_id=p["s"], subtree=True), "supervisor")
    reviewed = ok(await stack.performance.post(f"/v1/disputes/{dispute['id']}/supervisor-review",
                                               headers=supervisor, json={"endorse": True, "note": "属实"}))
    assert reviewed["status"] == "supervisor_reviewed"
    accepted = ok(await stack.performance.post(f"/v1/disputes/{dispute['id']}/finance-decision", headers=finance,
                                               json=decision))
    assert (accepted["status"], D(accepted["adjustment"])) == ("accepted", D("120.50"))
    mine = ok(await stack.performance.get("/v1/disputes", headers=agent))
    assert [d["id"] for d in mine] == [dispute["id"]]

    # The closed month is not edited; the next month's run pays the adjustment.
    clock_at(stack, month_after(period, 2)[1] + timedelta(days=2))
    later = await settle(stack, following)
    paid = await statement(stack, p["a"], following)
    assert [(x["kind"], x["rule"], D(x["amount"])) for x in paid["lines"]] == [
        ("adjustment", f"dispute:{dispute['id']}", D("120.50"))]
    assert D(paid["net"]) == D("120.50")
    assert ok(await stack.performance.get(f"/v1/disputes/{dispute['id']}"))["settled_in_run"] == later["id"]
    assert D((await statement(stack, p["a"], period))["net"]) == D("300.00")


async def test_a_rule_version_never_reaches_into_a_settled_period(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    await sell(stack, c, p["a"], "1000.00")
    await stack.sync()
    _, first_day = month_after(period)
    clock_at(stack, first_day + timedelta(days=2))
    await settle(stack, period)
    # The basic law binds the whole company: head-office marketing sets it, a branch's may not.
    marketing = stack.as_user(DataScope(institutions=frozenset({c.hq}), company_wide=True), "marketing_management")
    body = copy.deepcopy(DEFAULT_RULE_SET)
    body["commission"]["rates"][0]["rate"] = "0.50"
    problem(await stack.performance.post("/v1/rule-sets", json={
        "version": "branch", "status": "proposed", "valid_from": "2030-01-01", "body": body},
        headers=stack.as_user(DataScope(institutions=frozenset({c.branch})), "marketing_management")), 403,
        "head_office_only")
    refused = problem(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": "inside", "status": "in_force", "valid_from": f"{period}-01", "body": body}), 409,
        "period_settled")
    assert refused["field"] == "valid_from"
    gapped = copy.deepcopy(body)
    gapped["management_allowances"][1]["brackets"][2]["lower"] = "70000"
    bad = problem(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": "gapped", "status": "proposed", "valid_from": "2030-01-01", "body": gapped}), 422,
        "invalid_rule_set")
    assert bad["field"] == "body.management_allowances.1.brackets[2].lower"
    assert "gap after 60000" in bad["detail"]
    problem(await stack.performance.post("/v1/rule-sets", json={
        "version": "x", "status": "proposed", "valid_from": "2030-01-01", "body": body},
        headers=stack.as_user(DataScope(agent_id=p["a"]), "agent")), 403, "role_required")

    # A later version applies from its month on; the settled month, re-run, keeps the one of its time.
    later, _ = month_after(period, 3)
    version = f"v-{later}"
    ok(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": version, "status": "in_force", "valid_from": f"{later}-01", "body": body}), 201)
    problem(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": f"{version}-again", "status": "in_force", "valid_from": f"{later}-01", "body": body}), 409,
        "before_version_in_force")
    again = await settle(stack, period)
    assert again["rule_set_version"] != version
    assert ok(await stack.performance.get("/v1/rule-sets/in-force", params={"on": f"{later}-01"}))["version"] == version
    problem(await stack.performance.get("/v1/rule-sets/in-force", params={"on": "1999-01-01"}), 404,
            "rule_set_not_found")
    # A proposed version, stored, runs as what-if on the settled month.
    proposed = ok(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": f"proposal-{version}", "status": "proposed", "valid_from": f"{later}-01", "body": body}), 201)
    what_if = await settle(stack, period, mode="what_if", rule_set_id=proposed["id"])
    assert what_if["rule_set_version"] == f"proposal-{version}"
    problem(await stack.performance.post("/v1/settlements", json={"period": period, "rule_set_id": proposed["id"]}),
            422, "rule_set_not_in_force")
    assert D((await statement(stack, p["a"], period))["lines"][0]["amount"]) == D("300.00")


async def test_nurturing_and_count_back_follow_org_peer_level_teams(stack: Stack) -> None:
    c = await company(stack.org)
    period, today = this_month()
    # Two months ago: the maintenance window (3 months) starts on the day the team reached peer level.
    first = (today.replace(day=1) - timedelta(days=40)).replace(day=1)
    manager = await hire(stack.org, c, "department_manager")
    nurtured = await hire(stack.org, c, "supervisor", manager, nurturer_id=manager)
    member = await hire(stack.org, c, "agent", nurtured)
    ok(await stack.org.post(f"/v1/agents/{nurtured}/rank-changes", json={
        "effective_on": first.isoformat(), "rank_code": "department_manager", "kind": "promotion",
        "reason": "晋升部经理"}))
    await stack.sync()
    await sell(stack, c, member, "10000.00")
    await stack.sync()
    _, first_day = month_after(period)
    clock_at(stack, first_day + timedelta(days=2))

    proposal: dict[str, Any] = copy.deepcopy(DEFAULT_RULE_SET)
    proposal["management_allowances"][1]["count_back"] = True
    what_if = await settle(stack, period, mode="what_if", rule_set=proposal)
    lines = ok(await stack.performance.get(f"/v1/statements/{manager}", params={"run_id": what_if["id"]}))["lines"]
    by_kind = {x["kind"]: x for x in lines}
    # The nurtured department (the new manager and their member) earned 3,000 FYC: 6% nurturing allowance,
    # and, counted back at 100% (first periods after separation), 2% on the manager's other groups.
    assert D(by_kind["nurturing_allowance"]["amount"]) == D("180.00")
    assert by_kind["nurturing_allowance"]["base"]["generation"] == 1
    allowance = by_kind["management_allowance"]
    assert allowance["rule"] == "management_allowances.department_subordinate"
    assert D(allowance["amount"]) == D("60.00")
    assert allowance["base"]["count_back"] == [{"team_head_id": nurtured, "fyc": "3000.00", "share": "1.000000"}]

    gap = ok(await stack.performance.get(f"/v1/agents/{manager}/rank-gap",
                                         params={"period": period, "kind": "maintenance"}))
    assert gap["target_rank"] == "department_manager"
    team = next(x for x in gap["conditions"] if x["condition"] == "team_size")
    # Nobody stands below the manager since the separation; the team of two counts back.
    assert (D(team["required"]), D(team["actual"]), D(team["missing"]), team["met"]) == (
        D(12), D(2), D(10), False)
    assert [t["team_head_id"] for t in gap["count_back"]] == [nurtured]
    problem(await stack.performance.get(f"/v1/agents/{member}/rank-gap",
                                        params={"period": period, "kind": "maintenance"}), 404, "no_rank_condition")
    promotion = ok(await stack.performance.get(f"/v1/agents/{member}/rank-gap",
                                               params={"period": period, "kind": "promotion"}))
    policies = next(x for x in promotion["conditions"] if x["condition"] == "new_policies")
    assert (D(policies["actual"]), D(policies["missing"])) == (D(1), D(23))


async def test_a_policy_surrendered_within_the_window_claws_its_commission_back(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    sold = await sell(stack, c, p["a"], "10000.00")
    await stack.sync()
    following, first_day = month_after(period)
    clock_at(stack, first_day + timedelta(days=2))
    await settle(stack, period)
    assert D((await statement(stack, p["a"], period))["net"]) == D("3000.00")
    ok(await stack.ledger.post(f"/v1/policies/{sold['id']}/end", json={
        "how": "surrendered", "effective_on": (first_day + timedelta(days=4)).isoformat(), "reason": "退保"}))
    await stack.sync()
    clock_at(stack, month_after(period, 2)[1] + timedelta(days=2))
    await settle(stack, following)
    later = await statement(stack, p["a"], following)
    assert [(x["kind"], D(x["amount"])) for x in later["lines"]] == [
        ("clawback", D("-3000.00")), ("carry_forward", D("3000.00"))]
    assert later["lines"][0]["base"]["policy_id"] == sold["id"]
    assert later["lines"][0]["arithmetic"] == "−(10000.0000 × 0.30) × 1 = -3000.00"
    assert (D(later["net"]), D(later["carried"])) == (0, D("3000.00"))


async def test_imported_facts_are_all_or_none_and_name_an_unknown_agent(stack: Stack) -> None:
    _, p = await department(stack)
    period, today = this_month()
    line = {"agent_id": p["a"], "kind": "received_premium", "occurred_on": today.isoformat(), "product_code": "GRP",
            "policy_year": 1, "amount": "2000.00"}
    body = {"source": "保险公司月度清单", "facts": [line, {**line, "agent_id": 999_999_999}]}
    refused = problem(await stack.performance.post("/v1/facts", json=body), 422, "agent_not_found")
    assert refused["field"] == "facts[1].agent_id"
    facts = ok(await stack.performance.get(f"/v1/facts/agents/{p['a']}", params={"period": period}))
    assert facts == []
    recorded = ok(await stack.performance.post("/v1/facts", json={**body, "facts": [line]}), 201)
    assert recorded == {"recorded": 1}
    facts = ok(await stack.performance.get(f"/v1/facts/agents/{p['a']}", params={"period": period}))
    assert D(facts[0]["received_premium"]) == D("2000.00")
    problem(await stack.performance.post("/v1/facts", json=body, headers=stack.as_user(
        DataScope(agent_id=p["a"]), "agent")), 403, "role_required")
