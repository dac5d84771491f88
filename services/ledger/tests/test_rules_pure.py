"""The ledger's rules as plain functions: entries, guarded sub-ledgers, working days, rule values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger_service.calendar import WorkingCalendar, check_year
from ledger_service.postings import AccountInfo, Line, check_entry, guard_deltas
from ledger_service.rules import BOOK, AgingBuckets, CollectionDeadlines
from svckit.errors import DomainError
from svckit.timeutil import add_months

CHART = {
    "bank": AccountInfo("bank", "asset"),
    "premium_receivable": AccountInfo("premium_receivable", "asset"),
    "commission_payable": AccountInfo("commission_payable", "liability", True, "agent"),
    "commission_expense": AccountInfo("commission_expense", "expense"),
}


def refused(lines: list[Line], code: str, field: str) -> None:
    with pytest.raises(DomainError) as caught:
        check_entry(lines, CHART, branch_id=1)
    assert (caught.value.code, caught.value.extra.get("field")) == (code, field)


def test_a_balanced_entry_passes_and_each_broken_rule_is_named() -> None:
    pay = [Line("bank", "debit", Decimal("100.00"), "CNY"), Line("premium_receivable", "credit", Decimal("100"), "CNY")]
    check_entry(pay, CHART, branch_id=1)
    refused(pay[:1], "entry_too_short", "postings")
    refused([pay[0], Line("premium_receivable", "credit", Decimal("99.99"), "CNY")], "entry_unbalanced", "postings")
    refused([pay[0], Line("premium_receivable", "credit", Decimal("100"), "USD")], "entry_unbalanced", "postings")
    refused([Line("bank", "debit", Decimal("-5"), "CNY"), pay[1]], "amount_not_positive", "postings[0].amount")
    refused([Line("bank", "debit", Decimal("100.001"), "CNY"), pay[1]], "amount_too_precise", "postings[0].amount")
    refused([pay[0], Line("premium_receivable", "credit", Decimal("100"), "XYZ")], "unknown_currency",
            "postings[1].currency")
    refused([Line("nowhere", "debit", Decimal("100"), "CNY"), pay[1]], "unknown_account", "postings[0].account")
    refused([Line("commission_expense", "debit", Decimal("100"), "CNY"),
             Line("commission_payable", "credit", Decimal("100"), "CNY")], "subledger_required", "postings[1].agent_id")


def test_the_unbalanced_difference_is_reported_per_currency() -> None:
    with pytest.raises(DomainError) as caught:
        check_entry([Line("bank", "debit", Decimal("10"), "CNY"), Line("bank", "credit", Decimal("7"), "CNY"),
                     Line("bank", "debit", Decimal("1"), "USD"), Line("bank", "credit", Decimal("1"), "USD")],
                    CHART, branch_id=1)
    assert caught.value.extra["difference"] == {"CNY": "3"}


def test_guarded_sub_ledgers_move_on_their_normal_side_in_a_fixed_order() -> None:
    lines = [Line("commission_expense", "debit", Decimal("50"), "CNY", agent_id=9),
             Line("commission_payable", "credit", Decimal("30"), "CNY", agent_id=9),
             Line("commission_payable", "credit", Decimal("20"), "CNY", agent_id=3)]
    # A liability grows with credits: both agents' payables go up; expense is not guarded.
    assert guard_deltas(lines, CHART, 1) == [("commission_payable", "CNY", 3, Decimal("20")),
                                             ("commission_payable", "CNY", 9, Decimal("30"))]
    paid = [Line("commission_payable", "debit", Decimal("30"), "CNY", agent_id=9),
            Line("bank", "credit", Decimal("30"), "CNY")]
    assert guard_deltas(paid, CHART, 1) == [("commission_payable", "CNY", 9, Decimal("-30"))]


# 2026: National Day 1–7 October are holidays; Sunday 27 September and Saturday 10 October are worked.
CAL_2026 = WorkingCalendar(frozenset({2026}), {
    **{date(2026, 10, d): "holiday" for d in range(1, 8)},
    date(2026, 9, 27): "makeup_workday", date(2026, 10, 10): "makeup_workday", date(2026, 1, 1): "holiday"})


def test_working_days_skip_holidays_and_count_make_up_days() -> None:
    deadline = CAL_2026.add_working_days(date(2026, 9, 28), 5)  # Tue, Wed, (holidays), Thu 8, Fri 9, Sat 10
    assert (deadline.on, deadline.provisional) == (date(2026, 10, 10), False)
    assert CAL_2026.add_working_days(date(2026, 9, 25), 1).on == date(2026, 9, 27)  # a Sunday, but worked
    assert CAL_2026.add_working_days(date(2026, 11, 27), 0).on == date(2026, 11, 27)


def test_a_deadline_in_an_unknown_year_is_flagged_provisional() -> None:
    deadline = CAL_2026.add_working_days(date(2026, 12, 10), 20)
    assert deadline.provisional
    assert deadline.unknown_years == (2027,)
    assert deadline.on == date(2027, 1, 7)  # Monday–Friday only, until 2027's schedule is loaded
    assert not CAL_2026.add_working_days(date(2026, 12, 1), 5).provisional


def test_a_years_schedule_is_checked() -> None:
    assert check_year(2027, [(date(2027, 2, 7), "makeup_workday"), (date(2027, 1, 1), "holiday")]) == []
    assert check_year(2027, [(date(2026, 12, 31), "holiday")]) == ["2026-12-31 is not in 2027"]
    assert check_year(2027, [(date(2027, 2, 8), "makeup_workday")]) == [
        "2027-02-08 is a weekday; a make-up working day is a weekend day"]
    assert check_year(2027, [(date(2027, 1, 1), "holiday")] * 2) == ["2027-01-01 is listed twice"]


def test_rule_values_are_checked() -> None:
    assert CollectionDeadlines(individual=5, organisation=20).for_kind("organisation") == 20
    assert AgingBuckets(bounds=[30, 60, 90]).labels() == ["1-30", "31-60", "61-90", ">90"]
    for bad in ({"bounds": [60, 30]}, {"bounds": [0, 30]}, {"bounds": []}):
        with pytest.raises(DomainError) as caught:
            BOOK.parse("aging_buckets", bad)
        assert caught.value.code == "invalid_rule_value"
    with pytest.raises(DomainError):
        BOOK.parse("no_such_rule", {})


def test_months_are_added_to_the_end_of_shorter_months() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
