"""Request ids: accepted from the caller when sane, generated otherwise, carried in a contextvar."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> Token[str | None]:
    return _request_id.set(value)


def restore_request_id(token: Token[str | None]) -> None:
    """Put back the id that was current before `set_request_id` (callers in the same task keep theirs)."""
    _request_id.reset(token)


def accept_or_new(incoming: str | None) -> str:
    """Keep an incoming id only if it cannot smuggle anything into our logs."""
    if incoming and _SANE.match(incoming):
        return incoming
    return uuid.uuid4().hex
