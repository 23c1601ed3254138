"""``detect ads``: outputs, quarantine accounting, escaping of untrusted ad text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from safelight.detect.cli import detect
from safelight.detect.corpus import CorpusSettings, generate_corpus


def _write(path: Path, n: int = 600) -> int:
    c = generate_corpus(CorpusSettings(n_ads=n, edit_rate=0.03, seed=11))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ad", "body", "site", "city", "posted_at", "region"])
        w.writerows(zip(c.ad_id, c.text, c.site, c.city, c.posted_at, c.region, strict=True))
        evil = '<script>alert("x")</script> <img src=x onerror=alert(1)> call 201 555 0123'
        w.writerow(["evil1", evil, "s", "c", "2024-01-01", "US"])
        w.writerow(["evil2", evil, "s", "c", "2024-01-02", "US"])
        w.writerow(["evil3", evil, "s", "c", "not a date", "US"])
        w.writerow(["", "no id here", "", "", "", ""])
        w.writerow(["blank", "   ", "", "", "", ""])
        w.writerow([c.ad_id[0], "a repeated id", "", "", "", ""])
    return n + 6


def test_detect_ads_outputs(tmp_path: Path) -> None:
    src = tmp_path / "ads.csv"
    rows = _write(src)
    out = tmp_path / "out"
    result = CliRunner().invoke(detect, ["ads", str(src), "--text-column", "body",
                                         "--id-column", "ad", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["rows_read"] == rows == summary["ads"] + summary["quarantined"]
    assert summary["quarantined"] == 3
    quarantine = list(csv.DictReader(open(out / "quarantine.csv", encoding="utf-8")))
    assert {q["rule"] for q in quarantine} == {"missing_record_id", "missing_value",
                                               "duplicate_record_id"}
    clusters = list(csv.DictReader(open(out / "clusters.csv", encoding="utf-8")))
    assert len(clusters) == summary["ads"] and set(clusters[0]) == {"ad_id", "cluster_id"}
    by_id = {r["ad_id"]: r["cluster_id"] for r in clusters}
    assert by_id["evil1"] == by_id["evil2"] == by_id["evil3"]
    networks = list(csv.DictReader(open(out / "networks.csv", encoding="utf-8")))
    net = {r["ad_id"]: r for r in networks}
    assert net["evil1"]["contact_points"] == "phone:+12015550123"
    leads = list(csv.DictReader(open(out / "leads.csv", encoding="utf-8")))
    assert leads and all(ld["reasons"] for ld in leads)
    assert [float(ld["score"]) for ld in leads] == sorted((float(ld["score"]) for ld in leads),
                                                          reverse=True)
    page = (out / "leads.html").read_text("utf-8")
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "never verdicts" in page and "<mark>" in page


def test_missing_column_is_one_line_error(tmp_path: Path) -> None:
    src = tmp_path / "ads.csv"
    src.write_text("id,text\n1,hello\n", "utf-8")
    result = CliRunner().invoke(detect, ["ads", str(src), "--text-column", "body",
                                         "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no column 'body'" in result.output


def test_empty_file_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "ads.csv"
    src.write_text("", "utf-8")
    result = CliRunner().invoke(detect, ["ads", str(src), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3 and "empty" in result.output
