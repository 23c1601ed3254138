"""Detect leads in the hub: migration 8, stored runs and leads, audited review decisions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from safelight.detect.cli import detect
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.hub import list_leads, set_lead_status, store_run
from safelight.detect.pipeline import AdTable, analyse
from safelight.errors import UsageError
from safelight.store import open_hub

_RECRUIT = ("URGENT work abroad in Germany! No experience, free accommodation, visa and "
            "tickets paid. Call +49 151 2345 {:04d}")


def _ads(n: int = 300) -> AdTable:
    c = generate_corpus(CorpusSettings(n_ads=n, edit_rate=0.02, seed=5))
    ads = AdTable(list(c.ad_id), list(c.text), list(c.site), list(c.city), list(c.posted_at),
                  list(c.region))
    for k in range(6):   # one recruiter template carrying several indicators
        ads.ad_id.append(f"rec{k}")
        ads.text.append(_RECRUIT.format(k % 2))
        ads.site.append("jobs.example")
        ads.city.append(["Kyiv", "Lviv", "Odesa"][k % 3])
        ads.posted_at.append(f"2024-03-0{k + 1}")
        ads.region.append("UA")
    return ads


def test_store_run_and_review(tmp_path: Path) -> None:
    ads = _ads()
    analysis = analyse(ads)
    recruit = [ld for ld in analysis.leads if "rec0" in ld.example_ad_ids]
    assert recruit and any(r.code == "indicators" for r in recruit[0].reasons)
    assert {h.indicator for h in recruit[0].indicator_hits} >= {"travel_paid", "no_experience"}
    src = tmp_path / "ads.txt"
    src.write_text("input", "utf-8")
    with open_hub(tmp_path / "hub.duckdb", create=True) as hub:
        assert hub.schema_version() >= 8
        run_id = store_run(hub, analysis, src, "analyst1")
        rows = list_leads(hub, run_id, limit=10_000)
        assert len(rows) == len(analysis.leads) and all(r["status"] == "open" for r in rows)
        assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
        lead = next(r for r in rows if r["lead_id"] == recruit[0].lead_id)
        hits = [x for x in lead["reasons"] if x["code"] == "indicator_hit"]
        assert hits and all(x["term"] and x["sources"] and x["span"] for x in hits)
        run = hub.con.execute("SELECT ads, leads, audit_seq, actor FROM detect_runs").fetchone()
        assert run[:2] == (len(ads), len(analysis.leads)) and run[3] == "analyst1"
        action = hub.con.execute("SELECT action FROM audit_log WHERE seq = ?",
                                 [run[2]]).fetchone()[0]
        assert action == "detect_run"

        note = "same template; victim phone +380501793928"
        set_lead_status(hub, run_id, lead["lead_id"], "escalated", "reviewer1", note)
        again = list_leads(hub, run_id, status="escalated")
        assert [r["lead_id"] for r in again] == [lead["lead_id"]]
        assert again[0]["reviewed_by"] == "reviewer1" and again[0]["review_note"] == note
        # the permanent chain keeps that a note was given, not the note (it may name a person)
        (details,), = hub.con.execute("SELECT CAST(details AS VARCHAR) FROM audit_log "
                                      "WHERE action = 'detect_lead_status'").fetchall()
        assert "380501793928" not in details and '"note_given": true' in details
        with pytest.raises(UsageError, match="status"):
            set_lead_status(hub, run_id, lead["lead_id"], "guilty", "reviewer1")
        with pytest.raises(UsageError, match="no lead"):
            set_lead_status(hub, run_id, "T999999", "dismissed", "reviewer1")
        ok, msg = hub.verify_audit()
        assert ok, msg
        actions = [a for (a,) in hub.con.execute(
            "SELECT action FROM audit_log ORDER BY seq").fetchall()]
        assert actions[-2:] == ["detect_run", "detect_lead_status"]
        # tampering with the stored run's audit entry is detected
        hub.con.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = ?", [run[2]])
        assert not hub.verify_audit()[0]


def test_cli_hub(tmp_path: Path) -> None:
    ads = _ads(200)
    src = tmp_path / "ads.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "site", "city", "posted_at", "region"])
        w.writerows(zip(ads.ad_id, ads.text, ads.site, ads.city, ads.posted_at, ads.region,
                        strict=True))
    hub_path = tmp_path / "hub.duckdb"
    open_hub(hub_path, create=True).close()
    runner = CliRunner()
    res = runner.invoke(detect, ["ads", str(src), "--out", str(tmp_path / "out"), "--hub",
                                 str(hub_path), "--actor", "a1"])
    assert res.exit_code == 0, res.output
    assert "stored as detect run D" in res.output
    html = (tmp_path / "out" / "leads.html").read_text("utf-8")
    assert "indicators in ad rec" in html and "<mark>" in html
    listed = runner.invoke(detect, ["leads", str(hub_path)])
    assert listed.exit_code == 0 and "[open]" in listed.output
    run_id, lead_id = listed.output.split()[:2]
    rev = runner.invoke(detect, ["review", str(hub_path), run_id, lead_id, "dismissed",
                                 "--note", "benign", "--actor", "r1"])
    assert rev.exit_code == 0, rev.output
    assert "[dismissed]" in runner.invoke(detect, ["leads", str(hub_path), "--status",
                                                   "dismissed"]).output
    missing = runner.invoke(detect, ["ads", str(src), "--out", str(tmp_path / "o2"), "--hub",
                                     str(tmp_path)])
    assert missing.exit_code != 0
