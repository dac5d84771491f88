"""Finance's side of auto-debit: the banks' collection accounts, debit batches, and the exceptions
held for finance (money in suspense, conflicting or mismatched results)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field
from sqlalchemy import select

from ledger_service import access, bank
from ledger_service.api.bank import BatchRead
from ledger_service.api.deps import FinanceOnly, PageDep, ScopeDep, actor_of
from ledger_service.models import DIRECTORY, BankAccount, BankException
from ledger_service.schemas import Schema
from svckit import directory
from svckit.errors import NotFound
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.money import CurrencyCode
from svckit.pagination import Page, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1", tags=["auto-debit"], dependencies=[FinanceOnly])


class BankAccountIn(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["工商银行天津分行代扣账户"])
    branch_id: int = Field(description="The branch whose books the bank's money lands in")
    currency: CurrencyCode = "CNY"


class BankAccountRead(Schema):
    bank_code: str
    name: str
    branch_id: int
    currency: str
    updated_by: str
    updated_at: datetime


class BatchCreate(Schema):
    bank_code: str = Field(min_length=1, max_length=50)
    due_through: date = Field(description="Debit every open premium due on or before this date")


class ExceptionRead(Schema):
    id: int
    bank_code: str
    branch_id: int
    kind: str
    instruction_id: UUID | None
    result_id: int
    amount: Decimal
    currency: str
    in_suspense: bool
    suspense_entry_id: int | None
    detail: str
    status: str
    resolution: str | None
    resolution_note: str | None
    resolution_entry_id: int | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime


class Resolution(Schema):
    how: Literal["apply_to_receivable", "refund", "dismiss"]
    receivable_id: int | None = Field(default=None, description="For apply_to_receivable: the premium it pays")
    on: date = Field(description="Booking date of the correcting entry")
    note: str = Field(min_length=1, max_length=500)


async def _branch(session: SessionDep, scope: DataScope, branch_id: int) -> None:
    await access.require(session, scope, agent_id=None, institution_id=branch_id, what="branch", object_id=branch_id,
                         field="branch_id")


@router.put("/bank-accounts/{bank_code}", response_model=BankAccountRead)
async def set_bank_account(bank_code: str, body: BankAccountIn, session: SessionDep, caller: CallerDep,
                           scope: ScopeDep) -> BankAccount:
    """Name a partner bank's collection account and the branch it collects for."""
    await access.institution_path(session, body.branch_id, field="branch_id")
    await _branch(session, scope, body.branch_id)
    # An account that exists already collects for its branch: only whoever may see that branch may
    # rename it or point it (and the money its bank sends) at another branch.
    existing = (await session.execute(select(BankAccount.branch_id).where(BankAccount.bank_code == bank_code))
                ).scalar()
    if existing is not None:
        await access.require(session, scope, agent_id=None, institution_id=existing, what="bank_account",
                             object_id=bank_code, field="bank_code")
    return await bank.set_account(session, bank_code=bank_code, name=body.name, branch_id=body.branch_id,
                                  currency=body.currency, actor=actor_of(caller))


@router.get("/bank-accounts", response_model=list[BankAccountRead])
async def bank_accounts(session: SessionDep, scope: ScopeDep) -> list[BankAccount]:
    """The banks' collection accounts the caller may see."""
    return list((await session.execute(select(BankAccount).where(
        access.condition(scope, None, BankAccount.branch_id)).order_by(BankAccount.bank_code))).scalars())


@router.post("/debit-batches", response_model=BatchRead, status_code=201)
async def create_batch(body: BatchCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                       _: IdempotencyDep) -> object:
    """A batch of debit instructions for every open premium due by the date, on policies paid by
    auto-debit, in the bank's branch; a premium already being debited is left out."""
    # Another branch's account is refused exactly like an unknown one, so bank codes cannot be probed.
    account = await bank.account(session, body.bank_code)
    if not await directory.allows(session, scope, DIRECTORY, agent_id=None, institution_id=account.branch_id):
        raise NotFound(f"no collection account for bank {body.bank_code!r}", code="bank_account_unknown",
                       field="bank_code")
    return await bank.create_batch(session, bank_code=body.bank_code, due_through=body.due_through,
                                   actor=actor_of(caller))


@router.get("/debit-batches/{batch_id}", response_model=BatchRead)
async def read_batch(batch_id: int, session: SessionDep, scope: ScopeDep) -> object:
    """One batch."""
    found = await bank.batch_of(session, batch_id)
    # A batch belongs to the branch its bank's account collects for (its instructions are that
    # branch's premiums); outside the scope it is refused like a batch that does not exist.
    await access.require(session, scope, agent_id=None, institution_id=(await bank.account(
        session, found.bank_code)).branch_id, what="batch", object_id=batch_id, field="batch_id")
    return found


@router.get("/bank-exceptions", response_model=Page[ExceptionRead])
async def exceptions(session: SessionDep, scope: ScopeDep, page: PageDep,
                     status: Literal["open", "resolved"] | None = "open") -> Page[ExceptionRead]:
    """Exceptions finance must resolve, oldest first."""
    query = select(BankException).where(access.condition(scope, None, BankException.branch_id))
    if status is not None:
        query = query.where(BankException.status == status)
    rows = (await session.execute(keyset(query, [BankException.id.expression], page))).scalars().all()
    items, cursor = page_of(rows, page, lambda e: [e.id])
    return Page(items=[ExceptionRead.model_validate(e) for e in items], next_cursor=cursor)


@router.post("/bank-exceptions/{exception_id}/resolution", response_model=ExceptionRead)
async def resolve(exception_id: int, body: Resolution, session: SessionDep, caller: CallerDep,
                  scope: ScopeDep) -> BankException:
    """Resolve once: apply the money in suspense to a premium, refund it, or (without money) dismiss."""
    found = await bank.exception_of(session, exception_id)
    await access.require(session, scope, agent_id=None, institution_id=found.branch_id, what="exception",
                         object_id=exception_id, field="exception_id")
    return await bank.resolve(session, exception_id, how=body.how, receivable_id=body.receivable_id, note=body.note,
                              on=body.on, actor=actor_of(caller))
