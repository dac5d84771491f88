"""What every org endpoint needs: who is acting, the business date asked about, role checks."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from org_service.agents import Actor
from svckit.internal_auth import Caller, require_roles
from svckit.timeutil import business_date, utcnow

# Until data scopes are enforced per object, only staff read the organisation and only those who
# manage it change it.
STAFF = ("admin", "marketing_management", "back_office", "finance", "gm_office", "compliance")
MANAGERS = ("admin", "marketing_management", "back_office")
StaffOnly = require_roles(*STAFF)
ManagersOnly = require_roles(*MANAGERS)


def actor_of(caller: Caller) -> Actor:
    return Actor(caller.username or caller.user_id or f"service:{caller.service}")


def as_of(on: Annotated[date | None, Query(description="Business date (Asia/Shanghai); default today")] = None) -> date:
    return on or business_date(utcnow())

