"""Working days 工作日 of the mainland-China calendar (weekdays, minus official holidays, plus make-up
working days), from the `chinese_calendar` package. A year the package does not know yet is counted
Monday–Friday and the answer says it is provisional, never passed off as exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar


@dataclass(frozen=True)
class WorkingDays:
    days: tuple[date, ...]
    provisional: bool


def is_working_day(day: date) -> tuple[bool, bool]:
    """(working, known): whether `day` is a working day, and whether the calendar knows its year."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def between(start: date, end: date) -> WorkingDays:
    days, provisional = [], False
    day = start
    while day <= end:
        working, known = is_working_day(day)
        provisional |= not known
        if working:
            days.append(day)
        day += timedelta(days=1)
    return WorkingDays(tuple(days), provisional)
