"""The seed basic law: DOMAIN.md's defaults (seed 000 management allowance tables, seed 001 KPI weights,
seed 000 team sizes), the same document migration 0002 puts in force from 2020-01-01."""

from __future__ import annotations

from typing import Any

GROUP_HEADS = ["probationary_supervisor", "supervisor", "assistant_manager", "department_manager", "director"]
DEPARTMENT_HEADS = ["department_manager", "director"]

DEFAULT_RULE_SET: dict[str, Any] = {
    "currency": "CNY",
    "rounding": {"mode": "half_up", "places": 2},
    "commission": {"rates": [
        {"product_code": "*", "year_from": 1, "year_to": 1, "rate": "0.30"},
        {"product_code": "*", "year_from": 2, "year_to": 5, "rate": "0.05"},
        {"product_code": "*", "year_from": 6, "year_to": None, "rate": "0"},
    ]},
    "grouping": {"group_head_ranks": GROUP_HEADS, "department_head_ranks": DEPARTMENT_HEADS},
    "management_allowances": [
        {"code": "department_direct", "name": "部经理直辖组管理津贴", "ranks": DEPARTMENT_HEADS,
         "base": "direct_group", "mode": "whole", "deduct": [], "brackets": [
             {"lower": "0", "upper": "10000", "rate": "0.19"},
             {"lower": "10000", "upper": "50000", "rate": "0.20"},
             {"lower": "50000", "upper": None, "rate": "0.21"}]},
        {"code": "department_subordinate", "name": "部经理所辖组管理津贴", "ranks": DEPARTMENT_HEADS,
         "base": "subordinate_groups", "mode": "whole", "deduct": [], "count_back": False, "brackets": [
             {"lower": "0", "upper": "30000", "rate": "0.02"},
             {"lower": "30000", "upper": "60000", "rate": "0.04"},
             {"lower": "60000", "upper": "160000", "rate": "0.06"},
             {"lower": "160000", "upper": "260000", "rate": "0.07"},
             {"lower": "260000", "upper": None, "rate": "0.08"}]},
    ],
    "nurturing_allowance": {"ranks": DEPARTMENT_HEADS, "rates_by_generation": ["0.06", "0.03", "0.02"]},
    "withholding": {"basis": "overdue", "rate": "1"},
    "clawback": {"window_months": 12, "share": "1"},
    "kpi_weights": {"sales": "0.5", "ability": "0.3", "attitude": "0.2"},
    "rank_conditions": [
        {"rank_code": "agent", "kind": "promotion", "target_rank": "probationary_supervisor", "months": 6,
         "policies_min": 24, "team_size_min": 3},
        {"rank_code": "supervisor", "kind": "maintenance", "target_rank": "supervisor", "months": 3,
         "policies_min": 3, "team_size_min": 3},
        {"rank_code": "department_manager", "kind": "maintenance", "target_rank": "department_manager",
         "months": 3, "team_size_min": 12},
    ],
}

# The sales part 销售业绩 of KPI (seed 001: 保费收入完成情况, 新单数量达成率) derived from facts and targets;
# rules.SalesScore explains each field. A rule set proposed without one gets this (migration 0011 wrote
# it, as a literal, into the versions stored before it existed).
# 销售利润贡献率 is not a measure: the facts hold no profit.
DEFAULT_SALES_SCORE: dict[str, Any] = {
    "measures": [{"measure": "premium", "weight": "0.7"}, {"measure": "new_policies", "weight": "0.3"}],
    "full_marks": "100",
    "cap": "100",
    "places": 2,
    "rounding": "half_up",
    "missing_target": "entered_score",
}
