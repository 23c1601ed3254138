"""Helpers of the refer tests (imported by name: ``import conftest`` is ambiguous in this tree)."""

from __future__ import annotations

import json

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
