"""Team change workflow rules without a database."""

from datetime import date
from decimal import Decimal

import pytest

from org_service.workflow_rules import (
    Standard,
    Step,
    acting_role,
    after_decision,
    applicant_role,
    chain_is_usable,
    decidable_step,
    headcount_meets,
    premium_plan_meets,
    step_state,
    tops,
)
from svckit.errors import Conflict, DomainError, Forbidden, Unprocessable
from svckit.money import Money

OFFICE = Standard("sales_office", "department", date(2000, 1, 1), Money.of("5000000.00", "CNY"), 4, 15)
CHAIN = [Step(1, "institution", None), Step(2, "branch_marketing_management", "marketing_management", 2),
         Step(3, "branch_gm_office", "gm_office", 2), Step(4, "hq_marketing_management", "marketing_management", 1)]
PATH = [1, 20, 300]  # HQ 1 → branch 20 → office 300


def refused(error: type[DomainError], code: str, call: object, *args: object, **kwargs: object) -> DomainError:
    assert callable(call)
    with pytest.raises(error) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


def test_the_premium_plan_must_reach_the_standard_exactly_in_its_currency() -> None:
    premium_plan_meets(OFFICE, Money.of("5000000.00", "CNY"))
    below = refused(Unprocessable, "premium_plan_below_standard", premium_plan_meets, OFFICE,
                    Money.of("4999999.99", "CNY"))
    assert below.extra["field"] == "annual_premium_plan.amount"
    assert (below.extra["rule"], below.extra["minimum"]) == ("team_standard.min_annual_premium_plan", "5000000.00")
    refused(Unprocessable, "currency_mismatch", premium_plan_meets, OFFICE, Money.of("9000000", "USD"))
    refused(Unprocessable, "invalid_amount", premium_plan_meets, OFFICE, Money(Decimal("6000000.001"), "CNY"))
    refused(Unprocessable, "invalid_amount", premium_plan_meets,
            Standard("x", "group", date(2000, 1, 1), Money.of("0", "CNY"), 0, None), Money.of("-1", "CNY"))


def test_headcount_norms_bound_the_team_on_both_sides() -> None:
    headcount_meets(OFFICE, 4, field="planned_headcount")
    headcount_meets(OFFICE, 15, field="planned_headcount")
    low = refused(Unprocessable, "headcount_below_standard", headcount_meets, OFFICE, 3, field="agent_ids")
    assert (low.extra["field"], low.extra["minimum"]) == ("agent_ids", 4)
    high = refused(Unprocessable, "headcount_above_standard", headcount_meets, OFFICE, 16, field="planned_headcount")
    assert high.extra["maximum"] == 15
    unbounded = Standard("sub_branch", "department", date(2000, 1, 1), Money.of("4000000", "CNY"), 4, None)
    headcount_meets(unbounded, 10_000, field="planned_headcount")


def test_a_chain_is_an_application_then_decision_steps() -> None:
    chain_is_usable(CHAIN)
    for broken in ([CHAIN[0]], [CHAIN[0], CHAIN[2]], [CHAIN[1], CHAIN[0]], [Step(1, "x", "gm_office"), CHAIN[1]],
                   [CHAIN[0], Step(2, "x", None)]):
        refused(Conflict, "approval_chain_missing", chain_is_usable, broken)


def test_the_application_is_made_in_a_named_role_when_there_is_one() -> None:
    assert applicant_role({"admin", "back_office"}) == "back_office"
    assert applicant_role({"admin", "agent"}) == "admin"


def test_only_the_current_undecided_step_of_an_open_request_can_be_decided() -> None:
    assert decidable_step(CHAIN, "submitted", 2, [1], "branch_marketing_management") == CHAIN[1]
    early = refused(Conflict, "step_not_current", decidable_step, CHAIN, "submitted", 2, [1], "branch_gm_office")
    assert early.extra["current_step"] == "branch_marketing_management"
    refused(Conflict, "step_already_decided", decidable_step, CHAIN, "in_review", 3, [1, 2],
            "branch_marketing_management")
    refused(Conflict, "step_already_decided", decidable_step, CHAIN, "in_review", 3, [1, 2], "institution")
    refused(Unprocessable, "unknown_step", decidable_step, CHAIN, "in_review", 3, [1, 2], "ceo")
    for status in ("rejected", "cancelled", "executed"):
        refused(Conflict, "team_change_closed", decidable_step, CHAIN, status, None, [1, 2], "branch_gm_office")


def test_a_step_is_decided_in_its_role_at_its_level_or_by_an_admin() -> None:
    assert acting_role(CHAIN[1], {"marketing_management"}, {20}, PATH) == "marketing_management"
    assert acting_role(CHAIN[3], {"marketing_management"}, {1}, PATH) == "marketing_management"
    assert acting_role(CHAIN[3], {"admin"}, set(), PATH) == "admin"
    wrong = refused(Forbidden, "step_role_required", acting_role, CHAIN[2], {"marketing_management"}, {20}, PATH)
    assert wrong.extra["required_role"] == "gm_office"
    # The branch's marketing management cannot give HQ's approval, nor another branch's review.
    refused(Forbidden, "step_institution_required", acting_role, CHAIN[3], {"marketing_management"}, {20}, PATH)
    refused(Forbidden, "step_institution_required", acting_role, CHAIN[1], {"marketing_management"}, {21}, PATH)
    assert acting_role(Step(2, "any", "gm_office"), {"gm_office"}, set(), PATH) == "gm_office"


def test_rejection_ends_and_the_last_approval_approves() -> None:
    assert after_decision(CHAIN[1], CHAIN, "approve") == ("in_review", 3)
    assert after_decision(CHAIN[2], CHAIN, "reject") == ("rejected", None)
    assert after_decision(CHAIN[3], CHAIN, "approve") == ("approved", None)


def test_step_states() -> None:
    assert [step_state(p, 3, d) for p, d in [(1, "approve"), (2, "approve"), (3, None), (4, None)]] == [
        "approved", "approved", "current", "pending"]
    assert [step_state(p, None, d) for p, d in [(2, "reject"), (3, None)]] == ["rejected", "not_reached"]


def test_the_tops_of_a_group_are_those_whose_supervisor_is_outside_it() -> None:
    assert tops({10: 1, 11: 10, 12: 11, 20: None, 21: 20, 30: 99}) == {10, 20, 30}
