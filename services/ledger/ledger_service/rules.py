"""The ledger's business rules as effective-dated data: each rule has a name, a value whose shape
is checked here, and versions that follow one another in time. Seeded with DOMAIN.md's defaults
(seed 000 第十四条); a change is a new version, never an edit of one in force."""

from __future__ import annotations

import itertools
from decimal import Decimal

from pydantic import Field, model_validator

from ledger_service.models import RuleVersion
from svckit.rules import RuleBook, RuleValue


class CollectionDeadlines(RuleValue):
    """Working days to collect a premium after it falls due, by policyholder kind."""

    individual: int = Field(ge=0, le=250, description="e.g. 5 working days")
    organisation: int = Field(ge=0, le=250, description="e.g. 20 working days")

    def for_kind(self, kind: str) -> int:
        return self.individual if kind == "individual" else self.organisation


class AgingBuckets(RuleValue):
    """Upper bounds (days past the deadline) of the overdue buckets; beyond the last is the last bucket."""

    bounds: list[int] = Field(min_length=1, max_length=12, description="e.g. [30, 60, 90]")

    @model_validator(mode="after")
    def _increasing(self) -> AgingBuckets:
        if any(b <= 0 for b in self.bounds) or self.bounds != sorted(set(self.bounds)):
            raise ValueError("bounds must be positive and strictly increasing")
        return self

    def labels(self) -> list[str]:
        edges = [0, *self.bounds]
        return [f"{lo + 1}-{hi}" for lo, hi in itertools.pairwise(edges)] + [f">{self.bounds[-1]}"]


class Clawback(RuleValue):
    """Commission recovered from the agent when a policy is surrendered or lapses within the window."""

    window_months: int = Field(ge=0, le=60, description="e.g. 12 months from issue")
    share: Decimal = Field(ge=0, le=1, description="Share of the commission paid on the policy, e.g. 1")


RULES: dict[str, type[RuleValue]] = {
    "collection_deadlines": CollectionDeadlines,
    "aging_buckets": AgingBuckets,
    "clawback": Clawback,
}

BOOK = RuleBook(RuleVersion, RULES)
in_force = BOOK.in_force
