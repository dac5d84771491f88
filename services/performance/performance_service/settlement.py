"""The monthly settlement 月度结算 itself: pure functions from a run's inputs to every agent's statement
lines and net payable, with no database and no HTTP (the run module reads and stores).

Each line names its rule, its base and its arithmetic, and is rounded on its own (the rule set's
rounding, half-up to the cent by default), so a statement adds up exactly to what is paid:
- commission 个人佣金: received premium by product and policy year × the rate (FYC in year 1);
- management allowances 管理津贴 over the group 直辖 or the department's other groups 所辖 the agent
  heads, in brackets, less what named allowances already drew on the same base;
- nurturing allowance 育成津贴 on the departments nurtured to peer level, by generation;
- recruiting bonus 增员奖: a share of each confirmed recruit's FYC to their recruiter, for months after joining;
- clawback 追索扣回 of commission on policies ended within the window;
- adjustments from accepted disputes; withholding 预留 while premium is outstanding, and its release;
- a deficit carried to the next period (and carried in from the last), so nothing is ever negative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from performance_service.rules import ManagementAllowance, RuleSetBody, bracket_amount

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Position:
    """Where an agent stands at the period's end (org's snapshot), listed top-down."""

    agent_id: int
    supervisor_id: int | None
    rank_code: str
    branch_id: int


@dataclass(frozen=True, slots=True)
class Premium:
    """Premium received (net of reversals) by an agent in the period on one product and policy year."""

    agent_id: int
    product_code: str
    policy_year: int
    amount: Decimal
    facts: int


@dataclass(frozen=True, slots=True)
class EndedPolicy:
    """A policy ended in the period, with the premium received on it before, by policy year."""

    agent_id: int
    policy_id: int
    product_code: str
    how: str
    issued_on: str
    ended_on: str
    months_in_force: int
    received_by_year: tuple[tuple[int, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Balance:
    """What the agent's last settled period left: commission held, and a deficit carried."""

    held: Decimal = ZERO
    carried: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Adjustment:
    agent_id: int
    dispute_id: int
    amount: Decimal
    note: str


@dataclass(frozen=True, slots=True)
class CountBackTeam:
    nurturer_id: int
    team_head_id: int
    share: Decimal
    separated: bool


@dataclass(frozen=True, slots=True)
class Recruitment:
    """Who recruited an agent 增员人 (org's bloodline, permanent), and where the period stands from joining:
    its month number (the month of joining is 1) and the full months served at the period's end."""

    recruit_id: int
    recruiter_id: int
    joined_on: str
    month_no: int
    months_served: int


@dataclass
class Inputs:
    positions: list[Position]
    premium: list[Premium]
    ended: list[EndedPolicy] = field(default_factory=list)
    outstanding: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    previous: dict[int, Balance] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    count_back: list[CountBackTeam] = field(default_factory=list)
    nurtured_by: dict[int, int] = field(default_factory=dict)
    # What earlier final runs of the same period already paid (a re-run pays the difference).
    paid_before: dict[int, Decimal] = field(default_factory=dict)
    recruitments: list[Recruitment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Line:
    agent_id: int
    line_no: int
    kind: str
    rule: str
    amount: Decimal
    base: dict[str, Any]
    arithmetic: str


@dataclass(frozen=True, slots=True)
class Payable:
    agent_id: int
    branch_id: int
    gross: Decimal
    net: Decimal
    held: Decimal
    carried: Decimal


@dataclass
class Result:
    lines: list[Line]
    payables: list[Payable]


@dataclass
class Groups:
    """Who heads each agent's group and department (nearest head at or above them), and the FYC sums."""

    fyc: dict[int, Decimal]
    group_head: dict[int, int | None]
    department_head: dict[int, int | None]
    direct_group: dict[int, Decimal]
    direct_group_size: dict[int, int]
    subordinate_groups: dict[int, Decimal]
    subordinate_size: dict[int, int]


def group_structure(rules: RuleSetBody, positions: list[Position], fyc: dict[int, Decimal]) -> Groups:
    group_ranks = frozenset(rules.grouping.group_head_ranks)
    department_ranks = frozenset(rules.grouping.department_head_ranks)
    gh: dict[int, int | None] = {}
    dh: dict[int, int | None] = {}
    for p in positions:  # top-down: a supervisor is placed before the people below them
        sup = p.supervisor_id
        gh[p.agent_id] = p.agent_id if p.rank_code in group_ranks else (gh.get(sup) if sup is not None else None)
        dh[p.agent_id] = p.agent_id if p.rank_code in department_ranks else (dh.get(sup) if sup is not None else None)
    direct: dict[int, Decimal] = defaultdict(Decimal)
    direct_n: dict[int, int] = defaultdict(int)
    sub: dict[int, Decimal] = defaultdict(Decimal)
    sub_n: dict[int, int] = defaultdict(int)
    for p in positions:
        a = p.agent_id
        value = fyc.get(a, ZERO)
        g, d = gh[a], dh[a]
        if g is not None:
            direct[g] += value
            direct_n[g] += 1
        if d is not None and g != d:
            sub[d] += value
            sub_n[d] += 1
    return Groups(fyc, gh, dh, direct, direct_n, sub, sub_n)


def department_fyc(groups: Groups, head: int) -> Decimal:
    """The FYC of the department (or, for a head of a group only, the group) an agent heads."""
    return groups.direct_group.get(head, ZERO) + groups.subordinate_groups.get(head, ZERO)


@dataclass(frozen=True, slots=True)
class Earned:
    """An agent's commission lines, summed: all of it, the first-year part (FYC), and how many lines."""

    total: Decimal
    fyc: Decimal
    lines: int


def commission_detail(product_code: str, policy_year: int, premium: Decimal, facts: int, rate: Decimal | None,
                      amount: Decimal) -> tuple[dict[str, Any], str]:
    """The base and arithmetic of a commission line (written by the run in typed columns, rendered here)."""
    base: dict[str, Any] = {"product_code": product_code, "policy_year": policy_year,
                            "received_premium": str(premium), "facts": facts}
    if rate is None:
        return base, f"no commission rate for {product_code} in policy year {policy_year}"
    return base | {"rate": str(rate)}, f"{premium} × {rate} = {amount}"


def commission(rules: RuleSetBody, premium: list[Premium]) -> tuple[list[Line], dict[int, Earned]]:
    """Commission lines: received premium by product and policy year at its rate, each line rounded.
    (runs.py computes the same lines in SQL for volume; a test holds the two together.)"""
    rnd = rules.rounding.apply
    rates: dict[tuple[str, int], Decimal | None] = {}
    lines: list[Line] = []
    totals: dict[int, list[Any]] = {}
    for p in sorted(premium, key=lambda x: (x.agent_id, x.product_code, x.policy_year)):
        key = (p.product_code, p.policy_year)
        if key not in rates:
            rates[key] = rules.commission.rate(*key)
        rate = rates[key]
        amount = ZERO if rate is None else rnd(p.amount * rate)
        base, arithmetic = commission_detail(p.product_code, p.policy_year, p.amount, p.facts, rate, amount)
        sums = totals.setdefault(p.agent_id, [ZERO, ZERO, 0])
        sums[0] += amount
        if p.policy_year == 1:
            sums[1] += amount
        sums[2] += 1
        lines.append(Line(p.agent_id, sums[2], "commission", "commission", amount, base, arithmetic))
    return lines, {a: Earned(t, f, n) for a, (t, f, n) in totals.items()}


class _Statement:
    """The lines of one agent after its commission lines, numbered on from them."""

    __slots__ = ("agent_id", "base_total", "lines", "offset")

    def __init__(self, agent_id: int, earned: Earned | None) -> None:
        self.agent_id = agent_id
        self.base_total = earned.total if earned is not None else ZERO
        self.offset = earned.lines if earned is not None else 0
        self.lines: list[Line] = []

    def add(self, kind: str, rule: str, amount: Decimal, base: dict[str, Any], arithmetic: str) -> Decimal:
        self.lines.append(Line(self.agent_id, self.offset + len(self.lines) + 1, kind, rule, amount, base,
                               arithmetic))
        return amount

    def total(self) -> Decimal:
        return self.base_total + sum((x.amount for x in self.lines), ZERO)


def settle(rules: RuleSetBody, inputs: Inputs) -> Result:
    """Every agent's statement lines and payable for one period."""
    lines, earned = commission(rules, inputs.premium)
    rest = settle_from(rules, inputs, earned)
    merged = sorted([*lines, *rest.lines], key=lambda x: (x.agent_id, x.line_no))
    return Result(merged, rest.payables)


def settle_from(rules: RuleSetBody, inputs: Inputs, earned: dict[int, Earned]) -> Result:
    """Everything after the commission lines (`earned`, per agent): allowances, clawbacks, adjustments,
    carried balances, withholding; the lines returned are those other lines, the payables every agent's."""
    ranks = {p.agent_id: p.rank_code for p in inputs.positions}
    statements: dict[int, _Statement] = {}

    def statement(agent_id: int) -> _Statement:
        found = statements.get(agent_id)
        if found is None:
            found = statements[agent_id] = _Statement(agent_id, earned.get(agent_id))
        return found

    fyc = {a: e.fyc for a, e in earned.items() if e.fyc}
    groups = group_structure(rules, inputs.positions, fyc)
    counted_back = _count_back(inputs.count_back, groups)
    _management_allowances(rules, inputs.positions, groups, counted_back, statement)
    _nurturing(rules, ranks, groups, inputs.nurtured_by, statement)
    _recruiting_bonus(rules, ranks, fyc, inputs.recruitments, statement)
    gross = {a: s.total() for a, s in statements.items()}
    _clawbacks(rules, inputs.ended, statement)
    for adj in sorted(inputs.adjustments, key=lambda x: (x.agent_id, x.dispute_id)):
        statement(adj.agent_id).add("adjustment", f"dispute:{adj.dispute_id}", adj.amount,
                                    {"dispute_id": adj.dispute_id, "note": adj.note},
                                    f"accepted dispute {adj.dispute_id}: {adj.amount}")
    for agent_id, paid in sorted(inputs.paid_before.items()):
        if paid:
            statement(agent_id).add("paid_before", "supersession", -paid, {"paid": str(paid)},
                                    f"already paid for this period by the run(s) superseded: −{paid}")
    for agent_id, bal in inputs.previous.items():
        if bal.carried or bal.held:
            statement(agent_id)
    branches = {p.agent_id: p.branch_id for p in inputs.positions}
    no_balance = Balance()
    payables: list[Payable] = []
    lines: list[Line] = []
    for agent_id in sorted(earned.keys() | statements.keys()):
        s = statements.get(agent_id)
        if s is None:
            s = _Statement(agent_id, earned[agent_id])
            total = s.base_total
            quiet = agent_id not in inputs.outstanding and agent_id not in inputs.previous
            if quiet and total >= 0:  # nothing held, carried or owed: the commission is the pay
                payables.append(Payable(agent_id, branches.get(agent_id, 0), total, total, ZERO, ZERO))
                continue
        payables.append(_close(rules, s, gross.get(agent_id, s.base_total), inputs.previous.get(agent_id, no_balance),
                               inputs.outstanding.get(agent_id), branches.get(agent_id, 0)))
        lines += s.lines
    return Result(lines, payables)


def _count_back(teams: Iterable[CountBackTeam], groups: Groups) -> dict[int, list[tuple[int, Decimal, Decimal]]]:
    """Per nurturer: the teams org counts back, with their department FYC and share. A peer-level team
    heads its own department whether or not it separated (China Life style keeps it in the line), so
    its FYC is in no group of the nurturer's and counts only this way."""
    found: dict[int, list[tuple[int, Decimal, Decimal]]] = defaultdict(list)
    for t in sorted(teams, key=lambda x: (x.nurturer_id, x.team_head_id)):
        found[t.nurturer_id].append((t.team_head_id, department_fyc(groups, t.team_head_id), t.share))
    return found


def _management_allowances(rules: RuleSetBody, positions: list[Position], groups: Groups,
                           counted_back: dict[int, list[tuple[int, Decimal, Decimal]]], statement: Any) -> None:
    rnd = rules.rounding.apply
    drawn: dict[tuple[str, int], Decimal] = {}
    for allowance in rules.management_allowances:
        eligible = frozenset(allowance.ranks)
        for p in positions:
            if p.rank_code not in eligible:
                continue
            line = _allowance_line(allowance, p.agent_id, groups, counted_back, drawn, rnd)
            if line is not None:
                amount, base, arithmetic = line
                drawn[(allowance.code, p.agent_id)] = amount
                statement(p.agent_id).add("management_allowance", f"management_allowances.{allowance.code}",
                                          amount, base, arithmetic)


def _allowance_line(allowance: ManagementAllowance, head: int, groups: Groups,
                    counted_back: dict[int, list[tuple[int, Decimal, Decimal]]],
                    drawn: dict[tuple[str, int], Decimal], rnd: Any) -> tuple[Decimal, dict[str, Any], str] | None:
    if allowance.base == "direct_group":
        if groups.group_head.get(head) != head:
            return None
        base, members = groups.direct_group.get(head, ZERO), groups.direct_group_size.get(head, 0)
    else:
        if groups.department_head.get(head) != head:
            return None
        base, members = groups.subordinate_groups.get(head, ZERO), groups.subordinate_size.get(head, 0)
    detail: dict[str, Any] = {"allowance": allowance.code, "base": allowance.base, "mode": allowance.mode,
                              "group_fyc": str(base), "agents": members}
    teams = counted_back.get(head, []) if allowance.count_back else []
    if teams:
        extra = sum((f * s for _, f, s in teams), ZERO)
        detail["count_back"] = [{"team_head_id": h, "fyc": str(f), "share": str(s)} for h, f, s in teams]
        base += extra
    if base <= 0 and not teams:
        return None
    raw, arithmetic = bracket_amount(base, allowance.brackets, allowance.mode)
    amount = rnd(raw)
    deducted = ZERO
    for code in allowance.deduct:
        already = drawn.get((code, head), ZERO)
        if already:
            detail.setdefault("deducted", {})[code] = str(already)
            deducted += already
            arithmetic += f" − {already} ({code})"
    amount = max(amount - deducted, ZERO)
    detail["base_total"] = str(base)
    return amount, detail, f"{arithmetic} = {amount}"


def _nurturing(rules: RuleSetBody, ranks: dict[int, str], groups: Groups, nurtured_by: dict[int, int],
               statement: Any) -> None:
    rule = rules.nurturing_allowance
    if rule is None or not nurtured_by:
        return
    eligible = frozenset(rule.ranks)
    rnd = rules.rounding.apply
    for team_head in sorted(nurtured_by):
        if team_head not in ranks:
            continue
        team_fyc = department_fyc(groups, team_head)
        if team_fyc <= 0:
            continue
        nurturer, seen = nurtured_by.get(team_head), {team_head}
        for generation, rate in enumerate(rule.rates_by_generation, start=1):
            if nurturer is None or nurturer in seen:
                break
            seen.add(nurturer)
            if ranks.get(nurturer) in eligible:
                amount = rnd(team_fyc * rate)
                statement(nurturer).add(
                    "nurturing_allowance", "nurturing_allowance", amount,
                    {"team_head_id": team_head, "generation": generation, "team_fyc": str(team_fyc),
                     "rate": str(rate)}, f"{team_fyc} × {rate} = {amount}")
            nurturer = nurtured_by.get(nurturer)


def _recruiting_bonus(rules: RuleSetBody, ranks: dict[int, str], fyc: dict[int, Decimal],
                      recruitments: list[Recruitment], statement: Any) -> None:
    rule = rules.recruiting_bonus
    if rule is None:
        return
    eligible = frozenset(rule.ranks)
    rnd = rules.rounding.apply
    for r in sorted(recruitments, key=lambda x: (x.recruiter_id, x.recruit_id)):
        recruit_fyc = fyc.get(r.recruit_id, ZERO)
        if recruit_fyc <= 0 or not 1 <= r.month_no <= rule.months or r.months_served < rule.probation_months:
            continue
        rank = ranks.get(r.recruiter_id)
        if rank is None or (eligible and rank not in eligible):
            continue  # a recruiter who has left, or whose rank does not draw it
        amount = rnd(recruit_fyc * rule.rate)
        statement(r.recruiter_id).add(
            "recruiting_bonus", "recruiting_bonus", amount,
            {"recruit_id": r.recruit_id, "joined_on": r.joined_on, "month_no": r.month_no, "months": rule.months,
             "months_served": r.months_served, "probation_months": rule.probation_months,
             "recruit_fyc": str(recruit_fyc), "rate": str(rule.rate)},
            f"{recruit_fyc} × {rule.rate} = {amount} (month {r.month_no} of {rule.months})")


def _clawbacks(rules: RuleSetBody, ended: list[EndedPolicy], statement: Any) -> None:
    rule = rules.clawback
    if rule is None:
        return
    rnd = rules.rounding.apply
    for e in sorted(ended, key=lambda x: (x.agent_id, x.policy_id)):
        if e.months_in_force >= rule.window_months:
            continue
        parts, total = [], ZERO
        for year, received in e.received_by_year:
            rate = rules.commission.rate(e.product_code, year) or ZERO
            total += received * rate
            parts.append(f"{received} × {rate}")
        amount = rnd(total * rule.share)
        if amount == 0:
            continue
        statement(e.agent_id).add(
            "clawback", "clawback", -amount,
            {"policy_id": e.policy_id, "product_code": e.product_code, "how": e.how, "issued_on": e.issued_on,
             "ended_on": e.ended_on, "window_months": rule.window_months,
             "received_by_year": {str(y): str(a) for y, a in e.received_by_year}},
            f"−({' + '.join(parts)}) × {rule.share} = {-amount}")


def _close(rules: RuleSetBody, s: _Statement, gross: Decimal, previous: Balance,
           outstanding: tuple[Decimal, Decimal] | None, branch_id: int) -> Payable:
    """Carried deficit in, withholding (or its release), and a deficit carried out: the net is never < 0."""
    rnd = rules.rounding.apply
    if previous.carried:
        s.add("carried_in", "carry", -previous.carried, {"carried": str(previous.carried)},
              f"deficit of the last period: −{previous.carried}")
    held = previous.held
    rule = rules.withholding
    if rule is not None:
        basis = ZERO
        if outstanding is not None:
            basis = outstanding[1] if rule.basis == "overdue" else outstanding[0]
        target = rnd(basis * rule.rate)
        available = s.total()
        new_held = min(target, held + max(available, ZERO))
        base = {"basis": rule.basis, "premium": str(basis), "rate": str(rule.rate), "held_before": str(held)}
        if new_held > held:
            s.add("withholding", "withholding", held - new_held, base | {"held_after": str(new_held)},
                  f"hold min({basis} × {rule.rate}, {held} + {max(available, ZERO)}) = {new_held}; "
                  f"{new_held} − {held} withheld")
        elif new_held < held:
            s.add("withholding_release", "withholding", held - new_held, base | {"held_after": str(new_held)},
                  f"hold {basis} × {rule.rate} = {new_held}; {held} − {new_held} released")
        held = new_held
    elif held:
        s.add("withholding_release", "withholding", held, {"held_before": str(held)},
              f"no withholding rule in force: {held} released")
        held = ZERO
    total = s.total()
    carried = ZERO
    if total < 0:
        carried = -total
        s.add("carry_forward", "carry", carried, {"deficit": str(carried)},
              f"deficit {total} carried to the next period")
        total = ZERO
    return Payable(s.agent_id, branch_id, gross, total, held, carried)
