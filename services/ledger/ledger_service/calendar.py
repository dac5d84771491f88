"""Working days 工作日 on the mainland-China calendar: weekdays, minus official holidays, plus the
make-up working days 调休 that move weekends. Only years whose schedule is loaded are known; a
deadline that reaches into an unknown year is computed Monday–Friday and flagged provisional, never
passed off as exact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service.models import CalendarDay, CalendarYear
from svckit.errors import Unprocessable


@dataclass(frozen=True)
class Deadline:
    on: date
    provisional: bool
    unknown_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorkingCalendar:
    """The calendar for some years: `exceptions` maps a day to 'holiday' or 'makeup_workday'."""

    known_years: frozenset[int]
    exceptions: Mapping[date, str] = field(default_factory=dict)

    def knows(self, day: date) -> bool:
        return day.year in self.known_years

    def is_working_day(self, day: date) -> bool:
        kind = self.exceptions.get(day)
        if kind == "holiday":
            return False
        if kind == "makeup_workday":
            return True
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The `days`-th working day after `start` (the day something falls due counts as day 0)."""
        if days < 0:
            raise ValueError("days must not be negative")
        unknown: set[int] = set()
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            if not self.knows(day):
                unknown.add(day.year)
            if self.is_working_day(day):
                left -= 1
        return Deadline(day, bool(unknown), tuple(sorted(unknown)))


async def calendar_between(session: AsyncSession, start: date, end: date) -> WorkingCalendar:
    """What the ledger knows of the days from `start` to `end`."""
    years = (await session.execute(select(CalendarYear.year).where(
        CalendarYear.year.between(start.year, end.year)))).scalars().all()
    rows = (await session.execute(select(CalendarDay.day, CalendarDay.kind).where(
        CalendarDay.day.between(start, end)))).all()
    return WorkingCalendar(frozenset(years), {r.day: r.kind for r in rows})


# A deadline of n working days never spans more than this many calendar days (the longest run of
# holidays is the 8-day Golden Week), so one read covers it.
def horizon(days: int) -> timedelta:
    return timedelta(days=days * 2 + 20)


def check_year(year: int, days: Iterable[tuple[date, str]]) -> list[str]:
    """What is wrong with a year's schedule as an administrator sent it (empty when nothing)."""
    problems, seen = [], set()
    for day, kind in days:
        if day in seen:
            problems.append(f"{day} is listed twice")
        seen.add(day)
        if day.year != year:
            problems.append(f"{day} is not in {year}")
        elif kind == "makeup_workday" and day.weekday() < 5:
            problems.append(f"{day} is a weekday; a make-up working day is a weekend day")
    return problems


async def load_year(session: AsyncSession, year: int, days: list[tuple[date, str, str]], *, source: str,
                    actor: str) -> CalendarYear:
    """Record (or correct) a year's official schedule; the days given replace any the year had."""
    problems = check_year(year, [(d, k) for d, k, _ in days])
    if problems:
        raise Unprocessable("; ".join(problems), code="calendar_day_invalid", field="days")
    statement = insert(CalendarYear).values(year=year, source=source, loaded_by=actor)
    await session.execute(statement.on_conflict_do_update(index_elements=[CalendarYear.year], set_={
        "source": source, "loaded_by": actor, "loaded_at": statement.excluded.loaded_at}))
    await session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    if days:
        await session.execute(insert(CalendarDay).values(
            [{"day": d, "year": year, "kind": k, "name": n} for d, k, n in days]))
    return (await session.execute(select(CalendarYear).where(CalendarYear.year == year))).scalar_one()
