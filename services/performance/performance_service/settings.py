"""Settings of the performance service, read from PERFORMANCE_* environment variables."""

from pydantic_settings import SettingsConfigDict

from svckit.settings import ServiceSettings


class PerformanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PERFORMANCE_", extra="ignore", frozen=True)

    port: int = 8002
