"""Facts 业绩事实 from the ledger's change feed, each event taking effect once (svckit.feed).

- policy.issued: the policy is registered (product, issue date) and first-year premium (FYP),
  standard premium 标准保费 and a new policy are recorded;
- premium.received: received premium 实收保费 on its product and policy year (the only premium
  that earns commission); renewal premium is received premium of policy year 2 and later;
- entry.reversed of a receipt: the premium it had received is taken back (a negative fact);
- policy.lapsed / surrendered / cancelled: the policy ended (clawback looks at it);
- policy.agent_reassigned: the policy's agent changes for what is received later.
An event naming an agent the organisation does not know, or a premium on a policy never issued,
is quarantined with its reason (never counted silently) and admitted again once it is known.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from performance_service.models import DIRECTORY, FactQuarantine, PolicyRecord
from svckit.directory import branch_of
from svckit.errors import Unprocessable
from svckit.outbox import FeedEvent
from svckit.scope import DataScope
from svckit.timeutil import business_date, utcnow

SOURCE = "ledger"
RECEIPT_KINDS = frozenset({"receipt", "bank_debit", "suspense_applied"})
ENDINGS = frozenset({"policy.lapsed", "policy.surrendered", "policy.cancelled"})
INSERT_FACTS = text(
    "INSERT INTO performance.fact (branch_id, agent_id, institution_id, period, occurred_on, kind, policy_id,"
    "  product_code, policy_year, currency, amount, policies, event_id, detail)"
    " VALUES (:branch_id, :agent_id, :institution_id, :period, :occurred_on, :kind, :policy_id, :product_code,"
    "  :policy_year, :currency, :amount, :policies, :event_id, CAST(:detail AS jsonb))")


class Quarantined(Exception):
    def __init__(self, agent_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.agent_id, self.reason = agent_id, reason


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def policy_year(issued_on: date, on: date) -> int:
    """保单年度: 1 in the first twelve months from issue, 2 in the next twelve, and so on."""
    months = (on.year - issued_on.year) * 12 + on.month - issued_on.month - (on.day < issued_on.day)
    return max(months, 0) // 12 + 1


def _day(value: Any, fallback: datetime) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else business_date(fallback)


def _fact(event: FeedEvent, *, kind: str, agent_id: int, institution_id: int, branch_id: int, on: date,
          currency: str, amount: Decimal, policies: int = 0, policy: PolicyRecord | None = None,
          year: int | None = None, detail: str | None = None) -> dict[str, Any]:
    return {"branch_id": branch_id, "agent_id": agent_id, "institution_id": institution_id, "period": period_of(on),
            "occurred_on": on, "kind": kind, "policy_id": policy.policy_id if policy else None,
            "product_code": policy.product_code if policy else None, "policy_year": year, "currency": currency,
            "amount": amount, "policies": policies, "event_id": event.id, "detail": detail}


class FactIngest:
    """Turns a page of ledger events into facts; the feed consumer commits them with its cursor."""

    def __init__(self) -> None:
        self.policies: dict[int, PolicyRecord] = {}  # the current page's, loaded at once

    async def known_agents(self, session: AsyncSession, ids: set[int]) -> dict[int, int]:
        """Agent → institution, for the agents the replica of the organisation knows."""
        a = DIRECTORY.agents
        rows = await session.execute(select(a.c.agent_id, a.c.institution_id).where(a.c.agent_id.in_(sorted(ids))))
        return {int(r.agent_id): int(r.institution_id) for r in rows}

    async def handle_page(self, session: AsyncSession, events: list[FeedEvent]) -> None:
        agent_ids = {int(x) for e in events for x in _agents_of(e)}
        known = await self.known_agents(session, agent_ids) if agent_ids else {}
        # The page's policies in one query rather than one per event.
        policy_ids = {int(x) for e in events for x in _policies_of(e)}
        self.policies = {p.policy_id: p for p in (await session.execute(select(PolicyRecord).where(
            PolicyRecord.policy_id.in_(sorted(policy_ids))))).scalars()} if policy_ids else {}
        rows: list[dict[str, Any]] = []
        for event in events:
            try:
                rows += await self.facts_of(session, event, known)
            except Quarantined as held:
                await session.execute(insert(FactQuarantine).values(
                    event_id=event.id, event_type=event.type, agent_id=held.agent_id, payload=event.payload,
                    occurred_at=event.occurred_at, reason=held.reason).on_conflict_do_nothing())
        if rows:
            await session.execute(INSERT_FACTS, rows)

    async def facts_of(self, session: AsyncSession, event: FeedEvent, known: dict[int, int]) -> list[dict[str, Any]]:
        p = event.payload
        if event.type == "policy.issued":
            return await self._issued(session, event, known)
        if event.type == "premium.received":
            return await self._received(session, event, known)
        if event.type == "entry.reversed" and p.get("kind") in RECEIPT_KINDS:
            return await self._reversed(session, event, known)
        if event.type in ENDINGS:
            return await self._ended(session, event, known)
        if event.type == "policy.agent_reassigned":
            await session.execute(update(PolicyRecord).where(PolicyRecord.policy_id == int(p["policy_id"]))
                                  .values(agent_id=int(p["agent_id"])))
        return []

    @staticmethod
    def _agent(known: dict[int, int], agent_id: int) -> int:
        if agent_id not in known:
            raise Quarantined(agent_id, f"agent {agent_id} is not known to the organisation")
        return known[agent_id]

    async def _issued(self, session: AsyncSession, event: FeedEvent, known: dict[int, int]) -> list[dict[str, Any]]:
        p = event.payload
        agent_id = int(p["agent_id"])
        self._agent(known, agent_id)
        issued_on = date.fromisoformat(p["issued_on"])
        values = {"policy_id": int(p["policy_id"]), "agent_id": agent_id, "branch_id": int(p["branch_id"]),
                  "product_code": str(p["product_code"]), "currency": str(p["currency"]), "issued_on": issued_on,
                  "status": "in_force", "status_on": issued_on}
        statement = insert(PolicyRecord).values(values)
        await session.execute(statement.on_conflict_do_update(index_elements=[PolicyRecord.policy_id], set_=values))
        policy = PolicyRecord(**values)
        premium = Decimal(str(p["premium"]))
        standard = Decimal(str(p.get("standard_premium") or p["premium"]))
        return [_fact(event, kind=kind, agent_id=agent_id, institution_id=int(p["institution_id"]),
                      branch_id=int(p["branch_id"]), on=issued_on, currency=str(p["currency"]), amount=amount,
                      policies=policies, policy=policy, year=1)
                for kind, amount, policies in (("fyp", premium, 0), ("standard_premium", standard, 0),
                                               ("new_policy", Decimal(0), 1))]

    async def _policy(self, session: AsyncSession, policy_id: int) -> PolicyRecord:
        policy = self.policies.get(policy_id) or await session.get(PolicyRecord, policy_id)
        if policy is None:
            raise Quarantined(None, f"policy {policy_id} was never issued in the ledger's feed")
        return policy

    async def _received(self, session: AsyncSession, event: FeedEvent,
                        known: dict[int, int]) -> list[dict[str, Any]]:
        p = event.payload
        agent_id = int(p["agent_id"])
        self._agent(known, agent_id)
        policy = await self._policy(session, int(p["policy_id"]))
        # The month it counts in is the day the money was received (the ledger's entry date), not the
        # day the event was written: a receipt confirmed late still counts in its own month.
        on = _day(p.get("received_on"), event.occurred_at)
        year = 1 if p.get("installment_no") == 1 else policy_year(policy.issued_on, on)
        return [_fact(event, kind="received_premium", agent_id=agent_id, institution_id=int(p["institution_id"]),
                      branch_id=int(p["branch_id"]), on=on, currency=str(p["currency"]),
                      amount=Decimal(str(p["amount"])), policy=policy, year=year)]

    async def _reversed(self, session: AsyncSession, event: FeedEvent,
                        known: dict[int, int]) -> list[dict[str, Any]]:
        p = event.payload
        on = _day(p.get("effective_on"), event.occurred_at)
        rows = []
        for posting in p.get("postings", []):
            if posting.get("account") != "premium_receivable" or posting.get("agent_id") is None:
                continue
            agent_id = int(posting["agent_id"])
            institution_id = self._agent(known, agent_id)
            policy = await self._policy(session, int(posting["policy_id"]))
            # The receipt credited the receivable (a negative amount): the same amount, received no more.
            rows.append(_fact(event, kind="reversal", agent_id=agent_id, institution_id=institution_id,
                              branch_id=int(p["branch_id"]), on=on, currency=str(posting["currency"]),
                              amount=Decimal(str(posting["amount"])), policy=policy,
                              year=policy_year(policy.issued_on, on),
                              detail=f'{{"entry_id": {int(p["entry_id"])}}}'))
        return rows

    async def _ended(self, session: AsyncSession, event: FeedEvent, known: dict[int, int]) -> list[dict[str, Any]]:
        p = event.payload
        agent_id = int(p["agent_id"])
        self._agent(known, agent_id)
        policy = await self._policy(session, int(p["policy_id"]))
        on = date.fromisoformat(p["effective_on"])
        how = event.type.removeprefix("policy.")
        await session.execute(update(PolicyRecord).where(PolicyRecord.policy_id == policy.policy_id)
                              .values(status=how, status_on=on))
        return [_fact(event, kind="policy_ended", agent_id=agent_id, institution_id=int(p["institution_id"]),
                      branch_id=int(p["branch_id"]), on=on, currency=policy.currency, amount=Decimal(0),
                      policy=policy, year=policy_year(policy.issued_on, on), detail=f'{{"how": "{how}"}}')]


def _policies_of(event: FeedEvent) -> list[Any]:
    found = [event.payload.get("policy_id")]
    found += [x.get("policy_id") for x in event.payload.get("postings", []) if isinstance(x, dict)]
    return [x for x in found if isinstance(x, int)]


def _agents_of(event: FeedEvent) -> list[Any]:
    found = [event.payload.get("agent_id")]
    found += [x.get("agent_id") for x in event.payload.get("postings", []) if isinstance(x, dict)]
    return [x for x in found if isinstance(x, int)]


async def admit_quarantined(session: AsyncSession, ingest: FactIngest,
                            visible: ColumnElement[bool] | None = None) -> tuple[int, int]:
    """Try the quarantined events again (the organisation or the policy may be known now), those of
    them `visible` to the caller (access.held_condition) or every one; returns (admitted, still held)."""
    query = select(FactQuarantine).where(FactQuarantine.admitted_at.is_(None))
    if visible is not None:
        query = query.where(visible)
    held = (await session.execute(query.order_by(FactQuarantine.id).with_for_update(skip_locked=True))
            ).scalars().all()
    events = [FeedEvent(id=record.event_id, cursor="", type=record.event_type, aggregate_type="", aggregate_id="",
                        payload=record.payload, occurred_at=record.occurred_at) for record in held]
    # The agents and policies of every held event in one query each, as a page of the feed is read.
    agent_ids = {int(x) for e in events for x in _agents_of(e)}
    known = await ingest.known_agents(session, agent_ids) if agent_ids else {}
    policy_ids = {int(x) for e in events for x in _policies_of(e)}
    ingest.policies = {p.policy_id: p for p in (await session.execute(select(PolicyRecord).where(
        PolicyRecord.policy_id.in_(sorted(policy_ids))))).scalars()} if policy_ids else {}
    admitted, rows = 0, []
    for record, event in zip(held, events, strict=True):
        try:
            rows += await ingest.facts_of(session, event, known)
        except Quarantined as still:
            record.reason = still.reason
            continue
        record.admitted_at = utcnow()
        admitted += 1
    if rows:
        await session.execute(INSERT_FACTS, rows)
    await session.flush()
    return admitted, len(held) - admitted


async def import_facts(session: AsyncSession, facts: list[dict[str, Any]], *, source: str, actor: str,
                       scope: DataScope) -> int:
    """Facts from outside the ledger's feed (e.g. an insurer's file), all or none: a line naming an agent
    the organisation does not know, or one outside the caller's data scope, refuses the whole import
    naming the line, in the same words (an agent of another branch is not revealed to exist).

    Unlike the ledger's feed, an import never quarantines: a fact held for an unknown agent could
    be admitted later for whoever that agent turns out to be, in any branch."""
    a, i = DIRECTORY.agents, DIRECTORY.institutions
    ids = sorted({int(f["agent_id"]) for f in facts})
    # One query for every agent of the import: their institution, and the chains the scope is judged on.
    where = {int(r.agent_id): (int(r.institution_id), list(r.path)) for r in await session.execute(
        select(a.c.agent_id, a.c.institution_id, a.c.path.label("agent_path"), i.c.path)
        .join(i, i.c.institution_id == a.c.institution_id).where(a.c.agent_id.in_(ids)))
        if scope.allows(agent_id=int(r.agent_id), agent_path=r.agent_path, institution_path=r.path)}
    rows = []
    for n, f in enumerate(facts):
        found = where.get(int(f["agent_id"]))
        if found is None:
            raise Unprocessable(f"facts[{n}]: agent {f['agent_id']} is not known to the organisation within your "
                                "data scope", code="agent_not_found", field=f"facts[{n}].agent_id")
        institution, path = found
        rows.append({"branch_id": branch_of(path), "agent_id": f["agent_id"], "institution_id": institution,
                     "period": period_of(f["occurred_on"]), "occurred_on": f["occurred_on"], "kind": f["kind"],
                     "policy_id": None, "product_code": f["product_code"], "policy_year": f["policy_year"],
                     "currency": f["currency"], "amount": f["amount"], "policies": f["policies"], "event_id": 0,
                     "detail": json.dumps({"source": source, "imported_by": actor}, ensure_ascii=False)})
    await session.execute(INSERT_FACTS, rows)
    return len(rows)
