"""The routes of ``/api/v1``: executions, their logs and events, workflows, agents, audit.

Each route names the least role it needs (``require("viewer" | "operator" | "admin")``);
write routes also say what they acted on, for the audit row.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from baton.api.auth import Principal, require
from baton.api.problems import Problem
from baton.api.schemas import (
    AgentCheck,
    AgentInfo,
    ApproveRequest,
    AuditEntryOut,
    ExecutionAccepted,
    ExecutionCreate,
    ExecutionDetail,
    ExecutionState,
    ExecutionSummary,
    LogEntry,
    Page,
    WorkflowDetail,
    WorkflowSummary,
)
from baton.api.service import ApiService
from baton.api.sse import execution_events
from baton.config.errors import AgentNotFound
from baton.engine.errors import ExecutionNotFound
from baton.engine.visualize import mermaid
from baton.models import ExecutionStatus, LogLevel, Workflow

router = APIRouter()

Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
ExecutionId = Annotated[str, Path(min_length=1, max_length=128)]

# Cursors, sequence numbers and ids are stored as signed 64-bit integers.
MAX_INT64 = 2**63 - 1
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The request body cannot be parsed", **_PROBLEM},
    401: {"description": "No or unknown token", **_PROBLEM},
    403: {"description": "The token's role is too small", **_PROBLEM},
    404: {"description": "No such execution, workflow or agent", **_PROBLEM},
    409: {"description": "The request conflicts with the resource's state", **_PROBLEM},
    413: {"description": "The request body is too large", **_PROBLEM},
    422: {"description": "The request is not valid (problem details list the errors)", **_PROBLEM},
    429: {"description": "Over the token's rate limit", **_PROBLEM},
}


def _service(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


def _audit(request: Request, target: str | None, **detail: object) -> None:
    request.state.audit_target = target
    request.state.audit_detail = detail


# -- executions --------------------------------------------------------------------------------
@router.post(
    "/executions",
    status_code=202,
    response_model=ExecutionAccepted,
    responses=ERRORS,
    summary="Start a workflow (returns at once; a worker runs it)",
)
async def create_execution(
    body: ExecutionCreate,
    request: Request,
    response: Response,
    principal: Operator,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> ExecutionAccepted:
    _audit(
        request, None, workflow_id=body.workflow_id, idempotency_key=body.idempotency_key or idempotency_key
    )
    # the hot route: one plain executor hop (a sync route goes through anyio's, twice the CPU)
    accepted = await _service(request).submit_async(principal, body, idempotency_key)
    _audit(
        request,
        accepted.execution_id,
        workflow_id=body.workflow_id,
        idempotency_key=body.idempotency_key or idempotency_key,
        replay=accepted.idempotent_replay,
    )
    response.headers["Location"] = accepted.links["self"]
    if accepted.idempotent_replay:
        response.headers["Idempotent-Replayed"] = "true"
    return accepted


@router.get(
    "/executions",
    response_model=Page[ExecutionSummary],
    responses=ERRORS,
    summary="List executions, newest first",
)
def list_executions(
    request: Request,
    _: Viewer,
    status: ExecutionStatus | None = None,
    workflow_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> Page[ExecutionSummary]:
    return _service(request).list(status=status, workflow_id=workflow_id, limit=limit, cursor=cursor)


@router.get(
    "/executions/{execution_id}",
    response_model=ExecutionDetail,
    responses=ERRORS,
    summary="An execution: status, progress, current steps, results, usage, cost, error",
)
def get_execution(execution_id: ExecutionId, request: Request, _: Viewer) -> ExecutionDetail:
    return _service(request).detail(execution_id)


@router.post(
    "/executions/{execution_id}/cancel",
    response_model=ExecutionState,
    responses=ERRORS,
    summary="Cancel an execution (a running one stops within a second)",
)
def cancel_execution(execution_id: ExecutionId, request: Request, principal: Operator) -> ExecutionState:
    _audit(request, execution_id)
    return _service(request).cancel(principal, execution_id)


@router.post(
    "/executions/{execution_id}/approve",
    response_model=ExecutionState,
    status_code=202,
    responses=ERRORS,
    summary="Approve (or reject) a step waiting for a human",
)
def approve_execution(
    execution_id: ExecutionId, body: ApproveRequest, request: Request, principal: Operator
) -> ExecutionState:
    _audit(request, execution_id, step=body.step, approved=body.approved)
    return _service(request).approve(
        principal, execution_id, step=body.step, approved=body.approved, reason=body.reason
    )


@router.get(
    "/executions/{execution_id}/logs",
    response_model=Page[LogEntry],
    responses=ERRORS,
    summary="An execution's log rows (cursor: the seq to continue after)",
)
def get_logs(
    execution_id: ExecutionId,
    request: Request,
    _: Viewer,
    level: LogLevel | None = None,
    step: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_INT64)] = None,
) -> Page[LogEntry]:
    return _service(request).logs(execution_id, level=level, step=step, limit=limit, cursor=cursor)


@router.get(
    "/executions/{execution_id}/events",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "The event stream"}},
    summary="Server-Sent Events of an execution (resumable with Last-Event-ID)",
)
async def get_events(
    execution_id: ExecutionId,
    request: Request,
    _: Viewer,
    last_event_id: Annotated[
        str, Header(alias="Last-Event-ID", pattern=r"^\s*([0-9]{1,18})?\s*$",
                    description="The id (seq) of the last event received")
    ] = "",
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_INT64, description="Like Last-Event-ID, for clients that cannot set headers"),
    ] = None,
) -> StreamingResponse:
    service = _service(request)
    start = after
    if last_event_id.strip():
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_INT64:
            raise Problem(
                422,
                "validation-error",
                "Invalid request",
                f"Last-Event-ID must be the id (seq) of an event of this stream: an integer "
                f"from 0 to {MAX_INT64}",
            )
        start = int(last_event_id.strip())
    if await asyncio.to_thread(service.store.get_execution, execution_id) is None:
        raise ExecutionNotFound(execution_id)
    return StreamingResponse(
        execution_events(service, execution_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- workflows -------------------------------------------------------------------------------------
def _summary(wf: Workflow) -> dict[str, object]:
    return {
        "id": wf.id,
        "name": wf.name,
        "type": wf.type.value,
        "description": wf.description,
        "steps": len(wf.steps),
        "parameters": {k: v.model_dump(mode="json", exclude_none=True) for k, v in wf.parameters.items()},
    }


@router.get(
    "/workflows",
    response_model=list[WorkflowSummary],
    responses=ERRORS,
    summary="The workflows this server can run",
)
def list_workflows(request: Request, _: Viewer) -> list[WorkflowSummary]:
    baton = _service(request).baton
    return [WorkflowSummary.model_validate(_summary(baton.workflow(w))) for w in baton.workflow_ids()]


@router.get(
    "/workflows/{workflow_id}",
    response_model=WorkflowDetail,
    responses=ERRORS,
    summary="One workflow's definition and its Mermaid drawing",
)
def get_workflow(
    workflow_id: Annotated[str, Path(max_length=128)], request: Request, _: Viewer
) -> WorkflowDetail:
    service = _service(request)
    wf = service.baton.workflow(workflow_id)
    return WorkflowDetail.model_validate(
        {
            **_summary(wf),
            "definition": wf.model_dump(mode="json", exclude={"created_at", "updated_at"}),
            "mermaid": mermaid(wf, root=service.root),
        }
    )


# -- agents ------------------------------------------------------------------------------------------
@router.get(
    "/agents",
    response_model=list[AgentInfo],
    responses=ERRORS,
    summary="Configured agents with their status and last health check",
)
def list_agents(request: Request, _: Viewer) -> list[AgentInfo]:
    service = _service(request)
    stored = {a.id: a for a in service.store.list_agents()}
    out = []
    for agent_id, agent in sorted(service.baton.agents.items()):
        known = stored.get(agent_id)
        reason = service.agent_unavailable(agent)
        out.append(
            AgentInfo(
                id=agent_id,
                name=agent.name,
                provider=agent.provider,
                model=agent.model,
                interface=agent.interface.value,
                capabilities=list(agent.capabilities),
                status=(known.status.value if known else "unregistered"),
                last_health_check=known.last_health_check if known else None,
                available=reason is None,
                unavailable_reason=reason,
            )
        )
    return out


@router.post(
    "/agents/{agent_id}/check",
    response_model=AgentCheck,
    responses=ERRORS,
    summary="Run an agent's health check and record its status (admin)",
)
async def check_agent(
    agent_id: Annotated[str, Path(max_length=128)], request: Request, _: Admin, live: bool = False
) -> AgentCheck:
    service = _service(request)
    _audit(request, agent_id, live=live)
    if agent_id not in service.baton.agents:
        raise Problem(
            404,
            "agent-not-found",
            "Agent not found",
            str(AgentNotFound(agent_id, sorted(service.baton.agents))),
        )
    result = await service.registry.check(agent_id, live=live)
    return AgentCheck(
        agent_id=result.agent_id,
        ok=result.ok,
        detail=result.detail,
        version=result.version,
        status=result.status.value,
        checked_at=result.checked_at,
    )


# -- audit -------------------------------------------------------------------------------------------
@router.get(
    "/audit",
    response_model=Page[AuditEntryOut],
    responses=ERRORS,
    summary="The audit trail of write requests, newest first (admin)",
)
def list_audit(
    request: Request,
    _: Admin,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
) -> Page[AuditEntryOut]:
    rows = _service(request).audit.recent(limit=limit + 1, before=cursor, actor=actor)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows]
    return Page[AuditEntryOut](items=items, next_cursor=str(rows[-1].id) if more and rows else None)


# -- export ------------------------------------------------------------------------------------------
def _not_a_number(value: Any) -> Any:
    """A date in a query is ISO 8601 text; pydantic would also take ``0.5`` as a Unix time."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 date or date-time, not a number")
    return value


@router.get(
    "/export",
    responses=ERRORS,
    summary="Executions, configuration versions and their audit trail as a `baton export` document (admin)",
)
def export_store(
    request: Request,
    _: Admin,
    execution_id: Annotated[list[str] | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(), BeforeValidator(_not_a_number)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The same document ``baton export`` writes (``baton import`` reads it): the executions named
    by ``execution_id`` (ids or unique prefixes), else the newest ``limit`` started since ``since``."""
    return _service(request).export(execution_id or [], since=since, limit=limit)
