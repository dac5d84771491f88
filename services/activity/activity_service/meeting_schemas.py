"""Request and response bodies of team meetings (pydantic v2, at the edge only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from activity_service.schemas import Schema

MeetingKind = Literal["morning", "evening", "weekly", "monthly"]


class AttendanceIn(Schema):
    agent_id: int = Field(gt=0)
    status: Literal["present", "absent", "excused"]
    note: str | None = Field(default=None, max_length=500, description="e.g. why excused")


class AttendanceRead(AttendanceIn):
    pass


class MeetingRecord(Schema):
    """What was said and decided, and the roll: every member of the team today, present, absent or excused."""

    minutes: str | None = Field(default=None, max_length=20000, description="会议记录: the written minutes")
    decisions: list[str] = Field(default_factory=list, max_length=50,
                                 description="Decisions taken, one per item")
    attendance: list[AttendanceIn] = Field(min_length=1, max_length=500)


class MeetingCreate(MeetingRecord):
    team_id: int = Field(gt=0)
    kind: MeetingKind = Field(description="morning/evening 早夕会, weekly 周例会, monthly 月例会")
    held_on: date
    host_agent_id: int = Field(gt=0, description="Morning/evening: an agent in rotation; weekly/monthly: the "
                               "team's supervisor")


class MeetingEdit(MeetingRecord):
    version: int = Field(ge=1)


class MeetingRead(Schema):
    id: int
    team_id: int
    institution_id: int
    leader_agent_id: int
    kind: str
    held_on: date
    host_agent_id: int
    minutes: str | None
    decisions: list[str]
    recorded_by: str
    version: int
    recorded_at: datetime


class MeetingWithRoll(MeetingRead):
    attendance: list[AttendanceRead]


class TurnRead(Schema):
    agent_id: int
    last_hosted_on: date | None = Field(description="When they last hosted a morning/evening meeting")


class NextHost(Schema):
    team_id: int
    agent_id: int = Field(description="Proposed host of the next morning/evening meeting")
    rotation: list[TurnRead] = Field(description="The team's agents in the order they are due to host")


class NormRowRead(Schema):
    team_id: int
    institution_id: int
    held: int = Field(description="Morning/evening meetings held in the week")
    minimum: int
    below: bool


class MeetingNormReport(Schema):
    start: date
    end: date
    complete: bool = Field(description="False while the week is still running")
    minimum: int
    rows: list[NormRowRead]
