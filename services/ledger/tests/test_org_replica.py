"""The ledger's background loop follows org's change feed into its copy of the organisation."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from ledger_service.app import create_app as create_ledger
from ledger_service.settings import LedgerSettings
from org_service.app import create_app as create_org
from org_service.settings import OrgSettings
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

from .conftest import company, hire


async def test_a_move_in_org_reaches_the_ledgers_copy_with_everyone_below(stack_db: StackDatabase,
                                                                        internal_secret: str) -> None:
    org_app = create_org(OrgSettings(database_url=stack_db.dsn("org"), INTERNAL_TOKEN_SECRET=internal_secret))
    async with running(org_app, "http://org.test") as org:
        org.headers.update(internal_headers(internal_secret, "org", username="admin", roles=frozenset({"admin"})))
        c = await company(org)
        top, other_top = await hire(org, c, "department_manager"), await hire(org, c, "department_manager")
        sup = await hire(org, c, "supervisor", top)
        agent = await hire(org, c, "agent", sup)
        ledger_app = create_ledger(
            LedgerSettings(database_url=stack_db.dsn("ledger"), INTERNAL_TOKEN_SECRET=internal_secret,
                           org_url="http://org.test", org_poll_seconds=0.05),
            org_transport=httpx.ASGITransport(app=org_app))
        async with running(ledger_app):
            engine = ledger_app.state.kit.db.engine

            async def path_of(agent_id: int) -> list[int] | None:
                async with engine.connect() as conn:
                    return (await conn.execute(text("SELECT path FROM ledger.org_agent WHERE agent_id = :a"),
                                               {"a": agent_id})).scalar()

            async def until(agent_id: int, expected: list[int]) -> None:
                for _ in range(400):  # eventual consistency: wait for the loop, not for a speed
                    if await path_of(agent_id) == expected:
                        return
                    await asyncio.sleep(0.025)
                raise AssertionError(f"agent {agent_id}: {await path_of(agent_id)} != {expected}")

            await until(agent, [top, sup])
            moved = await org.post(f"/v1/agents/{sup}/moves", json={
                "effective_on": "2024-06-01", "supervisor_id": other_top, "reason": "rebalanced"})
            assert moved.status_code == 200, moved.text
            await until(sup, [other_top])
            await until(agent, [other_top, sup])  # the people below moved with their supervisor
            async with engine.connect() as conn:
                institutions = (await conn.execute(text(
                    "SELECT path FROM ledger.org_institution WHERE institution_id = :i"), {"i": c.office})).scalar()
            assert institutions == [c.hq, c.branch, c.office]
