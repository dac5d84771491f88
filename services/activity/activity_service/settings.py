"""Settings of the activity service, read from ACTIVITY_* environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class ActivitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", extra="ignore", frozen=True)

    port: int = 8003
    org_url: str | None = Field(default=None, description="Internal URL of org: its change feed keeps the service's "
                                "copy of the organisation (data scope) and it answers who owns a territory")
    org_poll_seconds: float = Field(default=1.0, gt=0, description="Pause between polls when org has nothing new")
    performance_url: str | None = Field(default=None, description="Internal URL of performance: a team's plans are "
                                        "held to the team's target there; unset, targets are kept unchecked")
