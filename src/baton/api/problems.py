"""RFC 9457 problem details: every error the API returns is ``application/problem+json``.

Each error class has a stable ``type`` URI (``urn:baton:problem:<slug>``) that clients can
switch on; ``title`` is fixed per type, ``detail`` is the one-line message for this
occurrence, ``instance`` the request path. Baton's own errors are mapped by class (the
most specific match wins); anything unexpected is a 500 whose detail names no internals.

Exception tree::

    Exception
    └── Problem                 an HTTP error with a problem type, raised by the API layer
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from baton.agents.base import AgentUnavailable
from baton.config.errors import ConfigError
from baton.engine.errors import (
    AmbiguousExecutionId,
    ConfigNotApplied,
    ExecutionNotFound,
    ExecutionNotResumable,
    TemplateRenderError,
    WorkflowNotFound,
    WorkspaceError,
)
from baton.engine.graph_errors import NotWaiting
from baton.errors import BatonError
from baton.models.errors import IllegalTransition, ParameterError
from baton.store.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    StoreUnavailable,
)
from baton.workers.submissions import IdempotencyContended

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:baton:problem:"

log = logging.getLogger("baton.api")


def problem_type(slug: str) -> str:
    return TYPE_PREFIX + slug


class Problem(Exception):
    """An HTTP error with a problem type; raised anywhere in the API layer."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


# (error class, HTTP status, slug, title); checked most specific first by MRO distance.
ERROR_MAP: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (WorkflowNotFound, 404, "workflow-not-found", "Workflow not found"),
    (ExecutionNotFound, 404, "execution-not-found", "Execution not found"),
    (AmbiguousExecutionId, 409, "ambiguous-execution-id", "Execution id prefix is ambiguous"),
    (ConfigNotApplied, 409, "config-not-applied", "Configuration edited but not applied"),
    (NotFound, 404, "not-found", "Not found"),
    (ParameterError, 422, "invalid-parameters", "Invalid workflow parameters"),
    (ConfigError, 422, "invalid-configuration", "Invalid configuration"),
    (WorkspaceError, 422, "invalid-workspace", "Invalid workspace"),
    (TemplateRenderError, 422, "template-error", "Template error"),
    (InvalidArgument, 422, "invalid-argument", "Invalid argument"),
    (IllegalTransition, 409, "illegal-transition", "Illegal status transition"),
    (ExecutionNotResumable, 409, "not-resumable", "Execution cannot be resumed"),
    (NotWaiting, 409, "not-waiting", "Nothing waits for approval"),
    (AlreadyExists, 409, "already-exists", "Already exists"),
    (IdempotencyContended, 409, "idempotency-key-busy", "Idempotency key busy"),
    (AgentUnavailable, 503, "agent-unavailable", "Agent unavailable"),
    (StoreUnavailable, 503, "database-unavailable", "Database unavailable"),
    (BatonError, 400, "baton-error", "Request failed"),
)


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, slug, title) of a Baton error: the closest mapped class in its MRO."""
    mro = type(exc).__mro__
    best: tuple[int, int, str, str] | None = None
    for cls, status, slug, title in ERROR_MAP:
        if isinstance(exc, cls):
            distance = mro.index(cls)
            if best is None or distance < best[0]:
                best = (distance, status, slug, title)
    if best is None:
        return 500, "internal-error", "Internal server error"
    return best[1], best[2], best[3]


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if extensions:
        body.update({k: v for k, v in extensions.items() if k not in body})
    return Response(
        json.dumps(body, default=str, ensure_ascii=False).encode("utf-8", "replace"),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _on_baton_error(request: Request, exc: Exception) -> Response:
    status, slug, title = classify(exc)
    return problem_response(status, slug, title, _one_line(str(exc)), instance=request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"location": "body", "message": "invalid request"}
    detail = f"{first['location']}: {first['message']}"
    return problem_response(
        422,
        "validation-error",
        "Invalid request",
        detail,
        instance=request.url.path,
        extensions={"errors": errors},
    )


_HTTP_SLUGS = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    400: ("bad-request", "Bad request"),
}


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}; see /api/v1/openapi.json"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(
        exc.status_code, slug, title, detail, instance=request.url.path, headers=headers
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this path (routes are one per method)."""
    found: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(request.url.path):
            found |= set(route.methods or ())
    return sorted(found)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error(
        "unhandled error on %s %s: %s",
        request.method,
        request.url.path,
        _one_line(f"{type(exc).__name__}: {exc}"),
    )
    return problem_response(
        500,
        "internal-error",
        "Internal server error",
        "the server failed to handle this request; see its log",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem+json."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(BatonError, _on_baton_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
