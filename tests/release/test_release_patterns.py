"""Row patterns (distinct rows with counts): every operation equals the same operation on the
expanded rows, and k-synthesis of a large table runs on patterns, not rows."""

from __future__ import annotations

import time

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import CombinationCounts, count_subset, subsets
from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.patterns import (
    count_patterns,
    expand,
    merge,
    systematic_counts,
    unique_rows,
    weighted_counts,
)
from safelight.release.refine import refine_counts
from safelight.release.synthetic import KSynthesizer, reportable


def _per_row_systematic(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The per-row systematic draw the sampler used before patterns (reference)."""
    n = p.shape[0]
    choice = np.zeros(n, np.int64)
    undecided = np.ones(n, bool)
    remaining = np.ones(n)
    for c in np.argsort(-p.sum(axis=0), kind="stable"):
        if c == 0:
            continue
        idx = np.flatnonzero(undecided)
        if len(idx) == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(remaining[idx] > 1e-12, p[idx, c] / remaining[idx], 0.0)
        q = np.clip(q, 0.0, 1.0)
        q[q > 1 - 1e-5] = 1.0
        cum = np.cumsum(q)
        u = rng.random()
        picked = (np.floor(cum + u) > np.floor(cum - q + u)) & (q > 0)
        choice[idx[picked]] = c
        undecided[idx[picked]] = False
        remaining -= p[:, c]
        np.maximum(remaining, 0.0, out=remaining)
    return choice


def _random_p(rng: np.random.Generator, g: int, m: int) -> np.ndarray:
    p = rng.random((g, m)) ** 3
    p[rng.random((g, m)) < 0.3] = 0.0  # blocked values
    p[:, 0] += 0.01
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(5))
def test_systematic_counts_equal_the_per_row_draw(seed: int) -> None:
    """Same seed, same patterns in the same order: the counts per pattern are the per-row
    draw's counts (up to float rounding at a boundary, which may move one row)."""
    rng = np.random.default_rng(seed)
    p = _random_p(rng, 40, 6)
    w = rng.integers(0, 60, 40)
    got = systematic_counts(p, w, np.random.default_rng(seed + 100))
    rows = _per_row_systematic(np.repeat(p, w, axis=0), np.random.default_rng(seed + 100))
    group = np.repeat(np.arange(40), w)
    ref = np.zeros_like(got)
    np.add.at(ref, (group, rows), 1)
    np.testing.assert_array_equal(got.sum(axis=1), w)
    assert np.abs(got - ref).max() <= 1
    assert np.mean(got == ref) > 0.97


def test_systematic_counts_are_unbiased_and_respect_zeros() -> None:
    rng = np.random.default_rng(0)
    p = _random_p(rng, 12, 5)
    w = rng.integers(1, 30, 12)
    draws = np.stack([systematic_counts(p, w, np.random.default_rng(s)) for s in range(400)])
    assert np.all(draws[:, p == 0] == 0)
    np.testing.assert_allclose(draws.mean(axis=0), w[:, None] * p, atol=0.25)
    # each pattern's count of each value is within 1 of its expectation per decided value
    assert np.all(np.abs(draws - w[:, None] * p) < p.shape[1])


@pytest.mark.parametrize("big", [False, True])
def test_unique_rows_and_merge(big: bool) -> None:
    t = random_table(2, n=500)
    codes = t.codes.copy()
    if big:  # values too large for one int64 key per row: the byte-string path
        codes[:, 0] *= 2**20
        codes[:, 1] *= 2**20
        codes[:, 2] *= 2**20
    rows, inv = unique_rows(codes)
    np.testing.assert_array_equal(rows[inv], codes)
    assert len(rows) == len(np.unique(codes, axis=0))
    w = np.arange(len(codes)) % 3  # some zero weights
    m_rows, m_w = merge(codes, w)
    assert m_w.sum() == w.sum() and np.all(m_w > 0)
    back = {tuple(r): c for r, c in zip(m_rows.tolist(), m_w.tolist(), strict=True)}
    for r, c in zip(*np.unique(np.repeat(codes, w, axis=0), axis=0, return_counts=True),
                    strict=True):
        assert back[tuple(r.tolist())] == c


def test_pattern_counts_equal_row_counts() -> None:
    t = random_table(4, n=800, cards=(3, 5, 4, 2, 6))
    rows, w = merge(t.codes, np.ones(t.n_rows, np.int64))
    assert len(rows) < t.n_rows
    full = CombinationCounts.of(t, 3)
    for s in subsets(t.n_columns, 3):
        keys, counts = count_subset(t.codes, t.radix, s)
        pk, pc = count_patterns(rows, w, t.radix, s)
        np.testing.assert_array_equal(pk, keys)
        np.testing.assert_array_equal(pc, counts)
        np.testing.assert_array_equal(weighted_counts(rows, w, t.radix, s, keys), counts)
    R = reportable(t, 7, 3)
    for s, (keys, counts) in full.tables.items():
        np.testing.assert_array_equal(R.tables[s][0], keys[counts >= 7])
    out = expand(rows, w, np.random.default_rng(0))
    assert sorted(map(tuple, out.tolist())) == sorted(map(tuple, t.codes.tolist()))


def test_refine_on_patterns_equals_refine_on_rows() -> None:
    t = random_table(6, n=900, cards=(3, 4, 5, 2))
    R = reportable(t, 5, 3)
    rng = np.random.default_rng(6)
    start = np.stack([rng.permutation(t.codes[:, j]) for j in range(t.n_columns)], axis=1)
    pool = t.codes[:150]
    rows, w = merge(start, np.ones(len(start), np.int64))
    a_rows, a_w, a_rep = refine_counts(rows, w, pool, R)
    b_rows, b_w, b_rep = refine_counts(start, np.ones(len(start), np.int64), pool, R)
    assert a_w.sum() == len(start) and np.all(a_w > 0)
    np.testing.assert_array_equal(a_rows, b_rows)
    np.testing.assert_array_equal(a_w, b_w)
    assert a_rep.objective_after == b_rep.objective_after < a_rep.objective_before


def test_k_synthesis_of_a_large_table_runs_on_patterns() -> None:
    """200,000 rows (a 2,000-row table repeated): the synthesis costs what the distinct rows
    cost — under 2 CPU seconds here (drawing every row in every pass took 10.9) — and keeps
    the guarantee and the row count."""
    small = random_table(8, n=2000, cards=(4, 6, 5, 3, 2), missing=0.03)
    t = small.with_codes(np.tile(small.codes, (100, 1)))
    c0 = time.process_time()
    syn, rep = KSynthesizer(11, 3, iterations=8).fit_sample(t)
    cpu = time.process_time() - c0
    assert syn.n_rows == t.n_rows
    ev = evaluate(t, counts_of_rows(syn, 3), 11, 3, released_rows=syn)
    assert ev.total("leaked") == 0 and ev.total("fabricated") == 0
    assert ev.errors()[0] < 0.05
    assert cpu < 8.0, cpu


def test_sample_counts_refines_on_request_from_the_counts_alone() -> None:
    """``sample_counts(..., refine=True)`` (DP synthesis drives it with floored noisy counts):
    the rows keep every combination in ``R`` and fit ``R`` better than without refinement."""
    t = random_table(9, n=3000, cards=(4, 5, 6, 3), missing=0.03)
    R = reportable(t, 10, 3)
    empty = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    fits = []
    for refine in (False, True):
        syn, rep = KSynthesizer(10, 3, iterations=4).sample_counts(empty, R, 2500,
                                                                    refine=refine)
        assert syn.n_rows == 2500 and (rep.refine_swaps > 0) == refine
        got = counts_of_rows(syn, 3)
        err = []
        for s, (keys, counts) in R.tables.items():
            k_got, _ = got.tables[s]
            assert np.all(np.isin(k_got, keys)), s
            err.append(np.mean(np.abs(got.lookup(s, keys) - counts) / counts))
        fits.append(np.mean(err))
    assert fits[1] < fits[0]
