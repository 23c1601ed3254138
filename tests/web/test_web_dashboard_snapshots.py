"""The dashboard publishes figures only when they cannot be differenced against the figures
published before (one consent withdrawal would otherwise show the person's profile)."""

from __future__ import annotations

import json

from helpers_web import api_login, settings_for

from safelight.report.successive import (
    gated_counts,
    read_snapshot,
    small_differences,
    snapshot_path,
)
from safelight.web.dashboard import publish


def test_small_differences_counts_changes_between_zero_and_the_threshold() -> None:
    before = {"a": 37.0, "b": 120.0, "c": 5.0, "d": 40.0, "f": 2.0}
    after = {"a": 36.0, "b": 120.0, "c": 16.0, "d": 29.0, "e": 3.0}
    # a: -1, e: appears with 3, f: leaves with 2; c: +11 and d: -11 are not small
    assert small_differences(before, after, 11) == 3
    assert small_differences(before, before, 11) == 0


def test_gated_counts_take_suppressed_cells_and_the_limitations_numbers() -> None:
    from safelight.report.model import Cell, Estimate

    class Ind:
        id = "x"
        cells = [Cell({"sex": "girls"}, Estimate.exact(3), suppressed="small"),
                 Cell({"sex": "women"}, Estimate.exact(40))]

    got = gated_counts([Ind()], ["12 records were left out; 1,204 counted"])
    assert got['["x", ["girls"]]'] == 3.0 and got['["x", ["women"]]'] == 40.0
    assert sorted(v for k, v in got.items() if k.startswith('["limitations"')) == [12.0, 1204.0]


def _withdraw_one(app) -> str:
    state = app.state.hub
    contributor, rid = state.hub.con.execute(
        "SELECT contributor, record_id FROM cases WHERE consent_statistics "
        "ORDER BY contributor, record_id LIMIT 1").fetchone()
    with state.exclusive() as hub:
        hub.withdraw_consent(contributor, [rid], actor="test")
    return rid


def _figures(client) -> dict:
    return client.get("/api/v1/dashboard").json()


def _cells(doc: dict) -> dict:
    return {json.dumps([i["id"], c.get("key")]): c.get("count")
            for i in doc["report"]["indicators"] for c in i["cells"]}


def test_a_withdrawal_is_held_back_until_published(client, app, demo_hub, tmp_path):
    api_login(client, demo_hub, "view")
    first = _figures(client)
    assert first["empty"] is None and "held_back" not in first["report"]
    assert "/" not in json.dumps(first["report"]["provenance"].get("input"))  # no server path
    snap = snapshot_path(app.state.hub.path)
    d0 = app.state.dashboard.get()
    assert read_snapshot(app.state.hub.path) == (
        gated_counts(list(d0["_indicators"].values()), d0["limitations"]), 11)
    _withdraw_one(app)
    second = _figures(client)
    # the same figures as before, with a note: nothing moved by one person
    assert _cells(second) == _cells(first) and second["report"]["held_back"]
    assert "Held back" in client.get("/dashboard").text
    # a restart without the figures in memory shows no figures at all, not the new ones
    from fastapi.testclient import TestClient

    from safelight.web import create_app

    app.state.hub.close()
    again = create_app(app.state.hub.path, settings_for(demo_hub))
    with TestClient(again) as c2:
        api_login(c2, demo_hub, "view")
        doc = _figures(c2)
        assert doc["report"] is None and doc["empty"].startswith("Held back")
        # an administrator publishes: the new figures, one person fewer, replace the snapshot
        d = publish(again.state.hub)
        assert d["empty"] is None and d["held_back"] is None
        assert small_differences(json.loads(snap.read_text())["counts"],
                                 gated_counts(list(d["_indicators"].values()),
                                              d["limitations"]), 11) == 0
    again.state.hub.close()


def test_the_publish_command_records_the_figures_and_audits(demo_hub, tmp_path):
    from click.testing import CliRunner

    from safelight.cli import main
    from safelight.store import open_hub

    hub = demo_hub.copy(tmp_path)
    r = CliRunner().invoke(main, ["dashboard", "publish", str(hub)])
    assert r.exit_code == 0, r.output
    assert "published" in r.output and read_snapshot(hub)
    h = open_hub(hub)
    try:
        assert h.con.execute("SELECT count(*) FROM audit_log WHERE action = 'dashboard.publish'"
                             ).fetchone()[0] == 1
    finally:
        h.close()
