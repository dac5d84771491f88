"""First-run bootstrap: make sure an active administrator exists.

Run after migrations: `python -m gateway_service.bootstrap`. With no active administrator it
creates one named GATEWAY_ADMIN_USERNAME (default "admin") with GATEWAY_ADMIN_PASSWORD, or,
when no password is given, a generated one printed once. There is no default password.
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import text

from gateway_service import accounts, passwords, repository
from gateway_service.models import SCHEMA
from gateway_service.roles import Role
from gateway_service.schemas import USERNAME_PATTERN
from gateway_service.settings import GatewaySettings
from svckit.db import Database
from svckit.errors import DomainError

# Any constant works; it only has to be the same for every bootstrap run against this database.
_LOCK_KEY = "gateway.bootstrap_admin"


class BootstrapError(Exception):
    """The first administrator cannot be created as configured; the message says why."""


@dataclass(frozen=True)
class Outcome:
    created: bool
    username: str
    generated_password: str | None = None


async def ensure_admin(db: Database, username: str, password: str | None) -> Outcome:
    """Create the first administrator unless an active one exists. Safe to run any number of times."""
    name = accounts.normalize_username(username)
    if not re.match(USERNAME_PATTERN, name):
        raise BootstrapError(f"GATEWAY_ADMIN_USERNAME {username!r} is not a valid username")
    async with db.sessionmaker.begin() as session:
        # Two runners starting at once must not both decide that no administrator exists.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": _LOCK_KEY})
        if await repository.active_admin_exists(session):
            return Outcome(created=False, username=name)
        if await repository.user_by_username(session, name) is not None:
            raise BootstrapError(
                f"user {name!r} exists but is not an active administrator; set GATEWAY_ADMIN_USERNAME to a "
                "new name, or fix that account"
            )
        generated = passwords.generate_password() if password is None else None
        try:
            await accounts.create_user(session, username=name, password=password or generated or "",
                                       roles=[Role.ADMIN])
        except DomainError as exc:
            raise BootstrapError(f"GATEWAY_ADMIN_PASSWORD refused: {exc.detail}") from None
    return Outcome(created=True, username=name, generated_password=generated)


def report(outcome: Outcome, out: TextIO) -> None:
    if not outcome.created:
        print("gateway bootstrap: an active administrator exists; nothing to do.", file=out)
    elif outcome.generated_password is None:
        print(f"gateway bootstrap: administrator {outcome.username!r} created with GATEWAY_ADMIN_PASSWORD.", file=out)
    else:
        bar = "=" * 72
        print("\n".join([
            bar,
            "  FIRST RUN: administrator created",
            f"  username: {outcome.username}",
            f"  password: {outcome.generated_password}",
            "  This password is shown ONCE and stored only as a hash. Keep it safe now;",
            "  set GATEWAY_ADMIN_PASSWORD before the first run to choose it yourself.",
            bar,
        ]), file=out, flush=True)


async def run(settings: GatewaySettings, database: Database | None = None, out: TextIO = sys.stdout) -> int:
    db = database or Database.connect(settings.database_url, schema=SCHEMA, pool_size=1, max_overflow=0,
                                      application_name="gateway-bootstrap")
    try:
        password = settings.admin_password.get_secret_value() if settings.admin_password is not None else None
        outcome = await ensure_admin(db, settings.admin_username, password)
    except BootstrapError as exc:
        print(f"gateway bootstrap failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if database is None:
            await db.dispose()
    report(outcome, out)
    return 0


def main() -> None:
    sys.exit(asyncio.run(run(GatewaySettings())))


if __name__ == "__main__":
    main()
