"""A supervisor's 1-1-1 records (seed 002): one-on-one coaching 个别辅导 of a member (the moment that
called for it, from the seed's catalogue; what was done; the outcome; the follow-up), calls to a
member's customer 回访电话记录表 (the customer by id only: a supervisor never sees contact data), and the
evening business diary 主管经营日志.

A coaching or callback record is between the supervisor who wrote it and the member it is about: nobody
else reads it, not even those above them (404, as if it did not exist). A record may point at the
entry in the supervisor's own log that counted the act for 1-1-1 compliance, so nothing counts twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activity_service import access, rules
from activity_service.models import (
    DIRECTORY,
    PLATFORM_TABLES,
    ActivityDay,
    CallbackRecord,
    CoachingMoment,
    CoachingRecord,
    Customer,
    Entry,
    SupervisorDiary,
)
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, Forbidden, NotFound, Unprocessable
from svckit.outbox import append_event
from svckit.scope import DataScope
from svckit.timeutil import BUSINESS_TZ, business_date

R = TypeVar("R", CoachingRecord, CallbackRecord)
KIND_OF = {CoachingRecord: "coaching", CallbackRecord: "member_client_callback"}
WHAT = {CoachingRecord: "coaching_record", CallbackRecord: "callback_record"}


async def _check_when(session: AsyncSession, moment: datetime, now: datetime, field: str) -> None:
    window = await rules.in_force(session, rules.EntryWindow, business_date(now))
    if moment > now + timedelta(minutes=window.future_tolerance_minutes):
        raise Unprocessable(f"{moment.isoformat()} is in the future; it is recorded once done", code="in_future",
                            field=field)
    if business_date(moment) < business_date(now) - timedelta(days=window.max_past_days):
        raise Unprocessable(f"records older than {window.max_past_days} days cannot be written", code="too_old",
                            field=field)


async def _member(session: AsyncSession, supervisor_id: int, member_id: int) -> Any:
    """A member of the supervisor's team today (below them in the organisation, not departed)."""
    a = DIRECTORY.agents
    row = (await session.execute(select(a.c.agent_id, a.c.institution_id).where(
        a.c.agent_id == member_id, a.c.path.contains([supervisor_id]), a.c.status != "left"))).one_or_none()
    if row is None:
        raise Unprocessable(f"agent {member_id} is not in your team", code="not_your_member",
                            field="member_agent_id")
    return row


async def _check_entry(session: AsyncSession, model: type[R], supervisor_id: int, entry_id: UUID | None,
                       member_id: int) -> None:
    if entry_id is None:
        return
    kind = KIND_OF[model]
    entry = await session.get(Entry, (supervisor_id, entry_id))
    if entry is None or entry.withdrawn or entry.kind != kind or entry.member_agent_id != member_id:
        raise Unprocessable(f"entry {entry_id} is not a {kind} of this member in your log", code="entry_mismatch",
                            field="entry_id")
    taken = (await session.execute(select(model.id).where(model.supervisor_agent_id == supervisor_id,
                                                          model.entry_id == entry_id))).scalar()
    if taken is not None:
        raise Conflict(f"entry {entry_id} is the entry of record {taken} already", code="entry_already_recorded",
                       field="entry_id", record_id=taken)


async def create(session: AsyncSession, model: type[R], *, supervisor_id: int, member_id: int, when: datetime,
                 client_id: UUID | None, entry_id: UUID | None, values: Mapping[str, Any],
                 now: datetime) -> tuple[R, bool]:
    """A new record by the supervisor about a member of their team; (record, created). With the app's
    `client_id`, sending the same record again returns the first."""
    await access.active_agent(session, supervisor_id)
    if client_id is not None:
        existing = (await session.execute(select(model).where(
            model.supervisor_agent_id == supervisor_id, model.client_id == client_id))).scalar_one_or_none()
        if existing is not None:
            return existing, False
    member = await _member(session, supervisor_id, member_id)
    await _check_when(session, when, now, "coached_at" if model is CoachingRecord else "called_at")
    await _check_entry(session, model, supervisor_id, entry_id, member_id)
    if model is CoachingRecord:
        await _check_moment(session, values["moment"])
        _check_follow_up(values.get("follow_up_on"), when)
        record: Any = CoachingRecord(coached_at=when, **values)
    else:
        await _check_customer(session, values["customer_id"], member_id)
        record = CallbackRecord(called_at=when, **values)
    record.supervisor_agent_id, record.member_agent_id = supervisor_id, member_id
    record.institution_id, record.client_id, record.entry_id, record.version = (member.institution_id, client_id,
                                                                                 entry_id, 1)
    session.add(record)
    # The same record sent twice at once (its client_id), or one entry claimed by two records at once.
    await flush_or_refuse(session, Conflict("the record was written meanwhile; send it again to see the first",
                                            code="concurrent_write", field="client_id"))
    await append_event(session, PLATFORM_TABLES, event_type=f"{WHAT[model]}.written", aggregate_type=WHAT[model],
                       aggregate_id=str(record.id), payload={
                           "id": record.id, "supervisor_agent_id": supervisor_id, "member_agent_id": member_id,
                           "institution_id": record.institution_id, "day": business_date(when)})
    return record, True


async def _check_moment(session: AsyncSession, code: str) -> None:
    if await session.get(CoachingMoment, code) is None:
        raise Unprocessable(f"no coaching moment {code!r} in the catalogue", code="unknown_moment", field="moment")


def _check_follow_up(follow_up_on: date | None, when: datetime) -> None:
    if follow_up_on is not None and follow_up_on < business_date(when):
        raise Unprocessable("the follow-up comes after the coaching", code="follow_up_before_coaching",
                            field="follow_up_on")


async def _check_customer(session: AsyncSession, customer_id: int, member_id: int) -> None:
    owner = (await session.execute(select(Customer.owner_agent_id).where(Customer.id == customer_id))).scalar()
    if owner != member_id:
        raise Unprocessable(f"customer {customer_id} is not among the member's customers", code="customer_not_found",
                            field="customer_id")


def mine(model: type[R], scope: DataScope) -> Any:
    """Records the caller wrote or is the subject of: the only ones they may read."""
    if scope.agent_id is None:
        return false()
    return or_(model.supervisor_agent_id == scope.agent_id, model.member_agent_id == scope.agent_id)


async def get(session: AsyncSession, model: type[R], scope: DataScope, record_id: int, *, lock: bool = False) -> R:
    query = select(model).where(model.id == record_id, mine(model, scope))
    found = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{WHAT[model].replace('_', ' ')} {record_id} does not exist", code=f"{WHAT[model]}_not_found",
                       field="record_id")
    return found


async def edit(session: AsyncSession, record: R, *, agent_id: int | None, version: int,
               values: Mapping[str, Any]) -> R:
    """The supervisor who wrote a record corrects it, from the version last seen."""
    if agent_id != record.supervisor_agent_id:
        raise Forbidden("only the supervisor who wrote the record changes it", code="not_the_author",
                        field="record_id")
    if record.version != version:
        raise Conflict(f"the record is at version {record.version}; this change was made from version {version}",
                       code="version_conflict", field="version", current_version=record.version)
    if isinstance(record, CoachingRecord):
        await _check_moment(session, values["moment"])
        _check_follow_up(values.get("follow_up_on"), record.coached_at)
    for name, value in values.items():
        setattr(record, name, value)
    record.version += 1
    await session.flush()
    return record


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, BUSINESS_TZ)
    return start, start + timedelta(days=1)


async def write_diary(session: AsyncSession, *, supervisor_id: int, day: date, version: int | None,
                      values: Mapping[str, Any], now: datetime) -> tuple[SupervisorDiary, bool]:
    """Write (no version) or rewrite (the version last seen) the supervisor's diary of a day."""
    today = business_date(now)
    window = await rules.in_force(session, rules.EntryWindow, today)
    if day > today:
        raise Unprocessable(f"{day} has not come yet: the diary is written in the evening", code="day_in_future",
                            field="day")
    if day < today - timedelta(days=window.max_past_days):
        raise Unprocessable(f"{day} is older than {window.max_past_days} days", code="day_too_old", field="day")
    agent = await access.active_agent(session, supervisor_id)
    found = (await session.execute(select(SupervisorDiary).where(
        SupervisorDiary.supervisor_agent_id == supervisor_id, SupervisorDiary.day == day).with_for_update())
    ).scalar_one_or_none()
    if found is None:
        if version is not None:
            raise Conflict(f"there is no diary of {day} to change", code="version_conflict", field="version",
                           current_version=None)
        diary = SupervisorDiary(supervisor_agent_id=supervisor_id, day=day, institution_id=agent.institution_id,
                                version=1, **values)
        session.add(diary)
        await flush_or_refuse(session, Conflict(f"the diary of {day} was written meanwhile", code="version_conflict",
                                                field="version", current_version=1))
        return diary, True
    if version != found.version:
        raise Conflict(f"the diary of {day} is at version {found.version}; this change was made from version "
                       f"{version}", code="version_conflict", field="version", current_version=found.version)
    for name, value in values.items():
        setattr(found, name, value)
    found.version, found.updated_at = found.version + 1, now
    await session.flush()
    return found, False


async def read_diary(session: AsyncSession, scope: DataScope, supervisor_id: int, day: date) -> SupervisorDiary:
    """A diary its author, those above them and their institution's staff may read (404 otherwise)."""
    found = await session.get(SupervisorDiary, (supervisor_id, day))
    if found is None:
        raise NotFound(f"no diary of agent {supervisor_id} for {day}", code="diary_not_found", field="day")
    await access.require(session, scope, agent_id=supervisor_id, institution_id=found.institution_id,
                         what="diary", object_id=f"{supervisor_id}/{day}", field="day")
    return found


async def day_numbers(session: AsyncSession, supervisor_id: int, day: date) -> dict[str, Any]:
    """The day behind a diary: the supervisor's log counts (1-1-1) and the records written that day."""
    counts = (await session.execute(select(ActivityDay.counts).where(
        ActivityDay.agent_id == supervisor_id, ActivityDay.day == day))).scalar() or {}
    start, end = _day_bounds(day)
    coached = (await session.execute(select(func.count()).where(
        CoachingRecord.supervisor_agent_id == supervisor_id, CoachingRecord.coached_at >= start,
        CoachingRecord.coached_at < end))).scalar_one()
    called = (await session.execute(select(func.count()).where(
        CallbackRecord.supervisor_agent_id == supervisor_id, CallbackRecord.called_at >= start,
        CallbackRecord.called_at < end))).scalar_one()
    return {"counts": counts, "coaching_records": coached, "callback_records": called}
