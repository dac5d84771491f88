"""The team change workflow's rules as plain functions: standards, the approval chain, who may decide
which step. Tested without a database; `workflow` applies them to requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from svckit.errors import Conflict, Forbidden, Unprocessable
from svckit.money import Money

CHAIN = "team_change"
ADMIN = "admin"  # may act on any step
APPLICANT_ROLES = ("admin", "marketing_management", "back_office")
OPEN = ("submitted", "in_review")
PLAN_FIELD = "annual_premium_plan.amount"


# ---- rules, without a database ---------------------------------------------------------------


@dataclass(frozen=True)
class Standard:
    """A team standard in force: minimum annual standard-premium plan and size norms."""

    institution_kind: str
    team_kind: str
    valid_from: date
    min_plan: Money
    min_headcount: int
    max_headcount: int | None

    def as_record(self) -> dict[str, Any]:
        return {"institution_kind": self.institution_kind, "team_kind": self.team_kind,
                "valid_from": self.valid_from.isoformat(), "min_annual_premium_plan": str(self.min_plan.amount),
                "currency": self.min_plan.currency, "min_headcount": self.min_headcount,
                "max_headcount": self.max_headcount}


@dataclass(frozen=True)
class Step:
    position: int
    step: str
    role: str | None
    tier: int | None = None


def premium_plan_meets(standard: Standard, plan: Money) -> None:
    """The (resulting) team's annual standard-premium plan reaches the standard's minimum."""
    if plan.currency != standard.min_plan.currency:
        raise Unprocessable(f"the standard is set in {standard.min_plan.currency}", code="currency_mismatch",
                            field="annual_premium_plan.currency")
    if plan.amount < 0 or plan.rounded() != plan:
        raise Unprocessable("the plan is a non-negative amount in whole cents", code="invalid_amount",
                            field=PLAN_FIELD)
    if plan < standard.min_plan:
        raise Unprocessable(
            f"an annual standard-premium plan of {plan} is below the {standard.min_plan} a {standard.team_kind}"
            f" under a {standard.institution_kind} must reach", code="premium_plan_below_standard",
            field=PLAN_FIELD, rule="team_standard.min_annual_premium_plan", minimum=str(standard.min_plan.amount),
            currency=standard.min_plan.currency, standard=standard.as_record())


def headcount_meets(standard: Standard, headcount: int, *, field: str) -> None:
    """The (resulting) team's size is within the standard's norms."""
    if headcount < standard.min_headcount:
        raise Unprocessable(f"{headcount} people is below the minimum of {standard.min_headcount}",
                            code="headcount_below_standard", field=field, rule="team_standard.min_headcount",
                            minimum=standard.min_headcount, headcount=headcount)
    if standard.max_headcount is not None and headcount > standard.max_headcount:
        raise Unprocessable(f"{headcount} people is above the maximum of {standard.max_headcount}",
                            code="headcount_above_standard", field=field, rule="team_standard.max_headcount",
                            maximum=standard.max_headcount, headcount=headcount)


def chain_is_usable(steps: Sequence[Step]) -> None:
    """An application followed by at least one decision step, numbered 1..n."""
    if (len(steps) < 2 or [s.position for s in steps] != list(range(1, len(steps) + 1))
            or steps[0].role is not None or any(s.role is None for s in steps[1:])):
        raise Conflict("no usable team change approval chain is in force", code="approval_chain_missing")


def applicant_role(roles: Iterable[str]) -> str:
    """The role the application (step 1) is made in: a named role rather than admin when the caller has one."""
    held = sorted(set(roles) & set(APPLICANT_ROLES) - {ADMIN})
    return held[0] if held else ADMIN


def decidable_step(steps: Sequence[Step], status: str, current: int | None, decided: Iterable[int],
                   step_name: str) -> Step:
    """The step named may be decided now: the request is open, the step is the current one, not yet decided."""
    if status not in OPEN or current is None:
        raise Conflict(f"the request is {status}; nothing is left to decide", code="team_change_closed",
                       field="step", request_status=status)
    step = next((s for s in steps if s.step == step_name), None)
    if step is None:
        raise Unprocessable(f"the request has no step {step_name!r}", code="unknown_step", field="step",
                            steps=[s.step for s in steps])
    current_name = steps[current - 1].step
    if step.position in set(decided):
        raise Conflict(f"step {step_name} is already decided", code="step_already_decided", field="step",
                       current_step=current_name)
    if step.position != current:
        raise Conflict(f"step {step_name} is not the current step ({current_name})", code="step_not_current",
                       field="step", current_step=current_name)
    return step


def acting_role(step: Step, roles: Iterable[str], assigned: Iterable[int], institution_path: Sequence[int]) -> str:
    """The role in which the caller decides `step`: admin, or the step's role held at the step's level
    (assigned to the request institution's ancestor of the step's tier: its branch, or HQ)."""
    held = set(roles)
    if ADMIN in held:
        return ADMIN
    if step.role is None or step.role not in held:
        raise Forbidden(f"step {step.step} is decided by the role {step.role}", code="step_role_required",
                        field="step", required_role=step.role)
    if step.tier is not None and (len(institution_path) < step.tier
                                  or institution_path[step.tier - 1] not in set(assigned)):
        raise Forbidden(f"step {step.step} is decided at the tier-{step.tier} institution above the request",
                        code="step_institution_required", field="step", required_tier=step.tier)
    return step.role


def after_decision(step: Step, steps: Sequence[Step], decision: str) -> tuple[str, int | None]:
    """Status and current step once `step` is decided: rejection ends; the last approval approves."""
    if decision == "reject":
        return "rejected", None
    if step.position == len(steps):
        return "approved", None
    return "in_review", step.position + 1


def step_state(position: int, current: int | None, decision: str | None) -> str:
    if decision is not None:
        return "approved" if decision == "approve" else "rejected"
    if current is None:
        return "not_reached"
    return "current" if position == current else "pending"


def tops(supervisors: Mapping[int, int | None]) -> set[int]:
    """Of a group of people (agent → supervisor), those whose supervisor is not in the group."""
    return {agent for agent, supervisor in supervisors.items() if supervisor not in supervisors}


# ---- reading the rules -------------------------------------------------------------------------
