"""``safelight release ...`` end to end on a small generated table."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers_release import random_table

from safelight.release.cli import release
from safelight.release.table import read_table, write_csv


def _table(tmp_path):
    path = tmp_path / "table.csv"
    write_csv(random_table(4, n=400), path)
    return path


def test_aggregates_command(tmp_path) -> None:
    src = _table(tmp_path)
    out = tmp_path / "agg"
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5", "--length", "2",
                                     "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {"aggregates.csv", "settings.json",
                                               "evaluation.json", "evaluation.html"}
    settings = json.loads((out / "settings.json").read_text())
    assert settings["method"] == "aggregates" and settings["k"] == 5
    assert settings["software"].startswith("safelight ")
    assert len(settings["source"]["sha256"]) == 64
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["leaked"] == 0
    # a second run into the same folder is refused without --force
    r = CliRunner().invoke(release, ["aggregates", str(src), "--out", str(out)])
    assert r.exit_code == 2 and "--force" in r.output


def test_synthetic_command(tmp_path) -> None:
    src = _table(tmp_path)
    out = tmp_path / "syn"
    r = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--length", "3",
                                     "--iterations", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    syn = read_table(out / "synthetic.csv")
    assert syn.n_rows == 400
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["leaked"] == 0 and ev["fabricated"] == 0


def test_dp_not_available_and_bad_file(tmp_path) -> None:
    src = _table(tmp_path)
    r = CliRunner().invoke(release, ["synthetic", str(src), "--epsilon", "1",
                                     "--out", str(tmp_path / "dp")])
    assert r.exit_code == 2 and "not available" in r.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = CliRunner().invoke(release, ["aggregates", str(empty), "--out", str(tmp_path / "x")])
    assert r.exit_code == 3 and "empty" in r.output
