"""Received premium counts in the month the money was received (the ledger's `received_on`), not the
month the event was written: a receipt of October confirmed in November is October's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from performance_service.facts import FactIngest
from performance_service.models import PolicyRecord
from svckit.outbox import FeedEvent


def received(**extra: Any) -> FeedEvent:
    return FeedEvent(id=7, cursor="7", type="premium.received", aggregate_type="receivable", aggregate_id="3",
                     occurred_at=datetime(2026, 11, 29, 3, tzinfo=UTC), payload={
                         "receivable_id": 3, "policy_id": 11, "installment_no": 1, "agent_id": 5,
                         "institution_id": 2, "branch_id": 1, "amount": "3600.0000", "currency": "CNY", **extra})


async def facts_of(event: FeedEvent) -> list[dict[str, Any]]:
    ingest = FactIngest()
    ingest.policies = {11: PolicyRecord(policy_id=11, agent_id=5, branch_id=1, product_code="LIFE-20",
                                        currency="CNY", issued_on=date(2026, 9, 28))}
    return await ingest.facts_of(None, event, {5: 2})  # type: ignore[arg-type]  # the policy is in hand


async def test_a_late_confirmed_receipt_counts_in_the_month_it_was_received() -> None:
    [fact] = await facts_of(received(received_on="2026-10-09"))
    assert (fact["kind"], fact["period"], fact["occurred_on"], fact["amount"]) == (
        "received_premium", "2026-10", date(2026, 10, 9), Decimal("3600.0000"))


async def test_an_event_without_the_day_counts_on_the_day_it_was_written() -> None:
    [fact] = await facts_of(received())
    assert (fact["period"], fact["occurred_on"]) == ("2026-11", date(2026, 11, 29))
