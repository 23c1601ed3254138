"""The command line as a user meets it: one-line errors, exit codes, the demo."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner
from ingest_support import HEADER, good_row

from safelight.cli import EXIT_QUARANTINE, main


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write(path, rows, delimiter=";"):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def test_init_ingest_status_quarantine(tmp_path, profile_path):
    hub = tmp_path / "hub.duckdb"
    assert run("init", hub).exit_code == 0
    assert run("init", hub).exit_code == 2  # already exists: bad usage, nothing overwritten
    rows = [HEADER] + [good_row(i) for i in range(1, 31)]
    rows[5][2] = "Z"
    data = write(tmp_path / "a.csv", rows)
    result = run("ingest", hub, data, "-c", "ua", "-p", profile_path)
    assert result.exit_code == 0, result.output
    assert "30 rows read, 29 accepted" in result.output and "1 quarantined" in result.output
    again = run("ingest", hub, data, "-c", "ua", "-p", profile_path)
    assert "already ingested" in again.output
    assert run("ingest", hub, data, "-c", "other", "-p", profile_path, "--fail-on-quarantine").exit_code == EXIT_QUARANTINE
    status = run("status", hub, "--json")
    info = json.loads(status.output)
    assert info["cases"] == 58 and info["quarantined_rows"] == 2 and info["contributions"] == 2
    out = tmp_path / "q.csv"
    assert run("quarantine", hub, "--contributor", "ua", "--out", out).exit_code == 0
    with open(out, encoding="utf-8") as fh:
        q = list(csv.DictReader(fh))
    assert len(q) == 1 and q[0]["rules"] == "unknown_code" and q[0]["row"] == "6"  # line 6 of the file
    # a mistyped contributor is said, not answered with an empty export or a silent withdrawal
    typo = run("quarantine", hub, "--contributor", "au", "--out", tmp_path / "none.csv")
    assert typo.exit_code == 2 and "no contributor named 'au'" in typo.output
    withdrawn = run("consent", "withdraw", hub, "-c", "au", "3")  # refused: nothing recorded
    assert withdrawn.exit_code == 2 and "no contributor named 'au'" in withdrawn.output
    assert "--not-yet-received" in withdrawn.output
    ahead = run("consent", "withdraw", hub, "-c", "au", "3", "--before-first-export")  # old name
    assert ahead.exit_code == 0 and "1 record id(s): 0 case(s) known" in ahead.output
    assert "no contributor named" not in run("consent", "withdraw", hub, "-c", "ua", "3").output
    assert run("audit", "verify", hub).exit_code == 0


def test_file_level_errors_are_one_line_with_exit_code(tmp_path, profile_path):
    hub = tmp_path / "hub.duckdb"
    run("init", hub)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = run("ingest", hub, empty, "-c", "ua", "-p", profile_path)
    assert result.exit_code == 3
    assert "empty" in result.output and "Traceback" not in result.output
    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(256)) * 20)
    assert run("ingest", hub, binary, "-c", "ua", "-p", profile_path).exit_code == 3
    assert run("ingest", hub, empty, "-c", "ua", "-p", "no-such-profile").exit_code == 4
    assert run("status", tmp_path / "missing.duckdb").exit_code == 2  # click: path does not exist
    not_a_hub = tmp_path / "x.duckdb"
    not_a_hub.write_text("hello")
    assert run("ingest", not_a_hub, empty, "-c", "ua", "-p", profile_path).exit_code == 5


def test_check_and_reference_commands(tmp_path, profile_path):
    rows = [HEADER] + [good_row(i) for i in range(1, 6)]
    rows[2][10] = "31.02.1990"
    result = run("check", write(tmp_path / "a.csv", rows), "-p", profile_path)
    assert result.exit_code == 0 and "invalid_date" in result.output and "[dob]" in result.output
    assert "age_band" in run("standard", "fields").output
    assert "debt_bondage" in run("standard", "codes", "means_of_control").output
    assert "ctdc-legacy" in run("standard", "profiles").output


def test_demo_runs_end_to_end(tmp_path):
    result = run("demo", "--out", tmp_path / "demo", "--records", "1500")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "demo" / "summary.html").read_text("utf-8")
    assert "hub summary" in html and "<script" not in html and "http" not in html.replace("http-equiv", "")
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text("utf-8"))
    assert len(summary["contributions"]) >= 5
    for c in summary["contributions"]:
        assert c["accepted"] + c["quarantined"] == c["rows_read"]
        assert c["quarantined"] > 0  # every export carries injected faults
    # no identity value reaches the summary
    with open(tmp_path / "demo" / "scenario" / "ua-hotline" / "ua-hotline.csv", encoding="utf-8-sig") as fh:
        surnames = {row[2] for row in csv.reader(fh, delimiter=";")}
    assert not any(s and len(s) > 3 and s in html for s in list(surnames)[1:200])
