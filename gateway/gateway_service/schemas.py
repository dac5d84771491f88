"""Request and response bodies of the gateway's own endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway_service.passwords import MAX_LENGTH, MIN_LENGTH
from gateway_service.roles import Role

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginRequest(Schema):
    username: str = Field(min_length=1, max_length=64, description="Username (case does not matter)")
    # repr=False: a logged or printed request body never shows the password.
    password: str = Field(min_length=1, max_length=MAX_LENGTH, repr=False, description="The account's password")


class RefreshRequest(Schema):
    refresh_token: str = Field(min_length=1, max_length=200, repr=False, description="The refresh token last issued")


class TokenPairRead(Schema):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>` on every API call")
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`")
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Single-use token for POST /api/v1/auth/refresh; keep it secret")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires")


class UserCreate(Schema):
    username: str = Field(
        pattern=USERNAME_PATTERN, description="3-64 letters, digits, '.', '_' or '-'; stored lower-case",
    )
    password: str = Field(
        min_length=MIN_LENGTH, max_length=MAX_LENGTH, repr=False, description=f"At least {MIN_LENGTH} characters",
    )
    roles: list[Role] = Field(default_factory=list, description="Roles granted to the user")
    institution_ids: list[int] = Field(
        default_factory=list, max_length=100,
        description="Institutions a staff user works for; they see these and everything below them",
    )


class UserUpdate(Schema):
    roles: list[Role] | None = Field(default=None, description="Replaces the user's roles when given")
    active: bool | None = Field(default=None, description="false deactivates the user and ends their sessions")
    password: str | None = Field(
        default=None, min_length=MIN_LENGTH, max_length=MAX_LENGTH, repr=False,
        description="Sets a new password and ends the user's sessions",
    )
    institution_ids: list[int] | None = Field(default=None, max_length=100,
                                              description="Replaces the user's institutions when given")


class UserRead(Schema):
    id: uuid.UUID = Field(description="Stable user id; services see it as the caller's user_id")
    username: str = Field(description="Lower-case username")
    roles: list[Role] = Field(description="Roles the user holds")
    institution_ids: list[int] = Field(description="Institutions the user works for")
    active: bool = Field(description="Whether the user may log in")
    created_at: datetime = Field(description="When the account was created (UTC)")
    updated_at: datetime = Field(description="When the account last changed (UTC)")




PARTNER_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"


class PartnerCreate(Schema):
    code: str = Field(pattern=PARTNER_CODE_PATTERN, description=(
        "2-32 letters, digits, '_' or '-', stored lower-case and never changed; services see the partner's "
        "calls as user `partner:<code>`"))
    name: str = Field(min_length=1, max_length=200, description="Display name, e.g. 中国工商银行天津分行")
    kind: Literal["bank"] = Field(default="bank", description="What the partner is; only `bank` today")


class PartnerUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200, description="New display name")
    active: bool | None = Field(default=None, description="false refuses every key of the partner at once")


class PartnerKeyRead(Schema):
    key_id: str = Field(description="Sent by the partner as X-Partner-Key")
    created_at: datetime = Field(description="When the key was issued (UTC)")
    revoked_at: datetime | None = Field(description="When the key was revoked (UTC); null while it works")


class PartnerKeyIssued(PartnerKeyRead):
    secret: str = Field(description="The signing secret. Shown in this answer only: hand it to the bank now")


class PartnerRead(Schema):
    code: str = Field(description="Lower-case partner code")
    name: str = Field(description="Display name")
    kind: Literal["bank"] = Field(description="What the partner is")
    active: bool = Field(description="Whether the partner's keys are accepted")
    created_at: datetime = Field(description="When the partner was created (UTC)")
    updated_at: datetime = Field(description="When the partner last changed (UTC)")
    keys: list[PartnerKeyRead] = Field(description="Every key ever issued, oldest first; secrets are never shown")
