"""Data scope: which objects an end user may see, decided where the data lives.

The org service computes a user's scope from the organisation; the gateway signs it into every
internal token; each service checks every object it reads or writes against it, using the
object's own agent and institution chains (which the service keeps with its data).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataScope:
    """`everything` for administrators; else the union of: the agent themself (`agent_id`), everyone
    below them when `subtree` (supervisors), and everything in `institutions` and below (staff).

    `company_wide` ("head office"): the user's scope covers the whole company, so they may change what
    applies to all of it (rules, calendar, settlement runs); `everything` implies it."""

    everything: bool = False
    agent_id: int | None = None
    subtree: bool = False
    institutions: frozenset[int] = field(default_factory=frozenset)
    company_wide: bool = False

    def __post_init__(self) -> None:
        if self.everything and not self.company_wide:
            object.__setattr__(self, "company_wide", True)

    @property
    def empty(self) -> bool:
        return not (self.everything or self.agent_id is not None or self.institutions)

    def allows(self, *, agent_id: int | None, agent_path: Collection[int] = (),
               institution_path: Collection[int] = ()) -> bool:
        """May the user see an object owned by `agent_id`, who stands below `agent_path` (their
        supervisors) in the institution whose chain (HQ down to itself) is `institution_path`?"""
        if self.everything:
            return True
        mine = self.agent_id is not None and agent_id is not None and (
            agent_id == self.agent_id or (self.subtree and self.agent_id in agent_path))
        if mine:
            return True
        return bool(self.institutions) and not self.institutions.isdisjoint(institution_path)

    def to_claim(self) -> dict[str, Any]:
        return {"all": self.everything, "agent": self.agent_id, "subtree": self.subtree,
                "inst": sorted(self.institutions), "cw": self.company_wide}

    @classmethod
    def from_claim(cls, claim: Any) -> DataScope:
        """An absent or malformed claim grants nothing."""
        if not isinstance(claim, dict):
            return cls()
        agent = claim.get("agent")
        institutions = claim.get("inst") or []
        return cls(
            everything=claim.get("all") is True,
            agent_id=agent if isinstance(agent, int) and not isinstance(agent, bool) else None,
            subtree=claim.get("subtree") is True,
            institutions=frozenset(i for i in institutions if isinstance(i, int) and not isinstance(i, bool)),
            company_wide=claim.get("cw") is True,
        )


SYSTEM_SCOPE = DataScope(everything=True)
NO_SCOPE = DataScope()
