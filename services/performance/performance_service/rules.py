"""The basic law 基本法 as data: one versioned, effective-dated document with every rate, bracket and
threshold a settlement applies. Validated here, field by field; a yearly rule change is a new version,
never a release. Nothing in it is a constant of the code: DOMAIN.md's numbers are only the seed."""

from __future__ import annotations

import itertools
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from performance_service.defaults import DEFAULT_SALES_SCORE
from svckit.errors import Unprocessable

ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}
Rate = Decimal


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("send rates and amounts as decimal strings, not JSON numbers with fractions")
    return value


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rounding(Part):
    """How each statement line is rounded (default: half-up 四舍五入 to the cent)."""

    mode: Literal["half_up", "half_even", "down", "up"] = "half_up"
    places: int = Field(default=2, ge=0, le=4)

    def apply(self, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal(1).scaleb(-self.places), rounding=ROUNDINGS[self.mode])


class Bracket(Part):
    lower: Decimal = Field(ge=0, description="The base from which this rate applies (inclusive)")
    upper: Decimal | None = Field(default=None, description="Up to (exclusive); none for the last bracket")
    rate: Rate = Field(ge=0, le=1, description="e.g. \"0.20\" for 20%")

    _floats = field_validator("lower", "upper", "rate", mode="before")(_no_float)


def check_brackets(brackets: list[Bracket]) -> None:
    """From 0 to open-ended, each bracket starting where the previous ends: no gap, no overlap."""
    if not brackets:
        raise ValueError("at least one bracket is needed")
    if brackets[0].lower != 0:
        raise ValueError("brackets[0].lower: the first bracket starts at 0")
    for n, (before, after) in enumerate(itertools.pairwise(brackets), start=1):
        if before.upper is None:
            raise ValueError(f"brackets[{n - 1}].upper: only the last bracket is open-ended")
        if after.lower < before.upper:
            raise ValueError(f"brackets[{n}].lower: overlaps the previous bracket (which ends at {before.upper})")
        if after.lower > before.upper:
            raise ValueError(f"brackets[{n}].lower: gap after {before.upper}")
    for n, b in enumerate(brackets):
        if b.upper is not None and b.upper <= b.lower:
            raise ValueError(f"brackets[{n}].upper: must be above its lower bound")
    if brackets[-1].upper is not None:
        raise ValueError(f"brackets[{len(brackets) - 1}].upper: the last bracket is open-ended (null)")


def bracket_amount(base: Decimal, brackets: list[Bracket], mode: str) -> tuple[Decimal, str]:
    """The allowance on `base` and its arithmetic: the whole base at its bracket's rate, or each slice
    at its own (marginal). A base exactly on a bound is in the bracket that starts there."""
    if base <= 0:
        return Decimal(0), f"{base} ≤ 0: nothing"
    if mode == "whole":
        b = next(b for b in brackets if b.upper is None or base < b.upper)
        return base * b.rate, f"{base} × {b.rate} (bracket from {b.lower})"
    total, parts = Decimal(0), []
    for b in brackets:
        if base <= b.lower:
            break
        top = base if b.upper is None else min(base, b.upper)
        total += (top - b.lower) * b.rate
        parts.append(f"({top} − {b.lower}) × {b.rate}")
    return total, " + ".join(parts)


class CommissionRate(Part):
    product_code: str = Field(min_length=1, description="A product code, or \"*\" for every other product")
    year_from: int = Field(ge=1, description="First policy year 保单年度 at this rate")
    year_to: int | None = Field(default=None, ge=1, description="Last policy year; none: every later year")
    rate: Rate = Field(ge=0, le=1)

    _floats = field_validator("rate", mode="before")(_no_float)


class Commission(Part):
    """Personal commission: received premium × the rate of its product and policy year (FYC in year 1)."""

    rates: list[CommissionRate] = Field(min_length=1)

    @model_validator(mode="after")
    def _years_tile(self) -> Commission:
        by_product: dict[str, list[tuple[int, CommissionRate]]] = {}
        for n, r in enumerate(self.rates):
            by_product.setdefault(r.product_code, []).append((n, r))
        for product, rows in by_product.items():
            rows.sort(key=lambda x: x[1].year_from)
            expected = 1
            for n, r in rows:
                if r.year_from < expected:
                    raise ValueError(f"rates[{n}].year_from: years of {product} overlap at year {r.year_from}")
                if r.year_from > expected:
                    raise ValueError(f"rates[{n}].year_from: years of {product} leave a gap before {r.year_from}")
                if r.year_to is None:
                    expected = 10**9
                elif r.year_to < r.year_from:
                    raise ValueError(f"rates[{n}].year_to: before year_from")
                else:
                    expected = r.year_to + 1
        return self

    def table(self) -> dict[str, list[tuple[int, int | None, Decimal]]]:
        table: dict[str, list[tuple[int, int | None, Decimal]]] = {}
        for r in self.rates:
            table.setdefault(r.product_code, []).append((r.year_from, r.year_to, r.rate))
        return table

    def rate(self, product_code: str, year: int) -> Decimal | None:
        for code in (product_code, "*"):
            for r in self.rates:
                if r.product_code == code and r.year_from <= year and (r.year_to is None or year <= r.year_to):
                    return r.rate
        return None


class ManagementAllowance(Part):
    """A management allowance 管理津贴 on a group's commission, in brackets."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: str = Field(min_length=1, description="e.g. 部经理直辖组管理津贴")
    ranks: list[str] = Field(min_length=1, description="Ranks that draw it")
    base: Literal["direct_group", "subordinate_groups"] = Field(
        description="直辖: the group the agent heads; 所辖: the other groups of the department they head")
    mode: Literal["whole", "marginal"] = Field(description="The bracket's rate on the whole base, or per slice")
    brackets: list[Bracket]
    deduct: list[str] = Field(default_factory=list, description="Allowances already drawn on the same base, "
                              "deducted (e.g. the group allowance of the direct group)")
    count_back: bool = Field(default=False, description="Separated teams that count back 回算 to the head "
                             "(org's answer) add their department's FYC times the share to the base")

    @model_validator(mode="after")
    def _brackets(self) -> ManagementAllowance:
        check_brackets(self.brackets)
        return self


class Grouping(Part):
    """Who heads a group and who heads a department, by rank."""

    group_head_ranks: list[str] = Field(min_length=1)
    department_head_ranks: list[str] = Field(min_length=1)


class NurturingAllowance(Part):
    """育成津贴: a share of the commission of the departments one nurtured (peer-level teams), by generation."""

    ranks: list[str] = Field(min_length=1)
    rates_by_generation: list[Rate] = Field(min_length=1, max_length=6)

    _floats = field_validator("rates_by_generation", mode="before")(
        lambda v: [_no_float(x) for x in v] if isinstance(v, list) else v)

    @field_validator("rates_by_generation")
    @classmethod
    def _rates(cls, value: list[Decimal]) -> list[Decimal]:
        for n, r in enumerate(value):
            if not 0 <= r <= 1:
                raise ValueError(f"rates_by_generation[{n}]: a rate is between 0 and 1")
        return value


class RecruitingBonus(Part):
    """增员奖: a share of a recruit's FYC paid to their recruiter 增员人 for the first months after joining,
    once the recruit is confirmed 转正. The months of probation earn nothing: the bonus rewards a confirmed
    recruit's production, and a recruit who leaves on probation costs nothing."""

    ranks: list[str] = Field(default_factory=list, description="Ranks of recruiter that draw it; empty: every rank")
    rate: Rate = Field(ge=0, le=1, description="Share of the recruit's FYC, e.g. \"0.10\"")
    months: int = Field(ge=1, le=60, description="Months it is paid for, the month of joining being month 1")
    probation_months: int = Field(default=0, ge=0, le=24, description="Full months after joining before the "
                                  "recruit is confirmed; 0: confirmed on joining")

    _floats = field_validator("rate", mode="before")(_no_float)


class Withholding(Part):
    """预留: commission held while premium is outstanding at the period's end; released when it is not."""

    basis: Literal["overdue", "outstanding"]
    rate: Rate = Field(ge=0, le=1, description="Share of the basis held, e.g. \"1\"")

    _floats = field_validator("rate", mode="before")(_no_float)


class Clawback(Part):
    """追索扣回: commission on a policy ended within the window is deducted again."""

    window_months: int = Field(ge=0, le=60)
    share: Rate = Field(ge=0, le=1)

    _floats = field_validator("share", mode="before")(_no_float)


class KpiWeights(Part):
    sales: Rate = Field(ge=0, le=1)
    ability: Rate = Field(ge=0, le=1)
    attitude: Rate = Field(ge=0, le=1)

    _floats = field_validator("sales", "ability", "attitude", mode="before")(_no_float)

    @model_validator(mode="after")
    def _sum(self) -> KpiWeights:
        if self.sales + self.ability + self.attitude != 1:
            raise ValueError("sales: the three weights add up to 1")
        return self


class SalesMeasure(Part):
    """One measure of the sales part 销售业绩 and its weight inside that part."""

    measure: Literal["premium", "new_policies"] = Field(
        description="premium: received premium 实收保费 net of reversals (what a premium target counts) over the "
                    "agent's premium target; new_policies: new policies issued over their new-policy target")
    weight: Rate = Field(gt=0, le=1, description="Share of the sales part, e.g. \"0.7\"")

    _floats = field_validator("weight", mode="before")(_no_float)


class SalesScore(Part):
    """How the sales part of KPI is derived from the facts and the agent's targets for the period: each
    measure's achievement (actual ÷ target, to `places` + 2 decimals) times `full_marks`, at most `cap`,
    to `places`; the part is the measures' weighted sum, to `places`. A measure whose target is missing
    or zero has no achievement: `missing_target` says whether the part then cannot be derived (the
    supervisor's entered sales score is consolidated) or is derived from the other measures alone."""

    measures: list[SalesMeasure] = Field(min_length=1)
    full_marks: Decimal = Field(gt=0, le=1000, description="The score of exactly 100% achievement")
    cap: Decimal = Field(gt=0, le=1000, description="The highest score one measure earns (over-achievement)")
    places: int = Field(ge=0, le=4, description="Decimals of a score")
    rounding: Literal["half_up", "half_even", "down", "up"]
    missing_target: Literal["entered_score", "other_measures"] = Field(
        description="entered_score: the part is not derived when any measure lacks a target; other_measures: "
                    "the measures with a target share the part (none: not derived)")

    _floats = field_validator("full_marks", "cap", mode="before")(_no_float)

    @model_validator(mode="after")
    def _measures(self) -> SalesScore:
        names = [m.measure for m in self.measures]
        for n, name in enumerate(names):
            if names.index(name) != n:
                raise ValueError(f"measures[{n}].measure: {name} is listed twice")
        if sum((m.weight for m in self.measures), Decimal(0)) != 1:
            raise ValueError("measures: the weights add up to 1")
        return self

    def round(self, value: Decimal, extra: int = 0) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-(self.places + extra)), rounding=ROUNDINGS[self.rounding])


def _default_sales_score() -> SalesScore:
    return SalesScore.model_validate(DEFAULT_SALES_SCORE)


class RankCondition(Part):
    """What keeping (maintenance 维持) or reaching (promotion 晋升) a rank asks, over the last months."""

    rank_code: str = Field(description="The rank held now")
    kind: Literal["promotion", "maintenance"]
    target_rank: str
    months: int = Field(ge=1, le=24, description="The assessment window, ending with the period")
    fyc_min: Decimal | None = Field(default=None, ge=0)
    policies_min: int | None = Field(default=None, ge=0)
    team_size_min: int | None = Field(default=None, ge=0, description="People below, count-back teams included")
    direct_reports_min: int | None = Field(default=None, ge=0)
    persistency_min: Rate | None = Field(default=None, ge=0, le=1, description="Composite persistency at the "
                                         "period's end, e.g. \"0.80\"")
    on_failure_rank: str | None = Field(default=None, description="Maintenance: the rank a failed assessment "
                                        "proposes (a demotion); none: no change, an improvement plan")

    _floats = field_validator("fyc_min", "persistency_min", mode="before")(_no_float)


class Persistency(Part):
    """继续率: premium and policy-count persistency of the policies issued `months` before, composed."""

    months: int = Field(default=13, ge=12, le=25, description="13- or 14-month persistency")
    premium_weight: Rate = Field(default=Decimal("0.7"), ge=0, le=1)
    count_weight: Rate = Field(default=Decimal("0.3"), ge=0, le=1)

    _floats = field_validator("premium_weight", "count_weight", mode="before")(_no_float)

    @model_validator(mode="after")
    def _sum(self) -> Persistency:
        if self.premium_weight + self.count_weight != 1:
            raise ValueError("premium_weight: the two weights add up to 1")
        return self


class RuleSetBody(Part):
    """Every rule one settlement applies."""

    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    rounding: Rounding = Rounding()
    commission: Commission
    grouping: Grouping
    management_allowances: list[ManagementAllowance] = Field(default_factory=list)
    nurturing_allowance: NurturingAllowance | None = None
    recruiting_bonus: RecruitingBonus | None = None
    withholding: Withholding | None = None
    clawback: Clawback | None = None
    kpi_weights: KpiWeights
    # A rule set proposed without one gets the default, stored with it (every stored version states it:
    # migration 0011).
    sales_score: SalesScore = Field(default_factory=_default_sales_score)
    rank_conditions: list[RankCondition] = Field(default_factory=list)
    persistency: Persistency = Persistency()

    @model_validator(mode="after")
    def _codes(self) -> RuleSetBody:
        codes = [a.code for a in self.management_allowances]
        for n, a in enumerate(self.management_allowances):
            if codes.index(a.code) != n:
                raise ValueError(f"management_allowances[{n}].code: {a.code} is used twice")
            for d in a.deduct:
                if d not in codes[:n]:
                    raise ValueError(f"management_allowances[{n}].deduct: {d} is not an allowance listed before")
        return self


def parse(body: dict[str, Any], *, field: str = "body") -> RuleSetBody:
    """The rule set, or a problem naming the first field at fault (bracket and year errors included)."""
    try:
        return RuleSetBody.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        # A model check names the field inside it ("brackets[1].lower: ...").
        inner, sep, rest = message.partition(": ")
        if sep and (inner.split("[")[0].split(".")[0].isidentifier()) and " " not in inner:
            where, message = f"{where}.{inner}" if where else inner, rest
        raise Unprocessable(f"{field}.{where}: {message}", code="invalid_rule_set",
                            field=f"{field}.{where}" if where else field) from None
