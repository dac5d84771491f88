"""The double-entry journal 日记账: posting balanced entries in one statement, reversing them,
and balances at any moment along account, agent, policy or customer.

Entries are append-only (a trigger refuses UPDATE and DELETE) and a deferred trigger refuses to
commit an entry whose postings do not balance: the rules of `postings.py` are checked here first
for a clear error, and enforced again by the database so no code path can break them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service.models import PLATFORM_TABLES, Account, JournalEntry, JournalPosting
from ledger_service.postings import AccountInfo, Line, check_entry, guard_deltas
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.money import MINOR_UNITS
from svckit.outbox import append_event
from svckit.pgarray import dates, numbers, param, texts
from svckit.requestid import current_request_id

_CHART: dict[str, AccountInfo] = {}

# Entries, their postings and what they do to guarded balances, in one statement however many
# entries there are. Each entry's id is drawn from the table's own identity sequence first, so
# that its postings (and the caller's answer) are tied to it by position in the input, not by the
# order rows come back. An entry whose source was already posted is skipped by the source's unique
# index (and its postings and guards with it).
_POST_HEAD = (
    "WITH input AS MATERIALIZED ("  # noqa: S608 - constant fragments; every value is a bound parameter
    "  SELECT nextval('ledger.journal_entry_id_seq') AS id, i.*"
    f"  FROM unnest({param('branches', 'bigint')}, {param('kinds', 'text')}, {param('descriptions', 'text')},"
    f"    {param('effective', 'date')}, {param('sources', 'text')}, {param('reverses', 'bigint')})"
    "    WITH ORDINALITY AS i(branch_id, kind, description, effective_on, source, reverses_id, n)),"
    " e AS ("
    "  INSERT INTO ledger.journal_entry (id, branch_id, kind, description, effective_on, source, reverses_id, actor,"
    "    request_id) OVERRIDING SYSTEM VALUE"
    "  SELECT id, branch_id, kind, description, effective_on, source, reverses_id, :actor, :request_id"
    "  FROM input ORDER BY n"
    "  ON CONFLICT (branch_id, source) WHERE source IS NOT NULL DO NOTHING"
    "  RETURNING id, branch_id, posted_at),"
    " posted AS (SELECT input.n, e.id, e.branch_id, e.posted_at FROM e JOIN input USING (id)),"
    " p AS ("
    "  INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount, agent_id,"
    "    policy_id, customer_id, receivable_id, posted_at)"
    "  SELECT posted.branch_id, posted.id, l.line_no, l.account, l.currency, l.amount, l.agent_id, l.policy_id,"
    "    l.customer_id, l.receivable_id, posted.posted_at"
    f"  FROM unnest({param('line_entries', 'bigint')}, {param('line_nos', 'integer')},"
    f"    {param('accounts', 'text')}, {param('currencies', 'text')}, {param('amounts', 'numeric')},"
    f"    {param('agents', 'bigint')}, {param('policies', 'bigint')}, {param('customers', 'bigint')},"
    f"    {param('receivables', 'bigint')})"
    "    AS l(entry_n, line_no, account, currency, amount, agent_id, policy_id, customer_id, receivable_id)"
    "  JOIN posted ON posted.n = l.entry_n)"
)
# Guarded sub-ledgers touched by the entries posted, in one fixed order (as Python sorts the keys),
# so that concurrent postings lock the same rows in the same order and cannot deadlock.
_GUARDS = (
    "  SELECT g.account, g.currency, g.subledger_id, sum(g.delta) AS delta"  # noqa: S608 - as above
    f"  FROM unnest({param('guard_entries', 'bigint')}, {param('guard_accounts', 'text')},"
    f"    {param('guard_currencies', 'text')}, {param('guard_subledgers', 'bigint')},"
    f"    {param('guard_deltas', 'numeric')})"
    "    AS g(entry_n, account, currency, subledger_id, delta)"
    "  JOIN posted ON posted.n = g.entry_n"
    "  GROUP BY g.account, g.currency, g.subledger_id"
    '  ORDER BY g.account COLLATE "C", g.currency COLLATE "C", g.subledger_id'
)
_POST_TAIL = " SELECT n, id, branch_id, posted_at FROM posted"
POST = text(_POST_HEAD + _POST_TAIL)
# Only credits to guarded sub-ledgers: balances can only grow, so each moves at once. (The CHECK
# applies to the row as proposed for insertion, here never negative.)
POST_GROWING = text(
    _POST_HEAD + ", grow AS ("
    "  INSERT INTO ledger.guarded_balance AS b (account, currency, subledger_id, balance)" + _GUARDS +
    "  ON CONFLICT (account, currency, subledger_id) DO UPDATE SET balance = b.balance + EXCLUDED.balance)"
    + _POST_TAIL)
# Some balance may fall: a new sub-ledger is opened at zero here, then every balance is locked, read,
# checked entry by entry, and moved (GUARDS_LOCK, GUARDS_MOVE).
POST_OPENING = text(
    _POST_HEAD + ", open AS ("  # noqa: S608 - constant fragments; every value is a bound parameter
    "  INSERT INTO ledger.guarded_balance (account, currency, subledger_id, balance)"
    "  SELECT account, currency, subledger_id, 0 FROM (" + _GUARDS + ") d"
    "  ON CONFLICT DO NOTHING)"
    + _POST_TAIL)
GUARDS_LOCK = text(
    "SELECT b.account, b.currency, b.subledger_id, b.balance FROM ledger.guarded_balance b"
    " JOIN unnest(CAST(:accounts AS text[]), CAST(:currencies AS text[]), CAST(:subledgers AS bigint[]))"
    "   AS k(account, currency, subledger_id) USING (account, currency, subledger_id)"
    ' ORDER BY b.account COLLATE "C", b.currency COLLATE "C", b.subledger_id FOR UPDATE OF b'
)
GUARDS_MOVE = text(
    "UPDATE ledger.guarded_balance b SET balance = b.balance + m.delta"
    " FROM unnest(CAST(:accounts AS text[]), CAST(:currencies AS text[]), CAST(:subledgers AS bigint[]),"
    "   CAST(:deltas AS numeric[])) AS m(account, currency, subledger_id, delta)"
    " WHERE (b.account, b.currency, b.subledger_id) = (m.account, m.currency, m.subledger_id)"
)
SCALE = Decimal("0.0001")  # models.AMOUNT: numeric(20, 4)
GuardKey = tuple[str, str, int]


def stored(amount: Decimal) -> Decimal:
    """An amount as the journal stores and returns it (exact: entries have at most 4 decimals)."""
    return amount.quantize(SCALE)


@dataclass(frozen=True)
class Posted:
    entry_id: int
    branch_id: int
    posted_at: datetime


@dataclass(frozen=True)
class NewEntry:
    """An entry to post: what `post` takes, for `post_many`."""

    branch_id: int
    kind: str
    description: str
    effective_on: date
    lines: Sequence[Line]
    source: str | None = None
    reverses_id: int | None = None


async def chart(session: AsyncSession, *, refresh: bool = False) -> Mapping[str, AccountInfo]:
    """The chart of accounts, kept in memory: an account, once created, never changes its kind or
    guard, so the copy is only reloaded when a code it does not know is asked for."""
    if refresh or not _CHART:
        rows = (await session.execute(select(Account.code, Account.kind, Account.guarded, Account.guard_by))).all()
        _CHART.clear()
        _CHART.update({r.code: AccountInfo(r.code, r.kind, r.guarded, r.guard_by) for r in rows})
    return _CHART


async def _chart_for(session: AsyncSession, entries: Sequence[NewEntry]) -> Mapping[str, AccountInfo]:
    known = await chart(session)
    if any(line.account not in known for e in entries for line in e.lines):
        known = await chart(session, refresh=True)
    return known


async def post(session: AsyncSession, *, branch_id: int, kind: str, description: str, effective_on: date,
               lines: Sequence[Line], actor: str, source: str | None = None,
               reverses_id: int | None = None) -> Posted | None:
    """Post one balanced entry. With a `source`, an entry already posted from it is not posted again
    and None is returned: a source takes effect once however often it is delivered. An entry that
    would overdraw a guarded account is refused and leaves nothing behind."""
    entry = NewEntry(branch_id, kind, description, effective_on, lines, source, reverses_id)
    return (await _post(session, [entry], actor, lambda _: ""))[0]


async def post_many(session: AsyncSession, entries: Sequence[NewEntry], *, actor: str) -> list[Posted | None]:
    """Post many entries in a handful of statements, exactly as `post` would one after the other:
    every entry checked by the same rules (a refusal names `entries[n]`), a source posted once (a
    repeated one, earlier or in this batch, answers None in its place), and guarded balances moved
    entry by entry in input order, refusing the first entry that would overdraw one. A refusal
    leaves nothing of the batch behind."""
    return await _post(session, entries, actor, lambda n: f"entries[{n}].")


async def _post(session: AsyncSession, entries: Sequence[NewEntry], actor: str,
                name: Callable[[int], str]) -> list[Posted | None]:
    if not entries:
        return []
    accounts = await _chart_for(session, entries)
    seen: set[tuple[int, str]] = set()
    todo: list[int] = []  # what is sent: a source repeated within the batch would be skipped anyway
    for n, e in enumerate(entries):
        try:
            check_entry(e.lines, accounts, e.branch_id)
        except Unprocessable as refused:
            refused.extra["field"] = name(n) + str(refused.extra.get("field", "postings"))
            raise
        if e.source is not None:
            if (e.branch_id, e.source) in seen:
                continue
            seen.add((e.branch_id, e.source))
        todo.append(n)
    deltas = {n: guard_deltas(entries[n].lines, accounts, entries[n].branch_id) for n in todo}
    guarded = [(n, *d) for n in todo for d in deltas[n]]
    falling = any(d[4] < 0 for d in guarded)
    params = _params(entries, todo, guarded, actor)
    connection = await session.connection()  # the statements are text: no ORM in the way
    if not guarded:
        rows = (await connection.execute(POST, params)).all()
        return _answer(len(entries), todo, rows)
    if not falling:
        rows = (await connection.execute(POST_GROWING, params)).all()
        return _answer(len(entries), todo, rows)
    async with session.begin_nested():  # a refusal rolls back to here: nothing of the batch is left
        connection = await session.connection()  # (this is what emits the savepoint)
        rows = (await connection.execute(POST_OPENING, params)).all()
        posted = {todo[r.n - 1] for r in rows}
        moves = [(n, (a, c, s), d) for n, a, c, s, d in guarded if n in posted]
        await _move_guards(session, moves, name)
    return _answer(len(entries), todo, rows)


def _params(entries: Sequence[NewEntry], todo: Sequence[int], guarded: Sequence[tuple[int, str, str, int, Decimal]],
            actor: str) -> dict[str, Any]:
    chosen = [entries[n] for n in todo]
    lines = [(k, no, line) for k, e in enumerate(chosen, start=1) for no, line in enumerate(e.lines, start=1)]
    position = {n: k for k, n in enumerate(todo, start=1)}
    # Text literals, not lists: a settlement's 10,000 entries send a dozen arrays of 10,000–40,000 values
    # (svckit.pgarray).
    return {
        "branches": numbers(e.branch_id for e in chosen), "kinds": texts(e.kind for e in chosen),
        "descriptions": texts(e.description for e in chosen), "effective": dates(e.effective_on for e in chosen),
        "sources": texts(e.source for e in chosen), "reverses": numbers(e.reverses_id for e in chosen),
        "actor": actor, "request_id": current_request_id(),
        "line_entries": numbers(k for k, _, _ in lines), "line_nos": numbers(no for _, no, _ in lines),
        "accounts": texts(x.account for _, _, x in lines), "currencies": texts(x.currency for _, _, x in lines),
        "amounts": numbers(x.signed for _, _, x in lines), "agents": numbers(x.agent_id for _, _, x in lines),
        "policies": numbers(x.policy_id for _, _, x in lines), "customers": numbers(x.customer_id for _, _, x in lines),
        "receivables": numbers(x.receivable_id for _, _, x in lines),
        "guard_entries": numbers(position[g[0]] for g in guarded), "guard_accounts": texts(g[1] for g in guarded),
        "guard_currencies": texts(g[2] for g in guarded), "guard_subledgers": numbers(g[3] for g in guarded),
        "guard_deltas": numbers(g[4] for g in guarded),
    }


def _answer(count: int, todo: Sequence[int], rows: Sequence[Any]) -> list[Posted | None]:
    """Each entry's outcome in input order: posted, or None where its source had already been posted."""
    answers: list[Posted | None] = [None] * count
    for row in rows:
        n = todo[row.n - 1]
        answers[n] = Posted(int(row.id), int(row.branch_id), row.posted_at)
    return answers


async def _move_guards(session: AsyncSession, moves: Sequence[tuple[int, GuardKey, Decimal]],
                       name: Callable[[int], str]) -> None:
    """Lock the balances in the fixed order, replay the entries' moves one entry after another as
    `post` would, refuse the first entry that overdraws one, then move each balance once."""
    keys = sorted({key for _, key, _ in moves})
    rows = (await session.execute(GUARDS_LOCK, {"accounts": [k[0] for k in keys], "currencies": [k[1] for k in keys],
                                                "subledgers": [k[2] for k in keys]})).all()
    balance: dict[GuardKey, Decimal] = {(r.account, r.currency, r.subledger_id): r.balance for r in rows}
    total: dict[GuardKey, Decimal] = dict.fromkeys(keys, Decimal(0))
    for n, key, delta in moves:
        balance[key] += delta
        total[key] += delta
        if balance[key] < 0:
            raise Conflict("the entry would overdraw a guarded account", code="account_overdrawn",
                           field=name(n) + "postings")
    moved = [k for k in keys if total[k] != 0]
    await session.execute(GUARDS_MOVE, {
        "accounts": [k[0] for k in moved], "currencies": [k[1] for k in moved],
        "subledgers": [k[2] for k in moved], "deltas": [total[k] for k in moved]})


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
    # Performance undoes what the original meant (e.g. premium received) from the reversed lines.
    await append_event(session, PLATFORM_TABLES, event_type="entry.reversed", aggregate_type="journal_entry",
                       aggregate_id=str(entry_id), payload={
                           "entry_id": entry_id, "kind": original.kind, "reversal_entry_id": posted.entry_id,
                           "branch_id": original.branch_id, "effective_on": effective_on, "reason": reason,
                           "postings": [{"account": p.account, "amount": p.amount, "currency": p.currency,
                                         "agent_id": p.agent_id, "policy_id": p.policy_id,
                                         "receivable_id": p.receivable_id} for p in postings]})
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
                   branch_ids: Sequence[int] | None = None, on: date | None = None) -> list[Balance]:
    """Debits and credits per account and currency of everything posted up to `at` (now when None),
    along the dimensions asked for; `branch_ids` limits to those branches (a caller's scope). With `on`,
    only entries whose business date 记账日期 is on or before it: the books of a month as they stand
    now, late postings into it included (`at` asks instead what had been posted by a moment)."""
    conditions = ["(CAST(:at AS timestamptz) IS NULL OR posted_at <= :at)"]
    params: dict[str, Any] = {"at": at}
    if on is not None:
        conditions.append("entry_id IN (SELECT id FROM ledger.journal_entry WHERE effective_on <= :on)")
        params["on"] = on
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


# --- Bulk posting from lines a caller wrote into a temporary table (e.g. a million-line bank file) --

STAGE_LINES = "journal_stage_line"
_CREATE_STAGE = text(
    "CREATE TEMP TABLE journal_stage_line (n bigint GENERATED ALWAYS AS IDENTITY, entry_key integer NOT NULL,"
    " account text NOT NULL, currency text NOT NULL, amount numeric NOT NULL, agent_id bigint, policy_id bigint,"
    " customer_id bigint, receivable_id bigint) ON COMMIT DROP"
)
# The rules of postings.check_entry, set-based: the first broken one (by entry, then line).
_STAGE_PROBLEMS = text(
    "WITH units AS (SELECT * FROM unnest(CAST(:currencies AS text[]), CAST(:units AS integer[]))"
    "   AS u(currency, units)),"
    " lines AS (SELECT l.*, a.code IS NULL AS unknown, a.guard_by, u.units,"
    "   row_number() OVER (PARTITION BY l.entry_key ORDER BY l.n) AS line FROM journal_stage_line l"
    "   LEFT JOIN ledger.account a ON a.code = l.account LEFT JOIN units u ON u.currency = l.currency)"
    " SELECT entry_key, problem, line FROM ("
    "  SELECT entry_key, line, CASE"
    "    WHEN units IS NULL THEN 'unknown_currency'"
    "    WHEN amount = 0 THEN 'amount_not_positive'"
    "    WHEN amount <> round(amount, units) THEN 'amount_too_precise'"
    "    WHEN unknown THEN 'unknown_account'"
    "    WHEN guard_by = 'agent' AND agent_id IS NULL OR guard_by = 'customer' AND customer_id IS NULL"
    "      OR guard_by = 'policy' AND policy_id IS NULL THEN 'subledger_required' END AS problem FROM lines"
    "  UNION ALL SELECT entry_key, 0, 'entry_too_short' FROM lines GROUP BY entry_key HAVING count(*) < 2"
    "  UNION ALL SELECT entry_key, 0, 'entry_unbalanced' FROM lines GROUP BY entry_key, currency"
    "    HAVING sum(amount) <> 0) p"
    " WHERE problem IS NOT NULL ORDER BY entry_key, line LIMIT 1"
)
_POST_STAGED = text(
    "WITH input AS MATERIALIZED ("  # noqa: S608 - constant fragments; every value is a bound parameter
    "  SELECT nextval('ledger.journal_entry_id_seq') AS id, i.*"
    f"  FROM unnest({param('keys', 'integer')}, {param('branches', 'bigint')}, {param('kinds', 'text')},"
    f"    {param('descriptions', 'text')}, {param('effective', 'date')}, {param('sources', 'text')})"
    "    AS i(key, branch_id, kind, description, effective_on, source)),"
    " e AS ("
    "  INSERT INTO ledger.journal_entry (id, branch_id, kind, description, effective_on, source, actor, request_id)"
    "  OVERRIDING SYSTEM VALUE SELECT id, branch_id, kind, description, effective_on, source, :actor, :request_id"
    "  FROM input ORDER BY key"
    "  ON CONFLICT (branch_id, source) WHERE source IS NOT NULL DO NOTHING RETURNING id, branch_id, posted_at),"
    " posted AS (SELECT input.key, e.id, e.branch_id, e.posted_at FROM e JOIN input USING (id)),"
    " lines AS (SELECT posted.*, l.*, row_number() OVER (PARTITION BY l.entry_key ORDER BY l.n) AS line_no"
    "  FROM journal_stage_line l JOIN posted ON posted.key = l.entry_key),"
    " p AS ("
    "  INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount, agent_id,"
    "    policy_id, customer_id, receivable_id, posted_at)"
    "  SELECT branch_id, id, line_no, account, currency, amount, agent_id, policy_id, customer_id, receivable_id,"
    "    posted_at FROM lines),"
    " g AS ("
    "  INSERT INTO ledger.guarded_balance AS b (account, currency, subledger_id, balance)"
    "  SELECT l.account, l.currency, CASE a.guard_by WHEN 'branch' THEN l.branch_id WHEN 'agent' THEN l.agent_id"
    "    WHEN 'customer' THEN l.customer_id ELSE l.policy_id END,"
    "    sum(l.amount * CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END)"
    "  FROM lines l JOIN ledger.account a ON a.code = l.account AND a.guarded"
    "  GROUP BY 1, 2, 3 ORDER BY l.account COLLATE \"C\", l.currency COLLATE \"C\", 3"  # post_many's order
    "  ON CONFLICT (account, currency, subledger_id) DO UPDATE SET balance = b.balance + EXCLUDED.balance)"
    " SELECT key, id FROM posted"
)
# Guarded balances may only grow through a staged posting (then no order between entries matters).
_STAGE_FALLING = text(
    "SELECT 1 FROM journal_stage_line l JOIN ledger.account a ON a.code = l.account AND a.guarded"
    " WHERE l.amount * CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END < 0 LIMIT 1"
)


@dataclass(frozen=True)
class StagedEntry:
    """An entry whose lines are rows of `journal_stage_line` with this `key`."""

    key: int
    branch_id: int
    kind: str
    description: str
    effective_on: date
    source: str


async def open_stage(session: AsyncSession) -> str:
    """A fresh temporary table for the caller's lines (signed amounts, debits positive); dropped at commit."""
    await session.execute(text("DROP TABLE IF EXISTS journal_stage_line"))
    await session.execute(_CREATE_STAGE)
    return STAGE_LINES


async def post_staged(session: AsyncSession, entries: Sequence[StagedEntry], *, actor: str) -> dict[int, int]:
    """Post entries whose lines the caller wrote into the stage by SQL, for bulk work too large to pass
    through Python line by line. The rules are `post`'s, checked set-based (a refusal names
    `entries[key]`); a source already posted is skipped (its key is absent from the answer); guarded
    balances may only grow this way. Returns each posted entry's id by key."""
    if not entries:
        return {}
    problem = (await session.execute(_STAGE_PROBLEMS, {
        "currencies": list(MINOR_UNITS), "units": list(MINOR_UNITS.values())})).one_or_none()
    if problem is not None:
        raise Unprocessable(f"staged entry {problem.entry_key} breaks the rule {problem.problem}",
                            code=problem.problem, field=f"entries[{problem.entry_key}].postings")
    if (await session.execute(_STAGE_FALLING)).first() is not None:
        raise ValueError("a staged posting may only grow guarded balances; post it with post_many")
    rows = (await session.execute(_POST_STAGED, {
        "keys": numbers(e.key for e in entries), "branches": numbers(e.branch_id for e in entries),
        "kinds": texts([e.kind for e in entries]), "descriptions": texts([e.description for e in entries]),
        "effective": dates(e.effective_on for e in entries), "sources": texts([e.source for e in entries]),
        "actor": actor, "request_id": current_request_id()})).all()
    return {int(r.key): int(r.id) for r in rows}
