"""An agent's statement 佣金明细 of a run: the payable and every line, read as stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service.settlement import commission_detail
from svckit.errors import NotFound

PAYABLE = text(
    "SELECT r.id AS run_id, r.period, r.rules->>'version' AS version, p.currency, p.gross, p.net, p.held, p.carried,"
    "  p.status, p.payable_id, coalesce((r.rules->'body'->'rounding'->>'places')::int, 2) AS places"
    " FROM performance.settlement_run r JOIN performance.run_payable p ON p.run_id = r.id AND p.agent_id = :agent"
    " WHERE (CAST(:run AS text) IS NOT NULL AND r.id = CAST(:run AS text))"
    "    OR (CAST(:run AS text) IS NULL AND r.period = :period AND r.mode = 'final' AND r.status = 'completed')")
LINES = text(
    "SELECT line_no, kind, rule, currency, amount, base, arithmetic, product_code, policy_year, premium, facts, rate"
    " FROM performance.statement_line WHERE run_id = :run AND agent_id = :agent ORDER BY line_no")


def line(row: Any, places: int) -> dict[str, Any]:
    """A stored line as read: a commission line's base and arithmetic rendered from its typed columns."""
    base, arithmetic = row.base, row.arithmetic
    if base is None:
        amount = row.amount.quantize(Decimal(1).scaleb(-places))
        base, arithmetic = commission_detail(row.product_code, row.policy_year, row.premium, row.facts, row.rate,
                                             amount)
    return {"line_no": row.line_no, "kind": row.kind, "rule": row.rule, "currency": row.currency,
            "amount": row.amount, "base": base, "arithmetic": arithmetic}


async def statement(session: AsyncSession, agent_id: int, *, period: str | None, run_id: str | None
                    ) -> dict[str, Any]:
    head = (await session.execute(PAYABLE, {"agent": agent_id, "run": run_id, "period": period})).one_or_none()
    if head is None:
        what = f"run {run_id}" if run_id else f"the settlement of {period}"
        raise NotFound(f"agent {agent_id} has no statement in {what}", code="statement_not_found", field="agent_id")
    lines = (await session.execute(LINES, {"run": head.run_id, "agent": agent_id})).all()
    return {"run_id": head.run_id, "period": head.period, "agent_id": agent_id, "rule_set_version": head.version,
            "currency": head.currency, "gross": head.gross, "net": head.net, "held": head.held,
            "carried": head.carried, "status": head.status, "payable_id": head.payable_id,
            "lines": [line(r, head.places) for r in lines]}
