"""Business rules as effective-dated data: each rule has a name, a value whose shape a pydantic model
checks, and versions that follow one another in time. A change is a new version from a later date,
never an edit of the one in force. Each service declares its rules (`RuleBook`) over its own
`rule_version` table (`RuleVersionColumns`) and serves them with `rules_router`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import CheckConstraint, Date, DateTime, Text, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router


class RuleValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleVersionColumns:
    """The columns of a service's `rule_version` table (mix into the service's declarative base)."""

    __tablename__ = "rule_version"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates_in_order"),)


R = TypeVar("R", bound=RuleValue)
V = TypeVar("V", bound=RuleVersionColumns)


class RuleBook(Generic[V]):
    """The rules a service knows (`rules`: name → value model), kept in its table `model`."""

    def __init__(self, model: type[V], rules: dict[str, type[RuleValue]]) -> None:
        self.model = model
        self.rules = rules

    def name_of(self, kind: type[RuleValue]) -> str:
        return next(n for n, k in self.rules.items() if k is kind)

    def parse(self, name: str, value: dict[str, Any]) -> RuleValue:
        if name not in self.rules:
            raise NotFound(f"no rule named {name!r}", code="rule_not_found", field="name")
        try:
            return self.rules[name].model_validate(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "value"
            raise Unprocessable(f"{name}: {where}: {first['msg']}", code="invalid_rule_value",
                                field=f"value.{where}") from None

    async def in_force(self, session: AsyncSession, kind: type[R], on: date) -> R:
        name, m = self.name_of(kind), self.model
        value = (await session.execute(select(m.value).where(
            m.name == name, m.valid_from <= on, (m.valid_to.is_(None)) | (m.valid_to > on)))).scalar()
        if value is None:
            raise Conflict(f"no {name} rule is in force on {on}", code="rule_not_in_force", field="effective_on")
        return kind.model_validate(value)

    async def versions(self, session: AsyncSession, name: str) -> list[V]:
        if name not in self.rules:
            raise NotFound(f"no rule named {name!r}", code="rule_not_found", field="name")
        m = self.model
        return list((await session.execute(select(m).where(m.name == name).order_by(m.valid_from))).scalars())

    async def add_version(self, session: AsyncSession, name: str, valid_from: date, value: dict[str, Any],
                          actor: str) -> V:
        """A new version from `valid_from`, closing the open one; never before the open one began."""
        parsed = self.parse(name, value)
        m = self.model
        current = (await session.execute(select(m).where(
            m.name == name, m.valid_to.is_(None)).with_for_update())).scalar_one_or_none()
        if current is not None:
            if valid_from <= current.valid_from:
                raise Conflict(f"the {name} version in force began on {current.valid_from}; a new one must begin "
                               "later", code="effective_date_before_history", field="valid_from")
            await session.execute(update(m).where(m.name == name, m.valid_from == current.valid_from)
                                  .values(valid_to=valid_from))
        version = m()
        version.name, version.valid_from, version.valid_to = name, valid_from, None
        version.value, version.recorded_by = parsed.model_dump(mode="json"), actor
        session.add(version)
        await session.flush()
        return version


class RuleVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_from: date
    value: dict[str, Any]


class RuleVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    valid_from: date
    valid_to: date | None
    value: dict[str, Any]
    recorded_by: str
    recorded_at: datetime


def rules_router(book: RuleBook[Any], *, writers: Any, actor_of: Any, prefix: str = "/v1") -> APIRouter:
    """`GET /rules/{name}` (every version, oldest first) and `POST /rules/{name}` (a new version, for
    `writers`: a role dependency)."""
    router = service_router(prefix=prefix, tags=["rules"])
    names = ", ".join(book.rules)

    @router.get("/rules/{name}", response_model=list[RuleVersionRead], summary="Versions of a rule")
    async def rule_versions(name: str, session: SessionDep) -> list[Any]:
        return await book.versions(session, name)

    @router.post("/rules/{name}", response_model=RuleVersionRead, status_code=201, dependencies=[writers],
                 summary="Add a version of a rule")
    async def add_rule_version(name: str, body: RuleVersionCreate, session: SessionDep, caller: CallerDep,
                               _: IdempotencyDep) -> Any:
        return await book.add_version(session, name, body.valid_from, body.value, actor_of(caller))

    rule_versions.__doc__ = f"Every version of a rule ({names}), oldest first."
    add_rule_version.__doc__ = "A new version of a rule from a date on; the version in force closes the day before."
    return router
