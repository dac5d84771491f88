"""A team's premium target as performance holds it (`GET /v1/targets?team_id=&year=&metric=premium`): the
year's amount and each month's share, which a team's annual and monthly plans must agree with.

Asked as the activity service itself. When performance is not configured, has no target for the team's
year, or does not answer, the answer is None: the plan keeps its target unchecked (`target_checked`
false) rather than pretending a check was made.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import httpx

from svckit.http import ServiceClient

log = logging.getLogger("activity.team_targets")


class TeamTargets:
    def __init__(self, performance: ServiceClient | None) -> None:
        self.performance = performance

    async def __call__(self, team_id: int, year: int) -> dict[str, Decimal] | None:
        """{"2027": year's amount, "2027-01": January's share, …}, or None when unknown."""
        if self.performance is None:
            return None
        try:
            response = await self.performance.request("GET", "/v1/targets", params={
                "team_id": team_id, "year": year, "metric": "premium"})
        except httpx.HTTPError as error:
            log.warning("performance did not answer the target of team %s for %s: %s", team_id, year, error)
            return None
        if response.status_code != 200:
            log.warning("performance answered %s for the target of team %s for %s", response.status_code, team_id,
                        year)
            return None
        found = response.json()
        if not found:
            return None
        target = found[0]
        return {str(year): Decimal(target["amount"]),
                **{s["key"]: Decimal(s["amount"]) for s in target["shares"] if s["level"] == "month"}}
