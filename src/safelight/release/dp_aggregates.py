"""Differentially private aggregates, with or without a k floor.

Contract: :func:`release_dp_aggregates` spends (ε, δ) once, in
:func:`safelight.release.dp.measure` (or its two-step form
:func:`~safelight.release.dp.measure_adaptive`); everything here is post-processing of those
noisy counts and costs no privacy. The output has the shape of
:class:`~safelight.release.aggregates.AggregateRelease` (written by the same ``aggregates.csv``
writer); its ``total`` is the noisy row count, never the exact one.

The default estimate (``estimator="model"``)
--------------------------------------------
One distribution fitted to every noisy measurement at once (:mod:`safelight.release.pgm`,
measured by :func:`safelight.release.dp.measure_for_model`); every combination of up to
``length`` values gets the model's count (:func:`model_estimate`). With the k floor, the part
of a combination's count that the released row patterns do not show counts at
a weight ``w`` of its value: ``shown + w (count - shown) >= k``; a combination whose own
marginal was measured (1- and 2-way) has nothing extrapolated and needs ``count >= k``
(``MEASURED_WEIGHT``). ``w`` (:func:`extrapolated_weight_for`) is ``EXTRAPOLATED_WEIGHT`` (0.75)
where the released row patterns show most of the people (a noisy share of the noisy total of
0.75 or more) and rises to ``EXTRAPOLATED_WEIGHT_FEW_SHOWN`` (0.95) where they show 0.45 or
less — a function of the noisy measurements only. Every kept combination has a model count
``>= k``.

The earlier estimate (``estimator="ipf"``)
------------------------------------------
Two noisy views of the same table are combined per cell of every *measured* marginal (1- and
2-way by default):

* ``h`` — the count implied by the released whole-row patterns (small noise, about
  ``sigma_rows`` per pattern, but missing the people whose row pattern is rarer than the
  threshold: ``h`` is biased low). A cell with ``h > 0`` certainly exists: the threshold
  mechanism only ever releases row patterns that occur;
* ``y`` — the cell of the noisy marginal (unbiased, noise ``sigma_marginals``).

The *residual* ``y - h`` estimates the people whose row pattern was not released. It is only
considered in cells whose every (length − 1)-way sub-combination is estimated present (a
2-way cell of a country the 1-way estimate does not show cannot hold anyone). Where ``h > 0``
it is added when it clears ``fit_sd`` noise s.d. (1 by default: the cell is known to exist, the
question is only how large it is). Where ``h = 0`` the cell may well be empty, and the residual
is taken only when it clears ``a_s * sigma_marginals``, ``a_s = max(a, z(q / cells_s))``
growing with the number of candidate cells of the marginal so that, over ``cells_s`` empty
cells, about ``q`` pure-noise cells are expected to pass (keeps fabricated combinations rare
on marginals of countries x countries).

*Longer combinations* (3-way when 2-way marginals are measured) are not measured — their
marginals would carry the noise of all of them — but estimated: the residual tables of the
measured (length − 1)-way marginals (residuals over ``fit_sd`` s.d. in supported cells, the
rest 0) are fitted by iterative proportional fitting (the maximum-entropy table with those
margins), and the estimate is ``h`` plus that fit. A cell with ``h = 0`` must show a fitted
residual over ``fitted_sd`` noise s.d. (2 by default), with every sub-combination estimated
present. On ``bench_ctdc10.csv`` with exact residual margins this fit alone gives a 3-way
error of 0.06–0.09; the noise in the margins is what remains.

The k floor (``k`` given): a cell is released only if its estimate is at least ``k + z * sd``
(``sd`` its noise standard deviation), and the released count is the rounded estimate. What this
guarantees, precisely: **every released count is >= k** (a statement about the released, noisy
numbers — it holds always); about the true counts, a cell whose true count is below ``k`` is
released only if its noise exceeds ``z`` standard deviations plus the gap to ``k``, so the
floor makes such releases rare, *not impossible*. ``evaluation.json`` measures how rare on the
released data (``leaked``). No floor (``k = None``): every cell with a rounded estimate >= 1.
Either way the release is (ε, δ)-DP: the floor is post-processing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from safelight.release.aggregates import AggregateRelease
from safelight.release.combos import CombinationCounts, Subset, complete_rows, keys_of, subsets
from safelight.release.dp import (
    ROW_SHARE,
    Measurements,
    cell_keys,
    default_plan,
    measure,
    measure_for_model,
)
from safelight.release.errors import ReleaseUsageError, nothing_released
from safelight.release.pgm import Model, fit_model
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.dp_aggregates")

#: Residual threshold (in standard deviations of the marginal noise) for cells with no row
#: pattern behind them, on small marginals.
RESIDUAL_SD = 2.5
#: Expected number of pure-noise cells per marginal that may pass the residual threshold.
FALSE_CELLS = 0.1
#: Residual threshold (s.d.) for cells that released row patterns show to exist, and for the
#: residual margins that longer combinations are fitted to.
FIT_SD = 1.0
#: Fitted residual (s.d. of the marginal noise) a longer combination that no released row
#: pattern shows needs: on ``bench_ctdc10.csv`` at ε = 4, 1 s.d. loses 16% of the common
#: combinations and leaks ~70 (2% of records), the marginals' own threshold (~4 s.d.) 20% and
#: ~10, 2 s.d. 18% and ~20 (0.7% of records).
FITTED_SD = 2.0
#: Weight the k floor gives the part of a combination's model count that the released row
#: patterns do not show (:func:`model_estimate`): a combination is kept when
#: ``shown + EXTRAPOLATED_WEIGHT * (count - shown) >= k`` — where the patterns show most of the
#: people; releases take their weight from :func:`extrapolated_weight_for`.
EXTRAPOLATED_WEIGHT = 0.75
#: The weight of the extrapolated part where the released row patterns show few of the people
#: (:func:`extrapolated_weight_for`), and the shares of the noisy total they show at which the
#: weight is this (at or under the first) and :data:`EXTRAPOLATED_WEIGHT` (at or over the
#: second), linear between.
EXTRAPOLATED_WEIGHT_FEW_SHOWN = 0.95
SHOWN_SHARES = (0.45, 0.75)
#: The same weight for combinations whose marginal was measured (1- and 2-way): their model
#: count is fitted to a noisy count of their own, so no part of it is extrapolated. Measured on
#: ``bench_ctdc10.csv`` (the same three measurements per ε, medians; DP aggregates, 1/2/3-way
#: error, lost share, leaked combinations): ε = 4, 0.75 for every length 0.054 / 0.145 / 0.211,
#: 9.8%, 88 -> 1 for measured ones 0.044 / 0.132 / 0.211, 9.6%, 96 (one 1-way and 16 2-way
#: combinations fewer lost, 7 more 2-way leaked); ε = 1 0.146 / 0.321 / 0.431, 22.5%, 211 ->
#: 0.146 / 0.311 / 0.431, 22.3%, 223.
MEASURED_WEIGHT = 1.0
#: Iterations of proportional fitting, and the largest table fitted (larger: ``h`` only).
IPF_ITERATIONS = 20
MAX_FIT_CELLS = 4_000_000


@dataclass
class Estimate:
    """Estimated counts of every measured combination (float) and their noise s.d."""

    like: CategoricalTable
    counts: dict[Subset, tuple[np.ndarray, np.ndarray, np.ndarray]]  # keys, estimate, sd
    total: float


def _implied(meas: Measurements, s: Subset, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per combination of ``keys`` (sorted; e.g. every dense cell of ``s``): the count implied
    by the released row patterns, and how many patterns make it up."""
    h = np.zeros(len(keys))
    n_pat = np.zeros(len(keys))
    if len(meas.rows) and len(keys):
        ok = complete_rows(meas.rows, s)
        rk = keys_of(meas.rows[ok], meas.like.radix, s)
        pos = np.minimum(np.searchsorted(keys, rk), len(keys) - 1)
        hit = keys[pos] == rk
        np.add.at(h, pos[hit], meas.row_counts[ok][hit])
        np.add.at(n_pat, pos[hit], 1.0)
    return h, n_pat


def fit_table(shape: tuple[int, ...], margins: dict[tuple[int, ...], np.ndarray],
              iterations: int = IPF_ITERATIONS) -> np.ndarray:
    """Iterative proportional fitting: the table of ``shape`` (from uniform) whose sums over
    the axes outside each key of ``margins`` match that margin (maximum entropy)."""
    total = float(np.mean([m.sum() for m in margins.values()])) if margins else 0.0
    x = np.full(shape, total / max(float(np.prod(shape)), 1.0))
    if total <= 0:
        return np.zeros(shape)
    for _ in range(iterations):
        for axes, m in margins.items():
            other = tuple(a for a in range(len(shape)) if a not in axes)
            cur = x.sum(axis=other)
            f = np.divide(m, cur, out=np.zeros_like(m, dtype=float), where=cur > 0)
            x *= np.expand_dims(f, other)
    return x


def _parts_present(present: dict[Subset, np.ndarray], s: Subset,
                   shape: tuple[int, ...]) -> np.ndarray:
    """Per dense cell of ``s``: are all its (len - 1)-way sub-combinations estimated present?"""
    n = len(s)
    idx = np.arange(int(np.prod(shape)))
    parts = np.ones(len(idx), bool)
    if n < 2:
        return parts
    stride = np.concatenate(([1], np.cumprod(shape)[:-1]))
    axis_code = [(idx // stride[a]) % shape[a] for a in range(n)]
    for i in range(n):
        rest = [a for a in range(n) if a != i]
        sub_stride = np.concatenate(([1], np.cumprod([shape[a] for a in rest])[:-1]))
        sub_idx = sum(axis_code[a] * st for a, st in zip(rest, sub_stride, strict=True))
        parts &= present[s[:i] + s[i + 1:]][sub_idx]
    return parts


def estimate(meas: Measurements, length: int | None = None, *,
             residual_sd: float = RESIDUAL_SD, false_cells: float = FALSE_CELLS,
             fit_sd: float = FIT_SD, fitted_sd: float = FITTED_SD) -> Estimate:
    """Estimate every combination of up to ``length`` values (default: the measured length)
    from the row histogram and the marginals (see the module docstring)."""
    like = meas.like
    radix = like.radix
    sizes = radix - 1
    length = meas.length if length is None else length
    out: dict[Subset, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    fit: dict[Subset, np.ndarray] = {}  # residual tables, dense, axes in subset order
    present: dict[Subset, np.ndarray] = {}
    nd = NormalDist()
    sigma = meas.sigma_marginals

    def a_of(cells: int) -> float:
        return max(residual_sd, nd.inv_cdf(1.0 - min(0.5, false_cells / max(cells, 1))))

    def keep(s: Subset, keys: np.ndarray, est: np.ndarray, sd: np.ndarray) -> None:
        present[s] = est > 0
        nz = est > 0
        out[s] = (keys[nz], est[nz], sd[nz])

    for s, y in sorted(meas.noisy.items(), key=lambda kv: len(kv[0])):
        sigma = meas.sigma_of(s)
        keys = cell_keys(radix, s)
        h, n_pat = _implied(meas, s, keys)
        resid = np.where(np.isnan(y), 0.0, y - h)  # a sparse cell not released: no residual
        parts = _parts_present(present, s, tuple(int(x) for x in sizes[list(s)]))
        lenient = np.where((resid > fit_sd * sigma) & parts, resid, 0.0)
        strict = (resid > a_of(int(parts.sum())) * sigma) & parts
        est = np.where(h > 0, h + lenient, np.where(strict, resid, 0.0))
        sd = np.where((lenient > 0) | strict, sigma, np.sqrt(n_pat) * max(meas.sigma_rows, 1e-9))
        keep(s, keys, est, sd)
        fit[s] = lenient.reshape(tuple(sizes[list(s)]), order="F")
    sigma = meas.sigma_marginals
    for n in range(meas.length + 1, length + 1):
        for s in subsets(like.n_columns, n, n):
            keys = cell_keys(radix, s)
            h, _ = _implied(meas, s, keys)
            shape = tuple(int(x) for x in sizes[list(s)])
            subs = [s[:i] + s[i + 1:] for i in range(n)]
            if len(keys) > MAX_FIT_CELLS or any(sub not in fit for sub in subs):
                x = np.zeros(len(keys))
            else:
                x = fit_table(shape, {tuple(a for a in range(n) if a != i): fit[sub]
                                      for i, sub in enumerate(subs)}).ravel(order="F")
                fit[s] = x.reshape(shape, order="F")
            # a cell no row pattern shows needs a clear residual and all its parts present
            parts = _parts_present(present, s, shape)
            strict = (x > fitted_sd * sigma) & parts
            est = np.where(h > 0, h + x, np.where(strict, x, 0.0))
            keep(s, keys, est, np.full(len(keys), sigma))
    return Estimate(like, out, meas.total)


def release_from_estimate(est: Estimate, k: int | None, *, z: float = 0.0) -> AggregateRelease:
    """Apply the floor (``k``) or not (``None``) and round (see the module docstring)."""
    tables: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    floor = 1.0 if k is None else float(k)
    suppressed = 0
    length = max((len(s) for s in est.counts), default=0)
    for s, (keys, e, sd) in est.counts.items():
        keep = (np.rint(e) >= floor) & (e - z * sd >= (floor if k is not None else 0.5))
        suppressed += int((~keep).sum())
        tables[s] = (keys[keep], np.rint(e[keep]).astype(np.int64))
    total = max(int(round(est.total)), 0)
    return AggregateRelease(est.like, k or 1, length, CombinationCounts(est.like.radix, length,
                            tables), total, suppressed, 0, "none", 1, None)


def shown_share(meas: Measurements) -> float:
    """Share of the noisy row count that the released row patterns' noisy counts make up
    (0..1): how much of the table the threshold mechanism showed. A function of the noisy
    measurements only."""
    return float(np.clip(float(np.sum(meas.row_counts)) / max(meas.total, 1.0), 0.0, 1.0))


def extrapolated_weight_for(meas: Measurements) -> float:
    """The k floor's weight of the extrapolated part of a count for these measurements
    (:func:`model_estimate`): :data:`EXTRAPOLATED_WEIGHT_FEW_SHOWN` (0.95) when the
    released row patterns show at most ``SHOWN_SHARES[0]`` (0.45) of the noisy total,
    :data:`EXTRAPOLATED_WEIGHT` (0.75) when they show at least ``SHOWN_SHARES[1]`` (0.75),
    linear between. Post-processing: the share is of noisy counts (:func:`shown_share`). Every
    kept combination still has a model count ``>= k``.

    Why: the less the patterns show, the more of the common combinations are only in the
    extrapolated part, and a heavy discount loses them. On ``bench_ctdc10.csv`` at ε = 1 (the
    patterns show ~42%) ~1,000 of the ~1,360 lost common combinations have a model count
    under 8 — beyond any rule — and ~180 are lost to the 0.75 discount; the same seven OpenDP
    measurements, DP synthetic rows, medians of 1/2/3-way error, lost, fabricated, leaked:
    weight 0.75 0.164 / 0.340 / 0.451, 21.7%, 6.4%, 191; 0.9 0.160 / 0.327 / 0.431, 19.8%,
    8.2%, 257; 0.95 0.158 / 0.323 / 0.427, 19.4%, 8.6%, 275; 1 0.154 / 0.322 / 0.423, 18.9%,
    8.9%, 282 (runs 18.3–20.4% lost, 7.6–10.6% fabricated); with OpenDP noise, weight 1 gave
    18.9% lost and 9.7% fabricated (median of three runs), 19.1% and 10.1% (of five): 0.95
    leaves room on both targets (≤ 20% lost, ≤ 10% fabricated). Where the patterns show most
    people (``bench_ctdc10.csv`` at ε = 4: ~80%; ``bench_ctdc7.csv`` at ε = 4: all, at ε = 1:
    ~72%) a combination they do not show is more often a rare or fabricated one:
    ``bench_ctdc7.csv`` at ε = 1 fabricates 15% at 0.75 and 17% at 0.9 (three measurements),
    so the weight stays near 0.75 there (0.77)."""
    lo, hi = SHOWN_SHARES
    x = float(np.clip((shown_share(meas) - lo) / (hi - lo), 0.0, 1.0))
    return EXTRAPOLATED_WEIGHT_FEW_SHOWN + (EXTRAPOLATED_WEIGHT
                                            - EXTRAPOLATED_WEIGHT_FEW_SHOWN) * x


def floor_weights(meas: Measurements) -> dict[str, float]:
    """The k floor's rule for these measurements, as recorded with a release (settings,
    ledger): the weight of measured and of extrapolated parts, and the shown share that set
    the latter (:func:`extrapolated_weight_for`)."""
    return {"measured": MEASURED_WEIGHT, "extrapolated": round(extrapolated_weight_for(meas), 4),
            "shown_share": round(shown_share(meas), 4)}


def floored_estimate(model: Model, meas: Measurements, length: int,
                     floor: float | None) -> Estimate:
    """:func:`model_estimate` with the weights of :func:`floor_weights`, which it records in
    ``meas.accounting["floor_weights"]`` (written to settings.json and the ledger) when there
    is a floor. What DP aggregates and DP synthesis release from a model."""
    if floor is None:
        return model_estimate(model, meas, length, None)
    weights = floor_weights(meas)
    meas.accounting["floor_weights"] = weights
    return model_estimate(model, meas, length, floor, weights["extrapolated"],
                          weights["measured"])


def model_estimate(model: Model, meas: Measurements, length: int,
                   floor: float | None = None,
                   extrapolated_weight: float = EXTRAPOLATED_WEIGHT,
                   measured_weight: float = MEASURED_WEIGHT) -> Estimate:
    """Counts of every combination of up to ``length`` values under a fitted model
    (:mod:`safelight.release.pgm`), with the noise s.d. of the marginal measured for it (the
    widest measured one for longer combinations).

    With a ``floor``, a combination's model count ``e`` is split into the part the released row
    patterns show, ``h`` (measured: noise of about ``sigma_rows`` per pattern), and the part
    the model extrapolates, ``e - h`` (from marginals whose noise s.d. is tens of people, and
    the tree's conditionals); the combination is kept when ``h + w (e - h) >= floor``
    (``w`` = ``extrapolated_weight``), i.e. it needs a margin of ``(1 - w)(e - h)`` above the
    floor, growing with the extrapolated part. With nothing shown (``h = 0``) that is
    ``e >= floor / w`` (14.7 for k = 11 at w = 0.75, the fixed ``k + 4`` of the earlier rule);
    a combination the patterns show ``floor`` times needs no margin. For a combination whose
    own marginal was measured (``s`` in ``meas.noisy``, the 1- and 2-way ones) nothing is
    extrapolated — its model count is fitted to its own noisy count — and ``w`` is
    ``measured_weight`` (:data:`MEASURED_WEIGHT`, 1: kept when ``e >= floor``). Every kept
    combination has ``e >= floor`` too, also when the patterns show more than ``e``.
    Post-processing: ``h``
    and ``e`` are functions of the noisy measurements only.
    ``bench_ctdc10.csv``, ε = 4, three measurements, medians (lost share of the common 1–3-way
    combinations / leaked combinations): the fixed margin of 4 gave 11.1% / 55, 3 gave
    10.0% / 77; ``w`` = 0.7 10.6% / 57, 0.75 9.7% / 72, 0.8 8.9% / 86; a margin of
    ``c·sqrt(e - h)`` lay on the same curve (c = 0.75: 9.1% / 81)."""
    for name, w in (("extrapolated_weight", extrapolated_weight),
                    ("measured_weight", measured_weight)):
        if not 0 < w <= 1:
            raise ReleaseUsageError(f"{name} must be in (0, 1] (got {w})")
    widest = max((meas.sigma_of(s) for s in meas.noisy), default=meas.sigma_marginals)
    out: dict[Subset, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for s in subsets(meas.like.n_columns, length):
        keys, est = model.counts(s)
        if floor is not None and len(keys):
            shown, _ = _implied(meas, s, keys)
            w = measured_weight if s in meas.noisy else extrapolated_weight
            # and never under the floor itself: the patterns may show more than the model
            # count (h > e), which the weighting alone would let through
            ok = (shown + w * (est - shown) >= floor) & (est >= floor)
            keys, est = keys[ok], est[ok]
        sd = meas.sigma_of(s) if s in meas.noisy else widest
        out[s] = (keys, est, np.full(len(keys), sd))
    return Estimate(meas.like, out, meas.total)


def release_dp_aggregates(table: CategoricalTable, epsilon: float, delta: float = 1e-6,
                          length: int = 3, k: int | None = 11, *, z: float = 0.0,
                          row_share: float | None = None, estimator: str = "model",
                          ) -> tuple[AggregateRelease, Measurements]:
    """(ε, δ)-DP combination counts of up to ``length`` values of ``table`` (which must
    already be restricted to a public domain, see :func:`safelight.release.domain.restrict`).

    :param k: the floor (no released count under ``k``); ``None`` for plain DP counts.
    :param z: extra margin in noise standard deviations above the floor.
    :param estimator: ``"model"`` (default: one distribution fitted to every measurement,
        :mod:`safelight.release.pgm`, measured by
        :func:`~safelight.release.dp.measure_for_model`) or ``"ipf"`` (the row histogram plus
        residual margins, :func:`estimate`; ``row_share`` applies to it only).
    """
    if k is not None and k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    if length < 1:
        raise ReleaseUsageError(f"--length must be at least 1 (got {length})")
    if estimator not in ("model", "ipf"):
        raise ReleaseUsageError(f"estimator must be 'model' or 'ipf' (got {estimator!r})")
    if estimator == "model":
        meas = measure_for_model(table, epsilon, delta)
        est = floored_estimate(fit_model(meas), meas, length, None if k is None else float(k))
    else:
        measured, _ = default_plan(epsilon)
        meas = measure(table, epsilon, delta, min(length, measured),
                       row_share=ROW_SHARE if row_share is None else row_share)
        est = estimate(meas, length)
    rel = release_from_estimate(est, k, z=z)
    if k is not None and rel.counts.n_combinations() == 0:
        raise nothing_released(epsilon, meas.total)
    log.info("DP aggregates: %d combinations released", rel.counts.n_combinations())
    return rel, meas


__all__ = ["EXTRAPOLATED_WEIGHT", "EXTRAPOLATED_WEIGHT_FEW_SHOWN", "MEASURED_WEIGHT",
           "SHOWN_SHARES", "Estimate", "estimate", "extrapolated_weight_for", "fit_table",
           "floor_weights", "floored_estimate", "model_estimate", "release_dp_aggregates",
           "release_from_estimate", "shown_share"]
