"""What a running service keeps on `app.state.kit`: its name, database and library tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from svckit.db import Database
from svckit.platform_tables import PlatformTables


@dataclass
class ServiceKit:
    service: str
    db: Database
    tables: PlatformTables
    internal_secret: str
    alembic_ini: Path

    @property
    def schema(self) -> str:
        return self.db.schema


def kit_of(request: Request) -> ServiceKit:
    kit = request.app.state.kit
    assert isinstance(kit, ServiceKit)
    return kit
