"""Differentially private synthetic microdata, with or without a k floor.

Contract: (ε, δ) is spent once, in :func:`safelight.release.dp.measure` (noisy 1..L-way
marginals over the public domain, the noisy row count, and the thresholded whole-row
histogram). The rows are generated from those noisy counts only — post-processing, no further
privacy cost — by the same calibrated constrained sampler as k-synthetic data
(:meth:`safelight.release.synthetic.KSynthesizer.sample_counts`):

1. the counts of up to ``L`` values are estimated as for DP aggregates
   (:func:`~safelight.release.dp_aggregates.estimate`: 1- and 2-way measured, longer ones
   fitted to them);
2. the *reportable set* is every combination whose estimate is at least the floor (``k``; or 1
   without a floor), made hereditary (a combination whose sub-combinations are not all
   reportable is dropped — the sampler needs its contexts);
3. the sampler draws ``round(noisy total)`` rows in which every combination of up to ``L``
   values is reportable, calibrated to the estimated counts.

With the floor, no combination of up to ``L`` values in the synthetic rows has an *estimated*
count under ``k`` (the same statement, and the same caveat about true counts, as for DP
aggregates). The exact row count and the data's category lists are never published: the row
count is noisy and the categories come from the public domain.
"""

from __future__ import annotations

import logging

import numpy as np

from safelight.release.combos import CombinationCounts, Subset, decode_keys, multipliers, subsets
from safelight.release.dp import Measurements, default_plan, measure
from safelight.release.dp_aggregates import Estimate, estimate
from safelight.release.errors import ReleaseUsageError
from safelight.release.synthetic import KSynthesizer, SynthesisReport
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.dp_synthetic")

def synthesis_length(epsilon: float) -> int:
    """Longest combination the synthetic rows are constrained and calibrated on, by default:
    3, but 2 below ε = 2, where few 3-way estimates clear the floor and constraining on them
    blanks more than it keeps (``bench_ctdc10.csv``, ε = 1: 3-way error 0.72 at length 2,
    0.81 at length 3)."""
    return 3 if epsilon >= 2 else 2


def reportable_from(est: Estimate, floor: float) -> CombinationCounts:
    """Combinations whose rounded estimate is ``>= floor``, closed downwards (see above)."""
    like = est.like
    radix = like.radix
    length = max((len(s) for s in est.counts), default=0)
    kept: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    for s in subsets(like.n_columns, length):
        keys, e, _ = est.counts.get(s, (np.empty(0, np.int64), np.empty(0), np.empty(0)))
        ok = np.rint(e) >= floor
        keys, cnt = keys[ok], np.rint(e[ok])
        if len(s) > 1 and len(keys):
            codes = decode_keys(keys, radix, s)
            for drop in range(len(s)):
                sub = s[:drop] + s[drop + 1:]
                sk = codes[:, [i for i in range(len(s)) if i != drop]].astype(np.int64) \
                    @ multipliers(radix, sub)
                ok = np.isin(sk, kept[sub][0])
                keys, cnt, codes = keys[ok], cnt[ok], codes[ok]
        order = np.argsort(keys)
        kept[s] = (keys[order], cnt[order])
    return CombinationCounts(radix, length, kept)


def synthesize_dp(table: CategoricalTable, epsilon: float, delta: float = 1e-6,
                  k: int | None = 11, length: int | None = None, *, iterations: int = 8,
                  seed: int = 0, row_share: float | None = None,
                  ) -> tuple[CategoricalTable, SynthesisReport, Measurements]:
    """(ε, δ)-DP synthetic rows for ``table`` (already restricted to a public domain).

    :param k: the floor (see the module docstring); ``None`` for plain DP synthesis.
    :param length: longest combination estimated and constrained in the rows (default
        :func:`synthesis_length`); marginals are measured up to
        :func:`~safelight.release.dp.default_plan`'s length, longer ones estimated.
    :param seed: seeds the sampler only (the privacy noise comes from OpenDP).
    """
    if k is not None and k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    measured, d_share = default_plan(epsilon)
    length = length or synthesis_length(epsilon)
    meas = measure(table, epsilon, delta, min(length, measured),
                   row_share=d_share if row_share is None else row_share)
    est = estimate(meas, length)
    R = reportable_from(est, float(k) if k is not None else 1.0)
    n = max(int(round(meas.total)), 1)
    if R.n_combinations() == 0:
        raise ReleaseUsageError(f"at epsilon {epsilon} nothing clears the floor; raise "
                                "epsilon or lower --k")
    syn, report = KSynthesizer(max(k or 2, 2), length, iterations=iterations,
                               seed=seed).sample_counts(meas.like, R, n)
    log.info("DP synthesis: %d rows from %d reportable combinations", n, R.n_combinations())
    return syn, report, meas


__all__ = ["synthesis_length", "reportable_from", "synthesize_dp"]
