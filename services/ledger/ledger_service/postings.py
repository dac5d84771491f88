"""The rules every journal entry obeys, as plain functions: amounts positive and exact to the
currency's minor unit, accounts known, guarded accounts named with their sub-ledger, and debits
equal to credits in each currency. Tested without a database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from svckit.errors import Unprocessable
from svckit.money import MINOR_UNITS

Side = Literal["debit", "credit"]
DEBIT_NORMAL = frozenset({"asset", "expense"})


@dataclass(frozen=True)
class AccountInfo:
    code: str
    kind: str
    guarded: bool = False
    guard_by: str | None = None

    @property
    def normal_sign(self) -> int:
        """+1 when the account's balance is on the debit side (assets, expenses), else -1."""
        return 1 if self.kind in DEBIT_NORMAL else -1


@dataclass(frozen=True)
class Line:
    account: str
    side: Side
    amount: Decimal
    currency: str
    agent_id: int | None = None
    policy_id: int | None = None
    customer_id: int | None = None
    receivable_id: int | None = None

    @property
    def signed(self) -> Decimal:
        """Debits positive, credits negative: an entry balances when its lines sum to zero."""
        return self.amount if self.side == "debit" else -self.amount

    def reversed(self) -> Line:
        return Line(self.account, "credit" if self.side == "debit" else "debit", self.amount, self.currency,
                    self.agent_id, self.policy_id, self.customer_id, self.receivable_id)

    def subledger(self, account: AccountInfo, branch_id: int) -> int | None:
        return {"branch": branch_id, "agent": self.agent_id, "customer": self.customer_id,
                "policy": self.policy_id}.get(account.guard_by or "")


# The smallest amount of each currency (0.01 for CNY), what an amount is quantized to.
_QUANTUM = {currency: Decimal(1).scaleb(-units) for currency, units in MINOR_UNITS.items()}


def check_entry(lines: Sequence[Line], chart: Mapping[str, AccountInfo], branch_id: int) -> None:
    """Refuse an entry that breaks a rule, naming the line and the rule."""
    if len(lines) < 2:
        raise Unprocessable("an entry has at least two postings", code="entry_too_short", field="postings")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for n, line in enumerate(lines):
        quantum = _QUANTUM.get(line.currency)
        if quantum is None:
            raise Unprocessable(f"unknown currency {line.currency!r}", code="unknown_currency",
                                field=f"postings[{n}].currency")
        if not line.amount.is_finite() or line.amount <= 0:
            raise Unprocessable("amounts are positive; the side says debit or credit", code="amount_not_positive",
                                field=f"postings[{n}].amount")
        if line.amount != line.amount.quantize(quantum):
            raise Unprocessable(f"{line.currency} amounts have at most {MINOR_UNITS[line.currency]} decimals",
                                code="amount_too_precise", field=f"postings[{n}].amount")
        account = chart.get(line.account)
        if account is None:
            raise Unprocessable(f"no account {line.account!r} in the chart of accounts", code="unknown_account",
                                field=f"postings[{n}].account")
        if account.guarded and line.subledger(account, branch_id) is None:
            raise Unprocessable(f"account {account.code} is kept per {account.guard_by}; name the {account.guard_by}",
                                code="subledger_required", field=f"postings[{n}].{account.guard_by}_id")
        totals[line.currency] += line.signed
    unbalanced = {currency: str(total) for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise Unprocessable("debits and credits differ: " + ", ".join(
            f"{c} by {t}" for c, t in sorted(unbalanced.items())), code="entry_unbalanced", field="postings",
            difference=unbalanced)


def guard_deltas(lines: Sequence[Line], chart: Mapping[str, AccountInfo],
                 branch_id: int) -> list[tuple[str, str, int, Decimal]]:
    """How each guarded sub-ledger's balance (on its normal side) moves, in one fixed order so that
    concurrent entries lock the same rows in the same order and cannot deadlock."""
    deltas: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
    for line in lines:
        account = chart[line.account]
        subledger = line.subledger(account, branch_id)
        if account.guarded and subledger is not None:
            deltas[(account.code, line.currency, subledger)] += line.signed * account.normal_sign
    return [(a, c, s, d) for (a, c, s), d in sorted(deltas.items()) if d != 0]
