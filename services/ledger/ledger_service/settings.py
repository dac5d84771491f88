"""Settings of the ledger service, read from LEDGER_* environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    port: int = 8004
    # A bank's daily reconciliation file can hold a million lines (~100 MB). The ledger is reached only
    # through the gateway, which keeps its own, smaller limit for people's requests.
    max_body_bytes: int = 300 * 1024 * 1024
    reconciliation_timeout_s: int = Field(default=600, gt=0, description="Statement timeout while a bank's "
                                          "reconciliation file is applied (a batch job, unlike a request)")
    reconciliation_work_mem_mb: int = Field(default=256, gt=0, description="PostgreSQL work_mem while a file "
                                            "is applied (its million lines are sorted and grouped)")
    reconciliation_parts: int = Field(default=2, ge=1, le=16, description="How many transactions at once apply "
                                      "a large reconciliation file (one per core the database server can give it)")
    reconciliation_part_min_lines: int = Field(default=50_000, ge=1, description="Lines a part of a reconciliation "
                                               "file holds at least (a smaller file is applied in one transaction)")
    org_url: str | None = Field(default=None, description="Internal URL of org, whose change feed keeps the "
                                "ledger's copy of the organisation (data scope); none: no copy is kept")
    org_poll_seconds: float = Field(default=1.0, gt=0, description="Pause between polls when org has nothing new")
