"""safelight.arrays: the sort-based unique equals np.unique."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.arrays import unique_sorted


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32])
@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_unique_sorted_equals_np_unique(dtype, n):
    rng = np.random.default_rng(n)
    a = rng.integers(0, max(n // 3, 1), n).astype(dtype)
    got = unique_sorted(a)
    want = np.unique(a)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


def test_unique_sorted_does_not_sort_the_input_in_place():
    a = np.array([5, 1, 5, 3])
    assert unique_sorted(a).tolist() == [1, 3, 5]
    assert a.tolist() == [5, 1, 5, 3]
