"""Findings of the new-user trial of the release stage, each with the test that shows it fixed.

Numbers are the trial's (privacy 1.x, domain 2.x, ledger and exit codes 3.x, options 4).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner
from helpers_release import random_table

from safelight.release.cli import EXIT_DO_NOT_PUBLISH, release
from safelight.release.domain import public_table, restrict, standard_domain, years
from safelight.release.dp import EPSILON_WARN, check_request
from safelight.release.errors import PlanningError, ReleaseUsageError
from safelight.release.hub import DATASET, hub_domain, release_hub
from safelight.release.ledger import DEFAULT_BUDGET_DELTA, BudgetExceededError, Ledger
from safelight.release.microdata import anonymize
from safelight.release.table import from_columns, read_table, write_csv
from safelight.store import open_hub


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def _multiset(codes: np.ndarray) -> list[tuple[tuple[int, ...], int]]:
    rows, counts = np.unique(codes, axis=0, return_counts=True)
    return sorted(zip(map(tuple, rows.tolist()), counts.tolist(), strict=True))


def _sorted_table(n: int = 800):
    """random_table's columns plus ``seq`` (a non-quasi-identifier, distinct per row), the
    rows sorted by col0 then col1 — as a hub lists its cases by contributor and record id."""
    t = random_table(7, n=n, cards=(3, 5, 4, 2))
    cols = {c: t.decode_column(j) for j, c in enumerate(t.columns)}
    order = sorted(range(n), key=lambda i: (cols["col0"][i], cols["col1"][i]))
    sorted_cols = {c: [v[i] for i in order] for c, v in cols.items()}
    sorted_cols["seq"] = [f"s{i:05d}" for i in range(n)]
    return from_columns(sorted_cols)


# 1.1 -------------------------------------------------------------------------------------------

def test_microdata_rows_come_out_in_a_random_order() -> None:
    t = _sorted_table()
    an = anonymize(t, 5, ["col0", "col1", "col2", "col3"])
    seq = np.array([int(v[1:]) for v in an.table.decode_column(t.columns.index("seq"))])
    # the release's order tells nothing of the input's (without the permutation: 1.0)
    assert abs(_rank_correlation(seq, np.arange(t.n_rows))) < 0.15
    # the same rows: aligned by seq, every quasi-identifier cell is the input's value or blank
    assert sorted(seq.tolist()) == list(range(t.n_rows))
    back = an.table.codes[np.argsort(seq)]
    for j in range(4):
        out = np.array([""] + list(an.table.values[j]))[back[:, j]]
        inp = np.array([""] + list(t.values[j]))[t.codes[:, j]]
        assert np.all((out == inp) | (out == ""))
    # two releases differ in order only
    again = anonymize(t, 5, ["col0", "col1", "col2", "col3"])
    assert _multiset(again.table.codes) == _multiset(an.table.codes)
    assert not np.array_equal(again.table.codes, an.table.codes)


def test_microdata_command_writes_rows_in_a_random_order(tmp_path) -> None:
    t = _sorted_table(600)
    src = tmp_path / "sorted.csv"
    write_csv(t, src)
    # seq, distinct per row, is released knowingly: it shows the rows' order
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--quasi-identifiers",
                                     "col0,col1,col2,col3", "--allow-distinct-columns",
                                     "--out", str(tmp_path / "mic")])
    assert r.exit_code == EXIT_DO_NOT_PUBLISH, r.output  # written; the QIs leave rare combinations
    out = read_table(tmp_path / "mic" / "microdata.csv", allow_distinct=True)
    seq = np.array([int(v[1:]) for v in out.decode_column(out.columns.index("seq"))])
    assert abs(_rank_correlation(seq, np.arange(len(seq)))) < 0.15


# 1.3 -------------------------------------------------------------------------------------------

def test_dp_k_help_states_the_floor_on_estimates() -> None:
    for cmd in ("dp-aggregates", "dp-synthetic"):
        r = CliRunner().invoke(release, [cmd, "--help"])
        assert "1..k-1" not in r.output and "estimate" in r.output and "leaked" in r.output


@pytest.mark.parametrize("eps", ["inf", "nan"])
def test_non_finite_epsilon_is_refused_plainly(tmp_path, eps) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=200), src)
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), "--epsilon", eps,
                                     "--domain", str(_domain_file(tmp_path, src)),
                                     "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "finite" in r.output and "too small" not in r.output
    with pytest.raises(PlanningError, match="--delta must be in"):
        check_request(1.0, float(eps))


def test_a_large_epsilon_is_warned_about(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="safelight.release.dp"):
        check_request(EPSILON_WARN, 1e-6)
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="safelight.release.dp"):
        check_request(1e9, 1e-6)
    assert "nearly void" in caplog.text


# 2.1 -------------------------------------------------------------------------------------------

def _domain_file(tmp_path, src) -> Path:
    t = read_table(src)
    path = tmp_path / "domain.json"
    path.write_text(json.dumps({c: list(t.values[j]) for j, c in enumerate(t.columns)}))
    return path


def test_ctdc_code_book_spellings_are_read() -> None:
    # trafficking_cleaned.csv writes flags 1/0/-99, dados_app.csv 1.0/0.0, citizenship "0"
    t = from_columns({"isForcedLabour": ["1", "0", "-99", "1.0", "0.0", "true", ""],
                      "citizenship": ["0", "UA", "-99", "PH", "0", "NG", "UA"]})
    pub, dropped = restrict(t, standard_domain(t.columns))
    assert dropped == {}
    assert pub.decode_column(0) == ["yes", "no", "", "yes", "no", "yes", ""]
    assert pub.decode_column(1) == ["unknown0", "UA", "", "PH", "unknown0", "NG", "UA"]


def test_values_outside_the_domain_are_reported_per_column_and_refused(tmp_path,
                                                                        caplog) -> None:
    rng = np.random.default_rng(0)
    n = 400
    t = from_columns({"gender": rng.choice(["Female", "Male"], n).tolist(),
                      "isForcedLabour": rng.choice(["yes", "no"], n).tolist(),
                      "isSexualExploit": rng.choice(["Y", "N", "yes"], n,
                                                    p=[0.4, 0.4, 0.2]).tolist()})
    with caplog.at_level(logging.WARNING, logger="safelight.release.domain"):
        pub, dropped = public_table(t, standard_domain(t.columns), allow_out_of_domain=True)
    assert set(dropped) == {"isSexualExploit"} and dropped["isSexualExploit"] > n // 2
    assert f"isSexualExploit {dropped['isSexualExploit']} of {n}" in caplog.text
    assert "Y" not in caplog.text.split("treated as missing:")[1]  # no value is named
    with pytest.raises(ReleaseUsageError, match="isSexualExploit"):
        public_table(t, standard_domain(t.columns))
    src = tmp_path / "t.csv"
    write_csv(t, src)
    args = ["dp-aggregates", str(src), "--epsilon", "2", "--k", "5", "--length", "2"]
    r = CliRunner().invoke(release, [*args, "--out", str(tmp_path / "a")])
    assert r.exit_code == 2 and "isSexualExploit" in r.output
    assert not (tmp_path / "a" / "aggregates.csv").exists()
    r = CliRunner().invoke(release, [*args, "--allow-out-of-domain", "--out",
                                     str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert "outside the public domain" in r.output
    ev = json.loads((tmp_path / "b" / "evaluation.json").read_text())
    assert ev["values_outside_domain"] == dropped
    assert "outside the public domain" in (tmp_path / "b" / "evaluation.html").read_text()


# 2.2 -------------------------------------------------------------------------------------------

def test_public_years_end_this_year() -> None:
    this = dt.date.today().year
    assert years()[1] == this
    std = standard_domain(["yearOfRegistration"]).values["yearOfRegistration"]
    hub = hub_domain(["year_of_registration"]).values["year_of_registration"]
    for vals in (std, hub):
        assert str(this) in vals and str(this + 1) not in vals and "2000" in vals


# 3.1 -------------------------------------------------------------------------------------------

def test_budget_keeps_delta_names_the_binding_limit_and_shows_the_ledger(hub,
                                                                        caplog) -> None:
    ledger = Ledger(hub)
    with pytest.raises(BudgetExceededError, match="safelight release budget HUB d "):
        ledger.check("d", 1.0, 1e-6)
    ledger.set_budget("d", 3.0)  # a new budget without delta: the default
    assert ledger.spent("d").budget_delta == DEFAULT_BUDGET_DELTA
    ledger.set_budget("d", 3.0, 2e-6)
    ledger.set_budget("d", 4.0)  # raising epsilon keeps the delta budget
    assert ledger.spent("d").budget_delta == 2e-6
    ledger.record("d", "dp-aggregates", {}, epsilon=1.0, delta=1e-6)
    with pytest.raises(BudgetExceededError) as err:  # delta binds, not epsilon
        ledger.check("d", 1.0, 1.5e-6)
    msg = str(err.value)
    assert "over the budget's delta" in msg and "smaller delta" in msg
    assert "smaller epsilon" not in msg and "has epsilon 3, delta 1e-06 left" in msg
    assert err.value.exit_code == 8
    with caplog.at_level(logging.WARNING, logger="safelight.release.ledger"):
        ledger.set_budget("d", 0.5)  # below what is spent: set, with a warning
    assert "below what is already spent" in caplog.text


def test_budget_command_shows_the_ledger(hub) -> None:
    path = str(hub.path)
    Ledger(hub).record("d", "microdata", {}, k=11)
    hub.close()
    r = CliRunner().invoke(release, ["budget", path, "d"])
    assert r.exit_code == 0, r.output
    assert "no budget set" in r.output and "#1" in r.output and "microdata" in r.output
    r = CliRunner().invoke(release, ["budget", path, "d", "--epsilon", "2"])
    assert r.exit_code == 0 and "delta 1e-05" in r.output and "left epsilon 2" in r.output
    r = CliRunner().invoke(release, ["budget", path, "d", "--delta", "1e-6"])
    assert r.exit_code == 2


# 3.3 -------------------------------------------------------------------------------------------

def test_bad_column_names_are_usage_errors(tmp_path) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=200), src)
    for opt in ("--columns", "--quasi-identifiers"):
        r = CliRunner().invoke(release, ["microdata", str(src), opt, "col0,nope", "--out",
                                         str(tmp_path / opt.strip("-"))])
        assert r.exit_code == 2 and "nope" in r.output, (opt, r.output)


# 3.4 -------------------------------------------------------------------------------------------

def test_a_release_refused_while_planning_is_not_charged(hub, tmp_path) -> None:
    _fill_hub(hub)
    ledger = Ledger(hub)
    ledger.set_budget(DATASET, 2.0, 1e-5)
    with pytest.raises(PlanningError, match="too small to measure"):
        release_hub(hub, "dp-synthetic", tmp_path / "h", columns=["gender", "citizenship"],
                    epsilon=1e-3)
    assert ledger.spent(DATASET).releases == 0
    # the file command with --hub, likewise
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=200), src)
    ledger.set_budget("t", 2.0, 1e-5)
    path = str(hub.path)
    hub.close()
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), "--epsilon", "1e-3",
                                     "--domain", str(_domain_file(tmp_path, src)), "--hub",
                                     path, "--dataset", "t", "--out", str(tmp_path / "f")])
    assert r.exit_code == 2 and "too small" in r.output
    h = open_hub(path)
    try:
        assert Ledger(h).spent("t").releases == 0
    finally:
        h.close()


def _fill_hub(hub, n: int = 300) -> None:
    """n consenting cases made by the test."""
    rng = np.random.default_rng(1)
    names = ["contributor", "record_id", "contribution_id", "source_row", "gender",
             "citizenship", "year_of_registration", "consent_linkage", "consent_statistics"]
    cols = {"contributor": ["agency"] * n, "record_id": [f"r{i}" for i in range(n)],
            "contribution_id": [1] * n, "source_row": list(range(n)),
            "gender": rng.choice(["female", "male"], n).tolist(),
            "citizenship": rng.choice(["UKR", "PHL"], n).tolist(),
            "year_of_registration": rng.choice([2019, 2020], n).tolist(),
            "consent_linkage": [True] * n, "consent_statistics": [True] * n}
    hub.con.register("new_cases", pa.table(cols))
    hub.con.execute(f"INSERT INTO cases ({', '.join(names)}) SELECT * FROM new_cases")
    hub.con.unregister("new_cases")


# 4 ---------------------------------------------------------------------------------------------

def test_dp_synthetic_length_help_and_synthetic_epsilon_length(tmp_path) -> None:
    r = CliRunner().invoke(release, ["dp-synthetic", "--help"])
    assert "default 3;" in r.output and "below" not in r.output
    src = tmp_path / "t.csv"
    t = from_columns({"gender": ["Female", "Male"] * 150,
                      "isForcedLabour": ["yes", "no", "no"] * 100})
    write_csv(t, src)
    r = CliRunner().invoke(release, ["synthetic", str(src), "--epsilon", "4", "--length", "1",
                                     "--k", "5", "--iterations", "1", "--out",
                                     str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "s" / "settings.json").read_text())["length"] == 1


def test_force_with_another_method_replaces_the_old_release(tmp_path) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=300), src)
    out = tmp_path / "o"
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5", "--length", "2",
                                     "--out", str(out)])
    assert r.exit_code == 0, r.output
    (out / "notes.txt").write_text("the operator's own file")
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--out", str(out)])
    assert r.exit_code == 2 and "--force" in r.output
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--out", str(out),
                                     "--force"])
    assert r.exit_code == 0, r.output
    assert not (out / "aggregates.csv").exists() and (out / "microdata.csv").is_file()
    assert (out / "notes.txt").is_file()  # not a file safelight wrote: kept
    publish = (out / "PUBLISH.txt").read_text()
    assert "Publish only the release file of this folder: microdata.csv." in publish


def test_microdata_that_leaks_is_flagged_loudly(tmp_path) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=400), src)
    out = tmp_path / "m"
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "11",
                                     "--quasi-identifiers", "col0", "--out", str(out)])
    assert r.exit_code == EXIT_DO_NOT_PUBLISH, r.output  # written, and a script is told
    assert json.loads((out / "evaluation.json").read_text())["leaked"] > 0
    assert "WARNING" in r.output and "--quasi-identifiers" in r.output
    assert (out / "PUBLISH.txt").read_text().startswith("WARNING: ")
    ok = tmp_path / "ok"
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "11", "--out", str(ok)])
    assert "WARNING" not in r.output and "WARNING" not in (ok / "PUBLISH.txt").read_text()


def test_fewer_rows_than_k_is_refused(tmp_path) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=7), src)
    for cmd in ("synthetic", "microdata", "aggregates"):
        r = CliRunner().invoke(release, [cmd, str(src), "--k", "11", "--out",
                                         str(tmp_path / cmd)])
        assert r.exit_code == 2 and "fewer rows than k = 11" in r.output, r.output
        assert " 7 " not in r.output
        assert not (tmp_path / cmd / f"{cmd}.csv").exists()


def test_another_delimiter_is_refused_in_one_line(tmp_path) -> None:
    for sep in (";", "\t"):
        src = tmp_path / "semi.csv"
        src.write_text(f"gender{sep}citizenship\nFemale{sep}UA\nMale{sep}PH\n")
        r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "2", "--out",
                                         str(tmp_path / "x")])
        assert r.exit_code == 3 and "delimiter" in r.output
        assert len(r.output.strip().splitlines()) == 1


def test_length_over_the_columns_is_clamped_with_a_note(tmp_path) -> None:
    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=300, cards=(3, 4)), src)
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5", "--length", "4",
                                     "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "--length 4 is more than the 2 columns" in r.output
    assert json.loads((tmp_path / "a" / "settings.json").read_text())["length"] == 2


@pytest.mark.realdata
def test_length_4_of_a_small_table_takes_a_coarser_grid_instead_of_withholding_most(
        shared_data, tmp_path) -> None:
    """2,000 CTDC rows at length 4: the default grid (6) made the interval audit withhold
    combination after combination for 400 rounds and 141 s, 80% of the common combinations and
    every 1-way count among them (new-user trial, 2026-12-01). It now gives up early
    (intervals.WithholdingRunaway) and the release takes a coarser grid."""
    from safelight.release.aggregates import release_aggregates
    from safelight.release.intervals import WithholdingRunaway
    from safelight.release.table import read_table

    head = tmp_path / "t2k.csv"
    with open(shared_data / "ctdc" / "bench_ctdc10.csv", encoding="utf-8") as fh:
        head.write_text("".join(fh.readline() for _ in range(2_001)), "utf-8")
    t = read_table(head)
    with pytest.raises(WithholdingRunaway, match="too small for this length"):
        release_aggregates(t, 11, 4, rounding_base=6)  # a grid the caller chose is kept
    rel = release_aggregates(t, 11, 4)
    assert rel.rounding_base == 12 and rel.secondary == 0
    assert rel.counts.n_combinations() > 9_000


def test_only_ctdc_style_is_columns_are_yes_no_flags():
    """"island" (Lesbos/Crete) was read as a yes/no flag for starting with "is"."""
    import pytest

    from safelight.release.errors import ReleaseUsageError

    flags = ["isForcedLabour", "is_abduction", "isforcedlabour", "ISFORCEDLABOUR", "IS_ABDUCTION"]
    dom = standard_domain(flags)
    assert len({tuple(sorted(dom.values[c])) for c in flags}) == 1
    with pytest.raises(ReleaseUsageError, match="no public value list for column.s. island"):
        standard_domain(["island"])
