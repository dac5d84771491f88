"""The organisation's rules as plain functions: checked before anything is written, tested without a database."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from svckit.errors import Conflict, Unprocessable

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五 (team numbers in names: 业务一部)."""
    if not 0 < n < 1000:
        raise ValueError("team numbers run from 1 to 999")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _DIGITS[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    if ones:
        out += _DIGITS[ones]
    return out


def department_name(institution_names: Sequence[str], number: int) -> str:
    """Seed 000 第九条: 天津分公司 + 汉沽营销服务部 + 业务一部 (institution path below HQ, then the department)."""
    return "".join(institution_names) + f"业务{chinese_number(number)}部"


def group_name(department: str, number: int) -> str:
    return f"{department}{chinese_number(number)}组"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def dates_in_order(valid_from: date, valid_to: date | None, *, field: str = "valid_to") -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise Unprocessable(f"{field} must be after valid_from", code="dates_out_of_order", field=field)


def not_before_history(effective_on: date, latest_start: date, *, what: str) -> None:
    """A change may not be dated before what is already recorded for the same subject."""
    if effective_on < latest_start:
        raise Conflict(
            f"{what} has a change recorded from {latest_start}; a change effective {effective_on} would rewrite it",
            code="effective_date_before_history", field="effective_on", latest_recorded=latest_start.isoformat(),
        )


def no_supervision_cycle(agent_id: int, supervisor_id: int, supervisor_path: Sequence[int]) -> None:
    """An agent cannot report to themself or to anyone below them."""
    if supervisor_id == agent_id or agent_id in supervisor_path:
        raise Conflict("the new supervisor stands below this agent; supervision cannot form a cycle",
                       code="supervision_cycle", field="supervisor_id")


def no_lineage_cycle(agent_id: int, sponsor_id: int, sponsor_ancestry: Sequence[int]) -> None:
    if sponsor_id == agent_id or agent_id in sponsor_ancestry:
        raise Conflict("the sponsor descends from this agent; a bloodline cannot form a cycle",
                       code="lineage_cycle", field="sponsor_id")


@dataclass(frozen=True)
class RankStanding:
    code: str
    ladder_order: int
    may_report_to_lower_rank: bool


def supervisor_outranks(subordinate: RankStanding, supervisor: RankStanding, *, field: str) -> None:
    """Unless the subordinate's rank rule allows it, a supervisor holds at least the subordinate's rank."""
    if supervisor.ladder_order < subordinate.ladder_order and not subordinate.may_report_to_lower_rank:
        raise Conflict(
            f"a {subordinate.code} may not report to a {supervisor.code} (lower rank) under the rank rules in force",
            code="supervisor_rank_too_low", field=field,
        )
