"""KPI assessments: self → supervisor → consolidation (the rule set's weights) → feedback; a maintenance
assessment checks its conditions and its rank change goes to org once."""

from __future__ import annotations

from decimal import Decimal

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
