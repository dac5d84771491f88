"""The mobile home pages, one round trip each: the gateway asks the services at once, over HTTP, under the
caller's identity and a scope no wider than the one org gave them, so each service enforces it where the
data lives. A part whose service is down, slow or answering an error comes back `unavailable` with its
reason; the rest of the page still answers."""

from __future__ import annotations

import asyncio
import calendar
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from gateway_service.accounts import Principal
from gateway_service.home_schemas import (
    ActivityToday,
    AgentHome,
    AwaitingReview,
    CurrencyTotal,
    MemberAtRisk,
    MemberCompliance,
    MembersAtRisk,
    MonthToDate,
    OverdueReviews,
    OverdueSheet,
    RankingRow,
    ReceivableDue,
    ReceivablesDue,
    RequirementProgress,
    RiskReason,
    SupervisorHome,
    TeamCompliance,
    TeamRanking,
    Unavailable,
    UncheckedReason,
    WeeklyReview,
)
from gateway_service.upstreams import Upstreams
from svckit.internal_auth import mint_internal_token
from svckit.requestid import REQUEST_ID_HEADER, current_request_id
from svckit.scope import DataScope

log = logging.getLogger("gateway.home")
RANKING_ROWS = 10  # a phone shows the top ten
MONTH_PROGRESS_AGENTS = 5000  # performance's most per call: a whole department's subtree, checked for risk
REVIEW_STATES = {"draft": "draft", "returned": "reviewed", "submitted": "submitted", "approved": "reviewed"}
Read = TypeVar("Read")


@dataclass(frozen=True)
class Failed:
    """A service's part that could not be had, and why (said to the caller)."""

    reason: str


@dataclass(frozen=True)
class Fetcher:
    """GETs from the services as the caller, with `scope` signed into each internal token."""

    upstreams: Upstreams
    secret: str
    principal: Principal
    scope: DataScope
    seconds: float

    async def get(self, service: str, path: str, params: Mapping[str, object]) -> Any:
        """The service's JSON answer, or `Failed`; never raises for the service's sake."""
        token = mint_internal_token(
            self.secret, caller_service="gateway", audience=service, user_id=str(self.principal.user_id),
            username=self.principal.username, roles=self.principal.roles, request_id=current_request_id(),
            institutions=self.principal.institution_ids, scope=self.scope)
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        if request_id := current_request_id():
            headers[REQUEST_ID_HEADER] = request_id
        url = self.upstreams.url(service, f"{path}?{urlencode({k: str(v) for k, v in params.items()})}".encode())
        try:
            async with asyncio.timeout(self.seconds):  # the whole call, connection and body included
                response = await self._send(service, url, headers)
        except (TimeoutError, httpx.TimeoutException):
            log.warning("home part from %s timed out", service, extra={"upstream": service})
            return Failed(f"the {service} service did not answer within {self.seconds:g} s")
        except httpx.RequestError as exc:
            log.warning("home part from %s unreachable: %s", service, type(exc).__name__, extra={"upstream": service})
            return Failed(f"the {service} service cannot be reached")
        if response.status_code != 200:
            code = _problem_code(response)
            # A refused internal token is our misconfiguration (secrets out of step): an error in our log.
            level = logging.ERROR if code.startswith("internal_token_") else logging.WARNING
            log.log(level, "home part from %s answered %s %s", service, response.status_code, code,
                    extra={"upstream": service, "upstream_status": response.status_code, "upstream_code": code})
            return Failed(f"the {service} service answered {response.status_code}" + (f" ({code})" if code else ""))
        try:
            return response.json()
        except ValueError:
            return Failed(f"the {service} service answered something other than JSON")

    async def _send(self, service: str, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        client = self.upstreams.client(service)
        try:
            return await client.get(url, headers=headers, timeout=self.seconds)
        except httpx.ConnectError:
            # Nothing reached the service and a GET is safe to repeat: one more try within the same time.
            await asyncio.sleep(0.05)
            return await client.get(url, headers=headers, timeout=self.seconds)


def _problem_code(response: httpx.Response) -> str:
    try:
        code = response.json().get("code", "")
    except (ValueError, AttributeError):
        return ""
    return code if isinstance(code, str) else ""


class NotYetKnown(LookupError):
    """The service answered without a row for the caller: its copy of the organisation has not caught up."""


def part(service: str, answer: Any, build: Callable[[Any], Read]) -> Read | Unavailable:
    """What `build` reads from the service's answer, or unavailable with the reason."""
    if isinstance(answer, Failed):
        return Unavailable(reason=answer.reason)
    try:
        return build(answer)
    except NotYetKnown:
        return Unavailable(reason=f"the {service} service does not know this agent yet")
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        log.error("home part from %s had an unexpected shape: %s", service, type(exc).__name__,
                  extra={"upstream": service})
        return Unavailable(reason=f"the {service} service answered in a form the gateway does not understand")


def _own_row(rows: list[dict[str, Any]], agent_id: int) -> dict[str, Any]:
    for row in rows:
        if row["agent_id"] == agent_id:
            return row
    raise NotYetKnown(agent_id)


# --- agent home -------------------------------------------------------------------------------------

def _activity_today(body: dict[str, Any], agent_id: int, today: date) -> ActivityToday:
    row = _own_row(body["rows"], agent_id)
    requirements = [RequirementProgress(label=r["label"], target=r["minimum_per_day"], done=r["done"],
                                        met=r["done"] >= r["minimum_per_day"]) for r in row["requirements"]]
    return ActivityToday(day=today, working_day=body["working_days"] > 0, requirements=requirements,
                         all_met=all(r.met for r in requirements), visits=row["visits"],
                         visit_minimum=body["visit_minimum"])


def _month_to_date(body: dict[str, Any], agent_id: int) -> MonthToDate:
    row = _own_row(body["agents"], agent_id)
    return MonthToDate(period=body["period"], currency=body["currency"], fyc=row["fyc"],
                       received_premium=row["received_premium"], target=row["target"],
                       achievement=row["achievement"])


def _receivables_due(body: dict[str, Any]) -> ReceivablesDue:
    items = [ReceivableDue(receivable_id=r["id"], policy_id=r["policy_id"], customer_id=r["customer_id"],
                           due_on=r["due_on"], deadline_on=r["deadline_on"], currency=r["currency"],
                           outstanding=Decimal(r["amount"]) - Decimal(r["received"])) for r in body["items"]]
    return ReceivablesDue(working_days=body["working_days"], until=body["until"], provisional=body["provisional"],
                          count=body["count"], totals=[CurrencyTotal.model_validate(t) for t in body["totals"]],
                          items=items)


def _weekly_review(body: dict[str, Any], monday: date) -> WeeklyReview:
    week = {"week_start": monday, "week_end": monday + timedelta(days=6)}
    if not body["items"]:
        return WeeklyReview(**week, state="none", decision=None, sheet_id=None, due_on=None, submitted_at=None)
    sheet = body["items"][0]
    status = sheet["status"]
    return WeeklyReview(**week, state=REVIEW_STATES[status],
                        decision=status if status in ("approved", "returned") else None, sheet_id=sheet["id"],
                        due_on=sheet["due_on"], submitted_at=sheet["submitted_at"])


async def agent_home(fetch: Fetcher, *, agent_id: int, today: date, working_days: int) -> AgentHome:
    monday = today - timedelta(days=today.weekday())
    compliance, progress, due, sheets = await asyncio.gather(
        fetch.get("activity", "/v1/compliance", {"period": "day", "on": today, "model": "agent", "level": "agent"}),
        fetch.get("performance", "/v1/month-progress", {"period": f"{today:%Y-%m}"}),
        fetch.get("ledger", "/v1/receivables/due-soon", {"on": today, "working_days": working_days}),
        fetch.get("activity", "/v1/plans", {"kind": "weekly_review", "agent_id": agent_id, "from": monday,
                                            "to": monday, "limit": 1}),
    )
    parts = {
        "activity_today": part("activity", compliance, lambda b: _activity_today(b, agent_id, today)),
        "month_to_date": part("performance", progress, lambda b: _month_to_date(b, agent_id)),
        "receivables_due": part("ledger", due, _receivables_due),
        "weekly_review": part("activity", sheets, lambda b: _weekly_review(b, monday)),
    }
    return AgentHome.model_validate({
        "agent_id": agent_id, "today": today, **parts,
        "degraded": [name for name, p in parts.items() if isinstance(p, Unavailable)]})


# --- supervisor home --------------------------------------------------------------------------------

def _team_compliance(body: dict[str, Any], supervisor_id: int) -> TeamCompliance:
    rows = [r for r in body["rows"] if r["agent_id"] != supervisor_id]
    members = [MemberCompliance(agent_id=r["agent_id"], compliant_days=r["compliant_days"],
                                working_days=r["agent_days"], compliance_rate=r["compliance_rate"],
                                visits=r["visits"]) for r in rows]
    members.sort(key=lambda m: (m.compliance_rate is None, m.compliance_rate or 0.0, m.agent_id))
    compliant, member_days = sum(m.compliant_days for m in members), sum(m.working_days for m in members)
    return TeamCompliance(week_start=body["start"], working_days=body["working_days"], members=len(members),
                          compliant_days=compliant, member_days=member_days,
                          compliance_rate=round(compliant / member_days, 4) if member_days else None,
                          by_member=members)


def _overdue_reviews(body: dict[str, Any]) -> OverdueReviews:
    return OverdueReviews(
        overdue=[OverdueSheet(agent_id=o["agent_id"], kind=o["kind"], period_start=o["period_start"],
                              due_on=o["due_on"], state=o["status"], sheet_id=o["sheet_id"]) for o in body["overdue"]],
        awaiting_review=[AwaitingReview(sheet_id=s["id"], agent_id=s["agent_id"], kind=s["kind"],
                                        period_start=s["period_start"], submitted_at=s["submitted_at"])
                         for s in body["awaiting_review"]])


def _team_ranking(body: list[dict[str, Any]], period: str) -> TeamRanking:
    return TeamRanking(period=period, rows=[RankingRow(place=r["place"], agent_id=r["key"], value=r["value"])
                                            for r in body])


def _behind_target(body: dict[str, Any], today: date) -> set[int]:
    """Received premium below the monthly target pro rata to the days of the month gone, today included."""
    gone = Decimal(today.day) / Decimal(calendar.monthrange(today.year, today.month)[1])
    return {r["agent_id"] for r in body["agents"]
            if r["target"] is not None and Decimal(r["received_premium"]) < Decimal(r["target"]) * gone}


def _with_overdue_premium(body: dict[str, Any]) -> set[int]:
    return {r["group_id"] for r in body["rows"]
            if r["group_id"] is not None and sum(Decimal(v) for v in r["overdue"].values()) > 0}


def _members_at_risk(signs: dict[RiskReason, tuple[str, Any, Callable[[Any], set[int]]]],
                     supervisor_id: int) -> MembersAtRisk | Unavailable:
    """Each member showing a sign, with the signs; a sign whose service could not answer is listed as not
    checked, and only when none could be checked is the part unavailable."""
    flagged: dict[int, list[RiskReason]] = {}
    not_checked: list[UncheckedReason] = []
    for reason, (service, answer, who) in signs.items():
        found = part(service, answer, who)
        if isinstance(found, Unavailable):
            not_checked.append(UncheckedReason(reason=reason, why=found.reason))
            continue
        for agent_id in sorted(found - {supervisor_id}):
            flagged.setdefault(agent_id, []).append(reason)
    if len(not_checked) == len(signs):
        return Unavailable(reason="; ".join(n.why for n in not_checked))
    return MembersAtRisk(members=[MemberAtRisk(agent_id=a, reasons=r) for a, r in sorted(flagged.items())],
                         not_checked=not_checked)


async def supervisor_home(fetch: Fetcher, *, supervisor_id: int, today: date) -> SupervisorHome:
    period = f"{today:%Y-%m}"
    compliance, overdue, flags, ranking, progress, aging = await asyncio.gather(
        fetch.get("activity", "/v1/compliance", {"period": "week", "on": today, "model": "agent", "level": "agent"}),
        fetch.get("activity", "/v1/plans/overdue", {"on": today}),
        fetch.get("activity", "/v1/visit-flags", {"on": today}),
        fetch.get("performance", "/v1/rankings", {"period": period, "by": "agent", "metric": "received_premium",
                                                  "limit": RANKING_ROWS}),
        fetch.get("performance", "/v1/month-progress", {"period": period, "limit": MONTH_PROGRESS_AGENTS}),
        fetch.get("ledger", "/v1/receivables/aging", {"on": today, "group_by": "agent"}),
    )
    parts = {
        "team_compliance": part("activity", compliance, lambda b: _team_compliance(b, supervisor_id)),
        "overdue_reviews": part("activity", overdue, _overdue_reviews),
        "team_ranking": part("performance", ranking, lambda b: _team_ranking(b, period)),
        "members_at_risk": _members_at_risk({
            "fewest_visits": ("activity", flags, lambda b: {f["agent_id"] for f in b["flagged"]}),
            "behind_target": ("performance", progress, lambda b: _behind_target(b, today)),
            "overdue_receivables": ("ledger", aging, _with_overdue_premium),
        }, supervisor_id),
    }
    degraded = [name for name, p in parts.items()
                if isinstance(p, Unavailable) or (isinstance(p, MembersAtRisk) and p.not_checked)]
    return SupervisorHome.model_validate({"agent_id": supervisor_id, "today": today, **parts, "degraded": degraded})
