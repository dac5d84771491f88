"""What the ledger runs on: the chart of accounts, the rules in force, the working-day calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Path, Query
from sqlalchemy import func, select

from ledger_service import calendar, journal, receivables, rules
from ledger_service.api.deps import BookKeepers, HeadOfficeFinance, actor_of
from ledger_service.models import Account, CalendarDay, CalendarYear
from ledger_service.schemas import (
    AccountCreate,
    AccountRead,
    CalendarYearLoad,
    CalendarYearRead,
    DeadlineRead,
)
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router
from svckit.rules import rules_router

router = service_router(prefix="/v1", tags=["setup"])
rules_api = rules_router(rules.BOOK, writers=HeadOfficeFinance, actor_of=actor_of)
Year = Annotated[int, Path(ge=2000, le=2100)]


@router.get("/accounts", response_model=list[AccountRead], dependencies=[BookKeepers])
async def list_accounts(session: SessionDep) -> list[Account]:
    """The chart of accounts 会计科目表."""
    return list((await session.execute(select(Account).order_by(Account.gl_code))).scalars())


@router.post("/accounts", response_model=AccountRead, status_code=201, dependencies=[HeadOfficeFinance])
async def create_account(body: AccountCreate, session: SessionDep, _: IdempotencyDep) -> Account:
    """Open an account; its kind and guard never change afterwards (history depends on them)."""
    account = Account(**body.model_dump(), guarded=body.guard_by is not None)
    session.add(account)
    await flush_or_refuse(session, Conflict("an account with this code or GL code exists", code="account_exists",
                                            field="code"))
    await journal.chart(session, refresh=True)
    return account


async def _year_read(session: SessionDep, year: int, recomputed: int = 0) -> CalendarYearRead:
    found = await session.get(CalendarYear, year)
    if found is None:
        raise NotFound(f"the calendar of {year} is not loaded", code="calendar_year_unknown", field="year")
    counts = dict((await session.execute(select(CalendarDay.kind, func.count()).where(CalendarDay.year == year)
                                         .group_by(CalendarDay.kind))).all())
    return CalendarYearRead(year=year, source=found.source, loaded_by=found.loaded_by, loaded_at=found.loaded_at,
                            holidays=counts.get("holiday", 0), makeup_workdays=counts.get("makeup_workday", 0),
                            recomputed_deadlines=recomputed)


@router.get("/calendar/years/{year}", response_model=CalendarYearRead)
async def calendar_year(year: Year, session: SessionDep) -> CalendarYearRead:
    """Whether a year's holiday schedule is known, and where it came from."""
    return await _year_read(session, year)


@router.put("/calendar/years/{year}", response_model=CalendarYearRead, dependencies=[HeadOfficeFinance])
async def load_calendar_year(year: Year, body: CalendarYearLoad, session: SessionDep,
                             caller: CallerDep) -> CalendarYearRead:
    """Load (or correct) a year's official holidays and make-up working days, as announced by the
    State Council; open deadlines reaching into the year are recounted."""
    await calendar.load_year(session, year, [(d.day, d.kind, d.name) for d in body.days], source=body.source,
                             actor=actor_of(caller))
    recomputed = await receivables.recompute_deadlines(session, year)
    return await _year_read(session, year, recomputed)


@router.get("/calendar/deadline", response_model=DeadlineRead)
async def deadline(session: SessionDep, due_on: date,
                   policyholder_kind: Annotated[Literal["individual", "organisation"], Query()] = "individual",
                   ) -> DeadlineRead:
    """The collection deadline of a premium falling due on a date, by the rule and calendar in force."""
    days = (await rules.in_force(session, rules.CollectionDeadlines, due_on)).for_kind(policyholder_kind)
    found = await receivables.deadline_for(session, policyholder_kind, due_on)
    return DeadlineRead(due_on=due_on, policyholder_kind=policyholder_kind, working_days=days, deadline_on=found.on,
                        provisional=found.provisional, unknown_years=list(found.unknown_years))
