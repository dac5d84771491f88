"""Settings of the activity service, read from ACTIVITY_* environment variables."""

from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class ActivitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", extra="ignore", frozen=True)

    port: int = 8003
