"""Settings of the ledger service, read from LEDGER_* environment variables."""

from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    port: int = 8004
