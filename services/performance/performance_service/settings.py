"""Settings of the performance service, read from PERFORMANCE_* environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class PerformanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PERFORMANCE_", extra="ignore", frozen=True)

    port: int = 8002
    org_url: str | None = Field(default=None, description="Internal URL of org: its change feed keeps the copy of "
                                "the organisation (data scope, peer-level teams); settlement reads its snapshot")
    ledger_url: str | None = Field(default=None, description="Internal URL of the ledger: facts come from its "
                                   "change feed; settlement reads outstanding premium and posts payables there")
    activity_url: str | None = Field(default=None, description="Internal URL of activity: agents' days in "
                                     "numbers (the activity counts of KPI) come from its change feed")
    poll_seconds: float = Field(default=1.0, gt=0, description="Pause between polls when a feed has nothing new")
    # 10,000 rather than the ledger's limit: a month's chunks then keep both ledger workers busy to the
    # end (100,000 payables: 10.1 s against 11.6 s end to end in the benchmark).
    payables_chunk: int = Field(default=10_000, ge=1, le=20_000, description="Payable lines per request to the "
                                "ledger (its limit is 20,000)")
    payables_concurrency: int = Field(default=2, ge=1, le=16, description="Chunks of payables posted to the "
                                      "ledger at once (its workers take them in parallel)")
    settlement_timeout_s: float = Field(default=600, gt=0, description="Time allowed to org and the ledger for a "
                                        "settlement's snapshot, outstanding premium and payables")
    settlement_work_mem_mb: int = Field(default=256, gt=0, description="PostgreSQL work_mem while a run "
                                        "aggregates the month's facts")
