"""KPI assessments: self → supervisor → consolidation (the rule set's weights, the sales part derived from
facts and targets when it can be) → feedback; a maintenance assessment checks its conditions and its rank
change goes to org once."""

from __future__ import annotations

import copy
from decimal import Decimal

from performance_service.defaults import DEFAULT_RULE_SET, DEFAULT_SALES_SCORE
from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack, hire
from .test_settlement_flow import department, sell, this_month

D = Decimal
SCORES = {"sales": "80", "ability": "70", "attitude": "90"}


async def test_a_monthly_assessment_goes_through_its_four_steps(stack: Stack) -> None:
    _, p = await department(stack)
    period, _ = this_month()
    supervisor = stack.as_user(DataScope(agent_id=p["s"], subtree=True), "supervisor", user="sup")
    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    marketing = stack.as_user(DataScope(everything=True), "marketing_management")
    problem(await stack.performance.post("/v1/assessments", headers=agent, json={
        "agent_id": p["a"], "kind": "monthly", "period": period}), 403, "role_required")
    problem(await stack.performance.post("/v1/assessments", headers=supervisor, json={
        "agent_id": p["c"], "kind": "monthly", "period": period}), 404, "agent_not_found")
    problem(await stack.performance.post("/v1/assessments", headers=supervisor, json={
        "agent_id": p["a"], "kind": "annual", "period": period}), 422, "period_kind_mismatch")
    opened = ok(await stack.performance.post("/v1/assessments", headers=supervisor, json={
        "agent_id": p["a"], "kind": "monthly", "period": period}), 201)
    assert (opened["status"], opened["conditions"]) == ("self_evaluation", None)
    path = f"/v1/assessments/{opened['id']}"
    problem(await stack.performance.post(f"{path}/self-evaluation", headers=supervisor,
                                         json={"scores": SCORES, "comment": "x"}), 403, "not_own_assessment")
    ok(await stack.performance.post(f"{path}/self-evaluation", headers=agent,
                                    json={"scores": SCORES, "comment": "本月完成计划"}))
    problem(await stack.performance.post(f"{path}/consolidation", headers=marketing), 409,
            "assessment_out_of_order")
    problem(await stack.performance.post(f"{path}/supervisor-evaluation", headers=agent,
                                         json={"scores": SCORES, "comment": "x"}), 403, "role_required")
    ok(await stack.performance.post(f"{path}/supervisor-evaluation", headers=supervisor, json={
        "scores": {"sales": "80", "ability": "70", "attitude": "90"}, "comment": "拜访量稳定"}))
    consolidated = ok(await stack.performance.post(f"{path}/consolidation", headers=marketing))
    # 80 × 50% + 70 × 30% + 90 × 20%
    assert (consolidated["status"], D(consolidated["score"])) == ("consolidated", D("79.00"))
    assert consolidated["weights"] == {"sales": "0.5", "ability": "0.3", "attitude": "0.2"}
    # No target names the agent: the sales part cannot be derived and the supervisor's score is used.
    assert (consolidated["sales_source"], consolidated["sales_evidence"]["derived"]) == ("entered", False)
    assert consolidated["sales_evidence"]["reason"] == (
        "no premium target names the agent for the period; no new_policies target names the agent for the "
        "period: the supervisor's entered sales score is used")
    done = ok(await stack.performance.post(f"{path}/feedback", headers=supervisor, json={"note": "面谈完毕"}))
    assert (done["status"], done["feedback_by"]) == ("feedback_done", "tester")
    problem(await stack.performance.post(f"{path}/proposal", headers=marketing,
                                         json={"effective_on": f"{period}-01"}), 422, "no_proposal")
    problem(await stack.performance.post("/v1/assessments", headers=supervisor, json={
        "agent_id": p["a"], "kind": "monthly", "period": period}), 409, "assessment_exists")
    assert [a["id"] for a in ok(await stack.performance.get("/v1/assessments", headers=agent))] == [opened["id"]]


async def test_a_maintenance_assessment_proposes_its_rank_change_to_org(stack: Stack) -> None:
    c, p = await department(stack)
    period, today = this_month()
    await hire(stack.org, c, "agent", p["s"])
    for _ in range(3):
        await sell(stack, c, p["s"], "500.00")
    await stack.sync()
    marketing = stack.as_user(DataScope(everything=True), "marketing_management", user="mm")
    opened = ok(await stack.performance.post("/v1/assessments", headers=marketing, json={
        "agent_id": p["s"], "kind": "maintenance", "period": period}), 201)
    conditions = {x["condition"]: (D(x["required"]), D(x["actual"]), x["met"])
                  for x in opened["conditions"]["conditions"]}
    assert conditions == {"new_policies": (D(3), D(3), True), "team_size": (D(3), D(3), True)}
    path = f"/v1/assessments/{opened['id']}"
    supervisor = stack.as_user(DataScope(agent_id=p["m"], subtree=True), "supervisor")
    ok(await stack.performance.post(f"{path}/self-evaluation", headers=stack.as_user(
        DataScope(agent_id=p["s"]), "supervisor"), json={"scores": SCORES, "comment": "维持"}))
    ok(await stack.performance.post(f"{path}/supervisor-evaluation", headers=supervisor,
                                    json={"scores": SCORES, "comment": "同意"}))
    consolidated = ok(await stack.performance.post(f"{path}/consolidation", headers=marketing))
    assert consolidated["proposal"] == {"kind": "maintenance", "rank_code": "supervisor"}
    sent = ok(await stack.performance.post(f"{path}/proposal", headers=marketing,
                                           json={"effective_on": today.isoformat()}))
    assert sent["sent_to_org_at"] is not None
    problem(await stack.performance.post(f"{path}/proposal", headers=marketing,
                                         json={"effective_on": today.isoformat()}), 409, "proposal_already_sent")
    position = ok(await stack.org.get(f"/v1/agents/{p['s']}", params={"on": today.isoformat()}))["position"]
    assert position["rank_code"] == "supervisor"
    assert position["reason"].startswith(f"maintenance: performance maintenance assessment {opened['id']}")


async def test_the_sales_score_is_derived_from_the_facts_and_the_agents_targets(stack: Stack) -> None:
    c, p = await department(stack)
    period, today = this_month()
    marketing = stack.as_user(DataScope(everything=True), "marketing_management")
    supervisor = stack.as_user(DataScope(agent_id=p["s"], subtree=True), "supervisor")
    team = {"team_id": c.department, "institution_id": c.office, "year": today.year,
            "agent_weights": {str(p["a"]): "3", str(p["b"]): "1"}}
    # a holds 3/4 of each: 90,000 of 120,000 premium (7,500 a month) and 36 of 48 new policies (3 a month).
    premium = ok(await stack.performance.post("/v1/targets", headers=marketing, json={
        **team, "metric": "premium", "amount": "120000.00"}), 201)
    policies = ok(await stack.performance.post("/v1/targets", headers=marketing, json={
        **team, "metric": "new_policies", "amount": "48"}), 201)
    await sell(stack, c, p["a"], "2500.00")
    await stack.sync()

    opened = ok(await stack.performance.post("/v1/assessments", headers=supervisor, json={
        "agent_id": p["a"], "kind": "monthly", "period": period}), 201)
    early = {m["measure"]: m for m in opened["sales_evidence"]["measures"]}
    assert (D(early["premium"]["actual"]), D(early["premium"]["target"]), D(early["premium"]["score"])) == (
        D(2500), D("7500.00"), D("33.33"))
    assert opened["sales_evidence"]["rule_set_version"]
    path = f"/v1/assessments/{opened['id']}"
    ok(await stack.performance.post(f"{path}/self-evaluation", headers=stack.as_user(DataScope(agent_id=p["a"]),
                                    "agent"), json={"scores": SCORES, "comment": "两件新单"}))
    ok(await stack.performance.post(f"{path}/supervisor-evaluation", headers=supervisor,
                                    json={"scores": SCORES, "comment": "拜访量稳定"}))
    # Premium received before consolidation counts: consolidation derives the part again.
    await sell(stack, c, p["a"], "3500.00")
    await stack.sync()
    consolidated = ok(await stack.performance.post(f"{path}/consolidation", headers=marketing))
    evidence = consolidated["sales_evidence"]
    measures = {m["measure"]: m for m in evidence["measures"]}
    assert {k: (D(m["actual"]), D(m["target"]), D(m["achievement"]), D(m["score"])) for k, m in measures.items()} == {
        "premium": (D(6000), D("7500.00"), D("0.8"), D(80)),
        "new_policies": (D(2), D("3.00"), D("0.6667"), D("66.67"))}
    assert [t["target_id"] for t in measures["premium"]["target_parts"]] == [premium["id"]]
    assert [t["target_id"] for t in measures["new_policies"]["target_parts"]] == [policies["id"]]
    assert (evidence["derived"], D(evidence["score"])) == (True, D("76.00"))
    assert evidence["arithmetic"] == "80.00 × 0.7 + 66.67 × 0.3 = 76.00"  # 56 + 20.001
    assert evidence["rule"]["measures"] == [{"measure": "premium", "weight": "0.7"},
                                            {"measure": "new_policies", "weight": "0.3"}]
    # The derived 76.00 replaces the supervisor's 80; ability and attitude stay as entered.
    assert consolidated["sales_source"] == "derived"
    assert consolidated["consolidated_scores"] == {"sales": "76.00", "ability": "70", "attitude": "90"}
    assert consolidated["supervisor_scores"]["sales"] == "80"
    assert D(consolidated["score"]) == D("77.00")  # 76 × 50% + 70 × 30% + 90 × 20%
    assert ok(await stack.performance.get(path, headers=supervisor))["sales_evidence"] == evidence

    # A year: the agent's whole shares, the year's facts so far.
    annual = ok(await stack.performance.post("/v1/assessments", headers=supervisor, json={
        "agent_id": p["a"], "kind": "annual", "period": str(today.year)}), 201)
    year = {m["measure"]: m for m in annual["sales_evidence"]["measures"]}
    assert (D(year["premium"]["target"]), D(year["premium"]["actual"])) == (D("90000.00"), D(6000))
    assert (D(year["new_policies"]["target"]), D(year["new_policies"]["achievement"])) == (D(36), D("0.0556"))
    assert D(annual["sales_evidence"]["score"]) == D("6.34")  # 6.67 × 0.7 + 5.56 × 0.3 = 4.669 + 1.668

    # The team's new-policy target has its achievement too.
    got = ok(await stack.performance.get(f"/v1/targets/{policies['id']}/achievement", params={"period": period}))
    assert (D(got["target"]), D(got["achieved"]), got["by_agent"]) == (D(4), D(2), {str(p["a"]): "2"})


async def test_a_sales_rule_at_fault_is_refused_naming_its_field(stack: Stack) -> None:
    c, _ = await department(stack)
    marketing = stack.as_user(DataScope(institutions=frozenset({c.hq}), company_wide=True), "marketing_management")
    body = {**copy.deepcopy(DEFAULT_RULE_SET), "sales_score": {
        **DEFAULT_SALES_SCORE, "measures": [{"measure": "premium", "weight": "0.6"},
                                            {"measure": "new_policies", "weight": "0.3"}]}}
    bad = problem(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": "sales-90", "status": "proposed", "valid_from": "2030-01-01", "body": body}), 422,
        "invalid_rule_set")
    assert (bad["field"], bad["detail"]) == ("body.sales_score.measures",
                                             "body.sales_score.measures: the weights add up to 1")
    body["sales_score"] = {**DEFAULT_SALES_SCORE, "cap": "120", "missing_target": "other_measures"}
    stored = ok(await stack.performance.post("/v1/rule-sets", headers=marketing, json={
        "version": "sales-120", "status": "proposed", "valid_from": "2030-01-01", "body": body}), 201)
    assert (stored["body"]["sales_score"]["cap"], stored["body"]["sales_score"]["missing_target"]) == (
        "120", "other_measures")
