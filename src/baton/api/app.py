"""The FastAPI application: ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``) plus the
probes at the root: ``/healthz`` (the process answers), ``/readyz`` (database, queue and
agents usable) and ``/metrics`` (Prometheus).

The dashboard (:mod:`baton.ui`) is served at ``/``.

The probes take no token (orchestrators call them); ``/metrics`` needs a viewer token
when ``api.public_metrics`` is false.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response

from baton import __version__
from baton.api import problems
from baton.api.auth import Principal, require
from baton.api.metrics import CONTENT_TYPE
from baton.api.middleware import ServiceMiddleware
from baton.api.routes import router
from baton.api.schemas import Check, Readiness
from baton.api.service import API_PREFIX, ApiService

DESCRIPTION = """Trigger Baton workflows over HTTP and follow them.

Authenticate with `Authorization: Bearer <token>` (tokens come from `api.tokens` in
baton.yaml or `baton tokens create`). Roles: **viewer** reads, **operator** also runs,
cancels and approves, **admin** also checks agents and reads the audit trail. Errors are
RFC 9457 `application/problem+json` with a stable `type` (`urn:baton:problem:<slug>`).
"""

_METRICS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Prometheus text exposition", "content": {CONTENT_TYPE.split(";")[0]: {}}},
}


def create_app(service: ApiService) -> FastAPI:
    """The ASGI app serving ``service``."""
    app = FastAPI(
        title="Baton API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.service = service
    problems.install(app)
    app.include_router(router, prefix=API_PREFIX)
    app.add_middleware(ServiceMiddleware, service=service)

    @app.get("/healthz", include_in_schema=True, tags=["probes"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["probes"],
        summary="Readiness: database and queue reachable, agents validated",
        responses={503: {"model": Readiness}},
    )
    async def readyz() -> JSONResponse:
        checks = await asyncio.to_thread(service.readiness)
        ready = all(ok for ok, _ in checks.values())
        body = Readiness(
            status="ready" if ready else "not ready",
            checks={k: Check(ok=ok, detail=d) for k, (ok, d) in checks.items()},
        )
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    if service.configuration.api.public_metrics:

        @app.get("/metrics", tags=["probes"], summary="Prometheus metrics", responses=_METRICS)
        async def metrics() -> Response:
            return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)
    else:

        @app.get("/metrics", tags=["probes"], summary="Prometheus metrics (viewer)",
                 responses=_METRICS)
        async def metrics_private(_: Annotated[Principal, Depends(require("viewer"))]) -> Response:
            return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)

    _dashboard(app, service)
    return app


def _dashboard(app: FastAPI, service: ApiService) -> None:
    """The dashboard at ``/``, behind the API's tokens and roles (sign-in sets a session cookie)."""
    from baton.ui.actions import ServiceActions
    from baton.ui.app import install
    from baton.ui.routes import Dashboard
    from baton.ui.security import ServiceGate

    dashboard = Dashboard(
        store=service.store,
        baton=service.baton,
        root=service.root,
        actions=ServiceActions(service),
        gate=ServiceGate(service.auth),
    )
    install(app, dashboard)
