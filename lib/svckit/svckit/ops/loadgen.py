"""What the benchmarks share: a service as a real uvicorn process, and a lean HTTP/1.1 client.

The client keeps keep-alive connections over asyncio streams on uvloop, in a thread of its own, and
sends requests prepared as bytes beforehand: it must cost little, as it shares the machine's CPUs
with the services and the database (httpx's pool is slower than the services, encode/httpx#3215).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import asyncpg
import httpx
import uvloop

from svckit.http import SERVICE_KEEPALIVE_SECONDS
from svckit.ops.services import answers_ok

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: str, env: Mapping[str, str], *, root: Path, workers: int = 1, name: str = "service",
          port: int | None = None) -> Iterator[tuple[int, int]]:
    """Run `app` (a factory, "package.app:create_app") under uvicorn until the block ends; yields
    (port, pid) once /readyz answers. Its output is kept in .data/bench/<name>.log."""
    port = port or free_port()
    folder = root / ".data" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--workers", str(workers),
             "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", str(SERVICE_KEEPALIVE_SECONDS)],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=root, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            with httpx.Client(timeout=2.0) as probe:
                while not answers_ok(probe, f"http://127.0.0.1:{port}/readyz"):
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"{name} not ready: {log.read_text()[-2000:]}")
                    time.sleep(0.2)
            yield port, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=15)


_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Connection:
    """One keep-alive HTTP/1.1 connection: a request is written as prepared bytes and its response
    read by Content-Length; nothing else."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        return cls(reader, writer)

    async def call(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        found = _LENGTH.search(head)
        body = await self.reader.readexactly(int(found[1])) if found else b""
        return int(head[9:12]), body

    def close(self) -> None:
        self.writer.close()


def http_request(method: str, path: str, token: str | None, body: Any = None,
                 headers: Mapping[str, str] | None = None, *, host: str = "service") -> bytes:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Run(NamedTuple):
    seconds: float
    latencies: list[float]
    answers: list[tuple[int, bytes]]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: int) -> float:
        """The q-th percentile of latency, in milliseconds."""
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for status, _ in self.answers:
            counts[status] = counts.get(status, 0) + 1
        return counts


async def drive(port: int, requests: Sequence[bytes], concurrency: int) -> Run:
    """Send every request, `concurrency` at a time on as many keep-alive connections."""
    connections = [await Connection.open(port) for _ in range(concurrency)]
    latencies = [0.0] * len(requests)
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    cursor = iter(range(len(requests)))

    async def worker(connection: Connection) -> None:
        for n in cursor:
            started = time.perf_counter()
            answers[n] = await connection.call(requests[n])
            latencies[n] = time.perf_counter() - started

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    seconds = time.perf_counter() - started
    for c in connections:
        c.close()
    return Run(seconds, latencies, answers)


async def drive_sql(dsn: str, n: int, work: Callable[[asyncpg.Connection, int], Awaitable[object]], *,
                    concurrency: int, connections: int) -> Run:
    """A bare-SQL baseline: `work(connection, k)` for every k in range(n), each in a transaction of its
    own, `concurrency` clients at a time over a pool of `connections`; the latency of each."""
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    latencies = [0.0] * n
    cursor = iter(range(n))

    async def client() -> None:
        for k in cursor:
            started = time.perf_counter()
            async with pool.acquire() as connection, connection.transaction():
                await work(connection, k)
            latencies[k] = time.perf_counter() - started

    try:
        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return Run(seconds, latencies, [])


def in_thread(work: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """Run a coroutine on its own uvloop in a worker thread: the client's loop is as lean as the
    service's, and nothing of the benchmark's own loop runs while it is timed."""

    def target() -> T:
        return uvloop.run(work())  # type: ignore[arg-type]

    return asyncio.to_thread(target)
