"""Local recoding for k-anonymity: classes >= k, values only blanked, common combinations kept."""

from __future__ import annotations

import numpy as np
from helpers_release import random_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.release.combos import CombinationCounts
from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.microdata import local_suppression
from safelight.release.recoding import pattern_ids, recode


def _classes_ok(codes: np.ndarray, weight: np.ndarray, k: int) -> bool:
    _, inv = np.unique(codes, axis=0, return_inverse=True)
    size = np.bincount(inv.ravel(), weights=weight)[inv.ravel()]
    return bool(np.all((size >= k) | np.all(codes == 0, axis=1)))


@st.composite
def weighted_rows(draw):
    n_cols = draw(st.integers(1, 6))
    n_rows = draw(st.integers(1, 80))
    cards = [draw(st.integers(1, 5)) for _ in range(n_cols)]
    codes = np.array([[draw(st.integers(0, c)) for c in cards] for _ in range(n_rows)],
                     np.int32).reshape(n_rows, n_cols)
    weight = np.array(draw(st.lists(st.integers(1, 6), min_size=n_rows, max_size=n_rows)),
                      float)
    return codes, weight, np.array([c + 1 for c in cards], np.int64)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=weighted_rows(), k=st.integers(2, 15), length=st.integers(1, 3),
       budget=st.sampled_from([10, 200, 4_000_000]))
def test_recoding_is_k_anonymous_and_only_blanks(data, k, length, budget) -> None:
    codes, weight, radix = data
    out = recode(codes, weight, radix, k, length, budget=budget)
    if out is not None:
        assert out.shape == codes.shape
        assert np.all((out == codes) | (out == 0))
        assert _classes_ok(out, weight, k)
    # the full suppression (recoding, check-and-repair, restore) always is
    full = local_suppression(codes, weight, radix, k, length)
    assert np.all((full == codes) | (full == 0))
    assert _classes_ok(full, weight, k)


def test_recoding_keeps_more_common_combinations_than_quick_blanking() -> None:
    for seed in range(3):
        t = random_table(seed, n=2000, cards=(4, 6, 5, 3, 7, 4))
        truth = CombinationCounts.of(t, 3)
        errors = {}
        for recoding in (False, True):
            d, inv, w = np.unique(t.codes, axis=0, return_inverse=True, return_counts=True)
            out = local_suppression(d, w.astype(float), t.radix, 11, recoding=recoding)
            rel = t.with_codes(out[inv.ravel()])
            assert _classes_ok(rel.codes, np.ones(t.n_rows), 11)
            ev = evaluate(t, counts_of_rows(rel, 3), 11, 3, true_counts=truth)
            assert ev.total("leaked") == 0
            errors[recoding] = ev.errors()
        # recoding aims at exactly these errors: it must beat the per-cell heuristic
        assert sum(errors[True]) < sum(errors[False])
        assert errors[True][2] < errors[False][2]


def test_over_budget_returns_none_and_suppression_still_holds() -> None:
    t = random_table(4, n=500, cards=(5, 6, 7, 8))
    d, _, w = np.unique(t.codes, axis=0, return_inverse=True, return_counts=True)
    assert recode(d, w.astype(float), t.radix, 11, budget=5) is None
    out = local_suppression(d, w.astype(float), t.radix, 11)
    assert _classes_ok(out, w.astype(float), 11)


def test_pattern_ids_never_overflow() -> None:
    rng = np.random.default_rng(0)
    radix = np.full(12, 60_000, np.int64)  # 60,000 ** 12 is far beyond 64 bits
    codes = rng.integers(0, 3, (400, 12)).astype(np.int64) * 19_999
    codes[200:] = codes[:200]
    ids = pattern_ids([codes[:, j] for j in range(12)], radix)
    _, by_rows = np.unique(codes, axis=0, return_inverse=True)
    _, by_ids = np.unique(ids, return_inverse=True)
    # equal rows <-> equal ids
    assert np.array_equal(np.unique(np.c_[by_rows.ravel(), by_ids.ravel()], axis=0)[:, 0],
                          np.arange(by_rows.max() + 1))
    assert len(np.unique(ids)) == len(np.unique(codes, axis=0))
