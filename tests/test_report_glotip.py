"""GLOTIP indicators checked against an independent computation on the same file.

The independent side reads ``data_glotip.xlsx`` with openpyxl and computes each headline in plain
Python (dicts and sums) — no DuckDB, no safelight ingest, no safelight.report code. Only the
cross-border check borrows one thing from the hub: the country each citizenship label resolved
to (``category_iso3``, looked up by source row), because resolving multilingual labels is the
geography module's job, tested in test_geography.py.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.realdata

AGGREGATE_UNITS = {"SAM", "SAF", "CAR", "CAS", "EEU", "MCA", "MCN"}  # UNODC's non-country units


DOMESTIC_TOKENS = {"nationals", "own country", "netherlands (own country)",
                   "ciudadanos de su país", "ciudadanos de su pa\ufffds", "domestic (myanmar)"}
FOREIGN_GROUPS = {"(especifique otras nacionalidades)", "otros",
                  "personnes de nationalit\ufffd \ufffdtrang\ufffdre",
                  "personnes de nationalité étrangère",
                  "other countries (dominica, panama, french guiana, brazil, etc.)",
                  "africa others", "europe others", "asia others", "eu-28 others",
                  "european economic area", "amercias", "central africa",
                  "caribbean (trinidad and tobago, barbados, etc)", "m49 region: africa",
                  "m49 region: asia", "m49 region: americas"}
SUCCESSORS = {"SUN", "YUG", "CSK", "SCG", "ANT"}  # cannot tell against a successor


def _citizenship_rows(raw_rows: list[dict]) -> list[dict]:
    return [r for r in raw_rows if r["Indicator"] == "Detected trafficking victims"
            and r["Dimension"] == "by citizenship"
            and r["Category"].strip().casefold() not in ("total", "total por año")]


def _value(txt: str) -> tuple[float, float, float]:
    if txt.strip() == "<5":
        return 1.0, 2.5, 4.0
    v = float(txt.replace(",", ""))
    return v, v, v


@pytest.fixture
def xlsx(shared_data) -> Path:
    return shared_data / "glotip" / "data_glotip.xlsx"


@pytest.fixture
def raw_rows(xlsx) -> list[dict]:
    return _raw_rows(xlsx)


@pytest.fixture
def computed(xlsx):
    return _computed(xlsx)


@cache
def _raw_rows(xlsx: Path) -> list[dict]:
    """Rows of the export as dicts, with the Excel row number (= ingest's source_row)."""
    import openpyxl

    wb = openpyxl.load_workbook(xlsx, read_only=True)
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    next(it), next(it)  # banner
    header = [str(h) for h in next(it)]
    rows = []
    for n, r in enumerate(it, start=4):
        d = dict(zip(header, ["" if v is None else str(v) for v in r], strict=False))
        code = d["Iso3_code"].strip()
        if len(code) != 3 or not code.isalpha() or code in AGGREGATE_UNITS:
            continue
        d["row"] = n
        d["lo"], d["mid"], d["hi"] = _value(d["txtVALUE"])
        rows.append(d)
    wb.close()
    return rows


@cache
def _computed(xlsx: Path):
    """The report computed by safelight from the same export, plus category_iso3 per row."""
    from safelight.report.glotip import glotip_report
    from safelight.report.model import ReportSettings
    from safelight.report.sources import glotip_source

    settings = ReportSettings()
    with glotip_source(xlsx, settings) as src:
        report = glotip_report(src, settings)
        iso = dict(src.con.execute(
            "SELECT source_row, category_iso3 FROM series WHERE dimension = 'citizenship'"
        ).fetchall())
    return report, iso


def _informative(rows: list[dict]) -> list[dict]:
    """Drop the country-years whose breakdown is '<5' in every cell (the report's rule)."""
    real = {(r["Iso3_code"], r["Year"]) for r in rows if r["txtVALUE"].strip() != "<5"}
    return [r for r in rows if (r["Iso3_code"], r["Year"]) in real]


def _sum(rows, **flt) -> tuple[float, float, float]:
    lo = mid = hi = 0.0
    for r in rows:
        if all(r[k] == v for k, v in flt.items()):
            lo, mid, hi = lo + r["lo"], mid + r["mid"], hi + r["hi"]
    return lo, mid, hi


def test_girls_share_per_year_matches_independent(raw_rows, computed):
    report, _ = computed
    groups = {("Female", "18 years or over"): "women", ("Male", "18 years or over"): "men",
              ("Female", "0 to 17 years"): "girls", ("Male", "0 to 17 years"): "boys"}
    per_year: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0] * 3))
    breakdown = [r for r in raw_rows if r["Indicator"] == "Detected trafficking victims"
                 and r["Dimension"] == "Total" and (r["Sex"], r["Age"]) in groups]
    for r in _informative(breakdown):
        g = groups[(r["Sex"], r["Age"])]
        if g:
            acc = per_year[r["Year"]][g]
            acc[0] += r["lo"]
            acc[1] += r["mid"]
            acc[2] += r["hi"]
    headline = report.indicator("victims_by_sex_age").headline["girls_share_by_year"]
    assert set(headline) == set(per_year)
    for year, g in per_year.items():
        total_mid = sum(v[1] for v in g.values())
        others = [k for k in g if k != "girls"]
        low = g["girls"][0] / (g["girls"][0] + sum(g[k][2] for k in others))
        high = g["girls"][2] / (g["girls"][2] + sum(g[k][0] for k in others))
        got = headline[year]
        assert got["mid"] == pytest.approx(g["girls"][1] / total_mid, abs=5e-5), year
        assert got["low"] == pytest.approx(low, abs=5e-5)
        assert got["high"] == pytest.approx(high, abs=5e-5)
        assert got["low"] <= got["mid"] <= got["high"]
    # the values quoted in docs/report.md
    assert headline["2019"]["value"] == pytest.approx(0.159, abs=0.001)
    assert headline["2020"]["value"] == pytest.approx(0.171, abs=0.001)


def test_change_2019_2020_over_countries_reporting_both(raw_rows, computed):
    report, _ = computed
    ind = report.indicator("change_between_years")
    for indicator, measure in [("Detected trafficking victims", "detected_victims"),
                               ("Persons convicted", "persons_convicted"),
                               ("Persons prosecuted", "persons_prosecuted")]:
        by_year: dict[str, dict[str, tuple]] = {"2019": {}, "2020": {}}
        for r in raw_rows:
            if (r["Indicator"] == indicator and r["Dimension"] == "Total" and r["Sex"] == "Total"
                    and r["Age"] == "Total" and r["Year"] in by_year):
                by_year[r["Year"]][r["Iso3_code"]] = (r["lo"], r["mid"], r["hi"])
        both = set(by_year["2019"]) & set(by_year["2020"])
        s19 = [sum(by_year["2019"][c][i] for c in both) for i in range(3)]
        s20 = [sum(by_year["2020"][c][i] for c in both) for i in range(3)]
        got = ind.cell(measure=measure, period="change")
        assert got.units == len(both)
        assert got.share.mid == pytest.approx(s20[1] / s19[1] - 1, abs=1e-9)
        assert got.share.low == pytest.approx(s20[0] / s19[2] - 1, abs=1e-9)
        assert got.share.high == pytest.approx(s20[2] / s19[0] - 1, abs=1e-9)
        assert ind.cell(measure=measure, period="2019").count.mid == pytest.approx(s19[1])
    dv = ind.headline["detected_victims_change"]
    assert dv["countries"] == 112
    assert dv["value"] == pytest.approx(-0.097, abs=0.001)
    assert ind.headline["persons_convicted_change"]["value"] == pytest.approx(-0.317, abs=0.001)


def test_form_shares_match_independent(raw_rows, computed):
    report, _ = computed
    ind = report.indicator("forms_of_exploitation")
    labels = {"Sexual exploitation": "sexual_exploitation", "Forced labour": "forced_labour",
              "Other forms of exploitation": "other_purposes"}
    breakdown = _informative([
        r for r in raw_rows if r["Indicator"] == "Detected trafficking victims"
        and r["Dimension"] == "by form of exploitation" and r["Sex"] == "Total"
        and r["Age"] == "Total"])
    for year in ("2019", "2020"):
        sums = {f: [0.0, 0.0, 0.0] for f in labels.values()}
        for r in breakdown:
            if r["Year"] == year:
                acc = sums[labels[r["Category"]]]
                acc[0], acc[1], acc[2] = acc[0] + r["lo"], acc[1] + r["mid"], acc[2] + r["hi"]
        total = sum(v[1] for v in sums.values())
        for form, v in sums.items():
            cell = ind.cell(year=int(year), form=form)
            assert cell.count.mid == pytest.approx(v[1])
            assert cell.share.mid == pytest.approx(v[1] / total, abs=1e-9)
    assert ind.headline["other_purposes_share_2020"]["value"] == pytest.approx(0.294, abs=0.001)


def test_cross_border_share_matches_independent(raw_rows, computed):
    report, iso = computed
    domestic_tokens, foreign_groups, successors = DOMESTIC_TOKENS, FOREIGN_GROUPS, SUCCESSORS
    breakdown = _informative(_citizenship_rows(raw_rows))
    for year in ("2019", "2020"):
        dom = [0.0, 0.0, 0.0]
        cross = [0.0, 0.0, 0.0]
        for r in breakdown:
            if r["Year"] != year:
                continue
            label = r["Category"].strip().casefold()
            code = iso.get(r["row"])
            if label in domestic_tokens or code == r["Iso3_code"]:
                acc = dom
            elif label in foreign_groups or (code and code not in successors):
                acc = cross
            else:
                continue
            acc[0], acc[1], acc[2] = acc[0] + r["lo"], acc[1] + r["mid"], acc[2] + r["hi"]
        cell = report.indicator("cross_border").cell(year=int(year), origin="cross_border")
        assert cell.count.mid == pytest.approx(cross[1]), year
        assert cell.share.mid == pytest.approx(cross[1] / (cross[1] + dom[1]), abs=1e-9)
    hl = report.indicator("cross_border").headline
    assert hl["cross_border_share_2020"]["value"] == pytest.approx(0.436, abs=0.001)
    # change in cross-border victims over countries informative in both years (GLOTIP: -20 %)
    per_country: dict[tuple[str, str], float] = defaultdict(float)
    informative = defaultdict(set)
    for r in breakdown:
        if r["Year"] in ("2019", "2020"):
            label = r["Category"].strip().casefold()
            code = iso.get(r["row"])
            cls = ("domestic" if label in domestic_tokens or code == r["Iso3_code"] else
                   "cross" if label in foreign_groups or (code and code not in successors) else
                   None)
            if cls and r["txtVALUE"].strip() != "<5":
                informative[r["Year"]].add(r["Iso3_code"])
            if cls == "cross":
                per_country[(r["Iso3_code"], r["Year"])] += r["mid"]
    both = informative["2019"] & informative["2020"]
    s19 = sum(v for (c, y), v in per_country.items() if y == "2019" and c in both)
    s20 = sum(v for (c, y), v in per_country.items() if y == "2020" and c in both)
    got = report.indicator("cross_border_change").cell(measure="cross_border", period="change")
    assert got.share.mid == pytest.approx(s20 / s19 - 1, abs=1e-9)
    assert got.share.mid == pytest.approx(-0.196, abs=0.001)


def test_conflict_origin_matches_independent(raw_rows, computed):
    """Victims whose country (a named citizenship, or the reporting country for nationals) is
    on the shipped conflict list for the year, and their share of victims of known citizenship:
    the same informative country-years as the cross-border share."""
    from safelight.report.conflict import load_conflict_list  # the list is input data here

    report, iso = computed
    conflict = load_conflict_list()
    rows = []
    for r in _informative(_citizenship_rows(raw_rows)):
        label, code = r["Category"].strip().casefold(), iso.get(r["row"])
        if label in DOMESTIC_TOKENS or code == r["Iso3_code"]:
            rows.append((r["Year"], r["Iso3_code"], r))
        elif label in FOREIGN_GROUPS or (code and code not in SUCCESSORS):
            rows.append((r["Year"], code, r))  # code None: a group of nationalities
    ind = report.indicator("conflict_origin")
    checked = 0
    for year in conflict.years():
        known = [r for y, _, r in rows if y == str(year)]
        if not known:
            continue
        listed = [r for y, origin, r in rows if y == str(year)
                  and origin in conflict.by_year[year]]
        cell = ind.cell(year=year, origin_region="total")
        mid = sum(r["mid"] for r in listed)
        assert cell.count.mid == pytest.approx(mid)
        assert cell.count.low == pytest.approx(sum(r["lo"] for r in listed))
        assert cell.share.mid == pytest.approx(mid / sum(r["mid"] for r in known), abs=1e-9)
        checked += 1
    assert checked >= 2  # 2019 and 2020 have a list and a citizenship breakdown
    assert "2018" in ind.notes[0] and "not computed" in ind.notes[0]


def test_censored_means_one_to_four(raw_rows):
    """Why '<5' is carried as 1..4 and not 0..4: the export publishes no 0 and no number below
    5, and a category a country does not report is absent rather than '<5' — 'Sex: Other' is
    in far fewer country-years than the female/male split it would accompany if zeros were
    masked as '<5'."""
    values = [r["txtVALUE"].strip() for r in raw_rows]
    numbers = [float(v.replace(",", "")) for v in values if v != "<5"]
    assert min(numbers) >= 5 and 0 not in numbers
    victims = [r for r in raw_rows if r["Indicator"] == "Detected trafficking victims"
               and r["Dimension"] == "Total"]
    split = {(r["Iso3_code"], r["Year"]) for r in victims if r["Sex"] in ("Female", "Male")}
    other = {(r["Iso3_code"], r["Year"]) for r in victims if r["Sex"] == "Other"}
    assert len(other) < 0.5 * len(split)


def test_prosecutions_and_convictions_per_year(raw_rows, computed):
    report, _ = computed
    for indicator, ind_id in [("Persons convicted", "persons_convicted_per_year"),
                              ("Persons prosecuted", "persons_prosecuted_per_year")]:
        ind = report.indicator(ind_id)
        for year in ("2017", "2020"):
            lo, mid, hi = _sum(raw_rows, Indicator=indicator, Dimension="Total", Sex="Total",
                               Age="Total", Year=year)
            cell = ind.cell(year=int(year))
            assert (cell.count.low, cell.count.mid, cell.count.high) == pytest.approx((lo, mid, hi))


def test_every_published_count_passes_the_threshold(computed):
    report, _ = computed
    from safelight.report.disclosure import is_small

    hidden = 0
    for ind in report.indicators:
        for c in ind.cells:
            if c.suppressed:
                hidden += 1
            elif c.count is not None:
                assert not is_small(c.count, report.settings.threshold), (ind.id, c.key)
    assert hidden > 0  # the region-flow matrix has small cells: the rule did something


def test_outputs_are_traceable_and_offline(xlsx, computed, tmp_path):
    import csv
    import hashlib
    import json

    from safelight.report.render import write_report

    report, _ = computed
    paths = write_report(report, tmp_path / "out")
    doc = json.loads(paths["json"].read_text("utf-8"))
    prov = doc["provenance"]
    assert prov["contribution"]["file_sha256"] == hashlib.sha256(xlsx.read_bytes()).hexdigest()
    assert prov["contribution"]["contribution_id"] >= 1
    assert prov["software_version"] and prov["region_table_fingerprint"]
    by_id = {i["id"]: i for i in doc["indicators"]}
    girls = by_id["victims_by_sex_age"]["headline"]["girls_share_by_year"]["2020"]
    assert girls["value"] == pytest.approx(0.171, abs=0.001)
    assert any("every cell of their breakdown is '<5'" in n
               for n in by_id["forms_of_exploitation"]["notes"])
    for ind in doc["indicators"]:
        assert "SELECT" in ind["query"] and ind["filters"] and ind["denominator"]
        for c in ind["cells"]:
            if c["suppressed"]:
                assert c["count"] is None and c["share"] is None
    html = paths["html"].read_text("utf-8")
    assert "not the number of people trafficked" in html  # what the data cannot say
    assert "&lt;5" in html and html.count("<svg") >= 6
    for bad in ("<script src", "<link ", "url(http", "cdn."):
        assert bad not in html
    with (paths["tables"] / "victims_by_sex_age.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    r2020 = next(r for r in rows if r["year"] == "2020" and r["group"] == "girls")
    assert float(r2020["count_low"]) <= float(r2020["count_central"]) <= float(r2020["count_high"])
    assert (paths["charts"] / "victims_by_sex_age.png").read_bytes()[:4] == b"\x89PNG"


def test_a_report_replaces_an_earlier_one_and_never_joins_other_files(computed, tmp_path):
    """A new-user trial (2026-12-01) wrote a hub report into a GLOTIP report's folder: the
    GLOTIP-only charts and tables stayed beside the new report, and the folder published a mix
    of two reports."""
    from safelight.errors import UsageError
    from safelight.report.render import write_report

    report, _ = computed
    out = tmp_path / "out"
    write_report(report, out)
    stale_chart, stale_table = out / "charts" / "only_in_the_old.svg", out / "tables" / "old.csv"
    stale_chart.write_text("<svg/>", "utf-8")
    stale_table.write_text("a\n1\n", "utf-8")
    write_report(report, out)
    assert not stale_chart.exists() and not stale_table.exists()
    assert (out / "report.html").is_file()
    other = tmp_path / "papers"
    other.mkdir()
    (other / "notes.txt").write_text("not for publication", "utf-8")
    with pytest.raises(UsageError, match="holds other files"):
        write_report(report, other)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    (out / "survivors.csv").write_text("a private list", "utf-8")  # beside an earlier report
    with pytest.raises(UsageError, match=r"holds other files \(survivors.csv\)"):
        write_report(report, out)
