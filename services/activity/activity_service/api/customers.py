"""Customers and prospects: registration by agents, grades, the owner's private contact data (every
read logged), handovers between agents, and inbound enquiries routed to the territory's owner."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Query, Request, Response
from sqlalchemy import select

from activity_service import access, customers
from activity_service.api.deps import AgentDep, BackOfficeOnly, PageDep, ScopeDep, actor_of
from activity_service.models import ContactAccess, Customer, CustomerGrade, CustomerTransfer
from activity_service.schemas import (
    AccessRead,
    ContactRead,
    CustomerCreate,
    CustomerEdit,
    CustomerRead,
    EnquiryCreate,
    EnquiryRead,
    GradeIn,
    GradeRead,
    OwnCustomerRead,
    TransferCreate,
    TransferRead,
)
from svckit.errors import BadGateway, NotFound, ServiceUnavailable
from svckit.http import ServiceClient
from svckit.internal_auth import Caller, CallerDep, require_roles
from svckit.pagination import Page, keyset, page_of
from svckit.requestid import current_request_id
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1", tags=["customers"])
# Handovers are decided by back office or by a supervisor over both agents (the scope decides which).
Handovers = require_roles("admin", "back_office", "supervisor")
AccessAuditors = require_roles("admin", "compliance")


def _own(customer: Customer, contact: Any) -> OwnCustomerRead:
    return OwnCustomerRead.model_validate({**CustomerRead.model_validate(customer).model_dump(),
                                           "contact": ContactRead.model_validate(contact)})


async def _contacts(session: SessionDep, caller: Caller, rows: list[Customer], purpose: str) -> dict[int, Any]:
    return await customers.read_contacts(session, rows, agent_id=caller.data_scope.agent_id,
                                         user_id=caller.user_id or actor_of(caller), purpose=purpose,
                                         request_id=current_request_id())


@router.post("/customers", response_model=OwnCustomerRead, status_code=201,
             responses={200: {"description": "Registered before with this client_id", "model": OwnCustomerRead}})
async def register_customer(body: CustomerCreate, session: SessionDep, agent_id: AgentDep, caller: CallerDep,
                            response: Response) -> OwnCustomerRead:
    """Register a customer or prospect met on a visit (the customer information form)."""
    customer, created = await customers.register(session, owner_agent_id=agent_id, actor=actor_of(caller),
                                                 source="agent", client_id=body.client_id, contact=body.contact(),
                                                 profile=body.profile())
    if not created:
        response.status_code = 200
    contact = (await _contacts(session, caller, [customer], "register"))[customer.id]
    return _own(customer, contact)


@router.get("/customers", response_model=Page[CustomerRead])
async def list_customers(
    session: SessionDep, scope: ScopeDep, page: PageDep,
    owner_agent_id: Annotated[int | None, Query(gt=0)] = None,
    grade: Annotated[str | None, Query(pattern="^[A-E]$")] = None,
    owner_left: Annotated[bool | None, Query(description="Only customers whose agent has left (to hand over)")]
    = None,
) -> Page[CustomerRead]:
    """Customers the caller may see, without identity or contact data: grades, intent, obstacles."""
    query = select(Customer).where(access.condition(scope, Customer.owner_agent_id, Customer.institution_id))
    if owner_agent_id is not None:
        query = query.where(Customer.owner_agent_id == owner_agent_id)
    if grade is not None:
        query = query.where(Customer.grade == grade)
    if owner_left is not None:
        left = customers.owner_left_condition()
        query = query.where(left if owner_left else ~left)
    rows = (await session.execute(keyset(query, [Customer.id.expression], page))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.id])
    return Page(items=[CustomerRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/customers/mine", response_model=Page[OwnCustomerRead])
async def my_customers(session: SessionDep, agent_id: AgentDep, caller: CallerDep, page: PageDep,
                       grade: Annotated[str | None, Query(pattern="^[A-E]$")] = None) -> Page[OwnCustomerRead]:
    """The caller's own customers with their contact data; each customer read is logged."""
    query = select(Customer).where(Customer.owner_agent_id == agent_id)
    if grade is not None:
        query = query.where(Customer.grade == grade)
    rows = (await session.execute(keyset(query, [Customer.id.expression], page))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.id])
    contacts = await _contacts(session, caller, list(items), "list")
    return Page(items=[_own(c, contacts[c.id]) for c in items], next_cursor=cursor)


@router.get("/customers/{customer_id}", response_model=CustomerRead)
async def read_customer(customer_id: int, session: SessionDep, scope: ScopeDep) -> Customer:
    """A customer as supervisors and staff see it (no identity, no contact data)."""
    return await customers.visible(session, scope, customer_id)


@router.get("/customers/{customer_id}/contact", response_model=OwnCustomerRead)
async def read_contact(customer_id: int, session: SessionDep, scope: ScopeDep, caller: CallerDep) -> OwnCustomerRead:
    """The customer with its contact data: for the owning agent only (403 for their supervisors);
    the read is logged."""
    customer = await customers.visible(session, scope, customer_id)
    contact = (await _contacts(session, caller, [customer], "read"))[customer.id]
    return _own(customer, contact)


@router.patch("/customers/{customer_id}", response_model=OwnCustomerRead)
async def edit_customer(customer_id: int, body: CustomerEdit, session: SessionDep, scope: ScopeDep,
                        caller: CallerDep) -> OwnCustomerRead:
    """The owner changes contact data or profile, from the version the device last saw (409 if stale)."""
    customer = await customers.visible(session, scope, customer_id, lock=True)
    customers.require_owner(customer, scope.agent_id)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    await customers.edit(session, customer, version=body.version,
                         contact={k: v for k, v in changes.items() if k in customers.CONTACT_FIELDS},
                         profile={k: v for k, v in changes.items() if k in customers.PROFILE_FIELDS})
    contact = (await _contacts(session, caller, [customer], "edit"))[customer.id]
    return _own(customer, contact)


@router.post("/customers/{customer_id}/grades", response_model=CustomerRead, status_code=201)
async def grade_customer(customer_id: int, body: GradeIn, session: SessionDep, scope: ScopeDep,
                         caller: CallerDep) -> Customer:
    """The owner reassesses a customer's grade and intent; the history keeps every grade."""
    customer = await customers.visible(session, scope, customer_id, lock=True)
    customers.require_owner(customer, scope.agent_id)
    return await customers.grade(session, customer, version=body.version, grade=body.grade, intent=body.intent,
                                 reason=body.reason, actor=actor_of(caller))


@router.get("/customers/{customer_id}/grades", response_model=list[GradeRead])
async def grade_history(customer_id: int, session: SessionDep, scope: ScopeDep) -> list[CustomerGrade]:
    """Every grade the customer was given, oldest first."""
    await customers.visible(session, scope, customer_id)
    return list((await session.execute(select(CustomerGrade).where(CustomerGrade.customer_id == customer_id)
                                       .order_by(CustomerGrade.id))).scalars())


@router.get("/customers/{customer_id}/transfers", response_model=list[TransferRead])
async def transfer_history(customer_id: int, session: SessionDep, scope: ScopeDep) -> list[CustomerTransfer]:
    """Every handover of the customer, oldest first."""
    await customers.visible(session, scope, customer_id)
    return list((await session.execute(select(CustomerTransfer).where(CustomerTransfer.customer_id == customer_id)
                                       .order_by(CustomerTransfer.id))).scalars())


@router.post("/customer-transfers", response_model=list[TransferRead], status_code=201, dependencies=[Handovers])
async def transfer_customers(body: TransferCreate, session: SessionDep, scope: ScopeDep,
                             caller: CallerDep) -> list[CustomerTransfer]:
    """Hand customers over from one agent to another (e.g. when an agent leaves): recorded per customer;
    the new owner alone reads the contact data from then on."""
    return await customers.transfer(session, scope, from_agent_id=body.from_agent_id, to_agent_id=body.to_agent_id,
                                    customer_ids=body.customer_ids, reason=body.reason, actor=actor_of(caller))


@router.get("/contact-access", response_model=Page[AccessRead], dependencies=[AccessAuditors])
async def contact_access_log(session: SessionDep, page: PageDep,
                             customer_id: Annotated[int | None, Query(gt=0)] = None) -> Page[AccessRead]:
    """Who read which customer's contact data, newest first (compliance)."""
    query = select(ContactAccess)
    if customer_id is not None:
        query = query.where(ContactAccess.customer_id == customer_id)
    rows = (await session.execute(keyset(query, [ContactAccess.id.expression], page, descending=True))
            ).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.id])
    return Page(items=[AccessRead.model_validate(r) for r in items], next_cursor=cursor)


async def _territory_owner(request: Request, territory: str) -> int:
    org: ServiceClient | None = request.app.state.org
    if org is None:
        raise ServiceUnavailable("the organisation service is not configured", code="org_unavailable")
    try:
        response = await org.request("GET", f"/v1/territories/{territory}/owner")
    except httpx.HTTPError:
        raise ServiceUnavailable("the organisation service did not answer", code="org_unavailable") from None
    if response.status_code == 404:
        raise NotFound(f"nobody owns territory {territory!r} today", code="territory_unowned", field="territory")
    if response.status_code != 200:
        raise BadGateway(f"the organisation service answered {response.status_code}", code="org_failed")
    return int(response.json()["agent_id"])


@router.post("/enquiries", response_model=EnquiryRead, status_code=201, dependencies=[BackOfficeOnly])
async def register_enquiry(body: EnquiryCreate, request: Request, session: SessionDep, scope: ScopeDep,
                           caller: CallerDep) -> Any:
    """Back office registers an inbound enquiry; it becomes a customer of the territory's owner, whose
    deal it will be."""
    owner = await _territory_owner(request, body.territory)
    return await customers.register_enquiry(
        session, scope, owner_agent_id=owner, territory=body.territory, subject=body.subject, actor=actor_of(caller),
        contact=body.model_dump(include={"name", "company", "phone", "email", "address"}),
        profile={"kind": body.kind, "channel": body.channel, "intent": body.intent, "grade": "E", "obstacle": None})

