"""What the running gateway keeps on `app.state.gateway` besides the svckit `ServiceKit`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from gateway_service.openapi import OpenAPICache
from gateway_service.principals import PrincipalCache
from gateway_service.ratelimit import TokenBuckets
from gateway_service.scopes import ScopeCache
from gateway_service.secretbox import SecretBox
from gateway_service.sessions import TokenPolicy
from gateway_service.settings import GatewaySettings
from gateway_service.tokens import VerifiedTokens
from gateway_service.upstreams import Upstreams


@dataclass
class GatewayState:
    settings: GatewaySettings
    policy: TokenPolicy
    upstreams: Upstreams
    openapi: OpenAPICache
    scopes: ScopeCache
    secret_box: SecretBox  # opens the partners' signing secrets
    partner_limits: TokenBuckets  # per partner code
    login_failures: TokenBuckets  # per username: each failed login spends a token
    principals: PrincipalCache  # who a session is, while the database announces no change
    verified: VerifiedTokens  # access tokens whose signature was checked


def gateway_of(request: Request) -> GatewayState:
    state = request.app.state.gateway
    assert isinstance(state, GatewayState)
    return state
