"""What a bank's answer means, as plain functions: the reconciliation file's format, and how each
result is classified against what the ledger knows of its instruction. Tested without a database.

These are the statement of the rules. The ledger applies them set-based, in SQL (reconcile.py), so
that a million lines take seconds; the tests hold the SQL to these functions, line for line.

Reconciliation file 对账文件 (CSV, UTF-8, one header line, comma-separated, one result per line):

    instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code
    2f0c6f0e-8d5e-4c8e-9a39-3b1f0f3d9a11,B20261130000001,2026-11-30,3600.00,CNY,success,
    7a1d2c44-0b7e-4f55-8a5e-6c2d9d1e0b22,B20261130000002,2026-11-30,1200.00,CNY,failure,insufficient_funds
    ,B20261130000003,2026-11-30,88.00,CNY,success,

`instruction_id` is the id we sent (empty when the bank cannot name one), `amount` a decimal with at
most the currency's minor unit, `outcome` success or failure, `reason_code` one of REASON_CODES on
a failure and empty on a success.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from uuid import UUID

from svckit.money import MINOR_UNITS

HEADER = ("instruction_id", "bank_reference", "value_date", "amount", "currency", "outcome", "reason_code")
REASON_CODES = frozenset({"insufficient_funds", "account_closed", "mandate_revoked", "account_frozen",
                          "invalid_account", "amount_over_limit", "other"})
MAX_ERRORS_LISTED = 1000


@dataclass(frozen=True)
class Result:
    """One result as the bank sent it; `line_no` is its place in the request or file (from 1)."""

    line_no: int
    instruction_id: UUID | None
    bank_reference: str
    value_date: date
    amount: Decimal
    currency: str
    outcome: str
    reason_code: str | None


    @property
    def message_key(self) -> tuple[object, ...]:
        """The same message sent again has the same key."""
        return (self.instruction_id, self.bank_reference, self.outcome, self.amount, self.currency)


@dataclass
class InstructionState:
    """What the ledger knows of an instruction when a result arrives (updated as results apply)."""

    status: str
    amount: Decimal
    currency: str
    outstanding: Decimal
    receivable_open: bool
    seen: set[tuple[object, ...]] = field(default_factory=set)


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str


# Dispositions: what a result did. Money moves for "applied" (to the premium) and for the ones that
# go to suspense; "failed" records the failure; the rest move nothing.
APPLIED, FAILED, DUPLICATE = "applied", "failed", "duplicate"
UNKNOWN, MISMATCH = "unknown_instruction", "amount_mismatch"
CONFLICT, ALREADY_PAID = "conflicting_result", "already_paid"
EXCEPTIONS = frozenset({UNKNOWN, MISMATCH, CONFLICT, ALREADY_PAID})


def classify(result: Result, state: InstructionState | None) -> str:
    """What a result means for its instruction; `state` is updated for the results after it.

    The same message again is a duplicate and does nothing. A first answer to a pending instruction
    settles it: a success pays the premium (or, if the amount differs or the premium was paid in the
    meantime, the money waits in suspense for finance), a failure records why. Any other answer
    contradicts what the bank said before: money it reports goes to suspense, and finance looks."""
    if state is None:
        return UNKNOWN
    if result.message_key in state.seen:
        return DUPLICATE
    state.seen.add(result.message_key)
    success = result.outcome == "success"
    if state.status != "pending":
        if state.status == "failed" and not success:
            return DUPLICATE  # failed again: nothing more to record
        return CONFLICT
    if not success:
        state.status = "failed"
        return FAILED
    if (result.amount, result.currency) != (state.amount, state.currency):
        state.status = "exception"
        return MISMATCH
    if not state.receivable_open or state.outstanding < result.amount:
        state.status = "exception"
        return ALREADY_PAID
    state.status, state.outstanding = "succeeded", state.outstanding - result.amount
    return APPLIED


def moves_money(result: Result, disposition: str) -> bool:
    """Whether the bank says money reached our account with this result (then it must be booked)."""
    return result.outcome == "success" and disposition != DUPLICATE


def parse_reconciliation(content: str) -> tuple[list[Result], list[LineError]]:
    """Every line read, or every broken line named (line numbers count the header as line 1)."""
    results: list[Result] = []
    errors: list[LineError] = []
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != HEADER:
        return [], [LineError(1, "header", "the first line must be: " + ",".join(HEADER))]
    for line_no, row in enumerate(reader, start=2):
        if not row or row == [""]:
            continue
        parsed = parse_line(line_no, row)
        if isinstance(parsed, LineError):
            errors.append(parsed)
        else:
            results.append(parsed)
    return results, errors


def parse_line(line_no: int, row: list[str]) -> Result | LineError:
    if len(row) != len(HEADER):
        return LineError(line_no, "line", f"expected {len(HEADER)} fields, found {len(row)}")
    raw_id, reference, raw_date, raw_amount, currency, outcome, reason = (x.strip() for x in row)
    try:
        instruction_id = UUID(raw_id) if raw_id else None
    except ValueError:
        return LineError(line_no, "instruction_id", f"not an instruction id: {raw_id!r}")
    if not reference or len(reference) > 100:
        return LineError(line_no, "bank_reference", "required, at most 100 characters")
    try:
        value_date = date.fromisoformat(raw_date)
    except ValueError:
        return LineError(line_no, "value_date", f"not a date (YYYY-MM-DD): {raw_date!r}")
    if currency not in MINOR_UNITS:
        return LineError(line_no, "currency", f"unknown currency {currency!r}")
    try:
        amount = Decimal(raw_amount)
    except InvalidOperation:
        return LineError(line_no, "amount", f"not a decimal amount: {raw_amount!r}")
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency])):
        return LineError(line_no, "amount", f"a positive amount with at most {MINOR_UNITS[currency]} decimals")
    if outcome not in ("success", "failure"):
        return LineError(line_no, "outcome", "success or failure")
    if outcome == "failure" and reason not in REASON_CODES:
        return LineError(line_no, "reason_code", "a failure names one of: " + ", ".join(sorted(REASON_CODES)))
    if outcome == "success" and reason:
        return LineError(line_no, "reason_code", "a success has no reason code")
    return Result(line_no, instruction_id, reference, value_date, amount, currency, outcome, reason or None)
