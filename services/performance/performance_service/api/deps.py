"""What every performance endpoint needs: the acting person, the caller's data scope, role checks,
and the service's settings and upstream clients."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from performance_service.settings import PerformanceSettings
from performance_service.upstream import Upstreams
from svckit.internal_auth import Caller, CallerDep, require_head_office, require_roles
from svckit.scope import DataScope
from svckit.timeutil import business_date

# Finance settles and pays; marketing management sets the basic law; supervisors review disputes.
Settlers = require_roles("admin", "finance")
RuleMakers = require_roles("admin", "marketing_management")
FinanceOnly = require_roles("admin", "finance")
Reviewers = require_roles("admin", "supervisor")
# A settlement run settles every agent of the company and the basic law binds all of it: they are run
# and set by head-office staff or an administrator, never by one branch's.
HeadOfficeSettlers = require_head_office("admin", "finance")
HeadOfficeRuleMakers = require_head_office("admin", "marketing_management")


async def data_scope(caller: CallerDep) -> DataScope:
    return caller.data_scope


ScopeDep = Annotated[DataScope, Depends(data_scope)]


def actor_of(caller: Caller) -> str:
    return caller.username or caller.user_id or f"service:{caller.service}"


async def upstreams(request: Request) -> Upstreams:
    found = request.app.state.upstreams
    assert isinstance(found, Upstreams)
    return found


async def settings(request: Request) -> PerformanceSettings:
    found = request.app.state.settings
    assert isinstance(found, PerformanceSettings)
    return found


async def today(request: Request) -> date:
    """Today's business date (Asia/Shanghai): periods that ended before it are closed."""
    return business_date(request.app.state.clock())


TodayDep = Annotated[date, Depends(today)]
UpstreamsDep = Annotated[Upstreams, Depends(upstreams)]
SettingsDep = Annotated[PerformanceSettings, Depends(settings)]
