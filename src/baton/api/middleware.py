"""One ASGI middleware for what every request shares: a request id, the body size limit,
metrics, and the audit row of write requests.

It is plain ASGI (not ``BaseHTTPMiddleware``) so that it adds no task per request and
never buffers streamed responses such as Server-Sent Events.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.api.problems import Problem, problem_response

if TYPE_CHECKING:
    from baton.api.service import ApiService

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(Problem):
    """The request body is over ``api.max_body_bytes``."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "payload-too-large",
            "Request body too large",
            f"the request body is over the limit of {limit} bytes (api.max_body_bytes)",
        )


class ServiceMiddleware:
    """Request id, body size limit, metrics and audit for every HTTP request."""

    def __init__(self, app: ASGIApp, service: ApiService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        request_id = request_id[:64]
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        limit = self.service.configuration.api.max_body_bytes
        status_holder = [500]
        metrics = self.service.metrics
        audited = [method in _READS]

        def audit(status: int) -> None:
            if not audited[0]:
                audited[0] = True
                self._audit(scope, state, method, status, request_id)

        too_large = [False]

        async def send_wrapper(message: Message) -> None:
            if too_large[0]:  # the framework answered "cannot parse the body": say why instead
                if message["type"] != "http.response.start":
                    return
                problem = _too_large(limit, scope)
                message = {"type": "http.response.start", "status": 413, "headers": problem.raw_headers}
                await send_wrapper_inner(message)
                await send({"type": "http.response.body", "body": problem.body})
                return
            await send_wrapper_inner(message)

        async def send_wrapper_inner(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                audit(message["status"])  # queued before the client can see the response
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
                route = _route(scope)
                metrics.requests.labels(method, route, str(message["status"])).inc()
                metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            await send(message)

        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(limit, scope)(scope, receive, send_wrapper)
            return

        received = [0]

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > limit:
                    too_large[0] = True
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            audit(status_holder[0])  # no response started: the error middleware answers 500

    def _audit(self, scope: Scope, state: dict[str, Any], method: str, status: int, request_id: str) -> None:
        principal = state.get("principal")
        if principal is None:  # unauthenticated writes are counted in metrics, not audited
            return
        client = scope.get("client")
        self.service.audit.record(
            actor=principal.name,
            role=principal.role,
            method=method,
            path=scope.get("path", ""),
            status_code=status,
            target=state.get("audit_target"),
            request_id=request_id,
            client=client[0] if client else None,
            detail=dict(state.get("audit_detail") or {}),
        )


def _too_large(limit: int, scope: Scope) -> Response:
    return problem_response(
        413,
        "payload-too-large",
        "Request body too large",
        f"the request body is over the limit of {limit} bytes (api.max_body_bytes)",
        instance=scope.get("path"),
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
