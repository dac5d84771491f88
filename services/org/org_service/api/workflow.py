"""Team changes: submit, decide along the approval chain, cancel, read; and the team standards in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query

from org_service import access, workflow, workflow_rules
from org_service.api.deps import ScopeDep, actor_of, as_of
from org_service.models import Institution, TeamChangeRequest
from org_service.workflow_schemas import (
    DecisionRead,
    TeamChangeCreate,
    TeamChangeDecide,
    TeamChangeRead,
    TeamChangeStatus,
    TeamChangeSummary,
    TeamStandardRead,
)
from svckit.errors import NotFound, Unprocessable
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import Caller, CallerDep, require_roles
from svckit.money import Money, MoneyModel
from svckit.pagination import Page, PageParams, page_params
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1", tags=["team changes"])
Applicants = require_roles(*workflow_rules.APPLICANT_ROLES)
Deciders = require_roles("admin", "marketing_management", "gm_office")
Readers = require_roles("admin", "marketing_management", "back_office", "gm_office", "finance", "compliance")
COMMON = {"kind", "institution_id", "effective_on", "reason", "annual_premium_plan"}


def _decider(caller: Caller) -> workflow.Decider:
    return workflow.Decider(actor_of(caller).name, caller.user_id, caller.roles, caller.institutions)


async def _visible(session: SessionDep, scope: DataScope, request_id: int) -> TeamChangeRequest:
    """The request, if its institution is within the caller's scope (else 404, as if it did not exist)."""
    r = await workflow.get_request(session, request_id)
    institution = await session.get(Institution, r.institution_id)
    if institution is None or not scope.allows(agent_id=None, institution_path=institution.path):
        raise NotFound(f"team change request {request_id} does not exist", code="team_change_not_found")
    return r


def _money(model: MoneyModel) -> Money:
    try:
        return model.to_money()
    except ValueError as refused:
        raise Unprocessable(str(refused), code="unsupported_currency", field="annual_premium_plan.currency") from None


def _fields(r: TeamChangeRequest, current_step: str | None) -> dict[str, Any]:
    plan = None if r.annual_premium_plan is None else MoneyModel(amount=r.annual_premium_plan,
                                                                 currency=r.currency or "CNY")
    return {**{c: getattr(r, c) for c in ("id", "kind", "institution_id", "effective_on", "reason", "status", "payload",
                                          "standard", "requester", "submitted_at", "closed_at", "closed_by", "result")},
            "current_step": current_step, "annual_premium_plan": plan}


async def _read(session: SessionDep, r: TeamChangeRequest) -> TeamChangeRead:
    steps = await workflow.request_steps(session, r.id)
    decided = {d.position: d for d in await workflow.decisions(session, r.id)}
    return TeamChangeRead.model_validate({
        **_fields(r, next((s.step for s in steps if s.position == r.current_step), None)),
        "steps": [{"position": s.position, "step": s.step, "role": s.role,
                   "state": workflow_rules.step_state(s.position, r.current_step, getattr(decided.get(s.position),
                                                                                    "decision", None)),
                   "decision": DecisionRead.model_validate(decided[s.position]) if s.position in decided else None}
                  for s in steps],
    })


async def _in_scope(session: SessionDep, scope: DataScope, body: TeamChangeCreate) -> None:
    """What a request names must be visible to the caller; what is not is an unknown value (422). The teams
    are checked to belong to the institution, so the institution and a new supervisor are what remain."""
    refs = [("institution_id", body.institution_id, access.require_institution, "institution_not_found"),
            ("new_supervisor_id", getattr(body, "new_supervisor_id", None), access.require_agent,
             "supervisor_not_found")]
    for field, ref, require, code in refs:
        if ref is None:
            continue
        try:
            await require(session, scope, ref, field=field)
        except NotFound:
            raise Unprocessable(f"{field} {ref} does not exist", code=code, field=field) from None


@router.post("/team-changes", response_model=TeamChangeRead, status_code=201, dependencies=[Applicants])
async def submit(body: TeamChangeCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                 _: IdempotencyDep) -> TeamChangeRead:
    """Submit a team change; the submission is the institution's application, step 1 of the approval chain."""
    await _in_scope(session, scope, body)
    plan = getattr(body, "annual_premium_plan", None)
    r = await workflow.submit(
        session, _decider(caller), kind=body.kind, institution_id=body.institution_id, effective_on=body.effective_on,
        reason=body.reason, payload=body.model_dump(mode="json", exclude=COMMON),
        plan=None if plan is None else _money(plan))
    return await _read(session, r)


@router.get("/team-changes/{request_id}", response_model=TeamChangeRead, dependencies=[Readers])
async def read(request_id: int, session: SessionDep, scope: ScopeDep) -> TeamChangeRead:
    """A team change request with its approval steps and the decision taken at each."""
    return await _read(session, await _visible(session, scope, request_id))


@router.get("/team-changes", response_model=Page[TeamChangeSummary], dependencies=[Readers])
async def list_team_changes(
    session: SessionDep, scope: ScopeDep, page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[TeamChangeStatus | None, Query(description="Only requests in this status")] = None,
    institution_id: Annotated[int | None, Query(description="Only requests of this institution or below it")] = None,
) -> Page[TeamChangeSummary]:
    """Team change requests, newest first, one page at a time."""
    rows, cursor = await workflow.list_requests(session, page, status=status, institution_id=institution_id,
                                                within=None if scope.everything else scope.institutions)
    return Page[TeamChangeSummary](items=[TeamChangeSummary.model_validate(_fields(r, step)) for r, step in rows],
                                   next_cursor=cursor)


@router.post("/team-changes/{request_id}/decisions", response_model=TeamChangeRead, dependencies=[Deciders])
async def decide(request_id: int, body: TeamChangeDecide, session: SessionDep, caller: CallerDep,
                 scope: ScopeDep) -> TeamChangeRead:
    """Approve or reject the current step; the final approval executes the change from its effective date."""
    await _visible(session, scope, request_id)
    r = await workflow.decide(session, _decider(caller), request_id, **body.model_dump())
    return await _read(session, r)


@router.post("/team-changes/{request_id}/cancel", response_model=TeamChangeRead, dependencies=[Applicants])
async def cancel(request_id: int, session: SessionDep, caller: CallerDep, scope: ScopeDep) -> TeamChangeRead:
    """Withdraw a request before its final approval (the requester or an admin)."""
    await _visible(session, scope, request_id)
    return await _read(session, await workflow.cancel(session, _decider(caller), request_id))


@router.get("/team-standards", response_model=list[TeamStandardRead], dependencies=[Readers])
async def team_standards(session: SessionDep, on: Annotated[date, Depends(as_of)]) -> list[TeamStandardRead]:
    """The team standards in force on a date: minimum annual standard-premium plan and size norms."""
    return [TeamStandardRead.model_validate({
        **{c: getattr(s, c) for c in ("institution_kind", "team_kind", "valid_from", "valid_to", "min_headcount",
                                      "max_headcount")},
        "min_annual_premium_plan": MoneyModel(amount=s.min_annual_premium_plan, currency=s.currency),
    }) for s in await workflow.standards_on(session, on)]
