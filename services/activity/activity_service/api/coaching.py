"""Coaching records, callback records and the supervisor's evening diary. A coaching or callback record
is read by the supervisor who wrote it and the member it is about, nobody else."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query, Response
from sqlalchemy import select

from activity_service import coaching
from activity_service.api.deps import AgentDep, PageDep, ScopeDep
from activity_service.coaching_schemas import (
    CallbackCreate,
    CallbackEdit,
    CallbackRead,
    CoachingCreate,
    CoachingEdit,
    CoachingRead,
    DiaryIn,
    DiaryRead,
    MomentRead,
)
from activity_service.models import CallbackRecord, CoachingMoment, CoachingRecord, SupervisorDiary
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.timeutil import utcnow

router = service_router(prefix="/v1", tags=["coaching and callbacks"])
CREATED: dict[int | str, dict[str, Any]] = {200: {"description": "Sent before with this client_id: the first record"}}


@router.get("/coaching-moments", response_model=list[MomentRead])
async def coaching_moments(session: SessionDep) -> list[CoachingMoment]:
    """The moments that call for one-on-one coaching (seed 002, 个别辅导的时机), in the seed's order."""
    return list((await session.execute(select(CoachingMoment).order_by(CoachingMoment.position))).scalars())


@router.post("/coaching", response_model=CoachingRead, status_code=201, responses=CREATED)
async def record_coaching(body: CoachingCreate, session: SessionDep, agent_id: AgentDep,
                          response: Response) -> CoachingRecord:
    """The caller coached a member of their team: the moment, what was done, the outcome, the follow-up."""
    record, created = await coaching.create(
        session, CoachingRecord, supervisor_id=agent_id, member_id=body.member_agent_id, when=body.coached_at,
        client_id=body.client_id, entry_id=body.entry_id,
        values=body.model_dump(include={"moment", "method", "content", "outcome", "follow_up_on"}), now=utcnow())
    if not created:
        response.status_code = 200
    return record


async def _list(session: SessionDep, model: Any, scope: ScopeDep, page: PageDep, member_agent_id: int | None,
                when: Any) -> tuple[list[Any], str | None]:
    query = select(model).where(coaching.mine(model, scope))
    if member_agent_id is not None:
        query = query.where(model.member_agent_id == member_agent_id)
    rows = (await session.execute(keyset(query, [when.expression, model.id.expression], page, descending=True))
            ).scalars().all()
    return page_of(rows, page, lambda r: [getattr(r, when.key), r.id])


@router.get("/coaching", response_model=Page[CoachingRead])
async def list_coaching(session: SessionDep, scope: ScopeDep, page: PageDep,
                        member_agent_id: Annotated[int | None, Query(gt=0)] = None,
                        follow_up_by: Annotated[date | None, Query(description="Only follow-ups due by this day")]
                        = None) -> Page[CoachingRead]:
    """The coaching records the caller wrote or is the subject of, newest first."""
    query = select(CoachingRecord).where(coaching.mine(CoachingRecord, scope))
    if member_agent_id is not None:
        query = query.where(CoachingRecord.member_agent_id == member_agent_id)
    if follow_up_by is not None:
        query = query.where(CoachingRecord.follow_up_on <= follow_up_by)
    rows = (await session.execute(keyset(query, [CoachingRecord.coached_at.expression, CoachingRecord.id.expression],
                                         page, descending=True))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.coached_at, r.id])
    return Page(items=[CoachingRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/coaching/{record_id}", response_model=CoachingRead)
async def read_coaching(record_id: int, session: SessionDep, scope: ScopeDep) -> CoachingRecord:
    """A coaching record, for the supervisor who wrote it and the member it is about (404 for anyone else)."""
    return await coaching.get(session, CoachingRecord, scope, record_id)


@router.put("/coaching/{record_id}", response_model=CoachingRead)
async def edit_coaching(record_id: int, body: CoachingEdit, session: SessionDep, scope: ScopeDep) -> CoachingRecord:
    """The supervisor who wrote it corrects a coaching record, from the version last seen."""
    record = await coaching.get(session, CoachingRecord, scope, record_id, lock=True)
    return await coaching.edit(session, record, agent_id=scope.agent_id, version=body.version,
                               values=body.model_dump(exclude={"version"}))


@router.post("/callbacks", response_model=CallbackRead, status_code=201, responses=CREATED)
async def record_callback(body: CallbackCreate, session: SessionDep, agent_id: AgentDep,
                          response: Response) -> CallbackRecord:
    """The caller phoned a member's customer (回访): named by id only, its contact data stays the member's."""
    record, created = await coaching.create(
        session, CallbackRecord, supervisor_id=agent_id, member_id=body.member_agent_id, when=body.called_at,
        client_id=body.client_id, entry_id=body.entry_id,
        values=body.model_dump(include={"customer_id", "purpose", "findings", "outcome", "revisit_at",
                                        "advice_to_member"}), now=utcnow())
    if not created:
        response.status_code = 200
    return record


@router.get("/callbacks", response_model=Page[CallbackRead])
async def list_callbacks(session: SessionDep, scope: ScopeDep, page: PageDep,
                         member_agent_id: Annotated[int | None, Query(gt=0)] = None) -> Page[CallbackRead]:
    """The callback records the caller wrote or whose customer was called, newest first."""
    items, cursor = await _list(session, CallbackRecord, scope, page, member_agent_id, CallbackRecord.called_at)
    return Page(items=[CallbackRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/callbacks/{record_id}", response_model=CallbackRead)
async def read_callback(record_id: int, session: SessionDep, scope: ScopeDep) -> CallbackRecord:
    """A callback record, for the supervisor who wrote it and the member (404 for anyone else)."""
    return await coaching.get(session, CallbackRecord, scope, record_id)


@router.put("/callbacks/{record_id}", response_model=CallbackRead)
async def edit_callback(record_id: int, body: CallbackEdit, session: SessionDep, scope: ScopeDep) -> CallbackRecord:
    """The supervisor who wrote it corrects a callback record, from the version last seen."""
    record = await coaching.get(session, CallbackRecord, scope, record_id, lock=True)
    return await coaching.edit(session, record, agent_id=scope.agent_id, version=body.version,
                               values=body.model_dump(exclude={"version"}))


async def _diary(session: SessionDep, diary: SupervisorDiary) -> DiaryRead:
    numbers = await coaching.day_numbers(session, diary.supervisor_agent_id, diary.day)
    return DiaryRead.model_validate({**{c.key: getattr(diary, c.key) for c in SupervisorDiary.__table__.columns
                                        if c.key != "institution_id"}, "numbers": numbers})


@router.put("/diary/{day}", response_model=DiaryRead, responses={201: {"description": "Written", "model": DiaryRead}})
async def write_diary(day: date, body: DiaryIn, session: SessionDep, agent_id: AgentDep,
                      response: Response) -> DiaryRead:
    """The caller's evening business diary of a day 主管经营日志: written once, rewritten from its version."""
    diary, created = await coaching.write_diary(session, supervisor_id=agent_id, day=day, version=body.version,
                                                values=body.model_dump(exclude={"version"}), now=utcnow())
    if created:
        response.status_code = 201
    return await _diary(session, diary)


@router.get("/agents/{agent_id}/diary/{day}", response_model=DiaryRead)
async def read_diary(agent_id: int, day: date, session: SessionDep, scope: ScopeDep) -> DiaryRead:
    """A supervisor's diary of a day, for them, those above them and their institution's staff."""
    return await _diary(session, await coaching.read_diary(session, scope, agent_id, day))
