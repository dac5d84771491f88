"""How a bank's results are read and classified, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

from ledger_service.bank_rules import (
    ALREADY_PAID,
    APPLIED,
    CONFLICT,
    DUPLICATE,
    FAILED,
    MISMATCH,
    UNKNOWN,
    InstructionState,
    Result,
    classify,
    moves_money,
    parse_reconciliation,
)

ID = uuid4()


def result(outcome: str = "success", amount: str = "100.00", reference: str = "B1", n: int = 1) -> Result:
    return Result(n, ID, reference, date(2026, 11, 30), Decimal(amount), "CNY", outcome,
                  None if outcome == "success" else "insufficient_funds")


def pending(outstanding: str = "100", open_: bool = True) -> InstructionState:
    return InstructionState("pending", Decimal("100.0000"), "CNY", Decimal(outstanding), open_)


def test_a_first_answer_settles_the_instruction_and_the_same_message_again_is_a_duplicate() -> None:
    state = pending()
    assert classify(result(), state) == APPLIED
    assert state.status == "succeeded"
    assert classify(result(), state) == DUPLICATE
    failed = pending()
    assert classify(result("failure"), failed) == FAILED
    assert classify(result("failure"), failed) == DUPLICATE
    assert classify(result("failure", reference="B2"), failed) == DUPLICATE  # failed again: nothing new


def test_contradicting_answers_are_conflicts_and_only_reported_money_moves() -> None:
    failed = pending()
    classify(result("failure"), failed)
    late_success = result(reference="B9")
    assert classify(late_success, failed) == CONFLICT
    assert moves_money(late_success, CONFLICT)
    succeeded = pending()
    classify(result(), succeeded)
    late_failure = result("failure", reference="B9")
    assert classify(late_failure, succeeded) == CONFLICT
    assert not moves_money(late_failure, CONFLICT)
    assert classify(result(reference="B10"), succeeded) == CONFLICT  # debited twice: a second success


def test_money_that_cannot_pay_its_premium_is_held() -> None:
    assert classify(result(amount="99.99"), pending()) == MISMATCH
    assert classify(result(), pending(open_=False)) == ALREADY_PAID
    assert classify(result(), pending(outstanding="50")) == ALREADY_PAID
    assert classify(result(), None) == UNKNOWN
    assert not moves_money(result(), DUPLICATE)


def test_a_reconciliation_file_is_read_or_every_broken_line_named() -> None:
    good = ("instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n"
            f"{ID},B1,2026-11-30,3600.00,CNY,success,\n"
            f"{ID},B2,2026-11-30,1200.00,CNY,failure,insufficient_funds\n"
            ",B3,2026-11-30,88.00,CNY,success,\n")
    results, errors = parse_reconciliation(good)
    assert errors == []
    assert [(r.line_no, r.instruction_id, r.amount, r.outcome) for r in results] == [
        (2, ID, Decimal("3600.00"), "success"), (3, ID, Decimal("1200.00"), "failure"),
        (4, None, Decimal("88.00"), "success")]
    broken = ("instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n"
              "not-a-uuid,B1,2026-11-30,1.00,CNY,success,\n"
              f"{ID},B2,30/11/2026,1.00,CNY,success,\n"
              f"{ID},B3,2026-11-30,1.001,CNY,success,\n"
              f"{ID},B4,2026-11-30,1.00,CNY,failure,\n"
              f"{ID},B5,2026-11-30,1.00,CNY\n"
              f"{ID},B6,2026-11-30,-1.00,CNY,success,\n")
    _, errors = parse_reconciliation(broken)
    assert [(e.line, e.field) for e in errors] == [(2, "instruction_id"), (3, "value_date"), (4, "amount"),
                                                   (5, "reason_code"), (6, "line"), (7, "amount")]
    assert parse_reconciliation("id,amount\n")[1][0].field == "header"
