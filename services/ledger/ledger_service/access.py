"""Who may see which money record: every object is checked against the caller's data scope with the
ledger's own replica of the organisation (svckit.directory). Outside the scope answers 404, like an
object that does not exist, so ids cannot be probed."""

from __future__ import annotations

from ledger_service.models import DIRECTORY
from svckit.directory import Guard

GUARD = Guard(DIRECTORY)
condition = GUARD.condition
require = GUARD.require
active_agent = GUARD.active_agent
active_agent_or_none = GUARD.agent_or_none
institution_path = GUARD.institution_path
