"""Activity counts for KPI: activity's days in numbers reach performance through activity's change
feed, each event once, the latest state of a day kept, under data scope."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from activity_service.app import create_app as create_activity
from activity_service.models import DIRECTORY as ACTIVITY_DIRECTORY
from activity_service.models import PLATFORM_TABLES as ACTIVITY_TABLES
from activity_service.settings import ActivitySettings
from performance_service.followers import activity_consumer
from svckit.http import ServiceClient
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers, running
from svckit.testing.org import org_replica
from svckit.testing.plugin import StackDatabase
from svckit.testing.responses import ok, problem
from svckit.timeutil import business_date, utcnow

from .conftest import Stack, company, hire


async def test_activity_counts_reach_performance_once_and_latest(stack: Stack, stack_db: StackDatabase,
                                                                 internal_secret: str) -> None:
    c = await company(stack.org)
    agent = await hire(stack.org, c, "agent")
    stranger = await hire(stack.org, await company(stack.org), "agent")
    await stack.sync()
    activity_app = create_activity(ActivitySettings(database_url=stack_db.dsn("activity"),
                                                    INTERNAL_TOKEN_SECRET=internal_secret))
    async with running(activity_app, "http://activity.test") as activity, \
            org_replica(stack.org_app, activity_app.state.kit, "activity", ACTIVITY_TABLES, ACTIVITY_DIRECTORY,
                        internal_secret) as drain_org:
        await drain_org()
        me = internal_headers(internal_secret, "activity", user_id=f"user-{agent}", roles=frozenset({"agent"}),
                              scope=DataScope(agent_id=agent))
        when = utcnow() - timedelta(minutes=30)
        entries = [{"id": str(uuid.uuid4()), "kind": kind, "occurred_at": when.isoformat()}
                   for kind in ("interview", "interview", "phone_appointment")]
        ok(await activity.post("/v1/entries/sync", json={"entries": entries}, headers=me))
        # One withdrawn afterwards: the day's later numbers must win.
        withdraw = {**entries[0], "withdrawn": True, "version": 1}
        ok(await activity.put(f"/v1/entries/{entries[0]['id']}", json={k: v for k, v in withdraw.items()
                                                                      if k != "id"}, headers=me))
        client = ServiceClient(service="activity", base_url="http://activity.test", caller_service="performance",
                               secret=internal_secret, transport=httpx.ASGITransport(app=activity_app))
        try:
            consumer = activity_consumer(stack.performance_app.state.kit.db, client)
            # The run's database is shared by the session's tests: other agents' days may be in the feed too.
            assert await consumer.drain() >= 2  # this agent's two versions of the day, at least
            assert await consumer.drain() == 0  # nothing applies twice
        finally:
            await client.aclose()
    period = business_date(when).strftime("%Y-%m")
    month = ok(await stack.performance.get(f"/v1/facts/agents/{agent}/activity", params={"period": period},
                                           headers=stack.as_user(DataScope(agent_id=agent), "agent")))
    assert month["counts"] == {"interview": 1, "phone_appointment": 1}
    assert (month["visits"], month["active_days"]) == (1, 1)
    problem(await stack.performance.get(f"/v1/facts/agents/{agent}/activity", params={"period": period},
                                        headers=stack.as_user(DataScope(agent_id=stranger), "agent")), 404,
            "agent_not_found")
