"""Policies and their events; the premiums they make due."""

from __future__ import annotations

from sqlalchemy import select

from ledger_service import access, policies
from ledger_service.api.deps import BackOfficeOnly, PageDep, ScopeDep, actor_of
from ledger_service.models import Policy, PolicyEvent
from ledger_service.schemas import (
    PolicyCreate,
    PolicyEnd,
    PolicyEventRead,
    PolicyRead,
    Reassignment,
    ReceivableRead,
    Renewal,
)
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1/policies", tags=["policies"])


async def _visible(session: SessionDep, scope: DataScope, policy_id: int) -> Policy:
    policy = await policies.get(session, policy_id)
    await access.require(session, scope, agent_id=policy.agent_id, institution_id=policy.institution_id,
                         what="policy", object_id=policy_id, field="policy_id")
    return policy


@router.post("", response_model=PolicyRead, status_code=201, dependencies=[BackOfficeOnly])
async def issue_policy(body: PolicyCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                       _: IdempotencyDep) -> Policy:
    """Register an issued policy 承保: its first premium falls due on the issue date."""
    booked = await policies.booking(session, body.agent_id, body.institution_id)
    await access.require(session, scope, agent_id=None, institution_id=booked.institution_id, what="institution",
                         object_id=booked.institution_id, field="institution_id")
    return await policies.issue(session, actor_of(caller), booked,
                                **body.model_dump(exclude={"policyholder", "agent_id", "institution_id"}),
                                policyholder=body.policyholder.model_dump())


@router.get("", response_model=Page[PolicyRead])
async def list_policies(session: SessionDep, scope: ScopeDep, page: PageDep, agent_id: int | None = None,
                        status: str | None = None) -> Page[PolicyRead]:
    """Policies the caller may see, newest first."""
    query = select(Policy).where(access.condition(scope, Policy.agent_id, Policy.institution_id))
    if agent_id is not None:
        query = query.where(Policy.agent_id == agent_id)
    if status is not None:
        query = query.where(Policy.status == status)
    rows = (await session.execute(keyset(query, [Policy.id.expression], page, descending=True))).scalars().all()
    items, cursor = page_of(rows, page, lambda p: [p.id])
    return Page(items=[PolicyRead.model_validate(p) for p in items], next_cursor=cursor)


@router.get("/{policy_id}", response_model=PolicyRead)
async def read_policy(policy_id: int, session: SessionDep, scope: ScopeDep) -> Policy:
    """One policy."""
    return await _visible(session, scope, policy_id)


@router.get("/{policy_id}/events", response_model=list[PolicyEventRead])
async def policy_events(policy_id: int, session: SessionDep, scope: ScopeDep) -> list[PolicyEvent]:
    """What happened to the policy, in order."""
    await _visible(session, scope, policy_id)
    return list((await session.execute(select(PolicyEvent).where(PolicyEvent.policy_id == policy_id)
                                       .order_by(PolicyEvent.id))).scalars())


@router.post("/{policy_id}/renewals", response_model=ReceivableRead, status_code=201, dependencies=[BackOfficeOnly])
async def renew_policy(policy_id: int, body: Renewal, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                       _: IdempotencyDep) -> object:
    """The next premium falls due 续期 (renewal or next installment)."""
    await _visible(session, scope, policy_id)
    return await policies.renew(session, actor_of(caller), policy_id, due_on=body.due_on, premium=body.premium)


@router.post("/{policy_id}/end", response_model=PolicyRead, dependencies=[BackOfficeOnly])
async def end_policy(policy_id: int, body: PolicyEnd, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                     _: IdempotencyDep) -> Policy:
    """Lapse, surrender 退保 or cancel: open premiums written off; commission clawed back within the window."""
    await _visible(session, scope, policy_id)
    return await policies.end(session, actor_of(caller), policy_id, how=body.how, effective_on=body.effective_on,
                              reason=body.reason)


@router.post("/{policy_id}/reassignment", response_model=PolicyRead, dependencies=[BackOfficeOnly])
async def reassign_policy(policy_id: int, body: Reassignment, session: SessionDep, caller: CallerDep,
                          scope: ScopeDep, _: IdempotencyDep) -> Policy:
    """Another agent services the policy; what is owed moves with it."""
    await _visible(session, scope, policy_id)
    target = await access.active_agent(session, body.agent_id)
    await access.require(session, scope, agent_id=body.agent_id, institution_id=target.institution_id,
                         what="agent", object_id=body.agent_id, field="agent_id")
    return await policies.reassign(session, actor_of(caller), policy_id, agent_id=body.agent_id,
                                   effective_on=body.effective_on, reason=body.reason)
