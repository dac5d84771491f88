"""The mobile home pages through the gateway, against the real services on the run's PostgreSQL: the
agent's and the supervisor's figures for known data, each person seeing only their own home or subtree,
403 for the wrong person, and a page that still answers, part by part, when a service is down or slow."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from activity_service.models import DIRECTORY as ACTIVITY_DIRECTORY
from activity_service.models import PLATFORM_TABLES as ACTIVITY_TABLES
from gateway_service.roles import Role
from gateway_service.testing import GatewayFactory, Login, assert_problem, bearer, closed_port
from ledger_service.app import create_app as create_ledger
from ledger_service.models import DIRECTORY as LEDGER_DIRECTORY
from ledger_service.models import PLATFORM_TABLES as LEDGER_TABLES
from ledger_service.settings import LedgerSettings
from performance_service.followers import org_consumer
from svckit.db import Database
from svckit.http import ServiceClient
from svckit.testing.org import org_replica
from svckit.testing.plugin import StackDatabase
from svckit.timeutil import BUSINESS_TZ, business_date, utcnow

from .test_data_scope import _account

D = Decimal


@dataclass
class Company:
    office: int
    team: int
    manager: int
    sup_a: int
    a1: int
    a2: int
    sup_b: int
    b1: int
    tokens: dict[str, dict[str, str]]


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _company(gateway: httpx.AsyncClient, gateway_db: Database, login: Login) -> Company:
    """manager → sup_a → (a1, a2); manager → sup_b → b1, all in one team; sup_a, a1, a2 and b1 can log in."""
    people = {name: await _account(gateway_db, role) for name, role in (
        ("admin", Role.ADMIN), ("sup_a", Role.SUPERVISOR), ("a1", Role.AGENT), ("a2", Role.AGENT),
        ("b1", Role.AGENT))}
    tokens = {name: bearer(await login(gateway, account)) for name, account in people.items()}
    admin = tokens["admin"]
    tag = secrets.token_hex(3)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await _created(await gateway.post(f"/api/v1/org{path}", json=body, headers=admin))

    hq = await post("/v1/institutions", {"kind": "hq", "tier": 1, "code": f"H{tag}", "name": "总公司",
                                          "opened_on": "2020-01-01"})
    branch = await post("/v1/institutions", {"parent_id": hq["id"], "kind": "branch", "tier": 2, "code": f"B{tag}",
                                              "name": f"天津{tag}分公司", "opened_on": "2020-01-01"})
    office = await post("/v1/institutions", {"parent_id": branch["id"], "kind": "sales_office", "tier": 3,
                                              "code": f"O{tag}", "name": "营业部", "opened_on": "2020-01-01"})
    team = await post("/v1/teams", {"institution_id": office["id"], "valid_from": "2020-01-01"})

    async def hire(rank: str, supervisor: int | None, user: str | None = None) -> int:
        t = secrets.token_hex(4)
        agent = await post("/v1/agents", {
            "code": f"A{t}", "name": f"员工{t}", "licence_no": f"L{t}", "hire_date": "2024-01-01",
            "institution_id": office["id"], "team_id": team["id"], "supervisor_id": supervisor, "rank_code": rank,
            "user_id": people[user].id if user else None})
        return int(agent["id"])

    manager = await hire("department_manager", None)
    sup_a = await hire("supervisor", manager, "sup_a")
    a1, a2 = await hire("agent", sup_a, "a1"), await hire("agent", sup_a, "a2")
    sup_b = await hire("supervisor", manager)
    b1 = await hire("agent", sup_b, "b1")
    return Company(office["id"], team["id"], manager, sup_a, a1, a2, sup_b, b1, tokens)


async def _replicate(service_apps: dict[str, FastAPI], internal_secret: str) -> Callable[[], Awaitable[None]]:
    """Each service's copy of the organisation brought up to date from org's change feed, as its worker does."""
    org = service_apps["org"]

    async def drain() -> None:
        for name, tables, directory in (("activity", ACTIVITY_TABLES, ACTIVITY_DIRECTORY),
                                        ("ledger", LEDGER_TABLES, LEDGER_DIRECTORY)):
            async with org_replica(org, service_apps[name].state.kit, name, tables, directory,
                                   internal_secret) as apply:
                await apply()
        client = ServiceClient(service="org", base_url="http://org.test", caller_service="performance",
                               secret=internal_secret, transport=httpx.ASGITransport(app=org))
        try:
            consumer, _ = org_consumer(service_apps["performance"].state.kit.db, client)
            await consumer.drain()
        finally:
            await client.aclose()

    return drain


def _at(day: date, hour: int) -> str:
    """A moment of a business day (Asia/Shanghai), in UTC."""
    return datetime.combine(day, time(hour), BUSINESS_TZ).astimezone(UTC).isoformat()


async def _log(gateway: httpx.AsyncClient, who: dict[str, str], kind: str, occurred_at: str) -> None:
    await _created(await gateway.post("/api/v1/activity/v1/entries", headers=who, json={
        "id": str(uuid.uuid4()), "kind": kind, "occurred_at": occurred_at}))


async def _issue(gateway: httpx.AsyncClient, admin: dict[str, str], agent: int, issued_on: date,
                 premium: str = "3600.00") -> int:
    body = {"policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent, "product_code": "LIFE-20",
            "policyholder": {"kind": "individual", "name": "张三", "external_ref": f"C-{secrets.token_hex(4)}"},
            "insurer": "本公司", "premium": premium, "frequency": "annual", "payment_mode": "cash",
            "issued_on": issued_on.isoformat()}
    return int((await _created(await gateway.post("/api/v1/ledger/v1/policies", headers=admin, json=body)))["id"])


async def _known_data(gateway: httpx.AsyncClient, c: Company, today: date) -> dict[str, Any]:
    """Today: a1 logs 2 interviews and a closing visit and submits this week's review; a1 had visits in each
    of the last two weeks, a2 none. A premium of a1's is due within days, one of a2's is long overdue, b1
    has one due too. This month a1 received 8,000 against a monthly target of 7,500, a2 nothing against
    2,500, b1 9,000."""
    admin, a1 = c.tokens["admin"], c.tokens["a1"]
    monday = today - timedelta(days=today.weekday())
    for kind in ("interview", "interview", "closing_visit"):
        await _log(gateway, a1, kind, _at(today, 0))  # the first moment of today
    for weeks_ago in (1, 2):
        await _log(gateway, a1, "interview", _at(monday - timedelta(days=7 * weeks_ago - 2), 10))
    sheet = await _created(await gateway.post("/api/v1/activity/v1/plans", headers=a1, json={
        "kind": "weekly_review", "period_start": monday.isoformat(), "planned": {"interview": 15},
        "summary": "本周面谈两次", "plan": "下周面谈十五次"}))
    submitted = await gateway.post(f"/api/v1/activity/v1/plans/{sheet['id']}/submit", headers=a1,
                                   json={"version": sheet["version"]})
    assert submitted.status_code == 200, submitted.text

    policies = {"a1": await _issue(gateway, admin, c.a1, today),
                "a2": await _issue(gateway, admin, c.a2, today - timedelta(days=60), premium="1200.00"),
                "b1": await _issue(gateway, admin, c.b1, today)}

    target = await gateway.post("/api/v1/performance/v1/targets", headers=admin, json={
        "team_id": c.team, "institution_id": c.office, "year": today.year, "metric": "premium",
        "amount": "120000.00", "agent_weights": {str(c.a1): "3", str(c.a2): "1"}})
    assert target.status_code == 201, target.text
    facts = await gateway.post("/api/v1/performance/v1/facts", headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
                               json={"source": "test", "facts": [
                                   {"agent_id": agent, "kind": "received_premium", "occurred_on": today.isoformat(),
                                    "product_code": "LIFE-20", "policy_year": 1, "amount": amount}
                                   for agent, amount in ((c.a1, "8000.00"), (c.b1, "9000.00"))]})
    assert facts.status_code == 201, facts.text
    return {"sheet": sheet["id"], "policies": policies}


async def test_each_home_shows_the_callers_own_figures_and_nobody_elses(
    gateway: httpx.AsyncClient, service_apps: dict[str, FastAPI], internal_secret: str, gateway_db: Database,
    login: Login,
) -> None:
    c = await _company(gateway, gateway_db, login)
    await (await _replicate(service_apps, internal_secret))()
    today = business_date(utcnow())
    known = await _known_data(gateway, c, today)

    home = await gateway.get("/api/v1/home/agent", headers=c.tokens["a1"])
    assert home.status_code == 200, home.text
    body = home.json()
    assert (body["agent_id"], body["today"], body["degraded"]) == (c.a1, today.isoformat(), [])
    activity = body["activity_today"]
    done = {r["label"]: (r["target"], r["done"], r["met"]) for r in activity["requirements"]}
    assert done["3 interviews"] == (3, 2, False)
    assert done["1 closing visit"] == (1, 1, True)
    assert (activity["status"], activity["visits"], activity["all_met"]) == ("ok", 3, False)
    month = body["month_to_date"]
    assert (month["period"], D(month["fyc"]), D(month["received_premium"])) == (f"{today:%Y-%m}", D(2400), D(8000))
    assert (D(month["target"]), D(month["achievement"])) == (D(7500), D("1.0667"))
    due = body["receivables_due"]
    assert (due["working_days"], due["count"]) == (5, 1)
    assert [(r["policy_id"], D(r["outstanding"])) for r in due["items"]] == [(known["policies"]["a1"], D(3600))]
    assert date.fromisoformat(due["until"]) > today
    review = body["weekly_review"]
    assert (review["state"], review["sheet_id"], review["decision"]) == ("submitted", known["sheet"], None)
    assert review["week_start"] == (today - timedelta(days=today.weekday())).isoformat()

    # a2 sees their own figures: nothing logged, no sheet, nothing due soon (theirs is overdue), no premium.
    other = (await gateway.get("/api/v1/home/agent", headers=c.tokens["a2"])).json()
    assert other["agent_id"] == c.a2
    assert (other["activity_today"]["visits"], other["weekly_review"]["state"]) == (0, "none")
    assert (other["receivables_due"]["count"], D(other["month_to_date"]["received_premium"])) == (0, 0)
    # A supervisor's own agent home is theirs alone, though their scope holds a1's receivable.
    own = (await gateway.get("/api/v1/home/agent", headers=c.tokens["sup_a"])).json()
    assert (own["agent_id"], own["receivables_due"]["count"], own["month_to_date"]["target"]) == (c.sup_a, 0, None)

    sup = await gateway.get("/api/v1/home/supervisor", headers=c.tokens["sup_a"])
    assert sup.status_code == 200, sup.text
    team = sup.json()
    assert (team["agent_id"], team["degraded"]) == (c.sup_a, [])
    compliance = team["team_compliance"]
    assert compliance["members"] == 2
    assert {m["agent_id"] for m in compliance["by_member"]} == {c.a1, c.a2}  # neither sup_a nor b1
    reviews = team["overdue_reviews"]
    assert {(o["agent_id"], o["kind"], o["state"]) for o in reviews["overdue"]
            if o["kind"] == "weekly_review"} >= {(c.a2, "weekly_review", "missing")}
    assert {o["agent_id"] for o in reviews["overdue"]} <= {c.sup_a, c.a1, c.a2, None}
    assert [s["sheet_id"] for s in reviews["awaiting_review"]] == [known["sheet"]]
    ranking = team["team_ranking"]
    assert [(r["place"], r["agent_id"], D(r["value"])) for r in ranking["rows"]] == [(1, c.a1, D(8000))]
    at_risk = team["members_at_risk"]
    assert at_risk["not_checked"] == []
    assert at_risk["members"] == [
        {"agent_id": c.a2, "reasons": ["fewest_visits", "behind_target", "overdue_receivables"]}]

    # Only a supervisor has a supervisor home; only an agent has an agent home.
    refused = assert_problem(await gateway.get("/api/v1/home/supervisor", headers=c.tokens["a1"]), 403,
                             "role_required")
    assert "supervisor" in refused["detail"]
    assert_problem(await gateway.get("/api/v1/home/agent", headers=c.tokens["admin"]), 403, "not_an_agent")
    assert_problem(await gateway.get("/api/v1/home/agent"), 401, "not_authenticated")
    bad = assert_problem(await gateway.get("/api/v1/home/agent", params={"working_days": "0"},
                                           headers=c.tokens["a1"]), 422, "validation_failed")
    assert "working_days" in str(bad["errors"])
    assert (await gateway.post("/api/v1/home/agent", headers=c.tokens["a1"])).status_code == 405


class Slow(httpx.AsyncBaseTransport):
    """The real service, answering only after `seconds`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.seconds)
        return await self.inner.handle_async_request(request)


async def test_a_service_down_or_slow_leaves_the_rest_of_the_page(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    service_apps: dict[str, FastAPI], internal_secret: str, gateway_db: Database, login: Login,
) -> None:
    # The ledger is not running at all (nothing listens on its port); performance answers too late.
    transports = {**{k: v for k, v in service_transports.items() if k != "ledger"},
                  "performance": Slow(service_transports["performance"], 30.0)}
    async with start_gateway(transports=transports, ledger_url=f"http://127.0.0.1:{closed_port()}",
                             home_part_timeout=2.0) as gateway:
        c = await _company(gateway, gateway_db, login)
        await (await _replicate(service_apps, internal_secret))()

        agent = await gateway.get("/api/v1/home/agent", headers=c.tokens["a1"])
        assert agent.status_code == 200, agent.text
        body = agent.json()
        assert body["degraded"] == ["month_to_date", "receivables_due"]
        assert body["receivables_due"] == {"status": "unavailable",
                                           "reason": "the ledger service cannot be reached"}
        assert body["month_to_date"] == {"status": "unavailable",
                                         "reason": "the performance service did not answer within 2 s"}
        assert (body["activity_today"]["status"], body["weekly_review"]["state"]) == ("ok", "none")

        sup = await gateway.get("/api/v1/home/supervisor", headers=c.tokens["sup_a"])
        assert sup.status_code == 200, sup.text
        team = sup.json()
        assert team["degraded"] == ["team_ranking", "members_at_risk"]
        assert team["team_ranking"]["status"] == "unavailable"
        assert (team["team_compliance"]["status"], team["team_compliance"]["members"]) == ("ok", 2)
        assert team["overdue_reviews"]["status"] == "ok"
        at_risk = team["members_at_risk"]
        assert at_risk["status"] == "ok"
        assert [n["reason"] for n in at_risk["not_checked"]] == ["behind_target", "overdue_receivables"]

        # Hired a moment ago: org knows them, activity's copy of the organisation not yet.
        newcomer = await _account(gateway_db, Role.AGENT)
        t = secrets.token_hex(4)
        await _created(await gateway.post("/api/v1/org/v1/agents", headers=c.tokens["admin"], json={
            "code": f"A{t}", "name": f"新人{t}", "licence_no": f"L{t}", "hire_date": "2024-01-01",
            "institution_id": c.office, "team_id": c.team, "supervisor_id": c.sup_a, "rank_code": "agent",
            "user_id": newcomer.id}))
        fresh = (await gateway.get("/api/v1/home/agent", headers=bearer(await login(gateway, newcomer)))).json()
        assert fresh["activity_today"] == {"status": "unavailable",
                                           "reason": "the activity service does not know this agent yet"}
        assert fresh["degraded"] == ["activity_today", "month_to_date", "receivables_due"]


async def test_the_home_pages_are_in_the_published_api(gateway: httpx.AsyncClient) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    for path, model in (("/api/v1/home/agent", "AgentHome"), ("/api/v1/home/supervisor", "SupervisorHome")):
        answers = doc["paths"][path]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert {"401", "403", "503"} <= answers.keys()
    part = doc["components"]["schemas"]["AgentHome"]["properties"]["receivables_due"]
    assert part["discriminator"]["mapping"] == {"ok": "#/components/schemas/ReceivablesDue",
                                                "unavailable": "#/components/schemas/Unavailable"}
    assert "fewest_visits" in doc["components"]["schemas"]["MembersAtRisk"]["description"]


async def test_a_service_answering_an_error_is_one_unavailable_part(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    service_apps: dict[str, FastAPI], internal_secret: str, stack_db: StackDatabase, gateway_db: Database,
    login: Login,
) -> None:
    # A real ledger whose internal-token secret is out of step with the gateway's: it refuses every call.
    stray = create_ledger(LedgerSettings(database_url=stack_db.dsn("ledger"),
                                         INTERNAL_TOKEN_SECRET=secrets.token_urlsafe(48)))
    async with stray.router.lifespan_context(stray), start_gateway(
            transports={**service_transports, "ledger": httpx.ASGITransport(app=stray)}) as gateway:
        c = await _company(gateway, gateway_db, login)
        await (await _replicate(service_apps, internal_secret))()
        home = await gateway.get("/api/v1/home/agent", headers=c.tokens["a1"])
    assert home.status_code == 200, home.text
    body = home.json()
    assert body["degraded"] == ["receivables_due"]
    assert body["receivables_due"] == {"status": "unavailable",
                                       "reason": "the ledger service answered 401 (internal_token_invalid)"}
    assert body["month_to_date"]["status"] == "ok"
