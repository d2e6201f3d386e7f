"""The Function Compute entry point: ``python -m baton.api.fc``.

A custom-container function receives HTTP on ``FC_SERVER_PORT`` (default 9000) at
``0.0.0.0``. This runs ``baton serve`` there in ``function_compute`` mode, with an
in-process worker (``BATON_FC_WORKERS=0`` for an API-only function backed by separate
worker machines): ``POST /api/v1/executions`` answers 202 at once and the execution runs
after the response, its state in PostgreSQL. A SQLite URL is refused: FC instances are
ephemeral. An instance reclaimed mid-run is declared dead by the next worker that beats
(another instance, or a worker machine) and its executions resume from their last
completed step.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from baton.api.server import serve
from baton.errors import BatonError


def main() -> None:
    port = int(os.environ.get("FC_SERVER_PORT", "9000"))
    workers = int(os.environ.get("BATON_FC_WORKERS", "1"))
    config = os.environ.get("BATON_CONFIG")
    try:
        serve(
            Path(config) if config else None,
            cwd=Path.cwd(),
            host=os.environ.get("BATON_FC_HOST", "0.0.0.0"),
            port=port,
            workers=workers,
            mode="function_compute",
        )
    except BatonError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(exc.cli_exit_code) from None


if __name__ == "__main__":
    main()
