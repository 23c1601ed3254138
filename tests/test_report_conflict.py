"""The conflict-affected country list (shipped and per deployment) and the hub indicator
"victims originating from conflict-affected countries", against an independent tally."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from test_report_hub import COLUMNS, _rows

from safelight.errors import InputFileError
from safelight.report.conflict import COLUMNS as LIST_COLUMNS
from safelight.report.conflict import load_conflict_list
from safelight.report.hub import hub_report
from safelight.report.model import ReportSettings
from safelight.report.sources import hub_source

HEADER = "# list_version: test.1\n" + ",".join(LIST_COLUMNS) + "\n"


def _list(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "conflict.csv"
    p.write_text(header + body, "utf-8")
    return p


def test_shipped_list_is_versioned_and_every_year_cited():
    cl = load_conflict_list()
    assert cl.version and len(cl.fingerprint) == 16
    assert cl.years()  # at least one year
    for year in cl.years():
        assert cl.by_year[year]
        for cite in cl.citations[year]:
            assert cite["source_url"].startswith("https://") and cite["retrieved"]
    prov = cl.provenance()
    assert prov["list_version"] == cl.version and set(prov["years"]) == {str(y) for y in
                                                                         cl.years()}


def test_shipped_list_is_complete_and_follows_its_year_rule():
    """2020-2025 are declared complete and 2019 partial (one source, West Bank and Gaza
    uncertain); each year holds one classification, the World Bank FCS list of fiscal year t+1
    (published July of t), and its conflict category only."""
    cl = load_conflict_list()
    assert cl.complete_years == frozenset(range(2020, 2026)) and cl.partial_years() == [2019]
    assert 2018 not in cl.by_year  # no conflict category before FY20: no list, not a guess
    path = Path(__file__).parents[1] / "src/safelight/report/data/conflict_countries.csv"
    lines = path.read_text("utf-8").splitlines()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert len(rows) == sum(len(cl.by_year[y]) for y in cl.years())  # one row per country-year
    for year in cl.years():
        lists = {r["list"] for r in rows if int(r["year"]) == year}
        assert len(lists) == 1, (year, lists)
        fy = re.fullmatch(r"World Bank FCS list FY(\d\d) \(released July (\d{4})\)", lists.pop())
        assert fy and 2000 + int(fy[1]) == year + 1 and int(fy[2]) == year
    assert {r["category"] for r in rows} == {"conflict"}
    assert all(r["note"] for r in rows)  # every row says how good its source is
    prov = cl.provenance()
    assert prov["complete_years"] == list(range(2020, 2026))
    assert [y for y, v in prov["years"].items() if not v["complete"]] == ["2019"]


@pytest.mark.parametrize(("spec", "years"), [
    ("2019-2021", {2019, 2020, 2021}),
    ("2019, 2021", {2019, 2021}),
    (" 2021 ,2019-2019,", {2019, 2021}),
    ("", set()),
])
def test_complete_years_are_read_from_the_header(tmp_path, spec, years):
    body = "".join(f"UKR,{y},l,c,https://x,2026-01-01,\n" for y in (2019, 2020, 2021))
    cl = load_conflict_list(_list(tmp_path, body, f"# complete_years: {spec}\n" + HEADER))
    assert cl.complete_years == years
    assert cl.partial_years() == sorted({2019, 2020, 2021} - years)
    assert [y for y, v in cl.provenance()["years"].items() if v["complete"]] == \
        [str(y) for y in sorted(years)]


@pytest.mark.parametrize(("body", "header", "message"), [
    ("XXX,2020,l,c,https://x,2026-01-01,\n", HEADER, "row 3, column iso3"),
    ("UKR,twenty,l,c,https://x,2026-01-01,\n", HEADER, "column year"),
    ("UKR,2020,l,c,,2026-01-01,\n", HEADER, "column source_url: empty"),
    ("UKR,2020,l,c,https://x,2026-01-01,\n", ",".join(LIST_COLUMNS) + "\n", "list_version"),
    ("UKR,2020\n", "# list_version: 1\niso3,year\n", "missing column"),
    ("UKR,2020,l,c,https://x,2026-01-01,\nUKR,2020,m,c,https://y,2026-01-01,\n", HEADER,
     "row 4: UKR in 2020 is already listed in row 3"),
    ("UKR,2020,l,c,https://x,2026-01-01,\n", "# complete_years: 2020-2021\n" + HEADER,
     "complete_years names year.* without any row: 2021"),
    ("UKR,2020,l,c,https://x,2026-01-01,\n", "# complete_years: FY21\n" + HEADER,
     "'FY21' is not a year or a range"),
    ("UKR,2020,l,c,https://x,2026-01-01,\n", "# complete_years: 2021-2020\n" + HEADER,
     "runs backwards"),
])
def test_a_bad_list_is_refused_with_where_and_how(tmp_path, body, header, message):
    with pytest.raises(InputFileError, match=message):
        load_conflict_list(_list(tmp_path, body, header))


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
        ingest_file(hub, path, contributor="test", profile=load_profile("safelight"))
    return hub_path, rows


def test_hub_conflict_origin_matches_an_independent_tally(case_hub, tmp_path):
    hub_path, rows = case_hub
    # a deployment's own list: Ukraine in 2020, Nigeria and Viet Nam in 2021
    own = _list(tmp_path, "UKR,2020,test,c,https://example.org/a,2026-11-29,\n"
                          "NGA,2021,test,c,https://example.org/b,2026-11-29,\n"
                          "VNM,2021,test,c,https://example.org/b,2026-11-29,\n")
    settings = ReportSettings(threshold=1, conflict_table=str(own))
    with hub_source(hub_path, settings) as src:
        rep = hub_report(src, settings)
    ind = rep.indicator("conflict_origin")
    listed = {2020: {"UKR"}, 2021: {"NGA", "VNM"}}
    counted = [r for r in rows if r["consent"] != "none"]
    region = {"UKR": "Eastern Europe and Central Asia", "NGA": "Sub-Saharan Africa",
              "VNM": "East Asia and the Pacific"}
    for year, codes in listed.items():
        of_year = [r for r in counted if int(r["year_of_registration"]) == year]
        hits = Counter(region[r["citizenship"]] for r in of_year if r["citizenship"] in codes)
        for reg, n in hits.items():
            cell = ind.cell(year=year, origin_region=reg)
            assert cell.count.mid == n
            assert cell.share.mid == pytest.approx(n / sum(hits.values()))
        total = ind.cell(year=year, origin_region="total")
        assert total.count.mid == sum(hits.values())
        assert total.share.mid == pytest.approx(sum(hits.values()) / len(of_year))
    assert rep.provenance["conflict_list"]["source"] == str(own)
    assert ind.filters["conflict_list_version"] == "test.1"


def test_years_without_a_list_are_not_computed(case_hub, tmp_path):
    hub_path, _ = case_hub
    own = _list(tmp_path, "UKR,2020,test,c,https://example.org/a,2026-11-29,\n")
    settings = ReportSettings(conflict_table=str(own))
    with hub_source(hub_path, settings) as src:
        ind = hub_report(src, settings).indicator("conflict_origin")
    assert {c.key["year"] for c in ind.cells} == {2020}
    assert "not computed: 2021" in ind.notes[0]


def test_partial_years_are_computed_and_flagged(case_hub, tmp_path):
    """A year with rows but not declared complete is computed, and the note says its counts
    are lower bounds; a complete year is not named there."""
    hub_path, _ = case_hub
    own = _list(tmp_path, "UKR,2020,test,c,https://example.org/a,2026-11-29,\n"
                          "NGA,2021,test,c,https://example.org/b,2026-11-29,\n",
                "# complete_years: 2020\n" + HEADER)
    settings = ReportSettings(threshold=1, conflict_table=str(own))
    with hub_source(hub_path, settings) as src:
        rep = hub_report(src, settings)
    ind = rep.indicator("conflict_origin")
    assert {c.key["year"] for c in ind.cells} == {2020, 2021}
    assert ind.notes[0].endswith("(counts and shares are lower bounds): 2021.")
    years = rep.provenance["conflict_list"]["years"]
    assert years["2020"]["complete"] and not years["2021"]["complete"]
