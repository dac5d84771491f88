"""Applying a bank's results set-based, so that a million-line reconciliation file takes seconds:
the lines are staged in a temporary table (a file is copied in as it is and checked by SQL), every
line is classified by one query, and the effects are written a few statements for all lines.

The classification is `bank_rules.classify` written as SQL: the Python function is the readable
statement of the rules and the tests hold the two to the same answers. Each submission (a request
or a file) books one journal entry per branch for the premiums it received (one credit line per
premium, with its agent, policy, customer and receivable) and one for the money it holds in
suspense: a voucher per day's file, as the bank's statement has one line per debit.

A large file is applied in parts (`Part`), each a transaction of its own on its own connection, so
that the database server works on it with every core: a line's part follows from its instruction,
so every line about one instruction is judged in the same part, exactly as in the whole file. The
suspense voucher is booked last in each part: the branch's suspense balance is the one row the
parts share, and its lock is then held only for the moment before the part commits.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import journal
from ledger_service.bank_rules import EXCEPTIONS, HEADER, REASON_CODES, LineError, Result
from svckit.errors import Conflict
from svckit.money import MINOR_UNITS
from svckit.requestid import current_request_id

_STAGE = (
    "DROP TABLE IF EXISTS bank_in",
    "CREATE TEMP TABLE bank_in (line_no integer NOT NULL, instruction_id uuid, bank_reference text NOT NULL,"
    " value_date date NOT NULL, amount numeric NOT NULL, currency text NOT NULL, outcome text NOT NULL,"
    " reason_code text) ON COMMIT DROP",
)
_RAW = (
    "DROP TABLE IF EXISTS bank_raw",
    "CREATE TEMP TABLE bank_raw (line_no integer GENERATED ALWAYS AS IDENTITY, line text) ON COMMIT DROP",
)


@dataclass(frozen=True)
class Part:
    """The lines of a file one transaction applies: those whose instruction falls in part `index` of `of`."""

    index: int = 0
    of: int = 1

    @property
    def copy_filter(self) -> str | None:
        """Which lines the copy keeps (the header always). By the last byte of the instruction id, a
        random UUID's, so parts come out even; every spelling of one id gives the same part, and a
        line without a valid id goes to part 0 (where its error, if any, is reported)."""
        if self.of == 1:
            return None
        field = "btrim(split_part(line, ',', 1))"
        return (f"line_no = 1 OR (CASE WHEN pg_input_is_valid({field}, 'uuid')"
                f" THEN get_byte(uuid_send(CAST({field} AS uuid)), 15) ELSE 0 END) % {int(self.of)}"
                f" = {int(self.index)}")


WHOLE_FILE = Part()
# Each line's first broken field, in the order the fields are read (as bank_rules.parse_line).
_RAW_PROBLEMS = text(
    "WITH f AS (SELECT line_no, string_to_array(line, ',') AS v FROM bank_raw"
    "   WHERE line_no > 1 AND coalesce(btrim(line, E' \\r'), '') <> ''),"
    " t AS (SELECT line_no, cardinality(v) AS fields, btrim(v[1]) AS id, btrim(v[2]) AS ref, btrim(v[3]) AS day,"
    "   btrim(v[4]) AS amount, btrim(v[5]) AS currency, btrim(v[6]) AS outcome, btrim(btrim(v[7]), E'\\r') AS reason,"
    "   u.units FROM f LEFT JOIN unnest(CAST(:currencies AS text[]), CAST(:units AS integer[])) AS u(currency, units)"
    "   ON u.currency = btrim(f.v[5]))"
    " SELECT line_no, field, message FROM (SELECT line_no, CASE"
    "   WHEN fields <> 7 THEN 'line' WHEN id <> '' AND NOT pg_input_is_valid(id, 'uuid') THEN 'instruction_id'"
    "   WHEN ref = '' OR length(ref) > 100 THEN 'bank_reference'"
    "   WHEN day !~ '^\\d{4}-\\d{2}-\\d{2}$' OR NOT pg_input_is_valid(day, 'date') THEN 'value_date'"
    "   WHEN units IS NULL THEN 'currency'"
    "   WHEN NOT pg_input_is_valid(amount, 'numeric') OR amount !~ '^[0-9.]+$' THEN 'amount'"
    "   WHEN CAST(amount AS numeric) <= 0 OR CAST(amount AS numeric) <> round(CAST(amount AS numeric), units)"
    "     THEN 'amount'"
    "   WHEN outcome NOT IN ('success', 'failure') THEN 'outcome'"
    "   WHEN outcome = 'failure' AND reason <> ALL(CAST(:reasons AS text[])) THEN 'reason_code'"
    "   WHEN outcome = 'success' AND reason <> '' THEN 'reason_code' END AS field,"
    "   CASE WHEN fields <> 7 THEN format('expected 7 fields, found %s', fields) ELSE '' END AS message, fields"
    "  FROM t) p WHERE field IS NOT NULL ORDER BY line_no"
)
_RULES = {"currencies": list(MINOR_UNITS), "units": list(MINOR_UNITS.values()), "reasons": sorted(REASON_CODES)}
# What the casts do not check, on the typed lines: clean when every non-blank line was staged and
# breaks no rule (the same rules as _RAW_PROBLEMS).
_STAGED_PROBLEMS = text(
    "SELECT (SELECT count(*) FROM bank_in) AS lines,"
    " (SELECT count(*) FROM bank_in) = (SELECT count(*) FROM bank_raw"
    "   WHERE line_no > 1 AND coalesce(btrim(line, E' \\r'), '') <> '')"
    " AND NOT EXISTS (SELECT 1 FROM bank_in b"
    "   LEFT JOIN unnest(CAST(:currencies AS text[]), CAST(:units AS integer[])) AS u(currency, units)"
    "   ON u.currency = b.currency"
    "   WHERE u.units IS NULL OR b.amount <= 0 OR b.amount <> round(b.amount, u.units)"
    "   OR b.bank_reference = '' OR length(b.bank_reference) > 100 OR b.outcome NOT IN ('success', 'failure')"
    "   OR b.outcome = 'failure' AND (b.reason_code IS NULL OR b.reason_code <> ALL(CAST(:reasons AS text[])))"
    "   OR b.outcome = 'success' AND b.reason_code IS NOT NULL) AS ok"
)
_RAW_TO_STAGE = text(
    "INSERT INTO bank_in SELECT line_no, CAST(nullif(btrim(v[1]), '') AS uuid), btrim(v[2]),"
    " CAST(btrim(v[3]) AS date), CAST(btrim(v[4]) AS numeric), btrim(v[5]), btrim(v[6]),"
    " nullif(btrim(btrim(v[7]), E'\\r'), '')"
    " FROM (SELECT line_no, string_to_array(line, ',') AS v FROM bank_raw"
    "       WHERE line_no > 1 AND coalesce(btrim(line, E' \\r'), '') <> '') f"
    " WHERE cardinality(v) = 7 AND btrim(v[3]) ~ '^\\d{4}-\\d{2}-\\d{2}$' AND btrim(v[4]) ~ '^[0-9.]+$'"
)
_RESULTS_TO_STAGE = text(
    "INSERT INTO bank_in SELECT * FROM unnest(CAST(:lines AS integer[]), CAST(:ids AS uuid[]), CAST(:refs AS text[]),"
    " CAST(:days AS date[]), CAST(:amounts AS numeric[]), CAST(:currencies AS text[]), CAST(:outcomes AS text[]),"
    " CAST(:reasons AS text[]))"
)
_SETTLE = text(
    "UPDATE ledger.receivable r SET received = r.received + p.amount,"
    "  status = CASE WHEN r.received + p.amount = r.amount THEN 'settled' ELSE r.status END,"
    "  settled_at = CASE WHEN r.received + p.amount = r.amount THEN now() ELSE r.settled_at END"
    " FROM (SELECT branch_id, receivable_id, sum(amount) AS amount FROM bank_out WHERE disposition = 'applied'"
    "       GROUP BY branch_id, receivable_id) p"
    " WHERE r.branch_id = p.branch_id AND r.id = p.receivable_id"
)
# bank_rules.classify, for every line at once (see there for the rules).
_CLASSIFY = (
    "DROP TABLE IF EXISTS bank_out",
    "CREATE TEMP TABLE bank_out ON COMMIT DROP AS"
    " WITH inc AS ("
    "  SELECT n.*, i.id IS NULL AS unknown, i.status AS s0, i.amount AS i_amount, i.currency AS i_currency,"
    "    i.branch_id, i.receivable_id, i.policy_id, i.agent_id, i.institution_id, i.customer_id,"
    "    r.status = 'open' AS r_open, r.amount - r.received AS outstanding"
    "  FROM bank_in n"
    "  LEFT JOIN ledger.debit_instruction i ON i.id = n.instruction_id AND i.bank_code = :bank"
    "  LEFT JOIN ledger.receivable r ON r.branch_id = i.branch_id AND r.id = i.receivable_id),"
    " marked AS ("
    "  SELECT inc.*, NOT unknown AND ("
    "    row_number() OVER (PARTITION BY instruction_id, bank_reference, outcome, amount, currency"
    "                       ORDER BY line_no) > 1"
    "    OR EXISTS (SELECT 1 FROM ledger.bank_result b WHERE b.instruction_id = inc.instruction_id"
    "      AND b.bank_reference = inc.bank_reference AND b.outcome = inc.outcome AND b.amount = inc.amount"
    "      AND b.currency = inc.currency)) AS seen"
    "  FROM inc),"
    " ranked AS ("
    "  SELECT marked.*, row_number() OVER (PARTITION BY instruction_id, unknown OR seen ORDER BY line_no) AS k,"
    "    CASE WHEN outcome = 'failure' THEN 'failed'"
    "      WHEN amount <> i_amount OR currency <> i_currency THEN 'amount_mismatch'"
    "      WHEN NOT r_open OR outstanding < amount THEN 'already_paid' ELSE 'applied' END AS first_answer"
    "  FROM marked),"
    " first AS ("
    "  SELECT instruction_id, CASE WHEN s0 <> 'pending' THEN s0 WHEN first_answer = 'applied' THEN 'succeeded'"
    "    WHEN first_answer = 'failed' THEN 'failed' ELSE 'exception' END AS s1"
    "  FROM ranked WHERE NOT unknown AND NOT seen AND k = 1)"
    " SELECT ranked.*, nextval('ledger.bank_result_id_seq') AS result_id, first.s1,"
    "   coalesce(ranked.branch_id, :branch) AS branch_booked, CASE"
    "   WHEN unknown THEN 'unknown_instruction' WHEN seen THEN 'duplicate'"
    "   WHEN k = 1 AND s0 = 'pending' THEN first_answer"
    "   WHEN (CASE WHEN k = 1 THEN s0 ELSE first.s1 END) = 'failed' AND outcome = 'failure' THEN 'duplicate'"
    "   ELSE 'conflicting_result' END AS disposition"
    " FROM ranked LEFT JOIN first USING (instruction_id)",
)


@dataclass(frozen=True)
class Applied:
    """What a submission did: counts and amounts, and each line's disposition in line order."""

    report: dict[str, Any]
    dispositions: list[str]


async def _run(session: AsyncSession, statements: Sequence[str], params: dict[str, Any] | None = None) -> None:
    for statement in statements:
        await session.execute(text(statement), params or {})


async def stage_results(session: AsyncSession, results: Sequence[Result]) -> None:
    await _run(session, _STAGE)
    await session.execute(_RESULTS_TO_STAGE, {
        "lines": [r.line_no for r in results], "ids": [r.instruction_id for r in results],
        "refs": [r.bank_reference for r in results], "days": [r.value_date for r in results],
        "amounts": [r.amount for r in results], "currencies": [r.currency for r in results],
        "outcomes": [r.outcome for r in results], "reasons": [r.reason_code for r in results]})


async def stage_file(session: AsyncSession, content: bytes, part: Part = WHOLE_FILE) -> tuple[int, list[LineError]]:
    """Copy the file (the lines of `part`) in as it is, check every line by SQL; returns (lines, broken lines)."""
    await _run(session, _RAW)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    # Whole lines, verbatim: no character of a bank file is a delimiter or a quote for this copy.
    await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
        "bank_raw", source=io.BytesIO(content.removeprefix(b"\xef\xbb\xbf")), columns=["line"], format="csv",
        delimiter="\x01", quote="\x02", encoding="utf-8", where=part.copy_filter)
    header = (await session.execute(text("SELECT line FROM bank_raw WHERE line_no = 1"))).scalar()
    if header is None or tuple(h.strip() for h in header.split(",")) != HEADER:
        return 0, [LineError(1, "header", "the first line must be: " + ",".join(HEADER))]
    # Most files are clean: cast every line at once and check the rest on typed columns; only when
    # that finds something does the line-by-line report run.
    await _run(session, _STAGE)
    try:
        async with session.begin_nested():
            await session.execute(_RAW_TO_STAGE)
            clean = (await session.execute(_STAGED_PROBLEMS, _RULES)).one()
            if not clean.ok:
                raise _Broken
    except (_Broken, DBAPIError):
        rows = (await session.execute(_RAW_PROBLEMS, _RULES)).all()
        return 0, [LineError(r.line_no, r.field, _message(r.field, r.message)) for r in rows]
    return int(clean.lines), []


class _Broken(Exception):
    """Something in the file needs the line-by-line report."""


def _message(field: str, detail: str) -> str:
    return detail or {
        "instruction_id": "not an instruction id", "bank_reference": "required, at most 100 characters",
        "value_date": "not a date (YYYY-MM-DD)", "currency": "unknown currency",
        "amount": "a positive amount with at most the currency's decimals", "outcome": "success or failure",
        "reason_code": "a failure names one of " + ", ".join(sorted(REASON_CODES)) + "; a success none",
    }.get(field, "invalid")


async def apply_staged(session: AsyncSession, *, bank_code: str, branch_id: int, file_id: int | None,
                       actor: str) -> Applied:
    """Judge and apply the staged lines of one submission of `bank_code` (whose money lands in
    `branch_id` when it matches nothing). A file's report leaves out the line-by-line dispositions
    (they are kept in ledger.bank_result)."""
    await _run(session, _CLASSIFY, {"bank": bank_code, "branch": branch_id})
    await session.execute(text(
        "INSERT INTO ledger.bank_result (id, bank_code, instruction_id, outcome, amount, currency, reason_code,"
        "  bank_reference, value_date, file_id, line_no, disposition) OVERRIDING SYSTEM VALUE"
        " SELECT result_id, :bank, instruction_id, outcome, amount, currency, reason_code, bank_reference,"
        "  value_date, :file, line_no, disposition FROM bank_out ORDER BY line_no"),
        {"bank": bank_code, "file": file_id})
    await _run(session, ("DROP TABLE IF EXISTS bank_booked", "CREATE TEMP TABLE bank_booked (kind text, branch_id"
                         " bigint, entry_id bigint, PRIMARY KEY (kind, branch_id)) ON COMMIT DROP"))
    await _book(session, bank_code, actor, "bank_debit")
    await _write_effects(session)
    await _book(session, bank_code, actor, "suspense")
    await _record_exceptions(session, bank_code)
    return await _report(session, by_line=file_id is None)


async def _book(session: AsyncSession, bank_code: str, actor: str, kind: str) -> None:
    """One entry per branch, of `kind`: the premiums received (bank_debit) or the money held
    (suspense); their ids are kept in bank_booked."""
    groups = (await session.execute(text(
        "SELECT kind, branch_booked, min(result_id) AS first, min(value_date) AS day, count(*) AS lines"
        " FROM (SELECT CASE WHEN disposition = 'applied' THEN 'bank_debit' ELSE 'suspense' END AS kind, *"
        "       FROM bank_out WHERE outcome = 'success' AND disposition <> 'duplicate'"
        "         AND (disposition = 'applied' OR disposition = ANY(CAST(:held AS text[])))) o"
        " WHERE kind = :kind GROUP BY 1, 2 ORDER BY 1, 2"), {"held": sorted(EXCEPTIONS), "kind": kind})).all()
    if not groups:
        return
    await journal.open_stage(session)
    staged = []
    for key, g in enumerate(groups, start=1):
        staged.append(journal.StagedEntry(
            key, g.branch_booked, g.kind, f"{bank_code}: {g.lines} auto-debit result(s) "
            + ("received" if g.kind == "bank_debit" else "held in suspense"), g.day,
            f"bank_results:{bank_code}:{g.first}:{g.kind}"))
    await session.execute(text(
        "INSERT INTO journal_stage_line (entry_key, account, currency, amount, agent_id, policy_id, customer_id,"
        "  receivable_id)"
        " SELECT k.key, 'bank', o.currency, sum(o.amount), NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint"
        " FROM bank_out o JOIN unnest(CAST(:kinds AS text[]), CAST(:branches AS bigint[]), CAST(:keys AS integer[]))"
        "   AS k(kind, branch_id, key) ON k.branch_id = o.branch_booked"
        "   AND k.kind = CASE WHEN o.disposition = 'applied' THEN 'bank_debit' ELSE 'suspense' END"
        " WHERE o.outcome = 'success' AND (o.disposition = 'applied' OR o.disposition = ANY(CAST(:held AS text[])))"
        " GROUP BY k.key, o.currency"
        " UNION ALL"
        " SELECT k.key, CASE WHEN o.disposition = 'applied' THEN 'premium_receivable' ELSE 'suspense' END,"
        "  o.currency, -o.amount, o.agent_id, o.policy_id, o.customer_id, o.receivable_id"
        " FROM bank_out o JOIN unnest(CAST(:kinds AS text[]), CAST(:branches AS bigint[]), CAST(:keys AS integer[]))"
        "   AS k(kind, branch_id, key) ON k.branch_id = o.branch_booked"
        "   AND k.kind = CASE WHEN o.disposition = 'applied' THEN 'bank_debit' ELSE 'suspense' END"
        " WHERE o.outcome = 'success' AND (o.disposition = 'applied' OR o.disposition = ANY(CAST(:held AS text[])))"),
        {"kinds": [g.kind for g in groups], "branches": [g.branch_booked for g in groups],
         "keys": list(range(1, len(groups) + 1)), "held": sorted(EXCEPTIONS)})
    posted = await journal.post_staged(session, staged, actor=actor)
    await session.execute(text(
        "INSERT INTO bank_booked SELECT :kind, * FROM unnest(CAST(:branches AS bigint[]), CAST(:entries AS bigint[]))"),
        {"kind": kind, "branches": [g.branch_booked for g in groups],
         "entries": [posted[key] for key in range(1, len(groups) + 1)]})


# Performance learns of each premium received and each failed debit (the agent follows it up).
_EVENTS = text(
    "INSERT INTO ledger.outbox_event (event_type, aggregate_type, aggregate_id, payload, request_id)"
    " SELECT CASE WHEN o.disposition = 'applied' THEN 'premium.received' ELSE 'debit.failed' END, 'receivable',"
    "  CAST(o.receivable_id AS text), jsonb_strip_nulls(jsonb_build_object("
    "   'receivable_id', o.receivable_id, 'policy_id', o.policy_id, 'agent_id', o.agent_id,"
    "   'institution_id', o.institution_id, 'branch_id', o.branch_id, 'amount', CAST(o.amount AS text),"
    "   'currency', o.currency, 'via', 'bank_debit', 'reference', o.bank_reference, 'entry_id', k.entry_id,"
    "   'reason_code', o.reason_code, 'received_on', CAST(o.value_date AS text))), :request_id"
    " FROM bank_out o LEFT JOIN bank_booked k ON k.kind = 'bank_debit' AND k.branch_id = o.branch_booked"
    "   AND o.disposition = 'applied'"
    " WHERE o.disposition IN ('applied', 'failed') ORDER BY o.line_no")


async def _write_effects(session: AsyncSession) -> None:
    # The first new answer to a pending instruction settles it (bank_rules.classify).
    await session.execute(text(
        "UPDATE ledger.debit_instruction i SET status = o.s1, reason_code = o.reason_code,"
        "  bank_reference = o.bank_reference, result_at = now(), entry_id = k.entry_id"
        " FROM bank_out o LEFT JOIN bank_booked k ON k.kind = 'bank_debit' AND k.branch_id = o.branch_booked"
        "   AND o.disposition = 'applied'"
        " WHERE i.id = o.instruction_id AND o.k = 1 AND NOT o.seen AND NOT o.unknown AND o.s0 = 'pending'"))
    try:
        async with session.begin_nested():
            await session.execute(_SETTLE)
    except IntegrityError:
        # A premium was paid some other way (a cashier, finance) while these lines were judged: the
        # receivable's own check refused to be overpaid. Nothing is applied; sent again, the lines are
        # judged on what is now true.
        raise Conflict("a premium these results pay was paid meanwhile by other means; send them again",
                       code="concurrent_payment") from None
    await session.execute(_EVENTS, {"request_id": current_request_id()})


async def _record_exceptions(session: AsyncSession, bank_code: str) -> None:
    await session.execute(text(
        "INSERT INTO ledger.bank_exception (bank_code, branch_id, kind, instruction_id, result_id, amount, currency,"
        "  in_suspense, suspense_entry_id, detail)"
        " SELECT :bank, o.branch_booked, o.disposition, CASE WHEN o.unknown THEN NULL ELSE o.instruction_id END,"
        "  o.result_id, o.amount, o.currency, o.outcome = 'success', k.entry_id, d.detail"
        " FROM bank_out o LEFT JOIN bank_booked k ON k.kind = 'suspense' AND k.branch_id = o.branch_booked"
        "   AND o.outcome = 'success'"
        " JOIN unnest(CAST(:kinds AS text[]), CAST(:details AS text[])) AS d(kind, detail)"
        "   ON d.kind = o.disposition ORDER BY o.line_no"),
        {"bank": bank_code, "kinds": list(DETAILS), "details": list(DETAILS.values())})



DETAILS = {
    "unknown_instruction": "the bank reported a result for no instruction of ours",
    "amount_mismatch": "the amount or currency differs from the instruction",
    "conflicting_result": "the bank had already answered this instruction differently",
    "already_paid": "the premium had been paid (or ended) before the debit arrived",
}


async def _report(session: AsyncSession, *, by_line: bool) -> Applied:
    totals = (await session.execute(text(
        "SELECT count(*) AS results, count(*) FILTER (WHERE disposition = 'applied') AS applied,"
        "  count(*) FILTER (WHERE disposition = 'failed') AS failed,"
        "  count(*) FILTER (WHERE disposition = 'duplicate') AS duplicates,"
        "  count(*) FILTER (WHERE disposition = ANY(CAST(:held AS text[]))) AS exceptions,"
        "  coalesce(sum(amount) FILTER (WHERE disposition = 'applied'), 0) AS applied_amount,"
        "  coalesce(sum(amount) FILTER (WHERE disposition = ANY(CAST(:held AS text[])) AND outcome = 'success'), 0)"
        "    AS suspense_amount FROM bank_out"), {"held": sorted(EXCEPTIONS)})).one()
    dispositions = list((await session.execute(text("SELECT disposition FROM bank_out ORDER BY line_no"))).scalars()
                        ) if by_line else []
    report = {k: (str(v) if k.endswith("amount") else int(v)) for k, v in totals._mapping.items()}
    return Applied(report, dispositions)

