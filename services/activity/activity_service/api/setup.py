"""What the activity log runs on: the kinds of activity and the rules in force."""

from __future__ import annotations

from sqlalchemy import select

from activity_service import rules
from activity_service.api.deps import Administrators, actor_of
from activity_service.models import ActivityKind
from activity_service.schemas import KindRead
from svckit.routing import SessionDep, service_router
from svckit.rules import rules_router

router = service_router(prefix="/v1", tags=["setup"])
rules_api = rules_router(rules.BOOK, writers=Administrators, actor_of=actor_of)


@router.get("/kinds", response_model=list[KindRead])
async def list_kinds(session: SessionDep) -> list[ActivityKind]:
    """The kinds of activity agents and supervisors log (5-3-1, 1-1-1)."""
    return list((await session.execute(select(ActivityKind).order_by(ActivityKind.role, ActivityKind.code))).scalars())
