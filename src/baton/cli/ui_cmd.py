"""``baton ui``: watch and steer runs in the browser (the dashboard of the local store)."""

from __future__ import annotations

from pathlib import Path

import typer

from baton.cli.app import ConfigOption, console, handle_errors, resolve_config_path


def ui(
    port: int | None = typer.Option(
        None, "--port", "-p", min=1, max=65535, help="Port on 127.0.0.1 (default: a free one)."
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the dashboard in the browser."),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the dashboard on 127.0.0.1; open the printed URL (it signs you in once)."""
    from baton.ui.server import serve_local

    def announce(url: str) -> None:
        console.print(f"Baton dashboard: {url}", highlight=False, soft_wrap=True)
        console.print("The link signs one browser in once; stop with Ctrl+C.", highlight=False)
        console.file.flush()

    serve_local(
        resolve_config_path(config), cwd=Path.cwd(), port=port, open_browser=open_browser, announce=announce
    )


def register(app: typer.Typer) -> None:
    app.command("ui")(handle_errors(ui))
