"""Settings of the gateway, read from GATEWAY_* environment variables (and INTERNAL_TOKEN_SECRET)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings, refuse_weak_secret


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    port: int = 8000
    jwt_secret: SecretStr = Field(description="Key that signs the access tokens given to people (GATEWAY_JWT_SECRET)")
    access_token_ttl: timedelta = Field(default=timedelta(minutes=15), description="Access token lifetime (seconds)")
    refresh_token_ttl: timedelta = Field(default=timedelta(days=30), description="Refresh token lifetime (seconds)")

    org_url: str = Field(default="http://127.0.0.1:8001", description="Internal base URL of the org service")
    performance_url: str = Field(default="http://127.0.0.1:8002", description="Internal URL of performance")
    activity_url: str = Field(default="http://127.0.0.1:8003", description="Internal URL of activity")
    ledger_url: str = Field(default="http://127.0.0.1:8004", description="Internal URL of ledger")
    upstream_connect_timeout: float = Field(default=2.0, gt=0, description="Seconds to open a connection")
    upstream_timeout: float = Field(default=30.0, gt=0, description="Seconds for a whole upstream call")
    upstream_max_connections: int = Field(default=100, ge=1, description="Pool size per upstream service")
    upstream_transport: Literal["httpx", "aiohttp"] = Field(
        default="aiohttp", description="What carries httpx's calls to the services: its own connection pool, or "
        "aiohttp's (httpx-aiohttp), whose pool stays fast at high concurrency (see the README's benchmarks)")
    # Health and the merged OpenAPI document must answer quickly even when a service hangs.
    probe_timeout: float = Field(default=2.0, gt=0, description="Seconds for /readyz and /openapi.json probes")
    openapi_cache_seconds: float = Field(default=30.0, ge=0, description="How long the merged document is reused")
    scope_cache_seconds: float = Field(default=30.0, ge=0, description="How long a user's data scope is reused")
    principal_cache_seconds: float = Field(
        default=300.0, ge=0, description="Longest a login session and its user, once read, are answered from memory "
        "(every change to either is announced by the database and drops them at once; 0 reads every call)")
    home_part_timeout: float = Field(default=3.0, gt=0, description="Seconds each part of a mobile home page "
                                     "(/api/v1/home/...) may take before it is answered as unavailable")

    partner_master_key: SecretStr = Field(
        description="Key that encrypts the partner bank's signing secrets at rest (GATEWAY_PARTNER_MASTER_KEY)",
    )
    partner_timestamp_window: int = Field(
        default=300, ge=1, le=3600, description="Seconds a partner request's timestamp may differ from our clock",
    )
    partner_max_body_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1, description="Body limit on /api/v1/partner/ (reconciliation files)",
    )
    partner_spool_memory_bytes: int = Field(
        default=1024 * 1024, ge=0, description="How much of a partner body is kept in memory before it goes to disk",
    )
    partner_rate_per_second: float = Field(default=50.0, gt=0, description="Requests per second per partner")
    partner_rate_burst: int = Field(default=100, ge=1, description="Requests a partner may send at once")
    partner_upstream_timeout: float = Field(
        default=300.0, gt=0, description="Seconds for a whole forwarded partner call (large files take time)",
    )
    partner_nonce_purge_seconds: float = Field(
        default=60.0, gt=0, description="How often nonces older than the timestamp window are deleted",
    )

    # Password guessing: each failed login spends a token of its username's bucket; with none left,
    # every login of that username is 429 until one is back (a right password included).
    login_failure_rate_per_second: float = Field(
        default=0.1, gt=0, description="Failed logins a username earns back per second (one per 10 s)")
    login_failure_burst: int = Field(default=10, ge=1, description="Failed logins a username may have at once")

    admin_username: str = Field(default="admin", description="Username of the first administrator (bootstrap)")
    admin_password: SecretStr | None = Field(
        default=None, description="Password of the first administrator; generated and printed once when unset",
    )

    @field_validator("jwt_secret")
    @classmethod
    def _strong_jwt_secret(cls, value: SecretStr) -> SecretStr:
        return refuse_weak_secret(value, "GATEWAY_JWT_SECRET")

    @field_validator("partner_master_key")
    @classmethod
    def _strong_partner_master_key(cls, value: SecretStr) -> SecretStr:
        return refuse_weak_secret(value, "GATEWAY_PARTNER_MASTER_KEY")

    @field_validator("access_token_ttl", "refresh_token_ttl", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        # Operators write GATEWAY_ACCESS_TOKEN_TTL=900; ISO 8601 durations (PT15M) still work.
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @field_validator("org_url", "performance_url", "activity_url", "ledger_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _separate_keys(self) -> GatewaySettings:
        # One leaked key must not give both powers: minting user tokens and minting internal tokens.
        if self.jwt_secret.get_secret_value() == self.internal_token_secret.get_secret_value():
            raise ValueError("GATEWAY_JWT_SECRET must differ from INTERNAL_TOKEN_SECRET")
        master = self.partner_master_key.get_secret_value()
        if master in (self.jwt_secret.get_secret_value(), self.internal_token_secret.get_secret_value()):
            raise ValueError("GATEWAY_PARTNER_MASTER_KEY must differ from GATEWAY_JWT_SECRET and INTERNAL_TOKEN_SECRET")
        return self

    def upstream_urls(self) -> dict[str, str]:
        """The services reachable under /api/v1/<name>/, by name."""
        return {
            "org": self.org_url, "performance": self.performance_url,
            "activity": self.activity_url, "ledger": self.ledger_url,
        }
