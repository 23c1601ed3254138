"""``safelight refer ...`` end to end through click."""

from __future__ import annotations

import json

from click.testing import CliRunner

from safelight.refer.cli import refer
from safelight.store import open_hub


def _run(*args, ok=True):
    r = CliRunner().invoke(refer, [str(a) for a in args])
    if ok:
        assert r.exit_code == 0, r.output
    return r


def test_cli_round_trip(tmp_path):
    hub, key, d = tmp_path / "hub.duckdb", tmp_path / "op.key", tmp_path / "dir.json"
    _run("demo-directory", d, "--services", 150, "--seed", 4)
    _run("keygen", key)
    out = _run("import", hub, d, "--key", key).output
    assert "0 quarantined" in out and "locations sealed" in out
    res = json.loads(_run("match", hub, "--needs", "shelter,legal_aid", "--languages", "uk,ru", "--near", "Kyiv",
                          "--gender", "female", "--age", 30, "--json").output)
    assert res and res[0]["rank"] == 1 and res[0]["reasons"]
    text = _run("match", hub, "--needs", "medical", "--near", "50.45,30.52", "--limit", 3).output
    assert " 1. " in text and "km" in text
    _run("export", hub, tmp_path / "pub", "--format", "csv")
    assert (tmp_path / "pub" / "services.csv").exists()
    _run("build-finder", hub, tmp_path / "site")
    assert (tmp_path / "site" / "index.html").stat().st_size < 100_000
    with open_hub(hub) as h:
        sid = h.con.execute("SELECT service_id FROM refer_sealed_locations LIMIT 1").fetchone()[0]
        h.ensure_contributor("ngo", "UKR")
        h.con.execute("""INSERT INTO cases (contributor, record_id, contribution_id, source_row, consent,
                         consent_linkage, consent_statistics) VALUES ('ngo', 'r1', 1, 1, 'full', true, true)""")
    refused = _run("reveal", hub, sid, "--key", key, "--caseworker", "ana", "--purpose", "visit", ok=False)
    assert refused.exit_code == 8 and "not authorised" in refused.output
    _run("grant", hub, "ana", "--may-reveal", "--actor", "operator")
    assert "address_1" in _run("reveal", hub, sid, "--key", key, "--caseworker", "ana", "--purpose", "visit").output
    no_consent = _run("refer", hub, "ngo", "r1", sid, "--caseworker", "ana", ok=False)
    assert no_consent.exit_code == 8 and "consent" in no_consent.output
    _run("consent", hub, "ngo", "r1", "--caseworker", "ana")
    assert "referral 1" in _run("refer", hub, "ngo", "r1", sid, "--caseworker", "ana").output
    _run("withdraw-consent", hub, 1, "--actor", "ana")
    assert _run("refer", hub, "ngo", "r1", sid, "--caseworker", "ana", ok=False).exit_code == 8


def test_cli_errors_are_one_line_with_exit_codes(tmp_path):
    hub, d = tmp_path / "hub.duckdb", tmp_path / "dir.json"
    _run("demo-directory", d, "--services", 60, "--seed", 4)
    r = _run("import", hub, d)  # no key: confidential services are quarantined, not stored in clear
    assert "quarantined service" in r.output
    bad = _run("match", hub, "--needs", "massage", ok=False)
    assert bad.exit_code == 2 and "unknown need" in bad.output and "Traceback" not in bad.output
    nowhere = _run("match", hub, "--needs", "shelter", "--near", "Atlantis", ok=False)
    assert nowhere.exit_code == 2 and "gazetteer" in nowhere.output
    nokey = _run("reveal", hub, "x", "--key", tmp_path / "missing.key", "--caseworker", "a", "--purpose", "p", ok=False)
    assert nokey.exit_code == 7 and "keygen" in nokey.output


def test_quarantined_directory_rows_are_exported_with_their_reasons(tmp_path):
    """An import without --key ended with "see table refer_quarantine", and no command
    exported that table (new-user trial, 2026-12-01)."""
    import csv

    hub, d = tmp_path / "hub.duckdb", tmp_path / "dir.json"
    _run("demo-directory", d, "--services", 60, "--seed", 4)
    out = _run("import", hub, d).output  # no key: the confidential locations are refused
    assert "safelight refer quarantine" in out and "--import 1" in out
    target = tmp_path / "q.csv"
    assert _run("quarantine", hub, "--out", hub, ok=False).exit_code == 2
    assert _run("quarantine", hub, "--import", 9, "--out", target, ok=False).exit_code == 2
    assert not target.exists()
    _run("quarantine", hub, "--import", 1, "--out", target)
    with open(target, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["rules"] and r["reasons"] for r in rows)
    with open_hub(hub) as h:
        actions = [a for (a,) in h.con.execute("SELECT action FROM audit_log").fetchall()]
    assert actions.count("refer_export_quarantine") == 1
