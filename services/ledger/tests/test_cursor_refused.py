"""A customer's running account pages with a cursor of two integers; a hand-made one of anything else
is the caller's 422 `invalid_cursor`, not a 500 from the database (found by the attack tests)."""

from __future__ import annotations

import base64
import json

import pytest

from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_ledger_flow import issue, people


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("values", [["' OR 1=1 --", 0], [2**63, 1], [1.5, 1], [True, 1]],
                         ids=["text", "beyond 64 bits", "float", "boolean"])
async def test_a_running_account_cursor_of_anything_but_integers_is_refused(stack: Stack, values: list[object],
                                                                           ) -> None:
    _, p = await people(stack)
    policy = await issue(stack, p["a"])
    path = f"/v1/customers/{policy['customer_id']}/running-account"
    assert ok(await stack.ledger.get(path))["items"]
    body = problem(await stack.ledger.get(path, params={"cursor": _cursor(values)}), 422, "invalid_cursor")
    assert body["field"] == "cursor"
