"""The hub report counts persons after linkage, checked against the demo generator's truth.

The independent side reads the hub's ``cases`` rows with a plain SELECT and applies the documented
person rule (docs/report.md, "Counting persons") in plain Python: group records into persons,
take the earliest record's year / minor flag / country of exploitation, the most recent gender
and citizenship, the union of forms. With the generator's truth written in as the linkage
result the report must equal that computation exactly; with the real linkage run it must be
within the linkage error, measured as the number of counted records whose linked person is not
exactly their true person (each such record can move any one count by at most one).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from safelight.report.cli import report as report_cli
from safelight.report.hub import hub_report
from safelight.report.model import ReportError, ReportSettings
from safelight.report.sources import hub_source

THRESHOLD = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    from safelight.demo.generator import generate_scenario
    from safelight.ingest import ingest_file, load_profile
    from safelight.link.hub import link_hub
    from safelight.store import open_hub

    root = tmp_path_factory.mktemp("persons")
    scenario = generate_scenario(root / "scenario", seed=5, n_records=3000)
    plain = root / "plain.duckdb"
    with open_hub(plain, create=True) as hub:
        for c in scenario.contributors:
            with hub.transaction():
                hub.ensure_contributor(c.name, c.country)
            ingest_file(hub, c.path, contributor=c.name, profile=load_profile(c.profile_path))
    linked = root / "linked.duckdb"
    shutil.copy(plain, linked)
    with open_hub(linked) as hub:
        link_hub(hub)
    with scenario.truth_path.open(encoding="utf-8") as fh:
        truth = {(r["contributor"], r["record_id"]): r["person_id"] for r in csv.DictReader(fh)}
    # the same hub with the truth as its linkage result: the report must then equal the truth
    true_hub = root / "truth.duckdb"
    shutil.copy(linked, true_hub)
    con = duckdb.connect(str(true_hub))
    keys = con.execute("SELECT contributor, record_id FROM persons").fetchall()
    con.execute("CREATE TEMP TABLE t (contributor VARCHAR, record_id VARCHAR, pid VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(c, r, truth[(c, r)]) for c, r in keys])
    con.execute("UPDATE persons SET person_id = t.pid FROM t WHERE persons.contributor = "
                "t.contributor AND persons.record_id = t.record_id")
    con.close()
    return {"plain": plain, "linked": linked, "truth_hub": true_hub, "truth": truth}


def _report(hub: Path, **kw):
    settings = ReportSettings(threshold=THRESHOLD, **kw)
    with hub_source(hub, settings) as src:
        return hub_report(src, settings)


def _cases(hub: Path) -> list[dict]:
    con = duckdb.connect(str(hub), read_only=True)
    cur = con.execute("""
        SELECT c.contributor, c.record_id, c.contribution_id, c.year_of_registration,
               c.registration_date, c.gender, c.age_years, c.majority_status, c.citizenship,
               c.country_of_exploitation, c.types_of_exploitation, c.consent_linkage,
               p.person_id
        FROM cases c LEFT JOIN persons p USING (contributor, record_id)
        WHERE c.consent_statistics""")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    con.close()
    return rows


def _unit(r: dict, person_of) -> str:
    pid = person_of(r) if r["consent_linkage"] else None
    return pid or f"record:{r['contributor']}/{r['record_id']}"


def _independent(rows: list[dict], person_of) -> dict:
    """Persons by (year, group), by form, and all-years totals, by the documented rule."""
    units: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        units[_unit(r, person_of)].append(r)
    big = 10**9

    def order(r):  # earliest first; unknown year/date last
        return (r["year_of_registration"] if r["year_of_registration"] is not None else big,
                r["registration_date"].toordinal() if r["registration_date"] else big,
                r["contribution_id"], r["contributor"], r["record_id"])

    def minor(r):
        if r["majority_status"] is not None:
            return r["majority_status"] == "minor"
        return None if r["age_years"] is None else r["age_years"] < 18

    def first(recs, f):
        return next((f(r) for r in recs if f(r) is not None), None)

    by_year, forms = Counter(), Counter()
    for recs in units.values():
        recs = sorted(recs, key=order)
        year = first(recs, lambda r: r["year_of_registration"])
        gender = first(recs[::-1], lambda r: r["gender"] if r["gender"] != "unknown" else None)
        is_minor = first(recs, minor)
        if gender not in ("female", "male") or is_minor is None:
            grp = "not_recorded"
        else:
            grp = {("female", False): "women", ("male", False): "men",
                   ("female", True): "girls", ("male", True): "boys"}[(gender, is_minor)]
        by_year[("not recorded" if year is None else year, grp)] += 1
        by_year[("all years", grp)] += 1
        for f in {f for r in recs for f in (r["types_of_exploitation"] or [])}:
            forms[(f, grp)] += 1
    return {"by_year": by_year, "forms": forms, "persons": len(units)}


def _check_cells(rep, expected: dict, slack: int) -> int:
    worst = 0
    for c in rep.indicator("persons_by_sex_age").cells:
        if c.key["group"] in ("known", "total"):
            continue
        diff = abs(c.count.mid - expected["by_year"].get((c.key["year"], c.key["group"]), 0))
        worst = max(worst, diff)
        assert diff <= slack, (c.key, c.count.mid)
    for c in rep.indicator("forms_by_sex_age").cells:
        if c.key["group"] == "total" or c.key["value"] == "persons with a value":
            continue
        diff = abs(c.count.mid - expected["forms"].get((c.key["value"], c.key["group"]), 0))
        worst = max(worst, diff)
        assert diff <= slack, (c.key, c.count.mid)
    total = rep.indicator("persons_by_sex_age").cell(year="all years", group="total")
    assert abs(total.count.mid - expected["persons"]) <= slack
    return worst


def test_with_the_truth_as_linkage_the_report_equals_the_truth(demo):
    rows = _cases(demo["truth_hub"])
    expected = _independent(rows, lambda r: r["person_id"])
    rep = _report(demo["truth_hub"])
    assert rep.counting_unit.startswith("persons")
    assert _check_cells(rep, expected, slack=0) == 0
    # persons are fewer than records: people registered by several agencies count once
    assert expected["persons"] < len(rows)


def test_real_linkage_is_within_the_linkage_error_of_the_truth(demo):
    truth = demo["truth"]
    rows = _cases(demo["linked"])
    key = lambda r: (r["contributor"], r["record_id"])  # noqa: E731
    expected = _independent(rows, lambda r: truth[key(r)] if r["person_id"] else None)
    # linkage error: counted records whose linked unit differs from their true unit
    linked_units, true_units = defaultdict(set), defaultdict(set)
    for r in rows:
        linked_units[_unit(r, lambda x: x["person_id"])].add(key(r))
        true_units[_unit(r, lambda x: truth[key(x)] if x["person_id"] else None)].add(key(r))
    of_linked = {k: frozenset(m) for m in linked_units.values() for k in m}
    of_true = {k: frozenset(m) for m in true_units.values() for k in m}
    error = sum(1 for k in of_linked if of_linked[k] != of_true[k])
    assert 0 < error < 0.1 * len(rows)  # the linkage is good, not perfect
    rep = _report(demo["linked"])
    worst = _check_cells(rep, expected, slack=error)
    assert worst <= error


def test_no_published_cell_is_small_and_every_output_says_persons(demo, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(report_cli, ["hub", str(demo["linked"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "persons" in result.output
    import json

    doc = json.loads((out / "report.json").read_text("utf-8"))
    assert doc["counting_unit"].startswith("persons")
    assert doc["provenance"]["counting"]["link_run"]["run_id"]
    published = 0
    for ind in doc["indicators"]:
        assert ind["unit"] == "persons" and ind["filters"]["counting_unit"] == "persons"
        for c in ind["cells"]:
            if c["count"] is not None:
                published += 1
                assert c["count"]["mid"] == 0 or c["count"]["mid"] >= THRESHOLD, (ind["id"], c)
    assert published > 50
    # traceable: source, filters, query, software version, and how derived tables were made
    prov = doc["provenance"]
    assert prov["software_version"] and prov["codelists_version"]
    assert all(c["file_sha256"] for c in prov["contributions"])
    assert prov["conflict_list"]["fingerprint"] and prov["settings"]["unit"] == "auto"
    assert "persons p USING (contributor, record_id)" in prov["counting"]["sql"]
    for ind in doc["indicators"]:
        assert ind["definition"] and ind["denominator"] and ind["filters"]
        assert "FROM person_units" in ind["query"]  # counted as persons
        for name in ("flows", "conflict_list", "origin_class", "person_units"):
            if f"JOIN {name}" in ind["query"] or f"FROM {name}" in ind["query"]:
                assert name in prov["derived_tables"], (ind["id"], name)
    html = (out / "report.html").read_text("utf-8")
    assert "persons after record linkage" in html
    from safelight.report.charts import source_note  # the line under every chart

    rep = _report(demo["linked"])
    ind = rep.indicator("persons_by_sex_age")
    note = source_note(ind, "hub")
    assert "counted as persons (after record linkage)" in note
    assert ("gaps: values suppressed" in note) == any(c.suppressed for c in ind.cells)
    assert "records (not persons)" in source_note(_report(demo["plain"]).indicators[0], "hub")


def test_without_linkage_the_report_counts_records_and_says_so(demo):
    rep = _report(demo["plain"])
    assert rep.counting_unit.startswith("case records, not persons")
    assert rep.indicator("records_by_sex_age").unit == "records"
    assert "RECORDS" in rep.limitations[0]
    with pytest.raises(ReportError, match="no linkage run"):
        _report(demo["plain"], unit="persons")
    forced = _report(demo["linked"], unit="records")
    assert forced.indicator("records_by_sex_age").cell(year="all years", group="total") \
        .count.mid == len(_cases(demo["linked"]))


def test_a_record_added_after_linkage_counts_as_a_person_of_its_own(demo, tmp_path):
    hub = tmp_path / "late.duckdb"
    shutil.copy(demo["truth_hub"], hub)
    before = _report(hub).indicator("persons_by_sex_age").cell(year="all years",
                                                                group="total").count.mid
    con = duckdb.connect(str(hub))
    # forget one linked record of a person who has several (as if ingested after the run)
    con.execute("""DELETE FROM persons WHERE (contributor, record_id) = (
        SELECT (contributor, record_id) FROM persons p JOIN cases c USING (contributor, record_id)
        WHERE c.consent_statistics AND p.person_id IN (
            SELECT person_id FROM persons p2 JOIN cases c2 USING (contributor, record_id)
            WHERE c2.consent_statistics GROUP BY 1 HAVING count(*) > 1)
        ORDER BY contributor, record_id LIMIT 1)""")
    con.close()
    rep = _report(hub)
    after = rep.indicator("persons_by_sex_age").cell(year="all years", group="total").count.mid
    assert after == before + 1
    assert rep.provenance["counting"]["records_not_yet_linked"] == f"<{THRESHOLD}"


def test_no_published_part_can_be_subtracted_from_a_total(demo, tmp_path):
    """The parts of the counting unit and the linkage run's figures add up to published
    totals: each is "<k" or a multiple of k, and the contributions carry no row counts
    (their sum less the counted total gave the records left out for lack of consent)."""
    import json

    out = tmp_path / "out"
    assert CliRunner().invoke(report_cli, ["hub", str(demo["linked"]), "--out", str(out)]
                              ).exit_code == 0
    prov = json.loads((out / "report.json").read_text("utf-8"))["provenance"]
    counting = prov["counting"]
    assert counting["counts_rounded_to"] == THRESHOLD
    numbers = [v for k, v in counting.items() if k.startswith(("records_", "persons_"))]
    numbers += [v for k, v in counting["link_run"].items()
                if k in ("records", "persons", "linked_pairs", "review_pairs")]
    assert len(numbers) == 8
    for v in numbers:
        assert v == f"<{THRESHOLD}" or v % THRESHOLD == 0, numbers
    assert all("rows_accepted" not in c and "rows_read" not in c for c in prov["contributions"])
