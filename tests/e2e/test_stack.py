"""`make run` for real: the runner, five uvicorn processes and PostgreSQL, over real HTTP."""

import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .stack import RunningStack, running_stack, throwaway_database

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = "e2e-" + secrets.token_urlsafe(18)


def login(stack: RunningStack, password: str, username: str = "admin") -> str:
    response = httpx.post(f"{stack.gateway}/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def port_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def external_database(pg_admin_dsn: str) -> Iterator[tuple[str, str]]:
    with throwaway_database(pg_admin_dsn, "stack") as database:
        yield database


def test_the_stack_runs_on_an_external_server_and_forwards_identity(
    external_database: tuple[str, str], tmp_path: Path
) -> None:
    dsn, prefix = external_database
    env = {"DATABASE_URL": dsn, "STACK_ROLE_PREFIX": prefix, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running_stack(env, tmp_path / "data") as stack:
        health = stack.wait_healthy()
        services = health["services"]
        assert isinstance(services, dict)
        assert set(services) == {"org", "performance", "activity", "ledger"}
        for name, state in services.items():
            assert state["migration"]["at_head"] is True, name

        token = login(stack, ADMIN_PASSWORD)
        with httpx.Client(base_url=stack.gateway, headers={"Authorization": f"Bearer {token}"}) as client:
            me = client.get("/api/v1/org/v1/caller", headers={"X-Request-ID": "e2e-request-0001"})
            assert me.status_code == 200, me.text
            body = me.json()
            assert (body["service"], body["caller_service"], body["username"]) == ("org", "gateway", "admin")
            assert "admin" in body["roles"]
            assert body["request_id"] == "e2e-request-0001"
            assert client.get("/api/v1/ledger/v1/caller").json()["service"] == "ledger"

        direct = httpx.get(f"{stack.url('org')}/v1/caller")
        assert direct.status_code == 401
        assert direct.json()["code"] == "internal_token_missing"
        anonymous = httpx.get(f"{stack.gateway}/api/v1/org/v1/caller")
        assert anonymous.status_code == 401

        assert stack.stop() == 0
        assert all(port_closed(port) for port in stack.ports.values())


def _snapshot_size(stack: RunningStack, token: str) -> int:
    response = httpx.get(f"{stack.gateway}/api/v1/org/v1/snapshot", params={"on": "2026-06-30"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return len(response.text.splitlines())


def test_the_embedded_default_keeps_its_data_between_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_stack({"STACK_DEMO_AGENTS": "150"}, data_dir) as first:  # as `make run DEMO=150`
        first.wait_healthy()
        match = re.search(r"password:\s*(\S+)", first.text())
        assert match, f"no generated administrator password printed:\n{first.text()[-3000:]}"
        password = match.group(1)
        seeded = _snapshot_size(first, login(first, password))
        assert seeded >= 150, first.text()[-3000:]
        assert first.stop() == 0
    assert (data_dir / "pg" / "PG_VERSION").exists()
    assert "127.0.0.1" not in (data_dir / "secrets.env").read_text()  # secrets only, no DSNs

    with running_stack({"STACK_DEMO_AGENTS": "150"}, data_dir) as second:
        second.wait_healthy()
        token = login(second, password)  # same administrator, same data
        assert _snapshot_size(second, token) == seeded  # not seeded twice
        assert not re.search(r"password:\s*\S+", second.text()), "a second password was generated"
        assert second.stop() == 0
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
