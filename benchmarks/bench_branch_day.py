"""A branch's working day through the gateway (`make bench BENCH=system`).

`make run`'s own runner (`python -m svckit.ops.stack run`, as tests/e2e/stack.py starts it) on a
database of its own on the benchmark's server: four services and the gateway, one uvicorn process
each, migrated and bootstrapped as on a fresh machine. The branch is seeded through the public API,
then CONCURRENCY closed-loop clients play its day for SECONDS (tests/e2e/load.py says who does what).
Figures: requests per second over all kinds, latency percentiles, and the error count, which must be
0 (each error is printed with a sample). Services log at WARNING, as in the other benchmarks.

BENCH_SYSTEM_{AGENTS,CONCURRENCY,SECONDS,SEED,LOG_LEVEL} change it (200, 32, 60, 20261129, WARNING).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from svckit.ops.bench import BenchContext, Figure
from svckit.ops.provision import drop, libpq_url, render
from svckit.ops.services import ALL

# The stack runner and the load harness are the end-to-end tests' own, in the repository's tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.branch import LoadConfig, seed
from tests.e2e.load import KINDS, drive
from tests.e2e.stack import running_stack

CONFIG = LoadConfig(
    agents=int(os.environ.get("BENCH_SYSTEM_AGENTS", "200")),
    concurrency=int(os.environ.get("BENCH_SYSTEM_CONCURRENCY", "32")),
    seconds=float(os.environ.get("BENCH_SYSTEM_SECONDS", "60")),
    seed=int(os.environ.get("BENCH_SYSTEM_SEED", "20261129")),
)
LOG_LEVEL = os.environ.get("BENCH_SYSTEM_LOG_LEVEL", "WARNING")


def service_cpu_s(runner_pid: int) -> dict[str, float]:
    """CPU seconds each process started by the stack runner has used so far, by service (from /proc)."""
    used: dict[str, float] = {}
    for pid in Path(f"/proc/{runner_pid}/task/{runner_pid}/children").read_text().split():
        app = next(arg for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if b":create_app" in arg)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[app.decode().split("_service")[0]] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


async def run(ctx: BenchContext) -> list[Figure]:
    database, prefix = f"branch_day_{secrets.token_hex(4)}", f"b{secrets.token_hex(3)}_"
    password = secrets.token_urlsafe(18)
    env = {"DATABASE_URL": render(libpq_url(ctx.db.admin_dsn).set(database=database)), "STACK_ROLE_PREFIX": prefix,
           "GATEWAY_ADMIN_PASSWORD": password, **{f"{s.env_prefix}LOG_LEVEL": LOG_LEVEL for s in ALL}}
    try:
        with tempfile.TemporaryDirectory(prefix="branch-day-") as folder, \
                running_stack(env, Path(folder) / "data") as stack:
            await asyncio.to_thread(stack.wait_healthy, 300)
            started = time.perf_counter()
            branch = await seed(stack.gateway, password, CONFIG)
            seeded_s = time.perf_counter() - started
            load_before, cpu_before = os.getloadavg()[0], service_cpu_s(stack.process.pid)
            tally = await drive(stack.gateway, branch, CONFIG)
            # The machine is shared: how busy it was says how far to trust a run; each process's CPU
            # time says where a request's time goes.
            load_after, cpu_after = os.getloadavg()[0], service_cpu_s(stack.process.pid)
            stopped = await asyncio.to_thread(stack.stop)
            if stopped != 0:
                raise RuntimeError(f"the stack stopped with {stopped}:\n{stack.text()[-3000:]}")
    finally:
        await drop(ctx.db.admin_dsn, database, schemas=[s.name for s in ALL], role_prefix=prefix)
    print(f"# system: {len(branch.agents)} agents, {len(branch.supervisors)} supervisors, {len(branch.back_office)} "
          f"back office; {CONFIG.concurrency} clients closed-loop for {tally.seconds:.0f} s; "
          f"seeded in {seeded_s:.0f} s; load average {load_before:.1f} before, {load_after:.1f} after", flush=True)
    print("\n".join(f"#   {line}" for line in tally.report().splitlines()), flush=True)
    per_request = {name: (cpu_after[name] - cpu_before[name]) * 1000 / tally.requests for name in cpu_after}
    print("# CPU per request: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per_request.items()), flush=True)
    return [
        Figure("branch_day_requests_per_s", tally.rate, "1/s"),
        Figure("branch_day_p50_ms", tally.percentile(50), "ms"),
        Figure("branch_day_p95_ms", tally.percentile(95), "ms"),
        Figure("branch_day_p99_ms", tally.percentile(99), "ms"),
        Figure("branch_day_errors", len(tally.errors), "errors"),
        *(Figure(f"branch_day_{kind}_p99_ms", tally.percentile(99, kind), "ms") for kind in KINDS),
    ]
