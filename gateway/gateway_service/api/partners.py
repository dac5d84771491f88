"""Partner administration (the bank's credentials); every route here requires the admin role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from gateway_service import partners
from gateway_service.deps import AdminDep, require_admin
from gateway_service.schemas import (
    PARTNER_CODE_PATTERN,
    PartnerCreate,
    PartnerKeyIssued,
    PartnerKeyRead,
    PartnerRead,
    PartnerUpdate,
)
from gateway_service.state import gateway_of
from svckit.problems import problem_responses
from svckit.routing import SessionDep, TransactionalRoute
from svckit.storable import refuse_unstorable_values

router = APIRouter(
    prefix="/api/v1/auth/partners", tags=["partners"], route_class=TransactionalRoute,
    dependencies=[Depends(require_admin), Depends(refuse_unstorable_values)],
    responses=problem_responses(401, 403, 422),
)
CodePath = Annotated[str, Path(pattern=PARTNER_CODE_PATTERN, description="The partner's code")]


def _read(found: partners.PartnerWithKeys) -> PartnerRead:
    p = found.partner
    return PartnerRead(code=p.code, name=p.name, kind="bank", active=p.active, created_at=p.created_at,
                       updated_at=p.updated_at, keys=[PartnerKeyRead.model_validate(k) for k in found.keys])


@router.post("", response_model=PartnerRead, status_code=201, responses=problem_responses(409))
async def create_partner(body: PartnerCreate, session: SessionDep) -> PartnerRead:
    """Register a partner (a bank); it can call nothing until a key is issued."""
    partner = await partners.create_partner(session, code=body.code, name=body.name, kind=body.kind)
    return _read(partners.PartnerWithKeys(partner, []))


@router.get("", response_model=list[PartnerRead])
async def list_partners(session: SessionDep) -> list[PartnerRead]:
    """Every partner with its keys, ordered by code; secrets are never shown."""
    return [_read(found) for found in await partners.list_partners(session)]


@router.get("/{code}", response_model=PartnerRead, responses=problem_responses(404))
async def get_partner(code: CodePath, session: SessionDep) -> PartnerRead:
    """One partner with its keys; secrets are never shown."""
    return _read(await partners.get_partner(session, code))


@router.patch("/{code}", response_model=PartnerRead, responses=problem_responses(404))
async def update_partner(code: CodePath, body: PartnerUpdate, session: SessionDep) -> PartnerRead:
    """Rename a partner, or deactivate it (every key refused from the next request) or reactivate it."""
    return _read(await partners.update_partner(session, code, name=body.name, active=body.active))


@router.post("/{code}/keys", response_model=PartnerKeyIssued, status_code=201, responses=problem_responses(404))
async def issue_key(code: CodePath, request: Request, actor: AdminDep, session: SessionDep) -> PartnerKeyIssued:
    """Issue a new signing key. The secret is in this answer only: hand it to the bank now; it cannot be shown again."""
    issued = await partners.issue_key(session, gateway_of(request).secret_box, actor, code)
    return PartnerKeyIssued(key_id=issued.key.key_id, created_at=issued.key.created_at, revoked_at=None,
                            secret=issued.secret)


@router.post("/{code}/keys/{key_id}/revoke", response_model=PartnerKeyRead, responses=problem_responses(404))
async def revoke_key(code: CodePath, key_id: str, actor: AdminDep, session: SessionDep) -> PartnerKeyRead:
    """Revoke a key: requests signed with it are refused from the next one. Revoking again changes nothing."""
    return PartnerKeyRead.model_validate(await partners.revoke_key(session, actor, code, key_id))
