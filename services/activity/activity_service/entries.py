"""The activity log 活动日志: entries an agent's app writes, one at a time or as an offline batch.

Every entry carries the id the app generated, so a batch sent again after a lost answer finds its
entries instead of writing them twice; an edit names the version it was made from, so two devices
cannot silently overwrite each other. A batch is judged item by item: the valid items are kept, the
others are answered with the field and the rule they broke. Each write keeps the agent's day in
numbers (`activity_day`) in the same transaction and announces the new numbers on the change feed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from activity_service import rules
from activity_service.models import DIRECTORY, ActivityDay, Customer, Entry
from svckit.errors import Conflict, Unprocessable
from svckit.requestid import current_request_id
from svckit.timeutil import business_date

CONTENT = ("kind", "occurred_at", "customer_id", "member_agent_id", "outcome", "notes", "withdrawn")


@dataclass(frozen=True)
class KindInfo:
    role: str
    is_visit: bool
    about_member: bool


@dataclass(frozen=True)
class EntryInput:
    """One entry as the app sends it; `version` is the version an edit was made from (None: new)."""

    id: UUID
    kind: str
    occurred_at: datetime
    customer_id: int | None = None
    member_agent_id: int | None = None
    outcome: str | None = None
    notes: str | None = None
    withdrawn: bool = False
    version: int | None = None

    @cached_property
    def day(self) -> date:
        """The business day (Asia/Shanghai) the entry counts for."""
        return business_date(self.occurred_at)

    def content(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in CONTENT)


@dataclass(frozen=True)
class ItemResult:
    """What became of one item: created, updated, unchanged (already as sent), conflict or rejected."""

    id: UUID
    status: str
    version: int | None = None
    code: str | None = None
    field: str | None = None
    detail: str | None = None
    # The entry as stored, when this write stored it.
    row: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status in {"created", "updated", "unchanged"}


def rejected(item_id: UUID, code: str, field_name: str, detail: str) -> ItemResult:
    return ItemResult(item_id, "rejected", code=code, field=field_name, detail=detail)


@dataclass(frozen=True)
class Context:
    """What judging a batch needs to know, read once for the whole batch."""

    agent_id: int
    now: datetime
    kinds: Mapping[str, KindInfo]
    window: rules.EntryWindow
    # Customer id → owning agent, for the customers the batch names.
    customer_owner: Mapping[int, int] = field(default_factory=dict)
    # Members of the writer's team (agents below them today) among those the batch names.
    members: frozenset[int] = frozenset()

    @cached_property
    def today(self) -> date:
        return business_date(self.now)


def check(item: EntryInput, ctx: Context) -> ItemResult | None:
    """The first rule an item breaks, or None. Pure: everything it needs is in `ctx`."""
    kind = ctx.kinds.get(item.kind)
    if kind is None:
        return rejected(item.id, "unknown_kind", "kind", f"no kind of activity {item.kind!r}")
    if item.occurred_at.tzinfo is None:
        return rejected(item.id, "naive_time", "occurred_at", "occurred_at needs a time zone offset")
    if item.occurred_at > ctx.now + timedelta(minutes=ctx.window.future_tolerance_minutes):
        return rejected(item.id, "entry_in_future", "occurred_at",
                        f"{item.occurred_at.isoformat()} is in the future; an activity is logged once done")
    oldest = ctx.today - timedelta(days=ctx.window.max_past_days)
    if item.day < oldest:
        return rejected(item.id, "entry_too_old", "occurred_at",
                        f"entries older than {ctx.window.max_past_days} days (before {oldest}) cannot be logged")
    if kind.about_member:
        if item.member_agent_id is None:
            return rejected(item.id, "member_required", "member_agent_id",
                            f"{item.kind} concerns a member of the team: name the member")
        if item.member_agent_id not in ctx.members:
            return rejected(item.id, "not_your_member", "member_agent_id",
                            f"agent {item.member_agent_id} is not in your team")
    elif item.member_agent_id is not None:
        return rejected(item.id, "member_not_expected", "member_agent_id", f"{item.kind} does not concern a member")
    if item.customer_id is not None:
        owner = ctx.customer_owner.get(item.customer_id)
        allowed = {ctx.agent_id} | ({item.member_agent_id} if kind.about_member and item.member_agent_id else set())
        if owner is None or owner not in allowed:
            return rejected(item.id, "customer_not_found", "customer_id", f"customer {item.customer_id} does not "
                            "exist among your customers" + (" or the member's" if kind.about_member else ""))
    return None


def against_existing(item: EntryInput, existing: Mapping[str, Any] | None) -> str:
    """How an item that passed `check` relates to what is stored: create, unchanged, update or conflict."""
    if existing is None:
        return "conflict" if item.version not in (None, 0) else "create"
    if tuple(existing[name] for name in CONTENT) == item.content():
        return "unchanged"
    if item.version is not None and item.version == existing["version"]:
        return "update"
    return "conflict"


class Tally:
    """Changes to agents' days: counts per kind and visits, +1 for a new entry, −1 for a withdrawn one."""

    def __init__(self, kinds: Mapping[str, KindInfo]) -> None:
        self.kinds = kinds
        self.counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.visits: dict[date, int] = defaultdict(int)

    def add(self, day: date, kind: str, sign: int) -> None:
        self.counts[day][kind] += sign
        if self.kinds[kind].is_visit:
            self.visits[day] += sign

    def count(self, day: date, kind: str, withdrawn: bool, sign: int) -> None:
        if not withdrawn:
            self.add(day, kind, sign)

    def rows(self) -> list[tuple[date, dict[str, int], int]]:
        out = []
        for day, counts in sorted(self.counts.items()):
            changed = {k: n for k, n in counts.items() if n}
            if changed or self.visits[day]:
                out.append((day, changed, self.visits[day]))
        return out


# Everything judging a batch needs that does not depend on its items, in one round trip: the writer
# as the organisation stands today, the kinds of activity, and the entry window in force.
WRITER = text(
    "SELECT a.institution_id, a.team_id, a.status,"
    " (SELECT jsonb_object_agg(k.code, jsonb_build_array(k.role, k.is_visit, k.about_member))"
    "    FROM activity.activity_kind k) AS kinds,"
    " (SELECT r.value FROM activity.rule_version r WHERE r.name = 'entry_window' AND r.valid_from <= :today"
    "    AND (r.valid_to IS NULL OR r.valid_to > :today)) AS window"
    " FROM activity.org_agent a WHERE a.agent_id = :agent_id")


@dataclass(frozen=True)
class Writer:
    institution_id: int
    team_id: int | None


async def context(session: AsyncSession, agent_id: int, items: Sequence[EntryInput],
                  now: datetime) -> tuple[Writer, Context]:
    today = business_date(now)
    row = (await session.execute(WRITER, {"agent_id": agent_id, "today": today})).one_or_none()
    if row is None:
        raise Unprocessable(f"agent {agent_id} is not known to the organisation", code="agent_not_found",
                            field="agent_id")
    if row.status == "left":
        raise Unprocessable(f"agent {agent_id} has left", code="agent_left", field="agent_id")
    if row.window is None:
        raise Conflict(f"no entry_window rule is in force on {today}", code="rule_not_in_force",
                       field="effective_on")
    kinds = {code: KindInfo(role, is_visit, about) for code, (role, is_visit, about) in (row.kinds or {}).items()}
    window = rules.EntryWindow.model_validate(row.window)
    customer_ids = sorted({i.customer_id for i in items if i.customer_id is not None})
    owners: dict[int, int] = {}
    if customer_ids:
        rows = await session.execute(select(Customer.id, Customer.owner_agent_id).where(Customer.id.in_(customer_ids)))
        owners = {customer_id: owner for customer_id, owner in rows}
    member_ids = sorted({i.member_agent_id for i in items if i.member_agent_id is not None})
    members: frozenset[int] = frozenset()
    if member_ids:
        a = DIRECTORY.agents
        members = frozenset((await session.execute(select(a.c.agent_id).where(
            a.c.agent_id.in_(member_ids), a.c.path.contains([agent_id]), a.c.status != "left"))).scalars())
    return Writer(row.institution_id, row.team_id), Context(agent_id, now, kinds, window, owners, members)


async def write(session: AsyncSession, agent_id: int, items: Sequence[EntryInput], now: datetime) -> list[ItemResult]:
    """Write a batch of the agent's entries; one result per item, in the order sent.

    New entries are inserted first (the usual case costs one statement); only the items whose id is
    taken, and the edits, are compared with what is stored."""
    writer, ctx = await context(session, agent_id, items, now)
    results: dict[int, ItemResult] = {}
    valid: list[tuple[int, EntryInput]] = []
    seen: set[UUID] = set()
    for position, item in enumerate(items):
        if item.id in seen:
            results[position] = rejected(item.id, "duplicate_id", "id", "the batch holds this id twice")
            continue
        seen.add(item.id)
        problem = check(item, ctx)
        if problem is not None:
            results[position] = problem
        else:
            valid.append((position, item))
    tally = Tally(ctx.kinds)
    fresh = [(p, i) for p, i in valid if i.version is None]
    inserted = await _insert(session, agent_id, writer, [i for _, i in fresh]) if fresh else {}
    compare: list[tuple[int, EntryInput]] = [(p, i) for p, i in valid if i.version is not None]
    for position, item in fresh:
        row = inserted.get(item.id)
        if row is None:
            compare.append((position, item))
        else:
            tally.count(row["day"], item.kind, item.withdrawn, +1)
            results[position] = ItemResult(item.id, "created", 1, row=row if len(row) > 1 else None)
    stored = await _existing(session, agent_id, [item.id for _, item in compare])
    for position, item in sorted(compare, key=lambda pair: pair[0]):
        existing = stored.get(item.id)
        verdict = against_existing(item, existing)
        if verdict == "unchanged":
            assert existing is not None
            results[position] = ItemResult(item.id, "unchanged", existing["version"])
        elif verdict == "update":
            assert existing is not None
            row = await _update(session, agent_id, item)
            tally.count(existing["day"], existing["kind"], existing["withdrawn"], -1)
            tally.count(row["day"], item.kind, item.withdrawn, +1)
            results[position] = ItemResult(item.id, "updated", row["version"], row=row)
        else:
            current = existing["version"] if existing is not None else None
            if existing is None:
                detail = f"entry {item.id} does not exist; a new entry has no version"
            elif item.version is None:
                detail = f"entry {item.id} exists with another content; an edit names the version it was made from"
            else:
                detail = f"entry {item.id} is at version {current}; this edit was made from version {item.version}"
            results[position] = ItemResult(item.id, "conflict", current, code="version_conflict", field="version",
                                           detail=detail)
    await record_days(session, agent_id, writer.institution_id, writer.team_id, tally)
    return [results[p] for p in range(len(items))]


async def _existing(session: AsyncSession, agent_id: int, ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = (await session.execute(
        select(Entry).where(Entry.agent_id == agent_id, Entry.id.in_(ids)).with_for_update())).scalars()
    return {r.id: {**{name: getattr(r, name) for name in CONTENT}, "version": r.version, "day": r.day}
            for r in rows}


ENTRY_COLUMNS = [c for c in Entry.__table__.columns]
_INSERTED = ("agent_id", "id", "kind", "occurred_at", "day", "customer_id", "member_agent_id", "outcome", "notes",
             "withdrawn", "institution_id", "team_id")
# One entry, answered with its stored row: a constant statement (nothing for SQLAlchemy to build per call).
INSERT_ONE = text(
    f"INSERT INTO activity.entry ({', '.join(_INSERTED)})"  # noqa: S608 - constant column names; values are bound
    f" VALUES ({', '.join(':' + name for name in _INSERTED)})"
    f" ON CONFLICT (agent_id, id) DO NOTHING RETURNING {', '.join(c.name for c in ENTRY_COLUMNS)}")


# A batch in one statement whatever its size: one array per column, unnested by the server.
_INSERT_BATCH = text(
    f"INSERT INTO activity.entry ({', '.join(_INSERTED)})"  # noqa: S608 - constant column names; values are bound
    " SELECT :agent_id, u.id, u.kind, u.occurred_at, u.day, u.customer_id, u.member_agent_id, u.outcome, u.notes,"
    "  u.withdrawn, :institution_id, :team_id"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS text[]), CAST(:times AS timestamptz[]), CAST(:days AS date[]),"
    "  CAST(:customers AS bigint[]), CAST(:members AS bigint[]), CAST(:outcomes AS text[]), CAST(:notes AS text[]),"
    "  CAST(:withdrawn AS boolean[]))"
    "  AS u(id, kind, occurred_at, day, customer_id, member_agent_id, outcome, notes, withdrawn)"
    " ON CONFLICT (agent_id, id) DO NOTHING RETURNING id")


async def _insert(session: AsyncSession, agent_id: int, writer: Writer,
                  items: Sequence[EntryInput]) -> dict[UUID, dict[str, Any]]:
    """Insert the entries whose id is free; returns the stored rows of those inserted."""
    if len(items) == 1:  # a single entry is answered with its stored row
        i = items[0]
        result = await session.execute(INSERT_ONE, {
            "agent_id": agent_id, "id": i.id, "kind": i.kind, "occurred_at": i.occurred_at, "day": i.day,
            "customer_id": i.customer_id, "member_agent_id": i.member_agent_id, "outcome": i.outcome,
            "notes": i.notes, "withdrawn": i.withdrawn, "institution_id": writer.institution_id,
            "team_id": writer.team_id})
        return {r["id"]: dict(r) for r in result.mappings()}
    # A batch is answered with statuses only: what was inserted, and on which day it counts.
    inserted = (await session.execute(_INSERT_BATCH, {
        "agent_id": agent_id, "institution_id": writer.institution_id, "team_id": writer.team_id,
        "ids": [i.id for i in items], "kinds": [i.kind for i in items], "times": [i.occurred_at for i in items],
        "days": [i.day for i in items], "customers": [i.customer_id for i in items],
        "members": [i.member_agent_id for i in items], "outcomes": [i.outcome for i in items],
        "notes": [i.notes for i in items], "withdrawn": [i.withdrawn for i in items]})).scalars()
    days = {i.id: i.day for i in items}
    return {entry_id: {"day": days[entry_id]} for entry_id in inserted}


async def _update(session: AsyncSession, agent_id: int, item: EntryInput) -> dict[str, Any]:
    values = {name: getattr(item, name) for name in CONTENT}
    row = (await session.execute(
        update(Entry).where(Entry.agent_id == agent_id, Entry.id == item.id)
        .values(**values, day=item.day, version=Entry.version + 1, updated_at=func.now())
        .returning(*ENTRY_COLUMNS))).mappings().one()
    return dict(row)


# A negative change only ever meets a day that exists (the entry it takes back was counted there), so the
# row a first insert proposes holds the positive part alone and the CHECK on visits holds throughout.
# The day's new numbers go on the change feed in the same statement (performance counts them for KPI).
ADD_DAY = text(
    "WITH d AS ("
    " INSERT INTO activity.activity_day AS d (agent_id, day, institution_id, team_id, counts, visits)"
    " VALUES (:agent_id, :day, :institution_id, :team_id, :first_counts, greatest(:visits, 0))"
    " ON CONFLICT (agent_id, day) DO UPDATE SET counts = activity.add_counts(d.counts, :counts),"
    "  visits = d.visits + :visits, institution_id = EXCLUDED.institution_id, team_id = EXCLUDED.team_id"
    " RETURNING agent_id, day, counts, visits, institution_id, team_id)"
    " INSERT INTO activity.outbox_event (event_type, aggregate_type, aggregate_id, payload, request_id)"
    " SELECT 'activity.day_counted', 'agent', d.agent_id::text,"
    "  jsonb_build_object('agent_id', d.agent_id, 'day', d.day, 'counts', d.counts, 'visits', d.visits,"
    "                     'institution_id', d.institution_id, 'team_id', d.team_id), :request_id FROM d"
).bindparams(bindparam("counts", type_=ActivityDay.__table__.c.counts.type),
             bindparam("first_counts", type_=ActivityDay.__table__.c.counts.type))


async def record_days(session: AsyncSession, agent_id: int, institution_id: int, team_id: int | None,
                      tally: Tally) -> None:
    """Apply a tally to the agent's days and announce each day's new numbers (for performance's KPI)."""
    request_id = current_request_id()
    for day, counts, visits in tally.rows():
        await session.execute(ADD_DAY, {
            "agent_id": agent_id, "day": day, "institution_id": institution_id, "team_id": team_id,
            "counts": counts, "visits": visits, "first_counts": {k: n for k, n in counts.items() if n > 0},
            "request_id": request_id})
