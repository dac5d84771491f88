"""The roles a person or a partner can hold; services authorise on these names, so they are part of the contract."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    BACK_OFFICE = "back_office"
    MARKETING_MANAGEMENT = "marketing_management"
    GM_OFFICE = "gm_office"
    FINANCE = "finance"
    COMPLIANCE = "compliance"


class MachineRole(StrEnum):
    """Roles of machines calling the partner API, never of a person: they are not `Role`s, so no
    account can be given one. Services see them in the internal token like any role."""

    PARTNER_BANK = "partner_bank"
