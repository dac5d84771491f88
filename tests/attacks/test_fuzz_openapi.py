"""Schemathesis over the merged OpenAPI document, against the real gateway and services: whatever
the document allows (and what it forbids), no answer is a 5xx, every status is declared and every
answer matches its schema.

Bounded and reproducible: a few examples per operation and generation mode, derandomized, with
no example database written to the repository. Failures are collected over every operation and
reported together, each with the curl command that reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.attacks.people import admin_login, complete_document, login, new_user
from tests.attacks.stacks import attack_stack
from tests.attacks.world import World, build
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 6
# Every answer's status is one the operation declares: the services' and the gateway's central ones included.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# Logging out would end the session the fuzzer is using; logout is attacked in test_tokens.py.
NOT_FUZZED = {("POST", "/api/v1/auth/logout")}


def _trial(stack: RunningStack, session: requests.Session, headers: dict[str, str], label: str,
           failures: list[str]) -> Callable[[Case], None]:
    """One generated call and its checks; a failure is recorded (once per kind), not raised, so every
    operation is tried and no time goes into shrinking."""
    seen: set[str] = set()

    def trial(case: Case) -> None:
        response = case.call(base_url=stack.gateway, session=session, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as found:
            for failure in found.exceptions if isinstance(found, FailureGroup) else [found]:
                kind = f"{type(failure).__name__}: {getattr(failure, 'title', '')} {response.status_code}"
                if kind not in seen:
                    seen.add(kind)
                    failures.append(f"{label} {response.status_code}: {failure}\n"
                                    f"  {case.as_curl_command(base_url=stack.gateway)}")

    return trial


def _examples(operation: APIOperation, mode: GenerationMode, path_parameters: dict[str, Any] | None,
              ) -> Callable[[Callable[[Case], None]], Callable[[], None]]:
    def run(trial: Callable[[Case], None]) -> Callable[[], None]:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
        return settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))(
            given(case=strategy)(trial))

    return run


PathIds = Callable[[str, str], Any]


def _fuzz(stack: RunningStack, authenticate: Callable[[], dict[str, str]], real_ids: PathIds | None = None,
          modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
          ) -> tuple[list[str], int]:
    """Every operation (with `real_ids`: only those with path parameters, aimed at real objects);
    returns the failures and how many operations were tried."""
    schema = schemathesis.openapi.from_dict(complete_document(stack.gateway))
    failures: list[str] = []
    tried = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100
    with requests.Session() as session:
        for operation in operations:
            if (operation.method.upper(), operation.path) in NOT_FUZZED:
                continue
            path_parameters = None
            if real_ids is not None:
                names = [p.name for p in operation.path_parameters]
                path_parameters = {name: real_ids(operation.path, name) for name in names}
                path_parameters = {k: v for k, v in path_parameters.items() if v is not None}
                if not path_parameters:
                    continue
            headers = authenticate()  # a fresh session each time: nothing one operation does can lock out the next
            tried += 1
            for mode in modes:
                try:
                    _examples(operation, mode, path_parameters)(_trial(
                        stack, session, headers, f"{operation.label} [{mode.value}]", failures))()
                except Unsatisfiable:
                    # An operation without parameters or body has no invalid form; its valid one ran above.
                    assert mode is GenerationMode.NEGATIVE, operation.label
    return failures, tried


@pytest.fixture(scope="module", autouse=True)
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis keeps caches (constants, unicode tables) in its home: a temporary one, not the checkout."""
    set_hypothesis_home_dir(str(tmp_path_factory.mktemp("hypothesis")))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def fuzzed_stack(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: what the fuzzer writes (rules, calendars, partners...) never meets the
    data the other attack tests build."""
    with attack_stack(pg_admin_dsn, tmp_path_factory.mktemp("fuzzed-stack")) as running:
        yield running


# Which object of the world a path parameter names, by the parameter and the service it belongs to.
REAL_IDS = {"agent_id": "a1", "team_id": "team_x", "institution_id": "office_x", "sheet_id": "plan",
            "meeting_id": "meeting", "policy_id": "policy", "receivable_id": "receivable", "receipt_id": "receipt",
            "payable_id": "payable", "assessment_id": "assessment", "target_id": "target", "contest_id": "contest",
            "dispute_id": "dispute", "rule_set_id": "rule_set", "request_id": "team_change",
            "separation_id": "separation", "user_id": "a1_user", "key_id": "partner_key", "day": "today",
            "bank_code": "partner"}


def real_ids_of(world: World) -> PathIds:
    ids = world.ids

    def real(path: str, name: str) -> Any:
        service = path.split("/")[3] if path.startswith("/api/v1/") else ""
        key = {("ledger", "entry_id"): "journal_entry", ("activity", "entry_id"): "entry",
               ("ledger", "customer_id"): "ledger_customer", ("activity", "customer_id"): "customer",
               ("performance", "run_id"): "performance_run", ("ledger", "run_id"): "settlement_run",
               ("org", "code"): "territory", ("auth", "code"): "partner"}.get((service, name), REAL_IDS.get(name))
        if name == "record_id":
            key = "coaching" if "/coaching/" in path else "callback"
        return ids[key] if key is not None else None

    return real


def test_operations_aimed_at_real_objects_answer_no_server_error(fuzzed_stack: RunningStack) -> None:
    """The same checks with every path parameter naming a real object, so bodies and queries reach the
    code behind the lookups (runs first: the stack's data is still as the world made it)."""
    with httpx.Client(base_url=fuzzed_stack.gateway, timeout=60) as client:
        world = build(client)
        failures, tried = _fuzz(fuzzed_stack, lambda: admin_login(client), real_ids_of(world),
                                modes=(GenerationMode.POSITIVE,))
    assert tried > 80  # every operation with a path parameter
    assert not failures, f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures)


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_no_operation_answers_a_server_error_or_breaks_its_schema(fuzzed_stack: RunningStack, role: str) -> None:
    stack = fuzzed_stack
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        admin = admin_login(client)
        user = None if role == "admin" else new_user(client, admin, "agent")

        def authenticate() -> dict[str, str]:
            return admin_login(client) if user is None else login(client, user.username, user.password)

        failures, tried = _fuzz(stack, authenticate)
    assert tried > 150
    assert not failures, f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures)
