"""The `partner-bank` command as a bank runs it: a real subprocess against real org, ledger and gateway
processes (uvicorn, started as `make run` starts them) on the run's PostgreSQL, over loopback HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway_service import accounts, partner_api
from gateway_service.models import SCHEMA as GATEWAY_SCHEMA
from gateway_service.roles import Role
from partner_bank_client.client import Credentials, PartnerBankClient
from svckit.db import Database
from svckit.ops.services import ALL, by_name
from svckit.ops.stack import start, stop_all
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers
from svckit.testing.org import company, hire
from svckit.testing.plugin import StackDatabase
from svckit.testing.responses import ok

pytestmark = pytest.mark.e2e
RUNNING = ("org", "ledger", "gateway")
HEADER = "instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    urls: dict[str, str]
    secret: str

    def as_admin(self, service: str) -> dict[str, str]:
        return internal_headers(self.secret, service, username="hq-admin", roles=frozenset({"admin"}))


@pytest.fixture(scope="module")
def stack(stack_db: StackDatabase) -> Iterator[Stack]:
    """org, ledger and the gateway as real processes; performance and activity are not needed here."""
    ports = {spec.name: free_port() for spec in ALL}  # the two not started get a port nobody listens on
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({f"{spec.env_prefix}PORT": str(ports[spec.name]) for spec in ALL})
    secret = secrets.token_urlsafe(48)
    env.update({"INTERNAL_TOKEN_SECRET": secret, "GATEWAY_JWT_SECRET": secrets.token_urlsafe(48),
                "GATEWAY_PARTNER_MASTER_KEY": secrets.token_urlsafe(48), "LEDGER_ORG_POLL_SECONDS": "0.2"})
    dsns = {spec.name: stack_db.dsn(spec.name) for spec in ALL}
    urls = {name: f"http://127.0.0.1:{ports[name]}" for name in RUNNING}
    processes = {name: start(by_name(name), env, dsns) for name in RUNNING}
    try:
        _wait_ready(processes, {name: urls[name] + ("/livez" if name == "gateway" else "/readyz") for name in RUNNING})
        yield Stack(urls, secret)
    finally:
        stop_all(processes)


def _wait_ready(processes: dict[str, subprocess.Popen[bytes]], urls: dict[str, str], timeout: float = 90) -> None:
    deadline, pending = time.monotonic() + timeout, dict(urls)
    with httpx.Client(timeout=2) as client:
        while pending:
            for name, url in list(pending.items()):
                assert processes[name].poll() is None, f"{name} exited with {processes[name].returncode}"
                try:
                    if client.get(url).status_code == 200:
                        del pending[name]
                except httpx.TransportError:
                    pass
            assert time.monotonic() < deadline, f"not ready after {timeout} s: {sorted(pending)}"
            time.sleep(0.2)


@dataclass(frozen=True)
class Bank:
    """A partner bank registered by an administrator, with a batch of debit instructions waiting for it."""

    code: str
    env: dict[str, str]
    batch_id: int
    finance: dict[str, str]
    branch: int


@pytest.fixture
async def bank(stack: Stack, stack_db: StackDatabase) -> Bank:
    """Partner and key through the gateway's admin API (the secret is shown once); in the ledger, a branch
    of its own with a collection account, three premiums paid by auto-debit and the batch finance makes."""
    code = f"bk-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    db = Database.connect(stack_db.dsn("gateway"), schema=GATEWAY_SCHEMA)
    try:
        async with db.sessionmaker.begin() as session:
            admin = await accounts.create_user(session, username=f"admin-{code}", password=password,
                                               roles=(Role.ADMIN,))
    finally:
        await db.dispose()
    async with httpx.AsyncClient(base_url=stack.urls["gateway"]) as gateway:
        token = ok(await gateway.post("/api/v1/auth/login", json={"username": admin.username,
                                                                   "password": password}))["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        ok(await gateway.post("/api/v1/auth/partners", json={"code": code, "name": "工商银行天津分行"},
                              headers=auth), 201)
        key = ok(await gateway.post(f"/api/v1/auth/partners/{code}/keys", headers=auth), 201)

    async with httpx.AsyncClient(base_url=stack.urls["org"], headers=stack.as_admin("org")) as org:
        c = await company(org)
        agent = await hire(org, c, "agent", await hire(org, c, "supervisor"))
    finance = internal_headers(stack.secret, "ledger", roles=frozenset({"finance"}),
                               scope=DataScope(institutions=frozenset({c.branch})), institutions=frozenset({c.branch}))
    async with httpx.AsyncClient(base_url=stack.urls["ledger"], headers=stack.as_admin("ledger")) as ledger:
        for premium, mandate in (("3600.00", "M-1"), ("1200.00", "M-2"), ("500.00", "M-3")):
            await _issue(ledger, agent, premium, mandate)
        ok(await ledger.put(f"/v1/bank-accounts/{code}", headers=finance,
                            json={"name": "工商银行代扣账户", "branch_id": c.branch}))
        batch = ok(await ledger.post("/v1/debit-batches", headers=finance,
                                     json={"bank_code": code, "due_through": "2026-11-30"}), 201)
    assert batch["instructions"] == 3
    env = {**os.environ, "PARTNER_BANK_URL": stack.urls["gateway"], "PARTNER_BANK_KEY_ID": key["key_id"],
           "PARTNER_BANK_SECRET": key["secret"]}
    return Bank(code, env, batch["id"], finance, c.branch)


async def _issue(ledger: httpx.AsyncClient, agent: int, premium: str, mandate: str) -> dict[str, Any]:
    """A policy paid by auto-debit; retried while the ledger's copy of org has not yet seen the agent."""
    deadline = time.monotonic() + 30
    while True:
        response = await ledger.post("/v1/policies", json={
            "policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent,
            "policyholder": {"kind": "individual", "name": "张三", "external_ref": f"C-{secrets.token_hex(4)}"},
            "product_code": "LIFE-20", "insurer": "本公司", "premium": premium, "frequency": "annual",
            "payment_mode": "bank_debit", "mandate_ref": mandate, "issued_on": "2026-11-02"})
        if response.status_code == 201 or time.monotonic() > deadline:
            return dict(ok(response, 201))
        assert response.status_code in (404, 422), response.text  # the agent not yet copied from org
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Run:
    code: int
    out: Any
    err: str

    @property
    def problem(self) -> dict[str, Any]:
        """The problem+json printed on stderr (after any one-line summary)."""
        start = self.err.index("{")
        return dict(json.loads(self.err[start:]))


async def cli(bank: Bank, *args: str, env: dict[str, str] | None = None, entry_point: bool = False) -> Run:
    """Run the client as a bank would: its own process, its own interpreter start-up."""
    command = ([str(Path(sys.executable).with_name("partner-bank"))] if entry_point
               else [sys.executable, "-m", "partner_bank_client"])
    process = await asyncio.create_subprocess_exec(*command, *args, env=env or bank.env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, json.loads(out) if out.strip() else None, err.decode())


async def test_the_bank_fetches_its_batch_and_its_results_take_effect_once(
    bank: Bank, stack: Stack, tmp_path: Path,
) -> None:
    listed = await cli(bank, "batches", entry_point=True)
    assert listed.code == 0, listed.err
    assert [b["id"] for b in listed.out] == [bank.batch_id]
    fetched = await cli(bank, "instructions", str(bank.batch_id))
    assert fetched.code == 0, fetched.err
    ids = {i["mandate_ref"]: i["id"] for i in fetched.out}
    assert sorted(ids) == ["M-1", "M-2", "M-3"]
    acknowledged = await cli(bank, "acknowledge", str(bank.batch_id))
    assert (acknowledged.code, acknowledged.out["status"]) == (0, "acknowledged")
    assert (await cli(bank, "batches")).out == []  # nothing left to take
    assert [b["id"] for b in (await cli(bank, "batches", "--status", "all")).out] == [bank.batch_id]

    one = await cli(bank, "send-result", ids["M-1"], "success", "--amount", "3600.00", "--reference", "B1",
                    "--value-date", "2026-11-30")
    assert one.code == 0, one.err
    assert [x["disposition"] for x in one.out["items"]] == ["applied"]
    assert Decimal(one.out["applied_amount"]) == Decimal("3600")
    bank_money = await _bank_balance(stack, bank)
    assert bank_money == Decimal(3600)

    csv_file = tmp_path / "results.csv"
    csv_file.write_text(HEADER + f"{ids['M-2']},B2,2026-11-30,1200.00,CNY,failure,insufficient_funds\n"
                        f"{ids['M-1']},B1,2026-11-30,3600.00,CNY,success,\n", encoding="utf-8")
    many = await cli(bank, "send-results", str(csv_file))
    assert many.code == 0, many.err
    assert [x["disposition"] for x in many.out["items"]] == ["failed", "duplicate"]
    assert (many.out["failed"], many.out["duplicates"], many.out["applied"]) == (1, 1, 0)

    # The same result 1,001 times more, from JSON: two requests (the ledger takes 1,000 at a time), one
    # report, every one a duplicate, and the money is where it was.
    json_file = tmp_path / "results.json"
    json_file.write_text(json.dumps({"results": [
        {"instruction_id": ids["M-1"], "outcome": "success", "amount": "3600.00", "currency": "CNY",
         "bank_reference": "B1", "value_date": "2026-11-30"}] * 1001}), encoding="utf-8")
    again = await cli(bank, "send-results", str(json_file))
    assert again.code == 0, again.err
    assert (again.out["results"], again.out["duplicates"], again.out["applied"]) == (1001, 1001, 0)
    assert {x["disposition"] for x in again.out["items"]} == {"duplicate"}
    assert len(again.out["items"]) == 1001
    assert Decimal(again.out["applied_amount"]) == 0
    # The second request refused (an instruction never sent): the first one's thousand took effect, and
    # the problem says so and where the refused request starts.
    stranger = {"instruction_id": "7a1d2c44-0b7e-4f55-8a5e-6c2d9d1e0b22", "outcome": "success", "amount": "1.00",
                "bank_reference": "B9", "value_date": "2026-11-30"}
    json_file.write_text(json.dumps([*json.loads(json_file.read_text())["results"][:1000], stranger]))
    partly = await cli(bank, "send-results", str(json_file))
    assert (partly.code, partly.problem["code"], partly.problem["field"]) == (
        1, "instruction_unknown", "results[0].instruction_id")
    assert partly.problem["results_sent_before"] == 1000
    assert partly.problem["report_of_those_sent"]["duplicates"] == 1000
    assert await _bank_balance(stack, bank) == bank_money

    # Refused by the ledger: the problem names the field and the rule, and the exit code says so.
    no_reason = await cli(bank, "send-result", ids["M-3"], "failure", "--amount", "500.00", "--reference", "B3",
                          "--value-date", "2026-11-30")
    assert no_reason.code == 1
    assert no_reason.out is None
    assert (no_reason.problem["status"], no_reason.problem["code"], no_reason.problem["field"]) == (
        422, "reason_code_rule", "results[0].reason_code")
    bad_date = await cli(bank, "send-result", ids["M-3"], "success", "--amount", "500.00", "--reference", "B3",
                         "--value-date", "30/11/2026")
    assert (bad_date.code, bad_date.problem["status"], bad_date.problem["code"]) == (1, 422, "validation_failed")
    assert [e["field"] for e in bad_date.problem["errors"]] == ["results.0.value_date"]
    unknown = await cli(bank, "send-result", "7a1d2c44-0b7e-4f55-8a5e-6c2d9d1e0b22", "success", "--amount", "1.00",
                        "--reference", "B9", "--value-date", "2026-11-30")
    assert (unknown.code, unknown.problem["code"]) == (1, "instruction_unknown")
    assert unknown.problem["field"] == "results[0].instruction_id"

    # Refused here, before anything is sent: a line of the file names no instruction.
    broken = tmp_path / "broken.csv"
    broken.write_text(HEADER + ",B4,2026-11-30,88.00,CNY,success,\n", encoding="utf-8")
    local = await cli(bank, "send-results", str(broken))
    assert local.code == 2
    assert [(e["line"], e["field"], e["rule"]) for e in local.problem["errors"]] == [(2, "instruction_id", "required")]
    missing = await cli(bank, "send-results", str(tmp_path / "nowhere.csv"))
    assert (missing.code, missing.problem["errors"][0]["rule"]) == (2, "readable")
    assert await _bank_balance(stack, bank) == bank_money


async def _bank_balance(stack: Stack, bank: Bank) -> Decimal:
    async with httpx.AsyncClient(base_url=stack.urls["ledger"]) as ledger:
        balances = ok(await ledger.get("/v1/journal/balances", headers=bank.finance,
                                       params={"branch_id": bank.branch, "account": "bank"}))
    return sum((Decimal(b["net_debit"]) for b in balances), Decimal(0))


async def test_a_forged_signature_and_a_replayed_nonce_are_refused(bank: Bank) -> None:
    forged = await cli(bank, "batches", env={**bank.env, "PARTNER_BANK_SECRET": secrets.token_urlsafe(32)})
    assert forged.code == 1
    assert forged.out is None
    assert (forged.problem["status"], forged.problem["code"], forged.problem["header"]) == (
        401, "partner_signature_invalid", "X-Partner-Signature")

    nonce = f"replay-{secrets.token_hex(8)}"
    first = await cli(bank, "--nonce", nonce, "batches")
    assert first.code == 0, first.err
    replayed = await cli(bank, "--nonce", nonce, "batches")
    assert replayed.code == 1
    assert (replayed.problem["status"], replayed.problem["code"], replayed.problem["header"]) == (
        401, "partner_nonce_replayed", "X-Partner-Nonce")

    unknown_key = await cli(bank, "batches", env={**bank.env, "PARTNER_BANK_KEY_ID": "pk_nobody"})
    assert (unknown_key.code, unknown_key.problem["code"]) == (1, "partner_key_unknown")
    nowhere = await cli(bank, "--url", f"http://127.0.0.1:{free_port()}", "batches")
    assert (nowhere.code, nowhere.problem["code"]) == (3, "no_answer")


async def test_a_reconciliation_upload_posts_what_matches_and_reports_what_does_not(
    bank: Bank, stack: Stack, tmp_path: Path,
) -> None:
    ids = {i["mandate_ref"]: i["id"] for i in (await cli(bank, "instructions", str(bank.batch_id))).out}
    assert await _bank_balance(stack, bank) == 0
    failed = await cli(bank, "send-result", ids["M-2"], "failure", "--amount", "1200.00", "--reference", "B2",
                       "--value-date", "2026-11-30", "--reason", "insufficient_funds")
    assert failed.code == 0, failed.err

    file = tmp_path / "recon-20261130.csv"
    file.write_text(HEADER
                    + f"{ids['M-1']},B1,2026-11-30,3600.00,CNY,success,\n"            # line 2: matched, applied
                    + f"{ids['M-2']},B2,2026-11-30,1200.00,CNY,failure,insufficient_funds\n"  # 3: sent by API
                    + f"{ids['M-3']},B3,2026-11-30,500.00,CNY,success,\n"             # 4: matched, applied
                    + ",B4,2026-11-30,88.00,CNY,success,\n",                             # 5: names no instruction
                    encoding="utf-8")
    report = await cli(bank, "upload-reconciliation", str(file), "--date", "2026-11-30")
    assert report.code == 0, report.err
    counts = {name: report.out[name] for name in ("lines", "applied", "failed", "duplicates", "exceptions")}
    assert counts == {"lines": 4, "applied": 2, "failed": 0, "duplicates": 1, "exceptions": 1}
    assert (Decimal(report.out["applied_amount"]), Decimal(report.out["suspense_amount"])) == (Decimal(4100),
                                                                                              Decimal(88))
    assert report.out["lines_without_instruction"] == [5]
    assert report.out["replayed"] is False
    assert "held for finance 1" in report.err
    assert await _bank_balance(stack, bank) == Decimal(4188)  # 3600 + 500 received, 88 held in suspense

    again = await cli(bank, "upload-reconciliation", str(file), "--date", "2026-11-30")
    assert again.code == 0, again.err
    assert (again.out["replayed"], again.out["file_id"]) == (True, report.out["file_id"])
    assert await _bank_balance(stack, bank) == Decimal(4188)

    bad = tmp_path / "recon-bad.csv"
    bad.write_text(HEADER + f"{ids['M-3']},B5,2026-11-30,abc,CNY,success,\n", encoding="utf-8")
    refused = await cli(bank, "upload-reconciliation", str(bad), "--date", "2026-11-30")
    assert refused.code == 1
    assert (refused.problem["status"], refused.problem["code"]) == (422, "reconciliation_file_invalid")
    assert [(e["line"], e["field"]) for e in refused.problem["errors"]] == [(2, "amount")]


async def test_the_sign_command_gives_the_published_example(tmp_path: Path) -> None:
    """A bank checks its own implementation against `partner-bank sign`: the gateway's published vector."""
    body, secret_file = tmp_path / "body.json", tmp_path / "secret"
    body.write_bytes(partner_api.EXAMPLE_BODY)
    secret_file.write_text(partner_api.EXAMPLE_SECRET + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNER_BANK_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "partner_bank_client", "--secret-file", str(secret_file), "--key-id", "pk_example",
        "--nonce", partner_api.EXAMPLE_NONCE, "sign", "POST", partner_api.EXAMPLE_PATH, "--query",
        partner_api.EXAMPLE_QUERY, "--body-file", str(body), "--timestamp", str(partner_api.EXAMPLE_TIMESTAMP),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    signed = json.loads(out)
    assert signed["canonical_string"] == [
        "POST", partner_api.EXAMPLE_PATH, "batch=7&date=2026-11-23", str(partner_api.EXAMPLE_TIMESTAMP),
        partner_api.EXAMPLE_NONCE, hashlib.sha256(partner_api.EXAMPLE_BODY).hexdigest()]
    assert signed["headers"] == {
        "X-Partner-Key": "pk_example", "X-Partner-Timestamp": str(partner_api.EXAMPLE_TIMESTAMP),
        "X-Partner-Nonce": partner_api.EXAMPLE_NONCE, "X-Partner-Signature": partner_api.EXAMPLE_SIGNATURE}


async def test_the_gateway_verifies_what_the_client_signs_with_an_encoded_query(bank: Bank) -> None:
    """The client signs the query as httpx sends it (spaces, '+', Chinese): the real gateway agrees."""
    credentials = Credentials(bank.env["PARTNER_BANK_URL"], bank.env["PARTNER_BANK_KEY_ID"],
                              bank.env["PARTNER_BANK_SECRET"])

    def list_batches() -> Any:
        with PartnerBankClient(credentials, timeout=30) as client:
            return client.call("GET", "/batches", params={"status": "ready", "note": "对账 a+b&c=d"})

    assert [b["id"] for b in await asyncio.to_thread(list_batches)] == [bank.batch_id]
