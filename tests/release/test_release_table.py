"""Reading tables and counting combinations."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from safelight.errors import InputFileError
from safelight.release.combos import CombinationCounts, count_subset, keys_of
from safelight.release.errors import ReleaseUsageError
from safelight.release.table import from_columns, read_table, write_csv


def test_csv_missing_and_zero(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text('a,b\nx,0\n,0\n"y, z",\n', "utf-8")
    t = read_table(p)
    assert t.columns == ("a", "b")
    assert t.values == (("x", "y, z"), ("0",))  # "0" is a value, "" is missing
    assert t.codes.tolist() == [[1, 1], [0, 1], [2, 0]]
    out = tmp_path / "back.csv"
    write_csv(t, out)
    assert read_table(out).codes.tolist() == t.codes.tolist()


def test_parquet_and_columns(tmp_path) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": ["x", None, "x"], "n": [1, 2, 1]}), p)
    t = read_table(p, columns=["n", "a"])
    assert t.columns == ("n", "a") and t.values == (("1", "2"), ("x",))
    assert t.codes[:, 1].tolist() == [1, 0, 1]
    with pytest.raises(ReleaseUsageError, match="--columns: no column"):  # exit code 2
        read_table(p, columns=["zzz"])


def test_bad_files(tmp_path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "h.csv").write_text("a,b\n", "utf-8")
    with pytest.raises(InputFileError, match="no rows"):
        read_table(tmp_path / "h.csv")


def test_dense_and_sorted_counting_agree() -> None:
    rng = np.random.default_rng(0)
    big = from_columns({f"c{j}": [f"v{x}" if x else "" for x in rng.integers(0, 40, 5000)]
                        for j in range(4)})
    radix = big.radix
    for subset in [(0,), (0, 1), (0, 1, 2, 3)]:  # the last has a sparse key space
        keys, counts = count_subset(big.codes, radix, subset)
        k = keys_of(big.codes, radix, subset)
        k = k[np.all(big.codes[:, list(subset)] != 0, axis=1)]
        u, c = np.unique(k, return_counts=True)
        np.testing.assert_array_equal(keys, u)
        np.testing.assert_array_equal(counts, c)
    cc = CombinationCounts.of(big, 2)
    assert cc.lookup((0, 1), np.array([-5])).tolist() == [0]
