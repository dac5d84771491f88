"""Privacy of activity logs through the gateway (seed 002 问题之五): a customer's identity and contact
data are the owning agent's alone; supervisors see numbers, grades and compliance, never contact data
and never the log itself; other agents see nothing; every read of contact data is logged."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from activity_service.app import create_app as create_activity
from activity_service.models import DIRECTORY, PLATFORM_TABLES
from activity_service.settings import ActivitySettings
from gateway_service.roles import Role
from gateway_service.testing import GatewayFactory, Login, assert_problem, bearer
from svckit.db import Database
from svckit.testing.org import org_replica
from svckit.testing.plugin import StackDatabase
from svckit.timeutil import utcnow

from .test_data_scope import _account, build_org


@pytest.fixture
async def activity_with_org(stack_db: StackDatabase, internal_secret: str,
                            service_apps: dict[str, Any]) -> AsyncIterator[tuple[Any, Any]]:
    """Activity keeping its copy of the organisation from the org app the gateway routes to."""
    org = service_apps["org"]
    app = create_activity(ActivitySettings(database_url=stack_db.dsn("activity"), INTERNAL_TOKEN_SECRET=internal_secret,
                                           org_url="http://org.test"),
                          org_transport=httpx.ASGITransport(app=org), start_workers=False)
    async with app.router.lifespan_context(app), org_replica(org, app.state.kit, "activity", PLATFORM_TABLES,
                                                             DIRECTORY, internal_secret) as drain:
        yield app, drain


async def test_contact_data_and_logs_stay_with_their_agent(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    activity_with_org: tuple[Any, Any], gateway_db: Database, login: Login,
) -> None:
    activity, drain = activity_with_org
    transports = {**service_transports, "activity": httpx.ASGITransport(app=activity)}
    async with start_gateway(transports=transports, scope_cache_seconds=0) as gateway:
        people = {name: await _account(gateway_db, role) for name, role in (
            ("admin", Role.ADMIN), ("sup_a", Role.SUPERVISOR), ("a1", Role.AGENT), ("a2", Role.AGENT),
            ("b1", Role.AGENT))}
        people["auditor"] = await _account(gateway_db, Role.COMPLIANCE)
        tokens = {name: bearer(await login(gateway, account)) for name, account in people.items()}
        org = await build_org(gateway, tokens["admin"], {name: a.id for name, a in people.items()})
        await drain()
        a1, sup, a2, b1 = tokens["a1"], tokens["sup_a"], tokens["a2"], tokens["b1"]

        registered = await gateway.post("/api/v1/activity/v1/customers", headers=a1, json={
            "name": "赵总", "company": "汉沽渔业", "phone": "13900000000", "intent": 4, "grade": "B"})
        assert registered.status_code == 201, registered.text
        customer = registered.json()["id"]
        entry = {"id": str(uuid.uuid4()), "kind": "interview", "occurred_at": utcnow().isoformat(),
                 "customer_id": customer, "notes": "赵总 wants a quote on Friday"}
        logged = await gateway.post("/api/v1/activity/v1/entries", headers=a1, json=entry)
        assert logged.status_code == 201, logged.text

        # The owner reads the contact data.
        own = await gateway.get(f"/api/v1/activity/v1/customers/{customer}/contact", headers=a1)
        assert own.status_code == 200, own.text
        assert own.json()["contact"]["name"] == "赵总"

        # The supervisor sees the grade, never who the customer is, and never the log.
        summary = await gateway.get(f"/api/v1/activity/v1/customers/{customer}", headers=sup)
        assert summary.status_code == 200, summary.text
        assert summary.json()["grade"] == "B"
        assert "赵总" not in summary.text
        assert_problem(await gateway.get(f"/api/v1/activity/v1/customers/{customer}/contact", headers=sup), 403,
                       "contact_private")
        assert_problem(await gateway.get(f"/api/v1/activity/v1/entries/{entry['id']}", headers=sup), 404,
                       "entry_not_found")
        listed = await gateway.get("/api/v1/activity/v1/customers", headers=sup)
        assert [c["id"] for c in listed.json()["items"]] == [customer]
        assert "赵总" not in listed.text
        today = utcnow().date().isoformat()
        days = await gateway.get(f"/api/v1/activity/v1/agents/{org.a1}/days", headers=sup,
                                 params={"from": today, "to": "2100-01-01"})
        assert days.status_code == 422  # a range is bounded
        compliance = await gateway.get("/api/v1/activity/v1/compliance", headers=sup, params={"period": "month"})
        assert compliance.status_code == 200, compliance.text
        assert {r["agent_id"] for r in compliance.json()["rows"]} == {org.sup_a, org.a1, org.a2}
        assert "赵总" not in compliance.text

        # Other agents, in the team or not, see nothing of it.
        for other in (a2, b1):
            assert_problem(await gateway.get(f"/api/v1/activity/v1/customers/{customer}", headers=other), 404,
                           "customer_not_found")
            assert_problem(await gateway.get(f"/api/v1/activity/v1/customers/{customer}/contact", headers=other),
                           404, "customer_not_found")
            assert_problem(await gateway.get(f"/api/v1/activity/v1/entries/{entry['id']}", headers=other), 404,
                           "entry_not_found")
            assert_problem(await gateway.get(f"/api/v1/activity/v1/agents/{org.a1}/days", headers=other,
                                             params={"from": today, "to": today}), 404, "agent_not_found")
            mine = await gateway.get("/api/v1/activity/v1/customers", headers=other)
            assert mine.json()["items"] == []
        # An agent writes only into their own log: a supervisor's coaching note about a member outside
        # their team is refused.
        coaching = {"id": str(uuid.uuid4()), "kind": "coaching", "occurred_at": utcnow().isoformat(),
                    "member_agent_id": org.b1}
        refused = await gateway.post("/api/v1/activity/v1/entries", headers=sup, json=coaching)
        assert_problem(refused, 422, "not_your_member")

        # Every read of the contact data is in the access log, and only the owner read it.
        log = await gateway.get("/api/v1/activity/v1/contact-access", headers=tokens["auditor"],
                                params={"customer_id": customer})
        assert log.status_code == 200, log.text
        assert [(e["purpose"], e["agent_id"]) for e in log.json()["items"]] == [("read", org.a1),
                                                                                ("register", org.a1)]
