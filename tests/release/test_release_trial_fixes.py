"""Findings of the new-user trial of the release stage, each with the test that shows it fixed.

Numbers are the trial's (privacy 1.x, domain 2.x, ledger and exit codes 3.x, options 4).
"""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from helpers_release import random_table

from safelight.release.cli import release
from safelight.release.microdata import anonymize
from safelight.release.table import from_columns, read_table, write_csv


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
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--quasi-identifiers",
                                     "col0,col1,col2,col3", "--out", str(tmp_path / "mic")])
    assert r.exit_code == 0, r.output
    out = read_table(tmp_path / "mic" / "microdata.csv")
    seq = np.array([int(v[1:]) for v in out.decode_column(out.columns.index("seq"))])
    assert abs(_rank_correlation(seq, np.arange(len(seq)))) < 0.15
