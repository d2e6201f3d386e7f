"""Run Baton as a service: the API (uvicorn) and workers, from one configuration.

``baton serve`` = the API plus, unless ``--workers 0``, an in-process worker (one command
serves one machine); ``baton worker`` = a worker alone. Both open the store named by the
configuration (``global.database_url`` / ``BATON_DATABASE_URL``). In
``deployment.mode: function_compute`` the database must be PostgreSQL: FC instances are
ephemeral, so state on their disk would vanish with them.

Exception tree::

    BatonError
    └── ServiceError                    the service cannot start as configured   (exit 2)
        └── UnsupportedDatabase         function_compute mode on a SQLite database
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baton.errors import BatonError
from baton.models import Configuration
from baton.store.engine import default_url, normalize_url
from baton.store.sql import SqlStore

if TYPE_CHECKING:
    from baton.workers.worker import Worker

log = logging.getLogger("baton.service")


class ServiceError(BatonError):
    """The service cannot start as configured."""

    cli_exit_code = 2


class UnsupportedDatabase(ServiceError):
    """Function Compute mode needs PostgreSQL."""


@dataclass(slots=True)
class Opened:
    """A loaded configuration and its opened store."""

    configuration: Configuration
    root: Path
    store: SqlStore
    store_url: str
    config_path: Path | None = None


def open_for_service(config: Path | None, *, cwd: Path, mode: str | None = None) -> Opened:
    """Load the configuration, check it fits the deployment mode, open (and migrate) the store."""
    from baton.config import load_configuration
    from baton.store import open_store

    loaded = load_configuration(config, cwd=cwd)
    configuration = loaded.configuration
    if mode is not None and mode != configuration.deployment.mode:
        dep = configuration.deployment.model_copy(update={"mode": mode})
        configuration = configuration.model_copy(update={"deployment": dep})
    url = configuration.global_.database_url or default_url(loaded.root)
    check_database(configuration, url)
    g = configuration.global_
    deployment = configuration.deployment
    store = open_store(
        url,
        base_dir=loaded.root,
        max_log_bytes=g.max_log_bytes,
        claim_timeout=timedelta(seconds=deployment.dead_after_seconds),
    )
    assert isinstance(store, SqlStore)
    return Opened(configuration, loaded.root, store, url, loaded.path)


def check_database(configuration: Configuration, url: str) -> None:
    if configuration.deployment.mode != "function_compute":
        return
    if normalize_url(url).get_backend_name() != "postgresql":
        raise UnsupportedDatabase(
            "deployment.mode function_compute needs a PostgreSQL database: Function Compute "
            "instances are ephemeral and a SQLite file on one would vanish with it; set "
            "BATON_DATABASE_URL=postgresql://user:password@host:5432/baton"
        )


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(
    config: Path | None,
    *,
    cwd: Path,
    host: str | None,
    port: int | None,
    workers: int | None,
    worker_id: str | None = None,
    mode: str | None = None,
    concurrency: int | None = None,
    access_log: bool = False,
    api_processes: int = 1,
) -> None:
    """Run the API (and an in-process worker) until interrupted."""
    import uvicorn

    from baton.api.app import create_app
    from baton.api.service import ApiService
    from baton.workers.dbos_runtime import Dispatcher

    opened = open_for_service(config, cwd=cwd, mode=mode)
    cfg = opened.configuration
    configure_logging(cfg.observability.log_level)
    in_process = cfg.deployment.workers if workers is None else workers
    if api_processes > 1:
        if in_process > 0:
            raise ServiceError(
                "--api-processes above 1 serves the API only: add --workers 0 and run "
                "`baton worker` processes for the executions"
            )
        opened.store.close()
        os.environ.update(
            BATON_SERVE_CONFIG=str(config or ""), BATON_SERVE_CWD=str(cwd), BATON_SERVE_MODE=mode or ""
        )
        uvicorn.run(
            "baton.api.asgi:create_from_env",
            factory=True,
            workers=api_processes,
            host=host or cfg.deployment.host,
            port=port or cfg.deployment.port,
            access_log=access_log,
            log_level="warning",
            lifespan="off",
        )
        return
    worker = None
    if in_process > 0:
        worker = _start_worker(
            opened, worker_id=worker_id, concurrency=concurrency or cfg.global_.max_concurrent_executions
        )
    dispatcher = Dispatcher(opened.store_url)
    api_store = _second_store(opened)
    service = ApiService(cfg, api_store, opened.root, dispatcher=dispatcher, config_path=opened.config_path)
    app = create_app(service)
    bind_host = host or cfg.deployment.host
    bind_port = port or cfg.deployment.port
    base = f"http://{bind_host}:{bind_port}"

    class _Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM/SIGINT after its shutdown, so say goodbye here
        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            sys.stderr.write(f"Baton stopped serving {base}\n")
            sys.stderr.flush()

    server_config = uvicorn.Config(
        app,
        host=bind_host,
        port=bind_port,
        access_log=access_log,
        log_level="warning",
        lifespan="off",
        loop="auto",
        http="auto",
        timeout_graceful_shutdown=5,
    )
    server = _Server(server_config)
    try:
        # Listening before the URL is printed: a client using it at once waits, never is refused.
        listener = server_config.bind_socket()
        listener.listen(server_config.backlog)
        _announce(base, in_process=worker is not None)
        server.run(sockets=[listener])
    finally:
        service.close()
        if worker is not None:
            worker.drain_and_exit(0)


def _announce(base: str, *, in_process: bool) -> None:
    sys.stderr.write(
        f"Baton serving on {base}\n"
        f"  dashboard: {base}/\n"
        f"  API:       {base}/api/v1   (OpenAPI docs: {base}/api/v1/docs)\n"
        f"  worker:    {'in this process' if in_process else 'none here (run `baton worker`)'}\n"
        "Press Ctrl+C to stop.\n"
    )
    sys.stderr.flush()


def run_worker(
    config: Path | None,
    *,
    cwd: Path,
    queue: str | None,
    concurrency: int | None,
    worker_id: str | None,
    drain_seconds: float | None = None,
) -> None:
    """Run a worker until SIGTERM/SIGINT (then drain and exit)."""
    import threading

    opened = open_for_service(config, cwd=cwd)
    cfg = opened.configuration
    configure_logging(cfg.observability.log_level)
    if queue is not None:
        dep = cfg.deployment.model_copy(update={"queue": queue})
        opened.configuration = cfg.model_copy(update={"deployment": dep})
    worker = _start_worker(
        opened,
        worker_id=worker_id,
        concurrency=concurrency or cfg.global_.max_concurrent_executions,
        drain_seconds=drain_seconds,
    )
    worker.install_signal_handlers()
    threading.Event().wait()


def _start_worker(
    opened: Opened, *, worker_id: str | None, concurrency: int, drain_seconds: float | None = None
) -> Worker:
    from baton.workers.worker import Worker, WorkerSettings, default_worker_id

    dep = opened.configuration.deployment
    settings = WorkerSettings(
        worker_id=worker_id or default_worker_id(),
        queue=dep.queue,
        concurrency=concurrency,
        heartbeat_seconds=dep.heartbeat_seconds,
        dead_after_seconds=dep.dead_after_seconds,
        polling_seconds=float(os.environ.get("BATON_QUEUE_POLL_SECONDS", "0.5")),
        drain_seconds=30.0 if drain_seconds is None else drain_seconds,
    )
    worker = Worker(opened.configuration, opened.store, opened.root, settings, opened.store_url,
                    config_path=opened.config_path)
    worker.start()
    return worker


def _second_store(opened: Opened) -> SqlStore:
    """The API's own store (connection pool), apart from the in-process worker's."""
    from baton.store import open_store

    g = opened.configuration.global_
    store = open_store(
        opened.store_url,
        base_dir=opened.root,
        max_log_bytes=g.max_log_bytes,
        claim_timeout=timedelta(seconds=opened.configuration.deployment.dead_after_seconds),
    )
    assert isinstance(store, SqlStore)
    return store
