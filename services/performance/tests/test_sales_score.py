"""The KPI sales part derived from facts and targets (sales.derive), without HTTP or a database: each
measure's achievement and score, the cap, a missing or zero target, and exact Decimal arithmetic."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from performance_service.assessments import consolidated_scores, weighted
from performance_service.defaults import DEFAULT_RULE_SET, DEFAULT_SALES_SCORE
from performance_service.rules import KpiWeights, Rounding, SalesScore, parse
from performance_service.sales import Figures, TargetPart, derive, months_of
from svckit.errors import Unprocessable

D = Decimal
MONEY = Rounding()
RULE = SalesScore.model_validate(DEFAULT_SALES_SCORE)


def rule(**changes: Any) -> SalesScore:
    return SalesScore.model_validate({**DEFAULT_SALES_SCORE, **changes})


def share(agent: str, period: str = "10000", year: str = "120000", target_id: int = 1) -> TargetPart:
    """A share of a team target of 120,000 a year spread evenly (10,000 a month)."""
    return TargetPart(target_id=target_id, team_id=7, agent_share=D(agent), period_share=D(period),
                      year_amount=D(year))


def test_exactly_the_target_scores_full_marks() -> None:
    # 90,000 of the year's 120,000 to the agent: 7,500 of the month's 10,000; 24 policies a year: 2 a month.
    found = derive(RULE, MONEY, {"premium": Figures(D("7500.0000"), (share("90000"),)),
                                 "new_policies": Figures(D(2), (share("24", "2", "24"),))})
    premium, policies = found.measures
    assert (premium.target, premium.achievement, premium.score) == (D("7500.00"), D("1.0000"), D("100.00"))
    assert (policies.target, policies.achievement, policies.score) == (D("2.00"), D("1.0000"), D("100.00"))
    assert found.score == D("100.00")
    assert found.arithmetic == "100.00 × 0.7 + 100.00 × 0.3 = 100.00"
    assert found.reason is None
    plain = found.plain()
    assert plain["derived"] is True
    assert plain["measures"][0]["target_parts"] == [{"target_id": 1, "team_id": 7, "agent_share": "90000",
                                                     "period_share": "10000", "year_amount": "120000"}]


def test_over_achievement_is_capped() -> None:
    figures = {"premium": Figures(D(15000), (share("90000"),)),
               "new_policies": Figures(D(3), (share("24", "2", "24"),))}
    capped = derive(RULE, MONEY, figures)
    assert [(m.achievement, m.score) for m in capped.measures] == [(D("2.0000"), D(100)),
                                                                  (D("1.5000"), D(100))]
    assert capped.score == D("100.00")
    assert str(capped.measures[0].score) == "100.00"  # the cap, to the places of a score
    higher = derive(rule(cap="120"), MONEY, figures)
    assert [m.score for m in higher.measures] == [D(120), D("120")]
    assert higher.score == D("120.00")
    # Just under the cap stays as achieved.
    under = derive(rule(cap="120"), MONEY, {"premium": Figures(D(8999), (share("90000"),)),
                                            "new_policies": Figures(D(2), (share("24", "2", "24"),))})
    assert under.measures[0].score == D("119.99")  # 8,999 ÷ 7,500 = 1.19986… → 1.1999
    assert under.arithmetic == "119.99 × 0.7 + 100.00 × 0.3 = 113.99"  # 83.993 + 30.000


def test_a_missing_target_leaves_the_part_to_the_supervisor() -> None:
    found = derive(RULE, MONEY, {"premium": Figures(D(2500), (share("90000"),)), "new_policies": Figures(D(1))})
    assert found.score is None
    assert found.measures[1].reason == "no new_policies target names the agent for the period"
    assert found.reason == ("no new_policies target names the agent for the period: "
                            "the supervisor's entered sales score is used")
    assert found.measures[0].score == D("33.33")  # the premium measure is still shown
    nothing = derive(RULE, MONEY, {})
    assert (nothing.score, [m.actual for m in nothing.measures]) == (None, [D(0), D(0)])
    assert nothing.plain()["derived"] is False


def test_other_measures_may_share_the_part_when_one_has_no_target() -> None:
    found = derive(rule(missing_target="other_measures"), MONEY,
                   {"premium": Figures(D(2500), (share("90000"),)), "new_policies": Figures(D(1))})
    assert found.score == D("33.33")
    assert found.arithmetic == "(33.33 × 0.7) ÷ 0.7 = 33.33"
    assert found.reason == ("no new_policies target names the agent for the period: "
                            "the other measures share the part")
    none = derive(rule(missing_target="other_measures"), MONEY, {})
    assert none.score is None


def test_a_zero_target_has_no_achievement() -> None:
    found = derive(RULE, MONEY, {"premium": Figures(D(500), (share("0"),)),
                                 "new_policies": Figures(D(1), (share("24", "2", "24"),))})
    assert (found.score, found.measures[0].target, found.measures[0].achievement) == (None, D("0.00"), None)
    assert found.measures[0].reason == "the agent's premium target for the period is 0.00"
    # A month weighted zero has a zero share as well.
    month = derive(RULE, MONEY, {"premium": Figures(D(0), (share("90000", "0"),)),
                                 "new_policies": Figures(D(1), (share("24", "2", "24"),))})
    assert month.score is None


def test_exact_decimals_and_half_up_rounding() -> None:
    figures = {"premium": Figures(D(1002), (share("120000"),)), "new_policies": Figures(D(1003), (share("120000"),))}
    even = rule(measures=[{"measure": "premium", "weight": "0.5"}, {"measure": "new_policies", "weight": "0.5"}])
    # 10.02 × 0.5 + 10.03 × 0.5 = 10.025 exactly: half-up 10.03 (a float would hold 10.02499…).
    assert derive(even, MONEY, figures).score == D("10.03")
    assert derive(even.model_copy(update={"rounding": "half_even"}), MONEY, figures).score == D("10.02")
    # 2,500 of 7,500 and 2 of 3: 0.3333 and 0.6667 to four decimals, then × 100.
    thirds = derive(RULE, MONEY, {"premium": Figures(D(2500), (share("90000"),)),
                                  "new_policies": Figures(D(2), (share("36", "3", "36"),))})
    assert [m.achievement for m in thirds.measures] == [D("0.3333"), D("0.6667")]
    assert thirds.arithmetic == "33.33 × 0.7 + 66.67 × 0.3 = 43.33"  # 23.331 + 20.001 = 43.332


def test_the_target_of_a_month_adds_the_agents_shares_of_every_team_target() -> None:
    # 90,000 of a year of 120,000 whose month holds 12,000 (9,000), and 1/3 of 100 of a 1,000 month (33.33…).
    parts = (share("90000", "12000"), share("100", "1000", "3000", target_id=2))
    found = derive(RULE, MONEY, {"premium": Figures(D("9033.33"), parts),
                                 "new_policies": Figures(D(2), (share("24", "2", "24"),))})
    assert (found.measures[0].target, found.measures[0].score) == (D("9033.33"), D("100.00"))


def test_reversals_never_make_a_negative_score() -> None:
    found = derive(RULE, MONEY, {"premium": Figures(D(-300), (share("90000"),)),
                                 "new_policies": Figures(D(0), (share("24", "2", "24"),))})
    assert [m.score for m in found.measures] == [D(0), D(0)]
    assert found.score == D("0.00")


def test_a_year_counts_its_twelve_months() -> None:
    assert months_of("2026") == [f"2026-{m:02d}" for m in range(1, 13)]
    assert months_of("2026-10") == ["2026-10"]


def test_consolidation_uses_the_derived_sales_score_when_there_is_one() -> None:
    entered = {"sales": "80", "ability": "70", "attitude": "90"}
    weights = KpiWeights(sales=D("0.5"), ability=D("0.3"), attitude=D("0.2"))
    scores, source = consolidated_scores(entered, D("33.34"))
    assert (scores, source) == ({"sales": "33.34", "ability": "70", "attitude": "90"}, "derived")
    assert weighted(weights, scores) == D("55.67")  # 16.67 + 21 + 18
    assert consolidated_scores(entered, None) == (entered, "entered")


def test_the_default_is_the_documented_one_and_versions_without_it_read_it() -> None:
    assert "sales_score" not in DEFAULT_RULE_SET  # migration 0002's seed predates it
    assert parse(DEFAULT_RULE_SET).sales_score == RULE
    assert [(m.measure, m.weight) for m in RULE.measures] == [("premium", D("0.7")), ("new_policies", D("0.3"))]
    assert (RULE.full_marks, RULE.cap, RULE.places, RULE.rounding, RULE.missing_target) == (
        D(100), D(100), 2, "half_up", "entered_score")
    assert parse(DEFAULT_RULE_SET).model_dump(mode="json")["sales_score"]["cap"] == "100"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"measures": [{"measure": "premium", "weight": "0.5"}]}, "body.sales_score.measures",
     "the weights add up to 1"),
    ({"measures": [{"measure": "premium", "weight": "0.5"}, {"measure": "premium", "weight": "0.5"}]},
     "body.sales_score.measures[1].measure", "premium is listed twice"),
    ({"measures": []}, "body.sales_score.measures", "at least 1 item"),
    ({"measures": [{"measure": "profit", "weight": "1"}]}, "body.sales_score.measures.0.measure", "premium"),
    ({"measures": [{"measure": "premium", "weight": "0"}, {"measure": "new_policies", "weight": "1"}]},
     "body.sales_score.measures.0.weight", "greater than 0"),
    ({"measures": [{"measure": "premium", "weight": 0.5}, {"measure": "new_policies", "weight": "0.5"}]},
     "body.sales_score.measures.0.weight", "decimal strings"),
    ({"cap": "0"}, "body.sales_score.cap", "greater than 0"),
    ({"full_marks": "-1"}, "body.sales_score.full_marks", "greater than 0"),
    ({"places": 5}, "body.sales_score.places", "less than or equal to 4"),
    ({"missing_target": "zero"}, "body.sales_score.missing_target", "entered_score"),
])
def test_a_wrong_sales_rule_is_refused_naming_the_field(change: dict[str, Any], field: str, message: str) -> None:
    body = copy.deepcopy(DEFAULT_RULE_SET)
    body["sales_score"] = {**DEFAULT_SALES_SCORE, **change}
    with pytest.raises(Unprocessable) as refused:
        parse(body)
    assert refused.value.code == "invalid_rule_set"
    assert refused.value.extra["field"] == field
    assert message in refused.value.detail


def test_the_consolidated_score_rounds_half_up() -> None:
    weights = KpiWeights(sales=D("0.5"), ability=D("0.3"), attitude=D("0.2"))
    # 33.33 × 0.5 = 16.665: half up (四舍五入) gives 16.67 where Python's default would give 16.66.
    assert weighted(weights, {"sales": "33.33", "ability": "0", "attitude": "0"}) == D("16.67")
