"""Settings of the ledger service, read from LEDGER_* environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    port: int = 8004
    org_url: str | None = Field(default=None, description="Internal URL of org, whose change feed keeps the "
                                "ledger's copy of the organisation (data scope); none: no copy is kept")
    org_poll_seconds: float = Field(default=1.0, gt=0, description="Pause between polls when org has nothing new")
