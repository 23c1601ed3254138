"""Fixtures of the refer tests: a generated directory imported into a hub, with its key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from refer_support import make_directory_hub  # noqa: E402


@pytest.fixture
def small_dir(tmp_path):
    hub, key, doc, report = make_directory_hub(tmp_path, 120, seed=11)
    yield hub, key, doc, report
    hub.close()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """The demo-sized directory (2,000 services), shared by a module's tests."""
    hub, key, doc, report = make_directory_hub(tmp_path_factory.mktemp("refer-demo"), 2000)
    yield hub, key, doc, report
    hub.close()
