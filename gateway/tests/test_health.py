"""/healthz reports every service's readiness and migration state; /readyz is the gateway's own."""

from __future__ import annotations

import httpx

from gateway_service.app import ALEMBIC_INI
from gateway_service.testing import GatewayFactory, closed_port
from svckit.migrations import head_revisions


async def test_healthz_shows_every_service_ready_at_migration_head(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/healthz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["gateway"]["status"] == "ready"
    assert body["gateway"]["migration"]["current"] == sorted(head_revisions(ALEMBIC_INI))
    assert set(body["services"]) == {"org", "performance", "activity", "ledger"}
    for name, service in body["services"].items():
        assert service["status"] == "ready", name
        migration = service["migration"]
        assert migration["at_head"] is True
        assert migration["current"] == migration["head"]
        assert migration["current"][0].startswith(name)


async def test_healthz_is_degraded_when_a_service_is_down(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
) -> None:
    transports = {k: v for k, v in service_transports.items() if k != "activity"}
    async with start_gateway(transports=transports, activity_url=f"http://127.0.0.1:{closed_port()}") as gateway:
        response = await gateway.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["services"]["activity"]["status"] == "unreachable"
    assert body["services"]["org"]["status"] == "ready"


async def test_readyz_is_the_gateways_own_readiness(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "gateway"
    assert body["status"] == "ready"
    assert body["migration"]["at_head"] is True
    assert (await gateway.get("/livez")).json()["status"] == "ok"


async def test_readyz_refuses_when_the_database_is_unreachable(start_gateway: GatewayFactory) -> None:
    async with start_gateway(database_url="postgresql://nobody:wrong@127.0.0.1:9/none") as gateway:
        response = await gateway.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
