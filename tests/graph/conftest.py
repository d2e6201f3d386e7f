"""Fixtures for the LangGraph workflow tests: the engine's Baton factory, and a real
PostgreSQL database per test when ``BATON_TEST_POSTGRES_URL`` is set (skipped otherwise,
failing under ``CI=true``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from baton.engine import Baton, ExecutionResult
from baton.models import events as ev
from tests.engine.conftest import SHELL, MakeBaton, make_baton, scripted, workspace

__all__ = ["SHELL", "MakeBaton", "make_baton", "postgres_url", "run_collecting", "scripted", "workspace"]

PG_ENV = "BATON_TEST_POSTGRES_URL"


async def run_collecting(
    baton: Baton, workflow: str, params: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[ExecutionResult, list[ev.Event]]:
    """Run a workflow to its end; return the result and every event it emitted."""
    handle = baton.run(workflow, params, **kwargs)
    events = [e async for e in handle.events()]
    return await handle.wait(), events


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A freshly created PostgreSQL database, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                f"{PG_ENV} is unset but CI=true: CI must run the PostgreSQL checkpoint tests "
                "(source .ci/postgres.sh first)"
            )
        pytest.skip(f"{PG_ENV} is unset; source .ci/postgres.sh to run the PostgreSQL checkpoint tests")
    server = make_url(base).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"baton_g_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
