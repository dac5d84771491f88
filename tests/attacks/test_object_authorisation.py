"""Object-level authorisation (BOLA) on every resource of every service, through the gateway.

The routes under attack are read from the merged OpenAPI document: every operation with a path
parameter or a query parameter naming an agent, team, institution, customer or policy. Each must
have a case below, or the completeness test fails, so a new route cannot ship without one.

For objects of agent a1 the attackers are another agent of the same supervisor (a2), a supervisor
outside a1's line (sup_b) and the back office of another branch (bo_y); for objects of department
or office X they are an agent and a supervisor of branch Y (y1, y_sup) and bo_y. The house
convention, found in the services: an object outside the caller's scope is 404 (`*_not_found`, so
its existence is not revealed); an action the caller's role may never take is 403. Each refusal is
problem+json. A list filtered on someone else's agent, team or institution is refused or empty.
Each GET case also names a witness who does see the object, so a refusal is never just a typo.
Creations whose body names an owner (agent, team, institution, customer, receivable...) are read
from the document the same way and aimed at X: refused with 403/404, or 422 naming that field. An
owner named inside a list of the body (`facts[].agent_id`, `entries[].customer_id`) counts too: the
request is refused naming the item's field (`facts[2].agent_id`), or, where items are judged one by
one (an offline sync), every item naming X's object is rejected naming that field.

Branch Y's finance (fin_y) attacks every route too. Where finance works (the books, receipts,
payables, auto-debit, disputes' finance step), FINANCE_CASES aims it at real objects of branch X
kept for the purpose, and branch X's finance (fin_x) is the witness who gets 200 or 201: for a
write, after the attack was refused, so the attack meets the object untouched.

What the whole company runs on (the ledger's rules, calendar and chart of accounts, the basic law,
settlement runs) names no branch's object: HEAD_OFFICE_ONLY shows branch Y's finance or marketing,
who hold the role, refused with 403 `head_office_only` and nothing written, and the head office's
doing the same.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.attacks.people import complete_document
from tests.attacks.world import World
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e

# Query parameters that name whose data a list is about.
SCOPING_QUERY = frozenset({"agent_id", "team_id", "institution_id", "owner_agent_id", "member_agent_id",
                           "branch_id", "customer_id", "policy_id"})
AGENT_ATTACKERS = ("a2", "sup_b", "bo_y")
TEAM_ATTACKERS = ("y1", "y_sup", "bo_y")
Body = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Case:
    """How to aim one route at the victim's objects, and what the attackers must get."""

    path: dict[str, str] = field(default_factory=dict)  # path parameter -> key of World.ids
    query: dict[str, str] = field(default_factory=dict)  # query parameter -> key of World.ids, or "=literal"
    body: Body | None = None
    kind: str = "object"  # object | list | shared | own | partner | items (a creation judged item by item)
    reach: str = "agent"  # agent: objects of a1 or A; team: of department or office X
    witness: str | None = None  # sees the object (GET cases)
    why: str = ""  # for shared and own: why no one else's object can be named


def on(day_key: str = "today") -> Body:
    """A body of just an effective date."""
    return lambda ids: {"effective_on": ids[day_key]}


A1, TEAM, OFFICE = {"agent_id": "a1"}, {"team_id": "team_x"}, {"institution_id": "office_x"}
LAST_MONTH = {"period": "last_month"}
SCORES = {"scores": {"sales": "80", "ability": "80", "attitude": "80"}, "comment": "好"}
CASES: dict[tuple[str, str], Case] = {
    # org
    ("GET", "/api/v1/org/v1/institutions/{institution_id}"): Case(OFFICE, reach="team", witness="bo_x"),
    ("GET", "/api/v1/org/v1/institutions/{institution_id}/tree"): Case(OFFICE, reach="team", witness="bo_x"),
    ("GET", "/api/v1/org/v1/teams/{team_id}"): Case(TEAM, reach="team", witness="bo_x"),
    ("POST", "/api/v1/org/v1/teams/{team_id}/rename"): Case(
        TEAM, reach="team", body=lambda ids: {"name": "被改名", "effective_on": ids["today"]}),
    ("POST", "/api/v1/org/v1/teams/{team_id}/dissolve"): Case(TEAM, reach="team", body=on()),
    ("GET", "/api/v1/org/v1/agents/{agent_id}"): Case(A1, witness="a1"),
    ("POST", "/api/v1/org/v1/agents/{agent_id}/moves"): Case(
        A1, body=lambda ids: {"effective_on": ids["today"], "supervisor_id": ids["sup_b"], "reason": "调动"}),
    ("POST", "/api/v1/org/v1/agents/{agent_id}/rank-changes"): Case(A1, body=lambda ids: {
        "effective_on": ids["today"], "rank_code": "supervisor", "kind": "promotion", "reason": "晋升"}),
    ("POST", "/api/v1/org/v1/agents/{agent_id}/leave"): Case(
        A1, body=lambda ids: {"effective_on": ids["today"], "reason": "resigned"}),
    ("GET", "/api/v1/org/v1/agents/{agent_id}/chain"): Case(A1, witness="a1"),
    ("GET", "/api/v1/org/v1/agents/{agent_id}/subtree"): Case({"agent_id": "sup_a"}, witness="sup_a"),
    ("GET", "/api/v1/org/v1/agents/{agent_id}/bloodline"): Case(A1, query={"kind": "=recruiter"}, witness="a1"),
    ("GET", "/api/v1/org/v1/snapshot"): Case(query=OFFICE, kind="list", reach="team", witness="bo_x"),
    ("POST", "/api/v1/org/v1/agents/{agent_id}/territories"): Case(
        A1, body=lambda ids: {"kind": "channel", "code": "抢占网点", "effective_on": ids["today"]}),
    ("GET", "/api/v1/org/v1/agents/{agent_id}/territories"): Case(A1, witness="a1"),
    ("POST", "/api/v1/org/v1/agents/{agent_id}/territories/end"): Case(
        A1, body=lambda ids: {"kind": "territory", "code": ids["territory"], "effective_on": ids["today"]}),
    ("GET", "/api/v1/org/v1/territories/{code}/owner"): Case({"code": "territory"}, witness="a1"),
    ("GET", "/api/v1/org/v1/team-changes"): Case(query=OFFICE, kind="list", reach="team", witness="bo_x"),
    ("GET", "/api/v1/org/v1/team-changes/{request_id}"): Case(
        {"request_id": "team_change"}, reach="team", witness="bo_x"),
    ("POST", "/api/v1/org/v1/team-changes/{request_id}/decisions"): Case(
        {"request_id": "team_change"}, reach="team",
        body=lambda ids: {"step": "branch_marketing_management", "decision": "approve"}),
    ("POST", "/api/v1/org/v1/team-changes/{request_id}/cancel"): Case({"request_id": "team_change"}, reach="team"),
    ("GET", "/api/v1/org/v1/agents/{agent_id}/count-back"): Case(A1, witness="admin", query={
        "period_start": "=2026-01-01", "period_end": "=2026-07-01", "assessment": "=promotion"}),
    ("POST", "/api/v1/org/v1/separations/{separation_id}/return"): Case(
        {"separation_id": "separation"}, reach="team", body=on()),
    # performance
    ("GET", "/api/v1/performance/v1/facts/agents/{agent_id}"): Case(A1, query=LAST_MONTH, witness="a1"),
    ("GET", "/api/v1/performance/v1/facts/agents/{agent_id}/activity"): Case(A1, query=LAST_MONTH, witness="a1"),
    ("GET", "/api/v1/performance/v1/rule-sets/{rule_set_id}"): Case(
        {"rule_set_id": "rule_set"}, kind="shared", why="the company's commission rules, the same for everyone"),
    ("GET", "/api/v1/performance/v1/settlements/{run_id}"): Case({"run_id": "performance_run"}, witness="admin"),
    ("GET", "/api/v1/performance/v1/settlements/{run_id}/diff"): Case({"run_id": "performance_run"}),
    ("POST", "/api/v1/performance/v1/settlements/{run_id}/post"): Case({"run_id": "performance_run"}),
    ("GET", "/api/v1/performance/v1/statements/{agent_id}"): Case(A1, query={"run_id": "performance_run"},
                                                                  witness="a1"),
    ("GET", "/api/v1/performance/v1/disputes/{dispute_id}"): Case({"dispute_id": "dispute"}, witness="a1"),
    ("POST", "/api/v1/performance/v1/disputes/{dispute_id}/supervisor-review"): Case(
        {"dispute_id": "dispute"}, body=lambda ids: {"endorse": True, "note": "同意"}),
    ("POST", "/api/v1/performance/v1/disputes/{dispute_id}/finance-decision"): Case(
        {"dispute_id": "dispute"}, body=lambda ids: {"accept": True, "note": "同意"}),
    ("GET", "/api/v1/performance/v1/agents/{agent_id}/rank-gap"): Case(A1, query={**LAST_MONTH, "kind": "=promotion"},
                                                                      witness="a1"),
    ("GET", "/api/v1/performance/v1/assessments"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/performance/v1/assessments/{assessment_id}"): Case({"assessment_id": "assessment"},
                                                                       witness="a1"),
    ("POST", "/api/v1/performance/v1/assessments/{assessment_id}/self-evaluation"): Case(
        {"assessment_id": "assessment"}, body=lambda ids: SCORES),
    ("POST", "/api/v1/performance/v1/assessments/{assessment_id}/supervisor-evaluation"): Case(
        {"assessment_id": "assessment"}, body=lambda ids: SCORES),
    ("POST", "/api/v1/performance/v1/assessments/{assessment_id}/consolidation"): Case(
        {"assessment_id": "assessment"}),
    ("POST", "/api/v1/performance/v1/assessments/{assessment_id}/feedback"): Case(
        {"assessment_id": "assessment"}, body=lambda ids: {"note": "继续努力"}),
    ("POST", "/api/v1/performance/v1/assessments/{assessment_id}/proposal"): Case(
        {"assessment_id": "assessment"}, body=on()),
    ("GET", "/api/v1/performance/v1/targets"): Case(query={**TEAM, "year": "=2026"}, kind="list", reach="team",
                                                    witness="bo_x"),
    ("GET", "/api/v1/performance/v1/targets/{target_id}"): Case({"target_id": "target"}, reach="team",
                                                               witness="bo_x"),
    ("GET", "/api/v1/performance/v1/targets/{target_id}/achievement"): Case(
        {"target_id": "target"}, query=LAST_MONTH, reach="team", witness="bo_x"),
    ("GET", "/api/v1/performance/v1/persistency"): Case(query={**A1, **LAST_MONTH}, witness="a1"),
    ("GET", "/api/v1/performance/v1/contests/{contest_id}"): Case(
        {"contest_id": "contest"}, kind="shared", why="a contest is announced to everyone; its standings are not"),
    ("GET", "/api/v1/performance/v1/contests/{contest_id}/standings"): Case(
        {"contest_id": "contest"}, kind="list", reach="team", witness="bo_x"),
    # activity
    ("GET", "/api/v1/activity/v1/rules/{name}"): Case(
        {"name": "=visit_minimum"}, kind="shared", why="the company's activity rules, the same for everyone"),
    ("POST", "/api/v1/activity/v1/rules/{name}"): Case(
        {"name": "=visit_minimum"}, body=lambda ids: {"valid_from": ids["today"], "value": {"minimum": 0}}),
    ("PUT", "/api/v1/activity/v1/entries/{entry_id}"): Case({"entry_id": "entry"}, body=lambda ids: {
        "kind": "interview", "occurred_at": f"{ids['today']}T01:00:00Z", "version": 1, "notes": "改写"}),
    ("GET", "/api/v1/activity/v1/entries/{entry_id}"): Case({"entry_id": "entry"}, witness="a1"),
    ("GET", "/api/v1/activity/v1/agents/{agent_id}/days"): Case(
        A1, witness="a1", query={"from": "=today", "to": "=today"}),
    ("PUT", "/api/v1/activity/v1/days/{day}/explanation"): Case(
        {"day": "today"}, kind="own", body=lambda ids: {"text": "ATTACK"},
        why="{day} is a day of the caller's own log; no one else's day can be named"),
    ("GET", "/api/v1/activity/v1/customers"): Case(query={"owner_agent_id": "a1"}, kind="list", witness="a1"),
    ("GET", "/api/v1/activity/v1/customers/{customer_id}"): Case({"customer_id": "customer"}, witness="a1"),
    ("PATCH", "/api/v1/activity/v1/customers/{customer_id}"): Case(
        {"customer_id": "customer"}, body=lambda ids: {"version": 1, "phone": "13999999999"}),
    ("GET", "/api/v1/activity/v1/customers/{customer_id}/contact"): Case({"customer_id": "customer"},
                                                                        witness="a1"),
    ("POST", "/api/v1/activity/v1/customers/{customer_id}/grades"): Case(
        {"customer_id": "customer"}, body=lambda ids: {"version": 1, "grade": "E", "intent": 1}),
    ("GET", "/api/v1/activity/v1/customers/{customer_id}/grades"): Case({"customer_id": "customer"},
                                                                       witness="a1"),
    ("GET", "/api/v1/activity/v1/customers/{customer_id}/transfers"): Case({"customer_id": "customer"},
                                                                          witness="admin"),
    ("GET", "/api/v1/activity/v1/contact-access"): Case(query={"customer_id": "customer"}, kind="list",
                                                        witness="admin"),
    ("GET", "/api/v1/activity/v1/compliance"): Case(query=OFFICE, kind="list", reach="team", witness="bo_x"),
    ("GET", "/api/v1/activity/v1/plans"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/activity/v1/plans/{sheet_id}"): Case({"sheet_id": "plan"}, witness="a1"),
    ("PUT", "/api/v1/activity/v1/plans/{sheet_id}"): Case(
        {"sheet_id": "plan"}, body=lambda ids: {"version": 1, "summary": "改写"}),
    ("POST", "/api/v1/activity/v1/plans/{sheet_id}/submit"): Case({"sheet_id": "plan"},
                                                                  body=lambda ids: {"version": 1}),
    ("POST", "/api/v1/activity/v1/plans/{sheet_id}/review"): Case(
        {"sheet_id": "plan"}, body=lambda ids: {"version": 1, "decision": "approve", "comment": "好"}),
    ("GET", "/api/v1/activity/v1/meetings"): Case(query=TEAM, kind="list", reach="team", witness="a1"),
    ("GET", "/api/v1/activity/v1/meetings/{meeting_id}"): Case({"meeting_id": "meeting"}, reach="team",
                                                              witness="a1"),
    ("PUT", "/api/v1/activity/v1/meetings/{meeting_id}"): Case(
        {"meeting_id": "meeting"}, reach="team", body=lambda ids: {"version": 1, "attendance": [
            {"agent_id": ids[name], "status": "absent"} for name in ("manager", "sup_a", "sup_b", "a1", "a2", "b1")]}),
    ("GET", "/api/v1/activity/v1/teams/{team_id}/next-host"): Case(TEAM, reach="team", witness="a1"),
    ("GET", "/api/v1/activity/v1/coaching"): Case(query={"member_agent_id": "a1"}, kind="list", witness="sup_a"),
    ("GET", "/api/v1/activity/v1/coaching/{record_id}"): Case({"record_id": "coaching"}, witness="sup_a"),
    ("PUT", "/api/v1/activity/v1/coaching/{record_id}"): Case({"record_id": "coaching"}, body=lambda ids: {
        "moment": "frustrated", "method": "conversation", "content": "改写", "version": 1}),
    ("GET", "/api/v1/activity/v1/callbacks"): Case(query={"member_agent_id": "a1"}, kind="list", witness="sup_a"),
    ("GET", "/api/v1/activity/v1/callbacks/{record_id}"): Case({"record_id": "callback"}, witness="sup_a"),
    ("PUT", "/api/v1/activity/v1/callbacks/{record_id}"): Case({"record_id": "callback"}, body=lambda ids: {
        "purpose": "改写", "outcome": "revisit_agreed", "version": 1}),
    ("PUT", "/api/v1/activity/v1/diary/{day}"): Case(
        {"day": "today"}, kind="own", body=lambda ids: {"summary": "ATTACK"},
        why="{day} is a day of the caller's own diary; no one else's diary can be named"),
    ("GET", "/api/v1/activity/v1/agents/{agent_id}/diary/{day}"): Case(
        {"agent_id": "sup_a", "day": "today"}, witness="sup_a"),
    # ledger
    ("GET", "/api/v1/ledger/v1/calendar/years/{year}"): Case(
        {"year": "=2026"}, kind="shared", why="the public holiday calendar, the same for everyone"),
    ("PUT", "/api/v1/ledger/v1/calendar/years/{year}"): Case(
        {"year": "=2031"}, body=lambda ids: {"source": "ATTACK", "days": []}),
    ("GET", "/api/v1/ledger/v1/rules/{name}"): Case(
        {"name": "=collection_deadlines"}, kind="shared", why="the company's ledger rules, the same for everyone"),
    ("POST", "/api/v1/ledger/v1/rules/{name}"): Case(
        {"name": "=collection_deadlines"}, body=lambda ids: {"valid_from": ids["today"], "value": {"individual": 99}}),
    ("GET", "/api/v1/ledger/v1/journal/entries/{entry_id}"): Case({"entry_id": "journal_entry"}, witness="admin"),
    ("POST", "/api/v1/ledger/v1/journal/entries/{entry_id}/reversal"): Case(
        {"entry_id": "journal_entry"}, body=lambda ids: {"effective_on": ids["today"], "reason": "ATTACK"}),
    ("GET", "/api/v1/ledger/v1/journal/balances"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/ledger/v1/journal/trial-balance"): Case(query={"branch_id": "branch_x"}, kind="list",
                                                             reach="team", witness="admin"),
    ("GET", "/api/v1/ledger/v1/policies"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/ledger/v1/policies/{policy_id}"): Case({"policy_id": "policy"}, witness="a1"),
    ("GET", "/api/v1/ledger/v1/policies/{policy_id}/events"): Case({"policy_id": "policy"}, witness="a1"),
    ("POST", "/api/v1/ledger/v1/policies/{policy_id}/renewals"): Case(
        {"policy_id": "policy"}, body=lambda ids: {"due_on": ids["today"]}),
    ("POST", "/api/v1/ledger/v1/policies/{policy_id}/end"): Case({"policy_id": "policy"}, body=lambda ids: {
        "how": "surrendered", "effective_on": ids["today"], "reason": "ATTACK"}),
    ("POST", "/api/v1/ledger/v1/policies/{policy_id}/reassignment"): Case(
        {"policy_id": "policy"}, body=lambda ids: {"agent_id": ids["y1"], "effective_on": ids["today"],
                                                   "reason": "ATTACK"}),
    ("GET", "/api/v1/ledger/v1/receivables"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/ledger/v1/receivables/overdue"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/ledger/v1/receivables/outstanding"): Case(query={**A1, "period_end": "today"}, kind="list",
                                                               witness="admin"),
    ("GET", "/api/v1/ledger/v1/receivables/{receivable_id}"): Case({"receivable_id": "receivable"}, witness="a1"),
    ("GET", "/api/v1/ledger/v1/receipts"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/ledger/v1/receipts/{receipt_id}"): Case({"receipt_id": "receipt"}, witness="a1"),
    ("POST", "/api/v1/ledger/v1/receipts/{receipt_id}/confirmation"): Case(
        {"receipt_id": "receipt"}, body=lambda ids: {"note": "ATTACK"}),
    ("POST", "/api/v1/ledger/v1/receipts/{receipt_id}/rejection"): Case(
        {"receipt_id": "receipt"}, body=lambda ids: {"note": "ATTACK"}),
    ("GET", "/api/v1/ledger/v1/customers/{customer_id}/running-account"): Case(
        {"customer_id": "ledger_customer"}, witness="a1"),
    ("POST", "/api/v1/ledger/v1/payables/settlements/{run_id}"): Case(
        {"run_id": "settlement_run"}, body=lambda ids: {"period": ids["today"][:7], "effective_on": ids["today"],
                                                        "lines": [{"agent_id": ids["a2"], "amount": "999.00"}]}),
    ("GET", "/api/v1/ledger/v1/payables"): Case(query=A1, kind="list", witness="a1"),
    ("GET", "/api/v1/ledger/v1/payables/{payable_id}"): Case({"payable_id": "payable"}, witness="a1"),
    ("POST", "/api/v1/ledger/v1/payables/{payable_id}/payment"): Case(
        {"payable_id": "payable"}, body=lambda ids: {"paid_on": ids["today"]}),
    ("PUT", "/api/v1/ledger/v1/bank-accounts/{bank_code}"): Case(
        {"bank_code": "partner"}, reach="team", body=lambda ids: {"name": "ATTACK", "branch_id": ids["branch_x"]}),
    ("GET", "/api/v1/ledger/v1/debit-batches/{batch_id}"): Case({"batch_id": "=1"}, reach="team"),
    ("POST", "/api/v1/ledger/v1/bank-exceptions/{exception_id}/resolution"): Case(
        {"exception_id": "=1"}, reach="team", body=lambda ids: {"how": "dismiss", "on": ids["today"], "note": "x"}),
    # the partner bank's API: signed by the bank, never reachable with a person's token
    ("GET", "/api/v1/partner/bank/batches/{batch_id}/instructions"): Case({"batch_id": "=1"}, kind="partner"),
    ("POST", "/api/v1/partner/bank/batches/{batch_id}/acknowledgement"): Case({"batch_id": "=1"},
                                                                                 kind="partner"),
    # the gateway's own administration
    ("PATCH", "/api/v1/auth/users/{user_id}"): Case({"user_id": "a1_user"}, body=lambda ids: {"active": False}),
    ("GET", "/api/v1/auth/partners/{code}"): Case({"code": "partner"}, witness="admin"),
    ("PATCH", "/api/v1/auth/partners/{code}"): Case({"code": "partner"}, body=lambda ids: {"active": False}),
    ("POST", "/api/v1/auth/partners/{code}/keys"): Case({"code": "partner"}),
    ("POST", "/api/v1/auth/partners/{code}/keys/{key_id}/revoke"): Case({"code": "partner", "key_id": "partner_key"}),
}


# A monthly settlement run settles every agent of the company: finance of any branch reads its header
# and totals (what each agent is paid, in its statements, disputes and diff rows, is under data scope:
# FINANCE_CASES), so no other branch's object is named and fin_y is not an attacker there. Changing
# what the whole company runs on is for the head office: HEAD_OFFICE_ONLY.
FINANCE_SHARED_READS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/performance/v1/settlements/{run_id}"): "the company's settlement run: its header and totals",
}
FIN_X_BRANCH = {"branch_id": "branch_x"}


def _refund(ids: dict[str, Any]) -> dict[str, Any]:
    return {"how": "refund", "on": ids["today"], "note": "退回"}


# Routes finance works on, aimed at objects of branch X: fin_y is refused as outside its scope (404
# `*_not_found`, or an empty list), fin_x (the witness) gets 200/201. The bank's collection account
# collects for one branch and a debit batch holds only that branch's premiums, so both belong to
# the account's branch (not to the bank); a bank exception to the branch whose suspense holds it.
FINANCE_CASES: dict[tuple[str, str], tuple[Case, ...]] = {
    ("GET", "/api/v1/ledger/v1/journal/entries/{entry_id}"): (Case({"entry_id": "journal_entry"}),),
    ("POST", "/api/v1/ledger/v1/journal/entries/{entry_id}/reversal"): (Case(
        {"entry_id": "manual_entry"}, body=lambda ids: {"effective_on": ids["today"], "reason": "冲销"}),),
    ("GET", "/api/v1/ledger/v1/journal/balances"): (Case(query=FIN_X_BRANCH, kind="list"),
                                                    Case(query=A1, kind="list")),
    ("GET", "/api/v1/ledger/v1/journal/trial-balance"): (Case(query=FIN_X_BRANCH, kind="list"),),
    ("GET", "/api/v1/ledger/v1/policies"): (Case(query=A1, kind="list"),),
    ("GET", "/api/v1/ledger/v1/policies/{policy_id}"): (Case({"policy_id": "policy"}),),
    ("GET", "/api/v1/ledger/v1/policies/{policy_id}/events"): (Case({"policy_id": "policy"}),),
    ("GET", "/api/v1/ledger/v1/receivables"): (Case(query=A1, kind="list"),),
    ("GET", "/api/v1/ledger/v1/receivables/overdue"): (Case(query=A1, kind="list"),),
    ("GET", "/api/v1/ledger/v1/receivables/{receivable_id}"): (Case({"receivable_id": "receivable"}),),
    ("GET", "/api/v1/ledger/v1/receipts"): (Case(query=A1, kind="list"),),
    ("GET", "/api/v1/ledger/v1/receipts/{receipt_id}"): (Case({"receipt_id": "receipt"}),),
    ("POST", "/api/v1/ledger/v1/receipts/{receipt_id}/confirmation"): (Case(
        {"receipt_id": "receipt_to_confirm"}, body=lambda ids: {"note": "现金已收"}),),
    ("POST", "/api/v1/ledger/v1/receipts/{receipt_id}/rejection"): (Case(
        {"receipt_id": "receipt_to_reject"}, body=lambda ids: {"note": "未收到"}),),
    ("GET", "/api/v1/ledger/v1/customers/{customer_id}/running-account"): (Case(
        {"customer_id": "ledger_customer"}, kind="list"),),
    ("GET", "/api/v1/ledger/v1/payables"): (Case(query=A1, kind="list"),),
    ("GET", "/api/v1/ledger/v1/payables/{payable_id}"): (Case({"payable_id": "payable"}),),
    ("POST", "/api/v1/ledger/v1/payables/{payable_id}/payment"): (Case(
        {"payable_id": "payable_to_pay"}, body=lambda ids: {"paid_on": ids["today"]}),),
    # fin_y may book to branch Y: pointing X's account there would send X's money to Y's books.
    ("PUT", "/api/v1/ledger/v1/bank-accounts/{bank_code}"): (
        Case({"bank_code": "partner"}, body=lambda ids: {"name": "ATTACK", "branch_id": ids["branch_y"]},
             witness="skip"),  # no witness names branch Y: fin_x's own PUT, naming X, is the next case
        Case({"bank_code": "partner"}, body=lambda ids: {"name": "合作银行代扣账户", "branch_id": ids["branch_x"]})),
    ("GET", "/api/v1/ledger/v1/debit-batches/{batch_id}"): (Case({"batch_id": "debit_batch"}),),
    ("POST", "/api/v1/ledger/v1/bank-exceptions/{exception_id}/resolution"): (Case(
        {"exception_id": "bank_exception"}, body=_refund),),
    ("GET", "/api/v1/performance/v1/settlements/{run_id}/diff"): (Case({"run_id": "performance_rerun"},
                                                                       kind="list"),),
    ("GET", "/api/v1/performance/v1/statements/{agent_id}"): (Case(A1, query={"run_id": "performance_run"}),),
    ("GET", "/api/v1/performance/v1/disputes/{dispute_id}"): (Case({"dispute_id": "dispute"}),),
    ("POST", "/api/v1/performance/v1/disputes/{dispute_id}/finance-decision"): (Case(
        {"dispute_id": "dispute"}, body=lambda ids: {"accept": False, "note": "不予调整"}),),
}


def targeted_operations(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every operation that names an object or whose data it lists."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = operation.get("parameters", []) + item.get("parameters", [])
            if "{" in path or any(p["in"] == "query" and p["name"] in SCOPING_QUERY for p in params):
                yield method.upper(), path


def _value(ids: dict[str, Any], key: str) -> str:
    return key[1:] if key.startswith("=") else str(ids[key])


def request(client: httpx.Client, world: World, who: str, method: str, path: str, case: Case) -> httpx.Response:
    ids = world.ids
    url = path
    for name, key in case.path.items():
        url = url.replace("{" + name + "}", _value(ids, key))
    params = {name: (ids["today"] if key == "=today" else _value(ids, key)) for name, key in case.query.items()}
    body = case.body(ids) if case.body else None
    return client.request(method, url, params=params, json=body, headers=world.headers(who))


def _listed(response: httpx.Response) -> list[Any]:
    """Whatever rows an answer carries (a JSON list, a page, or one JSON object per line)."""
    if "ndjson" in response.headers.get("content-type", ""):
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]
    body = response.json()
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [row for key in ("items", "rows", "agents", "balances", "accounts", "lines", "policies") if
                isinstance(body.get(key), list) for row in body[key]]
    return []


def _refused(response: httpx.Response, statuses: tuple[int, ...] = (403, 404)) -> None:
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert response.json()["code"], response.text


@pytest.fixture(scope="module")
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        yield client


def test_every_route_naming_an_object_has_a_case(stack: RunningStack) -> None:
    targeted = set(targeted_operations(complete_document(stack.gateway)))
    assert not targeted - CASES.keys(), f"routes without a BOLA case: {sorted(targeted - CASES.keys())}"
    assert not CASES.keys() - targeted, f"cases for routes that no longer exist: {sorted(CASES.keys() - targeted)}"
    for (method, path), case in CASES.items():
        assert case.kind not in ("shared", "own") or case.why, (method, path)
        assert case.kind != "own" or case.body is not None, (method, path)
    assert not (FINANCE_CASES.keys() | FINANCE_SHARED_READS.keys()) - CASES.keys()


@pytest.mark.parametrize(("method", "path"), sorted(CASES), ids=[f"{m} {p}" for m, p in sorted(CASES)])
def test_attackers_are_refused(client: httpx.Client, world: World, method: str, path: str) -> None:
    case = CASES[(method, path)]
    attackers = AGENT_ATTACKERS if case.reach == "agent" else TEAM_ATTACKERS
    if (method, path) not in FINANCE_SHARED_READS.keys() | FINANCE_CASES.keys():  # those are tested below
        attackers = (*attackers, "fin_y")
    if case.witness is not None:
        seen = request(client, world, case.witness, method, path, case)
        assert seen.status_code == 200, f"the witness {case.witness} must see it: {seen.text}"
        if case.kind == "list":
            assert _listed(seen), f"the witness {case.witness} must see rows: {seen.text}"
    for who in attackers:
        response = request(client, world, who, method, path, case)
        context = f"{who} on {method} {path}: {response.status_code} {response.text[:300]}"
        if case.kind == "object":
            assert response.status_code in (403, 404), context
            _refused(response)
        elif case.kind == "list":
            if response.status_code in (403, 404):
                _refused(response)
            else:
                assert response.status_code == 200, context
                assert _listed(response) == [], context
        elif case.kind == "partner":
            _refused(response, (401,))
            assert response.json()["code"] == "partner_signature_missing", context
        elif case.kind == "shared":
            assert response.status_code == 200, context
        else:  # own: the call acts on the attacker's own day, never the victim's
            assert response.status_code < 500, context
    if case.kind == "own":
        victims = {"diary": f"/api/v1/activity/v1/agents/{world.ids['sup_a']}/diary/{world.ids['today']}",
                   "explanation": f"/api/v1/activity/v1/agents/{world.ids['a1']}/days"}
        for target in victims.values():
            seen = client.get(target, headers=world.admin, params={"from": world.ids["today"],
                                                                    "to": world.ids["today"]})
            assert seen.status_code == 200, seen.text
            assert "ATTACK" not in seen.text, seen.text


@pytest.mark.parametrize(("method", "path"), sorted(FINANCE_CASES),
                         ids=[f"{m} {p}" for m, p in sorted(FINANCE_CASES)])
def test_finance_of_another_branch_is_refused(client: httpx.Client, world: World, method: str, path: str) -> None:
    for case in FINANCE_CASES[(method, path)]:
        if method == "GET":
            _witnessed(client, world, method, path, case)
        response = request(client, world, "fin_y", method, path, case)
        context = f"fin_y on {method} {path}: {response.status_code} {response.text[:300]}"
        if case.kind == "list" and response.status_code == 200:
            assert _listed(response) == [], context
        else:
            _refused(response, (404,))
            assert response.json()["code"].endswith("_not_found"), context
        if method != "GET" and case.witness != "skip":
            _witnessed(client, world, method, path, case)


def _witnessed(client: httpx.Client, world: World, method: str, path: str, case: Case) -> None:
    """Branch X's finance sees the object or acts on it: the refusal was no missing object."""
    seen = request(client, world, "fin_x", method, path, case)
    assert seen.status_code in (200, 201), f"fin_x on {method} {path}: {seen.text}"
    if case.kind == "list":
        assert _listed(seen), f"fin_x must see rows on {method} {path}: {seen.text}"


# Finance's queues and lists, unfiltered: what the caller may see is all they hold. (path, query,
# key of World.ids, field of a row naming it); a bank exception is looked for open or resolved.
FINANCE_QUEUES = (
    ("/api/v1/ledger/v1/bank-accounts", {}, "partner", "bank_code"),
    ("/api/v1/ledger/v1/bank-exceptions", {"status": "open"}, "bank_exception", "id"),
    ("/api/v1/ledger/v1/bank-exceptions", {"status": "resolved"}, "bank_exception", "id"),
    ("/api/v1/ledger/v1/receipts", {"status": "recorded"}, "receipt", "id"),
    ("/api/v1/ledger/v1/receipts", {}, "receipt", "id"),
    ("/api/v1/ledger/v1/payables", {}, "payable", "id"),
    ("/api/v1/ledger/v1/policies", {}, "policy", "id"),
    ("/api/v1/ledger/v1/receivables", {}, "receivable", "id"),
    ("/api/v1/performance/v1/disputes", {}, "dispute", "id"),
)


def test_finance_queues_hold_only_the_callers_branch(client: httpx.Client, world: World) -> None:
    for path, query, key, name in FINANCE_QUEUES:
        listed = {who: _rows(client.get(path, params=query, headers=world.headers(who))) for who in ("fin_x", "fin_y")}
        assert not [row for row in listed["fin_y"] if row[name] == world.ids[key]], (path, query, listed["fin_y"])
        assert not [row for row in listed["fin_y"] if row.get("branch_id") == world.ids["branch_x"]], (path, query)
        if key != "bank_exception":  # open or resolved, depending on whether the resolution ran yet
            assert [row for row in listed["fin_x"] if row[name] == world.ids[key]], (path, query, listed["fin_x"])
    exceptions = [row["id"] for status in ("open", "resolved") for row in _rows(client.get(
        "/api/v1/ledger/v1/bank-exceptions", params={"status": status}, headers=world.headers("fin_x")))]
    assert world.ids["bank_exception"] in exceptions


def _rows(response: httpx.Response) -> list[Any]:
    assert response.status_code == 200, response.text
    return _listed(response)


def test_finance_of_any_branch_reads_the_companys_settlement_run(client: httpx.Client, world: World) -> None:
    """The rule stated in FINANCE_SHARED_READS, held: finance of either branch gets the run."""
    [(method, path)] = FINANCE_SHARED_READS
    case = Case({"run_id": "performance_rerun"})
    answers = [request(client, world, who, method, path, case) for who in ("fin_x", "fin_y")]
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    assert {a.json()["id"] for a in answers} == {world.ids["performance_rerun"]}


@dataclass(frozen=True)
class HeadOffice:
    """A change for the whole company: `staff` of branch Y (who hold the role) are refused it, the same
    staff of the head office make it. `state` reads, as the administrator, what the change alters."""

    staff: str  # "fin" | "mm": fin_y and fin_hq, or mm_y and mm_hq
    body: Callable[[httpx.Client, World], Any]
    state: Callable[[httpx.Client, World], Any]
    path: dict[str, str] = field(default_factory=dict)  # path parameter -> key of World.ids, or "=literal"
    changes: bool = True  # False: the head office's call is idempotent and finds nothing left to do
    why: str = ""


def _read(path: str, **params: str) -> Callable[[httpx.Client, World], Any]:
    """GET `path` ({key} of World.ids filled in) as the administrator: its status and body (a problem's
    request id aside)."""
    def state(client: httpx.Client, world: World) -> Any:
        answer = client.get(path.format(**world.ids), params={k: _value(world.ids, v) for k, v in params.items()},
                            headers=world.admin)
        body = answer.json()
        return answer.status_code, {k: v for k, v in body.items() if k != "request_id"} if isinstance(
            body, dict) else body

    return state


def _deadlines_again(client: httpx.Client, world: World) -> dict[str, Any]:
    """The deadlines in force, again, from a day far ahead: a version of the rule that changes nothing else."""
    versions = _rows(client.get("/api/v1/ledger/v1/rules/collection_deadlines", headers=world.admin))
    return {"valid_from": "2099-01-01", "value": versions[-1]["value"]}


def _rule_set_proposal(client: httpx.Client, world: World) -> dict[str, Any]:
    in_force = client.get("/api/v1/performance/v1/rule-sets/in-force", headers=world.admin,
                          params={"on": world.ids["today"]})
    assert in_force.status_code == 200, in_force.text
    return {"version": f"HQ-{_tag()}", "status": "proposed", "valid_from": "2099-01-01",
            "body": in_force.json()["body"]}


def _account(client: httpx.Client, world: World) -> dict[str, Any]:
    return {"code": f"hq_{_tag()}", "gl_code": f"9{uuid.uuid4().int % 10**8:08d}", "name": "Head office fund",
            "name_zh": "总公司专项资金", "kind": "asset"}


HEAD_OFFICE_ONLY: dict[tuple[str, str], HeadOffice] = {
    ("POST", "/api/v1/ledger/v1/rules/{name}"): HeadOffice(
        "fin", _deadlines_again, _read("/api/v1/ledger/v1/rules/collection_deadlines"),
        {"name": "=collection_deadlines"}, why="the company's collection deadlines and aging rules"),
    ("PUT", "/api/v1/ledger/v1/calendar/years/{year}"): HeadOffice(
        "fin", lambda c, w: {"source": "总公司", "days": [{"day": "2032-01-01", "kind": "holiday", "name": "元旦"}]},
        _read("/api/v1/ledger/v1/calendar/years/2032"), {"year": "=2032"}, why="the company's holiday calendar"),
    ("POST", "/api/v1/ledger/v1/accounts"): HeadOffice(
        "fin", _account, _read("/api/v1/ledger/v1/accounts"), why="the company's chart of accounts"),
    ("POST", "/api/v1/performance/v1/rule-sets"): HeadOffice(
        "mm", _rule_set_proposal, _read("/api/v1/performance/v1/rule-sets"), why="the basic law, for everyone"),
    ("POST", "/api/v1/performance/v1/settlements"): HeadOffice(
        "fin", lambda c, w: {"period": w.ids["last_month"], "mode": "what_if"},
        _read("/api/v1/performance/v1/settlements", period="last_month"), why="a run settles every agent"),
    ("POST", "/api/v1/performance/v1/settlements/{run_id}/post"): HeadOffice(
        "fin", lambda c, w: None, _read("/api/v1/performance/v1/settlements/{performance_rerun}"),
        {"run_id": "performance_rerun"}, changes=False, why="completes the company's run"),
}


@pytest.mark.parametrize(("method", "path"), sorted(HEAD_OFFICE_ONLY),
                         ids=[f"{m} {p}" for m, p in sorted(HEAD_OFFICE_ONLY)])
def test_only_the_head_office_changes_what_the_whole_company_runs_on(client: httpx.Client, world: World,
                                                                     method: str, path: str) -> None:
    change = HEAD_OFFICE_ONLY[(method, path)]
    url = path
    for name, key in change.path.items():
        url = url.replace("{" + name + "}", _value(world.ids, key))
    body, before = change.body(client, world), change.state(client, world)
    refused = client.request(method, url, json=body, headers={
        **world.headers(f"{change.staff}_y"), "Idempotency-Key": str(uuid.uuid4())})
    _refused(refused, (403,))
    assert refused.json()["code"] == "head_office_only", refused.text
    assert "whole company" in refused.json()["detail"], refused.text
    assert change.state(client, world) == before, f"{change.staff}_y's refused call wrote something"
    done = client.request(method, url, json=body, headers={
        **world.headers(f"{change.staff}_hq"), "Idempotency-Key": str(uuid.uuid4())})
    assert done.status_code in (200, 201), done.text
    assert (change.state(client, world) != before) is change.changes, "the state read is where the change shows"


# Creations that name whose object they make in the body: the same attackers aim them at X.
BODY_IDS = frozenset({"agent_id", "team_id", "institution_id", "customer_id", "receivable_id", "member_agent_id",
                      "policy_id", "owner_agent_id", "supervisor_id", "parent_id", "host_agent_id", "entry_id",
                      "run_id", "branch_id", "from_agent_id", "to_agent_id", "bank_code"})


def _tag() -> str:
    return uuid.uuid4().hex[:8]


BODY_CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/org/v1/institutions"): Case(reach="team", body=lambda ids: {
        "parent_id": ids["office_x"], "kind": "service_office", "tier": 4, "code": f"Z{_tag()}", "name": "营销服务部",
        "opened_on": ids["today"]}),
    ("POST", "/api/v1/org/v1/teams"): Case(reach="team", body=lambda ids: {
        "institution_id": ids["office_x"], "valid_from": ids["today"]}),
    ("POST", "/api/v1/org/v1/agents"): Case(reach="team", body=lambda ids: {
        "code": f"A{_tag()}", "name": "新人", "licence_no": f"L{_tag()}", "hire_date": ids["today"],
        "institution_id": ids["office_x"], "team_id": ids["team_x"], "supervisor_id": ids["sup_a"],
        "rank_code": "agent"}),
    ("POST", "/api/v1/performance/v1/disputes"): Case(body=lambda ids: {
        "run_id": ids["performance_run"], "agent_id": ids["a1"], "line_no": 1, "reason": "ATTACK"}),
    ("POST", "/api/v1/performance/v1/assessments"): Case(body=lambda ids: {
        "agent_id": ids["a1"], "kind": "monthly", "period": ids["last_month"]}),
    ("POST", "/api/v1/performance/v1/targets"): Case(reach="team", body=lambda ids: {
        "team_id": ids["team_x"], "institution_id": ids["office_x"], "year": int(ids["today"][:4]) + 1,
        "metric": "recruits", "amount": "10"}),
    # An insurer's file: facts (and so commission) for agents of X. Worth nothing and far ahead, so
    # fin_x's accepted import changes no month the other tests read.
    ("POST", "/api/v1/performance/v1/facts"): Case(body=lambda ids: {"source": "ATTACK", "facts": [
        {"agent_id": ids["a2"], "kind": "new_policy", "occurred_on": "2099-01-01", "amount": "0", "policies": 0},
        {"agent_id": ids["a1"], "kind": "received_premium", "occurred_on": "2099-01-01", "amount": "0.00"}]}),
    ("POST", "/api/v1/performance/v1/contests"): Case(reach="team", body=lambda ids: {
        "name": "ATTACK", "institution_id": ids["office_x"], "period_from": ids["last_month"],
        "period_to": ids["last_month"], "metric": "received_premium", "rules": {}}),
    ("POST", "/api/v1/activity/v1/entries"): Case(body=lambda ids: {
        "id": str(uuid.uuid4()), "kind": "interview", "occurred_at": ids["now"],
        "customer_id": ids["customer"]}),
    ("POST", "/api/v1/activity/v1/entries/sync"): Case(kind="items", body=lambda ids: {"entries": [
        {"id": str(uuid.uuid4()), "kind": "interview", "occurred_at": ids["now"], "customer_id": ids["customer"]},
        {"id": str(uuid.uuid4()), "kind": "tracking_call", "occurred_at": ids["now"], "member_agent_id": ids["a1"],
         "notes": "ATTACK"}]}),
    ("POST", "/api/v1/activity/v1/customer-transfers"): Case(body=lambda ids: {
        "from_agent_id": ids["a1"], "to_agent_id": ids["a2"], "reason": "reassignment"}),
    ("POST", "/api/v1/activity/v1/plans"): Case(reach="team", body=lambda ids: {
        "kind": "team_monthly_plan", "period_start": ids["today"][:8] + "01", "team_id": ids["team_x"],
        "planned": {"interview": 1}, "plan": "ATTACK", "target": "1"}),
    ("POST", "/api/v1/activity/v1/meetings"): Case(reach="team", body=lambda ids: {
        "team_id": ids["team_x"], "kind": "evening", "held_on": ids["today"], "host_agent_id": ids["a1"],
        "minutes": "ATTACK", "decisions": [], "attendance": [
            {"agent_id": ids[name], "status": "present"} for name in ("manager", "sup_a", "sup_b", "a1", "a2", "b1")]}),
    ("POST", "/api/v1/activity/v1/coaching"): Case(body=lambda ids: {
        "member_agent_id": ids["a1"], "coached_at": ids["now"], "moment": "frustrated",
        "method": "conversation", "content": "ATTACK"}),
    ("POST", "/api/v1/activity/v1/callbacks"): Case(body=lambda ids: {
        "member_agent_id": ids["a1"], "customer_id": ids["customer"], "called_at": ids["now"],
        "purpose": "ATTACK", "outcome": "revisit_agreed"}),
    ("POST", "/api/v1/ledger/v1/journal/entries"): Case(reach="team", body=lambda ids: {
        "branch_id": ids["branch_x"], "effective_on": ids["today"], "description": "ATTACK", "postings": [
            {"account": "bank", "side": "debit", "amount": "10.00"},
            {"account": "premium_income", "side": "credit", "amount": "10.00"}]}),
    ("POST", "/api/v1/ledger/v1/debit-batches"): Case(reach="team", body=lambda ids: {
        "bank_code": ids["partner"], "due_through": ids["today"]}),
    ("POST", "/api/v1/ledger/v1/policies"): Case(body=lambda ids: {
        "policy_no": f"P-{_tag()}", "agent_id": ids["a1"], "policyholder": {
            "kind": "individual", "name": "ATTACK", "external_ref": f"C-{_tag()}"},
        "product_code": "LIFE-20", "insurer": "本公司", "premium": "1.00", "frequency": "annual",
        "payment_mode": "cash", "issued_on": ids["today"]}),
    ("POST", "/api/v1/ledger/v1/receipts"): Case(body=lambda ids: {
        "receivable_id": ids["receivable"], "amount": "1.00", "method": "cash",
        "handed_over_at": ids["now"]}),
}


def body_fields(schema: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The fields a body schema names: its own, and those of the items of each of its lists."""
    def resolve(found: dict[str, Any]) -> dict[str, Any]:
        return dict(schemas.get(found.get("$ref", "").rsplit("/", 1)[-1], found))

    properties = resolve(schema).get("properties", {})
    fields = set(properties)
    for prop in properties.values():
        for option in (prop, *prop.get("anyOf", ())):
            if option.get("type") == "array" and isinstance(option.get("items"), dict):
                fields |= set(resolve(option["items"]).get("properties", {}))
    return fields


def owner_field(name: Any) -> bool:
    """A problem's or a sync item's field that names an owner: `agent_id`, or `facts[2].agent_id`."""
    return isinstance(name, str) and name.rsplit(".", 1)[-1] in BODY_IDS


def creations_naming_an_owner(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every write without path parameters whose body, or an item of a list in it,
    names an agent, team, institution or another object of theirs."""
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        if "{" in path or path.startswith("/api/v1/partner/"):
            continue
        for method, operation in item.items():
            if method not in ("post", "put", "patch"):
                continue
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if BODY_IDS & body_fields(schema, schemas):
                yield method.upper(), path


def test_every_creation_naming_an_owner_has_a_case(stack: RunningStack) -> None:
    found = set(creations_naming_an_owner(complete_document(stack.gateway)))
    assert found == BODY_CASES.keys(), (sorted(found - BODY_CASES.keys()), sorted(BODY_CASES.keys() - found))


@pytest.mark.parametrize(("method", "path"), sorted(BODY_CASES), ids=[f"{m} {p}" for m, p in sorted(BODY_CASES)])
def test_attackers_cannot_create_in_someone_elses_name(client: httpx.Client, world: World, method: str,
                                                       path: str) -> None:
    case = BODY_CASES[(method, path)]
    for who in (*(AGENT_ATTACKERS if case.reach == "agent" else TEAM_ATTACKERS), "fin_y"):
        response = _create(client, world, who, method, path, case)
        context = f"{who} on {method} {path}: {response.status_code} {response.text[:300]}"
        if case.kind == "items" and response.status_code == 200:  # judged one by one: each item rejected
            answer = response.json()
            assert answer["accepted"] == 0, context
            assert all(r["status"] == "rejected" and owner_field(r["field"]) for r in answer["results"]), context
            continue
        # Refused by role or scope (403/404), or as a 422 naming the very field that names the owner.
        _refused(response, (403, 404, 422))
        assert response.status_code != 422 or owner_field(response.json().get("field")), context
    if (method, path) in FINANCE_CREATIONS:  # what fin_y was refused, branch X's finance does
        made = _create(client, world, "fin_x", method, path, case)
        assert made.status_code == 201, made.text


# Creations finance makes in a branch: fin_y's refusal above is no broken body, since fin_x succeeds.
FINANCE_CREATIONS = frozenset({("POST", "/api/v1/ledger/v1/journal/entries"),
                               ("POST", "/api/v1/ledger/v1/debit-batches"),
                               ("POST", "/api/v1/performance/v1/facts")})


def _create(client: httpx.Client, world: World, who: str, method: str, path: str, case: Case) -> httpx.Response:
    headers = {**world.headers(who), "Idempotency-Key": str(uuid.uuid4())}
    return client.request(method, path, json=case.body(world.ids) if case.body else None, headers=headers)
