"""Async engine and session factory, created in the app's lifespan (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from svckit.errors import DomainError


def async_url(dsn: str) -> URL:
    """Accept plain libpq-style DSNs and point them at the asyncpg driver."""
    url = make_url(dsn)
    if url.drivername in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        url = url.set(drivername="postgresql+asyncpg")
    if url.drivername != "postgresql+asyncpg":
        raise ValueError(f"only PostgreSQL is supported, got {url.drivername!r}")
    return url


def libpq_dsn(dsn: str | URL) -> str:
    """The plain postgresql:// DSN that asyncpg (and libpq) want; settings may name SQLAlchemy's driver."""
    url = make_url(dsn) if isinstance(dsn, str) else dsn
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine_for(
    dsn: str, *, schema: str, pool_size: int = 10, max_overflow: int = 10, statement_timeout_ms: int = 30_000,
    application_name: str | None = None,
) -> AsyncEngine:
    engine = create_async_engine(
        async_url(dsn),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={
            "server_settings": {
                # Unqualified names resolve to the service's own schema and nothing else.
                "search_path": schema,
                "statement_timeout": str(statement_timeout_ms),
                "timezone": "UTC",
                "application_name": application_name or schema,
            }
        },
    )
    # No pool_pre_ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) on every
    # checkout. Instead, a connection the server has closed (restart, terminated backend, idle
    # timeout) is known locally and replaced at checkout, for free; one that dies unnoticed fails
    # the statement it was running, and SQLAlchemy then invalidates the whole pool, so only that
    # request fails (SQLAlchemy's "optimistic" disconnect handling).
    event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


def _replace_if_closed(dbapi_connection: Any, _record: object, _proxy: object) -> None:
    """Raising DisconnectionError at checkout makes the pool discard the connection and open a new one."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    schema: str

    @classmethod
    def connect(cls, dsn: str, *, schema: str, **engine_options: int | str) -> Database:
        engine = create_engine_for(dsn, schema=schema, **engine_options)  # type: ignore[arg-type]
        return cls.from_engine(engine, schema=schema)

    @classmethod
    def from_engine(cls, engine: AsyncEngine, *, schema: str) -> Database:
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False, autoflush=False), schema)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def flush_or_refuse(session: AsyncSession, refusal: DomainError) -> None:
    """Flush pending writes in a savepoint; a unique-key clash raises `refusal` (a named 4xx) and
    leaves the rest of the request's transaction usable."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise refusal from None
