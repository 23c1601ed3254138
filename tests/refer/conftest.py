"""Fixtures of the refer tests: a generated directory imported into a hub, with its key."""

from __future__ import annotations

import json

import pytest

from safelight.refer import directory, vault
from safelight.refer.testdata import generate_directory
from safelight.store import open_hub


def make_directory_hub(tmp, n: int, seed: int = 20260601):
    doc = generate_directory(n, seed)
    path = tmp / "directory.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    key = vault.new_key_file(tmp / "operator.key")
    hub = open_hub(tmp / "hub.duckdb", create=True)
    report = directory.import_directory(hub, path, actor="operator", key=key)
    return hub, key, doc, report


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
