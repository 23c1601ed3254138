"""Unclear confidentiality flags fail closed, and a quarantine never keeps a confidential location."""

from __future__ import annotations

import copy
import json

import pytest

from safelight.refer import directory, hsds
from safelight.refer.testdata import generate_directory
from safelight.store import open_hub


@pytest.mark.parametrize("flag", [True, 1, "1", "yes", "y", "on", "x", "TRUE"])
def test_any_flag_but_an_explicit_no_is_confidential(flag):
    assert hsds.is_confidential({"id": "l1", "safelight_confidential": flag})


@pytest.mark.parametrize("flag", [False, 0, "false", "0", "no", "", None])
def test_explicit_no_is_public(flag):
    assert not hsds.is_confidential({"id": "l1", "safelight_confidential": flag})


def _confidential_service(doc):
    for svc in doc["services"]:
        text = json.dumps(svc)
        if "safelight_confidential" in text:
            return svc
    raise AssertionError("the generated directory has no confidential service")


def _secret_street(svc):
    for sal in svc.get("service_at_locations", []):
        loc = sal.get("location", {})
        if hsds.is_confidential(loc):
            return loc["addresses"][0]["address_1"]
    raise AssertionError("no confidential location found")


def test_numeric_flag_is_not_published(tmp_path):
    doc = generate_directory(40, seed=3)
    svc = _confidential_service(doc)
    street = _secret_street(svc)
    for sal in svc["service_at_locations"]:
        if hsds.is_confidential(sal.get("location", {})):
            sal["location"]["safelight_confidential"] = 1  # a JSON number, not true
    path = tmp_path / "dir.json"
    path.write_text(json.dumps(doc), "utf-8")
    with open_hub(tmp_path / "hub.duckdb", create=True) as hub:
        directory.import_directory(hub, path, actor="t")  # no key: the service must be quarantined
        directory.export_directory(hub, tmp_path / "out")
        stored = hub.con.execute("SELECT string_agg(raw, ' ') FROM refer_quarantine").fetchone()[0] or ""
    exported = " ".join(p.read_text("utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert street not in exported
    assert street not in stored


def test_redaction_keeps_only_the_id():
    doc = generate_directory(40, seed=3)
    svc = copy.deepcopy(_confidential_service(doc))
    street = _secret_street(svc)
    assert street not in json.dumps(hsds.redact_confidential(svc), ensure_ascii=False)
