"""Disputes 申诉 of a statement line: raised by the agent, reviewed by a supervisor, decided by finance;
an accepted one is paid as an adjustment line of the next final run (never by editing a closed one)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service.models import Dispute, SettlementRun, StatementLine
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.timeutil import utcnow


async def raise_dispute(session: AsyncSession, *, run_id: str, agent_id: int, line_no: int, reason: str,
                        institution_id: int, actor: str) -> Dispute:
    line = await session.get(StatementLine, (run_id, agent_id, line_no))
    if line is None:
        raise NotFound(f"run {run_id} has no line {line_no} for agent {agent_id}", code="line_not_found",
                       field="line_no")
    run = await session.get(SettlementRun, run_id)
    if run is None or run.mode != "final":
        raise Unprocessable("only the lines of a final run can be disputed", code="not_a_final_run", field="run_id")
    open_one = (await session.execute(select(Dispute.id).where(
        Dispute.run_id == run_id, Dispute.agent_id == agent_id, Dispute.line_no == line_no,
        Dispute.status.in_(["open", "supervisor_reviewed"])))).scalar()
    if open_one is not None:
        raise Conflict(f"dispute {open_one} of this line is under review", code="dispute_open", field="line_no")
    dispute = Dispute(run_id=run_id, agent_id=agent_id, line_no=line_no, reason=reason, institution_id=institution_id,
                      raised_by=actor, currency=line.currency)
    session.add(dispute)
    await session.flush()
    await session.refresh(dispute)
    return dispute


async def get(session: AsyncSession, dispute_id: int, *, lock: bool = False) -> Dispute:
    found = await session.get(Dispute, dispute_id, with_for_update=lock)
    if found is None:
        raise NotFound(f"dispute {dispute_id} does not exist", code="dispute_not_found", field="dispute_id")
    return found


async def supervisor_review(session: AsyncSession, dispute: Dispute, *, endorse: bool, note: str,
                            actor: str) -> Dispute:
    if dispute.status != "open":
        raise Conflict(f"dispute {dispute.id} is {dispute.status}", code="dispute_not_open", field="dispute_id")
    prefix = "endorsed" if endorse else "not endorsed"
    dispute.status, dispute.supervisor_note = "supervisor_reviewed", f"{prefix}: {note}"
    dispute.supervisor_by, dispute.supervisor_at = actor, utcnow()
    await session.flush()
    return dispute


async def finance_decision(session: AsyncSession, dispute: Dispute, *, accept: bool, adjustment: Decimal | None,
                           note: str, actor: str) -> Dispute:
    if dispute.status != "supervisor_reviewed":
        raise Conflict(f"dispute {dispute.id} is {dispute.status}; a supervisor reviews it first",
                       code="dispute_not_reviewed", field="dispute_id")
    if accept and (adjustment is None or adjustment == 0):
        raise Unprocessable("an accepted dispute names its adjustment", code="adjustment_required",
                            field="adjustment")
    if adjustment is not None and adjustment != adjustment.quantize(Decimal("0.01")):
        raise Unprocessable("an adjustment is exact to the cent", code="amount_too_precise", field="adjustment")
    dispute.status = "accepted" if accept else "rejected"
    dispute.adjustment = adjustment if accept else None
    dispute.finance_note, dispute.finance_by, dispute.finance_at = note, actor, utcnow()
    await session.flush()
    return dispute
