"""A short branch day (tests/e2e/load.py) against `make run`'s real processes: every kind of request
runs, every answer is the one expected, and what was written is what the services now hold. Speed is
measured by `make bench BENCH=system`, never asserted here."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from svckit.timeutil import business_date, utcnow

from .branch import LoadConfig, seed
from .load import drive, missing_kinds
from .stack import running_stack, throwaway_database

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = "load-" + secrets.token_urlsafe(18)
SHORT_DAY = LoadConfig(agents=12, per_group=6, back_office=2, concurrency=6, seconds=6, until_every_kind=True)


@pytest.fixture
def own_database(pg_admin_dsn: str) -> Iterator[dict[str, str]]:
    """The stack's environment for a database of its own on the test server, dropped afterwards."""
    with throwaway_database(pg_admin_dsn, "load") as (dsn, prefix):
        yield {"DATABASE_URL": dsn, "STACK_ROLE_PREFIX": prefix, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
               # A home page's part answered late counts as an error here; on a busy CI machine three
               # seconds can pass for one part, and this test is about answers, not speed (test_home).
               "GATEWAY_HOME_PART_TIMEOUT": "30"}


def test_a_branch_day_through_the_gateway_gets_every_answer_right(own_database: dict[str, str],
                                                                  tmp_path: Path) -> None:
    with running_stack(own_database, tmp_path / "data") as stack:
        stack.wait_healthy(timeout=180)
        branch = asyncio.run(seed(stack.gateway, ADMIN_PASSWORD, SHORT_DAY))
        tally = asyncio.run(drive(stack.gateway, branch, SHORT_DAY))
        report = tally.report()
        assert tally.errors == [], report
        assert missing_kinds(tally) == [], report

        # What the agents logged is in their days' numbers, as their supervisor sees them; the sheets
        # still awaiting review are exactly those handed in and not yet reviewed.
        today = business_date(utcnow())
        with httpx.Client(base_url=stack.gateway, timeout=60) as client:
            for supervisor in branch.supervisors:
                headers = {"Authorization": f"Bearer {supervisor.token}"}
                for member in supervisor.members:
                    days = client.get(f"/api/v1/activity/v1/agents/{member}/days", headers=headers, params={
                        "from": (today - timedelta(days=4)).isoformat(), "to": today.isoformat()})
                    assert days.status_code == 200, days.text
                    counted = sum(n for day in days.json() for n in day["counts"].values())
                    assert counted == tally.logged[member], (member, days.text)
                waiting = client.get("/api/v1/activity/v1/plans/overdue", headers=headers)
                assert waiting.status_code == 200, waiting.text
                assert sorted(s["id"] for s in waiting.json()["awaiting_review"]) == sorted(
                    sheet for sheet, _ in supervisor.to_review)
        assert sum(tally.logged.values()) > 0
        assert stack.stop() == 0
