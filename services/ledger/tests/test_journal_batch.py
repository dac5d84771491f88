"""`journal.post_many`: many entries in a few statements, under exactly the rules of `journal.post`
(every entry checked and a refusal named, a source posted once, guarded accounts never overdrawn,
concurrently too), and settlement payables posted through it."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ledger_service import journal
from ledger_service.journal import NewEntry
from ledger_service.postings import Line
from svckit.errors import Conflict, Unprocessable
from svckit.testing.responses import ok, problem

from .conftest import Stack, company, hire

ON = date(2026, 11, 30)


def ids() -> int:
    return secrets.randbelow(10**12) + 10**9


def transfer(branch: int, amount: str, *, debit: str = "bank", credit: str = "premium_income",
             source: str | None = None, agent: int | None = None) -> NewEntry:
    value = Decimal(amount)
    return NewEntry(branch, "test", f"{debit} from {credit}", ON, [
        Line(debit, "debit", value, "CNY", agent_id=agent), Line(credit, "credit", value, "CNY", agent_id=agent)],
        source=source)


def commission(branch: int, agent: int, amount: str, **kw: Any) -> NewEntry:
    """Credits the agent's guarded commission payable."""
    return transfer(branch, amount, debit="commission_expense", credit="commission_payable", agent=agent, **kw)


def payment(branch: int, agent: int, amount: str, **kw: Any) -> NewEntry:
    """Debits the agent's guarded commission payable."""
    return transfer(branch, amount, debit="commission_payable", credit="bank", agent=agent, **kw)


@pytest.fixture
async def session(stack: Stack) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(stack.ledger_engine, expire_on_commit=False) as s:
        yield s


async def postings(engine: AsyncEngine, entry_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT e.id, e.branch_id, e.kind, e.description, e.source, e.actor, p.line_no, p.account, p.amount,"
            " p.agent_id FROM ledger.journal_entry e JOIN ledger.journal_posting p"
            " ON p.branch_id = e.branch_id AND p.entry_id = e.id WHERE e.id = ANY(:ids) ORDER BY e.id, p.line_no"),
            {"ids": list(entry_ids)})
        return [tuple(r) for r in rows]


async def payable(engine: AsyncEngine, agent: int) -> Decimal | None:
    async with engine.connect() as conn:
        value = (await conn.execute(text(
            "SELECT balance FROM ledger.guarded_balance WHERE account = 'commission_payable' AND subledger_id = :a"),
            {"a": agent})).scalar()
        return None if value is None else Decimal(value)


async def test_many_balanced_entries_post_in_input_order(stack: Stack, session: AsyncSession) -> None:
    branch, agent = ids(), ids()
    entries = [transfer(branch, f"{n + 1}.25") if n % 3 else commission(branch, agent, f"{n + 1}.50")
               for n in range(50)]
    posted = await journal.post_many(session, entries, actor="tester")
    await session.commit()
    assert all(p is not None and p.branch_id == branch for p in posted)
    entry_ids = [p.entry_id for p in posted if p is not None]
    assert len(set(entry_ids)) == 50
    rows = await postings(stack.ledger_engine, entry_ids)
    by_entry: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_entry.setdefault(row[0], []).append(row)
    for n, (entry, p) in enumerate(zip(entries, posted, strict=True)):
        assert p is not None
        lines = by_entry[p.entry_id]
        assert [(r[6], r[7], r[8]) for r in lines] == [
            (k, x.account, x.signed) for k, x in enumerate(entry.lines, start=1)], n
        assert lines[0][5] == "tester"
    assert await payable(stack.ledger_engine, agent) == sum(Decimal(f"{n + 1}.50") for n in range(0, 50, 3))
    assert ok(await stack.ledger.get("/v1/journal/trial-balance", params={"branch_id": branch}))["balanced"] is True


async def test_a_refused_entry_is_named_and_nothing_of_the_batch_is_written(stack: Stack,
                                                                           session: AsyncSession) -> None:
    branch = ids()
    good = [transfer(branch, "10.00", source=f"s-{branch}-{n}") for n in range(4)]
    bad = NewEntry(branch, "test", "unbalanced", ON, [Line("bank", "debit", Decimal("10.00"), "CNY"),
                                                     Line("premium_income", "credit", Decimal("9.99"), "CNY")])
    with pytest.raises(Unprocessable) as refused:
        await journal.post_many(session, [*good[:3], bad, good[3]], actor="tester")
    assert (refused.value.code, refused.value.extra["field"]) == ("entry_unbalanced", "entries[3].postings")
    too_precise = NewEntry(branch, "test", "x", ON, [Line("bank", "debit", Decimal("1.001"), "CNY"),
                                                    Line("premium_income", "credit", Decimal("1.001"), "CNY")])
    with pytest.raises(Unprocessable) as refused:
        await journal.post_many(session, [good[0], too_precise], actor="tester")
    assert (refused.value.code, refused.value.extra["field"]) == ("amount_too_precise", "entries[1].postings[0].amount")
    # post names the line as before, without the entry.
    with pytest.raises(Unprocessable) as refused:
        await journal.post(session, branch_id=branch, kind="x", description="x", effective_on=ON,
                           lines=too_precise.lines, actor="tester")
    assert refused.value.extra["field"] == "postings[0].amount"
    await session.commit()
    async with stack.ledger_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM ledger.journal_entry WHERE branch_id = :b"),
                                   {"b": branch})).scalar() == 0


async def test_a_source_takes_effect_once_within_a_batch_and_across_batches(stack: Stack,
                                                                          session: AsyncSession) -> None:
    branch = ids()
    once = await journal.post(session, branch_id=branch, kind="test", description="first", effective_on=ON,
                              lines=transfer(branch, "5.00").lines, actor="tester", source="bank_result:1")
    assert once is not None
    batch = [transfer(branch, "1.00", source="bank_result:1"), transfer(branch, "2.00", source="bank_result:2"),
             transfer(branch, "3.00"), transfer(branch, "4.00", source="bank_result:2"),
             transfer(ids(), "6.00", source="bank_result:2")]  # the same source in another branch's books
    posted = await journal.post_many(session, batch, actor="tester")
    assert [p is not None for p in posted] == [False, True, True, False, True]
    again = await journal.post_many(session, batch, actor="tester")
    assert [p is not None for p in again] == [False, False, True, False, False]
    await session.commit()
    async with stack.ledger_engine.connect() as conn:
        sources = (await conn.execute(text(
            "SELECT source, count(*) FROM ledger.journal_entry WHERE branch_id = :b GROUP BY source"),
            {"b": branch})).all()
    assert sorted(sources, key=str) == sorted([("bank_result:1", 1), ("bank_result:2", 1), (None, 2)], key=str)


async def test_guarded_balances_move_entry_by_entry_as_post_would(stack: Stack, session: AsyncSession) -> None:
    branch, agent = ids(), ids()
    await journal.post_many(session, [commission(branch, agent, "50.00")], actor="tester")
    # 50 - 100 overdraws at the first entry even though the batch as a whole ends at 150.
    with pytest.raises(Conflict) as refused:
        await journal.post_many(session, [transfer(branch, "1.00"), payment(branch, agent, "100.00"),
                                          commission(branch, agent, "200.00")], actor="tester")
    assert (refused.value.code, refused.value.extra["field"]) == ("account_overdrawn", "entries[1].postings")
    # Nothing of the refused batch is left, and the transaction goes on.
    assert (await session.execute(text("SELECT count(*) FROM ledger.journal_entry WHERE branch_id = :b"),
                                  {"b": branch})).scalar() == 1
    posted = await journal.post_many(session, [commission(branch, agent, "200.00"), payment(branch, agent, "100.00"),
                                               payment(branch, agent, "150.00")], actor="tester")
    assert all(posted)
    await session.commit()
    assert await payable(stack.ledger_engine, agent) == Decimal(0)
    with pytest.raises(Conflict) as refused:
        await journal.post(session, branch_id=branch, kind="x", description="x", effective_on=ON,
                           lines=payment(branch, agent, "0.01").lines, actor="tester")
    assert refused.value.extra["field"] == "postings"
    # A sub-ledger never seen cannot be paid from either.
    with pytest.raises(Conflict):
        await journal.post_many(session, [payment(branch, ids(), "1.00")], actor="tester")


async def test_concurrent_batches_and_single_posts_never_overdraw(stack: Stack) -> None:
    branch, agents = ids(), [ids() for _ in range(3)]
    async with AsyncSession(stack.ledger_engine) as s:
        await journal.post_many(s, [commission(branch, a, "1000.00") for a in agents], actor="tester")
        await s.commit()
    rng = random.Random(4)

    async def pay(n: int) -> tuple[int, int]:
        """(payments made, payments refused)"""
        chosen = [rng.choice(agents) for _ in range(1 if n % 3 == 0 else rng.randint(1, 4))]
        async with AsyncSession(stack.ledger_engine) as s:
            try:
                if n % 3 == 0:
                    await journal.post(s, branch_id=branch, kind="x", description="x", effective_on=ON,
                                       lines=payment(branch, chosen[0], "70.00").lines, actor="tester")
                else:
                    await journal.post_many(s, [payment(branch, a, "70.00") for a in chosen], actor="tester")
            except Conflict:
                return 0, len(chosen)
            await s.commit()
            return len(chosen), 0

    outcomes = await asyncio.gather(*(pay(n) for n in range(60)))
    async with stack.ledger_engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT g.subledger_id, g.balance, (SELECT -sum(p.amount) FROM ledger.journal_posting p"
            "  WHERE p.account = 'commission_payable' AND p.agent_id = g.subledger_id) AS journal"
            " FROM ledger.guarded_balance g WHERE g.account = 'commission_payable' AND g.subledger_id = ANY(:a)"),
            {"a": agents})).all()
    assert len(rows) == 3
    for _, balance, in_journal in rows:
        assert balance == in_journal
        assert balance >= 0
        assert (1000 - balance) % 70 == 0
    assert sum(made for made, _ in outcomes) * 70 == 3000 - sum(balance for _, balance, _ in rows)
    assert sum(refused for _, refused in outcomes) > 0  # they did run into the guard


def random_entries(rng: random.Random, branch: int, agents: list[int], most_paid: int) -> list[NewEntry]:
    """Every agent earns 300, then 40 entries: commissions, payments of up to `most_paid`, plain
    transfers, some with a source drawn from a few (so some repeat)."""
    made = [commission(branch, a, "300.00") for a in agents]
    for _ in range(40):
        agent = agents[rng.randrange(len(agents))]
        source = f"src-{rng.randrange(12)}" if rng.random() < 0.4 else None
        kind = rng.random()
        if kind < 0.3:
            made.append(commission(branch, agent, f"{rng.randint(1, 300)}.00", source=source))
        elif kind < 0.7:
            made.append(payment(branch, agent, f"{rng.randint(1, most_paid)}.00", source=source))
        else:
            made.append(transfer(branch, f"{rng.randint(1, 900)}.00", source=source))
    return made


async def test_post_many_does_what_post_does_one_entry_after_another(stack: Stack) -> None:
    """The same random entries posted once with `post` one by one and once with `post_many`, on two
    separate sets of books: odd seeds pay less than is earned, even seeds run an agent dry."""
    for seed in range(8):
        branch_a, agents_a = ids(), [ids() for _ in range(3)]
        branch_b, agents_b = ids(), [ids() for _ in range(3)]
        most_paid = 100 if seed % 2 else 400
        one_by_one, refused_at = [], None
        async with AsyncSession(stack.ledger_engine) as s:
            for n, e in enumerate(random_entries(random.Random(seed), branch_a, agents_a, most_paid)):
                try:
                    one_by_one.append(await journal.post(s, branch_id=e.branch_id, kind=e.kind,
                                                         description=e.description, effective_on=e.effective_on,
                                                         lines=e.lines, actor="tester", source=e.source))
                except Conflict:
                    refused_at = n
                    break
            await s.commit()
        batch = random_entries(random.Random(seed), branch_b, agents_b, most_paid)
        async with AsyncSession(stack.ledger_engine) as s:
            if refused_at is None:
                together = await journal.post_many(s, batch, actor="tester")
            else:
                with pytest.raises(Conflict) as refusal:
                    await journal.post_many(s, batch, actor="tester")
                assert refusal.value.extra["field"] == f"entries[{refused_at}].postings", seed
                together = await journal.post_many(s, batch[:refused_at], actor="tester")
            await s.commit()
        assert [p is None for p in together] == [p is None for p in one_by_one], seed
        a = await postings(stack.ledger_engine, [p.entry_id for p in one_by_one if p])
        b = await postings(stack.ledger_engine, [p.entry_id for p in together if p])
        agent_b = dict(zip(agents_a, agents_b, strict=True))
        assert [(r[2], r[4], r[6], r[7], r[8], agent_b.get(r[9])) for r in a] == [
            (r[2], r[4], r[6], r[7], r[8], r[9]) for r in b], seed
        for x, y in zip(agents_a, agents_b, strict=True):
            assert await payable(stack.ledger_engine, x) == await payable(stack.ledger_engine, y), seed


async def test_a_settlement_run_posts_new_lines_and_answers_old_ones(stack: Stack) -> None:
    c = await company(stack.org)
    people = [await hire(stack.org, c, "agent") for _ in range(3)]
    await stack.sync()
    run, policies = f"run-{secrets.token_hex(3)}", [ids(), ids()]  # no real policy: no clawback elsewhere sees them
    first = ok(await stack.ledger.post(f"/v1/payables/settlements/{run}", json={
        "period": "2026-11", "effective_on": "2026-11-30", "lines": [
            {"agent_id": people[0], "amount": "100.00"}, {"agent_id": people[1], "amount": "200.00"}]}))
    mixed = ok(await stack.ledger.post(f"/v1/payables/settlements/{run}", json={
        "period": "2026-11", "effective_on": "2026-11-30", "lines": [
            {"agent_id": people[2], "amount": "300.00", "policies": [{"policy_id": policies[0], "amount": "100.00"},
                                                                    {"policy_id": policies[1], "amount": "200.00"}]},
            {"agent_id": people[1], "amount": "200.00"}]}))
    assert [(r["agent_id"], r["status"]) for r in mixed] == [(people[2], "posted"), (people[1], "already_posted")]
    assert mixed[1]["payable_id"] == first[1]["payable_id"]
    entry = ok(await stack.ledger.get(f"/v1/journal/entries/{mixed[0]['entry_id']}"))
    assert [(x["account"], x["side"], x["amount"], x["policy_id"]) for x in entry["postings"]] == [
        ("commission_expense", "debit", "100.0000", policies[0]),
        ("commission_expense", "debit", "200.0000", policies[1]),
        ("commission_payable", "credit", "300.0000", None)]
    assert entry["source"] == f"payable:{run}:{people[2]}"
    repeated = problem(await stack.ledger.post(f"/v1/payables/settlements/{run}-2", json={
        "period": "2026-11", "effective_on": "2026-11-30", "lines": [
            {"agent_id": people[0], "amount": "1.00"}, {"agent_id": people[0], "amount": "1.00"}]}),
        422, "agent_repeated")
    assert repeated["field"] == "lines[1].agent_id"
    unknown = problem(await stack.ledger.post(f"/v1/payables/settlements/{run}", json={
        "period": "2026-11", "effective_on": "2026-11-30", "lines": [
            {"agent_id": people[0], "amount": "100.00"}, {"agent_id": ids(), "amount": "1.00"}]}),
        422, "agent_not_found")
    assert unknown["field"] == "lines[1].agent_id"


async def test_concurrent_retries_of_a_run_post_each_payable_once(stack: Stack) -> None:
    c = await company(stack.org)
    people = [await hire(stack.org, c, "agent") for _ in range(4)]
    await stack.sync()
    body = {"period": "2026-11", "effective_on": "2026-11-30",
            "lines": [{"agent_id": a, "amount": f"{10 * (n + 1)}.00"} for n, a in enumerate(people)]}
    answers = await asyncio.gather(*(stack.ledger.post("/v1/payables/settlements/run-race", json=body)
                                     for _ in range(4)))
    results = [ok(a) for a in answers]
    assert sorted(r["status"] for rs in results for r in rs).count("posted") == 4
    assert len({(r["agent_id"], r["payable_id"], r["entry_id"]) for rs in results for r in rs}) == 4



async def test_the_database_refuses_a_posting_without_its_entry_or_account(stack: Stack) -> None:
    """What the per-row foreign keys refused, the set-based `refer` trigger refuses."""
    branch = ids()
    entry = ("WITH e AS (INSERT INTO ledger.journal_entry (branch_id, kind, description, effective_on, actor)"
             " VALUES (:b, 'manual', 'x', '2026-11-30', 'test') RETURNING branch_id, id)"
             " INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount)"
             " SELECT e.branch_id, e.id, v.n, v.account, 'CNY', v.amount FROM e,"
             " (VALUES (1, 'bank', 5.00), (2, CAST(:credit AS text), -5.00)) AS v(n, account, amount)")
    orphans = ("INSERT INTO ledger.journal_posting (branch_id, entry_id, line_no, account, currency, amount)"
               " VALUES (:b, 1, 1, 'bank', 'CNY', 5.00), (:b, 1, 2, 'premium_income', 'CNY', -5.00)")
    for statement, refusal in ((entry, "not in the chart"), (orphans, "does not exist")):
        async with stack.ledger_engine.connect() as conn:
            with pytest.raises(DBAPIError, match=refusal):
                await conn.execute(text(statement), {"b": branch, "credit": "no_such_account"})
    async with stack.ledger_engine.connect() as conn:
        await conn.execute(text(entry), {"b": branch, "credit": "premium_income"})
        await conn.commit()
        with pytest.raises(DBAPIError, match="has postings"):
            await conn.execute(text("DELETE FROM ledger.account WHERE code = 'premium_income'"))
        await conn.rollback()
        with pytest.raises(DBAPIError, match="has postings"):
            await conn.execute(text("UPDATE ledger.account SET code = 'income' WHERE code = 'premium_income'"))
