"""The dashboard's pages: Runs, Run (graph, timeline, step panel, live log, actions),
Approvals, Workflows, Agents and Usage, plus sign-in.

Reads go to the same store as the CLI and the API; writes go through :mod:`baton.ui.actions`.
Each route names the least role it needs; every POST also needs the CSRF token.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse

from baton.api.auth import Principal
from baton.engine import Baton
from baton.engine.errors import ExecutionNotFound
from baton.errors import BatonError
from baton.models import BudgetConfig, ExecutionStatus, LogLevel, StepStatus, Workflow
from baton.store.base import ExecutionRecord
from baton.store.sql import SqlStore
from baton.ui import charts, queries
from baton.ui.actions import Actions
from baton.ui.live import run_feed
from baton.ui.render import render
from baton.ui.security import COOKIE, SESSION_SECONDS, Gate, csrf_ok
from baton.ui.views import STATUSES, build_run, build_step, quota_use

router = APIRouter(include_in_schema=False)
_LOG_ROWS = 1000


@dataclass(slots=True)
class Dashboard:
    """What the pages read and act on."""

    store: SqlStore
    baton: Baton
    root: Path
    actions: Actions
    gate: Gate

    @property
    def artifacts(self) -> Path:
        return self.baton.configuration.global_.artifacts_path(self.root)

    def budget(self, record: ExecutionRecord) -> BudgetConfig:
        merged = self.baton.configuration.global_.budget.model_dump()
        layers = (
            (record.workflow_snapshot.get("config") or {}).get("budget"),
            record.context.shared_config.get("budget"),
        )
        for layer in layers:
            if isinstance(layer, dict):
                merged.update({k: v for k, v in layer.items() if v is not None})
        return BudgetConfig.model_validate(merged)


class SignInRequired(Exception):
    """No valid session: HTML pages redirect to the sign-in page."""


class Redirect(Exception):
    """Answer with a redirect (and maybe a new session cookie)."""

    def __init__(self, url: str, cookie: str | None = None) -> None:
        self.url, self.cookie = url, cookie


class Refused(Exception):
    """An authenticated request that may not do this (role, CSRF, origin): 403."""


def _dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


Board = Annotated[Dashboard, Depends(_dashboard)]


def signed_in(role: str) -> Any:
    async def dependency(request: Request) -> Principal:
        board = _dashboard(request)
        cookie = request.cookies.get(COOKIE)
        principal = await board.gate.principal(cookie)
        token = request.query_params.get("token")
        if principal is None and token and board.gate.mode == "local" and request.method == "GET":
            signed = await board.gate.sign_in(token)
            if signed is not None:
                query = {k: v for k, v in request.query_params.items() if k != "token"}
                raise Redirect(request.url.path + (f"?{urlencode(query)}" if query else ""), signed[0])
        if principal is None:
            raise SignInRequired()
        request.state.principal = principal
        if not principal.allows(role):
            raise Refused(f"{principal.name!r} has role {principal.role!r}; this needs {role!r}")
        if request.method not in ("GET", "HEAD"):
            _check_origin(request)
            supplied = request.headers.get("x-csrf-token")
            if supplied is None and "form" in request.headers.get("content-type", ""):
                supplied = str((await request.form()).get("csrf") or "") or None
            if not csrf_ok(board.gate, cookie, supplied):
                raise Refused("missing or wrong CSRF token; reload the page and try again")
        return principal

    return dependency


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        if origin == "null":
            raise Refused("cross-site request refused")
        return
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1] != host:
        raise Refused("cross-site request refused")


Viewer = Annotated[Principal, Depends(signed_in("viewer"))]
Operator = Annotated[Principal, Depends(signed_in("operator"))]
Admin = Annotated[Principal, Depends(signed_in("admin"))]


def page(request: Request, template: str, principal: Principal | None, **context: Any) -> HTMLResponse:
    board = _dashboard(request)
    cookie = request.cookies.get(COOKIE)
    csrf = board.gate.csrf(cookie) if cookie and principal else ""
    body = render(
        template,
        request=request,
        principal=principal,
        csrf=csrf,
        can_operate=bool(principal and principal.allows("operator")),
        can_admin=bool(principal and principal.allows("admin")),
        mode=board.gate.mode,
        msg=request.query_params.get("msg"),
        **context,
    )
    return HTMLResponse(body)


def _back(url: str, msg: str) -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}msg={quote(msg)}", status_code=303)


# -- sign-in -------------------------------------------------------------------------------------
@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "signin.html", None, next=_safe_next(next), failed=False)


@router.post("/signin", response_model=None)
async def signin(request: Request, board: Board) -> Response:
    form = await request.form()
    token = str(form.get("token") or "")
    target = _safe_next(str(form.get("next") or "/"))
    signed = await board.gate.sign_in(token)
    if signed is None:
        response = page(request, "signin.html", None, next=target, failed=True)
        response.status_code = 401
        return response
    return with_cookie(RedirectResponse(target, status_code=303), signed[0], https(request))


@router.post("/signout")
async def signout(request: Request, _: Viewer) -> RedirectResponse:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def with_cookie(response: Response, value: str, secure: bool) -> Response:
    response.set_cookie(
        COOKIE, value, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="strict", secure=secure
    )
    return response


def https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _safe_next(target: str) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirect)."""
    safe = target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target
    return target if safe and not any(ord(c) < 32 for c in target) else "/"


# -- runs --------------------------------------------------------------------------------------
def _filter(
    status: str | None, workflow: str | None, since: str | None, until: str | None, q: str | None
) -> queries.RunFilter:
    def day(value: str | None) -> datetime | None:
        if not value:
            return None
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            return None

    end = day(until)
    return queries.RunFilter(
        status=ExecutionStatus(status) if status in {s.value for s in ExecutionStatus} else None,
        workflow_id=workflow or None,
        since=day(since),
        until=end + timedelta(days=1) if end else None,
        text=(q or "").strip()[:200] or None,
    )


Text = Annotated[str | None, Query(max_length=200)]


async def _listing(
    board: Board,
    status: Text = None,
    workflow: Text = None,
    since: Text = None,
    until: Text = None,
    q: Text = None,
    cursor: Text = None,
) -> dict[str, Any]:
    """One page of the runs list under the request's filters (the runs page and its rows)."""
    flt = _filter(status, workflow, since, until, q)
    result = await _runs(board, flt, cursor)
    return {"result": result, "flt": flt, "cursor": cursor, "query": urlencode(flt.query_string())}


# After the principal in a route's parameters: the role is checked before the query runs.
Listing = Annotated[dict[str, Any], Depends(_listing)]


@router.get("/", response_class=HTMLResponse)
async def runs_page(request: Request, board: Board, principal: Viewer, listing: Listing) -> HTMLResponse:
    workflows = await asyncio.to_thread(queries.workflow_ids, board.store.engine)
    return page(
        request,
        "runs.html",
        principal,
        statuses=list(ExecutionStatus),
        workflows=sorted(set(workflows) | set(board.baton.workflow_ids())),
        **listing,
    )


@router.get("/runs/rows", response_class=HTMLResponse)
async def runs_rows(request: Request, principal: Viewer, listing: Listing) -> HTMLResponse:
    return page(request, "_runrows.html", principal, **listing)


async def _runs(board: Dashboard, flt: queries.RunFilter, cursor: str | None) -> queries.RunPage:
    try:
        return await asyncio.to_thread(queries.list_runs, board.store.engine, flt, cursor=cursor or None)
    except queries.InvalidCursor:
        return queries.RunPage([], None)


# -- one run ---------------------------------------------------------------------------------------
async def _record(board: Dashboard, execution_id: str) -> ExecutionRecord:
    record = await asyncio.to_thread(board.store.get_execution, execution_id)
    if record is None:
        raise ExecutionNotFound(execution_id)
    return record


async def _run_context(board: Dashboard, execution_id: str) -> dict[str, Any]:
    record = await _record(board, execution_id)
    view = await asyncio.to_thread(build_run, board.store, record, board.budget(record))
    start = min((b.start for b in view.bars), default=view.context.start_time)
    end = view.context.end_time if view.context.status.is_terminal and view.context.end_time else view.now
    graph = await asyncio.to_thread(charts.graph, view.workflow, view.steps, board.root)
    return {
        "run": view,
        "graph": graph,
        "gantt": charts.gantt(view.bars, view.steps, start, end),
    }


@router.get("/runs/{execution_id}", response_class=HTMLResponse)
async def run_page(
    request: Request, execution_id: str, board: Board, principal: Viewer, step: Text = None
) -> HTMLResponse:
    context = await _run_context(board, execution_id)
    newest = context["run"].last_seq  # seq numbers are consecutive per execution
    rows = await asyncio.to_thread(
        board.store.list_logs, execution_id, after_seq=max(0, newest - _LOG_ROWS) or None
    )
    detail = None
    if step:
        record = await _record(board, execution_id)
        detail = await asyncio.to_thread(build_step, board.store, record, step, board.artifacts)
    return page(
        request,
        "run.html",
        principal,
        **context,
        logs=rows,
        detail=detail,
        levels=[lv.value for lv in LogLevel],
        after=rows[-1].seq if rows else 0,
    )


@router.get("/runs/{execution_id}/state", response_class=HTMLResponse)
async def run_state(request: Request, execution_id: str, board: Board, principal: Viewer) -> HTMLResponse:
    context = await _run_context(board, execution_id)
    return page(request, "_runstate.html", principal, **context)


@router.get("/runs/{execution_id}/steps/{step_id}", response_class=HTMLResponse)
async def step_panel(
    request: Request, execution_id: str, step_id: str, board: Board, principal: Viewer
) -> HTMLResponse:
    record = await _record(board, execution_id)
    detail = await asyncio.to_thread(build_step, board.store, record, step_id, board.artifacts)
    return page(request, "_step.html", principal, run_id=execution_id, detail=detail)


@router.get("/runs/{execution_id}/events")
async def run_events(
    execution_id: str, board: Board, _: Viewer, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    await _record(board, execution_id)
    return StreamingResponse(
        run_feed(board.store, execution_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/runs/{execution_id}/artifacts/{name:path}")
async def artifact(execution_id: str, name: str, board: Board, _: Viewer) -> Response:
    """A file of the execution's artefacts folder; nothing outside it is reachable."""
    await _record(board, execution_id)
    folder = (board.artifacts / execution_id).resolve()
    target = (folder / name).resolve()
    if not target.is_relative_to(folder) or not target.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(
        target, media_type="text/plain; charset=utf-8", headers={"Content-Disposition": "inline"}
    )


@router.post("/runs/{execution_id}/cancel")
async def cancel(request: Request, execution_id: str, board: Board, principal: Operator) -> RedirectResponse:
    request.state.audit_target = execution_id
    status = await _act(board.actions.cancel, principal, execution_id)
    return _back(f"/runs/{execution_id}", status)


@router.post("/runs/{execution_id}/resume")
async def resume(request: Request, execution_id: str, board: Board, principal: Operator) -> RedirectResponse:
    request.state.audit_target = execution_id
    status = await _act(board.actions.resume, principal, execution_id)
    return _back(f"/runs/{execution_id}", status)


@router.post("/runs/{execution_id}/decide")
async def decide(request: Request, execution_id: str, board: Board, principal: Operator) -> RedirectResponse:
    form = await request.form()
    approved = str(form.get("decision")) == "approve"
    step = str(form.get("step") or "") or None
    reason = str(form.get("reason") or "").strip()[:2000] or None
    back = str(form.get("back") or f"/runs/{execution_id}")
    request.state.audit_target = execution_id
    request.state.audit_detail = {"step": step, "approved": approved}
    message = await _act(board.actions.decide, principal, execution_id, step, approved, reason)
    return _back(_safe_next(back), message)


async def _act(fn: Any, *args: Any) -> str:
    try:
        return str(await asyncio.to_thread(fn, *args))
    except BatonError as exc:
        return f"refused: {exc}"
    except Exception as exc:
        detail = getattr(exc, "detail", None)
        if detail:
            return f"refused: {detail}"
        raise


# -- approvals -------------------------------------------------------------------------------------
@router.get("/approvals", response_class=HTMLResponse)
async def approvals(request: Request, board: Board, principal: Viewer) -> HTMLResponse:
    items = await asyncio.to_thread(_waiting, board)
    return page(request, "approvals.html", principal, items=items)


def _waiting(board: Dashboard) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from baton.store.schema import step_runs

    with board.store.engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                select(step_runs.c.execution_id)
                .where(step_runs.c.status == StepStatus.WAITING.value)
                .distinct()
            )
        ]
    out = []
    for execution_id in ids:
        record = board.store.get_execution(execution_id)
        if record is None:
            continue
        steps = {s.get("id"): s for s in record.workflow_snapshot.get("steps", []) if isinstance(s, dict)}
        for run in board.store.list_steps(execution_id):
            if run.status is not StepStatus.WAITING:
                continue
            approval = (run.output or {}).get("approval") or {}
            out.append(
                {
                    "execution": record.context,
                    "step": run,
                    "message": approval.get("message") or "",
                    "decided": approval.get("decision"),
                    "definition": steps.get(run.step_id) or {},
                }
            )
    return out


# -- workflows ---------------------------------------------------------------------------------------
@router.get("/workflows", response_class=HTMLResponse)
async def workflows(request: Request, board: Board, principal: Viewer) -> HTMLResponse:
    items = []
    for workflow_id in board.baton.workflow_ids():
        try:
            items.append(board.baton.workflow(workflow_id))
        except BatonError:
            continue
    return page(request, "workflows.html", principal, items=items)


@router.get("/workflows/{workflow_id}", response_class=HTMLResponse)
async def workflow_page(request: Request, workflow_id: str, board: Board, principal: Viewer) -> HTMLResponse:
    wf = board.baton.workflow(workflow_id)
    picture = await asyncio.to_thread(charts.graph, wf, [], board.root)
    recent = await asyncio.to_thread(
        queries.list_runs,
        board.store.engine,
        queries.RunFilter(workflow_id=workflow_id),
        cursor=None,
        limit=10,
    )
    return page(request, "workflow.html", principal, wf=wf, graph=picture, recent=recent)


@router.post("/workflows/{workflow_id}/run")
async def start_run(
    request: Request, workflow_id: str, board: Board, principal: Operator
) -> RedirectResponse:
    wf = board.baton.workflow(workflow_id)
    form = await request.form()
    try:
        params = _parameters(wf, {k: str(v) for k, v in form.items() if k.startswith("p.")})
    except ValueError as exc:
        return _back(f"/workflows/{workflow_id}", f"refused: {exc}")
    try:
        execution_id = await asyncio.to_thread(board.actions.start, principal, workflow_id, params)
    except BatonError as exc:
        return _back(f"/workflows/{workflow_id}", f"refused: {exc}")
    request.state.audit_target = execution_id
    return RedirectResponse(f"/runs/{execution_id}", status_code=303)


def _parameters(wf: Workflow, raw: dict[str, str]) -> dict[str, Any]:
    """Form fields ``p.<name>`` typed by the workflow's parameter schema."""
    out: dict[str, Any] = {}
    for name, spec in wf.parameters.items():
        value = raw.get(f"p.{name}")
        if spec.type == "boolean":
            out[name] = value == "true"
            continue
        if value is None or value == "":
            continue
        try:
            if spec.type == "integer":
                out[name] = int(value)
            elif spec.type == "number":
                out[name] = float(value)
            elif spec.type in ("array", "object"):
                out[name] = json.loads(value)
            else:
                out[name] = value
        except ValueError as exc:
            raise ValueError(f"parameter {name!r}: expected {spec.type}, got {value!r}") from exc
    return out


# -- agents and usage -----------------------------------------------------------------------------
@router.get("/agents", response_class=HTMLResponse)
async def agents(request: Request, board: Board, principal: Viewer) -> HTMLResponse:
    stored = {a.id: a for a in await asyncio.to_thread(board.store.list_agents)}
    items = [(agent, stored.get(agent_id)) for agent_id, agent in sorted(board.baton.agents.items())]
    return page(request, "agents.html", principal, items=items)


@router.post("/agents/{agent_id}/check")
async def check_agent(request: Request, agent_id: str, board: Board, principal: Admin) -> RedirectResponse:
    request.state.audit_target = agent_id
    if agent_id not in board.baton.agents:
        return _back("/agents", f"refused: no agent {agent_id!r}")
    result = await board.actions.check_agent(agent_id)
    verdict = "healthy" if result.ok else "unhealthy"
    return _back("/agents", f"{agent_id}: {verdict} ({result.detail})")


@router.get("/usage", response_class=HTMLResponse)
async def usage(request: Request, board: Board, principal: Viewer, days: int = 30) -> HTMLResponse:
    since = datetime.now(UTC) - timedelta(days=max(1, min(days, 366)))
    groups = {}
    for by in ("day", "agent", "model", "workflow"):
        groups[by] = await asyncio.to_thread(board.store.usage_totals, by=by, since=since)
    cost = {
        by: charts.bars([(t.group, t.cost_usd) for t in totals], "usd", f"cost by {by}")
        for by, totals in groups.items()
    }
    tokens = {
        by: charts.bars(
            [(t.group, float(t.input_tokens + t.output_tokens)) for t in totals], "tokens", f"tokens by {by}"
        )
        for by, totals in groups.items()
    }
    quotas = await asyncio.to_thread(
        quota_use,
        board.store,
        board.baton.configuration.global_.quotas,
        sorted(board.baton.agents),
        board.baton.workflow_ids(),
        datetime.now(UTC),
    )
    return page(
        request, "usage.html", principal, groups=groups, cost=cost, tokens=tokens, days=days, quotas=quotas
    )


__all__ = ["STATUSES", "Dashboard", "Redirect", "Refused", "SignInRequired", "https", "router"]
