"""`make bench [BENCH=<service>]`: run every package's benchmarks against a throw-away database.

A benchmark is a module `benchmarks/bench_*.py` in a package folder (lib/svckit, services/<name>,
gateway; the repository root's, owner `system`, for the whole stack) with
`async def run(ctx: BenchContext) -> list[Figure]`. Each figure prints on its own line as
`bench: <owner>.<figure> <value> <unit>`; a figure that compares with a baseline measured in the
same process says so in its name (`..._ratio`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import platform
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svckit.ops.pgserver import test_server
from svckit.ops.services import ALL, repo_root
from svckit.ops.throwaway import StackDatabase, throwaway_database

SCRATCH_SCHEMA = "kit"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str


@dataclass(frozen=True)
class BenchContext:
    db: StackDatabase
    internal_secret: str
    root: Path
    scratch_schema: str = SCRATCH_SCHEMA


def owners(root: Path) -> dict[str, Path]:
    folders = {"svckit": root / "lib" / "svckit"}
    folders.update({spec.name: root / spec.directory for spec in ALL})
    folders["system"] = root  # benchmarks/ at the root: the whole stack under load through the gateway
    return folders


def discover(root: Path, only: str | None) -> list[tuple[str, Path]]:
    found = []
    for owner, folder in owners(root).items():
        if only and owner != only:
            continue
        found += [(owner, path) for path in sorted((folder / "benchmarks").glob("bench_*.py"))]
    return found


def load(path: Path) -> Callable[[BenchContext], Coroutine[Any, Any, list[Figure]]]:
    spec = importlib.util.spec_from_file_location(f"bench_{path.parent.parent.name}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load benchmark {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run: Callable[[BenchContext], Coroutine[Any, Any, list[Figure]]] = module.run
    return run


def fmt(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"


async def timed(work: Callable[[], Awaitable[object]], repeats: int = 3) -> float:
    """Seconds of the fastest of `repeats` runs: the least disturbed by everything else on the machine."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        await work()
        best = min(best, time.perf_counter() - started)
    return best


async def paired(
    baseline: Callable[[], Awaitable[object]], candidate: Callable[[], Awaitable[object]], repeats: int = 3,
) -> tuple[float, float]:
    """Fastest seconds of each, runs interleaved so drift on the machine hits both alike."""
    best_baseline = best_candidate = float("inf")
    for _ in range(repeats):
        best_baseline = min(best_baseline, await timed(baseline, 1))
        best_candidate = min(best_candidate, await timed(candidate, 1))
    return best_baseline, best_candidate


def main(argv: list[str]) -> int:
    only = argv[0] if argv else None
    root = repo_root()
    if only and only not in owners(root):
        print(f"unknown benchmark owner {only!r}; choose from {', '.join(owners(root))}", file=sys.stderr)
        return 2
    benches = discover(root, only)
    if not benches:
        if only:  # a real package whose benchmarks are yet to be written
            print(f"# {only}: no benchmarks yet ({owners(root)[only].relative_to(root)}/benchmarks/bench_*.py)")
            return 0
        print("no benchmarks found in any package", file=sys.stderr)
        return 1
    print(f"# machine: {platform.node()} {platform.machine()} python {platform.python_version()}", flush=True)
    with test_server() as admin, throwaway_database(admin, scratch_schemas=[SCRATCH_SCHEMA]) as db:
        ctx = BenchContext(db=db, internal_secret=secrets.token_urlsafe(48), root=root)
        for owner, path in benches:
            print(f"# {owner}: {path.relative_to(root)}", flush=True)
            for figure in asyncio.run(load(path)(ctx)):
                print(f"bench: {owner}.{figure.name} {fmt(figure.value)} {figure.unit}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
