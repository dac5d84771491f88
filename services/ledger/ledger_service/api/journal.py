"""The journal: post and reverse entries, read them, balances at any moment, the trial balance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from ledger_service import access, journal, policies
from ledger_service.api.deps import BookKeepers, FinanceOnly, ScopeDep, actor_of
from ledger_service.models import Customer, JournalEntry, JournalPosting, Policy
from ledger_service.postings import Line
from ledger_service.schemas import BalanceRead, EntryCreate, EntryRead, PostingRead, Reversal, TrialBalanceRead
from svckit.errors import Forbidden, NotFound
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope
from svckit.timeutil import UtcDatetime

router = service_router(prefix="/v1/journal", tags=["journal"])


def _read(entry: JournalEntry, postings: list[JournalPosting]) -> EntryRead:
    return EntryRead(
        id=entry.id, branch_id=entry.branch_id, kind=entry.kind, description=entry.description,
        effective_on=entry.effective_on, posted_at=entry.posted_at, source=entry.source, reverses_id=entry.reverses_id,
        actor=entry.actor, postings=[PostingRead(
            line_no=p.line_no, account=p.account, side="debit" if p.amount > 0 else "credit", amount=abs(p.amount),
            currency=p.currency, agent_id=p.agent_id, policy_id=p.policy_id, customer_id=p.customer_id,
            receivable_id=p.receivable_id) for p in postings])


async def _branch_in_scope(session: SessionDep, scope: DataScope, branch_id: int) -> None:
    await access.require(session, scope, agent_id=None, institution_id=branch_id, what="branch", object_id=branch_id,
                         field="branch_id")


@router.post("/entries", response_model=EntryRead, status_code=201, dependencies=[FinanceOnly])
async def post_entry(body: EntryCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                     _: IdempotencyDep) -> EntryRead:
    """Post a balanced manual entry 手工凭证 to a branch's books (debits equal credits per currency)."""
    await _branch_in_scope(session, scope, body.branch_id)
    lines = [Line(p.account, p.side, p.amount, p.currency, p.agent_id, p.policy_id, p.customer_id)
             for p in body.postings]
    actor = actor_of(caller)
    posted = await journal.post(session, branch_id=body.branch_id, kind="manual", description=body.description,
                                effective_on=body.effective_on, lines=lines, actor=actor)
    assert posted is not None  # a manual entry has no source, so it always posts
    # Answered from what was written, as the database holds it (amounts at the column's scale),
    # rather than read back.
    return EntryRead(
        id=posted.entry_id, branch_id=posted.branch_id, kind="manual", description=body.description,
        effective_on=body.effective_on, posted_at=posted.posted_at, source=None, reverses_id=None, actor=actor,
        postings=[PostingRead(line_no=n, account=x.account, side=x.side, amount=journal.stored(x.amount),
                              currency=x.currency, agent_id=x.agent_id, policy_id=x.policy_id,
                              customer_id=x.customer_id, receivable_id=x.receivable_id)
                  for n, x in enumerate(lines, start=1)])


@router.get("/entries/{entry_id}", response_model=EntryRead)
async def read_entry(entry_id: int, session: SessionDep, scope: ScopeDep) -> EntryRead:
    """One entry with its postings."""
    found, postings = await journal.entry(session, entry_id)
    await access.require(session, scope, agent_id=None, institution_id=found.branch_id, what="entry",
                         object_id=entry_id, field="entry_id")
    return _read(found, postings)


@router.post("/entries/{entry_id}/reversal", response_model=EntryRead, status_code=201, dependencies=[FinanceOnly])
async def reverse_entry(entry_id: int, body: Reversal, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                        _: IdempotencyDep) -> EntryRead:
    """Correct an entry by posting its mirror image (the original is never changed); once only."""
    await read_entry(entry_id, session, scope)
    posted = await journal.reverse(session, entry_id, effective_on=body.effective_on, reason=body.reason,
                                   actor=actor_of(caller))
    return _read(*await journal.entry(session, posted.entry_id))


@router.get("/balances", response_model=list[BalanceRead])
async def balances(
    session: SessionDep, scope: ScopeDep,
    at: Annotated[UtcDatetime | None, Query(description="Balances as of this moment (UTC); now by default")] = None,
    on: Annotated[date | None, Query(description="Only entries of this business date or before")] = None,
    account: Annotated[str | None, Query(max_length=50)] = None,
    agent_id: int | None = None, policy_id: int | None = None, customer_id: int | None = None,
    branch_id: int | None = None,
) -> list[BalanceRead]:
    """Debits, credits and net per account and currency, up to a moment, for an agent, a policy, a
    customer or a branch (whichever the caller may see)."""
    await _balance_scope(session, scope, agent_id=agent_id, policy_id=policy_id, customer_id=customer_id,
                         branch_id=branch_id)
    rows = await journal.balances(session, at=at, account=account, agent_id=agent_id, policy_id=policy_id,
                                  customer_id=customer_id, branch_ids=[branch_id] if branch_id is not None else None,
                                  on=on)
    return [BalanceRead(account=r.account, currency=r.currency, debits=r.debits, credits=r.credits, net_debit=r.net)
            for r in rows]


async def _balance_scope(session: SessionDep, scope: DataScope, *, agent_id: int | None, policy_id: int | None,
                         customer_id: int | None, branch_id: int | None) -> None:
    if agent_id is not None:
        row = await access.active_agent_or_none(session, agent_id)
        await access.require(session, scope, agent_id=agent_id, institution_id=row.institution_id if row else None,
                             what="agent", object_id=agent_id, field="agent_id")
    if policy_id is not None:
        policy = await policies.get(session, policy_id)
        await access.require(session, scope, agent_id=policy.agent_id, institution_id=policy.institution_id,
                             what="policy", object_id=policy_id, field="policy_id")
    if customer_id is not None:
        await require_customer(session, scope, customer_id)
    if branch_id is not None:
        await _branch_in_scope(session, scope, branch_id)
    if not scope.everything and agent_id is None and policy_id is None and customer_id is None and branch_id is None:
        raise Forbidden("name an agent, a policy, a customer or a branch", code="scope_too_narrow", field="branch_id")


async def require_customer(session: SessionDep, scope: DataScope, customer_id: int) -> None:
    """A customer is visible to whoever may see one of their policies."""
    if await session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} does not exist", code="customer_not_found", field="customer_id")
    visible = (await session.execute(select(Policy.id).where(
        Policy.customer_id == customer_id, access.condition(scope, Policy.agent_id, Policy.institution_id))
        .limit(1))).scalar()
    if visible is None:
        raise NotFound(f"customer {customer_id} does not exist", code="customer_not_found", field="customer_id")


@router.get("/trial-balance", response_model=TrialBalanceRead, dependencies=[BookKeepers])
async def trial_balance(
    session: SessionDep, scope: ScopeDep,
    at: Annotated[UtcDatetime | None, Query(description="As of this moment (UTC); now by default")] = None,
    on: Annotated[date | None, Query(description="Only entries of this business date or before")] = None,
    branch_id: int | None = None,
) -> TrialBalanceRead:
    """Every account's debits and credits; per currency the totals are equal, always."""
    if branch_id is not None:
        await _branch_in_scope(session, scope, branch_id)
    elif not scope.everything:
        raise Forbidden("the whole company's trial balance is for administrators; name a branch",
                        code="scope_too_narrow", field="branch_id")
    rows = await journal.balances(session, at=at, branch_ids=[branch_id] if branch_id is not None else None, on=on)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"debits": Decimal(0), "credits": Decimal(0)})
    for r in rows:
        totals[r.currency]["debits"] += r.debits
        totals[r.currency]["credits"] += r.credits
    return TrialBalanceRead(
        at=at, on=on, accounts=[BalanceRead(account=r.account, currency=r.currency, debits=r.debits, credits=r.credits,
                                     net_debit=r.net) for r in rows],
        totals=dict(totals), balanced=all(t["debits"] == t["credits"] for t in totals.values()))



