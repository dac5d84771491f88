"""The settlement arithmetic and the rule set's checks, without a database."""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from typing import Any

import pytest

from performance_service import rules
from performance_service.defaults import DEFAULT_RULE_SET
from performance_service.settlement import (
    Adjustment,
    Balance,
    CountBackTeam,
    EndedPolicy,
    Inputs,
    Position,
    Premium,
    Recruitment,
    settle,
)
from svckit.errors import Unprocessable

D = Decimal
RULES = rules.parse(DEFAULT_RULE_SET)


def body(**changes: Any) -> dict[str, Any]:
    value = copy.deepcopy(DEFAULT_RULE_SET)
    value.update(changes)
    return value


def allowance(code: str, base: Decimal) -> Decimal:
    """What the seed table pays a department manager whose only member (themself) earned `base` FYC."""
    premium = (base / D("0.30")).quantize(D("0.0001"))
    result = settle(RULES, Inputs([Position(1, None, "department_manager", 10)], [Premium(1, "P", 1, premium, 1)]))
    return next(x.amount for x in result.lines if x.rule == f"management_allowances.{code}")


@pytest.mark.parametrize(("fyc", "rate"), [
    (D("9999.99"), D("0.19")), (D("10000"), D("0.20")), (D("49999.99"), D("0.20")), (D("50000"), D("0.21")),
])
def test_direct_group_brackets_at_their_bounds(fyc: Decimal, rate: Decimal) -> None:
    assert allowance("department_direct", fyc) == (fyc * rate).quantize(D("0.01"))


@pytest.mark.parametrize(("fyc", "rate"), [
    (D("29999.99"), D("0.02")), (D("30000"), D("0.04")), (D("59999.99"), D("0.04")), (D("60000"), D("0.06")),
    (D("159999.99"), D("0.06")), (D("160000"), D("0.07")), (D("259999.99"), D("0.07")), (D("260000"), D("0.08")),
])
def test_subordinate_brackets_at_their_bounds(fyc: Decimal, rate: Decimal) -> None:
    # A manager (no FYC) with one supervisor below, whose group earned `fyc`.
    premium = (fyc / D("0.30")).quantize(D("0.0001"))
    positions = [Position(1, None, "department_manager", 10), Position(2, 1, "supervisor", 10)]
    result = settle(RULES, Inputs(positions, [Premium(2, "P", 1, premium, 1)]))
    line = next(x for x in result.lines if x.rule == "management_allowances.department_subordinate")
    assert line.agent_id == 1
    assert line.amount == (fyc * rate).quantize(D("0.01"))
    assert D(line.base["group_fyc"]) == fyc


def test_marginal_mode_charges_each_slice_at_its_rate() -> None:
    value = body()
    value["management_allowances"][0]["mode"] = "marginal"
    amount, arithmetic = rules.bracket_amount(D("60000"), rules.parse(value).management_allowances[0].brackets,
                                              "marginal")
    assert amount == D("10000") * D("0.19") + D("40000") * D("0.20") + D("10000") * D("0.21")
    assert "(60000 − 50000) × 0.21" in arithmetic


def test_direct_group_deducts_what_it_already_drew() -> None:
    value = body()
    value["management_allowances"].insert(0, {
        "code": "group", "name": "组管理津贴", "ranks": ["department_manager"], "base": "direct_group",
        "mode": "whole", "brackets": [{"lower": "0", "upper": None, "rate": "0.10"}]})
    value["management_allowances"][1]["deduct"] = ["group"]
    result = settle(rules.parse(value), Inputs([Position(1, None, "department_manager", 10)],
                                               [Premium(1, "P", 1, D("100000"), 3)]))
    lines = {x.rule: x for x in result.lines}
    assert lines["management_allowances.group"].amount == D("3000.00")
    direct = lines["management_allowances.department_direct"]
    assert direct.amount == D("6000.00") - D("3000.00")
    assert direct.base["deducted"] == {"group": "3000.00"}


@pytest.mark.parametrize(("brackets", "field"), [
    ([{"lower": "0", "upper": "10000", "rate": "0.19"}, {"lower": "9000", "upper": None, "rate": "0.2"}],
     "brackets[1].lower"),
    ([{"lower": "0", "upper": "10000", "rate": "0.19"}, {"lower": "12000", "upper": None, "rate": "0.2"}],
     "brackets[1].lower"),
    ([{"lower": "100", "upper": None, "rate": "0.19"}], "brackets[0].lower"),
    ([{"lower": "0", "upper": "100", "rate": "0.19"}], "brackets[0].upper"),
])
def test_overlapping_or_gapped_brackets_are_refused_naming_the_field(brackets: list[Any], field: str) -> None:
    value = body()
    value["management_allowances"][0]["brackets"] = brackets
    with pytest.raises(Unprocessable) as caught:
        rules.parse(value)
    assert caught.value.code == "invalid_rule_set"
    assert caught.value.extra["field"] == f"body.management_allowances.0.{field}"


def test_commission_years_must_tile() -> None:
    value = body(commission={"rates": [{"product_code": "*", "year_from": 1, "year_to": 1, "rate": "0.3"},
                                       {"product_code": "*", "year_from": 3, "year_to": None, "rate": "0.1"}]})
    with pytest.raises(Unprocessable) as caught:
        rules.parse(value)
    assert caught.value.extra["field"] == "body.commission.rates[1].year_from"


def test_floats_are_refused() -> None:
    value = body(kpi_weights={"sales": 0.5, "ability": "0.3", "attitude": "0.2"})
    with pytest.raises(Unprocessable):
        rules.parse(value)


def test_rounding_is_per_line_and_configurable() -> None:
    premium = [Premium(1, "P", 1, D("0.05"), 1), Premium(1, "Q", 1, D("0.05"), 1)]
    positions = [Position(1, None, "agent", 10)]
    half_up = settle(RULES, Inputs(positions, premium))
    assert [x.amount for x in half_up.lines] == [D("0.02"), D("0.02")]  # 0.015 each, half-up per line
    down = rules.parse(body(rounding={"mode": "down", "places": 2}))
    assert [x.amount for x in settle(down, Inputs(positions, premium)).lines] == [D("0.01"), D("0.01")]


def test_clawback_withholding_and_carry_forward() -> None:
    positions = [Position(1, None, "agent", 10)]
    ended = [EndedPolicy(1, 77, "P", "surrendered", "2026-03-01", "2026-10-15", 7, ((1, D("10000")),))]
    result = settle(RULES, Inputs(positions, [Premium(1, "P", 1, D("1000"), 1)], ended=ended,
                                  outstanding={1: (D("500"), D("200"))}))
    kinds = [(x.kind, x.amount) for x in result.lines]
    assert kinds == [("commission", D("300.00")), ("clawback", D("-3000.00")), ("carry_forward", D("2700.00"))]
    assert result.payables[0].net == 0
    assert result.payables[0].carried == D("2700.00")
    # Next month: the deficit comes back in, and the overdue premium is held once there is money.
    later = settle(RULES, Inputs(positions, [Premium(1, "P", 1, D("10000"), 1)],
                                 outstanding={1: (D("500"), D("200"))}, previous={1: Balance(carried=D("2700.00"))}))
    assert [(x.kind, x.amount) for x in later.lines] == [
        ("commission", D("3000.00")), ("carried_in", D("-2700.00")), ("withholding", D("-200.00"))]
    assert later.payables[0].net == D("100.00")
    assert later.payables[0].held == D("200.00")
    # Once nothing is overdue, the held commission is released.
    released = settle(RULES, Inputs(positions, [], previous={1: Balance(held=D("200.00"))}))
    assert [(x.kind, x.amount) for x in released.lines] == [("withholding_release", D("200.00"))]
    assert released.payables[0].net == D("200.00")


def test_nurturing_allowance_by_generation_and_count_back() -> None:
    positions = [Position(1, None, "director", 10), Position(2, None, "department_manager", 10),
                 Position(3, None, "department_manager", 10)]
    premium = [Premium(3, "P", 1, D("100000"), 1)]
    value = body()
    value["management_allowances"][1]["count_back"] = True
    result = settle(rules.parse(value), Inputs(positions, premium, nurtured_by={3: 2, 2: 1},
                                               count_back=[CountBackTeam(2, 3, D("1"), True)]))
    nurturing = {(x.agent_id, x.base["generation"]): x.amount for x in result.lines if x.kind == "nurturing_allowance"}
    assert nurturing == {(2, 1): D("1800.00"), (1, 2): D("900.00")}
    counted = next(x for x in result.lines if x.agent_id == 2 and x.rule.endswith("department_subordinate"))
    assert counted.amount == D("1200.00")  # 30,000 counted back: the 4% bracket starts there
    assert counted.base["count_back"] == [{"team_head_id": 3, "fyc": "30000.00", "share": "1"}]


def test_random_settlements_add_up_and_repeat() -> None:
    rng = random.Random(6)
    ranks = ["agent"] * 6 + ["supervisor", "assistant_manager", "department_manager", "director"]
    for _ in range(20):
        positions: list[Position] = []
        for a in range(1, 200):
            sup = rng.choice([p.agent_id for p in positions]) if positions and rng.random() < 0.9 else None
            positions.append(Position(a, sup, rng.choice(ranks), 10 + a % 3))
        premium = [Premium(a, rng.choice("PQR"), y, D(rng.randint(-500, 500_000)) / 100, 1)
                   for a in range(1, 200) for y in (1, 2) if rng.random() < 0.6]
        inputs = Inputs(positions, premium,
                        outstanding={a: (D(rng.randint(0, 9000)), D(rng.randint(0, 900))) for a in range(1, 50)},
                        previous={a: Balance(D(rng.randint(0, 300)), D(rng.randint(0, 300))) for a in range(40, 80)},
                        adjustments=[Adjustment(5, 1, D("12.34"), "accepted")])
        first, second = settle(RULES, inputs), settle(RULES, inputs)
        assert first == second
        by_agent: dict[int, Decimal] = {}
        for line in first.lines:
            by_agent[line.agent_id] = by_agent.get(line.agent_id, D(0)) + line.amount
            assert line.amount == line.amount.quantize(D("0.01"))
        for p in first.payables:
            assert p.net == by_agent.get(p.agent_id, D(0)) >= 0
            assert p.held >= 0
            assert p.carried >= 0


@pytest.mark.parametrize("separated", [True, False])
def test_count_back_adds_the_peer_team_in_both_fission_styles(separated: bool) -> None:
    """Ping An / PICC: the peer team left the line; China Life: it stays below its nurturer. Either way
    it heads its own department, and counts to the nurturer's base only as org counts it back."""
    positions = [Position(1, None, "department_manager", 10),
                 Position(2, None if separated else 1, "department_manager", 10), Position(3, 2, "agent", 10)]
    value = body()
    value["management_allowances"][1]["count_back"] = True
    counted = rules.parse(value)
    premium = [Premium(3, "P", 1, D("200000"), 4)]
    without = settle(counted, Inputs(positions, premium))
    assert [x.agent_id for x in without.lines if x.kind == "management_allowance"] == [2]
    result = settle(counted, Inputs(positions, premium, count_back=[CountBackTeam(1, 2, D("0.5"), separated)]))
    line = next(x for x in result.lines if x.agent_id == 1)
    assert line.rule == "management_allowances.department_subordinate"
    assert line.amount == D("1200.00")  # 60,000 FYC × share 0.5 = 30,000, in the 4% bracket
    assert line.base["count_back"] == [{"team_head_id": 2, "fyc": "60000.00", "share": "0.5"}]


@pytest.mark.parametrize(("base", "expected"), [
    (D("10000"), D("1900.00")), (D("10000.01"), D("1900.002")), (D("49999.99"), D("9899.998")),
    (D("50000"), D("9900.00")), (D("50000.01"), D("9900.0021")),
])
def test_marginal_brackets_at_their_bounds(base: Decimal, expected: Decimal) -> None:
    brackets = RULES.management_allowances[0].brackets
    amount, _ = rules.bracket_amount(base, brackets, "marginal")
    assert amount == expected


def test_held_commission_is_released_when_no_withholding_rule_is_in_force() -> None:
    value = body()
    del value["withholding"]
    released = settle(rules.parse(value), Inputs([Position(1, None, "agent", 10)], [],
                                                  previous={1: Balance(held=D("80.00"))}))
    assert [(x.kind, x.amount, x.arithmetic) for x in released.lines] == [
        ("withholding_release", D("80.00"), "no withholding rule in force: 80.00 released")]
    assert (released.payables[0].net, released.payables[0].held) == (D("80.00"), 0)


BONUS = rules.parse(body(recruiting_bonus={"ranks": ["agent", "supervisor"], "rate": "0.10", "months": 12,
                                           "probation_months": 2}))


def bonus_lines(month_no: int, months_served: int, recruiter_rank: str = "agent",
                recruit_premium: Decimal = D("1000")) -> list[Any]:
    """Agent 1 recruited agent 2, who earned 30% of `recruit_premium` as FYC this month."""
    positions = [Position(1, None, recruiter_rank, 10), Position(2, 1, "agent", 10)]
    recruitment = Recruitment(2, 1, "2026-01-10", month_no, months_served)
    result = settle(BONUS, Inputs(positions, [Premium(2, "P", 1, recruit_premium, 1)], recruitments=[recruitment]))
    return [x for x in result.lines if x.kind == "recruiting_bonus"]


def test_recruiting_bonus_names_the_recruit_and_its_arithmetic() -> None:
    [line] = bonus_lines(month_no=3, months_served=2)
    assert (line.agent_id, line.rule, line.amount) == (1, "recruiting_bonus", D("30.00"))
    assert (line.base["recruit_id"], line.base["recruit_fyc"]) == (2, "300.00")
    assert line.arithmetic == "300.00 × 0.10 = 30.00 (month 3 of 12)"


@pytest.mark.parametrize(("month_no", "months_served", "paid"), [
    (2, 1, False),   # on probation: nothing
    (3, 2, True),    # confirmed this month
    (12, 11, True),  # the window's last month
    (13, 12, False),  # the window is over
])
def test_recruiting_bonus_window_and_probation_bounds(month_no: int, months_served: int, paid: bool) -> None:
    assert bool(bonus_lines(month_no, months_served)) is paid


def test_recruiting_bonus_only_for_ranks_that_draw_it_and_production_above_zero() -> None:
    assert bonus_lines(4, 3, recruiter_rank="department_manager") == []
    assert bonus_lines(4, 3, recruit_premium=D("-50")) == []
    unranked = rules.parse(body(recruiting_bonus={"rate": "0.10", "months": 12}))
    positions = [Position(1, None, "agent", 10), Position(2, None, "agent", 10)]  # recruiter need not lead
    result = settle(unranked, Inputs(positions, [Premium(2, "P", 1, D("1000"), 1)],
                                     recruitments=[Recruitment(2, 1, "2026-01-10", 1, 0)]))
    assert [x.amount for x in result.lines if x.kind == "recruiting_bonus"] == [D("30.00")]
    assert next(p for p in result.payables if p.agent_id == 1).net == D("30.00")


def test_recruiting_bonus_rule_is_checked_field_by_field() -> None:
    with pytest.raises(Unprocessable) as caught:
        rules.parse(body(recruiting_bonus={"rate": "0.10", "months": 0}))
    assert caught.value.extra["field"] == "body.recruiting_bonus.months"
