"""5-3-1 / 1-1-1 compliance 活动量达标 per person, team and institution, and the flag on the agent with
the fewest visits for N consecutive weeks.

A day is compliant when every requirement of the role's daily model in force is met. Every working
day of the period up to today counts, including those with nothing logged; the report reads one row
per agent and day (`activity_day`), never the entries, so a month of 10,000 agents stays cheap.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, Date

from activity_service import rules, workdays
from activity_service.models import DIRECTORY
from svckit.directory import scope_condition
from svckit.errors import Unprocessable
from svckit.scope import DataScope

Period = Literal["day", "week", "month"]
Level = Literal["agent", "team", "institution"]
Model = Literal["agent", "supervisor"]


def period_bounds(period: Period, on: date) -> tuple[date, date]:
    """The day, the Monday–Sunday week, or the calendar month holding `on`."""
    if period == "day":
        return on, on
    if period == "week":
        start = on - timedelta(days=on.weekday())
        return start, start + timedelta(days=6)
    return on.replace(day=1), on.replace(day=calendar.monthrange(on.year, on.month)[1])


@dataclass(frozen=True)
class Requirement:
    label: str
    minimum: int


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    working_days: int
    provisional: bool
    requirements: list[Requirement]
    visit_minimum: int
    rows: list[dict[str, Any]]


def _population(scope: DataScope) -> tuple[str, dict[str, Any]]:
    """The agents the scope holds who have not left (from the copy of org's agents) as SQL text, and its
    parameters: a subquery of agent_id, institution_id, team_id."""
    a = DIRECTORY.agents.alias("scoped")
    query = select(a.c.agent_id, a.c.institution_id, a.c.team_id).where(
        scope_condition(scope, DIRECTORY, a.c.agent_id, a.c.institution_id), a.c.status != "left")
    # Inlined: the values are ids and a status from the signed scope, never text a user typed.
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[no-untyped-call]
    # Literal arrays are integer[]; the copy's paths are bigint[].
    return re.sub(r"ARRAY\[([0-9, ]*)\]", r"CAST(ARRAY[\1] AS bigint[])", str(compiled)), {}


def _requirement_sql(reqs: list[rules.Requirement], params: dict[str, Any]) -> list[str]:
    """One SQL sum per requirement over a day's counts, its kinds bound as parameters."""
    sums = []
    for r_index, req in enumerate(reqs):
        terms = []
        for k_index, kind in enumerate(req.kinds):
            name = f"k{r_index}_{k_index}"
            params[name] = kind
            terms.append(f"coalesce((d.counts ->> :{name})::int, 0)")
        sums.append("(" + " + ".join(terms) + ")")
    return sums


async def report(session: AsyncSession, scope: DataScope, *, period: Period, on: date, today: date, model: Model,
                 level: Level, institution_id: int | None = None, team_id: int | None = None) -> Report:
    start, end = period_bounds(period, on)
    if start > today:
        raise Unprocessable(f"the period from {start} has not begun", code="period_in_future", field="on")
    counted = workdays.between(start, min(end, today))
    targets = await rules.in_force(session, rules.DailyTargets, min(end, today))
    minimum = await rules.in_force(session, rules.VisitMinimum, min(end, today))
    reqs = targets.agent if model == "agent" else targets.supervisor
    params: dict[str, Any] = {"start": start, "end": end, "workdays": list(counted.days),
                              "visit_min": minimum.per_day}
    sums = _requirement_sql(reqs, params)
    met = " AND ".join(f"{s} >= {req.minimum}" for s, req in zip(sums, reqs, strict=True))
    totals = ", ".join(f"sum({s}) AS r{i}" for i, s in enumerate(sums))
    population, population_params = _population(scope)
    where = ["true"]
    params.update(population_params)
    if model == "supervisor":
        where.append("EXISTS (SELECT 1 FROM activity.org_agent m WHERE m.path @> ARRAY[a.agent_id])")
    if institution_id is not None:
        where.append("EXISTS (SELECT 1 FROM activity.org_institution i WHERE i.institution_id = a.institution_id"
                     " AND i.path @> ARRAY[CAST(:institution_id AS bigint)])")
        params["institution_id"] = institution_id
    if team_id is not None:
        where.append("a.team_id = :team_id")
        params["team_id"] = team_id
    # Assembled from fixed fragments; values are bound, the scope is compiled from ids (see _population).
    per_agent = f"""
        SELECT a.agent_id, a.institution_id, a.team_id,
               coalesce(x.compliant_days, 0) AS compliant_days, coalesce(x.active_days, 0) AS active_days,
               coalesce(x.visits, 0) AS visits, coalesce(x.met_minimum_days, 0) AS met_minimum_days,
               coalesce(x.explained_days, 0) AS explained_days,
               {", ".join(f"coalesce(x.r{i}, 0) AS r{i}" for i in range(len(sums)))}
          FROM ({population}) AS a
          LEFT JOIN (
              SELECT d.agent_id,
                     count(*) FILTER (WHERE d.day = ANY(:workdays) AND {met}) AS compliant_days,
                     count(*) FILTER (WHERE d.day = ANY(:workdays)) AS active_days,
                     sum(d.visits) AS visits,
                     count(*) FILTER (WHERE d.day = ANY(:workdays) AND d.visits >= :visit_min) AS met_minimum_days,
                     count(*) FILTER (WHERE d.day = ANY(:workdays) AND d.visits < :visit_min
                                        AND d.explanation IS NOT NULL) AS explained_days,
                     {totals}
                FROM activity.activity_day AS d
               WHERE d.day BETWEEN :start AND :end
               GROUP BY d.agent_id) AS x ON x.agent_id = a.agent_id
         WHERE {" AND ".join(where)}"""  # noqa: S608
    r_cols = ", ".join(f"sum(r{i}) AS r{i}" for i in range(len(sums)))
    if level == "agent":
        sql = f"SELECT *, 1 AS agents FROM ({per_agent}) p ORDER BY agent_id"  # noqa: S608
    else:
        key = "team_id" if level == "team" else "institution_id"
        sql = (f"SELECT {key}, count(*) AS agents, sum(compliant_days) AS compliant_days,"  # noqa: S608
               f" sum(active_days) AS active_days, sum(visits) AS visits, sum(met_minimum_days) AS met_minimum_days,"
               f" sum(explained_days) AS explained_days, {r_cols}"
               f" FROM ({per_agent}) p GROUP BY {key} ORDER BY {key} NULLS LAST")
    statement = text(sql).bindparams(bindparam("workdays", type_=ARRAY(Date)))
    if "institution_id" in params:
        statement = statement.bindparams(bindparam("institution_id", type_=BigInteger))
    rows = (await session.execute(statement, params)).mappings().all()
    working = len(counted.days)
    out = []
    for row in rows:
        agents = int(row["agents"])
        agent_days = agents * working
        short = agent_days - int(row["met_minimum_days"])
        out.append({
            **{k: row[k] for k in ("agent_id", "team_id", "institution_id") if k in row},
            "agents": agents,
            "agent_days": agent_days,
            "active_days": int(row["active_days"]),
            "compliant_days": int(row["compliant_days"]),
            "compliance_rate": round(int(row["compliant_days"]) / agent_days, 4) if agent_days else None,
            "requirements": [{"label": req.label, "minimum_per_day": req.minimum, "done": int(row[f"r{i}"]),
                              "target": req.minimum * agent_days} for i, req in enumerate(reqs)],
            "visits": int(row["visits"]),
            "shortfall_days": short,
            "unexplained_shortfall_days": short - int(row["explained_days"]),
        })
    return Report(start, end, working, counted.provisional, [Requirement(r.label, r.minimum) for r in reqs],
                  minimum.per_day, out)


async def fewest_visit_flags(session: AsyncSession, scope: DataScope, *, on: date) -> tuple[int, list[dict[str, Any]]]:
    """Agents who had the fewest visits of their team in each of the last N complete weeks before the
    week of `on` (N from the visit-minimum rule), with their visits week by week (oldest first)."""
    rule = await rules.in_force(session, rules.VisitMinimum, on)
    this_monday = on - timedelta(days=on.weekday())
    population, population_params = _population(scope)
    sql = f"""
        WITH pop AS (SELECT a.agent_id, a.team_id FROM ({population}) a WHERE a.team_id IS NOT NULL),
             weeks AS (SELECT w, CAST(:monday AS date) - 7 * w AS monday FROM generate_series(1, :n) AS w),
             weekly AS (
                SELECT p.agent_id, p.team_id, weeks.w,
                       (SELECT coalesce(sum(d.visits), 0) FROM activity.activity_day d
                         WHERE d.agent_id = p.agent_id AND d.day >= weeks.monday AND d.day < weeks.monday + 7) AS v
                  FROM pop p CROSS JOIN weeks),
             ranked AS (
                SELECT *, v = min(v) OVER (PARTITION BY team_id, w) AND count(*) OVER (PARTITION BY team_id, w) > 1
                          AS fewest
                  FROM weekly)
        SELECT agent_id, team_id, array_agg(v ORDER BY w DESC) AS visits
          FROM ranked GROUP BY agent_id, team_id HAVING bool_and(fewest) ORDER BY team_id, agent_id"""  # noqa: S608
    rows = (await session.execute(text(sql), {"monday": this_monday, "n": rule.flag_after_weeks,
                                              **population_params})).mappings().all()
    return rule.flag_after_weeks, [{"agent_id": r["agent_id"], "team_id": r["team_id"],
                                    "weekly_visits": [int(v) for v in r["visits"]]} for r in rows]


async def tracking_calls(session: AsyncSession, scope: DataScope, *,
                         on: date) -> tuple[date, int, list[dict[str, Any]]]:
    """Tracking calls 电话追踪 each supervisor made to each of their direct members in the week of `on`,
    against the weekly number the daily-targets rule asks for (seed 002: 2–3 a week per member).
    Supervisors are those the caller's scope holds; withdrawn entries do not count."""
    monday = on - timedelta(days=on.weekday())
    rule = await rules.in_force(session, rules.DailyTargets, on)
    population, _ = _population(scope)
    sql = f"""
        SELECT s.agent_id AS supervisor_id, m.agent_id AS member_agent_id,
               (SELECT count(*) FROM activity.entry e
                 WHERE e.agent_id = s.agent_id AND e.member_agent_id = m.agent_id AND e.kind = 'tracking_call'
                   AND NOT e.withdrawn AND e.day >= :monday AND e.day < :monday + 7) AS calls
          FROM ({population}) AS s
          JOIN activity.org_agent AS m ON m.path[cardinality(m.path)] = s.agent_id AND m.status <> 'left'
         ORDER BY s.agent_id, m.agent_id"""  # noqa: S608 - fixed fragments; the scope is compiled from ids
    rows = (await session.execute(text(sql), {"monday": monday})).mappings().all()
    minimum = rule.tracking_calls_per_member_per_week
    return monday, minimum, [{"supervisor_id": r["supervisor_id"], "member_agent_id": r["member_agent_id"],
                              "calls": int(r["calls"]), "short_by": max(minimum - int(r["calls"]), 0)}
                             for r in rows]
