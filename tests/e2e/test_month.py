"""October 2026 in the life of the 天津 branch, played through the gateway's public API against the real
processes and a real PostgreSQL: one function per chapter, in the order the month happens.

The business dates are in the past and fixed (National Day 2026 and its make-up Saturday, 10 October),
so the answers do not depend on today. Only the activity log is dated from today, because an agent's
phone may only send entries of the last 31 days (activity's entry-window rule).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from svckit.timeutil import BUSINESS_TZ, business_date, utcnow

from .month import Bank, Month, Person, eventually, money, ok, problem
from .stack import running_stack, throwaway_database

pytestmark = pytest.mark.e2e
PERIOD = "2026-10"
MONTH_END = "2026-10-31"
HIRED = "2026-01-05"
SCORES = {"sales": "90", "ability": "80", "attitude": "85"}


@pytest.fixture
def month_database(pg_admin_dsn: str) -> Iterator[tuple[str, str]]:
    with throwaway_database(pg_admin_dsn, "month") as database:
        yield database


# 1. -----------------------------------------------------------------------------------------------
def the_branch_opens(m: Month) -> None:
    """HQ → 天津分公司 → 汉沽营销服务部, with its department 业务一部."""
    a = m.admin
    hq = ok(a.post("org/v1/institutions", {"kind": "hq", "tier": 1, "code": "HQ", "name": "总公司",
                                           "opened_on": "2020-01-01"}), 201)
    branch = ok(a.post("org/v1/institutions", {"parent_id": hq["id"], "kind": "branch", "tier": 2, "code": "TJ",
                                               "name": "天津分公司", "opened_on": "2020-01-01"}), 201)
    office = ok(a.post("org/v1/institutions", {"parent_id": branch["id"], "kind": "service_office", "tier": 3,
                                               "code": "TJ-HG", "name": "汉沽营销服务部",
                                               "opened_on": "2020-01-01"}), 201)
    m.institutions.update(hq=hq["id"], branch=branch["id"], office=office["id"])
    tree = ok(a.get(f"org/v1/institutions/{hq['id']}/tree"))
    assert [i["kind"] for i in tree] == ["hq", "branch", "service_office"]
    # 业务一部 was there before the system (recorded by the administrator, as a migration would).
    m.teams["one"] = ok(a.post("org/v1/teams", {"institution_id": office["id"], "valid_from": "2020-01-01"}), 201)["id"]
    assert ok(a.get(f"org/v1/teams/{m.teams['one']}"))["name"] == "天津分公司汉沽营销服务部业务一部"


# 2. -----------------------------------------------------------------------------------------------
# username → (gateway role, the institution whose data they see)
STAFF = {"backoffice": ("back_office", "office"), "cashier": ("finance", "branch"), "finance": ("finance", "branch"),
         "marketing": ("marketing_management", "branch"), "gmoffice": ("gm_office", "branch"),
         "hqmarketing": ("marketing_management", "hq"), "hqfinance": ("finance", "hq")}
# username → (name, rank, supervisor, team, gateway roles, nurturer); 业务一部 sells, 业务二部 grows new teams.
AGENTS: dict[str, tuple[str, str, str | None, str, list[str], str | None]] = {
    "zhang": ("张经理", "department_manager", None, "one", ["supervisor"], None),
    "lijun": ("李主任", "supervisor", "zhang", "one", ["supervisor"], None),
    "wang": ("王芳", "agent", "lijun", "one", ["agent"], None),
    "liu": ("刘强", "agent", "lijun", "one", ["agent"], None),
    "chen": ("陈静", "agent", "lijun", "one", ["agent"], None),
    "zhao": ("赵部长", "department_manager", None, "two", ["supervisor"], None),
    "sun": ("孙主任", "supervisor", "zhao", "two", ["supervisor"], "zhao"),
    "zhou": ("周敏", "agent", "sun", "two", ["agent"], None),
    "wuwei": ("吴部长", "department_manager", None, "two", ["supervisor"], None),
    "zheng": ("郑主任", "supervisor", "wuwei", "two", ["supervisor"], "wuwei"),
    "feng": ("冯丽", "agent", "zheng", "two", ["agent"], None),
}


def people_join(m: Month) -> None:
    """Accounts for staff and agents, the agents hired in org under their accounts, the partner bank
    given a key, and finance naming the bank's collection account for the branch."""
    branch = m.institutions["branch"]
    for username, (role, institution) in STAFF.items():
        ok(m.admin.post("auth/users", {"username": username, "password": m.password, "roles": [role],
                                       "institution_ids": [m.institutions[institution]]}), 201)
    hire(m, "one")
    assert ok(m.as_("wang").get("org/v1/scope"))["agent_id"] == m.agents["wang"]

    ok(m.admin.post("auth/partners", {"code": "icbc-tj", "name": "工商银行天津分行"}), 201)
    key = ok(m.admin.post("auth/partners/icbc-tj/keys"), 201)
    m.bank = Bank(m.gateway, "icbc-tj", key["key_id"], key["secret"])
    ok(m.as_("finance").put("ledger/v1/bank-accounts/icbc-tj", {"name": "工商银行代扣账户", "branch_id": branch}))


def hire(m: Month, team: str) -> None:
    """An account for each agent of `team`, and the agent hired in org under it."""
    for username, (name, rank, boss, their_team, roles, nurturer) in AGENTS.items():
        if their_team != team:
            continue
        user = ok(m.admin.post("auth/users", {"username": username, "password": m.password, "roles": roles}), 201)
        agent = ok(m.admin.post("org/v1/agents", {
            "code": f"TJ{len(m.agents) + 1:04d}", "name": name, "licence_no": f"0200{len(m.agents) + 1:06d}",
            "hire_date": HIRED, "institution_id": m.institutions["office"], "team_id": m.teams[team],
            "supervisor_id": m.agents[boss] if boss else None, "rank_code": rank, "user_id": user["id"],
            "nurturer_id": m.agents[nurturer] if nurturer else None}), 201)
        m.agents[username] = agent["id"]


# 3. -----------------------------------------------------------------------------------------------
def a_second_department_is_approved(m: Month) -> None:
    """业务二部 comes into existence the only way the company recognises: the office's back office applies,
    the branch's marketing management reviews, the branch GM office approves, HQ's marketing management
    approves, and the change executes on its date. Its people are hired into it."""
    applied = ok(m.as_("backoffice").post("org/v1/team-changes", {
        "kind": "create", "institution_id": m.institutions["office"], "effective_on": "2026-01-01",
        "reason": "2025年度考核：业务一部规模过大", "annual_premium_plan": {"amount": "4000000.00", "currency": "CNY"},
        "planned_headcount": 6}), 201)
    path = f"org/v1/team-changes/{applied['id']}/decisions"
    # The branch GM office cannot decide before marketing management has reviewed.
    problem(m.as_("gmoffice").post(path, {"step": "branch_gm_office", "decision": "approve"}), 409,
            "step_not_current")
    steps = (("marketing", "branch_marketing_management", "计划可信"), ("gmoffice", "branch_gm_office", "同意"),
             ("hqmarketing", "hq_marketing_management", "确认"))
    for who, step, comment in steps:
        decided = ok(m.as_(who).post(path, {"step": step, "decision": "approve", "comment": comment}))
    assert (decided["status"], decided["closed_by"]) == ("executed", "hqmarketing")
    assert [st["decision"]["actor"] for st in decided["steps"]] == ["backoffice", "marketing", "gmoffice",
                                                                     "hqmarketing"]
    m.teams["two"] = decided["result"]["team_id"]
    assert ok(m.admin.get(f"org/v1/teams/{m.teams['two']}"))["name"] == "天津分公司汉沽营销服务部业务二部"
    hire(m, "two")

    # Every service keeps its own copy of the organisation from org's change feed. Performance must
    # know every agent before the ledger's first fact about them, or it holds the fact in quarantine.
    # (The ledger and activity refuse an agent they do not know yet: those calls are retried.)
    last = m.agents["feng"]
    eventually("performance knows the agents", lambda: (
        True if m.admin.get(f"performance/v1/facts/agents/{last}", period=PERIOD).status_code == 200 else None))


# 4. -----------------------------------------------------------------------------------------------
def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BUSINESS_TZ).isoformat()


def day_531(day: date) -> list[dict[str, Any]]:
    """5 phone appointments, 3 interviews, 1 closing visit and 1 new-customer visit, as the phone keeps them."""
    kinds = ["phone_appointment"] * 5 + ["interview"] * 3 + ["closing_visit", "new_customer_visit"]
    return [{"id": str(uuid.uuid4()), "kind": kind, "occurred_at": at(day, 9 + i // 2, (i % 2) * 30)}
            for i, kind in enumerate(kinds)]


def agents_work_from_their_phones(m: Month) -> None:
    """Customers registered on the visit; a day of 5-3-1 synced as one offline batch; the resend of the
    same batch (the phone never heard the answer) changes nothing; performance counts the day for KPI."""
    def register(username: str, name: str, phone: str, grade: str) -> int:
        body = {"name": name, "company": "汉沽渔业合作社", "phone": phone, "intent": 4, "grade": grade,
                "client_id": str(uuid.uuid4()), "channel": "sme", "territory": "HG-01"}
        registered = eventually(f"activity knows {username}", lambda: known(
            m.as_(username).post("activity/v1/customers", body), 201))
        # The phone, offline when the answer came, sends the form again: the same customer, not a second.
        assert ok(m.as_(username).post("activity/v1/customers", body))["id"] == registered["id"]
        return int(registered["id"])

    m.customers["wang_1"] = register("wang", "赵总", "13900000001", "A")
    m.customers["chen_1"] = register("chen", "钱女士", "13900000002", "B")
    m.customers["chen_2"] = register("chen", "孙先生", "13900000003", "C")

    yesterday = business_date(utcnow()) - timedelta(days=1)
    batch = day_531(yesterday)
    batch[3]["customer_id"] = m.customers["wang_1"]
    wang = m.as_("wang")
    first = ok(wang.post("activity/v1/entries/sync", {"entries": batch}))
    assert (first["accepted"], first["rejected"]) == (10, 0)
    again = ok(wang.post("activity/v1/entries/sync", {"entries": batch}))
    assert [r["status"] for r in again["results"]] == ["unchanged"] * 10
    [day] = ok(wang.get(f"activity/v1/agents/{m.agents['wang']}/days", **{"from": yesterday.isoformat(),
                                                                           "to": yesterday.isoformat()}))
    assert day["counts"] == {"phone_appointment": 5, "interview": 3, "closing_visit": 1, "new_customer_visit": 1}
    assert day["visits"] == 5
    assert [c["id"] for c in ok(wang.get("activity/v1/customers/mine"))["items"]] == [m.customers["wang_1"]]

    def counted() -> dict[str, Any] | None:  # performance learns the day from activity's change feed
        month = ok(m.admin.get(f"performance/v1/facts/agents/{m.agents['wang']}/activity", period=f"{yesterday:%Y-%m}"))
        return month if month["visits"] == 5 else None

    kpi = eventually("performance counts 王芳's day for KPI", counted)
    assert (kpi["active_days"], kpi["counts"]) == (1, day["counts"])
    # The supervisor sees the grade of a member's customer, never who it is.
    seen = ok(m.as_("lijun").get(f"activity/v1/customers/{m.customers['wang_1']}"))
    assert seen["grade"] == "A"
    assert "赵总" not in str(seen)
    problem(m.as_("lijun").get(f"activity/v1/customers/{m.customers['wang_1']}/contact"), 403, "contact_private")


def known(response: httpx.Response, status: int) -> dict[str, Any] | None:
    """The answer, or None while the service has not yet learnt of the agent from org's feed (nothing
    was done, so the call may simply be sent again)."""
    if response.status_code in (403, 422) and response.json().get("code") in ("agent_not_found", "not_an_agent"):
        return None
    return dict(ok(response, status))


# 5. -----------------------------------------------------------------------------------------------
# key → (agent, policyholder kind, premium, payment mode, issued on)
POLICIES = {
    "wang_cash": ("wang", "individual", "3600.00", "cash", "2026-09-28"),
    "wang_debit": ("wang", "individual", "10000.00", "bank_debit", "2026-10-12"),
    "liu_debit": ("liu", "individual", "5000.00", "bank_debit", "2026-10-12"),
    "wang_debit_2": ("wang", "individual", "2000.00", "bank_debit", "2026-10-13"),
    "liu_company": ("liu", "organisation", "20000.00", "transfer", "2026-10-20"),
    "chen_cash": ("chen", "individual", "1500.00", "cash", "2026-10-15"),
}


def issue(m: Month, body: dict[str, Any]) -> dict[str, Any]:
    return eventually(f"the ledger knows agent {body['agent_id']}", lambda: known(
        m.as_("backoffice").post("ledger/v1/policies", body), 201))


def policies_are_issued(m: Month) -> None:
    """Back office issues the month's policies; each makes its first premium due, with a collection
    deadline counted in working days on the mainland-China calendar."""
    for key, (agent, kind, premium, mode, issued_on) in POLICIES.items():
        body = {"policy_no": f"TJ-{key}-{secrets.token_hex(3)}", "agent_id": m.agents[agent],
                "policyholder": {"kind": kind, "name": "汉沽渔业公司" if kind == "organisation" else f"客户{key}",
                                 "external_ref": f"C-{key}"},
                "product_code": "LIFE-20", "insurer": "本公司", "premium": premium, "frequency": "annual",
                "payment_mode": mode, "issued_on": issued_on}
        if mode == "bank_debit":
            body["mandate_ref"] = f"M-{key}"
        m.policies[key] = issue(m, body)
    # A premium sent as a JSON number with a fraction is refused, naming the field and the rule.
    sloppy = {**body, "policy_no": "TJ-sloppy", "premium": 3600.5}
    refused = problem(m.as_("backoffice").post("ledger/v1/policies", sloppy), 422, "validation_failed")
    assert [e["field"] for e in refused["errors"]] == ["premium"]
    for key, policy in m.policies.items():
        listed = ok(m.admin.get("ledger/v1/receivables", agent_id=policy["agent_id"]))["items"]
        m.receivables[key] = next(r for r in listed if r["policy_id"] == policy["id"])

    # Due Monday 28 September: of the five working days, 29 and 30 September come before National Day
    # (1-7 October), then 8 and 9 October and the make-up working Saturday, 10 October.
    due = m.receivables["wang_cash"]
    assert (due["due_on"], due["deadline_on"], due["deadline_provisional"]) == ("2026-09-28", "2026-10-10", False)
    shown = ok(m.admin.get("ledger/v1/calendar/deadline", due_on="2026-09-28", policyholder_kind="individual"))
    assert (shown["working_days"], shown["deadline_on"]) == (5, "2026-10-10")
    assert m.receivables["liu_company"]["deadline_on"] == "2026-11-17"  # an organisation has 20 working days
    assert m.receivables["chen_cash"]["deadline_on"] == "2026-10-22"


# 6. -----------------------------------------------------------------------------------------------
def the_bank_debits(m: Month) -> None:
    """Finance sends a batch; the bank fetches it and answers through the partner API: successes, a
    failure, a message sent twice, a result that comes after the day's file which already had it,
    and one file line naming nothing we sent (held in suspense, listed for finance)."""
    assert m.bank is not None
    bank, finance = m.bank, m.as_("finance")
    batch = ok(finance.post("ledger/v1/debit-batches", {"bank_code": "icbc-tj", "due_through": "2026-10-14"}), 201)
    assert (batch["instructions"], money(batch["total"])) == (3, Decimal("17000"))

    listed = ok(bank.call("GET", "batches"))
    assert [b["id"] for b in listed] == [batch["id"]]
    instructions = ok(bank.call("GET", f"batches/{batch['id']}/instructions"))["items"]
    by_mandate = {i["mandate_ref"]: i["id"] for i in instructions}
    ok(bank.call("POST", f"batches/{batch['id']}/acknowledgement"))
    # A user's token is no key to the partner API, and a key signed with another secret is refused.
    refused = m.as_("finance").client.get(f"{m.gateway}/api/v1/partner/bank/batches")
    problem(refused, 401, "partner_signature_missing")
    forged = Bank(m.gateway, bank.code, bank.key_id, "not-the-secret-" + secrets.token_hex(16))
    problem(forged.call("GET", "batches"), 401, "partner_signature_invalid")

    def result(key: str, reference: str, amount: str, reason: str | None = None) -> dict[str, Any]:
        return {"instruction_id": by_mandate[f"M-{key}"], "outcome": "failure" if reason else "success",
                "amount": amount, "currency": "CNY", "reason_code": reason, "bank_reference": reference,
                "value_date": "2026-10-15"}

    first = ok(bank.call("POST", "results", json_body={"results": [
        result("wang_debit", "B001", "10000.00"), result("liu_debit", "B002", "5000.00", "insufficient_funds")]}))
    assert [x["disposition"] for x in first["items"]] == ["applied", "failed"]
    twice = ok(bank.call("POST", "results", json_body={"results": [result("wang_debit", "B001", "10000.00")]}))
    assert twice["items"][0]["disposition"] == "duplicate"

    header = "instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n"
    lines = [f"{by_mandate['M-wang_debit']},B001,2026-10-15,10000.00,CNY,success,",
             f"{by_mandate['M-liu_debit']},B002,2026-10-15,5000.00,CNY,failure,insufficient_funds",
             f"{by_mandate['M-wang_debit_2']},B003,2026-10-15,2000.00,CNY,success,",
             ",B004,2026-10-15,88.00,CNY,success,"]
    content = (header + "\n".join(lines) + "\n").encode()
    report = ok(bank.call("POST", "reconciliation-files", query="file_date=2026-10-15", content=content,
                          content_type="text/csv"))
    assert (report["lines"], report["applied"], report["duplicates"], report["exceptions"]) == (4, 1, 2, 1)
    assert money(report["suspense_amount"]) == Decimal(88)
    late = ok(bank.call("POST", "results", json_body={"results": [result("wang_debit_2", "B003", "2000.00")]}))
    assert late["items"][0]["disposition"] == "duplicate"  # the file had it first: nothing twice

    held = ok(finance.get("ledger/v1/bank-exceptions"))["items"]
    assert [(h["kind"], money(h["amount"]), h["in_suspense"]) for h in held] == [
        ("unknown_instruction", Decimal(88), True)]
    suspense = ok(finance.get("ledger/v1/journal/balances", branch_id=m.institutions["branch"], account="suspense"))
    assert money(suspense[0]["net_debit"]) == Decimal(-88)
    for key, status in (("wang_debit", "settled"), ("wang_debit_2", "settled"), ("liu_debit", "open")):
        assert ok(finance.get(f"ledger/v1/receivables/{m.receivables[key]['id']}"))["status"] == status, key


# 7. -----------------------------------------------------------------------------------------------
def the_cashier_confirms_cash(m: Month) -> None:
    """王芳 records the cash her customer handed over on 9 October in her business ledger; the cashier
    confirms it, once; only then is it posted."""
    due = m.receivables["wang_cash"]
    receipt = ok(m.as_("wang").post("ledger/v1/receipts", {
        "receivable_id": due["id"], "amount": "3600.00", "method": "cash",
        "handed_over_at": "2026-10-09T10:00:00+08:00", "note": "客户现金交付"}), 201)
    assert (receipt["status"], receipt["entry_id"]) == ("recorded", None)
    problem(m.as_("liu").get(f"ledger/v1/receipts/{receipt['id']}"), 404, "receipt_not_found")
    confirmed = ok(m.as_("cashier").post(f"ledger/v1/receipts/{receipt['id']}/confirmation", {"note": "现金已收"}))
    assert confirmed["status"] == "confirmed"
    assert confirmed["entry_id"]
    problem(m.as_("cashier").post(f"ledger/v1/receipts/{receipt['id']}/confirmation", {"note": "again"}), 409,
            "receipt_already_decided")
    entry = ok(m.as_("cashier").get(f"ledger/v1/journal/entries/{confirmed['entry_id']}"))
    assert entry["effective_on"] == "2026-10-09"
    assert ok(m.admin.get(f"ledger/v1/receivables/{due['id']}"))["status"] == "settled"


# 8. -----------------------------------------------------------------------------------------------
def the_month_is_settled(m: Month) -> None:
    """HQ's marketing management puts this year's basic law in force from October (a promotion now takes
    2 policies in the month); once performance has caught up with the ledger's feed, HQ's finance settles
    October. The basic law and the run are the whole company's: the branch's staff may do neither."""
    marketing = m.as_("hqmarketing")
    in_force = ok(marketing.get("performance/v1/rule-sets/in-force", on="2026-10-01"))
    body = in_force["body"]
    body["rank_conditions"] = [c for c in body["rank_conditions"] if c["kind"] != "promotion"] + [
        {"rank_code": "agent", "kind": "promotion", "target_rank": "probationary_supervisor", "months": 1,
         "policies_min": 2}]
    rule_set = {"version": "TJ-2026-10", "status": "in_force", "valid_from": "2026-10-01", "body": body}
    problem(m.as_("marketing").post("performance/v1/rule-sets", rule_set), 403, "head_office_only")
    ok(marketing.post("performance/v1/rule-sets", rule_set), 201)

    # Received premium, by agent, as the ledger booked it in October.
    expected = {"wang": Decimal("15600"), "liu": Decimal(0), "chen": Decimal(0)}

    def caught_up() -> bool | None:
        for username, amount in expected.items():
            facts = ok(m.admin.get(f"performance/v1/facts/agents/{m.agents[username]}", period=PERIOD))
            received = sum((money(f["received_premium"]) for f in facts), Decimal(0))
            new = sum(f["new_policies"] for f in facts)
            wanted_new = sum(1 for a, *_, on in POLICIES.values() if a == username and on.startswith(PERIOD))
            if received != amount or new != wanted_new:
                return None
        return True

    eventually("performance has every October fact from the ledger's feed", caught_up)
    assert ok(m.as_("finance").get("performance/v1/facts/quarantine"))["items"] == []

    problem(m.as_("finance").post("performance/v1/settlements", {"period": PERIOD}), 403, "head_office_only")
    run = ok(m.as_("hqfinance").post("performance/v1/settlements", {"period": PERIOD}), 201)
    assert (run["status"], run["mode"], run["posted"], run["rule_set_version"]) == (
        "completed", "final", True, "TJ-2026-10")
    m.settlement = run


# 9. -----------------------------------------------------------------------------------------------
def agents_read_their_statements(m: Month) -> None:
    """Each agent reads their own statement, line by line with its rule and arithmetic; another agent's
    is not theirs to see."""
    wang = ok(m.as_("wang").get(f"performance/v1/statements/{m.agents['wang']}", period=PERIOD))
    commission = [line for line in wang["lines"] if line["kind"] == "commission"]
    # 30% first-year commission on the 15,600 received in October.
    assert sum((money(x["amount"]) for x in commission), Decimal(0)) == Decimal("4680.00")
    assert all(line["rule"] and line["arithmetic"] for line in wang["lines"])
    zhang = ok(m.as_("zhang").get(f"performance/v1/statements/{m.agents['zhang']}", period=PERIOD))
    assert zhang["lines"], zhang
    # Her supervisor sees the statements of his line; 赵部长 of the other department does not.
    assert ok(m.as_("lijun").get(f"performance/v1/statements/{m.agents['wang']}", period=PERIOD))["net"] == wang["net"]
    for reader, other in (("wang", "zhang"), ("liu", "wang"), ("zhou", "wang"), ("zhao", "wang")):
        problem(m.as_(reader).get(f"performance/v1/statements/{m.agents[other]}", period=PERIOD), 404,
                "statement_not_found")


# 10. ----------------------------------------------------------------------------------------------
def finance_pays_commission(m: Month) -> None:
    """The settlement posted one payable per agent owed money; every statement adds up to its payable;
    finance pays each once."""
    finance = m.as_("finance")
    payables = ok(finance.get("ledger/v1/payables", limit=200))["items"]
    ours = [p for p in payables if p["settlement_run"] == m.settlement["id"]]
    assert ours, payables
    total_lines = Decimal(0)
    for payable in ours:
        statement = ok(finance.get(f"performance/v1/statements/{payable['agent_id']}", period=PERIOD))
        lines = sum((money(x["amount"]) for x in statement["lines"]), Decimal(0))
        assert lines == money(payable["amount"]) == money(statement["net"]), statement
        total_lines += lines
    assert total_lines == sum((money(p["amount"]) for p in ours), Decimal(0))
    # Nobody has a statement without a payable, or the other way round.
    with_statement = {agent for agent in m.agents.values()
                      if finance.get(f"performance/v1/statements/{agent}", period=PERIOD).status_code == 200}
    assert with_statement == {p["agent_id"] for p in ours}
    # 王芳 30% of 15,600; 张经理 2% of his subordinate group's 4,680 FYC (所辖组管理津贴).
    assert {p["agent_id"]: money(p["amount"]) for p in ours} == {
        m.agents["wang"]: Decimal("4680.00"), m.agents["zhang"]: Decimal("93.60")}
    branch = m.institutions["branch"]
    balance = ok(finance.get("ledger/v1/journal/balances", account="commission_payable", branch_id=branch))
    assert money(balance[0]["net_debit"]) == -total_lines
    for payable in ours:
        paid = ok(finance.post(f"ledger/v1/payables/{payable['id']}/payment", {"paid_on": "2026-11-10"}))
        assert paid["status"] == "paid"
        assert paid["payment_entry_id"]
    problem(finance.post(f"ledger/v1/payables/{ours[0]['id']}/payment", {"paid_on": "2026-11-10"}), 409,
            "payable_already_paid")
    after = ok(finance.get("ledger/v1/journal/balances", account="commission_payable", branch_id=branch))
    assert money(after[0]["net_debit"]) == 0


# 11. ----------------------------------------------------------------------------------------------
def wang_is_promoted(m: Month) -> None:
    """A promotion assessment of 王芳 for October: self, supervisor, consolidation, feedback; its
    proposal goes to org, and her rank changes from 1 November."""
    marketing, li, wang = m.as_("marketing"), m.as_("lijun"), m.as_("wang")
    opened = ok(marketing.post("performance/v1/assessments", {"agent_id": m.agents["wang"], "kind": "promotion",
                                                              "period": PERIOD}), 201)
    met = {c["condition"]: c["met"] for c in opened["conditions"]["conditions"]}
    assert met == {"new_policies": True}, opened["conditions"]
    path = f"performance/v1/assessments/{opened['id']}"
    ok(wang.post(f"{path}/self-evaluation", {"scores": SCORES, "comment": "十月完成两件新单"}))
    ok(li.post(f"{path}/supervisor-evaluation", {"scores": SCORES, "comment": "拜访量稳定，同意晋升"}))
    consolidated = ok(marketing.post(f"{path}/consolidation"))
    assert consolidated["proposal"] == {"kind": "promotion", "rank_code": "probationary_supervisor"}
    ok(li.post(f"{path}/feedback", {"note": "面谈完毕"}))
    ok(marketing.post(f"{path}/proposal", {"effective_on": "2026-11-01"}))
    agent = f"org/v1/agents/{m.agents['wang']}"
    assert ok(m.admin.get(agent, on="2026-10-31"))["position"]["rank_code"] == "agent"
    assert ok(m.admin.get(agent, on="2026-11-01"))["position"]["rank_code"] == "probationary_supervisor"


# 12. ----------------------------------------------------------------------------------------------
def teams_split_under_both_fission_styles(m: Month) -> None:
    """孙主任, nurtured by 赵部长, reaches his rank on 8 October under the seeded Ping An/PICC policy:
    the team separates and counts back for promotion and maintenance. From 16 October the China Life
    style is in force; 郑主任, nurtured by 吴部长, reaches it on 19 October: no separation, and count-back
    for maintenance only."""
    a = m.admin
    zhao, sun, zhou = m.agents["zhao"], m.agents["sun"], m.agents["zhou"]
    wu, zheng, feng = m.agents["wuwei"], m.agents["zheng"], m.agents["feng"]

    def chain(agent: int, on: str) -> list[int]:
        return [link["agent_id"] for link in ok(a.get(f"org/v1/agents/{agent}/chain", on=on))]

    def count_back(nurturer: int, assessment: str, start: str = "2026-11-01",
                   end: str = "2027-04-30") -> list[tuple[int, str, bool, str]]:
        answer = ok(a.get(f"org/v1/agents/{nurturer}/count-back", period_start=start, period_end=end,
                          assessment=assessment))
        return [(x["team_head_id"], x["reason"], x["separated"], x["share"]) for x in answer]

    assert ok(a.get("org/v1/fission-policy", on="2026-10-08"))["style"] == "ping_an_picc"
    ok(a.post(f"org/v1/agents/{sun}/rank-changes", {"effective_on": "2026-10-08", "rank_code": "department_manager",
                                                    "kind": "promotion", "reason": "晋升部经理"}))
    assert chain(zhou, "2026-10-07") == [sun, zhao]
    assert chain(zhou, "2026-10-08") == [sun]  # the new team separates from its nurturer's line

    ok(a.post("org/v1/fission-policies", {
        "style": "china_life", "separate_on_peer_level": False, "may_return": False, "counts_indirect": False,
        "protection_months": 24, "count_back_periods": 2, "assessment_period_months": 6,
        "count_back_for_promotion": False, "count_back_for_maintenance": True, "count_back_share": "1",
        "valid_from": "2026-10-16"}), 201)
    ok(a.post(f"org/v1/agents/{zheng}/rank-changes", {"effective_on": "2026-10-19",
                                                      "rank_code": "department_manager", "kind": "promotion",
                                                      "reason": "晋升部经理"}))
    assert chain(feng, "2026-10-19") == [zheng, wu]  # peer level, but the team stays

    assert count_back(zhao, "promotion") == [(sun, "first_periods", True, "1.0000")]
    assert count_back(zhao, "maintenance") == [(sun, "first_periods", True, "1.0000")]
    assert count_back(wu, "promotion") == []  # 只有维持考核回算，晋升不回算
    assert count_back(wu, "maintenance") == [(zheng, "first_periods", False, "1.0000")]
    # A year on, past the first two 6-month periods: Ping An/PICC counts nothing back any more; China
    # Life's 2-year peer-level protection 平级保护期 still does.
    assert count_back(zhao, "maintenance", "2027-11-01", "2028-04-30") == []
    assert count_back(wu, "maintenance", "2027-11-01", "2028-04-30") == [(zheng, "protection_period", False, "1.0000")]
    # 分离不回归: under China Life a team never returns.
    [kept] = ok(a.get(f"org/v1/agents/{wu}/count-back", period_start="2026-11-01", period_end="2027-04-30",
                      assessment="maintenance"))
    problem(a.post(f"org/v1/separations/{kept['separation_id']}/return", {"effective_on": "2026-11-02"}), 409,
            "return_not_allowed")


# 13. ----------------------------------------------------------------------------------------------
def chen_leaves_and_hands_over(m: Month) -> None:
    """陈静 leaves on 30 October; her supervisor hands her customers to 刘强, who can now read their
    contact data, and she no longer can."""
    chen, liu = m.agents["chen"], m.agents["liu"]
    ok(m.admin.post(f"org/v1/agents/{chen}/leave", {"effective_on": "2026-10-30", "reason": "辞职"}))
    li = m.as_("lijun")
    mine = sorted([m.customers["chen_1"], m.customers["chen_2"]])

    def orphaned() -> list[int] | None:
        found = sorted(c["id"] for c in ok(li.get("activity/v1/customers", owner_left="true"))["items"])
        return found if found == mine else None

    eventually("activity learns that 陈静 left", orphaned)
    moved = ok(li.post("activity/v1/customer-transfers", {"from_agent_id": chen, "to_agent_id": liu,
                                                         "reason": "agent_left"}), 201)
    assert sorted(t["customer_id"] for t in moved) == mine
    contact = ok(m.as_("liu").get(f"activity/v1/customers/{m.customers['chen_1']}/contact"))
    assert (contact["contact"]["name"], contact["owner_agent_id"]) == ("钱女士", liu)
    # Her open premium is an orphan policy 孤儿单: back office hands it to 刘强 as well.
    orphan = m.policies["chen_cash"]
    reassigned = ok(m.as_("backoffice").post(f"ledger/v1/policies/{orphan['id']}/reassignment", {
        "agent_id": liu, "effective_on": "2026-10-30", "reason": "原业务员离职"}))
    assert reassigned["agent_id"] == liu
    assert ok(m.admin.get(f"ledger/v1/receivables/{m.receivables['chen_cash']['id']}"))["agent_id"] == liu
    # She is no longer anyone's agent: her former customers do not exist for her.
    problem(m.as_("chen").get(f"activity/v1/customers/{m.customers['chen_1']}/contact"), 404, "customer_not_found")


# 14. ----------------------------------------------------------------------------------------------
def the_books_balance(m: Month) -> None:
    """The journal balances; the receivables left at the end of October age as they should."""
    finance = m.as_("finance")
    for trial in (ok(finance.get("ledger/v1/journal/trial-balance", branch_id=m.institutions["branch"])),
                  ok(m.admin.get("ledger/v1/journal/trial-balance"))):  # the branch's books, the company's
        assert trial["balanced"] is True
        assert sum((money(a["net_debit"]) for a in trial["accounts"]), Decimal(0)) == 0
        for totals in trial["totals"].values():
            assert money(totals["debits"]) == money(totals["credits"]), trial["totals"]
    aging = ok(finance.get("ledger/v1/receivables/aging", on=MONTH_END, group_by="agent"))
    rows = {row["group_id"]: row for row in aging["rows"]}
    liu = rows[m.agents["liu"]]
    # 刘强: the failed debit (5,000, overdue since 19 October), 陈静's orphan premium (1,500, overdue since
    # 22 October) and the company's 20,000 (due by 17 November).
    assert (money(liu["within_deadline"]), liu["receivables"]) == (Decimal(20000), 3)
    assert {k: money(v) for k, v in liu["overdue"].items() if money(v)} == {"1-30": Decimal(6500)}
    assert set(rows) == {m.agents["liu"]}  # all of 王芳's premium came in; 陈静 owes nothing any more
    [everyone] = ok(finance.get("ledger/v1/receivables/aging", on=MONTH_END, group_by="all"))["rows"]
    owed = money(everyone["within_deadline"]) + sum((money(v) for v in everyone["overdue"].values()), Decimal(0))
    books = {b["account"]: money(b["net_debit"]) for b in ok(finance.get(
        "ledger/v1/journal/balances", branch_id=m.institutions["branch"]))}
    assert owed == books["premium_receivable"] == Decimal(26500)  # the aging is the journal's, to the cent
    # In: 10,000 and 2,000 debited and 88 the bank could not name; out: 4,773.60 commission paid.
    assert books["bank"] == Decimal("7314.40")
    assert books["suspense"] == Decimal(-88)
    assert books["cash"] == Decimal(3600)


def test_a_month_in_the_life_of_a_branch(month_database: tuple[str, str], tmp_path: Path) -> None:
    dsn, prefix = month_database
    admin_password, password = "adm-" + secrets.token_urlsafe(18), "usr-" + secrets.token_urlsafe(18)
    env = {"DATABASE_URL": dsn, "STACK_ROLE_PREFIX": prefix, "GATEWAY_ADMIN_PASSWORD": admin_password}
    with running_stack(env, tmp_path / "data") as stack:
        stack.wait_healthy()
        month = Month(stack.gateway, Person(stack.gateway, "admin", admin_password), password)
        try:
            play(month)
        finally:
            month.close()
        assert stack.stop() == 0


def play(m: Month) -> None:
    for chapter in CHAPTERS:
        chapter(m)


CHAPTERS = (the_branch_opens, people_join, a_second_department_is_approved, agents_work_from_their_phones,
            policies_are_issued, the_bank_debits, the_cashier_confirms_cash, the_month_is_settled,
            agents_read_their_statements, finance_pays_commission, wang_is_promoted,
            teams_split_under_both_fission_styles, chen_leaves_and_hands_over, the_books_balance)
