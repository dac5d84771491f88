"""Who may see which activity record: every object is checked against the caller's data scope with
the service's own copy of the organisation (svckit.directory). Outside the scope answers 404."""

from __future__ import annotations

from activity_service.models import DIRECTORY
from svckit.directory import Guard

GUARD = Guard(DIRECTORY)
condition = GUARD.condition
require = GUARD.require
active_agent = GUARD.active_agent
agent_or_none = GUARD.agent_or_none
institution_path = GUARD.institution_path
