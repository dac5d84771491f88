"""Starting the real stack (`python -m svckit.ops.stack run`) as a child process, for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from svckit.ops.provision import drop, libpq_url, render
from svckit.ops.services import ALL, answers_ok, repo_root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    output: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def text(self) -> str:
        return "".join(self.output)

    def wait_healthy(self, timeout: float = 90.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=3.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"stack exited early ({self.process.returncode}):\n{self.text()[-4000:]}")
                if answers_ok(client, f"{self.gateway}/healthz"):
                    return dict(client.get(f"{self.gateway}/healthz").json())
                time.sleep(0.5)
        raise AssertionError(f"stack not healthy after {timeout}s:\n{self.text()[-4000:]}")

    def stop(self, timeout: float = 40.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"stack did not stop within {timeout}s:\n{self.text()[-4000:]}") from None


@contextmanager
def throwaway_database(pg_admin_dsn: str, tag: str) -> Iterator[tuple[str, str]]:
    """A database of its own on the test server, with role names of its own, for one stack: (its DSN,
    the role prefix); dropped afterwards with its roles."""
    name, prefix = f"{tag}_{secrets.token_hex(4)}", f"{tag[0]}{secrets.token_hex(3)}_"
    try:
        yield render(libpq_url(pg_admin_dsn).set(database=name)), prefix
    finally:
        asyncio.run(drop(pg_admin_dsn, name, schemas=[s.name for s in ALL], role_prefix=prefix))


@contextmanager
def running_stack(env_overrides: dict[str, str], data_dir: Path) -> Iterator[RunningStack]:
    ports = {spec.name: free_port() for spec in ALL}
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({f"{spec.env_prefix}PORT": str(ports[spec.name]) for spec in ALL})
    env.update({"STACK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **env_overrides})
    process = subprocess.Popen(
        [sys.executable, "-m", "svckit.ops.stack", "run"], cwd=repo_root(Path(__file__)), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    stack = RunningStack(process, ports)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield stack
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
