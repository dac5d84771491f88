"""Keyset pagination: stable pages over any unique sort key, with an opaque cursor.

Offsets skip or repeat rows when data moves between pages; a keyset never does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from svckit.errors import Unprocessable
from svckit.storable import INT64_MAX, INT64_MIN

T = TypeVar("T")
MAX_PAGE_SIZE = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; absent on the last page."
    )


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 50


def page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 50,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    if isinstance(value, UUID):
        return {"uuid": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (kind, raw), = value.items()
        decoders: dict[str, Callable[[str], Any]] = {
            "dt": datetime.fromisoformat, "d": date.fromisoformat, "dec": Decimal, "uuid": UUID,
        }
        if kind in decoders:
            return decoders[kind](raw)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, json.JSONDecodeError):
        raise Unprocessable("cursor is not one this endpoint issued", code="invalid_cursor",
                            field="cursor") from None


def decode_int_cursor(cursor: str, width: int) -> list[int]:
    """A cursor of `width` 64-bit integers, for queries written out in SQL (no columns to check against)."""
    values = decode_cursor(cursor, width)
    if not all(isinstance(v, int) and not isinstance(v, bool) and INT64_MIN <= v <= INT64_MAX for v in values):
        raise Unprocessable("cursor is not one this endpoint issued", code="invalid_cursor", field="cursor")
    return values


def _fits(key: ColumnElement[Any], value: Any) -> bool:
    """Whether a cursor value can be compared with `key`: a cursor is only base64 JSON, so one made by
    hand or taken from another endpoint must not reach the database as a value of the wrong type."""
    try:
        expected = key.type.python_type
    except NotImplementedError:
        return True
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX
    if expected is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if expected is str:
        return isinstance(value, str) and "\x00" not in value
    return isinstance(value, expected)


def keyset(
    stmt: Select[Any], keys: Sequence[ColumnElement[Any]], params: PageParams, *, descending: bool = False
) -> Select[Any]:
    """Order by `keys` (which together must be unique), start after the cursor, fetch one extra row."""
    if params.cursor is not None:
        after = decode_cursor(params.cursor, len(keys))
        if not all(_fits(key, value) for key, value in zip(keys, after, strict=True)):
            raise Unprocessable("cursor is not one this endpoint issued", code="invalid_cursor", field="cursor")
        row, bound = tuple_(*keys), tuple_(*after)
        stmt = stmt.where(row < bound if descending else row > bound)
    order = [k.desc() for k in keys] if descending else list(keys)
    return stmt.order_by(*order).limit(params.limit + 1)


def page_of(rows: Sequence[T], params: PageParams, key_of: Any) -> tuple[list[T], str | None]:
    """Cut the extra row off and build the next cursor from the last row kept."""
    items = list(rows[: params.limit])
    if len(rows) > params.limit and items:
        return items, encode_cursor(key_of(items[-1]))
    return items, None
