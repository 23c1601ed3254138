"""The candidate rows of the DP model (safelight.release.pgm): a value's count pooled from every
measured marginal that holds it decides whether candidate rows carry it."""

from __future__ import annotations

import math

import numpy as np
from helpers_release import exact_two_way

from safelight.release.combos import CombinationCounts
from safelight.release.dp import Measurements, cell_keys
from safelight.release.pgm import POOLED_SD, candidates, pooled_one_way
from safelight.release.table import from_columns


def _table(n_rare: int = 40):
    """Three columns; column 0 (the widest: the root of the candidates' tree) has a value
    ``r`` held by ``n_rare`` people, always with b0 / c0."""
    a = ["x", "y", "z", "w"] * 250 + ["r"] * n_rare
    b = ["b0", "b1"] * 500 + ["b0"] * n_rare
    c = ["c0", "c1", "c2"] * 333 + ["c0"] + ["c0"] * n_rare
    return from_columns({"a": a, "b": b, "c": c})


def _measurements(t, sigmas: dict, noise: dict | None = None) -> Measurements:
    """'Measurements' with the exact marginals plus the given offsets (``noise[s]``: dense
    vector added to the marginal of ``s``) and the given noise s.d. per marginal; no rows."""
    noisy = {s: dense + (noise or {}).get(s, 0.0) for s, dense in exact_two_way(t).items()}
    like = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    return Measurements(like, 2, noisy, 1.0, float(t.n_rows), np.zeros((0, t.n_columns), np.int32),
                        np.zeros(0), 1.0, 20, 1.0, 1e-6, 1.0, sigmas=dict(sigmas))


def _code(t, j: int, value: str) -> int:
    return list(t.values[j]).index(value) + 1


def test_pooled_count_is_the_inverse_variance_mean_of_every_marginal_holding_the_column() -> None:
    t = _table()
    sig = {(0,): 30.0, (1,): 5.0, (2,): 5.0, (0, 1): 10.0, (0, 2): 4.0, (1, 2): 5.0}
    # exact marginals: every estimate is the true count, so the pooled one is too
    est, sd = pooled_one_way(_measurements(t, sig), 0)
    r = _code(t, 0, "r") - 1
    assert abs(est[r] - 40) < 1e-9
    # sd: 1-way 30, (a, b) summed over 2 values 10*sqrt(2), (a, c) over 3 values 4*sqrt(3)
    expect = 1 / math.sqrt(1 / 30**2 + 1 / (10 * math.sqrt(2)) ** 2 + 1 / (4 * math.sqrt(3)) ** 2)
    assert abs(sd - expect) < 1e-12
    # offsets in one measurement move the pooled count by its inverse-variance share
    n_a = int(t.radix[0]) - 1
    shift = np.zeros(n_a)
    shift[r] = -30.0
    est2, _ = pooled_one_way(_measurements(t, sig, {(0,): shift}), 0)
    assert abs((est2[r] - 40) - (-30.0) * (1 / 30**2) * expect**2) < 1e-9


def test_a_value_under_its_own_noise_but_shown_by_its_2_way_marginals_gets_candidates() -> None:
    t = _table()
    r = _code(t, 0, "r")
    n_a = int(t.radix[0]) - 1
    low = np.zeros(n_a)
    low[r - 1] = -25.0  # its own noisy count 15, under one s.d. (30)
    sig = {(0,): 30.0, (1,): 5.0, (2,): 5.0, (0, 1): 4.0, (0, 2): 4.0, (1, 2): 5.0}
    meas = _measurements(t, sig, {(0,): low})
    est, sd = pooled_one_way(meas, 0)
    assert est[r - 1] > POOLED_SD * sd  # the 2-way marginals (s.d. 4 per cell) show ~40
    codes, _ = candidates(meas, np.random.default_rng(0), tree_samples=4000, neighbours=0)
    assert (codes[:, 0] == r).any()
    # and a value no marginal shows is not drawn
    absent = np.zeros(n_a)
    absent[r - 1] = -40.0
    gone = _measurements(t, sig, {(0,): absent, (0, 1): _zero_value(t, 1, r, sig),
                                  (0, 2): _zero_value(t, 2, r, sig)})
    codes, _ = candidates(gone, np.random.default_rng(0), tree_samples=4000, neighbours=0)
    assert not (codes[:, 0] == r).any()


def _zero_value(t, o: int, r: int, sig) -> np.ndarray:
    """Offsets that take value ``r`` of column 0 out of the 2-way marginal (0, o)."""
    radix = t.radix
    n_a, n_o = int(radix[0]) - 1, int(radix[o]) - 1
    off = np.zeros((n_a, n_o))
    keys, counts = CombinationCounts.of(t, 2).tables[(0, o)]
    dense = np.zeros(n_a * n_o)
    dense[np.searchsorted(cell_keys(radix, (0, o)), keys)] = counts
    off[r - 1, :] = -dense.reshape((n_a, n_o), order="F")[r - 1, :]
    return off.reshape(-1, order="F")


def test_pooled_one_way_reads_only_the_measurements() -> None:
    t = _table()
    sig = {(0,): 30.0, (1,): 5.0, (2,): 5.0, (0, 1): 4.0, (0, 2): 4.0, (1, 2): 5.0}
    meas = _measurements(t, sig)
    other = _table(n_rare=11)  # a different sensitive table behind the same measurements
    meas.like = other.with_codes(np.zeros((0, other.n_columns), np.int32))
    a, sa = pooled_one_way(meas, 0)
    b, sb = pooled_one_way(_measurements(t, sig), 0)
    assert np.array_equal(a, b) and sa == sb
    c1, w1 = candidates(meas, np.random.default_rng(3), tree_samples=2000, neighbours=0)
    c2, w2 = candidates(_measurements(t, sig), np.random.default_rng(3), tree_samples=2000,
                        neighbours=0)
    assert np.array_equal(c1, c2) and np.array_equal(w1, w2)
