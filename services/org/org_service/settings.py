"""Settings of the org service, read from ORG_* environment variables."""

from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class OrgSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORG_", extra="ignore", frozen=True)

    port: int = 8001
