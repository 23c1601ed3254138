"""The hub report over case records: counts against an independent tally of the input rows,
consent filtering, suppression of every small cell, and the CLI's outputs."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from safelight.report.cli import report as report_cli
from safelight.report.disclosure import is_small
from safelight.report.hub import hub_report
from safelight.report.model import ReportError, ReportSettings
from safelight.report.sources import hub_source

COLUMNS = ["record_id", "year_of_registration", "gender", "age_years", "citizenship",
           "country_of_exploitation", "types_of_exploitation", "means_of_control", "consent"]


def _rows(seed: int = 3, n: int = 600) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        gender = rng.choices(["female", "male", ""], [60, 35, 5])[0]
        age = rng.choices([str(rng.randint(19, 60)), str(rng.randint(8, 17)), ""], [75, 20, 5])[0]
        cit = rng.choices(["UKR", "NGA", "ROU", "VNM", "BRA"], [40, 25, 20, 12, 3])[0]
        coe = rng.choices([cit, "DEU", "ITA", "POL", ""], [25, 30, 25, 15, 5])[0]
        forms = rng.choices(["sexual_exploitation", "forced_labour",
                             "sexual_exploitation;forced_labour", "forced_criminal_activity",
                             "organ_removal", ""], [40, 35, 8, 10, 1, 6])[0]
        consent = rng.choices(["full", "statistics_only", "none"], [80, 15, 5])[0]
        means = rng.choices(["debt_bondage", "withholds_documents",
                             "debt_bondage;withholds_documents", ""], [30, 30, 10, 30])[0]
        rows.append({"record_id": f"r{i}", "year_of_registration": str(rng.choice([2020, 2021])),
                     "gender": gender, "age_years": age, "citizenship": cit,
                     "country_of_exploitation": coe, "types_of_exploitation": forms,
                     "means_of_control": means, "consent": consent})
    # a deliberately tiny group: three boys from Brazil exploited in Brazil in 2021
    for j in range(3):
        rows.append({"record_id": f"tiny{j}", "year_of_registration": "2021", "gender": "male",
                     "age_years": "12", "citizenship": "BRA", "country_of_exploitation": "BRA",
                     "types_of_exploitation": "forced_begging", "means_of_control": "",
                     "consent": "full"})
    return rows


def _group(r: dict[str, str]) -> str:
    if r["gender"] not in ("female", "male") or not r["age_years"]:
        return "not_recorded"
    minor = int(r["age_years"]) < 18
    return {("female", False): "women", ("male", False): "men", ("female", True): "girls",
            ("male", True): "boys"}[(r["gender"], minor)]


@pytest.fixture
def case_hub(tmp_path) -> tuple[Path, list[dict[str, str]]]:
    from safelight.ingest import ingest_file, load_profile
    from safelight.store import open_hub

    rows = _rows()
    path = tmp_path / "cases.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    hub_path = tmp_path / "hub.duckdb"
    with open_hub(hub_path, create=True) as hub:
        res = ingest_file(hub, path, contributor="test", profile=load_profile("safelight"))
        assert res.rows_quarantined == 0
    return hub_path, rows


def _report(hub_path: Path, threshold: int = 11):
    settings = ReportSettings(threshold=threshold)
    with hub_source(hub_path, settings) as src:
        return hub_report(src, settings)


def test_counts_match_an_independent_tally(case_hub):
    hub_path, rows = case_hub
    counted = [r for r in rows if r["consent"] != "none"]
    rep = _report(hub_path, threshold=1)  # threshold 1: nothing suppressed, compare every cell
    by_group = Counter((int(r["year_of_registration"]), _group(r)) for r in counted)
    ind = rep.indicator("records_by_sex_age")
    for (year, g), n in by_group.items():
        assert ind.cell(year=year, group=g).count.mid == n
    known = sum(n for (y, g), n in by_group.items() if g != "not_recorded")
    all_years_girls = sum(n for (y, g), n in by_group.items() if g == "girls")
    assert ind.cell(year="all years", group="girls").share.mid == pytest.approx(
        all_years_girls / known)
    forms = Counter((f, _group(r)) for r in counted for f in r["types_of_exploitation"].split(";")
                    if f)
    fi = rep.indicator("forms_by_sex_age")
    for (f, g), n in forms.items():
        assert fi.cell(value=f, group=g).count.mid == n
    means = Counter((m, _group(r)) for r in counted for m in r["means_of_control"].split(";")
                    if m)
    mi = rep.indicator("means_of_control_by_sex_age")
    for (m, g), n in means.items():
        assert mi.cell(value=m, group=g).count.mid == n
    with_means = Counter(_group(r) for r in counted if r["means_of_control"])
    assert mi.cell(value="debt_bondage", group="women").share.mid == pytest.approx(
        means[("debt_bondage", "women")] / with_means["women"])
    flows = Counter(
        "not_recorded" if not r["country_of_exploitation"] else
        "domestic" if r["citizenship"] == r["country_of_exploitation"] else "cross_border"
        for r in counted)
    di = rep.indicator("domestic_cross_border")
    assert di.cell(year="all years", flow="cross_border").count.mid == flows["cross_border"]
    assert di.cell(year="all years", flow="domestic").count.mid == flows["domestic"]
    fl = rep.indicator("region_flows_unodc")
    # Brazilians exploited in Brazil sit in the South America diagonal cell
    bra = sum(1 for r in counted if r["citizenship"] == "BRA" == r["country_of_exploitation"])
    assert fl.cell(origin="South America", exploitation="South America").count.mid == bra
    assert "not persons" in rep.counting_unit


def test_no_published_count_below_threshold_and_no_line_recomputable(case_hub):
    hub_path, _ = case_hub
    rep = _report(hub_path)
    assert rep.settings.threshold == 11
    hidden = 0
    for ind in rep.indicators:
        state = {c.key_tuple(): c for c in ind.cells}
        for c in ind.cells:
            if c.suppressed:
                hidden += 1
            elif c.count is not None:
                assert not is_small(c.count, 11), (ind.id, c.key, c.count)
        for ln in ind.lines:
            cells = [state[k] for k in [*ln.members, ln.total] if k in state]
            hid = [c for c in cells if c.suppressed]
            if len(hid) == 1:
                assert all(c.count.mid == 0 for c in cells if not c.suppressed)
    assert hidden > 0
    # the three Brazilian boys are hidden in every table
    assert rep.indicator("forms_by_sex_age").cell(value="forced_begging",
                                                  group="boys").suppressed == "small"


def test_cli_writes_offline_outputs_without_hidden_values(case_hub, tmp_path):
    hub_path, _ = case_hub
    out = tmp_path / "out"
    res = CliRunner().invoke(report_cli, ["hub", str(hub_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "not persons" in res.output
    html = (out / "report.html").read_text("utf-8")
    assert "<svg" in html and "records, not persons" in html.replace("RECORDS", "records")
    for bad in ("<script src", "<link ", "url(http", "cdn."):
        assert bad not in html
    doc = json.loads((out / "report.json").read_text("utf-8"))
    assert doc["settings"]["threshold"] == 11
    assert doc["provenance"]["contributions"][0]["file_sha256"]
    # the published report names the hub's file, not the server's folders
    assert doc["provenance"]["input"] == hub_path.name and str(hub_path.parent) not in html
    assert CliRunner().invoke(report_cli, ["hub", str(hub_path), "--out", str(tmp_path / "t1"),
                                           "--threshold", "1"]).exit_code == 2
    for ind in doc["indicators"]:
        assert ind["query"] and ind["denominator"] and ind["definition"]
        for c in ind["cells"]:
            if c["suppressed"]:
                assert c["count"] is None and c["share"] is None
            elif c["count"] is not None:
                assert c["count"]["mid"] == 0 or c["count"]["mid"] >= 11
    with (out / "tables" / "forms_by_sex_age.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["status"].startswith("suppressed"):
                assert r["count_central"] == "" and r["share_central"] == ""
            elif r["count_central"]:
                assert float(r["count_central"]) == 0 or float(r["count_central"]) >= 11
    for name in ("records_by_sex_age", "forms_by_sex_age", "region_flows_unodc"):
        assert (out / "charts" / f"{name}.svg").stat().st_size > 1000
        assert (out / "charts" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "settings.json").read_text())["settings_version"] == 1


def test_empty_hub_is_an_error(tmp_path):
    from safelight.store import open_hub

    open_hub(tmp_path / "h.duckdb", create=True).close()
    with pytest.raises(ReportError, match="no case records"):
        _report(tmp_path / "h.duckdb")
    res = CliRunner().invoke(report_cli, ["glotip", str(tmp_path / "h.duckdb"), "--out",
                                          str(tmp_path / "o")])
    assert res.exit_code == 1 and "no GLOTIP series" in res.output


# The rendered page is checked in headless Chromium by tests/test_report_browser.py.


def test_chart_style_is_readable():
    import matplotlib as mpl

    from safelight.report import charts

    assert mpl.rcParams["font.size"] >= 10 and mpl.rcParams["xtick.labelsize"] >= 10
    assert charts.PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")  # Okabe-Ito
    assert len(set(charts.MARKERS)) == len(charts.MARKERS)  # series differ without colour


def test_demo_scenario_report_counts_records_and_suppresses(tmp_path):
    """On the generated multi-agency scenario: every counted record is a real (truth) record,
    the report counts records - more than the persons behind them, the over-count linkage will
    remove - and no published cell is below 11."""
    from safelight.demo.generator import generate_scenario
    from safelight.ingest import ingest_file, load_profile
    from safelight.store import open_hub

    scenario = generate_scenario(tmp_path / "scenario", seed=5, n_records=2000)
    hub_path = tmp_path / "hub.duckdb"
    with open_hub(hub_path, create=True) as hub:
        for c in scenario.contributors:
            ingest_file(hub, c.path, contributor=c.name, profile=load_profile(c.profile_path))
        counted = hub.con.execute("SELECT contributor, record_id FROM cases "
                                  "WHERE consent_statistics").fetchall()
    with scenario.truth_path.open(encoding="utf-8") as fh:
        truth = {(r["contributor"], r["record_id"]): r["person_id"] for r in csv.DictReader(fh)}
    assert all(key in truth for key in counted)
    persons = {truth[key] for key in counted}
    rep = _report(hub_path)
    total = rep.indicator("records_by_sex_age").cell(year="all years", group="total")
    assert total.count.mid == len(counted) > len(persons)
    for ind in rep.indicators:
        for c in ind.cells:
            if not c.suppressed and c.count is not None:
                assert c.count.mid == 0 or c.count.mid >= 11, (ind.id, c.key)
