"""Demo data: a realistic company with years of effective-dated history, generated in memory
(deterministic for a seed) and bulk-loaded with COPY; and the check that what is stored is consistent.

    ORG_DATABASE_URL=... python -m org_service.demo --agents 2000 [--years 3] [--seed 1] [--tag X]

HQ → 2–4 branches → a sales office 营业部 and 3–6 marketing service offices / sub-branches (some
with a tier-4 office), departments and groups named by the institution path, lines of agents
director → department managers → assistant managers → supervisors → probationary supervisors →
agents with spans of 6–8, bloodline, and over the years hires, leavers, moves and rank changes.
Paths and subtree rollups are computed exactly from the generated versions. The shape numbers
below are demo parameters, not business rules (those live in the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg

from org_service import rules
from svckit.db import libpq_dsn

RANK_CODES = ("agent", "probationary_supervisor", "supervisor", "assistant_manager", "department_manager",
              "director")
AGENT, PROB, SUP, AM, DM, DIRECTOR = range(6)
# The headcount below someone from which a line gives them each rank (index = rank).
RANK_FROM_BELOW = (0, 1, 8, 40, 200, 2_000)
# Branches 分公司 with the offices they may have: 营销服务部 marketing service offices, 支公司 sub-branches.
BRANCHES = (
    ("天津", "TJ", ("汉沽营销服务部", "塘沽营销服务部", "津西支公司", "武清营销服务部", "宝坻营销服务部",
                    "静海支公司")),
    ("河北", "HE", ("保定营销服务部", "唐山支公司", "廊坊营销服务部", "沧州营销服务部", "邯郸支公司",
                    "秦皇岛营销服务部")),
    ("山东", "SD", ("青岛支公司", "烟台营销服务部", "潍坊营销服务部", "淄博支公司", "临沂营销服务部",
                    "济宁营销服务部")),
    ("河南", "HA", ("洛阳支公司", "开封营销服务部", "新乡营销服务部", "南阳支公司", "许昌营销服务部",
                    "安阳营销服务部")),
)
TOWNS = ("杨柳青", "大港", "蓟州", "宁河", "霸州", "任丘", "胶州", "平度", "偃师", "新安")
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
            "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
            "郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国玉梅志红云飞鹏辉海燕晨宇浩然轩欣怡佳"
         "琪涵雨桐思远嘉文博雅婷俊晓东丹")
ACTOR = "demo-generator"
Day = int  # date.toordinal(): cheap to compare and hash while generating


@dataclass(frozen=True)
class DemoConfig:
    agents: int = 2_000  # people in force on the last day of the history
    years: int = 3
    seed: int = 1
    until: date = date(2026, 6, 30)  # the last day of the generated history (fixed, so a seed is reproducible)
    tag: str = ""  # put into names and codes, so several demo companies can share a database
    span: tuple[int, int] = (6, 8)  # direct reports of a supervisor (seed 003)
    big_line_share: float = 0.11  # one director's line holds this share of the company
    line_size: int = 5_000  # offices larger than this have several directors
    growth: float = 0.15  # headcount growth over the whole history
    # Yearly rates, as shares of the people in force.
    leave_rate: float = 0.10
    move_rate: float = 0.06
    leader_move_rate: float = 0.01
    promote_rate: float = 0.03
    demote_rate: float = 0.01

    def __post_init__(self) -> None:
        if self.agents < 100 or self.years < 1:
            raise ValueError("a demo company has at least 100 agents and a year of history")


# Rows with local ids (list indices); `load` maps them to database ids.
InstitutionRow = tuple[int | None, str, int, str, str, Day]  # parent, kind, tier, code, name, opened_on
TeamRow = tuple[int, int | None, str, int, Day, Day | None, str]  # institution, parent, kind, number, from, to, name
AgentRow = tuple[str, str, str, Day, Day | None, int]  # code, name, licence_no, hire_date, left_on, home institution
# agent, from, to, supervisor, team, institution, rank, path (top down to the direct supervisor), reason
PositionRow = tuple[int, Day, Day | None, int, int, int, int, tuple[int, ...], str]
LineageRow = tuple[int, str, Day, int]  # agent, kind, valid_from, sponsor
ChangeRow = tuple[str, Day, str, int, dict[str, Any]]  # kind, effective_on, subject type, subject, details
RollupRow = tuple[int, int, Day, Day | None, int]  # agent, rank, from, to, headcount


@dataclass
class Company:
    """A generated company. In positions, -1 means "none" for supervisor and team."""

    config: DemoConfig
    start: Day
    institutions: list[InstitutionRow]
    teams: list[TeamRow]
    agents: list[AgentRow]
    positions: list[PositionRow]
    lineage: list[LineageRow]
    changes: list[ChangeRow]
    big_line: int  # the director whose line holds about `big_line_share` of everyone
    # Where everyone stands at the end (`until`): supervisor, rank, team, institution, team led, in force.
    supervisor: list[int] = field(repr=False)
    rank: list[int] = field(repr=False)
    team: list[int] = field(repr=False)
    institution: list[int] = field(repr=False)
    led: list[int] = field(repr=False)
    active: list[bool] = field(repr=False)

    @property
    def until(self) -> Day:
        return self.config.until.toordinal()


class _Bag:
    """A set with O(1) add, remove and a reproducible random pick."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self.where: dict[int, int] = {}

    def add(self, x: int) -> None:
        self.where[x] = len(self.items)
        self.items.append(x)

    def remove(self, x: int) -> None:
        i, last = self.where.pop(x), self.items.pop()
        if last != x:
            self.items[i], self.where[last] = last, i

    def pick(self, rng: random.Random) -> int:
        return self.items[int(rng.random() * len(self.items))]


def _rank_for(below: int) -> int:
    return max(r for r, least in enumerate(RANK_FROM_BELOW) if below >= least)


class _Builder:
    """Builds the opening organisation, then replays years of changes, writing versions as it goes."""

    def __init__(self, config: DemoConfig) -> None:
        self.cfg, self.rng = config, random.Random(config.seed)  # noqa: S311 - reproducible demo data, not secrets
        self.until = config.until.toordinal()
        after = date.fromordinal(config.until.replace(day=1).toordinal() + 31)  # in the month after `until`
        self.start = date(after.year - config.years, after.month, 1).toordinal()
        self.institutions: list[InstitutionRow] = []
        self.inst_names: list[list[str]] = []  # names below HQ, down to the institution (for team names)
        self.offices: list[int] = []
        self.teams: list[list[Any]] = []
        self.team_dept: list[int] = []  # the department a team belongs to (itself for a department)
        self.numbers: dict[tuple[str, int], int] = {}
        self.agents: list[list[Any]] = []
        self.lineage: list[LineageRow] = []
        self.changes: list[ChangeRow] = []
        self.sup: list[int] = []
        self.rank: list[int] = []
        self.team: list[int] = []
        self.inst: list[int] = []
        self.led: list[int] = []
        self.kids: list[set[int]] = []
        self.path: list[tuple[int, ...]] = []
        self.alive: _Bag = _Bag()
        self.by_inst: list[_Bag] = []
        self.region: list[str] = []  # the branch code of each institution (for agent codes)
        self.nurtured: set[int] = set()
        self.versions: list[list[Any]] = []
        self.open_v: list[int] = []

    # --- the frame: institutions and teams --------------------------------------------------------

    def _institution(self, parent: int | None, kind: str, tier: int, code: str, name: str, opened: date) -> int:
        self.institutions.append((parent, kind, tier, f"{self.cfg.tag}{code}", name, opened.toordinal()))
        self.inst_names.append(([] if parent is None else self.inst_names[parent]) + ([name] if tier >= 2 else []))
        self.by_inst.append(_Bag())
        self.region.append(code if tier == 2 else self.region[parent] if parent is not None else code)
        self.changes.append(("institution_opened", opened.toordinal(), "institution", len(self.institutions) - 1,
                             {"kind": kind, "name": name}))
        return len(self.institutions) - 1

    def _frame(self, people: int) -> None:
        """HQ, 2–4 branches, each with a sales office and 3–6 other offices (fewer for a small company:
        every office has a dozen people or more)."""
        rng, tag = self.rng, self.cfg.tag
        room = max(8, people // 12)
        hq = self._institution(None, "hq", 1, "HQ", f"{tag}总公司", date(1996, 1, 1))
        branches = BRANCHES[:min(rng.randint(2, 4), max(2, room // 4))]
        for b, (city, code, offices) in enumerate(branches):
            branch = self._institution(hq, "branch", 2, code, f"{city}{tag}分公司", date(2002 + b, 3, 1))
            self.offices.append(self._institution(branch, "sales_office", 3, f"{code}00", "营业部", date(2004, 1, 1)))
            for n, name in enumerate(rng.sample(offices, min(rng.randint(3, 6), max(3, room // len(branches) - 1))),
                                     start=1):
                kind = "sub_branch" if name.endswith("支公司") else "service_office"
                office = self._institution(branch, kind, 3, f"{code}{n:02d}", name, date(2005 + n, 6, 1))
                self.offices.append(office)
                if kind == "sub_branch" and rng.random() < 0.5 and len(self.offices) < room:
                    town = f"{TOWNS[(b * 7 + n) % len(TOWNS)]}营销服务部"
                    self.offices.append(self._institution(office, "service_office", 4, f"{code}{n:02d}1", town,
                                                          date(2009, 6, 1)))

    def _new_team(self, inst: int, department: int, day: Day) -> int:
        """A department (`department` -1) in `inst`, or a group of `department`, numbered and named."""
        key = ("d", inst) if department < 0 else ("g", department)
        number = self.numbers[key] = self.numbers.get(key, 0) + 1
        name = (rules.department_name(self.inst_names[inst], number) if department < 0
                else rules.group_name(self.teams[department][6], number))
        team = len(self.teams)
        self.teams.append([inst, None if department < 0 else department, "department" if department < 0 else "group",
                           number, day, None, name])
        self.team_dept.append(team if department < 0 else department)
        self.changes.append(("team_created", day, "team", team, {"name": name, "kind": self.teams[team][2]}))
        return team

    def _dissolve(self, team: int, day: Day) -> None:
        self.teams[team][5] = day
        self.changes.append(("team_dissolved", day, "team", team, {"name": self.teams[team][6]}))

    def _team_to_lead(self, i: int, day: Day) -> int:
        """Department managers lead a department; other supervisors a group of the department above them."""
        above = self.led[self.sup[i]] if self.sup[i] >= 0 else -1
        if self.rank[i] == DM or above < 0:
            return self._new_team(self.inst[i], -1, day)
        return self._new_team(self.inst[i], self.team_dept[above], day)

    # --- people and their versions ---------------------------------------------------------------

    def _person(self, inst: int, hire: Day) -> int:
        i, rng = len(self.agents), self.rng
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        year = date.fromordinal(hire).year
        self.agents.append([f"{self.cfg.tag}{self.region[inst]}{i + 1:07d}", name,
                            f"{self.cfg.tag}0200{year}{i + 1:010d}", hire, None, inst])
        for column in (self.sup, self.team, self.led, self.open_v):
            column.append(-1)
        self.rank.append(AGENT)
        self.inst.append(inst)
        self.kids.append(set())
        self.path.append(())
        self.alive.add(i)
        self.by_inst[inst].add(i)
        return i

    def _touch(self, i: int, day: Day, reason: str) -> None:
        """Record where `i` stands from `day` on (a second change on the same day replaces the first)."""
        state = [self.sup[i], self.team[i], self.inst[i], self.rank[i], self.path[i], reason]
        o = self.open_v[i]
        if o >= 0 and self.versions[o][1] == day:
            self.versions[o][3:] = state
            return
        if o >= 0:
            self.versions[o][2] = day
        self.open_v[i] = len(self.versions)
        self.versions.append([i, day, None, *state])

    def _attach(self, i: int, supervisor: int) -> None:
        if self.sup[i] >= 0:
            self.kids[self.sup[i]].discard(i)
        self.sup[i] = supervisor
        if supervisor >= 0:
            self.kids[supervisor].add(i)
        self.path[i] = (*self.path[supervisor], supervisor) if supervisor >= 0 else ()

    def _repath_below(self, x: int, day: Day) -> None:
        todo = sorted(self.kids[x])
        while todo:
            y = todo.pop()
            self.path[y] = (*self.path[self.sup[y]], self.sup[y])
            self._touch(y, day, "supervisor_chain_moved")
            todo.extend(sorted(self.kids[y]))

    def _sponsor(self, i: int, kind: str, sponsor: int, day: Day) -> None:
        # Sponsors are always hired before (ties by id), so the bloodline cannot form a cycle.
        if (self.agents[sponsor][3], sponsor) < (self.agents[i][3], i):
            self.lineage.append((i, kind, day, sponsor))

    def _recruiter(self, i: int, supervisor: int, day: Day) -> None:
        peers = [k for k in sorted(self.kids[supervisor]) if k != i and self.agents[k][3] < self.agents[i][3]]
        sponsor = self.rng.choice(peers) if peers and self.rng.random() < 0.4 else supervisor
        self._sponsor(i, "recruiter", sponsor, day)

    def _place(self, rank: int, supervisor: int, inst: int, hire: Day, day: Day, reason: str) -> int:
        i = self._person(inst, hire)
        self.rank[i] = rank
        self._attach(i, supervisor)
        if rank == AGENT:
            self.team[i] = self.led[supervisor]
        elif rank != DIRECTOR:
            self.team[i] = self.led[i] = self._team_to_lead(i, day)
        self._touch(i, day, reason)
        if supervisor >= 0:
            self._recruiter(i, supervisor, hire)
            if rank != AGENT:
                self._sponsor(i, "nurturer", supervisor, hire)
                self.nurtured.add(i)
        self.changes.append(("joined", day, "agent", i, {"supervisor_id": supervisor, "team_id": self.team[i],
                                                         "institution_id": inst, "rank_code": RANK_CODES[rank]}))
        return i

    # --- the opening organisation ----------------------------------------------------------------

    def _split(self, below: int, rank: int) -> list[int]:
        """Sizes of the direct reports' lines (1 = a plain agent) for someone with `below` people below."""
        rng, (lo, hi) = self.rng, self.cfg.span
        k = rng.randint(lo, hi)
        if rank == DIRECTOR:
            return self._parts(below, max(1, min(k, below // 2)))
        if rank == PROB or below <= hi:
            return [1] * below
        if below < 3 * k:  # a few probationary supervisors' cells and agents directly
            cells = min(k - 1, max(1, (below - k) // 4))
            return [1] * (k - cells) + self._parts(below - k + cells, cells)
        direct = rng.randint(0, 2) if rank >= AM else rng.randint(1, 3)
        return [1] * direct + self._parts(below - direct, k - direct)

    def _parts(self, total: int, count: int, least: int = 2) -> list[int]:
        weights = [self.rng.uniform(0.6, 1.4) for _ in range(count)]
        whole = sum(weights)
        parts = [max(least, int(total * w / whole)) for w in weights]
        step = 0
        while (gap := total - sum(parts)) != 0:
            j = step % count
            if gap > 0 or parts[j] > least:
                parts[j] += 1 if gap > 0 else -1
            step += 1
        return parts

    def _line(self, head: int, below: int, hired: Day) -> None:
        for size in self._split(below, self.rank[head]):
            rank = AGENT if size == 1 else min(self.rank[head] - 1, _rank_for(size - 1))
            hire = self.rng.randint(min(hired + 30, self.start - 1), self.start - 1)
            child = self._place(rank, head, self.inst[head], hire, self.start, "opening position")
            if size > 1:
                self._line(child, size - 1, hire)

    def _opening(self, people: int) -> int:
        """Spread `people` over the offices in lines headed by directors; returns the big line's director."""
        rng, cfg = self.rng, self.cfg
        big = max(3, round(people * cfg.big_line_share))
        weights = [2.0 if self.institutions[o][1] == "sales_office" else rng.uniform(0.6, 1.4) for o in self.offices]
        sizes = [max(6, int((people - big) * w / sum(weights))) for w in weights]
        sizes[0] += people - big - sum(sizes)
        big_head = -1
        for office, size in zip(self.offices, sizes, strict=True):
            lines = [max(3, size // max(1, -(-size // cfg.line_size)))] * max(1, -(-size // cfg.line_size))
            lines[0] += size - sum(lines)
            if office == self.offices[0]:
                lines.insert(0, big)
            for n, line in enumerate(lines):
                hired = self.start - rng.randint(8 * 365, 12 * 365)
                head = self._place(DIRECTOR, -1, office, hired, self.start, "opening position")
                big_head = head if big_head < 0 and n == 0 else big_head
                self._line(head, line - 1, hired)
        return big_head

    # --- the years of history --------------------------------------------------------------------

    def _history(self, opening: int) -> None:
        cfg, rng = self.cfg, self.rng
        mean = (opening + cfg.agents) / 2 * cfg.years
        leaves = round(mean * cfg.leave_rate)
        counts = {"hire": cfg.agents - opening + leaves, "leave": leaves, "move": round(mean * cfg.move_rate),
                  "leader_move": round(mean * cfg.leader_move_rate), "promote": round(mean * cfg.promote_rate),
                  "demote": round(mean * cfg.demote_rate), "line_move": max(1, round(mean / 100_000))}
        days = [d for d in range(self.start + 1, self.until + 1) if date.fromordinal(d).weekday() < 5]
        months = [d for d in range(self.start + 1, self.until + 1) if date.fromordinal(d).day == 1]
        quarters = [d for d in months if date.fromordinal(d).month in (1, 4, 7, 10)]
        halves = [d for d in months if date.fromordinal(d).month in (1, 7)] or months
        when = {"hire": days, "leave": days, "move": months, "leader_move": halves, "promote": quarters,
                "demote": quarters, "line_move": halves}
        events = sorted((rng.choice(when[kind]), rng.random(), kind) for kind, n in counts.items() for _ in range(n))
        handlers = {"hire": self._hire, "leave": self._leave, "move": self._move, "leader_move": self._leader_move,
                    "promote": self._promote, "demote": self._demote, "line_move": self._line_move}
        for day, _, kind in events:
            for _attempt in range(200 if kind in ("hire", "leave") else 20):
                if handlers[kind](day):
                    break

    def _subject(self, day: Day) -> int:
        """Someone in force to change on `day`: one change a day each (-1 if the pick already changed today)."""
        x = self.alive.pick(self.rng)
        return x if self.versions[self.open_v[x]][1] < day else -1

    def _changed(self, what: str, day: Day, i: int, **details: Any) -> None:
        self.changes.append((what, day, "agent", i, details))

    def _move_to(self, x: int, target: int, day: Day, reason: str, team: int | None = None) -> None:
        self._attach(x, target)
        if team is not None:
            self.team[x] = team
        self._touch(x, day, reason)
        self._repath_below(x, day)
        self._changed("moved", day, x, reason=reason, supervisor_id=target, team_id=self.team[x],
                      institution_id=self.inst[x])

    def _hire(self, day: Day) -> bool:
        x = self.alive.pick(self.rng)
        boss = x if self.rank[x] != AGENT else self.sup[x]
        if boss < 0 or self.rank[boss] == DIRECTOR or len(self.kids[boss]) > self.cfg.span[1]:
            return False
        self._place(AGENT, boss, self.inst[boss], day, day, "hired")
        return True

    def _leave(self, day: Day) -> bool:
        x = self._subject(day)
        if x < 0:
            return False
        boss = self.sup[x]
        if boss < 0 or self.rank[x] > AM:
            return False
        if self.kids[x] and (self.rank[boss] == DIRECTOR or self.team_dept[self.led[x]] == self.led[x]
                             or self.rng.random() > 1 / 3):
            return False  # supervisors leave less often; heads of departments not in this demo
        for k in sorted(self.kids[x]):  # links re-point one level up
            self._move_to(k, boss, day, "supervisor_left", self.led[boss] if self.team[k] == self.led[x] else None)
        if self.led[x] >= 0:
            self._dissolve(self.led[x], day)
        self.versions[self.open_v[x]][2] = day
        self.kids[boss].discard(x)
        self.alive.remove(x)
        self.by_inst[self.inst[x]].remove(x)
        self.agents[x][4] = day
        self._changed("left", day, x, reason="resigned", last_supervisor_id=boss, team_id=self.team[x],
                      institution_id=self.inst[x])
        return True

    def _move(self, day: Day) -> bool:
        """An agent moves to another supervisor (and their team) in the same institution."""
        x = self._subject(day)
        if x < 0:
            return False
        if self.rank[x] != AGENT:
            return False
        target = self.by_inst[self.inst[x]].pick(self.rng)
        if self.rank[target] in (AGENT, DIRECTOR) or target == self.sup[x]:
            return False
        self._move_to(x, target, day, "team rebalanced", self.led[target])
        return True

    def _leader_move(self, day: Day) -> bool:
        """A supervisor and everyone below moves to a peer of their supervisor or one level up, inside the
        same department."""
        x = self._subject(day)
        if x < 0:
            return False
        boss = self.sup[x]
        if not PROB <= self.rank[x] <= AM or self.team_dept[self.led[x]] == self.led[x] or self.sup[boss] < 0:
            return False
        above = self.sup[boss]
        options = [k for k in sorted(self.kids[above]) if k != boss and self.rank[k] > self.rank[x]]
        options += [above] if self.rank[above] != DIRECTOR else []
        options = [k for k in options if self.team_dept[self.led[k]] == self.team_dept[self.led[x]]]
        if not options:
            return False
        self._move_to(x, self.rng.choice(options), day, "group reassigned")
        return True

    def _line_move(self, day: Day) -> bool:
        """A department manager's whole line moves to another director of the same institution."""
        x = self._subject(day)
        if x < 0:
            return False
        if self.sup[x] < 0 or self.rank[self.sup[x]] != DIRECTOR:
            return False
        directors = [d for d in self.by_inst[self.inst[x]].items if self.rank[d] == DIRECTOR and d != self.sup[x]]
        if not directors:
            return False
        self._move_to(x, self.rng.choice(sorted(directors)), day, "department reassigned")
        return True

    def _promote(self, day: Day) -> bool:
        x = self._subject(day)
        if x < 0:
            return False
        to = self.rank[x] + 1
        if to > AM or self.sup[x] < 0 or self.rank[self.sup[x]] <= to:
            return False
        self._set_rank(x, to, day, "promotion")
        if to == PROB:
            self.team[x] = self.led[x] = self._new_team(self.inst[x], self.team_dept[self.team[x]], day)
            self._touch(x, day, "promotion: assessment")
            if x not in self.nurtured:
                self.nurtured.add(x)
                self._sponsor(x, "nurturer", self.sup[x], day)
        return True

    def _demote(self, day: Day) -> bool:
        x = self._subject(day)
        if x < 0:
            return False
        to = self.rank[x] - 1
        if not PROB <= self.rank[x] <= AM or max((self.rank[k] for k in self.kids[x]), default=-1) >= to:
            return False
        if to == AGENT:
            if self.kids[x] or self.team_dept[self.led[x]] == self.led[x] or self.sup[x] < 0:
                return False
            self._dissolve(self.led[x], day)
            self.led[x], self.team[x] = -1, self.led[self.sup[x]]
        self._set_rank(x, to, day, "demotion")
        return True

    def _set_rank(self, x: int, to: int, day: Day, kind: str) -> None:
        self._changed("rank_changed", day, x, kind=kind, reason="assessment", from_rank=RANK_CODES[self.rank[x]],
                      to_rank=RANK_CODES[to])
        self.rank[x] = to
        self._touch(x, day, f"{kind}: assessment")

    def build(self) -> Company:
        opening = round(self.cfg.agents / (1 + self.cfg.growth))
        self._frame(opening)
        big_line = self._opening(opening)
        self._history(opening)
        positions: list[PositionRow] = [(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]) for v in self.versions]
        active = [False] * len(self.agents)
        for i in self.alive.items:
            active[i] = True
        return Company(
            config=self.cfg, start=self.start, institutions=self.institutions,
            teams=[(t[0], t[1], t[2], t[3], t[4], t[5], t[6]) for t in self.teams],
            agents=[(a[0], a[1], a[2], a[3], a[4], a[5]) for a in self.agents], positions=positions,
            lineage=self.lineage, changes=self.changes, big_line=big_line, supervisor=self.sup, rank=self.rank,
            team=self.team, institution=self.inst, led=self.led, active=active,
        )


def generate(config: DemoConfig) -> Company:
    """The whole company with its history, in memory; the same config always gives the same company."""
    return _Builder(config).build()


def rollups(positions: Sequence[PositionRow]) -> list[RollupRow]:
    """Headcount by rank below every agent over time, exactly as the versions imply: every version adds
    one person of its rank below each agent of its path for its interval; sweep the change dates."""
    steps: dict[int, dict[Day, int]] = {}
    for _, start, end, _s, _t, _i, rank, path, _r in positions:
        for ancestor in path:
            changes = steps.setdefault(ancestor * 8 + rank, {})
            changes[start] = changes.get(start, 0) + 1
            if end is not None:
                changes[end] = changes.get(end, 0) - 1
    rows: list[RollupRow] = []
    for key in sorted(steps):
        ancestor, rank = divmod(key, 8)
        count, since = 0, 0
        for day, delta in sorted(steps[key].items()):
            if delta:
                if count:
                    rows.append((ancestor, rank, since, day, count))
                count, since = count + delta, day
        if count:
            rows.append((ancestor, rank, since, None, count))
    return rows


# --- loading ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    """Database ids of what was loaded, by local id, and row counts per table."""

    hq: int
    institution_ids: list[int]
    team_ids: list[int]
    agent_ids: list[int]
    rows: dict[str, int]


async def _reserve(conn: asyncpg.Connection, table: str, count: int) -> list[int]:
    """Ids from the table's own identity sequence, so concurrent writers never collide with ours."""
    rows = await conn.fetch(
        f"SELECT nextval(pg_get_serial_sequence('org.{table}', 'id')) FROM generate_series(1, $1)", count)  # noqa: S608
    return [int(r[0]) for r in rows]


class _Ids:
    """Local ids to database ids (-1 → NULL), and ordinal days to dates."""

    def __init__(self, institutions: list[int], teams: list[int], agents: list[int]) -> None:
        self.institution, self.team, self.agent = institutions, teams, agents
        self.days: dict[Day, date] = {}

    def day(self, d: Day | None) -> date | None:
        if d is None:
            return None
        value = self.days.get(d)
        if value is None:
            value = self.days[d] = date.fromordinal(d)
        return value

    def details(self, details: dict[str, Any]) -> str:
        refs = {"supervisor_id": self.agent, "last_supervisor_id": self.agent, "team_id": self.team,
                "institution_id": self.institution}
        mapped = {k: (None if v < 0 else refs[k][v]) if k in refs else v for k, v in details.items()}
        return json.dumps(mapped, ensure_ascii=False)


def _records(company: Company, ids: _Ids) -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    inst, team, agent, day = ids.institution, ids.team, ids.agent, ids.day
    paths: list[list[int]] = []
    for parent, *_ in company.institutions:
        paths.append((paths[parent] if parent is not None else []) + [inst[len(paths)]])
    yield "institution", ["id", "parent_id", "kind", "tier", "code", "name", "path", "opened_on"], [
        (inst[n], None if p is None else inst[p], kind, tier, code, name, paths[n], day(opened))
        for n, (p, kind, tier, code, name, opened) in enumerate(company.institutions)]
    yield "team", ["id", "institution_id", "parent_team_id", "kind", "number", "valid_from", "valid_to"], [
        (team[n], inst[i], None if p is None else team[p], kind, number, day(f), day(t))
        for n, (i, p, kind, number, f, t, _) in enumerate(company.teams)]
    yield "team_name", ["team_id", "valid_from", "valid_to", "name"], [
        (team[n], day(f), day(t), name) for n, (_, _, _, _, f, t, name) in enumerate(company.teams)]
    yield "agent", ["id", "code", "name", "licence_no", "hire_date", "status", "left_on", "home_institution_id"], [
        (agent[n], code, name, licence, day(hire), "active" if left is None else "left", day(left), inst[home])
        for n, (code, name, licence, hire, left, home) in enumerate(company.agents)]
    yield "agent_position", ["agent_id", "valid_from", "valid_to", "supervisor_id", "team_id", "institution_id",
                             "rank_code", "path", "reason"], [
        (agent[a], day(f), day(t), None if s < 0 else agent[s], None if tm < 0 else team[tm], inst[i], RANK_CODES[r],
         [agent[x] for x in path], reason)
        for a, f, t, s, tm, i, r, path, reason in company.positions]
    yield "agent_lineage", ["agent_id", "kind", "valid_from", "sponsor_id"], [
        (agent[a], kind, day(f), agent[s]) for a, kind, f, s in company.lineage]
    yield "subtree_rollup", ["agent_id", "rank_code", "valid_from", "valid_to", "headcount"], [
        (agent[a], RANK_CODES[r], day(f), day(t), n) for a, r, f, t, n in rollups(company.positions)]
    subjects = {"agent": agent, "team": team, "institution": inst}
    yield "org_change", ["kind", "effective_on", "subject_type", "subject_id", "actor", "details"], [
        (kind, day(on), subject_type, subjects[subject_type][s], ACTOR, ids.details(details))
        for kind, on, subject_type, s, details in company.changes]


async def load(company: Company, dsn: str) -> Loaded:
    """COPY the company into the org schema in one transaction, then refresh the planner's statistics."""
    conn = await asyncpg.connect(libpq_dsn(dsn))
    try:
        rows: dict[str, int] = {}
        async with conn.transaction():
            ids = _Ids(await _reserve(conn, "institution", len(company.institutions)),
                       await _reserve(conn, "team", len(company.teams)),
                       await _reserve(conn, "agent", len(company.agents)))
            for table, columns, records in _records(company, ids):
                await conn.copy_records_to_table(table, schema_name="org", columns=columns, records=records)
                rows[table] = len(records)
        await conn.execute("ANALYZE " + ", ".join(f"org.{table}" for table in rows))
    finally:
        await conn.close()
    return Loaded(ids.institution[0], ids.institution, ids.team, ids.agent, rows)


async def seed(config: DemoConfig, dsn: str) -> tuple[Company, Loaded]:
    """Generate and load a demo company (what `make run` seeding and the benchmarks call)."""
    company = generate(config)
    return company, await load(company, dsn)


# --- verification -----------------------------------------------------------------------------------

# Headcount by rank below an agent on a date, walking supervisor links: the plain way, without
# the maintained path and rollups (used to verify them, and as the benchmark's baseline).
CTE_HEADCOUNT = (
    "WITH RECURSIVE below(agent_id, rank_code) AS ("
    "  SELECT agent_id, rank_code FROM org.agent_position"
    "  WHERE supervisor_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)"
    "  UNION ALL"
    "  SELECT p.agent_id, p.rank_code FROM org.agent_position p JOIN below b ON p.supervisor_id = b.agent_id"
    "  WHERE p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2))"
    " SELECT rank_code, count(*)::int AS headcount FROM below GROUP BY rank_code"
)
ROLLUP_HEADCOUNT = (
    "SELECT rank_code, headcount FROM org.subtree_rollup"
    " WHERE agent_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2) AND headcount <> 0"
)
# The company under an HQ ($1) is the agents whose home institution lies under it; `cur` their positions on $2.
_MINE = ("WITH mine AS (SELECT a.id FROM org.agent a JOIN org.institution i ON i.id = a.home_institution_id"
         " WHERE i.path @> ARRAY[$1::bigint]),"
         " cur AS (SELECT p.* FROM org.agent_position p WHERE p.agent_id IN (SELECT id FROM mine)"
         " AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2))")
_OVERLAPS = {
    "agent_position": (
        "WITH mine AS (SELECT a.id FROM org.agent a JOIN org.institution i ON i.id = a.home_institution_id"
        "  WHERE i.path @> ARRAY[$1::bigint]),"
        " v AS (SELECT valid_from, lag(valid_from) OVER w AS prev_from, lag(valid_to) OVER w AS prev_to"
        "  FROM org.agent_position WHERE agent_id IN (SELECT id FROM mine)"
        "  WINDOW w AS (PARTITION BY agent_id ORDER BY valid_from))"
        " SELECT count(*) FROM v WHERE prev_from IS NOT NULL AND (prev_to IS NULL OR prev_to > valid_from)"),
    "subtree_rollup": (
        "WITH mine AS (SELECT a.id FROM org.agent a JOIN org.institution i ON i.id = a.home_institution_id"
        "  WHERE i.path @> ARRAY[$1::bigint]),"
        " v AS (SELECT valid_from, lag(valid_from) OVER w AS prev_from, lag(valid_to) OVER w AS prev_to"
        "  FROM org.subtree_rollup WHERE agent_id IN (SELECT id FROM mine)"
        "  WINDOW w AS (PARTITION BY agent_id, rank_code ORDER BY valid_from))"
        " SELECT count(*) FROM v WHERE prev_from IS NOT NULL AND (prev_to IS NULL OR prev_to > valid_from)"),
}
_STRUCTURE = (
    " SELECT count(*) FILTER (WHERE p.supervisor_id IS NULL AND cardinality(p.path) > 0) AS top_with_a_path,"
    "  count(*) FILTER (WHERE p.supervisor_id IS NOT NULL AND s.agent_id IS NULL) AS supervisor_not_in_force,"
    "  count(*) FILTER (WHERE s.agent_id IS NOT NULL AND p.path <> s.path || p.supervisor_id) AS path_wrong,"
    "  count(*) FILTER (WHERE rs.ladder_order < rp.ladder_order) AS supervisor_outranked"
    " FROM cur p JOIN org.rank rp ON rp.code = p.rank_code"
    " LEFT JOIN org.agent_position s ON s.agent_id = p.supervisor_id AND s.valid_from <= $2"
    "  AND (s.valid_to IS NULL OR s.valid_to > $2)"
    " LEFT JOIN org.rank rs ON rs.code = s.rank_code"
)
_ROLLUPS = (
    ", expected AS (SELECT a AS agent_id, c.rank_code, count(*)::int AS n"
    "  FROM cur c CROSS JOIN LATERAL unnest(c.path) a GROUP BY 1, 2),"
    " stored AS (SELECT agent_id, rank_code, headcount AS n FROM org.subtree_rollup"
    "  WHERE agent_id IN (SELECT id FROM mine) AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)"
    "  AND headcount <> 0)"
    " SELECT count(*) FROM expected e FULL JOIN stored s USING (agent_id, rank_code) WHERE e.n IS DISTINCT FROM s.n"
)


async def verify(conn: asyncpg.Connection, hq: int, dates: Sequence[date], samples: Sequence[int]) -> list[str]:
    """Problems found in the company under `hq` (empty when consistent): overlapping versions; on each
    date, paths that are not the supervisor's path plus the supervisor, supervisors of a lower rank,
    rollups that differ from the headcount the paths imply, and for `samples` rollups that differ
    from a recursive walk of supervisor links."""
    problems: list[str] = []
    for table, query in _OVERLAPS.items():
        if overlaps := await conn.fetchval(query, hq):
            problems.append(f"{overlaps} overlapping versions in {table}")
    for on in dates:
        structure = await conn.fetchrow(_MINE + _STRUCTURE, hq, on)
        problems += [f"{on}: {n} positions with {what}" for what, n in structure.items() if n]
        if wrong := await conn.fetchval(_MINE + _ROLLUPS, hq, on):
            problems.append(f"{on}: {wrong} (ancestor, rank) rollups differ from the positions' paths")
        for agent in samples:
            walked = {r["rank_code"]: r["headcount"] for r in await conn.fetch(CTE_HEADCOUNT, agent, on)}
            stored = {r["rank_code"]: r["headcount"] for r in await conn.fetch(ROLLUP_HEADCOUNT, agent, on)}
            if walked != stored:
                problems.append(f"{on}: below agent {agent} the walk finds {walked}, the rollups say {stored}")
    return problems


# --- command line -----------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m org_service.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=DemoConfig.agents, help="people in force at the end")
    parser.add_argument("--years", type=int, default=DemoConfig.years, help="years of history")
    parser.add_argument("--seed", type=int, default=DemoConfig.seed)
    parser.add_argument("--until", type=date.fromisoformat, default=DemoConfig.until, help="last day of history")
    parser.add_argument("--tag", default="", help="put into names and codes (several companies in one database)")
    parser.add_argument("--verify", action="store_true", help="check the loaded company's consistency")
    parser.add_argument("--if-empty", action="store_true", help="do nothing when the organisation has agents")
    args = parser.parse_args(argv)
    dsn = os.environ.get("ORG_DATABASE_URL")
    if not dsn:
        print("ORG_DATABASE_URL is not set", file=sys.stderr)
        return 2
    config = DemoConfig(agents=args.agents, years=args.years, seed=args.seed, until=args.until, tag=args.tag)
    if args.if_empty and asyncio.run(_has_agents(dsn)):
        print("demo: the organisation already has agents; nothing generated")
        return 0
    return asyncio.run(_cli(config, dsn, check=args.verify))


async def _has_agents(dsn: str) -> bool:
    conn = await asyncpg.connect(libpq_dsn(dsn))
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM org.agent)"))
    finally:
        await conn.close()


async def _cli(config: DemoConfig, dsn: str, *, check: bool) -> int:
    started = time.perf_counter()
    company = generate(config)
    generated = time.perf_counter()
    loaded = await load(company, dsn)
    done = time.perf_counter()
    print(f"generated in {generated - started:.1f}s, loaded in {done - generated:.1f}s:",
          ", ".join(f"{n} {table}" for table, n in loaded.rows.items()))
    print(f"HQ institution {loaded.hq}; {sum(company.active)} agents in force on {config.until};"
          f" director of the largest line: agent {loaded.agent_ids[company.big_line]}")
    if not check:
        return 0
    conn = await asyncpg.connect(libpq_dsn(dsn))
    try:
        dates = [date.fromordinal(company.start + (company.until - company.start) * k // 4) for k in range(5)]
        problems = await verify(conn, loaded.hq, dates, [loaded.agent_ids[company.big_line]])
    finally:
        await conn.close()
    print("\n".join(problems) or f"consistent on {', '.join(map(str, dates))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
