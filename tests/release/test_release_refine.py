"""Row-swap refinement: rows only from the input or the pool, same row count, a lower
objective, no combination lost; and k-synthesis with it fits better without leaking."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import CombinationCounts, subsets
from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.refine import _Targets, refine_rows
from safelight.release.synthetic import KSynthesizer, reportable


def _objective(codes: np.ndarray, R: CombinationCounts, fit_length: int) -> float:
    tg = _Targets(R, codes.shape[1], fit_length, {})
    s = np.bincount(tg.index(codes).ravel(), minlength=tg.size + 1).astype(float)
    s[tg.dummy] = 0.0
    return tg.objective(s)


@pytest.mark.parametrize("seed", range(3))
def test_refine_uses_only_given_rows_and_improves(seed: int) -> None:
    t = random_table(seed, n=600, cards=(3, 4, 5, 2))
    R = reportable(t, 5, 3)
    rng = np.random.default_rng(seed)
    # a poor start: the real rows shuffled column by column (right 1-way counts only)
    start = np.stack([rng.permutation(t.codes[:, j]) for j in range(t.n_columns)], axis=1)
    pool = t.codes[rng.choice(t.n_rows, 200, replace=False)]
    out, rep = refine_rows(start, pool, R, tolerance=0.0)
    assert out.shape == start.shape
    allowed = {tuple(r) for r in np.concatenate([start, pool]).tolist()}
    assert {tuple(r) for r in out.tolist()} <= allowed
    before, after = _objective(start, R, 3), _objective(out, R, 3)
    assert rep.objective_before == pytest.approx(before)
    assert rep.objective_after == pytest.approx(after)
    assert after < 0.8 * before and rep.swaps > 0
    # no combination the start showed is lost
    for s in subsets(t.n_columns, 3):
        keys = R.tables[s][0]
        was = counts_of_rows(t.with_codes(start), 3).lookup(s, keys) > 0
        now = counts_of_rows(t.with_codes(out), 3).lookup(s, keys) > 0
        assert np.all(now[was]), s


def test_refine_with_nothing_to_fit_returns_the_rows() -> None:
    t = random_table(1, n=30)
    R = reportable(t, 1000, 2)  # nothing reportable
    out, rep = refine_rows(t.codes, t.codes[:5], R)
    np.testing.assert_array_equal(out, t.codes)
    assert rep.swaps == 0


@pytest.mark.parametrize("seed", range(2))
def test_k_synthesis_refined_fits_better_and_stays_safe(seed: int) -> None:
    t = random_table(seed + 10, n=3000, cards=(4, 5, 6, 3, 4), missing=0.03)
    k = 10
    errs = []
    for refine in (False, True):
        syn, rep = KSynthesizer(k, 3, iterations=4, refine=refine, seed=seed).fit_sample(t)
        assert syn.n_rows == t.n_rows
        ev = evaluate(t, counts_of_rows(syn, 3), k, 3, released_rows=syn)
        assert ev.total("leaked") == 0 and ev.total("fabricated") == 0
        errs.append(ev.errors())
        assert (rep.refine_swaps > 0) == refine
    assert errs[1][1] < errs[0][1] and errs[1][2] < errs[0][2]
