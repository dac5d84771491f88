"""The organisation as other services replicate it for their own data-scope checks."""

from __future__ import annotations

from datetime import date

from fastapi import Depends
from pydantic import BaseModel, Field

from org_service import directory
from svckit.errors import Forbidden
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router


def _whole_company(caller: CallerDep) -> None:
    if not caller.data_scope.everything:
        raise Forbidden("the directory is for services and administrators", code="scope_too_narrow")


router = service_router(prefix="/v1/directory", tags=["directory"], dependencies=[Depends(_whole_company)])


class DirectoryQuery(BaseModel):
    agent_ids: list[int] = Field(max_length=10_000, description="Agents whose standing changed")
    on: date = Field(description="Business date to read the organisation on (usually today)")


class DirectoryAgent(BaseModel):
    agent_id: int
    user_id: str | None
    path: list[int] = Field(description="Supervisors from the top down to the direct supervisor")
    institution_id: int
    team_id: int | None
    rank_code: str
    status: str


class DirectoryAgents(BaseModel):
    agents: list[DirectoryAgent]


class DirectoryInstitution(BaseModel):
    institution_id: int
    path: list[int] = Field(description="HQ down to and including the institution")
    name: str


class DirectoryInstitutions(BaseModel):
    institutions: list[DirectoryInstitution]


@router.post("/agents", response_model=DirectoryAgents)
async def agents_and_below(body: DirectoryQuery, session: SessionDep) -> DirectoryAgents:
    """The named agents and everyone below them on the date (left agents as they last stood)."""
    rows = await directory.agents_and_below(session, body.agent_ids, body.on)
    return DirectoryAgents(agents=[DirectoryAgent.model_validate(r) for r in rows])


@router.get("/institutions", response_model=DirectoryInstitutions)
async def institutions(session: SessionDep) -> DirectoryInstitutions:
    """Every institution with its chain."""
    rows = await directory.institutions(session)
    return DirectoryInstitutions(institutions=[DirectoryInstitution.model_validate(r) for r in rows])
