"""Settings every service shares; each service subclasses with its own env prefix (ORG_, LEDGER_, …)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_WEAK = {"changeme", "secret", "password", "dev", "test"}


def refuse_weak_secret(value: SecretStr, name: str) -> SecretStr:
    raw = value.get_secret_value()
    if len(raw) < 32 or raw.lower() in _WEAK or len(set(raw)) < 8:
        raise ValueError(f"{name} must be a random string of at least 32 characters")
    return value


class ServiceSettings(BaseSettings):
    """Common settings. The DSN is per service so each can live on its own PostgreSQL server."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(description="This service's own DSN (its own role); postgresql:// or +asyncpg")
    internal_token_secret: SecretStr = Field(
        validation_alias="INTERNAL_TOKEN_SECRET",
        description="Key that signs and verifies internal tokens; the same for the gateway and every service",
    )
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias="METRICS_TOKEN",
        description="Bearer credential internal scrapers send to GET /metrics (Prometheus' credentials_file)",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout_ms: int = 30_000
    log_level: str = "INFO"
    max_body_bytes: int = 10 * 1024 * 1024

    @field_validator("internal_token_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        return refuse_weak_secret(value, "INTERNAL_TOKEN_SECRET")

    @field_validator("metrics_token")
    @classmethod
    def _strong_metrics_token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        # A scraper's credential must not also be the key that mints internal tokens.
        internal = info.data.get("internal_token_secret")
        if isinstance(internal, SecretStr) and internal.get_secret_value() == value.get_secret_value():
            raise ValueError("METRICS_TOKEN must differ from INTERNAL_TOKEN_SECRET")
        return refuse_weak_secret(value, "METRICS_TOKEN")
