"""Fixtures for the model-API adapter tests: the fake model server and an event recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agents_api.support import Events
from tests.fixtures.fake_model_server import FakeModelServer


@pytest.fixture
def fake_model_server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def events() -> Events:
    return Events()
