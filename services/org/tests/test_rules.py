"""Org rules without a database."""

from datetime import date

import pytest

from org_service.rules import (
    RankStanding,
    chinese_number,
    dates_in_order,
    department_name,
    group_name,
    no_lineage_cycle,
    no_supervision_cycle,
    not_before_history,
    supervisor_outranks,
)
from svckit.errors import Conflict, Unprocessable


@pytest.mark.parametrize(("n", "zh"), [(1, "一"), (9, "九"), (10, "十"), (12, "十二"), (20, "二十"), (35, "三十五"),
                                       (100, "一百"), (105, "一百零五"), (110, "一百一十"), (999, "九百九十九")])
def test_chinese_numbers(n: int, zh: str) -> None:
    assert chinese_number(n) == zh


def test_team_names_follow_the_institution_path() -> None:
    assert department_name(["天津分公司", "营业部"], 1) == "天津分公司营业部业务一部"
    assert department_name(["天津分公司", "汉沽营销服务部"], 1) == "天津分公司汉沽营销服务部业务一部"
    assert department_name(["天津分公司", "津西支公司"], 12) == "天津分公司津西支公司业务十二部"
    assert group_name("天津分公司营业部业务一部", 2) == "天津分公司营业部业务一部二组"


def test_dates_must_be_in_order() -> None:
    dates_in_order(date(2026, 1, 1), None)
    with pytest.raises(Unprocessable) as refused:
        dates_in_order(date(2026, 1, 1), date(2026, 1, 1))
    assert refused.value.code == "dates_out_of_order"


def test_history_is_not_rewritten() -> None:
    not_before_history(date(2026, 3, 1), date(2026, 3, 1), what="agent 7")
    with pytest.raises(Conflict) as refused:
        not_before_history(date(2026, 2, 28), date(2026, 3, 1), what="agent 7")
    assert refused.value.code == "effective_date_before_history"


def test_cycles_are_refused() -> None:
    no_supervision_cycle(5, 2, [1, 2])
    for supervisor, path in [(5, [1]), (9, [1, 5, 7])]:
        with pytest.raises(Conflict) as refused:
            no_supervision_cycle(5, supervisor, path)
        assert refused.value.code == "supervision_cycle"
    with pytest.raises(Conflict) as lineage:
        no_lineage_cycle(5, 8, [8, 5])
    assert lineage.value.code == "lineage_cycle"


def test_a_supervisor_may_not_be_outranked_unless_the_rule_allows() -> None:
    agent = RankStanding("agent", 10, False)
    supervisor = RankStanding("supervisor", 30, False)
    supervisor_outranks(agent, supervisor, field="supervisor_id")
    with pytest.raises(Conflict) as refused:
        supervisor_outranks(supervisor, agent, field="supervisor_id")
    assert refused.value.code == "supervisor_rank_too_low"
    supervisor_outranks(RankStanding("supervisor", 30, True), agent, field="supervisor_id")
