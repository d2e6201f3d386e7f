"""``baton ui``: the dashboard of the local project's store, on 127.0.0.1 only.

A one-time sign-in token is printed in the URL (as Jupyter does): another local user or a
web page cannot drive the dashboard without it, and the Host header must name the loopback
address (a DNS-rebinding page names its own host and is refused).
"""

from __future__ import annotations

import socket
import webbrowser
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from baton import __version__
from baton.api import problems
from baton.engine import Baton
from baton.errors import BatonError
from baton.store.sql import SqlStore
from baton.ui.actions import LocalActions
from baton.ui.app import install
from baton.ui.routes import Dashboard
from baton.ui.security import LocalGate, loopback_hosts

HOST = "127.0.0.1"


def create_local_app(baton: Baton, config_path: Path | None, gate: LocalGate, port: int) -> FastAPI:
    """The dashboard app of ``baton`` for a loopback server on ``port``."""
    app = FastAPI(
        title="Baton dashboard", version=__version__, openapi_url=None, docs_url=None, redoc_url=None
    )
    problems.install(app)
    store = baton.store
    if not isinstance(store, SqlStore):
        raise TypeError("the dashboard reads a SQL store")
    dashboard = Dashboard(
        store=store, baton=baton, root=baton.root, actions=LocalActions(baton, config_path), gate=gate
    )
    install(app, dashboard, allowed_hosts=loopback_hosts(port))
    return app


def serve_local(
    config_path: Path | None,
    *,
    cwd: Path,
    port: int | None,
    open_browser: bool,
    announce: Callable[[str], None],
) -> None:
    """Serve the dashboard until interrupted."""
    import uvicorn

    baton = Baton.from_config(config_path, cwd=cwd)
    gate = LocalGate()
    # Listening before the link is printed: a browser opening it at once waits, never is refused.
    listener = socket.socket()
    try:
        listener.bind((HOST, port or 0))
    except OSError as exc:
        listener.close()
        baton.close()
        raise BatonError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    listener.listen(128)
    bind: int = listener.getsockname()[1]
    app = create_local_app(baton, config_path, gate, bind)
    url = f"http://{HOST}:{bind}/?token={gate.login_token}"
    announce(url)
    if open_browser:
        webbrowser.open(url)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=HOST,
            port=bind,
            access_log=False,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        baton.close()
