"""What every org endpoint needs: who is acting, the business date asked about, role checks."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from org_service.agents import Actor
from svckit.internal_auth import Caller, CallerDep, require_roles
from svckit.scope import DataScope
from svckit.timeutil import business_date, utcnow

# Everyone reads within their data scope (checked per object); only those who manage the
# organisation change it, and only inside their scope.
MANAGERS = ("admin", "marketing_management", "back_office")
ManagersOnly = require_roles(*MANAGERS)
# Teams come into and go out of existence through the approval workflow (/v1/team-changes); the
# direct endpoints are for administrators setting up or migrating an organisation.
AdminOnly = require_roles("admin")
# Team change requests are staff business, not agents'.
STAFF = ("admin", "marketing_management", "back_office", "finance", "gm_office", "compliance")
StaffOnly = require_roles(*STAFF)


def data_scope(caller: CallerDep) -> DataScope:
    return caller.data_scope


ScopeDep = Annotated[DataScope, Depends(data_scope)]


def actor_of(caller: Caller) -> Actor:
    return Actor(caller.username or caller.user_id or f"service:{caller.service}")


def as_of(on: Annotated[date | None, Query(description="Business date (Asia/Shanghai); default today")] = None) -> date:
    return on or business_date(utcnow())

