"""What the team change workflow's API takes and gives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from org_service.schemas import Schema
from svckit.money import MoneyModel

TeamChangeStatus = Literal["submitted", "in_review", "approved", "rejected", "cancelled", "executed"]
StepState = Literal["approved", "rejected", "current", "pending", "not_reached"]


def _distinct(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("list each id once")
    return ids


DistinctIds = Annotated[list[int], AfterValidator(_distinct)]


class _Request(Schema):
    institution_id: int = Field(description="The institution applying 申请机构; the teams concerned belong to it")
    effective_on: date = Field(description="Business date from which the change takes effect once approved")
    reason: str = Field(min_length=1, max_length=1000, description="Why, e.g. the assessment result behind it")


class _NewTeam(Schema):
    annual_premium_plan: MoneyModel = Field(
        description="Annual received standard-premium plan 年度实收标准保费计划 of the (resulting) team")
    parent_team_id: int | None = Field(default=None, description="The department, when the new team is a group")
    number: int | None = Field(default=None, ge=1, le=999, description="Team number; defaults to the next free one")
    name: str | None = Field(default=None, min_length=1, max_length=120,
                             description="Defaults to the name built from the institution path")


class CreateTeamChange(_Request, _NewTeam):
    kind: Literal["create"] = Field(description="Create a team 新增团队")
    planned_headcount: int = Field(ge=0, le=10_000, description="People the team will start with")


class MergeTeamChange(_Request):
    kind: Literal["merge"] = Field(description="Merge 合并 source teams into a target team")
    target_team_id: int = Field(description="The team that remains and receives the members")
    source_team_ids: DistinctIds = Field(min_length=1, max_length=20,
                                       description="Teams whose members move to the target; they are dissolved")
    annual_premium_plan: MoneyModel = Field(description="Annual standard-premium plan of the merged team")
    new_supervisor_id: int | None = Field(
        default=None, description="If set, the top people of each source team report to this agent from the date on")


class SplitTeamChange(_Request, _NewTeam):
    kind: Literal["split"] = Field(description="Fission 裂变: a new team is split off a source team")
    source_team_id: int = Field(description="The team being split")
    agent_ids: DistinctIds = Field(min_length=1, max_length=200, description=(
        "Members of the source team moving to the new team; everyone below them in the source team follows"))
    new_supervisor_id: int | None = Field(
        default=None, description="If set, the listed agents report to this agent from the date on")


class DissolveTeamChange(_Request):
    kind: Literal["dissolve"] = Field(description="Dissolve 撤销 a team")
    team_id: int = Field(description="The team to dissolve")
    destination_team_id: int | None = Field(
        default=None, description="Where the members go; required unless the team is empty on execution")


TeamChangeCreate = Annotated[CreateTeamChange | MergeTeamChange | SplitTeamChange | DissolveTeamChange,
                             Field(discriminator="kind")]


class TeamChangeDecide(Schema):
    step: str = Field(min_length=1, max_length=60, description=(
        "The step being decided, e.g. branch_marketing_management; must be the current one"))
    decision: Literal["approve", "reject"] = Field(description="A rejection ends the request")
    comment: str | None = Field(default=None, max_length=2000, description="Recorded with the decision")


class DecisionRead(Schema):
    decision: Literal["approve", "reject"]
    actor: str = Field(description="Who decided (user name or id from the internal token)")
    role: str = Field(description="The role they decided in")
    decided_at: datetime = Field(description="When (UTC)")
    comment: str | None


class StepRead(Schema):
    position: int = Field(description="1 is the application itself")
    step: str
    role: str | None = Field(description="Role that decides the step; none for the application")
    state: StepState
    decision: DecisionRead | None


class TeamChangeSummary(Schema):
    id: int
    kind: Literal["create", "merge", "split", "dissolve"]
    institution_id: int
    effective_on: date
    reason: str
    status: TeamChangeStatus
    current_step: str | None = Field(description="The step awaiting a decision; none once closed")
    payload: dict[str, Any] = Field(description="What the request changes (kind-specific fields)")
    annual_premium_plan: MoneyModel | None
    standard: dict[str, Any] | None = Field(description="The team standard checked at submission")
    requester: str
    submitted_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    result: dict[str, Any] | None = Field(description="What execution wrote: team_id, moved agents, dissolved teams")


class TeamChangeRead(TeamChangeSummary):
    steps: list[StepRead]


class TeamStandardRead(Schema):
    institution_kind: str
    team_kind: Literal["department", "group"]
    valid_from: date
    valid_to: date | None
    min_annual_premium_plan: MoneyModel
    min_headcount: int
    max_headcount: int | None
