"""The review queue shows, serves and accepts decisions on a pair only while neither record's
case forbids linkage now (a later export may set consent to none before any link run)."""

from __future__ import annotations

from helpers_web import api_login


def test_a_pair_whose_record_lost_linkage_consent_leaves_the_queue(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "rev")
    q = client.get("/api/v1/review?status=all&limit=500").json()
    pair = q["pairs"][0]
    pid, total = pair["pair_id"], q["total"]
    assert client.get(f"/api/v1/review/{pid}").status_code == 200
    con = app.state.hub.hub.con
    con.execute("UPDATE cases SET consent = 'none', consent_linkage = false "
                "WHERE contributor = ? AND record_id = ?",
                [pair["left_contributor"], pair["left_record_id"]])
    after = client.get("/api/v1/review?status=all&limit=500").json()
    assert pid not in [p["pair_id"] for p in after["pairs"]]
    assert after["total"] < total
    assert client.get(f"/api/v1/review/{pid}").status_code == 404
    r = client.post(f"/api/v1/review/{pid}/decision", headers={"X-CSRF-Token": csrf},
                    json={"decision": "match", "reason": "same person"})
    assert r.status_code == 404
    assert con.execute("SELECT count(*) FROM link_review WHERE decision IS NOT NULL").fetchone()[0] == 0
