"""Fixtures of the web tests: a demo-sized hub, an app over a copy of it, signed-in clients."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers_web import DemoHub, build_demo_hub, settings_for  # noqa: E402


@pytest.fixture(scope="session")
def demo_hub(tmp_path_factory) -> DemoHub:
    return build_demo_hub(tmp_path_factory.mktemp("webdemo"))


@pytest.fixture
def app(demo_hub, tmp_path):
    from safelight.web import create_app

    application = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub))
    yield application
    application.state.hub.close()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
