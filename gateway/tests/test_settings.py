"""Settings refuse weak or shared signing keys and read the documented environment variables."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from gateway_service.settings import GatewaySettings


def settings(**values: Any) -> GatewaySettings:
    defaults: dict[str, Any] = {
        "database_url": "postgresql://g@db/x", "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(40),
        "jwt_secret": secrets.token_urlsafe(40), "partner_master_key": secrets.token_urlsafe(40),
    }
    return GatewaySettings(**{**defaults, **values})


def test_settings_come_from_the_documented_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    jwt_secret, internal, master = secrets.token_urlsafe(40), secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    for name, value in {"GATEWAY_DATABASE_URL": "postgresql://g@db/x", "INTERNAL_TOKEN_SECRET": internal,
                        "GATEWAY_JWT_SECRET": jwt_secret, "GATEWAY_LEDGER_URL": "http://ledger.internal:80/",
                        "GATEWAY_ACCESS_TOKEN_TTL": "600", "GATEWAY_ADMIN_PASSWORD": "from the environment",
                        "GATEWAY_PARTNER_MASTER_KEY": master, "GATEWAY_PARTNER_TIMESTAMP_WINDOW": "120",
                        "GATEWAY_PARTNER_MAX_BODY_BYTES": "1000000"}.items():
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
    assert settings.partner_master_key.get_secret_value() == master
    assert (settings.partner_timestamp_window, settings.partner_max_body_bytes) == (120, 1_000_000)


def test_partner_defaults() -> None:
    defaults = settings()
    assert defaults.partner_timestamp_window == 300
    assert defaults.partner_max_body_bytes == 256 * 1024 * 1024
    assert defaults.max_body_bytes == 10 * 1024 * 1024  # everything else keeps the smaller limit


@pytest.mark.parametrize("jwt_secret", ["changeme", "short-but-random-7Hq", "a" * 40])
def test_a_weak_jwt_secret_is_refused(jwt_secret: str) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_JWT_SECRET"):
        settings(jwt_secret=jwt_secret)


@pytest.mark.parametrize("master_key", ["changeme", "short-but-random-7Hq", "a" * 40, ""])
def test_a_weak_partner_master_key_is_refused(master_key: str) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_PARTNER_MASTER_KEY"):
        settings(partner_master_key=master_key)


def test_a_missing_partner_master_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_PARTNER_MASTER_KEY", raising=False)
    with pytest.raises(ValidationError, match="partner_master_key"):
        GatewaySettings(database_url="postgresql://g@db/x", INTERNAL_TOKEN_SECRET=secrets.token_urlsafe(40),
                        jwt_secret=secrets.token_urlsafe(40))


def test_the_jwt_secret_must_differ_from_the_internal_secret() -> None:
    shared = secrets.token_urlsafe(40)
    with pytest.raises(ValidationError, match="must differ"):
        settings(INTERNAL_TOKEN_SECRET=shared, jwt_secret=shared)


@pytest.mark.parametrize("other", ["INTERNAL_TOKEN_SECRET", "jwt_secret"])
def test_the_partner_master_key_must_differ_from_the_other_keys(other: str) -> None:
    shared = secrets.token_urlsafe(40)
    with pytest.raises(ValidationError, match="GATEWAY_PARTNER_MASTER_KEY must differ"):
        settings(**{other: shared, "partner_master_key": shared})
