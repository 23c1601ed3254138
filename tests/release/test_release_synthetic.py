"""k-synthetic microdata: the guarantee, the row count, reproducibility, utility."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import CombinationCounts, subsets
from safelight.release.errors import ReleaseUsageError
from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.synthetic import KSynthesizer, reportable, synthesize
from safelight.release.table import from_columns


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("length", [2, 3])
def test_every_released_combination_has_k_people(seed: int, length: int) -> None:
    t = random_table(seed, n=500, cards=(3, 5, 4, 2, 6))
    k = 8
    syn, _ = synthesize(t, k=k, length=length, iterations=3, seed=seed)
    truth = CombinationCounts.of(t, length)
    got = counts_of_rows(syn, length)
    for s in subsets(t.n_columns, length):
        keys, _ = got.tables[s]
        assert np.all(truth.lookup(s, keys) >= k), s
    assert syn.n_rows == t.n_rows
    assert syn.values == t.values and syn.columns == t.columns


def test_reproducible_and_not_a_copy() -> None:
    t = random_table(3, n=400)
    a, _ = synthesize(t, k=5, length=2, iterations=2, seed=7)
    b, _ = synthesize(t, k=5, length=2, iterations=2, seed=7)
    np.testing.assert_array_equal(a.codes, b.codes)
    c, _ = synthesize(t, k=5, length=2, iterations=2, seed=8)
    assert not np.array_equal(a.codes, c.codes)


def test_calibration_improves_fit() -> None:
    t = random_table(5, n=2000, cards=(3, 5, 4, 2, 6), missing=0.02)
    errs = []
    for it in (0, 6):
        syn, _ = synthesize(t, k=10, length=3, iterations=it, seed=1)
        ev = evaluate(t, counts_of_rows(syn, 3), 10, 3, released_rows=syn)
        assert ev.total("leaked") == 0 and ev.total("fabricated") == 0
        errs.append(ev.errors())
    assert errs[1][1] < errs[0][1] and errs[1][2] < errs[0][2]
    assert errs[1][0] < 0.05


def test_rare_value_never_released() -> None:
    t = from_columns({"a": ["x"] * 40 + ["rare"] * 3, "b": ["p", "q"] * 21 + ["p"]})
    syn, _ = synthesize(t, k=5, length=2, iterations=2)
    assert "rare" not in syn.decode_column(0)
    assert syn.n_rows == 43


def test_reportable_set() -> None:
    t = from_columns({"a": ["x"] * 12 + ["y"] * 2, "b": ["p"] * 14})
    r = reportable(t, 5, 2)
    assert r.n_combinations() == 3  # a=x, b=p, (a=x, b=p)


def test_bad_parameters() -> None:
    with pytest.raises(ReleaseUsageError):
        KSynthesizer(k=1)
    with pytest.raises(ReleaseUsageError):
        KSynthesizer(k=5, length=0)
