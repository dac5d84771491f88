"""`/api/v1/partner/bank/…`: the partner bank's signed calls, forwarded to the ledger's `/v1/bank/…`."""

from __future__ import annotations

import logging
import math
import time

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from gateway_service import partner_api, partner_auth
from gateway_service.proxy import PROXY_METHODS, send_to_service, upstream_raw_path
from gateway_service.ratelimit import RateLimited
from gateway_service.spool import SpooledBody
from gateway_service.state import gateway_of
from svckit.errors import problem_response
from svckit.kit import kit_of

log = logging.getLogger("gateway.partner")


async def partner_bank_call(path: str, request: Request) -> Response:
    """Check the partner's signature, then forward the call to the ledger's bank API as that partner."""
    state, kit = gateway_of(request), kit_of(request)
    settings = state.settings
    signed = partner_auth.signed_headers(request)
    partner_auth.check_window(signed, now=time.time(), window=settings.partner_timestamp_window)
    partner = await partner_auth.credential(kit.db, state.secret_box, signed.key_id)
    # Counted before the body is read: a partner over its rate does not get to upload first.
    retry_after = state.partner_limits.take(partner.code)
    if retry_after is not None:
        raise RateLimited(f"partner {partner.code!r} is over its request rate; retry later",
                          retry_after=retry_after, partner=partner.code)
    raw_path = upstream_raw_path(f"{partner_api.UPSTREAM_PREFIX.lstrip('/')}/{path}",
                                 request.scope.get("query_string", b""))
    body = SpooledBody(settings.partner_spool_memory_bytes)
    try:
        await body.receive(request.stream())  # hashed as it arrives; over the partner limit is a 413
        partner_auth.check_signature(request, signed, partner, body.sha256_hex)
        await partner_auth.claim_nonce(kit.db, partner, signed, window=settings.partner_timestamp_window)
        log.info("partner %s verified with key %s", partner.code, partner.key_id, extra={
            "partner": partner.code, "partner_key": partner.key_id, "body_bytes": body.size})
        return await send_to_service(
            request, upstreams=state.upstreams, service=partner_api.SERVICE, raw_path=raw_path,
            token=partner_auth.internal_token(kit.internal_secret, partner),
            content=body if body.size else None, content_length=body.size if body.size else None,
            total_timeout=settings.partner_upstream_timeout,
            paths=(partner_api.UPSTREAM_PREFIX, partner_api.PUBLIC_PREFIX),
        )
    finally:
        body.close()


def partner_router() -> APIRouter:
    """The partner prefix: no user token is looked at here, only the partner's signature.

    Hidden from the gateway's own schema: the merged document lists the ledger's bank paths here instead."""
    router = APIRouter()
    router.add_api_route(f"{partner_api.PUBLIC_PREFIX}/{{path:path}}", partner_bank_call, methods=PROXY_METHODS,
                         include_in_schema=False, name="partner_bank")
    return router


async def _partner_unauthorized(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, partner_auth.PartnerUnauthorized)
    return problem_response(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
                            instance=request.url.path, headers={"WWW-Authenticate": partner_auth.WWW_AUTHENTICATE},
                            **exc.extra)


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return problem_response(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
                            instance=request.url.path, headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
                            **exc.extra)


def install_partner_error_handlers(app: FastAPI) -> None:
    """More specific than svckit's DomainError handler: the partner scheme's challenge, and Retry-After."""
    app.add_exception_handler(partner_auth.PartnerUnauthorized, _partner_unauthorized)
    app.add_exception_handler(RateLimited, _rate_limited)
