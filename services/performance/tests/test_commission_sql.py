"""The commission lines a run writes in SQL are the lines settlement.commission computes in Python:
same amounts (each rounding mode), same base, same arithmetic, same numbering, same sums."""

from __future__ import annotations

import copy
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from performance_service import inputs, rules, statements
from performance_service.defaults import DEFAULT_RULE_SET
from performance_service.settlement import Premium, commission
from svckit.db import async_url
from svckit.testing.plugin import StackDatabase

PERIOD = "2001-01"


@pytest.fixture
async def session(stack_db: StackDatabase) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(async_url(stack_db.dsn("performance")))
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            yield AsyncSession(bind=connection)
            await transaction.rollback()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("mode", ["half_up", "half_even", "down", "up"])
async def test_sql_lines_are_the_python_lines(session: AsyncSession, mode: str) -> None:
    body = copy.deepcopy(DEFAULT_RULE_SET)
    body["rounding"] = {"mode": mode, "places": 2}
    body["commission"]["rates"] = [
        {"product_code": "*", "year_from": 1, "year_to": 1, "rate": "0.35"},
        {"product_code": "*", "year_from": 2, "year_to": None, "rate": "0.045"},
        {"product_code": "B", "year_from": 1, "year_to": 2, "rate": "0.125"},
        {"product_code": "B", "year_from": 3, "year_to": None, "rate": "0.01"},
    ]
    rule_set = rules.parse(body)
    rng = random.Random(mode)
    facts = []
    for n in range(600):
        amount = Decimal(rng.choice([rng.randint(-5_000, 900_000), 1, 3, 5, 7, 15, 25])) / 100
        facts.append((n % 37 + 1, rng.choice(["A", "B", "b", "C-1", "Z"]), rng.randint(1, 4), amount))
    await session.execute(text(
        "INSERT INTO performance.fact (branch_id, agent_id, institution_id, period, occurred_on, kind, policy_id,"
        "  product_code, policy_year, currency, amount, policies, event_id)"
        " SELECT 1, a, 1, :period, DATE '2001-01-15', 'received_premium', NULL, p, y, 'CNY', m, 0, 0"
        " FROM unnest(CAST(:a AS bigint[]), CAST(:p AS text[]), CAST(:y AS int[]), CAST(:m AS numeric[]))"
        "   AS f(a, p, y, m)"), {"period": PERIOD, "a": [f[0] for f in facts], "p": [f[1] for f in facts],
                                 "y": [f[2] for f in facts], "m": [f[3] for f in facts]})
    upto = (await session.execute(text("SELECT max(id) FROM performance.fact"))).scalar_one()
    earned = await inputs.write_commission(session, rule_set, run_id="T-sql", period=PERIOD, upto=upto)
    rows = (await session.execute(text(
        "SELECT agent_id, line_no, kind, rule, currency, amount, base, arithmetic, product_code, policy_year,"
        "  premium, facts, rate FROM performance.statement_line WHERE run_id = 'T-sql' ORDER BY agent_id, line_no"
    ))).all()
    stored = [SimpleNamespace(agent_id=r.agent_id, **statements.line(r, 2)) for r in rows]

    grouped: dict[tuple[int, str, int], list[Decimal]] = {}
    for agent, product, year, amount in facts:
        grouped.setdefault((agent, product, year), []).append(amount)
    # As the fact table holds them: numeric(20, 4).
    premium = [Premium(a, p, y, sum(v, Decimal(0)).quantize(Decimal("0.0001")), len(v))
               for (a, p, y), v in grouped.items()]
    lines, expected = commission(rule_set, premium)
    assert [(x.agent_id, x.line_no, x.amount, x.arithmetic) for x in lines] == [
        (r.agent_id, r.line_no, r.amount, r.arithmetic) for r in stored]
    assert [x.base for x in lines] == [r.base for r in stored]
    assert earned == expected
