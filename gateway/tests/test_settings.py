"""Settings refuse weak or shared signing keys and read the documented environment variables."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from pydantic import ValidationError

from gateway_service.settings import GatewaySettings


def test_settings_come_from_the_documented_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    jwt_secret, internal = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    for name, value in {"GATEWAY_DATABASE_URL": "postgresql://g@db/x", "INTERNAL_TOKEN_SECRET": internal,
                        "GATEWAY_JWT_SECRET": jwt_secret, "GATEWAY_LEDGER_URL": "http://ledger.internal:80/",
                        "GATEWAY_ACCESS_TOKEN_TTL": "600", "GATEWAY_ADMIN_PASSWORD": "from the environment"}.items():
        monkeypatch.setenv(name, value)
    settings = GatewaySettings()
    assert settings.database_url == "postgresql://g@db/x"
    assert settings.jwt_secret.get_secret_value() == jwt_secret
    assert settings.upstream_urls()["ledger"] == "http://ledger.internal:80"
    assert settings.upstream_urls()["org"] == "http://127.0.0.1:8001"
    assert settings.access_token_ttl == timedelta(minutes=10)
    assert settings.refresh_token_ttl == timedelta(days=30)
    assert (settings.port, settings.upstream_connect_timeout, settings.upstream_timeout) == (8000, 2.0, 30.0)
    assert settings.admin_password is not None
    assert settings.admin_username == "admin"


@pytest.mark.parametrize("jwt_secret", ["changeme", "short-but-random-7Hq", "a" * 40])
def test_a_weak_jwt_secret_is_refused(jwt_secret: str) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_JWT_SECRET"):
        GatewaySettings(database_url="postgresql://g@db/x", INTERNAL_TOKEN_SECRET=secrets.token_urlsafe(40),
                        jwt_secret=jwt_secret)


def test_the_jwt_secret_must_differ_from_the_internal_secret() -> None:
    shared = secrets.token_urlsafe(40)
    with pytest.raises(ValidationError, match="must differ"):
        GatewaySettings(database_url="postgresql://g@db/x", INTERNAL_TOKEN_SECRET=shared,
                        jwt_secret=shared)
