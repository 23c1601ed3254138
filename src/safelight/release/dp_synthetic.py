"""Differentially private synthetic microdata, with or without a k floor.

Contract: (ε, δ) is spent once, in :func:`safelight.release.dp.measure` (noisy 1- and 2-way
marginals over the public domain, the noisy row count, and the thresholded whole-row
histogram). The rows are generated from those noisy counts only — post-processing, no further
privacy cost.

Default (``estimator="model"``): :func:`safelight.release.dp.measure_for_model` measures
(30% of ρ on the row histogram, each marginal on its own with noise ∝ cells^-1/3, the 1-way
ones at half the noise); :mod:`safelight.release.pgm` fits one distribution — weights on
candidate rows — to every measurement at once, applies the k floor to it (no combination of
up to ``length`` values in a row with a model count under ``k``: such values are blanked) and
the rows are drawn from it by systematic rounding (counts within one of the model's).

``estimator="ipf"`` (the earlier design, kept for comparison) samples with the calibrated
constrained sampler of k-synthetic data
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
from safelight.release.dp import ROW_SHARE, Measurements, default_plan, measure, measure_for_model
from safelight.release.dp_aggregates import Estimate, estimate
from safelight.release.errors import ReleaseUsageError
from safelight.release.pgm import apply_floor, fit_model, sample_rows
from safelight.release.synthetic import KSynthesizer, SynthesisReport
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.dp_synthetic")

def synthesis_length(epsilon: float) -> int:
    """Longest combination the k floor of the synthetic rows covers, by default: 3 at every
    ε with the model (with the earlier sampler 2 below ε = 2 was better, ``bench_ctdc10.csv``,
    ε = 1: 3-way error 0.72 at length 2, 0.81 at length 3)."""
    del epsilon
    return 3


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


def _synthesize_model(table: CategoricalTable, epsilon: float, delta: float, k: int | None,
                      length: int, seed: int) -> tuple[CategoricalTable, SynthesisReport,
                                                       Measurements]:
    meas = measure_for_model(table, epsilon, delta)
    model = fit_model(meas, seed=seed)
    if k is not None:
        model = apply_floor(model, float(k), length, max(meas.total, 1.0))
    n = max(int(round(meas.total)), 1)
    if not (model.weights > 0).any():
        raise ReleaseUsageError(f"at epsilon {epsilon} nothing clears the floor; raise "
                                "epsilon or lower --k")
    rows = sample_rows(model, n, np.random.default_rng(seed))
    report = SynthesisReport(0, int(sum(len(model.counts(s)[0])
                                        for s in subsets(table.n_columns, length))),
                             list(table.columns))
    log.info("DP synthesis (model): %d rows from %d candidate rows", n,
             int((model.weights > 0).sum()))
    return meas.like.with_codes(rows), report, meas


def synthesize_dp(table: CategoricalTable, epsilon: float, delta: float = 1e-6,
                  k: int | None = 11, length: int | None = None, *, iterations: int = 8,
                  seed: int = 0, row_share: float | None = None, estimator: str = "model",
                  ) -> tuple[CategoricalTable, SynthesisReport, Measurements]:
    """(ε, δ)-DP synthetic rows for ``table`` (already restricted to a public domain).

    :param k: the floor (see the module docstring); ``None`` for plain DP synthesis.
    :param length: longest combination estimated and constrained in the rows (default
        :func:`synthesis_length`); marginals are measured up to
        :func:`~safelight.release.dp.default_plan`'s length, longer ones estimated.
    :param seed: seeds the sampler only (the privacy noise comes from OpenDP).
    :param estimator: ``"model"`` (default) or ``"ipf"`` (see the module docstring);
        ``iterations`` and ``row_share`` apply to ``"ipf"`` only.
    """
    if k is not None and k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    if estimator not in ("model", "ipf"):
        raise ReleaseUsageError(f"estimator must be 'model' or 'ipf' (got {estimator!r})")
    length = length or synthesis_length(epsilon)
    if estimator == "model":
        return _synthesize_model(table, epsilon, delta, k, length, seed)
    measured, _ = default_plan(epsilon)
    meas = measure(table, epsilon, delta, min(length, measured),
                   row_share=ROW_SHARE if row_share is None else row_share)
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
