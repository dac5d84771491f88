"""The roles a person can hold; services authorise on these names, so they are part of the contract."""

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
