"""The API as an ASGI app built from the environment, for several server processes.

``baton serve --api-processes N`` (API only) runs N uvicorn processes on one socket; each
builds its app here from ``BATON_SERVE_CONFIG`` (the baton.yaml path, may be empty),
``BATON_SERVE_CWD`` and ``BATON_SERVE_MODE``. The processes share nothing but the
database, like separate machines would.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from fastapi import FastAPI


def create_from_env() -> FastAPI:
    from baton.api.app import create_app
    from baton.api.server import open_for_service
    from baton.api.service import ApiService
    from baton.workers.dbos_runtime import Dispatcher

    config = os.environ.get("BATON_SERVE_CONFIG") or None
    opened = open_for_service(
        Path(config) if config else None,
        cwd=Path(os.environ.get("BATON_SERVE_CWD") or Path.cwd()),
        mode=os.environ.get("BATON_SERVE_MODE") or None,
    )
    service = ApiService(
        opened.configuration, opened.store, opened.root, dispatcher=Dispatcher(opened.store_url),
        config_path=opened.config_path,
    )
    # uvicorn's worker processes never reach `baton serve`'s close(): write the queued audit rows at exit.
    atexit.register(service.audit.close)
    return create_app(service)
