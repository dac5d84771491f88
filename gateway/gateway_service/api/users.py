"""User administration; every route here requires the admin role."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway_service import accounts, repository
from gateway_service.deps import AdminDep, require_admin
from gateway_service.schemas import UserCreate, UserRead, UserUpdate
from gateway_service.state import gateway_of
from svckit.pagination import Page, PageParams, page_params
from svckit.problems import problem_responses
from svckit.routing import SessionDep, TransactionalRoute
from svckit.storable import refuse_unstorable_values

router = APIRouter(
    prefix="/api/v1/auth/users", tags=["users"], route_class=TransactionalRoute,
    dependencies=[Depends(require_admin), Depends(refuse_unstorable_values)],
    responses=problem_responses(401, 403, 422),
)


@router.post("", response_model=UserRead, status_code=201, responses=problem_responses(409))
async def create_user(body: UserCreate, session: SessionDep) -> UserRead:
    """Create a user with a password and roles."""
    user = await accounts.create_user(session, username=body.username, password=body.password,
                                      roles=body.roles, institution_ids=body.institution_ids)
    return UserRead.model_validate(user)


@router.get("", response_model=Page[UserRead])
async def list_users(session: SessionDep, params: Annotated[PageParams, Depends(page_params)]) -> Page[UserRead]:
    """Users ordered by username, a page at a time."""
    users, next_cursor = await repository.list_users(session, params)
    return Page[UserRead](items=[UserRead.model_validate(u) for u in users], next_cursor=next_cursor)


@router.patch("/{user_id}", response_model=UserRead, responses=problem_responses(404, 409))
async def update_user(user_id: uuid.UUID, body: UserUpdate, actor: AdminDep, session: SessionDep,
                      request: Request) -> UserRead:
    """Change a user's roles, deactivate or reactivate them, or set a new password."""
    gateway_of(request).principals.forget_user(user_id)  # the other processes hear it at commit
    user = await accounts.update_user(
        session, actor, user_id, roles=body.roles, active=body.active,
        password=body.password, institution_ids=body.institution_ids,
    )
    return UserRead.model_validate(user)
