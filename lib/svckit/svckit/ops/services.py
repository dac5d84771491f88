"""The processes of the stack, as data: name (= schema), app factory, default port, folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    app: str
    port: int
    directory: str

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    @property
    def dsn_env(self) -> str:
        return f"{self.env_prefix}DATABASE_URL"

    def alembic_ini(self, root: Path) -> Path:
        return root / self.directory / "alembic.ini"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("org", "org_service.app:create_app", 8001, "services/org"),
    ServiceSpec("performance", "performance_service.app:create_app", 8002, "services/performance"),
    ServiceSpec("activity", "activity_service.app:create_app", 8003, "services/activity"),
    ServiceSpec("ledger", "ledger_service.app:create_app", 8004, "services/ledger"),
)
GATEWAY = ServiceSpec("gateway", "gateway_service.app:create_app", 8000, "gateway")
ALL: tuple[ServiceSpec, ...] = (*SERVICES, GATEWAY)


def by_name(name: str) -> ServiceSpec:
    for spec in ALL:
        if spec.name == name:
            return spec
    raise KeyError(name)


def repo_root(start: Path | None = None) -> Path:
    """The checkout's root: the nearest folder upwards holding both `services/` and `gateway/`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "services").is_dir() and (folder / "gateway").is_dir():
            return folder
    raise RuntimeError(f"not inside the repository: {here}")


def answers_ok(client: httpx.Client, url: str) -> bool:
    """Whether `url` answers 200 now; a process still starting (refused, reset, timed out) is a no."""
    try:
        return client.get(url).status_code == 200
    except httpx.TransportError:
        return False
