"""What every ledger endpoint needs: the acting person, the caller's data scope, role checks, paging."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from svckit.internal_auth import Caller, CallerDep, require_head_office, require_roles
from svckit.pagination import PageParams, page_params
from svckit.scope import DataScope
from svckit.timeutil import business_date, utcnow

# Finance (cashiers included) keeps the books; back office registers policies and their events.
FinanceOnly = require_roles("admin", "finance")
# What the whole company runs on (the ledger's rules, the holiday calendar, the chart of accounts) is
# changed by head-office finance or an administrator, never by one branch's finance.
HeadOfficeFinance = require_head_office("admin", "finance")
BackOfficeOnly = require_roles("admin", "back_office")
# Whole-book reports (trial balance, accounts) are for finance, audit and administrators.
BookKeepers = require_roles("admin", "finance", "compliance")


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def` one in its
# thread pool, a thread hand-off on every request.
async def data_scope(caller: CallerDep) -> DataScope:
    return caller.data_scope


ScopeDep = Annotated[DataScope, Depends(data_scope)]
PageDep = Annotated[PageParams, Depends(page_params)]


def actor_of(caller: Caller) -> str:
    return caller.username or caller.user_id or f"service:{caller.service}"


async def as_of(
    on: Annotated[date | None, Query(description="Business date (Asia/Shanghai); default today")] = None,
) -> date:
    return on or business_date(utcnow())


AsOf = Annotated[date, Depends(as_of)]
