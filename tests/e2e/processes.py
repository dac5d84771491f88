"""The five processes of the stack, each its own uvicorn, against one throw-away database, so that a
single one can be killed (SIGKILL: no shutdown, no cleanup) and started again on the same port.

Environment, migrations and the administrator come from `svckit.ops.stack` (`prepare`, `service_env`),
exactly as `make run` does them; only the lifetime of each process is ours, and its output goes to
<data_dir>/<name>.log, whose tail a failure to start shows.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from svckit.http import SERVICE_KEEPALIVE_SECONDS
from svckit.ops.services import ALL, GATEWAY, SERVICES, answers_ok, by_name, repo_root
from svckit.ops.stack import GENERATED, _die_with_parent, base_url, host_port, prepare, service_env, stop_all
from svckit.ops.throwaway import StackDatabase

from .stack import free_port


@dataclass
class Processes:
    env: dict[str, str]
    dsns: dict[str, str]
    admin_password: str
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, name: str) -> str:
        """The last lines `name` wrote (all its lives), for a failure's message."""
        return "".join((self.logs / f"{name}.log").read_text(errors="replace").splitlines(True)[-40:])

    def url(self, name: str) -> str:
        return base_url(by_name(name), self.env)

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish a request, commit, or close a connection."""
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def freeze(self, name: str) -> None:
        """SIGSTOP: the process keeps its port and connections but answers nothing (a hung service)."""
        self.running[name].send_signal(signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGCONT)

    def spawn(self, name: str) -> None:
        """`make run`'s command and environment for `name` (svckit.ops.stack), its output to a log file."""
        spec = by_name(name)
        host, port = host_port(spec, self.env)
        with (self.logs / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", spec.app, "--factory", "--host", host, "--port", str(port),
                 "--no-access-log", "--timeout-keep-alive", str(SERVICE_KEEPALIVE_SECONDS)],
                env=service_env(spec, self.env, self.dsns), stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)

    def start(self, name: str) -> None:
        """Start `name` on its port and wait until /readyz answers (its database and migrations)."""
        assert name not in self.running, f"{name} is already running"
        self.spawn(name)
        self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        process = self.running[name]
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as probe:
            while not answers_ok(probe, f"{self.url(name)}/readyz"):
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited with {process.returncode} while starting:\n{self.log(name)}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name} not ready after {timeout:.0f}s:\n{self.log(name)}")
                time.sleep(0.1)


@contextmanager
def running_processes(db: StackDatabase, data_dir: Path, **overrides: str) -> Iterator[Processes]:
    """org, performance, activity, ledger and the gateway on free ports against `db`, its
    administrator `admin` with a known password; stopped (terminated) at the end."""
    password = "faults-" + secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({key: secrets.token_urlsafe(36) for key in GENERATED})
    env.update({f"{spec.env_prefix}PORT": str(free_port()) for spec in ALL})
    env.update({spec.dsn_env: db.dsn(spec.name) for spec in ALL})
    # Followers poll often, so a restarted service catches up within a test's patience.
    env.update({"PERFORMANCE_POLL_SECONDS": "0.2", "LEDGER_ORG_POLL_SECONDS": "0.2",
                "ACTIVITY_ORG_POLL_SECONDS": "0.2", "GATEWAY_SCOPE_CACHE_SECONDS": "0",
                "GATEWAY_ADMIN_PASSWORD": password, "PYTHONUNBUFFERED": "1"})
    env.update({f"{spec.env_prefix}LOG_LEVEL": "WARNING" for spec in ALL})
    env.update(overrides)
    with ExitStack() as resources:
        dsns = prepare(env, repo_root(Path(__file__)), data_dir, resources)  # migrations at head, administrator
        processes = Processes(env, dsns, password, data_dir)
        try:
            for spec in (*SERVICES, GATEWAY):
                processes.spawn(spec.name)
            for spec in (*SERVICES, GATEWAY):
                processes.wait_ready(spec.name)
            yield processes
        finally:
            stop_all(processes.running)
