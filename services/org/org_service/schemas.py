"""What the org API takes and gives (XCreate / XUpdate / XRead on one base)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

InstitutionKind = Literal["hq", "branch", "sales_office", "service_office", "sub_branch"]
RankChangeKind = Literal["promotion", "maintenance", "demotion"]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class InstitutionCreate(Schema):
    parent_id: int | None = Field(default=None, description="The institution above; none only for HQ")
    kind: InstitutionKind = Field(description="hq 总公司, branch 分公司, sales_office 营业部, "
                                              "service_office 营销服务部, sub_branch 支公司")
    tier: int = Field(ge=1, le=4, description="1 HQ, 2 branch, 3 or 4 for offices and sub-branches")
    code: str = Field(min_length=1, max_length=40, description="Unique institution code")
    name: str = Field(min_length=1, max_length=100, description="e.g. 天津分公司, 汉沽营销服务部")
    opened_on: date


class InstitutionRead(Schema):
    id: int
    parent_id: int | None
    kind: InstitutionKind
    tier: int
    code: str
    name: str
    path: list[int] = Field(description="Institutions from HQ down to this one")
    opened_on: date
    closed_on: date | None


class TeamCreate(Schema):
    institution_id: int
    parent_team_id: int | None = Field(default=None, description="The department, when creating a group")
    valid_from: date = Field(description="The day the team comes into existence")
    number: int | None = Field(default=None, ge=1, le=999, description="Defaults to the next free number")
    name: str | None = Field(default=None, min_length=1, max_length=120,
                             description="Defaults to the name built from the institution path")


class TeamRename(Schema):
    name: str = Field(min_length=1, max_length=120)
    effective_on: date


class TeamDissolve(Schema):
    effective_on: date


class TeamRead(Schema):
    id: int
    institution_id: int
    parent_team_id: int | None
    kind: Literal["department", "group"]
    number: int
    name: str
    valid_from: date
    valid_to: date | None


class AgentCreate(Schema):
    code: str = Field(min_length=1, max_length=40, description="Employee code 工号")
    name: str = Field(min_length=1, max_length=100)
    licence_no: str = Field(min_length=1, max_length=60, description="Practising licence number")
    hire_date: date
    institution_id: int
    team_id: int | None = None
    supervisor_id: int | None = Field(default=None, description="Direct supervisor; none for the top of a line")
    rank_code: str = Field(default="agent", description="A rank of the ladder (GET /v1/ranks)")
    recruiter_id: int | None = Field(default=None, description="Who recruited them 增员人")
    nurturer_id: int | None = Field(default=None, description="Who nurtured them 育成人")
    user_id: str | None = Field(default=None, description="Their gateway account, if they have one")


class PositionChange(Schema):
    """Fields left out keep their value; `supervisor_id: null` puts the agent at the top of a line."""

    effective_on: date
    supervisor_id: int | None = None
    team_id: int | None = None
    institution_id: int | None = None
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _something_changes(self) -> PositionChange:
        if not self.model_fields_set & {"supervisor_id", "team_id", "institution_id"}:
            raise ValueError("name at least one of supervisor_id, team_id, institution_id")
        if "institution_id" in self.model_fields_set and self.institution_id is None:
            raise ValueError("institution_id cannot be null")
        return self


class RankChange(Schema):
    effective_on: date
    rank_code: str
    kind: RankChangeKind
    reason: str = Field(min_length=1, max_length=500, description="e.g. the assessment that proposed it")


class Leaving(Schema):
    effective_on: date
    reason: str = Field(min_length=1, max_length=500)


class PositionRead(Schema):
    agent_id: int
    valid_from: date
    valid_to: date | None
    supervisor_id: int | None
    team_id: int | None
    institution_id: int
    rank_code: str
    path: list[int] = Field(description="Supervisors from the top down to the direct supervisor")
    reason: str


class AgentRead(Schema):
    id: int
    code: str
    name: str
    licence_no: str
    hire_date: date
    status: Literal["active", "suspended", "left"]
    left_on: date | None
    home_institution_id: int
    position: PositionRead | None = Field(description="Where the agent stands on the date asked (default today)")


class ChainLinkRead(Schema):
    agent_id: int
    code: str
    name: str
    rank_code: str
    team_id: int | None
    level: int = Field(description="1 is the direct supervisor")


class SubtreeRead(Schema):
    agent_id: int
    on: date
    headcount_by_rank: dict[str, int] = Field(description="People below the agent, by rank")
    headcount: int = Field(description="Everyone below the agent")
    direct_reports: int


class LineageMemberRead(Schema):
    agent_id: int
    sponsor_id: int
    generation: int = Field(description="1 for those the agent recruited or nurtured directly")
    code: str
    name: str
    status: str


class RankRead(Schema):
    code: str
    name_zh: str
    name_en: str
    ladder_order: int
    is_supervisor: bool


class ScopeRead(Schema):
    """What a user may see; services check every object against it."""

    everything: bool = Field(description="Administrators: the whole company")
    agent_id: int | None = Field(description="The agent linked to the user's account, who sees themself")
    subtree: bool = Field(description="Supervisors also see everyone below them")
    institutions: list[int] = Field(description="Staff see these institutions and everything below them")
    company_wide: bool = Field(default=False, description="Administrators and head-office staff: the scope "
                               "covers the whole company, so they may change what applies to all of it")


class FissionPolicyValues(Schema):
    style: str = Field(min_length=1, max_length=40, description="A label, e.g. ping_an_picc or china_life")
    separate_on_peer_level: bool = Field(description="平级即分离: a team reaching its nurturer's rank separates")
    may_return: bool = Field(description="分离可回归: a separated team may come back under its nurturer")
    counts_indirect: bool = Field(description="Indirectly nurtured teams count back too, not only direct ones")
    protection_months: int = Field(ge=0, le=120, description="平级保护期: months during which a peer team counts back")
    count_back_periods: int = Field(ge=0, le=12, description="Assessment periods after separation that count back")
    assessment_period_months: int = Field(ge=1, le=24, description="Length of one assessment period")
    count_back_for_promotion: bool
    count_back_for_maintenance: bool
    count_back_share: Decimal = Field(ge=0, le=1, description="Share counted back, 1 for 100%")


class FissionPolicyCreate(FissionPolicyValues):
    valid_from: date = Field(description="The new version applies from this day; the previous one ends there")


class FissionPolicyRead(FissionPolicyValues):
    valid_from: date
    valid_to: date | None
    recorded_by: str


class SeparationReturn(Schema):
    effective_on: date


class SeparationRead(Schema):
    id: int
    nurtured_agent_id: int
    nurturer_id: int
    peer_on: date
    separated: bool
    returned_on: date | None
    policy_valid_from: date


class CountBackRead(Schema):
    separation_id: int
    team_head_id: int = Field(description="The nurtured supervisor heading the team that counts back")
    nurturer_id: int = Field(description="Who nurtured them (the asker, or someone in their line)")
    generation: int = Field(description="1 for teams the asker nurtured directly")
    peer_on: date
    separated: bool = Field(description="False where the policy kept the peer team in the nurturer's line")
    reason: Literal["first_periods", "protection_period"]
    share: Decimal = Field(description="Share of headcount and performance that counts back")
    headcount_by_rank: dict[str, int] = Field(description="The team, head included, at the end of the period")
