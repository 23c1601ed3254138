"""Differentially private synthetic microdata, with or without a k floor.

Contract: (ε, δ) is spent once, in :func:`safelight.release.dp.measure` (noisy 1- and 2-way
marginals over the public domain, the noisy row count, and the thresholded whole-row
histogram). The rows are generated from those noisy counts only — post-processing, no further
privacy cost.

Default (``estimator="model"``): :func:`safelight.release.dp.measure_for_model` measures
(the noisy total first, then, on the rest of ρ, the row histogram at a share set from that
total — 30% at ε <= 1 and 70% at ε >= 4 for a table of many people per unit of threshold,
down to a third of that for few, :func:`~safelight.release.dp.adaptive_row_share` — and each
marginal on its own with noise ∝ cells^-1/3, the 1-way ones at a half to a quarter of that,
:func:`~safelight.release.dp.model_one_way`);
:mod:`safelight.release.pgm` fits one distribution — weights on candidate rows — to every
measurement at once. With the k floor the rows then carry the **floored counts of DP
aggregates**: the reportable set is every combination of up to ``length`` values that DP
aggregates would release
(:func:`~safelight.release.dp_aggregates.floored_estimate`: model count ``>= k``, the part no
released row pattern shows weighted 0.75–0.95 by how much of the table the patterns show,
:func:`~safelight.release.dp_aggregates.extrapolated_weight_for`), made hereditary
(:func:`reportable_from`), and the calibrated constrained sampler of k-synthetic data, with
its row-swap refinement toward those counts (:func:`sample_floored`), draws ``round(noisy
total)`` rows in which every combination of up to ``length`` values is reportable;
:func:`check_rows` verifies it before anything is returned. ``bench_ctdc10.csv``, ε = 4, the
same measurements (1/2/3-way error, lost share):
``"model-blank"`` 0.096 / 0.225 / 0.290 and 15% lost; the sampler without refinement 0.052 /
0.198 / 0.292 and 13.5% (median of three); with it 0.044 / 0.166 / 0.245 and 9.8%, 0.048 /
0.146 / 0.218 and 8.7% (two runs) — the synthetic rows are about as accurate as the DP
aggregates themselves.

``estimator="model-blank"`` (the previous default) applies the floor to the model itself
(:func:`~safelight.release.pgm.apply_floor`: values that put a candidate row in a combination
with a model count under ``k`` are blanked) and draws the rows by systematic rounding (counts
within one of the model's). Without a floor both draw the rows from the fitted model.

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
import math

import numpy as np

from safelight.release.cellrefine import refine_cells
from safelight.release.combos import CombinationCounts, Subset, decode_keys, multipliers, subsets
from safelight.release.dp import ROW_SHARE, Measurements, default_plan, measure, measure_for_model
from safelight.release.dp_aggregates import Estimate, estimate, floored_estimate
from safelight.release.errors import ReleaseError, ReleaseUsageError, nothing_released
from safelight.release.patterns import expand, merge
from safelight.release.pgm import apply_floor, fit_model, sample_rows
from safelight.release.synthetic import KSynthesizer, SynthesisReport
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.dp_synthetic")

#: What :func:`synthesize_dp` accepts as ``estimator`` (see the module docstring).
ESTIMATORS = ("model", "model-blank", "ipf")

def synthesis_length(epsilon: float) -> int:
    """Longest combination the k floor of the synthetic rows covers, by default: 3 at every
    ε with the model (with the earlier sampler 2 below ε = 2 was better, ``bench_ctdc10.csv``,
    ε = 1: 3-way error 0.72 at length 2, 0.81 at length 3)."""
    del epsilon
    return 3


#: The value refinement's weight of the 1-way part of its objective at ε <= 1 and at ε >= 4
#: (log-linear between; :func:`refine_one_way_weight`).
REFINE_ONE_WAY = (1.0, 3.0)


def refine_one_way_weight(epsilon: float) -> float:
    """How many times the value refinement (:func:`~safelight.release.cellrefine.refine_cells`)
    counts the 1-way part of its objective: 1 at ε <= 1, 3 at ε >= 4, log-linear between. The
    rows keep a blank where a rare value's 3-way combinations are not reportable, and the
    common values absorb the shortfall; counting the 1-way part more moves it back at some
    cost to the 2- and 3-way counts, which at ε = 4 have room. ``bench_ctdc10.csv``, the same
    three OpenDP measurements, DP synthetic rows, 1/2/3-way error: ε = 4, weight 1 0.044 /
    0.159 / 0.226, 0.047 / 0.167 / 0.241, 0.065 / 0.174 / 0.235; weight 3 0.040 / 0.161 /
    0.229, 0.044 / 0.168 / 0.245, 0.060 / 0.177 / 0.240; weight 10 was measured earlier at
    +0.011 / +0.015 on 2- and 3-way. At ε = 1 (floor weight 0.9) weight 3 gave 1-way −0.004,
    2-way +0.007, 3-way +0.009 (medians), so ε = 1 keeps 1."""
    lo, hi = REFINE_ONE_WAY
    x = min(max(math.log(epsilon) / math.log(4.0), 0.0), 1.0)
    return lo + (hi - lo) * x


def reportable_from(est: Estimate, floor: float) -> CombinationCounts:
    """Combinations whose rounded estimate is ``>= floor``, closed downwards (see above)."""
    like = est.like
    radix = like.radix
    length = max((len(s) for s in est.counts), default=0)
    kept: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    for s in subsets(like.n_columns, length):
        keys, e, _ = est.counts.get(s, (np.empty(0, np.int64), np.empty(0), np.empty(0)))
        ok = (np.rint(e) >= floor) & (e >= floor)  # a count of 10.6 is not 11
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


def sample_floored(like: CategoricalTable, R: CombinationCounts, n: int, k: int, length: int,
                   iterations: int, seed: int, *, cells: bool = True,
                   one_way_weight: float = 1.0,
                   ) -> tuple[CategoricalTable, SynthesisReport]:
    """``n`` rows in which every combination of up to ``length`` values is in ``R``,
    calibrated to ``R``'s counts and then refined toward them by row swaps: k-synthetic
    data's sampler (:class:`~safelight.release.synthetic.KSynthesizer`) driven by released
    counts (:meth:`~safelight.release.synthetic.KSynthesizer.sample_counts` with its
    refinement on). The refinement's targets are ``R``'s counts and ``like`` has no rows, so
    it sees nothing but the floored DP counts: post-processing.
    ``bench_ctdc10.csv``, ε = 4, two measurements: 1/2/3-way error 0.052 / 0.198 / 0.292 and
    13.6% lost without the refinement, 0.044 / 0.166 / 0.245 and 9.8% with it (and 0.053 /
    0.193 / 0.282, 12.3% against 0.048 / 0.146 / 0.218, 8.7%). With ``cells`` (default) the
    rows are then refined value by value toward ``R``
    (:func:`~safelight.release.cellrefine.refine_cells`: a value changed, filled or blanked
    where that brings the 1..3-way counts closer to ``R`` and adds no combination outside it),
    also reading nothing but ``R``. ``bench_ctdc10.csv``, the same three measurements at ε = 4
    (1/2/3-way error without -> with it): 0.071 / 0.181 / 0.247 -> 0.071 / 0.175 / 0.241,
    0.060 / 0.162 / 0.236 -> 0.059 / 0.163 / 0.232, 0.052 / 0.177 / 0.245 -> 0.048 / 0.177 /
    0.242; at ε = 1 0.182 / 0.346 / 0.454 -> 0.180 / 0.345 / 0.450 and 0.184 / 0.352 / 0.459 ->
    0.178 / 0.350 / 0.455; about 2 CPU-s. The rest of the gap to the counts themselves (2-way
    combinations of 11–30 people come out ~27% short at ε = 4) is the floor's: a row with a rare
    value may carry two of its reportable 2-way combinations only if their 3-way combination
    is reportable too. ``one_way_weight`` counts the 1-way part of that refinement's objective
    so many times (:func:`refine_one_way_weight`)."""
    sampler = KSynthesizer(k, length, iterations=iterations, seed=seed)
    rows, report = sampler.sample_counts(like.with_codes(np.zeros((0, like.n_columns), np.int32)),
                                         R, n, refine=True)
    if not (cells and iterations):
        return rows, report
    patterns, weights = merge(rows.codes, np.ones(rows.n_rows, np.int64))
    rng = np.random.default_rng(seed)
    patterns, weights = refine_cells(patterns, weights, R, length, rng,
                                     length_weights={1: one_way_weight})
    return rows.with_codes(expand(patterns, weights, rng)), report


def check_rows(rows: CategoricalTable, R: CombinationCounts) -> None:
    """Every combination of up to ``R.max_length`` values in ``rows`` is in ``R`` (the final
    check of the floor; the sampler promises it, this makes sure).

    :raises ReleaseError: a combination outside ``R`` (nothing is released).
    """
    got = CombinationCounts.of(rows, R.max_length)
    for s, (keys, _) in got.tables.items():
        outside = ~np.isin(keys, R.tables.get(s, (np.empty(0, np.int64),))[0])
        if outside.any():
            cols = "+".join(rows.columns[j] for j in s)
            raise ReleaseError(f"synthetic rows carry {int(outside.sum())} combination(s) of "
                               f"{cols} outside the floored counts; nothing was released - "
                               "report this as a bug in safelight.release.dp_synthetic")


def _synthesize_model(table: CategoricalTable, epsilon: float, delta: float, k: int | None,
                      length: int, seed: int, iterations: int, blank: bool,
                      ) -> tuple[CategoricalTable, SynthesisReport, Measurements]:
    meas = measure_for_model(table, epsilon, delta)
    model = fit_model(meas, seed=seed)
    n = max(int(round(meas.total)), 1)
    if k is not None and not blank:
        # the floored counts of DP aggregates, drawn as rows by the constrained sampler
        R = reportable_from(floored_estimate(model, meas, length, float(k)), float(k))
        if R.n_combinations() == 0:
            raise nothing_released(epsilon, meas.total)
        one_way = refine_one_way_weight(epsilon)
        meas.accounting["refine_one_way_weight"] = round(one_way, 4)
        syn, report = sample_floored(meas.like, R, n, k, length, iterations, seed,
                                     one_way_weight=one_way)
        check_rows(syn, R)
        log.info("DP synthesis (model, sampler): %d rows from %d reportable combinations", n,
                 R.n_combinations())
        return syn, report, meas
    if k is not None:
        model = apply_floor(model, float(k), length, max(meas.total, 1.0))
    if not (model.weights > 0).any():
        raise nothing_released(epsilon, meas.total)
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
    :param estimator: ``"model"`` (default), ``"model-blank"`` or ``"ipf"`` (see the module
        docstring); ``iterations`` are the sampler's calibration passes (``"model"`` with a
        floor, and ``"ipf"``); ``row_share`` applies to ``"ipf"`` only.
    """
    if k is not None and k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    if estimator not in ESTIMATORS:
        raise ReleaseUsageError(f"estimator must be one of {', '.join(ESTIMATORS)} (got "
                                f"{estimator!r})")
    length = length or synthesis_length(epsilon)
    if estimator != "ipf":
        return _synthesize_model(table, epsilon, delta, k, length, seed, iterations,
                                 estimator == "model-blank")
    measured, _ = default_plan(epsilon)
    meas = measure(table, epsilon, delta, min(length, measured),
                   row_share=ROW_SHARE if row_share is None else row_share)
    est = estimate(meas, length)
    R = reportable_from(est, float(k) if k is not None else 1.0)
    n = max(int(round(meas.total)), 1)
    if R.n_combinations() == 0:
        raise nothing_released(epsilon, meas.total)
    syn, report = KSynthesizer(max(k or 2, 2), length, iterations=iterations,
                               seed=seed).sample_counts(meas.like, R, n)
    log.info("DP synthesis: %d rows from %d reportable combinations", n, R.n_combinations())
    return syn, report, meas


__all__ = ["ESTIMATORS", "REFINE_ONE_WAY", "check_rows", "refine_one_way_weight",
           "reportable_from", "sample_floored", "synthesis_length", "synthesize_dp"]
