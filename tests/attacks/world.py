"""A small company with one object of every kind, made through the gateway as its users would.

Branch X holds the office and department where most work: manager → supervisors A and B; agents
a1 and a2 report to A, b1 to B. Branch Y has its own office and department (supervisor y_sup and
agent y1), its back office, its finance and its marketing management (mm_y). The head office has its
own finance and marketing management (fin_hq, mm_hq): they and the administrator alone change what
the whole company runs on. Most objects belong to a1 (customer, log, plan sheet, policy, receipt,
payable, assessment) or to A (coaching, callback, diary); department X owns its meeting and target,
office X its contest. Branch X also has a finance user (fin_x) and the money objects only finance
handles: the partner bank's collection account for branch X, a debit batch of a1's auto-debit
premium, a bank exception held in branch X's suspense, and receipts, a payable, a manual entry and a
reviewed dispute kept for finance to act on; last month is settled twice, so the second run's diff
names a1.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from svckit.partner_signing import sign
from svckit.timeutil import business_date, utcnow
from tests.attacks.people import User, admin_login, created, eventually, new_user


@dataclass
class World:
    admin: dict[str, str]
    users: dict[str, User]
    ids: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return self.admin if who == "admin" else self.users[who].headers


def _institution(client: httpx.Client, admin: dict[str, str], kind: str, tier: int, parent: int | None,
                 name: str) -> int:
    tag = secrets.token_hex(3)
    body = {"kind": kind, "tier": tier, "code": f"{kind[:2].upper()}{tag}", "name": f"{name}{tag}",
            "opened_on": "2020-01-01", **({"parent_id": parent} if parent else {})}
    return int(created(client.post("/api/v1/org/v1/institutions", headers=admin, json=body))["id"])


def build(client: httpx.Client) -> World:
    admin = admin_login(client)
    hq = _institution(client, admin, "hq", 1, None, "总公司")
    branch_x = _institution(client, admin, "branch", 2, hq, "北京分公司")
    office_x = _institution(client, admin, "sales_office", 3, branch_x, "营业部")
    branch_y = _institution(client, admin, "branch", 2, hq, "天津分公司")
    office_y = _institution(client, admin, "sales_office", 3, branch_y, "营业部")
    team_x, team_y = (int(created(client.post("/api/v1/org/v1/teams", headers=admin, json={
        "institution_id": office, "valid_from": "2020-01-01"}))["id"]) for office in (office_x, office_y))
    users = {name: new_user(client, admin, role) for name, role in (
        ("manager", "supervisor"), ("sup_a", "supervisor"), ("sup_b", "supervisor"), ("a1", "agent"),
        ("a2", "agent"), ("b1", "agent"))}
    users.update({name: new_user(client, admin, role) for name, role in (("y_sup", "supervisor"), ("y1", "agent"))})
    users["bo_x"] = new_user(client, admin, "back_office", institutions=(branch_x,))
    users["bo_y"] = new_user(client, admin, "back_office", institutions=(branch_y,))
    users["fin_y"] = new_user(client, admin, "finance", institutions=(branch_y,))
    users["fin_x"] = new_user(client, admin, "finance", institutions=(branch_x,))
    users["mm_y"] = new_user(client, admin, "marketing_management", institutions=(branch_y,))
    users["fin_hq"] = new_user(client, admin, "finance", institutions=(hq,))
    users["mm_hq"] = new_user(client, admin, "marketing_management", institutions=(hq,))
    world = World(admin, users, {"hq": hq, "branch_x": branch_x, "office_x": office_x, "branch_y": branch_y,
                                 "office_y": office_y, "team_x": team_x, "team_y": team_y})

    def hire(name: str, rank: str, supervisor: str | None, where: str = "x") -> None:
        tag = secrets.token_hex(4)
        office, team = (office_x, team_x) if where == "x" else (office_y, team_y)
        agent = created(client.post("/api/v1/org/v1/agents", headers=admin, json={
            "code": f"A{tag}", "name": f"员工{tag}", "licence_no": f"L{tag}", "hire_date": "2024-01-01",
            "institution_id": office, "team_id": team, "rank_code": rank, "user_id": users[name].id,
            "supervisor_id": world.ids[supervisor] if supervisor else None}))
        world.ids[name] = int(agent["id"])

    hire("manager", "department_manager", None)
    hire("sup_a", "supervisor", "manager")
    hire("sup_b", "supervisor", "manager")
    hire("a1", "agent", "sup_a")
    hire("a2", "agent", "sup_a")
    hire("b1", "agent", "sup_b")
    hire("y_sup", "supervisor", None, where="y")
    hire("y1", "agent", "y_sup", where="y")
    _org_objects(client, world)
    _activity_objects(client, world)
    _ledger_objects(client, world)
    _performance_objects(client, world)
    _finance_objects(client, world)
    return world


def _org_objects(client: httpx.Client, world: World) -> None:
    admin, ids = world.admin, world.ids
    ids["a1_user"] = world.users["a1"].id
    ids["partner"] = f"bank-{secrets.token_hex(4)}"
    created(client.post("/api/v1/auth/partners", headers=admin, json={"code": ids["partner"], "name": "合作银行"}))
    key = created(client.post(f"/api/v1/auth/partners/{ids['partner']}/keys", headers=admin))
    ids["partner_key"], ids["partner_secret"] = key["key_id"], key["secret"]
    ids["territory"] = f"T-{secrets.token_hex(4)}"
    created(client.post(f"/api/v1/org/v1/agents/{ids['a1']}/territories", headers=admin, json={
        "kind": "territory", "code": ids["territory"], "effective_on": "2024-02-01"}))
    # A supervisor the manager nurtured reaches the manager's level: under the seeded policy their
    # team separates from the manager's line, a separation the manager's count-back names.
    tag = secrets.token_hex(4)
    nurtured = int(created(client.post("/api/v1/org/v1/agents", headers=admin, json={
        "code": f"N{tag}", "name": f"育成{tag}", "licence_no": f"L{tag}", "hire_date": "2024-01-01",
        "institution_id": ids["office_x"], "supervisor_id": ids["manager"], "nurturer_id": ids["manager"],
        "rank_code": "supervisor"}))["id"])
    created(client.post(f"/api/v1/org/v1/agents/{nurtured}/rank-changes", headers=admin, json={
        "effective_on": "2025-01-01", "rank_code": "department_manager", "kind": "promotion", "reason": "H2"}))
    counted = created(client.get(f"/api/v1/org/v1/agents/{ids['manager']}/count-back", headers=admin, params={
        "period_start": "2025-01-01", "period_end": "2025-07-01", "assessment": "maintenance"}))
    ids["separation"] = int(counted[0]["separation_id"])
    change = client.post("/api/v1/org/v1/team-changes", headers=admin, json={
        "kind": "create", "institution_id": ids["office_x"], "effective_on": "2026-01-01", "reason": "2025 assessment",
        "annual_premium_plan": {"amount": "6000000.00", "currency": "CNY"}, "planned_headcount": 6})
    ids["team_change"] = int(created(change)["id"])


def _activity_objects(client: httpx.Client, world: World) -> None:
    ids, a1, sup_a = world.ids, world.headers("a1"), world.headers("sup_a")
    today = business_date(utcnow())
    ids["today"], ids["now"] = today.isoformat(), utcnow().isoformat()
    # The first call waits for activity's copy of the organisation to know a1.
    customer = eventually(
        lambda: client.post("/api/v1/activity/v1/customers", headers=a1, json={
            "name": "王先生", "phone": "13800000000", "kind": "individual", "intent": 4, "grade": "A"}),
        lambda r: r.status_code == 201)
    ids["customer"] = int(created(customer)["id"])
    ids["entry"] = str(uuid.uuid4())
    created(client.post("/api/v1/activity/v1/entries", headers=a1, json={
        "id": ids["entry"], "kind": "interview", "occurred_at": utcnow().isoformat(), "customer_id": ids["customer"],
        "notes": "约了周五"}))
    monday = today - timedelta(days=today.weekday())
    ids["plan"] = int(created(client.post("/api/v1/activity/v1/plans", headers=a1, json={
        "kind": "weekly_review", "period_start": monday.isoformat(), "planned": {"interview": 15, "visits": 25},
        "summary": "两次面谈", "plan": "下周约访十位老客户"}))["id"])
    ids["meeting"] = int(created(client.post("/api/v1/activity/v1/meetings", headers=world.headers("manager"), json={
        "team_id": ids["team_x"], "kind": "morning", "held_on": today.isoformat(), "host_agent_id": ids["a1"],
        "minutes": "布置今日5-3-1", "decisions": [], "attendance": [
            {"agent_id": ids[name], "status": "present"} for name in ("manager", "sup_a", "sup_b", "a1", "a2", "b1")]}
    ))["id"])
    ids["coaching"] = int(created(client.post("/api/v1/activity/v1/coaching", headers=sup_a, json={
        "member_agent_id": ids["a1"], "coached_at": utcnow().isoformat(), "moment": "frustrated",
        "method": "conversation", "content": "一起复盘拒绝处理话术", "outcome": "愿意明天再访",
        "follow_up_on": today.isoformat()}))["id"])
    ids["callback"] = int(created(client.post("/api/v1/activity/v1/callbacks", headers=sup_a, json={
        "member_agent_id": ids["a1"], "customer_id": ids["customer"], "called_at": utcnow().isoformat(),
        "purpose": "了解服务是否满意", "findings": "对保额有疑问", "outcome": "revisit_agreed",
        "revisit_at": (utcnow() + timedelta(days=1)).isoformat(), "advice_to_member": "带上测算表"}))["id"])
    created(client.put(f"/api/v1/activity/v1/diary/{today.isoformat()}", headers=sup_a, json={
        "summary": "辅导一人", "problems": "无", "tomorrow_plan": "陪访", "self_check": "按时"}))


def _ledger_objects(client: httpx.Client, world: World) -> None:
    admin, ids = world.admin, world.ids
    issued_on = (date.fromisoformat(ids["today"]) - timedelta(days=40)).isoformat()
    policy = eventually(
        lambda: client.post("/api/v1/ledger/v1/policies", headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
                            json={"policy_no": f"P-{secrets.token_hex(5)}", "agent_id": ids["a1"],
                                  "policyholder": {"kind": "individual", "name": "张三",
                                                   "external_ref": f"C-{secrets.token_hex(4)}"},
                                  "product_code": "LIFE-20", "insurer": "本公司", "premium": "3600.00",
                                  "frequency": "annual", "payment_mode": "cash", "issued_on": issued_on}),
        lambda r: r.status_code == 201)
    policy_body = created(policy)
    ids["policy"], ids["ledger_customer"] = int(policy_body["id"]), int(policy_body["customer_id"])
    due = created(client.get("/api/v1/ledger/v1/receivables", headers=admin, params={"agent_id": ids["a1"]}))
    ids["receivable"] = int(due["items"][0]["id"])
    receipt = created(client.post("/api/v1/ledger/v1/receipts", headers={
        **world.headers("a1"), "Idempotency-Key": str(uuid.uuid4())}, json={
        "receivable_id": ids["receivable"], "amount": "100.00", "method": "cash",
        "handed_over_at": utcnow().isoformat()}))
    ids["receipt"] = int(receipt["id"])
    # A second receipt, confirmed, gives a journal entry of a1's business.
    second = created(client.post("/api/v1/ledger/v1/receipts", headers={
        **world.headers("a1"), "Idempotency-Key": str(uuid.uuid4())}, json={
        "receivable_id": ids["receivable"], "amount": "200.00", "method": "cash",
        "handed_over_at": utcnow().isoformat()}))
    confirmed = created(client.post(f"/api/v1/ledger/v1/receipts/{second['id']}/confirmation", headers=admin,
                                    json={"note": "现金已收"}))
    ids["journal_entry"] = str(confirmed["entry_id"])
    ids["settlement_run"] = f"run-{secrets.token_hex(4)}"
    posted = created(client.post(f"/api/v1/ledger/v1/payables/settlements/{ids['settlement_run']}", headers=admin,
                                 json={"period": ids["today"][:7], "effective_on": ids["today"],
                                       "lines": [{"agent_id": ids["a1"], "amount": "120.00"}]}))
    ids["payable"] = int(posted[0]["payable_id"])


def _performance_objects(client: httpx.Client, world: World) -> None:
    admin, ids = world.admin, world.ids
    year = int(ids["today"][:4])
    ids["assessment"] = int(created(eventually(
        lambda: client.post("/api/v1/performance/v1/assessments", headers=admin, json={
            "agent_id": ids["a1"], "kind": "monthly", "period": f"{year - 1}-12"}),
        lambda r: r.status_code == 201))["id"])
    ids["target"] = int(created(client.post("/api/v1/performance/v1/targets", headers=admin, json={
        "team_id": ids["team_x"], "institution_id": ids["office_x"], "year": year, "metric": "premium",
        "amount": "120000.00"}))["id"])
    last_day = date.fromisoformat(ids["today"]).replace(day=1) - timedelta(days=1)
    ids["last_month"] = last_month = last_day.isoformat()[:7]
    ids["contest"] = int(created(client.post("/api/v1/performance/v1/contests", headers=admin, json={
        "name": "开门红", "institution_id": ids["office_x"], "period_from": last_month, "period_to": last_month,
        "metric": "received_premium", "rules": {"by_place": [{"place_from": 1, "place_to": 1, "prize": "100"}]}}))[
        "id"])
    ids["rule_set"] = int(created(client.get("/api/v1/performance/v1/rule-sets", headers=admin))[0]["id"])
    # Last month's final run gives a1 a statement, and a1 disputes its first line.
    created(client.post("/api/v1/performance/v1/facts", headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
                        json={"source": "保险公司月度清单", "facts": [{
                            "agent_id": ids["a1"], "kind": "received_premium", "occurred_on": last_day.isoformat(),
                            "product_code": "GRP", "policy_year": 1, "amount": "2000.00"}]}))
    run = created(client.post("/api/v1/performance/v1/settlements", json={"period": last_month},
                              headers={**admin, "Idempotency-Key": str(uuid.uuid4())}))
    ids["performance_run"] = run["id"]
    statement = created(client.get(f"/api/v1/performance/v1/statements/{ids['a1']}", headers=world.headers("a1"),
                                   params={"run_id": run["id"]}))
    ids["dispute"] = int(created(client.post("/api/v1/performance/v1/disputes", headers=world.headers("a1"), json={
        "run_id": run["id"], "agent_id": ids["a1"], "line_no": statement["lines"][0]["line_no"],
        "reason": "佣金少算"}))["id"])


def _partner_call(client: httpx.Client, world: World, method: str, path: str, *, query: str = "",
                  body: bytes = b"", content_type: str = "application/json") -> httpx.Response:
    """A request of the partner bank, signed with its key, through the gateway."""
    ids, full = world.ids, "/api/v1/partner/bank" + path
    headers = sign(key_id=ids["partner_key"], secret=ids["partner_secret"], method=method, path=full, query=query,
                   body=body)
    return client.request(method, full + (f"?{query}" if query else ""), content=body or None,
                          headers={**headers, **({"Content-Type": content_type} if body else {})})


def _finance_objects(client: httpx.Client, world: World) -> None:
    """What finance of branch X works on, each made through the public API by whoever does it."""
    admin, ids, fin_x, a1 = world.admin, world.ids, world.headers("fin_x"), world.headers("a1")
    # The partner bank collects for branch X (the ledger learns of the branch from org's feed).
    created(eventually(lambda: client.put(f"/api/v1/ledger/v1/bank-accounts/{ids['partner']}", headers=fin_x,
                                          json={"name": "合作银行代扣账户", "branch_id": ids["branch_x"]}),
                       lambda r: r.status_code == 200))
    issued_on = (date.fromisoformat(ids["today"]) - timedelta(days=30)).isoformat()
    created(client.post("/api/v1/ledger/v1/policies", headers={**admin, "Idempotency-Key": str(uuid.uuid4())}, json={
        "policy_no": f"P-{secrets.token_hex(5)}", "agent_id": ids["a1"], "policyholder": {
            "kind": "individual", "name": "李四", "external_ref": f"C-{secrets.token_hex(4)}"},
        "product_code": "LIFE-20", "insurer": "本公司", "premium": "1200.00", "frequency": "annual",
        "payment_mode": "bank_debit", "mandate_ref": f"M-{secrets.token_hex(4)}", "issued_on": issued_on}))
    batch = created(client.post("/api/v1/ledger/v1/debit-batches", headers={
        **fin_x, "Idempotency-Key": str(uuid.uuid4())}, json={"bank_code": ids["partner"],
                                                              "due_through": ids["today"]}))
    assert batch["instructions"] == 1, batch
    ids["debit_batch"] = int(batch["id"])
    # The bank's file reports money no instruction names: it is held in branch X's suspense for finance.
    line = f",B{secrets.token_hex(6)},{ids['today']},88.00,CNY,success,\n"
    header = "instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n"
    report = created(_partner_call(client, world, "POST", "/reconciliation-files", query=f"file_date={ids['today']}",
                                   body=(header + line).encode(), content_type="text/csv"))
    assert report["exceptions"] == 1, report
    held = created(client.get("/api/v1/ledger/v1/bank-exceptions", headers=fin_x))["items"]
    ids["bank_exception"] = int(held[0]["id"])
    # Two receipts awaiting the cashier (one to confirm, one to reject), a payable to pay, an entry to reverse.
    for name in ("receipt_to_confirm", "receipt_to_reject"):
        ids[name] = int(created(client.post("/api/v1/ledger/v1/receipts", headers={
            **a1, "Idempotency-Key": str(uuid.uuid4())}, json={
            "receivable_id": ids["receivable"], "amount": "10.00", "method": "cash",
            "handed_over_at": utcnow().isoformat()}))["id"])
    run = f"run-{secrets.token_hex(4)}"
    ids["payable_to_pay"] = int(created(client.post(f"/api/v1/ledger/v1/payables/settlements/{run}", headers=admin,
                                                    json={"period": ids["today"][:7], "effective_on": ids["today"],
                                                          "lines": [{"agent_id": ids["a1"], "amount": "80.00"}]})
                                        )[0]["payable_id"])
    ids["manual_entry"] = int(created(client.post("/api/v1/ledger/v1/journal/entries", headers={
        **fin_x, "Idempotency-Key": str(uuid.uuid4())}, json={
        "branch_id": ids["branch_x"], "effective_on": ids["today"], "description": "手工凭证", "postings": [
            {"account": "bank", "side": "debit", "amount": "10.00"},
            {"account": "premium_income", "side": "credit", "amount": "10.00"}]}))["id"])
    # a1's dispute passes its supervisor, so finance's step is the next one.
    created(client.post(f"/api/v1/performance/v1/disputes/{ids['dispute']}/supervisor-review",
                        headers=world.headers("sup_a"), json={"endorse": True, "note": "属实"}))
    # A fact of a1 comes late: last month is settled again, and the new run's diff names a1.
    last_day = date.fromisoformat(ids["today"]).replace(day=1) - timedelta(days=1)
    created(client.post("/api/v1/performance/v1/facts", headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
                        json={"source": "补录", "facts": [{
                            "agent_id": ids["a1"], "kind": "received_premium", "occurred_on": last_day.isoformat(),
                            "product_code": "GRP", "policy_year": 1, "amount": "500.00"}]}))
    ids["performance_rerun"] = created(client.post("/api/v1/performance/v1/settlements", json={
        "period": ids["last_month"]}, headers={**admin, "Idempotency-Key": str(uuid.uuid4())}))["id"]
