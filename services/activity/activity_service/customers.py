"""Customers and prospects 客户 (seed 004's customer information form), their grades A–E with history
(seed 000 ABC管理), inbound enquiries assigned to the territory's owner, and handovers.

Contact data is the owning agent's alone: it is read only through `read_contacts`, which refuses
everyone but the owner and writes each read to the access log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activity_service import access
from activity_service.models import (
    DIRECTORY,
    PLATFORM_TABLES,
    ContactAccess,
    Customer,
    CustomerContact,
    CustomerGrade,
    CustomerTransfer,
    Enquiry,
)
from svckit.errors import Conflict, Forbidden, NotFound, Unprocessable
from svckit.outbox import NewEvent, append_event, append_events
from svckit.scope import DataScope

CONTACT_FIELDS = ("name", "company", "phone", "email", "address")
PROFILE_FIELDS = ("channel", "territory", "obstacle")


async def get(session: AsyncSession, customer_id: int, *, lock: bool = False) -> Customer:
    query = select(Customer).where(Customer.id == customer_id)
    found = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"customer {customer_id} does not exist", code="customer_not_found", field="customer_id")
    return found


async def visible(session: AsyncSession, scope: DataScope, customer_id: int, *, lock: bool = False) -> Customer:
    """A customer whose summary the caller may see (owner, owner's supervisors, staff of its institution)."""
    found = await get(session, customer_id, lock=lock)
    await access.require(session, scope, agent_id=found.owner_agent_id, institution_id=found.institution_id,
                         what="customer", object_id=customer_id, field="customer_id")
    return found


def require_owner(customer: Customer, agent_id: int | None) -> None:
    if agent_id is None or customer.owner_agent_id != agent_id:
        raise Forbidden(f"the contact data of customer {customer.id} is private to the agent who owns it",
                        code="contact_private", field="customer_id")


async def register(session: AsyncSession, *, owner_agent_id: int, actor: str, source: str,
                   client_id: UUID | None, contact: dict[str, Any], profile: dict[str, Any]) -> tuple[Customer, bool]:
    """A new customer of `owner_agent_id`; (customer, created). With the app's `client_id`, registering
    the same customer again returns the first one."""
    agent = await access.active_agent(session, owner_agent_id)
    if client_id is not None:
        existing = (await session.execute(select(Customer).where(
            Customer.owner_agent_id == owner_agent_id, Customer.client_id == client_id))).scalar_one_or_none()
        if existing is not None:
            return existing, False
    customer = Customer(owner_agent_id=owner_agent_id, institution_id=agent.institution_id, source=source,
                        client_id=client_id, registered_by=actor, **profile)
    session.add(customer)
    await session.flush()
    session.add(CustomerContact(customer_id=customer.id, **contact))
    session.add(CustomerGrade(customer_id=customer.id, grade=customer.grade, intent=customer.intent,
                              reason="registered", graded_by=actor))
    await append_event(session, PLATFORM_TABLES, event_type="customer.registered", aggregate_type="customer",
                       aggregate_id=str(customer.id), payload=_public(customer))
    await session.flush()
    return customer, True


def _public(customer: Customer) -> dict[str, Any]:
    """What other services may learn of a customer: never who it is."""
    return {"customer_id": customer.id, "owner_agent_id": customer.owner_agent_id,
            "institution_id": customer.institution_id, "grade": customer.grade, "intent": customer.intent,
            "source": customer.source}


async def read_contacts(session: AsyncSession, customers: Sequence[Customer], *, agent_id: int | None,
                        user_id: str, purpose: str, request_id: str | None) -> dict[int, CustomerContact]:
    """The contact data of the caller's own customers, each read written to the access log."""
    for customer in customers:
        require_owner(customer, agent_id)
    if not customers:
        return {}
    ids = [c.id for c in customers]
    rows = (await session.execute(select(CustomerContact).where(CustomerContact.customer_id.in_(ids)))).scalars()
    session.add_all([ContactAccess(customer_id=i, agent_id=agent_id, user_id=user_id, purpose=purpose,
                                   request_id=request_id) for i in ids])
    await session.flush()
    return {r.customer_id: r for r in rows}


def _check_version(customer: Customer, version: int) -> None:
    if customer.version != version:
        raise Conflict(f"customer {customer.id} is at version {customer.version}; this change was made from "
                       f"version {version}", code="version_conflict", field="version",
                       current_version=customer.version)


async def edit(session: AsyncSession, customer: Customer, *, version: int, contact: dict[str, Any],
               profile: dict[str, Any]) -> Customer:
    """The owner changes contact data or profile, from the version their device last saw."""
    _check_version(customer, version)
    if contact:
        await session.execute(update(CustomerContact).where(CustomerContact.customer_id == customer.id)
                              .values(**contact))
    for name, value in profile.items():
        setattr(customer, name, value)
    customer.version += 1
    await session.flush()
    return customer


async def grade(session: AsyncSession, customer: Customer, *, version: int, grade: str, intent: int,
                reason: str | None, actor: str) -> Customer:
    """Reassess a customer: a new grade in the history, never an edit of an old one."""
    _check_version(customer, version)
    customer.grade, customer.intent, customer.version = grade, intent, customer.version + 1
    session.add(CustomerGrade(customer_id=customer.id, grade=grade, intent=intent, reason=reason, graded_by=actor))
    await append_event(session, PLATFORM_TABLES, event_type="customer.graded", aggregate_type="customer",
                       aggregate_id=str(customer.id), payload=_public(customer))
    await session.flush()
    return customer


async def transfer(session: AsyncSession, scope: DataScope, *, from_agent_id: int, to_agent_id: int,
                   customer_ids: Sequence[int] | None, reason: str, actor: str) -> list[CustomerTransfer]:
    """Hand customers of one agent over to another: every customer named (or all of them), recorded one
    by one. The caller's scope must hold both agents; the new owner must be active."""
    if from_agent_id == to_agent_id:
        raise Unprocessable("a customer is handed over to another agent", code="same_agent", field="to_agent_id")
    source = await access.agent_or_none(session, from_agent_id)
    if source is None:
        raise Unprocessable(f"agent {from_agent_id} is not known to the organisation", code="agent_not_found",
                            field="from_agent_id")
    await access.require(session, scope, agent_id=from_agent_id, institution_id=source.institution_id,
                         what="agent", object_id=from_agent_id, field="from_agent_id")
    target = await access.active_agent(session, to_agent_id, field="to_agent_id")
    await access.require(session, scope, agent_id=to_agent_id, institution_id=target.institution_id,
                         what="agent", object_id=to_agent_id, field="to_agent_id")
    query = select(Customer).where(Customer.owner_agent_id == from_agent_id)
    if customer_ids is not None:
        query = query.where(Customer.id.in_(customer_ids))
    found = list((await session.execute(query.order_by(Customer.id).with_for_update())).scalars())
    if customer_ids is not None:
        missing = sorted(set(customer_ids) - {c.id for c in found})
        if missing:
            raise Unprocessable(f"customers {missing} are not agent {from_agent_id}'s", code="customer_not_owned",
                                field="customer_ids")
    transfers = []
    for customer in found:
        customer.owner_agent_id, customer.institution_id = to_agent_id, target.institution_id
        customer.version += 1
        transfers.append(CustomerTransfer(customer_id=customer.id, from_agent_id=from_agent_id,
                                          to_agent_id=to_agent_id, reason=reason, transferred_by=actor))
    session.add_all(transfers)
    await session.flush()
    await append_events(session, PLATFORM_TABLES, [NewEvent(
        "customer.transferred", "customer", str(t.customer_id),
        {"customer_id": t.customer_id, "from_agent_id": from_agent_id, "to_agent_id": to_agent_id,
         "reason": reason}) for t in transfers])
    return transfers


async def register_enquiry(session: AsyncSession, scope: DataScope, *, owner_agent_id: int, territory: str,
                           subject: str | None, actor: str, contact: dict[str, Any],
                           profile: dict[str, Any]) -> Enquiry:
    """An inbound enquiry, registered as a customer of the agent who owns the caller's territory."""
    owner = await access.active_agent(session, owner_agent_id, field="territory")
    await access.require(session, scope, agent_id=owner_agent_id, institution_id=owner.institution_id,
                         what="territory", object_id=territory, field="territory")
    customer, _ = await register(session, owner_agent_id=owner_agent_id, actor=actor, source="enquiry",
                                 client_id=None, contact=contact, profile={**profile, "territory": territory})
    enquiry = Enquiry(territory=territory, institution_id=owner.institution_id, customer_id=customer.id,
                      assigned_agent_id=owner_agent_id, subject=subject, registered_by=actor)
    session.add(enquiry)
    await session.flush()
    return enquiry


def owner_left_condition() -> Any:
    a = DIRECTORY.agents
    return select(a.c.agent_id).where(a.c.agent_id == Customer.owner_agent_id, a.c.status == "left").exists()
