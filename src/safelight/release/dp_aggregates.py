"""Differentially private aggregates, with or without a k floor.

Contract: :func:`release_dp_aggregates` spends (ε, δ) once, in
:func:`safelight.release.dp.measure`; everything here is post-processing of those noisy counts
and costs no privacy. The output has the shape of :class:`~safelight.release.aggregates.
AggregateRelease` (written by the same ``aggregates.csv`` writer); its ``total`` is the noisy row
count, never the exact one.

The estimate of a combination's count
-------------------------------------
Two noisy views of the same table are combined per cell:

* ``h`` — the count implied by the released whole-row patterns (small noise, about
  ``sigma_rows`` per pattern, but missing the people whose row pattern is rarer than the
  threshold: ``h`` is biased low);
* ``y`` — the cell of the noisy marginal (unbiased, noise ``sigma_marginals``).

The estimate is ``h + (y - h)`` where the residual ``y - h`` clears ``a_s * sigma_marginals``,
and ``h`` otherwise. ``a_s = max(a, z(q / cells_s))`` grows with the number of cells of the
marginal so that, over a marginal of ``cells_s`` empty cells, about ``q`` pure-noise cells are
expected to pass (keeps fabricated combinations rare on marginals of countries x countries).

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
from safelight.release.combos import CombinationCounts, Subset, complete_rows, keys_of
from safelight.release.dp import Measurements, cell_keys, default_plan, measure
from safelight.release.errors import ReleaseUsageError
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.dp_aggregates")

#: Residual threshold (in standard deviations of the marginal noise) on small marginals.
RESIDUAL_SD = 2.5
#: Expected number of pure-noise cells per marginal that may pass the residual threshold.
FALSE_CELLS = 0.1


@dataclass
class Estimate:
    """Estimated counts of every measured combination (float) and their noise s.d."""

    like: CategoricalTable
    counts: dict[Subset, tuple[np.ndarray, np.ndarray, np.ndarray]]  # keys, estimate, sd
    total: float


def estimate(meas: Measurements, *, residual_sd: float = RESIDUAL_SD,
             false_cells: float = FALSE_CELLS) -> Estimate:
    """Combine the row histogram and the marginals (see the module docstring)."""
    like = meas.like
    radix = like.radix
    out: dict[Subset, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    nd = NormalDist()
    for s, y in meas.noisy.items():
        keys = cell_keys(radix, s)
        h = np.zeros(len(keys))
        n_pat = np.zeros(len(keys))
        if len(meas.rows):
            ok = complete_rows(meas.rows, s)
            rk = keys_of(meas.rows[ok], radix, s)
            pos = np.searchsorted(keys, rk)
            np.add.at(h, pos, meas.row_counts[ok])
            np.add.at(n_pat, pos, 1.0)
        a_s = max(residual_sd, nd.inv_cdf(1.0 - min(0.5, false_cells / max(len(keys), 1))))
        resid = y - h
        take = resid > a_s * meas.sigma_marginals
        est = np.where(take, y, h)
        sd = np.where(take, meas.sigma_marginals, np.sqrt(n_pat) * max(meas.sigma_rows, 1e-9))
        nz = est > 0
        out[s] = (keys[nz], est[nz], sd[nz])
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


def release_dp_aggregates(table: CategoricalTable, epsilon: float, delta: float = 1e-6,
                          length: int = 3, k: int | None = 11, *, z: float = 0.0,
                          row_share: float | None = None,
                          ) -> tuple[AggregateRelease, Measurements]:
    """(ε, δ)-DP combination counts of up to ``length`` values of ``table`` (which must
    already be restricted to a public domain, see :func:`safelight.release.domain.restrict`).

    :param k: the floor (no released count under ``k``); ``None`` for plain DP counts.
    :param z: extra margin in noise standard deviations above the floor.
    """
    if k is not None and k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    if length < 1:
        raise ReleaseUsageError(f"--length must be at least 1 (got {length})")
    meas = measure(table, epsilon, delta, length,
                   row_share=default_plan(epsilon)[1] if row_share is None else row_share)
    rel = release_from_estimate(estimate(meas), k, z=z)
    log.info("DP aggregates: %d combinations released", rel.counts.n_combinations())
    return rel, meas


__all__ = ["Estimate", "estimate", "release_dp_aggregates", "release_from_estimate"]
