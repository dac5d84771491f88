"""The ledger over HTTP with the real org beside it: policies, receivables on the seeded calendar,
receipts confirmed once, the journal's invariants, and data scope on every object."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Company, Stack, company, hire


async def issue(stack: Stack, agent: int, *, kind: str = "individual", premium: str = "3600.00",
                issued_on: str = "2026-09-28", **extra: Any) -> dict[str, Any]:
    body = {"policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent,
            "policyholder": {"kind": kind, "name": "张三" if kind == "individual" else "某某公司",
                             "external_ref": f"C-{secrets.token_hex(4)}"},
            "product_code": "LIFE-20", "insurer": "本公司", "premium": premium, "frequency": "annual",
            "payment_mode": "cash", "issued_on": issued_on, **extra}
    return dict(ok(await stack.ledger.post("/v1/policies", json=body), 201))


async def first_receivable(stack: Stack, policy: dict[str, Any]) -> dict[str, Any]:
    page = ok(await stack.ledger.get("/v1/receivables/overdue", params={"on": "2099-01-01",
                                                                         "agent_id": policy["agent_id"]}))
    return next(r for r in page["items"] if r["policy_id"] == policy["id"])


async def people(stack: Stack) -> tuple[Company, dict[str, int]]:
    c = await company(stack.org)
    sup = await hire(stack.org, c, "supervisor")
    ids = {"sup": sup, "a": await hire(stack.org, c, "agent", sup), "b": await hire(stack.org, c, "agent", sup),
           "other_sup": await hire(stack.org, c, "supervisor")}
    ids["c"] = await hire(stack.org, c, "agent", ids["other_sup"])
    await stack.sync()
    return c, ids


async def test_a_premium_is_due_on_the_working_day_calendar_and_received_once(stack: Stack) -> None:
    c, p = await people(stack)
    policy = await issue(stack, p["a"])
    assert (policy["branch_id"], policy["institution_id"]) == (c.branch, c.office)
    due = await first_receivable(stack, policy)
    # Due Monday 28 September 2026; 5 working days skip National Day and count Saturday 10 October.
    assert (due["due_on"], due["deadline_on"], due["deadline_provisional"]) == ("2026-09-28", "2026-10-10", False)

    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    receipt = ok(await stack.ledger.post("/v1/receipts", headers=agent, json={
        "receivable_id": due["id"], "amount": "3600.00", "method": "cash",
        "handed_over_at": "2026-10-09T02:00:00Z"}), 201)
    assert receipt["status"] == "recorded"
    assert receipt["entry_id"] is None
    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    confirmed = ok(await stack.ledger.post(f"/v1/receipts/{receipt['id']}/confirmation", headers=cashier,
                                           json={"note": "现金已收"}))
    assert confirmed["status"] == "confirmed"
    assert confirmed["decided_by"]
    assert confirmed["entry_id"]
    problem(await stack.ledger.post(f"/v1/receipts/{receipt['id']}/confirmation", headers=cashier, json={}),
            409, "receipt_already_decided")
    assert ok(await stack.ledger.get(f"/v1/receivables/{due['id']}"))["status"] == "settled"

    entry = ok(await stack.ledger.get(f"/v1/journal/entries/{confirmed['entry_id']}"))
    assert [(x["account"], x["side"], x["amount"]) for x in entry["postings"]] == [
        ("cash", "debit", "3600.0000"), ("premium_receivable", "credit", "3600.0000")]
    balances = ok(await stack.ledger.get("/v1/journal/balances", params={"policy_id": policy["id"]}))
    assert {b["account"]: Decimal(b["net_debit"]) for b in balances} == {
        "cash": Decimal(3600), "premium_income": Decimal(-3600), "premium_receivable": Decimal(0)}
    running = ok(await stack.ledger.get(f"/v1/customers/{policy['customer_id']}/running-account"))["items"]
    assert [(Decimal(x["charged"]), Decimal(x["paid"]), Decimal(x["balance"])) for x in running] == [
        (Decimal(3600), 0, Decimal(3600)), (0, Decimal(3600), 0)]
    trial = ok(await stack.ledger.get("/v1/journal/trial-balance"))
    assert trial["balanced"] is True

    events = ok(await stack.ledger.get("/internal/feed", params={"limit": 1000}))["events"]
    received = [e for e in events if e["type"] == "premium.received" and e["payload"]["policy_id"] == policy["id"]]
    assert len(received) == 1
    assert received[0]["payload"]["amount"] == "3600.0000"
    assert received[0]["payload"]["received_on"] == "2026-10-09"  # the month it counts in, however late confirmed


async def test_an_organisations_deadline_into_an_unknown_year_is_provisional_until_the_year_is_loaded(
        stack: Stack) -> None:
    c, p = await people(stack)
    policy = await issue(stack, p["a"], kind="organisation", issued_on="2026-12-10")
    due = await first_receivable(stack, policy)
    assert due["deadline_provisional"] is True
    assert due["deadline_on"] == "2027-01-07"
    asked = ok(await stack.ledger.get("/v1/calendar/deadline", params={"due_on": "2026-12-10",
                                                                        "policyholder_kind": "organisation"}))
    assert asked["provisional"]
    assert asked["unknown_years"] == [2027]
    assert asked["working_days"] == 20
    problem(await stack.ledger.get("/v1/calendar/years/2027"), 404, "calendar_year_unknown")
    # The calendar is the whole company's: a branch's finance may not load it, head-office finance does.
    year = {"source": "国办发明电〔2026〕", "days": [{"day": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    branch_finance = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    problem(await stack.ledger.put("/v1/calendar/years/2027", json=year, headers=branch_finance), 403,
            "head_office_only")
    problem(await stack.ledger.get("/v1/calendar/years/2027"), 404, "calendar_year_unknown")
    head_office = stack.as_user(DataScope(institutions=frozenset({c.hq}), company_wide=True), "finance")
    loaded = ok(await stack.ledger.put("/v1/calendar/years/2027", json=year, headers=head_office))
    assert loaded["holidays"] == 1
    assert loaded["recomputed_deadlines"] >= 1
    again = ok(await stack.ledger.get(f"/v1/receivables/{due['id']}"))
    assert (again["deadline_on"], again["deadline_provisional"]) == ("2027-01-08", False)  # 1 January is off
    problem(await stack.ledger.put("/v1/calendar/years/2027", json={"source": "x", "days": [
        {"day": "2027-02-08", "kind": "makeup_workday", "name": "春节"}]}), 422, "calendar_day_invalid")


async def test_each_object_is_checked_against_the_callers_scope(stack: Stack) -> None:
    c, p = await people(stack)
    policy = await issue(stack, p["a"])
    due = await first_receivable(stack, policy)
    other = await company(stack.org)
    stranger_agent = await hire(stack.org, other, "agent")
    await stack.sync()

    def get(path: str, headers: dict[str, str]) -> Any:
        return stack.ledger.get(path, headers=headers)

    seen_by = {
        "self": stack.as_user(DataScope(agent_id=p["a"]), "agent"),
        "supervisor": stack.as_user(DataScope(agent_id=p["sup"], subtree=True), "supervisor"),
        "staff": stack.as_user(DataScope(institutions=frozenset({c.office})), "back_office"),
    }
    not_seen_by = {
        "another agent": stack.as_user(DataScope(agent_id=p["b"]), "agent"),
        "a supervisor elsewhere": stack.as_user(DataScope(agent_id=p["other_sup"], subtree=True), "supervisor"),
        "staff elsewhere": stack.as_user(DataScope(institutions=frozenset({other.branch})), "back_office"),
        "no scope": stack.as_user(DataScope(), "agent"),
    }
    for who, headers in seen_by.items():
        assert ok(await get(f"/v1/policies/{policy['id']}", headers))["id"] == policy["id"], who
        assert ok(await get(f"/v1/receivables/{due['id']}", headers))["id"] == due["id"], who
    for who, headers in not_seen_by.items():
        problem(await get(f"/v1/policies/{policy['id']}", headers), 404, "policy_not_found")
        problem(await get(f"/v1/receivables/{due['id']}", headers), 404, "receivable_not_found")
        problem(await get(f"/v1/customers/{policy['customer_id']}/running-account", headers), 404,
                "customer_not_found")
        listed = ok(await get("/v1/policies", headers))["items"]
        assert policy["id"] not in [x["id"] for x in listed], who

    # Only the receivable's own agent records a receipt in their business ledger.
    body = {"receivable_id": due["id"], "amount": "100.00", "method": "cash", "handed_over_at": "2026-10-01T00:00:00Z"}
    problem(await stack.ledger.post("/v1/receipts", json=body, headers=seen_by["supervisor"]), 403,
            "not_your_business_ledger")
    problem(await stack.ledger.post("/v1/receipts", json=body, headers=not_seen_by["another agent"]), 404,
            "receivable_not_found")
    # Back office elsewhere cannot book a policy for this office's agent.
    problem(await stack.ledger.post("/v1/policies", headers=stack.as_user(
        DataScope(institutions=frozenset({other.branch})), "back_office"), json={
        "policy_no": "P-x", "agent_id": p["a"],
        "policyholder": {"kind": "individual", "name": "x", "external_ref": "x"},
        "product_code": "x", "insurer": "x", "premium": "1.00", "frequency": "annual", "payment_mode": "cash",
        "issued_on": "2026-01-05"}), 404, "institution_not_found")
    problem(await stack.ledger.get("/v1/journal/trial-balance", headers=not_seen_by["staff elsewhere"]), 403,
            "role_required")
    assert stranger_agent


async def test_bad_entries_are_refused_and_nothing_is_half_written(stack: Stack) -> None:
    c, _ = await people(stack)
    before = ok(await stack.ledger.get("/v1/journal/trial-balance"))

    def entry(*postings: dict[str, Any]) -> dict[str, Any]:
        return {"branch_id": c.branch, "effective_on": "2026-11-01", "description": "test", "postings": list(postings)}

    debit = {"account": "bank", "side": "debit", "amount": "10.00"}
    credit = {"account": "premium_income", "side": "credit", "amount": "10.00"}
    problem(await stack.ledger.post("/v1/journal/entries", json=entry(debit, {**credit, "amount": "9.99"})), 422,
            "entry_unbalanced")
    problem(await stack.ledger.post("/v1/journal/entries", json=entry(debit, {**credit, "currency": "ABC"})), 422,
            "unknown_currency")
    problem(await stack.ledger.post("/v1/journal/entries", json=entry(debit, {**credit, "account": "x"})), 422,
            "unknown_account")
    for bad in ("-10.00", 10.5, "ten"):
        refused = problem(await stack.ledger.post("/v1/journal/entries", json=entry(debit, {**credit, "amount": bad})),
                          422, "validation_failed")
        assert refused["errors"][0]["field"] == "postings.1.amount"
    after = ok(await stack.ledger.get("/v1/journal/trial-balance"))
    assert after["accounts"] == before["accounts"]

    posted = ok(await stack.ledger.post("/v1/journal/entries", json=entry(debit, credit)), 201)
    reversal = ok(await stack.ledger.post(f"/v1/journal/entries/{posted['id']}/reversal",
                                          json={"effective_on": "2026-11-02", "reason": "wrong account"}), 201)
    assert reversal["reverses_id"] == posted["id"]
    assert [x["side"] for x in reversal["postings"]] == ["credit", "debit"]
    problem(await stack.ledger.post(f"/v1/journal/entries/{posted['id']}/reversal",
                                    json={"effective_on": "2026-11-02", "reason": "again"}), 409,
            "entry_already_reversed")
    told = [e["payload"] for e in ok(await stack.ledger.get("/internal/feed", params={"limit": 1000}))["events"]
            if e["type"] == "entry.reversed" and e["payload"]["entry_id"] == posted["id"]]
    assert len(told) == 1
    assert told[0]["reversal_entry_id"] == reversal["id"]
    problem(await stack.ledger.post(f"/v1/journal/entries/{reversal['id']}/reversal",
                                    json={"effective_on": "2026-11-02", "reason": "undo"}), 409,
            "cannot_reverse_a_reversal")

    # The books as of a business date: the entry is in them from 1 November, its reversal from the 2nd.
    by_day = {}
    for on in ("2026-10-31", "2026-11-01", "2026-11-02"):
        rows = ok(await stack.ledger.get("/v1/journal/balances", params={"branch_id": c.branch, "on": on,
                                                                          "account": "bank"}))
        by_day[on] = [(Decimal(r["debits"]), Decimal(r["credits"])) for r in rows]
    assert by_day == {"2026-10-31": [], "2026-11-01": [(Decimal(10), 0)], "2026-11-02": [(Decimal(10), Decimal(10))]}
    october = ok(await stack.ledger.get("/v1/journal/trial-balance", params={"branch_id": c.branch,
                                                                              "on": "2026-11-01"}))
    assert (october["on"], october["balanced"]) == ("2026-11-01", True)


async def test_the_database_itself_refuses_edits_and_unbalanced_entries(stack: Stack) -> None:
    c, _ = await people(stack)
    posted = ok(await stack.ledger.post("/v1/journal/entries", json={
        "branch_id": c.branch, "effective_on": "2026-11-01", "description": "test", "postings": [
            {"account": "bank", "side": "debit", "amount": "5.00"},
            {"account": "premium_income", "side": "credit", "amount": "5.00"}]}), 201)
    engine = stack.ledger_engine
    for statement in ("UPDATE ledger.journal_posting SET amount = 6 WHERE entry_id = :e",
                      "DELETE FROM ledger.journal_entry WHERE id = :e"):
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match="immutable"):
                await conn.execute(text(statement), {"e": posted["id"]})
    # An entry and its postings are written by one statement, balanced, or not at all.
    one_legged = ("WITH e AS (INSERT INTO ledger.journal_entry (branch_id, kind, description, effective_on, actor)"
                  " VALUES (:b, 'manual', 'x', '2026-11-01', 'test') RETURNING branch_id, id)"
                  " INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount)"
                  " SELECT branch_id, id, n, 'bank', 'CNY', :amount FROM e, generate_series(1, :lines) n")
    for lines, amount, why in ((2, 5, "does not balance"), (1, 0.01, "does not balance"),
                               (0, 1, "fewer than two postings")):
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match=why):
                await conn.execute(text(one_legged), {"b": c.branch, "lines": lines, "amount": amount})
    async with engine.connect() as conn:  # a posting added later to a written entry
        with pytest.raises(DBAPIError, match="added after it was written"):
            await conn.execute(text(
                "INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount)"
                " VALUES (:b, :e, 9, 'bank', 'CNY', 1), (:b, :e, 10, 'premium_income', 'CNY', -1)"),
                {"b": c.branch, "e": posted["id"]})


async def test_a_guarded_account_is_never_overdrawn_by_parallel_payments(stack: Stack) -> None:
    c, p = await people(stack)
    ok(await stack.ledger.post("/v1/journal/entries", json={
        "branch_id": c.branch, "effective_on": "2026-11-30", "description": "November commission", "postings": [
            {"account": "commission_expense", "side": "debit", "amount": "1000.00", "agent_id": p["a"]},
            {"account": "commission_payable", "side": "credit", "amount": "1000.00", "agent_id": p["a"]}]}), 201)

    async def pay() -> int:
        response = await stack.ledger.post("/v1/journal/entries", json={
            "branch_id": c.branch, "effective_on": "2026-12-05", "description": "paid", "postings": [
                {"account": "commission_payable", "side": "debit", "amount": "150.00", "agent_id": p["a"]},
                {"account": "bank", "side": "credit", "amount": "150.00"}]})
        if response.status_code != 201:
            problem(response, 409, "account_overdrawn")
        return response.status_code

    statuses = await asyncio.gather(*(pay() for _ in range(12)))
    assert statuses.count(201) == 6
    assert statuses.count(409) == 6
    owed = ok(await stack.ledger.get("/v1/journal/balances", params={"agent_id": p["a"],
                                                                     "account": "commission_payable"}))
    assert Decimal(owed[0]["net_debit"]) == Decimal("-100")


async def test_policy_life_writes_off_open_premium_and_claws_back_commission(stack: Stack) -> None:
    c, p = await people(stack)
    policy = await issue(stack, p["a"], issued_on="2026-03-02")
    ok(await stack.ledger.post("/v1/journal/entries", json={
        "branch_id": c.branch, "effective_on": "2026-03-31", "description": "FYC", "postings": [
            {"account": "commission_expense", "side": "debit", "amount": "720.00", "agent_id": p["a"],
             "policy_id": policy["id"]},
            {"account": "commission_payable", "side": "credit", "amount": "720.00", "agent_id": p["a"]}]}), 201)
    renewal = ok(await stack.ledger.post(f"/v1/policies/{policy['id']}/renewals", json={"due_on": "2026-09-01"}), 201)
    assert renewal["installment_no"] == 2
    moved = ok(await stack.ledger.post(f"/v1/policies/{policy['id']}/reassignment", json={
        "agent_id": p["b"], "effective_on": "2026-09-15", "reason": "孤儿单 reassigned"}))
    assert moved["agent_id"] == p["b"]
    assert ok(await stack.ledger.get(f"/v1/receivables/{renewal['id']}"))["agent_id"] == p["b"]
    ended = ok(await stack.ledger.post(f"/v1/policies/{policy['id']}/end", json={
        "how": "surrendered", "effective_on": "2026-10-01", "reason": "customer surrendered"}))
    assert ended["status"] == "surrendered"
    events = ok(await stack.ledger.get(f"/v1/policies/{policy['id']}/events"))
    assert [e["kind"] for e in events] == ["issued", "renewed", "agent_reassigned", "surrendered"]
    assert events[-1]["details"]["written_off"] == "7200.0000"  # both installments were still open
    assert events[-1]["details"]["clawback"] == "720.00"
    owed_by_a = ok(await stack.ledger.get("/v1/journal/balances", params={"agent_id": p["a"],
                                                                          "account": "clawback_receivable"}))
    assert Decimal(owed_by_a[0]["net_debit"]) == Decimal(720)
    problem(await stack.ledger.post(f"/v1/policies/{policy['id']}/renewals", json={"due_on": "2027-03-01"}), 409,
            "policy_not_in_force")
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True


async def test_aging_overdue_lists_and_period_end_outstanding(stack: Stack) -> None:
    c, p = await people(stack)
    late = await issue(stack, p["a"], premium="1000.00", issued_on="2026-06-01")   # deadline 5 June
    on_time = await issue(stack, p["a"], premium="500.00", issued_on="2026-11-25")
    await issue(stack, p["c"], premium="300.00", issued_on="2026-06-01")
    aging = ok(await stack.ledger.get("/v1/receivables/aging", params={"on": "2026-11-27", "group_by": "agent"},
                                      headers=stack.as_user(DataScope(agent_id=p["sup"], subtree=True), "supervisor")))
    rows = {r["group_id"]: r for r in aging["rows"]}
    assert set(rows) == {p["a"]}  # agent c is outside the supervisor's subtree
    assert aging["buckets"] == ["1-30", "31-60", "61-90", "91-180", ">180"]
    assert Decimal(rows[p["a"]]["overdue"]["91-180"]) == Decimal(1000)
    assert Decimal(rows[p["a"]]["within_deadline"]) == Decimal(500)
    overdue = ok(await stack.ledger.get("/v1/receivables/overdue",
                                        params={"on": "2026-11-27", "team_id": c.department}))
    assert {r["policy_id"] for r in overdue["items"]} >= {late["id"]}
    assert on_time["id"] not in {r["policy_id"] for r in overdue["items"]}
    agent_a = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    soon = ok(await stack.ledger.get("/v1/receivables", headers=agent_a, params={
        "deadline_from": "2026-11-27", "deadline_to": "2026-12-04"}))["items"]
    assert [r["policy_id"] for r in soon] == [on_time["id"]]  # due 25 Nov, deadline 2 Dec; the late one was 5 June
    mine = ok(await stack.ledger.get("/v1/receivables", headers=agent_a))["items"]
    assert {r["agent_id"] for r in mine} == {p["a"]}
    outstanding = ok(await stack.ledger.get("/v1/receivables/outstanding", params={
        "period_end": "2026-11-30", "agent_id": [p["a"]]}))
    assert [(Decimal(o["outstanding"]), Decimal(o["overdue"]), o["overdue_receivables"]) for o in outstanding] == [
        (Decimal(1500), Decimal(1000), 1)]


async def test_a_settlements_payables_post_once_per_agent_and_are_paid_once(stack: Stack) -> None:
    c, p = await people(stack)
    policy = await issue(stack, p["a"], issued_on="2026-11-02")
    body = {"period": "2026-11", "effective_on": "2026-11-30", "lines": [
        {"agent_id": p["a"], "amount": "1200.50", "policies": [{"policy_id": policy["id"], "amount": "1200.50"}]},
        {"agent_id": p["sup"], "amount": "300.00"}]}
    first = ok(await stack.ledger.post("/v1/payables/settlements/run-2026-11-1", json=body))
    assert [r["status"] for r in first] == ["posted", "posted"]
    again = ok(await stack.ledger.post("/v1/payables/settlements/run-2026-11-1", json=body))
    assert [(r["status"], r["payable_id"]) for r in again] == [("already_posted", r["payable_id"]) for r in first]
    changed = {**body, "lines": [{**body["lines"][1], "amount": "301.00"}]}
    problem(await stack.ledger.post("/v1/payables/settlements/run-2026-11-1", json=changed), 409, "payable_differs")
    split = {**body, "lines": [{**body["lines"][0], "amount": "1.00"}]}
    problem(await stack.ledger.post("/v1/payables/settlements/run-x", json=split), 422, "policy_split_mismatch")
    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    problem(await stack.ledger.post("/v1/payables/settlements/run-y", json=body, headers=agent), 403, "role_required")
    mine = ok(await stack.ledger.get("/v1/payables", headers=agent))["items"]
    assert [(x["agent_id"], x["amount"]) for x in mine] == [(p["a"], "1200.5000")]

    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    paid = ok(await stack.ledger.post(f"/v1/payables/{first[0]['payable_id']}/payment", headers=cashier,
                                      json={"paid_on": "2026-12-05"}))
    assert paid["status"] == "paid"
    problem(await stack.ledger.post(f"/v1/payables/{first[0]['payable_id']}/payment", headers=cashier,
                                    json={"paid_on": "2026-12-05"}), 409, "payable_already_paid")
    owed = ok(await stack.ledger.get("/v1/journal/balances", params={"agent_id": p["a"],
                                                                     "account": "commission_payable"}))
    assert Decimal(owed[0]["net_debit"]) == 0
    ended = ok(await stack.ledger.post(f"/v1/policies/{policy['id']}/end", json={
        "how": "lapsed", "effective_on": "2026-12-20", "reason": "unpaid"}))
    assert ended["status"] == "lapsed"
    clawed = ok(await stack.ledger.get("/v1/journal/balances", params={"agent_id": p["a"],
                                                                       "account": "clawback_receivable"}))
    assert Decimal(clawed[0]["net_debit"]) == Decimal("1200.50")
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True
