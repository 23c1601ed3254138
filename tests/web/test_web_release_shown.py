"""What a release shows to roles other than the admin (review finding): the ledger, the release
and the answer to the analyst who made it carry what the release published — who, when, how,
at what privacy cost, the file's name and SHA-256 — never a figure of the sensitive data that
PUBLISH.txt keeps for the operator (row counts, the evaluation's figures)."""

from __future__ import annotations

import pytest
from helpers_web import api_login

RELEASE = {"k": 11, "length": 2, "columns": ["gender", "age_band"]}
PUBLIC_EVALUATION = {"k", "max_length"}


def _numbers(value) -> list[float]:
    """Every number in a parsed JSON value, and every string that is a number."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    try:
        return [float(value)]
    except ValueError:
        return []


@pytest.mark.parametrize("method", ["aggregates", "synthetic"])
def test_viewer_and_analyst_see_no_exact_figure_of_a_release(client, app, demo_hub, method):
    made = client.post("/api/v1/releases",
                       headers={"X-CSRF-Token": api_login(client, demo_hub, "ana")},
                       json={"method": method, **RELEASE})
    assert made.status_code == 200, made.text
    rid = made.json()["release_id"]
    exact = app.state.hub.one("SELECT rows_in FROM releases WHERE release_id = ?",
                              [rid])["rows_in"]
    assert exact > max(RELEASE["k"], rid)  # so it cannot be mistaken for a setting
    answers = {}
    for user in ("ana", "view", "admin"):  # ana is signed in (a TOTP code counts once)
        if user != "ana":
            api_login(client, demo_hub, user)
        listed = client.get("/api/v1/releases").json()["releases"]
        answers[user] = (listed, client.get(f"/api/v1/releases/{rid}").json())
    # the admin's answer holds the exact figures, so their absence below is the whitelist's
    listed, one = answers["admin"]
    assert exact in _numbers(listed) and exact in _numbers(one)
    assert one["evaluation"]["by_length"] and one["params"]["params"]["seconds"] >= 0
    assert len(set(_numbers(one["evaluation"]))) > 3
    shown = [made.json(), *answers["ana"], *answers["view"]]
    for answer in shown:
        assert exact not in _numbers(answer)
    for one in (made.json(), answers["ana"][1], answers["view"][1]):
        assert set(one["evaluation"]) == PUBLIC_EVALUATION and one["evaluation"]["k"] == RELEASE["k"]
    for listed, one in (answers["ana"], answers["view"]):
        row = listed[0]
        assert row["release_id"] == rid and row["method"] == method and row["actor"] == "ana"
        assert row["k"] == RELEASE["k"] and row["reporting_length"] == RELEASE["length"]
        assert row["epsilon"] == 0 and row["file"] == f"{method}.csv"
        assert row["output_sha256"] == one["output_sha256"] and row["released_at"]
        assert row["rows_in"] is None and "audit_seq" not in row
        assert row["params"]["params"] == {"columns": RELEASE["columns"]}
        assert row["params"]["source"] == {"dataset": "hub:cases"}
        assert set(row["params"]) == {"method", "k", "length", "software", "settings_format",
                                      "created_at", "source", "params"}


def test_a_release_made_by_the_command_line_shows_no_row_count_either(client, app, demo_hub,
                                                                      tmp_path):
    from safelight.release.hub import release_hub

    with app.state.hub.exclusive() as hub:  # `safelight release hub` writes params.params.rows
        made = release_hub(hub, "synthetic", tmp_path / "rel", columns=RELEASE["columns"],
                           k=RELEASE["k"], length=RELEASE["length"])
    exact = made.settings.params["rows"]
    assert exact > RELEASE["k"]
    api_login(client, demo_hub, "admin")
    assert client.get("/api/v1/releases").json()["releases"][0]["params"]["params"]["rows"] == exact
    for user in ("ana", "view"):
        api_login(client, demo_hub, user)
        for answer in (client.get("/api/v1/releases").json(),
                       client.get(f"/api/v1/releases/{made.release_id}").json()):
            assert exact not in _numbers(answer)


def test_the_web_hands_out_no_release_the_small_cell_rule_does_not_clear(client, app, demo_hub,
                                                                       tmp_path):
    """The ledger records command-line releases too: microdata whose quasi-identifiers leave
    columns out (its evaluation finds combinations of fewer than k people: "do not publish")
    and a release at k = 3 were both downloadable by a viewer (privacy review, 2026-12-01)."""
    from safelight.release.hub import DEFAULT_COLUMNS, release_hub

    with app.state.hub.exclusive() as hub:
        leaky = release_hub(hub, "microdata", tmp_path / "mic", columns=list(DEFAULT_COLUMNS),
                            k=11, quasi_identifiers=["gender"])
        small = release_hub(hub, "aggregates", tmp_path / "k3", columns=["gender"], k=3,
                            length=1)
        fine = release_hub(hub, "synthetic", tmp_path / "syn", columns=RELEASE["columns"],
                           k=11, length=1)
    assert leaky.evaluation.total("leaked") > 0
    for user in ("view", "admin"):
        client.cookies.clear()
        api_login(client, demo_hub, user)
        listed = {r["release_id"]: r for r in client.get("/api/v1/releases").json()["releases"]}
        for rel, why in ((leaky, "fewer than k = 11"), (small, "k = 3")):
            assert why in listed[rel.release_id]["withheld"]
            r = client.get(f"/api/v1/releases/{rel.release_id}/download")
            assert r.status_code == 403 and why in r.json()["detail"]
            assert "Not handed out" in client.get(f"/releases/{rel.release_id}").text
        assert listed[fine.release_id]["withheld"] is None
        assert client.get(f"/api/v1/releases/{fine.release_id}/download").status_code == 200
    client.cookies.set("lang", "uk")  # and why, in Ukrainian (it was English only)
    assert "Не видається: зроблено з k = 3, що менше" in client.get(f"/releases/{small.release_id}").text
    refusal = client.get(f"/releases/{small.release_id}/download").text
    assert f"випуск {small.release_id} не видається: зроблено з k = 3" in refusal
    assert "not handed out" not in refusal
    refused = app.state.hub.hub.con.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'web.refused' AND object LIKE 'release:%'"
    ).fetchone()[0]
    assert refused == 5


def test_a_dp_release_without_the_k_floor_is_not_handed_out(client, app, demo_hub, tmp_path):
    from safelight.release.hub import release_hub
    from safelight.release.ledger import Ledger

    with app.state.hub.exclusive() as hub:
        Ledger(hub).set_budget("hub:cases", 10.0, 1e-3)
        raw = release_hub(hub, "dp-aggregates", tmp_path / "dp", columns=["gender"],
                          epsilon=1.0, length=1, floor=False)
        floored = release_hub(hub, "dp-aggregates", tmp_path / "dp2", columns=["gender"],
                              epsilon=1.0, length=1)
    api_login(client, demo_hub, "view")
    assert client.get(f"/api/v1/releases/{raw.release_id}/download").status_code == 403
    assert client.get(f"/api/v1/releases/{floored.release_id}/download").status_code == 200


def test_a_web_k_synthetic_release_after_others_carries_the_command_lines_warning(
        client, app, demo_hub):
    """The web's k-synthetic releases lacked the warning `release hub` writes after earlier
    releases (row-level releases are not audited against them), and its settings.json named
    the hub's file (a trial of releases from a hub)."""
    import json
    from pathlib import Path

    token = api_login(client, demo_hub, "admin")
    first = client.post("/api/v1/releases", headers={"X-CSRF-Token": token},
                        json={"method": "aggregates", **RELEASE})
    assert first.status_code == 200, first.text
    made = client.post("/api/v1/releases", headers={"X-CSRF-Token": token},
                       json={"method": "synthetic", **RELEASE})
    assert made.status_code == 200, made.text
    assert any("not audited against earlier ones" in w for w in made.json()["warnings"])
    rid = made.json()["release_id"]
    page = client.get(f"/releases/{rid}")
    assert "not audited against earlier ones" in page.text and 'id="warnings"' in page.text
    path = app.state.hub.one("SELECT output_path FROM releases WHERE release_id = ?",
                             [rid])["output_path"]
    folder = Path(path).parent
    settings = json.loads((folder / "settings.json").read_text("utf-8"))
    assert "hub" not in settings["source"]
    assert "not audited against earlier ones" in (folder / "PUBLISH.txt").read_text("utf-8")
