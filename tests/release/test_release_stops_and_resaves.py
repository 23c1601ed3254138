"""Findings of the trial of releases from a hub (2026-12-02), each with the test that shows it
fixed: a Ctrl-C inside OpenDP's callbacks crashed the process; a Ctrl-C just after the ledger
record said nothing was written (a retry recorded and charged the release again); a table
re-saved with other line ends drew on a second budget."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from click.testing import CliRunner
from helpers_release import random_table, table_and_domain
from test_release_hub import COLS, _fill

from safelight.release.cli import release
from safelight.release.ledger import Ledger
from safelight.release.table import content_fingerprint, write_csv
from safelight.store import open_hub

ROOT = Path(__file__).resolve().parents[2]



def test_ctrl_c_inside_opendp_is_raised_in_python_and_the_failed_release_is_charged(
        tmp_path) -> None:
    """OpenDP calls back into Python (the marginals' function); a KeyboardInterrupt raised
    there unwound into Rust and aborted the process (exit 134: "double free or corruption"),
    leaving the release folder. The stop is held until OpenDP returns: exit 130, no folder,
    and the measurement charged to the ledger."""
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("d", 5.0, 1e-5)
    out = tmp_path / "rel"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from safelight.release import dp
        original = dp._marginal_vector

        def stopped(*args, **kwargs):  # Ctrl-C while OpenDP runs the marginals' function
            os.kill(os.getpid(), signal.SIGINT)
            return original(*args, **kwargs)

        dp._marginal_vector = stopped
        from safelight.cli import main
        sys.argv = ["safelight", "release", "dp-aggregates", {str(src)!r}, "--epsilon", "1",
                    "--domain", {str(dom)!r}, "--hub", {str(hub_path)!r}, "--dataset", "d",
                    "--out", {str(out)!r}]
        main()
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=env, timeout=120,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert r.returncode == 130, (r.returncode, r.stderr[-2000:])
    assert "interrupted" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    with open_hub(hub_path) as h:
        (charge,) = Ledger(h).releases("d")
    assert charge["epsilon"] == 1.0 and "KeyboardInterrupt" in json.loads(charge["params"])[
        "failed"]


def _stop_after_record(monkeypatch) -> None:
    """A Ctrl-C that comes while the ledger records the release (held back until the file is
    in place, then raised)."""
    original = Ledger.record

    def record(self, *args, **kwargs):
        rid = original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return rid

    monkeypatch.setattr(Ledger, "record", record)


def test_a_stop_after_the_ledger_record_says_the_release_is_complete(tmp_path,
                                                                    monkeypatch) -> None:
    """It said "nothing from the interrupted step was written" and exited 130 though the
    release was recorded and in place: a retry recorded it, and charged its ε, again."""
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("d", 5.0, 1e-5)
    _stop_after_record(monkeypatch)
    out = tmp_path / "rel"
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), "--epsilon", "1", "--domain",
                                     str(dom), "--hub", str(hub_path), "--dataset", "d",
                                     "--out", str(out)])
    assert r.exit_code in (0, 9), r.output
    assert "interrupted after the work was complete" in r.output
    assert "recorded as ledger release #1" in r.output and "nothing from" not in r.output
    assert (out / "aggregates.csv").is_file()
    with open_hub(hub_path) as h:
        (rec,) = Ledger(h).releases("d")
    assert "failed" not in json.loads(rec["params"])


def test_a_stop_after_a_hub_release_is_recorded_says_it_is_complete(tmp_path, monkeypatch,
                                                                   hub) -> None:
    _fill(hub)
    hub_path = Path(hub.path)
    hub.close()
    _stop_after_record(monkeypatch)
    out = tmp_path / "rel"
    r = CliRunner().invoke(release, ["hub", str(hub_path), "--method", "aggregates",
                                     "--columns", ",".join(COLS), "--out", str(out)])
    assert r.exit_code in (0, 9), r.output
    assert f"release #1 is recorded in the ledger of {hub_path}" in r.output
    assert "nothing from" not in r.output
    assert (out / "aggregates.csv").is_file()


def test_the_content_fingerprint_ignores_what_a_re_save_changes(tmp_path) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(2, n=300), src)
    text = src.read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    first = _fingerprint(src)
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("utf-8-sig"))
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([header, *reversed(rows)]) + "\n", encoding="utf-8")
    parquet = tmp_path / "t.parquet"
    table = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in _names(src)}, strings_can_be_null=False))
    pq.write_table(table.select(list(reversed(table.column_names))), parquet)
    for same in (crlf, shuffled, parquet):
        assert _fingerprint(same) == first, same
    changed = tmp_path / "changed.csv"
    cells = rows[0].split(",")
    cells[0] = cells[0] + "x"
    changed.write_text("\n".join([header, ",".join(cells), *rows[1:]]) + "\n",
                       encoding="utf-8")
    assert _fingerprint(changed) != first
    assert content_fingerprint(table.slice(0, 299)) != first


def _names(path: Path) -> list[str]:
    import csv

    with path.open(encoding="utf-8") as fh:
        return next(csv.reader(fh))


def _fingerprint(path: Path) -> str:
    from safelight.release.table import read_table

    report: dict = {}
    read_table(path, report=report)
    return report["content_sha256"]


def test_a_table_re_saved_with_other_line_ends_draws_on_its_first_budget(tmp_path) -> None:
    """A trial re-saved a released table with Windows line ends: the ledger, which knew files
    by their bytes, gave it a fresh budget. It is charged to the first table's dataset now,
    and refused under another name."""
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget(f"sha256:{_sha(src)}", 1.5, 1e-5)
        Ledger(h).set_budget("fresh", 5.0, 1e-5)
    resaved = tmp_path / "resaved.csv"
    resaved.write_bytes(src.read_bytes().replace(b"\n", b"\r\n"))
    common = ["--domain", str(dom), "--hub", str(hub_path)]
    run = CliRunner().invoke
    r = run(release, ["dp-aggregates", str(src), *common, "--epsilon", "1",
                      "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    r = run(release, ["dp-aggregates", str(resaved), *common, "--epsilon", "1",
                      "--out", str(tmp_path / "b")])
    assert r.exit_code == 8, r.output
    assert "same rows as a table released before" in r.output
    assert "would go over the budget" in r.output
    r = run(release, ["dp-aggregates", str(resaved), *common, "--epsilon", "0.4",
                      "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    r = run(release, ["dp-aggregates", str(resaved), *common, "--epsilon", "0.05",
                      "--dataset", "fresh", "--out", str(tmp_path / "d")])
    assert r.exit_code == 8, r.output
    assert "a table of the same rows" in r.output
    with open_hub(hub_path) as h:
        ledger = Ledger(h)
        assert ledger.spent(f"sha256:{_sha(src)}").releases == 2
        assert ledger.spent("fresh").releases == 0


def _sha(path: Path) -> str:
    from safelight.release.settings import file_source

    return file_source(path)["sha256"]


def test_a_mistyped_dataset_of_release_budget_is_refused(tmp_path) -> None:
    """`release budget HUB hub:case` showed "no budget set … 0 releases" and exited 0 (and
    with --epsilon would have set a budget no release draws on)."""
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("cases-2025", 2.0, 1e-5)
    run = CliRunner().invoke
    r = run(release, ["budget", str(hub_path), "hub:case"])
    assert r.exit_code == 2 and "did you mean hub:cases?" in r.output, r.output
    r = run(release, ["budget", str(hub_path), "hub:case", "--epsilon", "1"])
    assert r.exit_code == 2, r.output
    r = run(release, ["budget", str(hub_path), "cases-2052"])
    assert r.exit_code == 2 and "no dataset cases-2052" in r.output
    assert "did you mean cases-2025?" in r.output
    r = run(release, ["budget", str(hub_path), "cases-2052", "--epsilon", "1"])
    assert r.exit_code == 0 and "note: cases-2052 is a new dataset" in r.output
    for known in ("cases-2025", "cases-2052", "hub:cases"):
        assert run(release, ["budget", str(hub_path), known]).exit_code == 0


def test_dp_options_with_a_k_method_from_a_hub_are_refused(tmp_path, hub) -> None:
    """`release hub --method aggregates --no-floor` was accepted without a word."""
    _fill(hub)
    hub_path = Path(hub.path)
    hub.close()
    for option in ("--no-floor", "--allow-out-of-domain"):
        r = CliRunner().invoke(release, ["hub", str(hub_path), "--method", "aggregates",
                                         option, "--out", str(tmp_path / "x")])
        assert r.exit_code == 2 and f"{option} applies to dp-aggregates" in r.output, r.output
    assert not (tmp_path / "x").exists()


def test_aggregates_beside_releases_it_was_not_audited_beside_carry_a_warning(
        tmp_path, hub) -> None:
    """A trial intersected microdata and k-aggregates of an unchanged hub (69 small cells
    narrowed below the rule): the audits cover the records that changed between releases and
    k-aggregates of the same counts in another shape, not row-level releases."""
    _fill(hub)
    hub_path = Path(hub.path)
    hub.close()

    def make(name, method, *extra):
        r = CliRunner().invoke(release, ["hub", str(hub_path), "--method", method,
                                         "--columns", ",".join(COLS), *extra,
                                         "--out", str(tmp_path / name)])
        assert r.exit_code in (0, 9), r.output
        return (tmp_path / name / "PUBLISH.txt").read_text("utf-8")

    warned = "another method, length or set of columns, and this release was not audited"
    assert warned not in make("a", "aggregates")
    assert warned not in make("b", "aggregates", "--length", "2")  # audited beside #1
    make("m", "microdata")
    assert "earlier releases of hub:cases (#3) have another method" in make(
        "c", "aggregates", "--length", "1")
    src = tmp_path / "t.csv"
    write_csv(random_table(3, n=300), src)
    r = CliRunner().invoke(release, ["aggregates", str(src), "--out", str(tmp_path / "f")])
    assert r.exit_code == 0, r.output
    assert "publish one release of a table" in (tmp_path / "f" / "PUBLISH.txt").read_text()


def _narrowed(hub_path: Path, files: list[Path], k: int = 11,
              grown: dict[int, int] | None = None) -> int:
    """The small combinations (1..k-1 people) an attacker holding every one of ``files``
    (aggregates.csv with count_low / count_high) narrows to fewer than (k - 1) // 2 + 1
    values: each combination in the intersection of what the files state (a file's scope
    holds it and the file does not: under k), a file made ``grown[i]`` cases ago read as
    ``[low, high + grown]``, bounds propagated over one cell system of every column up to the
    longest length. Its own reading of the files and scopes (the audit's code is not used)."""
    import csv

    import numpy as np

    from safelight.release.combos import decode_keys
    from safelight.release.hub import hub_table
    from safelight.release.intervals import Equations, propagate
    from safelight.release.suppression import build_system
    from safelight.store import open_hub

    stated = []
    for i, f in enumerate(files):
        with f.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        cols = [c for c in rows[0] if c not in ("length", "count", "count_low", "count_high")]
        extra = (grown or {}).get(i, 0)
        cells = {tuple(sorted((c, r[c]) for c in cols if r[c])):
                 (int(r["count_low"]), int(r["count_high"]) + extra) for r in rows}
        stated.append((set(cols), max(int(r["length"]) for r in rows), cells, extra))
    columns = list(dict.fromkeys(c for cols, _, _, _ in stated for c in sorted(cols)))
    with open_hub(hub_path) as h:
        table = hub_table(h, columns)
    system = build_system(table, max(length for _, length, _, _ in stated))
    count = system.cell_count
    lo = np.zeros(system.n_cells, np.int64)
    hi = np.full(system.n_cells, int(count[0]) * 3, np.int64)
    protected = np.zeros(system.n_cells, bool)
    for si, s in enumerate(system.subsets):
        a, b = system.subset_start[si], system.subset_start[si + 1]
        names = [table.columns[j] for j in s]
        for cols, length, cells, extra in stated:
            if len(s) > length or not set(names) <= cols:
                continue
            for i, codes in enumerate(decode_keys(system.cell_key[a:b], table.radix, s)):
                c = a + i
                if system.cell_missing[c]:
                    continue
                combo = tuple(sorted((n, table.values[j][int(v) - 1])
                                     for n, j, v in zip(names, s, codes, strict=True)))
                low, high = cells.get(combo, (0, k - 1 + extra))
                lo[c], hi[c] = max(lo[c], low), min(hi[c], high)
                protected[c] |= 1 <= count[c] < k
    bounds = propagate(Equations(system), lo, hi)
    assert not (bounds.lo > bounds.hi).any()
    return int((protected & (bounds.hi - bounds.lo < (k - 1) // 2)).sum())


def _demo_hub(tmp_path: Path) -> Path:
    """A hub of the demo scenario's 3,000 records (ingested, not linked)."""
    from safelight.demo.generator import generate_scenario
    from safelight.ingest import ingest_file, load_profile

    scenario = generate_scenario(tmp_path / "scenario", n_records=3000)
    hub_path = tmp_path / "hub.duckdb"
    with open_hub(hub_path, create=True) as h:
        for c in scenario.contributors:
            with h.transaction():
                h.ensure_contributor(c.name, c.country)
            ingest_file(h, c.path, contributor=c.name, profile=load_profile(c.profile_path))
    return hub_path


def _released(tmp_path: Path, hub_path: Path, name: str, *extra: str) -> Path:
    r = CliRunner().invoke(release, ["hub", str(hub_path), "--method", "aggregates", *extra,
                                     "--out", str(tmp_path / name)])
    assert r.exit_code in (0, 9), r.output
    return tmp_path / name / "aggregates.csv"


def test_aggregates_of_the_same_counts_in_other_shapes_keep_the_value_rule_together(
        tmp_path) -> None:
    """A trial published k-aggregates of an unchanged demo hub at lengths 3, 1 and 2; holding
    the three, an attacker narrowed 152 combinations of fewer than k people below the rule
    that each release alone keeps (one child's cell to [1, 5]). Each release is now audited
    beside the earlier ones: the three together narrow none."""
    hub_path = _demo_hub(tmp_path)
    files = [_released(tmp_path, hub_path, "L3"),
             _released(tmp_path, hub_path, "L1", "--length", "1"),
             _released(tmp_path, hub_path, "L2", "--length", "2")]
    assert _narrowed(hub_path, files[:1]) == 0  # one release alone keeps the rule
    assert _narrowed(hub_path, files) == 0


def test_a_case_added_between_releases_of_other_shapes_does_not_switch_the_audit_off(
        tmp_path) -> None:
    """A review: the audit held only while every count was unchanged; one case added between
    a length-3 and a length-2 release let an attacker who allows the older one's counts that
    growth narrow 6 to 24 small cells. The earlier release is now seen shifted by each cell's
    exact change."""
    hub_path = _demo_hub(tmp_path)
    first = _released(tmp_path, hub_path, "L3")
    with open_hub(hub_path) as h:  # one more case with statistics consent
        h.con.execute("UPDATE cases SET consent_statistics = true WHERE rowid = (SELECT "
                      "min(rowid) FROM cases WHERE NOT consent_statistics)")
    second = _released(tmp_path, hub_path, "L2", "--length", "2")
    for grown in (1, 5):
        assert _narrowed(hub_path, [first, second], grown={0: grown}) == 0


def test_the_file_dp_domain_reads_a_hub_exports_alpha3_codes_and_column_names() -> None:
    """A table exported from a hub (the case standard's column names, alpha-3 countries) was
    refused by the file DP commands as mostly outside the public domain, or as columns the
    standard has no list for."""
    from safelight.release.domain import restrict, standard_domain
    from safelight.release.table import from_columns

    t = from_columns({"citizenship": ["UKR", "NGA", "UA", "PHL", "XXZ"],
                      "country_of_exploitation": ["POL", "POL", "DEU", "ITA", "ITA"],
                      "year_of_registration": ["2019", "2020", "2020", "2021", "2019"]})
    pub, dropped = restrict(t, standard_domain(t.columns))
    assert pub.decode_column(0) == ["UA", "NG", "UA", "PH", ""]
    assert pub.decode_column(1) == ["PL", "PL", "DE", "IT", "IT"]
    assert dropped == {"citizenship": 1}


def test_a_release_at_a_larger_k_says_it_raises_the_datasets_k(tmp_path, hub) -> None:
    """One k-aggregates release at a larger k fixed the dataset's smallest k for good, without
    a word when it was made."""
    _fill(hub)
    hub_path = Path(hub.path)
    hub.close()
    texts = []
    for name, k in (("a", "11"), ("b", "15"), ("c", "15")):
        r = CliRunner().invoke(release, ["hub", str(hub_path), "--method", "aggregates",
                                         "--columns", ",".join(COLS), "--k", k,
                                         "--out", str(tmp_path / name)])
        assert r.exit_code in (0, 9), r.output
        texts.append((tmp_path / name / "PUBLISH.txt").read_text("utf-8"))
    said = "every later k-aggregates release of it must use k = 15 or more"
    assert [said in t for t in texts] == [False, True, False]


def test_what_earlier_releases_narrow_without_the_new_one_is_not_held_against_it(
        tmp_path, monkeypatch) -> None:
    """A review: on a ledger of releases made before the audit (lengths 1, 2 and 3 of an
    unchanged hub, which together narrow 152 cells), every later release was refused, the
    shape of an earlier one too. Only narrowing beyond what the earlier releases do alone is
    the new release's."""
    from safelight.release import hub as hub_module

    hub_path = _demo_hub(tmp_path)
    audit = hub_module.reshaped_audit
    monkeypatch.setattr(hub_module, "reshaped_audit", lambda *a, **kw: None)
    files = [_released(tmp_path, hub_path, f"old{n}", "--length", str(n)) for n in (1, 2, 3)]
    assert _narrowed(hub_path, files) > 0  # what the ledger holds already
    monkeypatch.setattr(hub_module, "reshaped_audit", audit)
    for n in (3, 1):
        _released(tmp_path, hub_path, f"new{n}", "--length", str(n))  # exit 0 or 9


def test_the_public_domain_lists_one_spelling_per_category() -> None:
    """A DP release listed `Forced Labor` and `Forced labour and/or services` (one category of
    the crosswalk) and split its people between the two labels (a trial); every spelling
    nobody holds came out as a fabricated value."""
    from safelight.release.domain import restrict, standard_domain
    from safelight.release.table import from_columns

    dom = standard_domain(["ExploitType", "Labor_Type", "gender"])
    assert "Forced labour and/or services" not in dom.values["ExploitType"]
    assert "Forced Labor" in dom.values["ExploitType"]
    assert "Peddling/informal street commerce" not in dom.values["Labor_Type"]
    assert {"Not Specified", "Unknown"} <= set(dom.values["Labor_Type"])  # categories of none
    assert "Transgender/NonConforming" not in dom.values["gender"]
    t = from_columns({"ExploitType": ["Forced labour and/or services", "Forced Labor"],
                      "Labor_Type": ["Peddling/informal street commerce", "Peddling"],
                      "gender": ["Transgender/NonConforming", "Female"]})
    pub, dropped = restrict(t, dom)
    assert pub.decode_column(0) == ["Forced Labor", "Forced Labor"] and not dropped
    assert pub.decode_column(1) == ["Peddling", "Peddling"]
    assert pub.decode_column(2) == ["Transgender", "Female"]
