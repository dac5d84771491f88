"""Facts from the ledger's feed, a month settled over HTTP with org and the ledger beside it, statements
under data scope, a re-run that supersedes with a diff, and the refusals."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .conftest import Company, Stack, company, hire

D = Decimal


def this_month() -> tuple[str, date]:
    today = business_date(utcnow())
    return f"{today.year:04d}-{today.month:02d}", today


def close_the_month(stack: Stack) -> None:
    """Move performance's clock into the next month, so this month's facts can be settled."""
    today = business_date(utcnow())
    following = (today.replace(day=1) + timedelta(days=32)).replace(day=3)
    stack.performance_app.state.clock = lambda: datetime(following.year, following.month, following.day, 2,
                                                           tzinfo=UTC)


async def sell(stack: Stack, c: Company, agent: int, premium: str, *, paid: bool = True) -> dict[str, Any]:
    """A policy issued today to `agent`, its first premium received in cash and confirmed."""
    _, today = this_month()
    policy = ok(await stack.ledger.post("/v1/policies", json={
        "policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent, "product_code": "LIFE-20", "insurer": "本公司",
        "policyholder": {"kind": "individual", "name": "张三", "external_ref": f"C-{secrets.token_hex(4)}"},
        "premium": premium, "frequency": "annual", "payment_mode": "cash", "issued_on": today.isoformat()}), 201)
    if not paid:
        return dict(policy)
    page = ok(await stack.ledger.get("/v1/receivables", params={"agent_id": agent}))
    due = next(r for r in page["items"] if r["policy_id"] == policy["id"])
    receipt = ok(await stack.ledger.post("/v1/receipts", headers=stack.ledger_as(DataScope(agent_id=agent), "agent"),
                                         json={"receivable_id": due["id"], "amount": premium, "method": "cash",
                                               "handed_over_at": utcnow().isoformat()}), 201)
    confirmed = ok(await stack.ledger.post(f"/v1/receipts/{receipt['id']}/confirmation", json={"note": "收讫"}))
    return {**policy, "receipt_entry_id": confirmed["entry_id"]}


async def department(stack: Stack) -> tuple[Company, dict[str, int]]:
    c = await company(stack.org)
    m = await hire(stack.org, c, "department_manager")
    s = await hire(stack.org, c, "supervisor", m)
    ids = {"m": m, "s": s, "a": await hire(stack.org, c, "agent", s), "b": await hire(stack.org, c, "agent", s),
           "c": await hire(stack.org, c, "agent", m)}
    await stack.sync()
    return c, ids


async def settle(stack: Stack, period: str, **extra: Any) -> dict[str, Any]:
    return dict(ok(await stack.performance.post("/v1/settlements", json={"period": period, **extra}), 201))


async def statement(stack: Stack, agent: int, period: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(ok(await stack.performance.get(f"/v1/statements/{agent}", params={"period": period},
                                               headers=headers)))


async def test_a_month_is_settled_explained_posted_and_superseded(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    await sell(stack, c, p["m"], "2000.00")
    await sell(stack, c, p["a"], "10000.00")
    sold_b = await sell(stack, c, p["b"], "5000.00")
    await sell(stack, c, p["c"], "20000.00")
    await stack.sync()
    facts = ok(await stack.performance.get(f"/v1/facts/agents/{p['a']}", params={"period": period}))
    assert facts == [{"agent_id": p["a"], "period": period, "currency": "CNY", "fyp": "10000.0000",
                      "standard_premium": "10000.0000", "received_premium": "10000.0000",
                      "first_year_received": "10000.0000", "renewal_received": "0", "new_policies": 1,
                      "policies_ended": 0}]

    problem(await stack.performance.post("/v1/settlements", json={"period": period}), 422, "period_open")
    close_the_month(stack)
    run = await settle(stack, period)
    assert (run["status"], run["mode"], run["posted"], run["rule_set_version"]) == ("completed", "final", True,
                                                                                    "seed-2020")
    # The department manager: own commission 600; direct group (themself and C) 6,600 FYC at 19%;
    # the supervisor's group (S, A, B) 4,500 FYC at 2%.
    mine = await statement(stack, p["m"], period)
    assert [(x["kind"], x["rule"], D(x["amount"])) for x in mine["lines"]] == [
        ("commission", "commission", D("600.00")),
        ("management_allowance", "management_allowances.department_direct", D("1254.00")),
        ("management_allowance", "management_allowances.department_subordinate", D("90.00"))]
    assert mine["lines"][1]["arithmetic"] == "6600.00 × 0.19 (bracket from 0) = 1254.00"
    assert mine["lines"][1]["base"]["agents"] == 2
    assert D(mine["net"]) == D("1944.00")
    assert mine["status"] == "posted"

    # Every line of every statement adds up to what the ledger now owes, agent by agent.
    async with stack.engine.connect() as connection:
        lines = dict((await connection.execute(text(
            "SELECT agent_id, sum(amount) FROM performance.statement_line WHERE run_id = :r GROUP BY agent_id"),
            {"r": run["id"]})).all())
    owed = {}
    for agent in p.values():
        for payable in ok(await stack.ledger.get("/v1/payables", params={"agent_id": agent}))["items"]:
            assert payable["settlement_run"] == run["id"]
            owed[agent] = D(payable["amount"])
    # (The run settles the whole company: the other tests' agents too.)
    assert owed == {a: v for a, v in lines.items() if v > 0 and a in p.values()}
    assert owed[p["a"]] == D("3000.00")

    # The receipt of B's premium is reversed: the run says a fact came late; a re-run supersedes the
    # first and pays the difference (asked twice with one Idempotency-Key, it runs once).
    ok(await stack.ledger.post(f"/v1/journal/entries/{sold_b['receipt_entry_id']}/reversal",
                               json={"effective_on": this_month()[1].isoformat(), "reason": "退票"}), 201)
    await stack.sync()
    assert ok(await stack.performance.get(f"/v1/settlements/{run['id']}"))["late_facts"] == 1
    key = {"Idempotency-Key": f"rerun-{run['id']}"}
    again = ok(await stack.performance.post("/v1/settlements", json={"period": period}, headers=key), 201)
    replayed = await stack.performance.post("/v1/settlements", json={"period": period}, headers=key)
    assert (replayed.headers["Idempotent-Replayed"], replayed.json()["id"]) == ("true", again["id"])
    assert again["late_facts"] == 0
    assert again["supersedes"] == run["id"]
    assert again["diff"] == {"compared_with": run["id"], "agents_changed": 2, "gross_change": "-1530.0000"}
    first = ok(await stack.performance.get(f"/v1/settlements/{run['id']}"))
    assert (first["status"], first["superseded_by"]) == ("superseded", again["id"])
    b = await statement(stack, p["b"], period)
    assert [(x["kind"], D(x["amount"])) for x in b["lines"]] == [
        ("commission", D("0.00")), ("paid_before", D("-1500.00")), ("carry_forward", D("1500.00"))]
    assert (D(b["net"]), D(b["carried"])) == (0, D("1500.00"))
    diff = ok(await stack.performance.get(f"/v1/settlements/{again['id']}/diff"))
    assert [(x["agent_id"], D(x["gross_before"]), D(x["gross_after"])) for x in diff] == sorted([
        (p["m"], D("1944.00"), D("1914.00")), (p["b"], D("1500.00"), D("0.00"))])
    # The run is the company's, but what each agent is paid is under data scope, as statements are:
    # this branch's finance sees its agents' rows, another branch's finance none of them.
    other = await company(stack.org)
    await stack.sync()
    finance_here = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    finance_there = stack.as_user(DataScope(institutions=frozenset({other.branch})), "finance")
    assert ok(await stack.performance.get(f"/v1/settlements/{again['id']}/diff", headers=finance_here)) == diff
    assert ok(await stack.performance.get(f"/v1/settlements/{again['id']}/diff", headers=finance_there)) == []
    # Nothing more was owed, so nothing more was posted.
    assert len(ok(await stack.ledger.get("/v1/payables", params={"agent_id": p["b"]}))["items"]) == 1

    # The old run's statement stays as it was.
    old = ok(await stack.performance.get(f"/v1/statements/{p['b']}", params={"run_id": run["id"]}))
    assert D(old["net"]) == D("1500.00")


async def test_statements_follow_the_data_scope(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    for agent in ("a", "b", "c"):
        await sell(stack, c, p[agent], "1000.00")
    await stack.sync()
    close_the_month(stack)
    await settle(stack, period)
    agent_a = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    assert D((await statement(stack, p["a"], period, agent_a))["net"]) == D("300.00")
    problem(await stack.performance.get(f"/v1/statements/{p['b']}", params={"period": period}, headers=agent_a),
            404, "statement_not_found")
    supervisor = stack.as_user(DataScope(agent_id=p["s"], subtree=True), "supervisor")
    await statement(stack, p["b"], period, supervisor)
    problem(await stack.performance.get(f"/v1/statements/{p['c']}", params={"period": period}, headers=supervisor),
            404, "statement_not_found")
    office = stack.as_user(DataScope(institutions=frozenset({c.office})), "back_office")
    await statement(stack, p["c"], period, office)
    elsewhere = stack.as_user(DataScope(institutions=frozenset({c.office + 10_000})), "back_office")
    problem(await stack.performance.get(f"/v1/statements/{p['c']}", params={"period": period}, headers=elsewhere),
            404, "statement_not_found")
    problem(await stack.performance.post("/v1/settlements", json={"period": period}, headers=agent_a),
            403, "role_required")
    # A run settles the whole company: a branch's finance sees its statements but may not run it.
    branch_finance = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    problem(await stack.performance.post("/v1/settlements", json={"period": period}, headers=branch_finance),
            403, "head_office_only")


async def test_what_if_posts_nothing_and_bad_runs_are_refused(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    await sell(stack, c, p["a"], "1000.00")
    await stack.sync()
    close_the_month(stack)
    proposal = ok(await stack.performance.get("/v1/rule-sets"))[0]["body"]
    proposal["commission"]["rates"][0]["rate"] = "0.40"
    what_if = await settle(stack, period, mode="what_if", rule_set=proposal)
    assert (what_if["mode"], what_if["posted"], what_if["rule_set_version"]) == ("what_if", False, "proposed")
    line = ok(await stack.performance.get(f"/v1/statements/{p['a']}", params={"run_id": what_if["id"]}))
    assert (D(line["net"]), line["status"]) == (D("400.00"), "what_if")
    assert ok(await stack.ledger.get("/v1/payables", params={"agent_id": p["a"]}))["items"] == []
    problem(await stack.performance.get(f"/v1/statements/{p['a']}", params={"period": period}), 404,
            "statement_not_found")

    future = (this_month()[1] + timedelta(days=70)).strftime("%Y-%m")
    problem(await stack.performance.post("/v1/settlements", json={"period": future}), 422, "period_open")
    problem(await stack.performance.post("/v1/settlements", json={"period": period, "rule_set": proposal}), 422,
            "proposed_rules_final")
    bad = {**proposal, "management_allowances": [{**proposal["management_allowances"][0], "brackets": [
        {"lower": "0", "upper": "10000", "rate": "0.19"}, {"lower": "9999", "upper": None, "rate": "0.2"}]}]}
    body = problem(await stack.performance.post("/v1/settlements", json={
        "period": period, "mode": "what_if", "rule_set": bad}), 422, "invalid_rule_set")
    assert body["field"] == "rule_set.management_allowances.0.brackets[1].lower"

    # A run left "running" by a process that died holds nothing: the next run marks it failed and runs.
    async with stack.engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO performance.settlement_run (id, period, mode, status, rules, fact_upto, started_by)"
            " VALUES ('S-stuck', :p, 'final', 'running', '{}', 0, 'test')"), {"p": period})
    await settle(stack, period)
    async with stack.engine.connect() as connection:
        stuck = (await connection.execute(text(
            "SELECT status, error FROM performance.settlement_run WHERE id = 'S-stuck'"))).one()
    assert (stuck.status, stuck.error) == ("failed", "abandoned: its process stopped before it finished")
