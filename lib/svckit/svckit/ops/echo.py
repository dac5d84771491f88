"""A bare FastAPI echo endpoint, the baseline the benchmarks compare a service's request path with:
the same framework, server and JSON body, and nothing else (no database, no auth, no middleware).
Run: uvicorn svckit.ops.echo:create_app --factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo", status_code=201)
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    return app
