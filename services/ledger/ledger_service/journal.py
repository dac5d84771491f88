"""The double-entry journal 日记账: posting balanced entries in one statement, reversing them,
and balances at any moment along account, agent, policy or customer.

Entries are append-only (a trigger refuses UPDATE and DELETE) and a deferred trigger refuses to
commit an entry whose postings do not balance: the rules of `postings.py` are checked here first
for a clear error, and enforced again by the database so no code path can break them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service.models import Account, JournalEntry, JournalPosting
from ledger_service.postings import AccountInfo, Line, check_entry, guard_deltas
from svckit.errors import Conflict, NotFound
from svckit.requestid import current_request_id

_CHART: dict[str, AccountInfo] = {}

INSERT_ENTRY = text(
    "WITH e AS ("
    "  INSERT INTO ledger.journal_entry (branch_id, kind, description, effective_on, source, reverses_id, actor,"
    "    request_id)"
    "  VALUES (:branch, :kind, :description, :effective_on, :source, :reverses, :actor, :request_id)"
    "  ON CONFLICT (branch_id, source) WHERE source IS NOT NULL DO NOTHING"
    "  RETURNING branch_id, id, posted_at),"
    " p AS ("
    "  INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount, agent_id,"
    "    policy_id, customer_id, receivable_id, posted_at)"
    "  SELECT e.branch_id, e.id, l.n, l.account, l.currency, l.amount, l.agent_id, l.policy_id, l.customer_id,"
    "    l.receivable_id, e.posted_at"
    "  FROM e, unnest(CAST(:accounts AS text[]), CAST(:currencies AS text[]), CAST(:amounts AS numeric[]),"
    "    CAST(:agents AS bigint[]), CAST(:policies AS bigint[]), CAST(:customers AS bigint[]),"
    "    CAST(:receivables AS bigint[]))"
    "    WITH ORDINALITY AS l(account, currency, amount, agent_id, policy_id, customer_id, receivable_id, n))"
    " SELECT id, posted_at FROM e"
)
# A new sub-ledger starts at zero (its CHECK applies to the row as inserted, so the delta cannot be
# inserted directly); then each balance moves in one UPDATE, where the check refuses an overdraft.
OPEN_GUARDS = text(
    "INSERT INTO ledger.guarded_balance (account, currency, subledger_id, balance)"
    " SELECT *, 0 FROM unnest(CAST(:accounts AS text[]), CAST(:currencies AS text[]), CAST(:subledgers AS bigint[]))"
    " ON CONFLICT DO NOTHING"
)
MOVE_GUARD = text(
    "UPDATE ledger.guarded_balance SET balance = balance + :delta"
    " WHERE account = :account AND currency = :currency AND subledger_id = :subledger"
)


@dataclass(frozen=True)
class Posted:
    entry_id: int
    branch_id: int
    posted_at: datetime


async def chart(session: AsyncSession, *, refresh: bool = False) -> Mapping[str, AccountInfo]:
    """The chart of accounts, kept in memory: an account, once created, never changes its kind or
    guard, so the copy is only reloaded when a code it does not know is asked for."""
    if refresh or not _CHART:
        rows = (await session.execute(select(Account.code, Account.kind, Account.guarded, Account.guard_by))).all()
        _CHART.clear()
        _CHART.update({r.code: AccountInfo(r.code, r.kind, r.guarded, r.guard_by) for r in rows})
    return _CHART


async def _chart_for(session: AsyncSession, lines: Sequence[Line]) -> Mapping[str, AccountInfo]:
    known = await chart(session)
    if any(line.account not in known for line in lines):
        known = await chart(session, refresh=True)
    return known


async def post(session: AsyncSession, *, branch_id: int, kind: str, description: str, effective_on: date,
               lines: Sequence[Line], actor: str, source: str | None = None,
               reverses_id: int | None = None) -> Posted | None:
    """Post one balanced entry. With a `source`, an entry already posted from it is not posted again
    and None is returned: a source takes effect once however often it is delivered."""
    accounts = await _chart_for(session, lines)
    check_entry(lines, accounts, branch_id)
    row = (await session.execute(INSERT_ENTRY, {
        "branch": branch_id, "kind": kind, "description": description, "effective_on": effective_on,
        "source": source, "reverses": reverses_id, "actor": actor, "request_id": current_request_id(),
        "accounts": [x.account for x in lines], "currencies": [x.currency for x in lines],
        "amounts": [x.signed for x in lines], "agents": [x.agent_id for x in lines],
        "policies": [x.policy_id for x in lines], "customers": [x.customer_id for x in lines],
        "receivables": [x.receivable_id for x in lines],
    })).one_or_none()
    if row is None:
        return None
    deltas = guard_deltas(lines, accounts, branch_id)
    if deltas:
        await session.execute(OPEN_GUARDS, {"accounts": [d[0] for d in deltas], "currencies": [d[1] for d in deltas],
                                            "subledgers": [d[2] for d in deltas]})
        try:
            async with session.begin_nested():
                for account, currency, subledger, delta in deltas:  # in guard_deltas' fixed order: no deadlock
                    await session.execute(MOVE_GUARD, {"account": account, "currency": currency,
                                                       "subledger": subledger, "delta": delta})
        except IntegrityError:
            raise Conflict("the entry would overdraw a guarded account", code="account_overdrawn",
                           field="postings") from None
    return Posted(int(row.id), branch_id, row.posted_at)


async def entry(session: AsyncSession, entry_id: int) -> tuple[JournalEntry, list[JournalPosting]]:
    found = (await session.execute(select(JournalEntry).where(JournalEntry.id == entry_id))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"journal entry {entry_id} does not exist", code="entry_not_found", field="entry_id")
    lines = (await session.execute(select(JournalPosting).where(
        JournalPosting.branch_id == found.branch_id, JournalPosting.entry_id == entry_id)
        .order_by(JournalPosting.line_no))).scalars().all()
    return found, list(lines)


def lines_of(postings: Sequence[JournalPosting]) -> list[Line]:
    return [Line(p.account, "debit" if p.amount > 0 else "credit", abs(p.amount), p.currency, p.agent_id,
                 p.policy_id, p.customer_id, p.receivable_id) for p in postings]


async def reverse(session: AsyncSession, entry_id: int, *, effective_on: date, reason: str, actor: str) -> Posted:
    """Cancel an entry by posting its mirror image; the original stays as it was."""
    original, postings = await entry(session, entry_id)
    if original.reverses_id is not None:
        raise Conflict(f"entry {entry_id} is itself a reversal; post a new entry instead",
                       code="cannot_reverse_a_reversal", field="entry_id")
    posted = await post(session, branch_id=original.branch_id, kind="reversal", description=reason,
                        effective_on=effective_on, lines=[x.reversed() for x in lines_of(postings)], actor=actor,
                        source=f"reversal:{entry_id}", reverses_id=entry_id)
    if posted is None:
        raise Conflict(f"entry {entry_id} has already been reversed", code="entry_already_reversed",
                       field="entry_id")
    return posted


@dataclass(frozen=True)
class Balance:
    account: str
    currency: str
    debits: Decimal
    credits: Decimal

    @property
    def net(self) -> Decimal:
        return self.debits - self.credits


async def balances(session: AsyncSession, *, at: datetime | None, account: str | None = None,
                   agent_id: int | None = None, policy_id: int | None = None, customer_id: int | None = None,
                   branch_ids: Sequence[int] | None = None) -> list[Balance]:
    """Debits and credits per account and currency of everything posted up to `at` (now when None),
    along the dimensions asked for; `branch_ids` limits to those branches (a caller's scope)."""
    conditions = ["(CAST(:at AS timestamptz) IS NULL OR posted_at <= :at)"]
    params: dict[str, Any] = {"at": at}
    for column, value in (("account", account), ("agent_id", agent_id), ("policy_id", policy_id),
                          ("customer_id", customer_id)):
        if value is not None:
            conditions.append(f"{column} = :{column}")
            params[column] = value
    if branch_ids is not None:
        conditions.append("branch_id = ANY(CAST(:branches AS bigint[]))")
        params["branches"] = list(branch_ids)
    # Fixed column names only; every value is a bound parameter.
    where = " AND ".join(conditions)
    query = ("SELECT account, currency, coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS debits,"  # noqa: S608
             "  coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS credits FROM ledger.journal_posting"
             f" WHERE {where} GROUP BY account, currency ORDER BY account, currency")
    rows = (await session.execute(text(query), params)).all()
    return [Balance(r.account, r.currency, r.debits, r.credits) for r in rows]
