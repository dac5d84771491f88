"""The partner bank's API 银行代扣接口 (reached only through the gateway's signed partner prefix,
`/api/v1/partner/bank/...`): fetch debit batches, send per-instruction results, upload the daily
reconciliation file. The bank is told apart by its partner identity; it sees its own batches only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Body, Depends, Query, Request
from pydantic import Field, field_validator
from sqlalchemy import select

from ledger_service import bank
from ledger_service.api.deps import PageDep
from ledger_service.bank_rules import HEADER, REASON_CODES, Result
from ledger_service.models import DebitBatch, DebitInstruction
from ledger_service.schemas import Schema, no_float
from ledger_service.settings import LedgerSettings
from svckit.errors import Unprocessable
from svckit.internal_auth import Caller, CallerDep, require_roles
from svckit.kit import kit_of
from svckit.money import CurrencyCode
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/bank", tags=["partner bank"], dependencies=[require_roles("partner_bank")])
MAX_RESULTS = 1000


def bank_code(caller: CallerDep) -> str:
    """The calling bank, as the gateway verified it (its partner code)."""
    assert caller.username is not None  # the gateway always names the partner
    return caller.username


BankCode = Annotated[str, Depends(bank_code)]


class BatchRead(Schema):
    id: int
    bank_code: str
    due_through: date
    instructions: int
    total: Decimal
    currency: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None


class InstructionRead(Schema):
    id: UUID = Field(description="Stable id: quote it in every result")
    batch_id: int
    mandate_ref: str = Field(description="The customer's debit mandate at the bank")
    amount: Decimal
    currency: str
    status: str


class ResultIn(Schema):
    instruction_id: UUID
    outcome: Literal["success", "failure"]
    amount: Decimal = Field(gt=0, description="What the bank debited (or tried to)", examples=["3600.00"])
    currency: CurrencyCode = "CNY"
    reason_code: str | None = Field(default=None, description="On a failure: " + ", ".join(sorted(REASON_CODES)))
    bank_reference: str = Field(min_length=1, max_length=100, description="The bank's own transaction reference")
    value_date: date

    _amount = field_validator("amount", mode="before")(no_float)

    @field_validator("reason_code")
    @classmethod
    def _known_reason(cls, value: str | None) -> str | None:
        if value is not None and value not in REASON_CODES:
            raise ValueError("one of: " + ", ".join(sorted(REASON_CODES)))
        return value


RESULTS_EXAMPLE = {"results": [
    {"instruction_id": "2f0c6f0e-8d5e-4c8e-9a39-3b1f0f3d9a11", "outcome": "success", "amount": "3600.00",
     "currency": "CNY", "bank_reference": "B20261130000001", "value_date": "2026-11-30"},
    {"instruction_id": "7a1d2c44-0b7e-4f55-8a5e-6c2d9d1e0b22", "outcome": "failure", "amount": "1200.00",
     "currency": "CNY", "reason_code": "insufficient_funds", "bank_reference": "B20261130000002",
     "value_date": "2026-11-30"}]}


class ResultsIn(Schema):
    results: list[ResultIn] = Field(min_length=1, max_length=MAX_RESULTS)


class ResultOutcome(Schema):
    instruction_id: UUID
    disposition: str = Field(description="applied, failed, duplicate, amount_mismatch, conflicting_result or "
                                         "already_paid (the last three are held for finance)")


class ResultsReport(Schema):
    results: int
    applied: int
    failed: int
    duplicates: int
    exceptions: int
    applied_amount: Decimal
    suspense_amount: Decimal
    items: list[ResultOutcome]


class FileReport(Schema):
    file_id: int
    file_date: date
    lines: int
    results: int
    applied: int
    failed: int
    duplicates: int
    exceptions: int
    applied_amount: Decimal
    suspense_amount: Decimal
    replayed: bool = Field(description="True when this very file had been applied before (nothing changed now)")


@router.get("/batches", response_model=list[BatchRead])
async def batches(session: SessionDep, code: BankCode,
                  status: Literal["ready", "acknowledged"] | None = "ready") -> list[DebitBatch]:
    """The bank's debit batches (by default those not yet acknowledged)."""
    query = select(DebitBatch).where(DebitBatch.bank_code == code).order_by(DebitBatch.id)
    if status is not None:
        query = query.where(DebitBatch.status == status)
    return list((await session.execute(query)).scalars())


@router.get("/batches/{batch_id}/instructions", response_model=Page[InstructionRead])
async def instructions(batch_id: int, session: SessionDep, code: BankCode, page: PageDep) -> Page[InstructionRead]:
    """The instructions of a batch, in pages."""
    await bank.batch_of(session, batch_id, code)
    query = select(DebitInstruction).where(DebitInstruction.batch_id == batch_id)
    rows = (await session.execute(keyset(query, [DebitInstruction.id.expression], page))).scalars().all()
    items, cursor = page_of(rows, page, lambda i: [i.id])
    return Page(items=[InstructionRead.model_validate(i) for i in items], next_cursor=cursor)


@router.post("/batches/{batch_id}/acknowledgement", response_model=BatchRead)
async def acknowledge(batch_id: int, session: SessionDep, code: BankCode) -> DebitBatch:
    """The bank has taken the batch (repeating it changes nothing)."""
    return await bank.acknowledge(session, batch_id, code)


@router.post("/results", response_model=ResultsReport)
async def results(session: SessionDep, caller: CallerDep, code: BankCode,
                  body: Annotated[ResultsIn, Body(openapi_examples={"two results": {"value": RESULTS_EXAMPLE}})],
                  ) -> ResultsReport:
    """Per-instruction results, in the order the bank learned them. Each takes effect once: the same
    result sent again is a `duplicate`; one contradicting an earlier answer is held for finance. A
    result naming an instruction we never sent refuses the whole request (nothing applied)."""
    incoming = [Result(n, r.instruction_id, r.bank_reference, r.value_date, r.amount, r.currency, r.outcome,
                       r.reason_code) for n, r in enumerate(body.results, start=1)]
    for n, r in enumerate(body.results):
        if (r.outcome == "failure") != (r.reason_code is not None):
            raise Unprocessable("a failure names its reason code and a success has none", code="reason_code_rule",
                                field=f"results[{n}].reason_code")
    unknown = await bank.unknown_instructions(session, code, sorted({r.instruction_id for r in body.results}))
    if unknown:
        first = next(n for n, r in enumerate(body.results) if r.instruction_id in unknown)
        raise Unprocessable(f"{len(unknown)} result(s) name an instruction that was never sent to this bank",
                            code="instruction_unknown", field=f"results[{first}].instruction_id",
                            instructions=sorted(str(u) for u in unknown))
    applied = await bank.apply_results(session, code, incoming, actor=_actor(caller))
    return ResultsReport(**applied.report, items=[
        ResultOutcome(instruction_id=r.instruction_id, disposition=d)
        for r, d in zip(body.results, applied.dispositions, strict=True)])


def _actor(caller: Caller) -> str:
    return f"bank:{caller.username}"


@router.post("/reconciliation-files", response_model=FileReport, openapi_extra={"requestBody": {
    "required": True, "content": {"text/csv": {"schema": {"type": "string"}, "example": (
        ",".join(HEADER) + "\n2f0c6f0e-8d5e-4c8e-9a39-3b1f0f3d9a11,B20261130000001,2026-11-30,3600.00,CNY,success,\n"
        "7a1d2c44-0b7e-4f55-8a5e-6c2d9d1e0b22,B20261130000002,2026-11-30,1200.00,CNY,failure,insufficient_funds\n"
        ",B20261130000003,2026-11-30,88.00,CNY,success,\n")}}}})
async def reconciliation_file(request: Request, session: SessionDep, caller: CallerDep, code: BankCode,
                              file_date: Annotated[date, Query(description="The day the file reconciles")],
                              ) -> dict[str, Any]:
    """The day's reconciliation file (CSV, format in the README). A file with broken lines is refused
    whole, every broken line named; the same file sent again answers its first report, or finishes
    applying it if it was interrupted (a large file is applied in parts, each once)."""
    if request.headers.get("content-type", "").split(";")[0].strip() not in ("text/csv", "text/plain"):
        raise Unprocessable("send the file as text/csv", code="unsupported_media_type", field="header.content-type")
    settings: LedgerSettings = request.app.state.settings
    job = bank.FileJob(kit_of(request).db.sessionmaker, settings.reconciliation_parts,
                       settings.reconciliation_part_min_lines, settings.reconciliation_timeout_s,
                       settings.reconciliation_work_mem_mb)
    report, replayed = await bank.ingest_file(session, code, file_date=file_date, content=await request.body(),
                                              actor=_actor(caller), job=job)
    return {**report, "replayed": replayed}
