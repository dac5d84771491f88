"""The one place a request's transaction commits: a route class that owns the session.

The session opens before the endpoint runs and commits *before* the response is returned,
so a client never sees success for work that did not commit. Any exception rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from svckit.internal_auth import require_caller
from svckit.kit import kit_of
from svckit.problems import service_problem_responses, with_problem_models
from svckit.storable import refuse_unstorable_values


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], *,
                 responses: dict[int | str, dict[str, Any]] | None = None, **kwargs: Any) -> None:
        # The router's central declarations are replaced whole by a route's own entry for the same
        # status; an entry naming no schema still documents the problem we send.
        super().__init__(path, endpoint, responses=with_problem_models(responses), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            async with kit_of(request).db.sessionmaker() as session:
                request.state.session = session
                try:
                    response = await handler(request)
                    claim = getattr(request.state, "idempotency_claim", None)
                    if claim is not None:
                        await claim.record(session, response)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
                return response

        return run_in_transaction


async def get_session(request: Request) -> AsyncSession:
    # async although it awaits nothing: FastAPI runs a plain `def` dependency in its thread pool,
    # a thread hand-off on every request.
    session = getattr(request.state, "session", None)
    if not isinstance(session, AsyncSession):
        raise RuntimeError("SessionDep used on a route that is not a TransactionalRoute")
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def service_router(**kwargs: Any) -> APIRouter:
    """A router for a service's API: transactional, and unreachable without a valid internal token."""
    # After authentication, before the endpoint's own dependencies and any query: a value the
    # database cannot store is the caller's 422, not our 500.
    dependencies = [Depends(require_caller), Depends(refuse_unstorable_values), *kwargs.pop("dependencies", [])]
    # Every route declares what any route may answer; a router's or route's own entries take precedence.
    responses = {**service_problem_responses(), **kwargs.pop("responses", {})}
    return APIRouter(route_class=TransactionalRoute, dependencies=dependencies, responses=responses, **kwargs)
