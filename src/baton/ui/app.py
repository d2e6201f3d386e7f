"""Mount the dashboard on a FastAPI app: its routes, static files, security headers and the
answers to "sign in first" and "not allowed"."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from baton.ui.render import render
from baton.ui.routes import Dashboard, Redirect, Refused, SignInRequired, https, router, with_cookie
from baton.ui.security import DashboardHeaders

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, dashboard: Dashboard, *, allowed_hosts: frozenset[str] | None = None) -> None:
    """Serve ``dashboard`` at ``/`` of ``app``."""
    app.state.dashboard = dashboard
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(DashboardHeaders, allowed_hosts=allowed_hosts)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        if request.method != "GET" or request.headers.get("hx-request") or _is_stream(request):
            return Response(
                "sign in first", status_code=401, media_type="text/plain", headers={"HX-Redirect": "/signin"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return HTMLResponse(
            render("refused.html", reason=str(exc), principal=None, csrf="", mode=""), status_code=403
        )

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        response = RedirectResponse(exc.url, status_code=303)
        if exc.cookie is not None:
            with_cookie(response, exc.cookie, https(request))
        return response


def _is_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")
