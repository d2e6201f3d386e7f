"""``baton serve`` (the HTTP API, with an in-process worker by default) and ``baton worker``."""

from __future__ import annotations

from pathlib import Path

import typer

from baton.cli.app import ConfigOption, fail, handle_errors, resolve_config_path

_HINT = "the service needs its extra: pip install 'baton[service]'"


def _imports() -> None:
    try:
        import dbos  # noqa: F401
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise fail(f"{exc.name} is not installed; {_HINT}") from None


def serve(
    host: str | None = typer.Option(
        None, "--host", help="Address to bind (default: deployment.host, else 127.0.0.1).",
        show_default=False),
    port: int | None = typer.Option(
        None, "--port", "-p", help="Port (default: deployment.port, else 8080).", show_default=False),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=0,
        help="In-process workers: 1, or 0 for the API only (default: deployment.workers, else 1).",
        show_default=False,
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, show_default=False,
        help="Executions the in-process worker runs at once (default: global.max_concurrent_executions, "
             "else 10).",
    ),
    worker_id: str | None = typer.Option(None, "--worker-id", help="Worker id (default: host:pid)."),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
    api_processes: int = typer.Option(
        1, "--api-processes", min=1, help="Server processes for the API (above 1: API only, --workers 0)."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the HTTP API (/api/v1) and run executions in this process."""
    _imports()
    from baton.api.server import serve as run

    run(
        resolve_config_path(config),
        cwd=Path.cwd(),
        host=host,
        port=port,
        workers=workers,
        worker_id=worker_id,
        concurrency=concurrency,
        access_log=access_log,
        api_processes=api_processes,
    )


def worker(
    queue: str | None = typer.Option(None, "--queue", "-q", help="Queue to take executions from."),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-n",
        min=1,
        help="Executions run at once (stored with the queue: give all its workers the same).",
    ),
    worker_id: str | None = typer.Option(None, "--worker-id", help="Worker id (default: host:pid)."),
    drain_seconds: float = typer.Option(
        30.0, "--drain-seconds", min=0, help="On SIGTERM, wait this long for running executions."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Run queued executions (on this machine) until SIGTERM."""
    _imports()
    from baton.api.server import run_worker

    run_worker(
        resolve_config_path(config),
        cwd=Path.cwd(),
        queue=queue,
        concurrency=concurrency,
        worker_id=worker_id,
        drain_seconds=drain_seconds,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(handle_errors(serve))
    app.command("worker")(handle_errors(worker))
