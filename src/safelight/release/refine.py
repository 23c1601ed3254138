"""Refining synthetic rows toward reportable counts by swapping whole rows.

Contract
--------
:func:`refine_rows` takes synthetic rows, a *pool* of candidate rows and the target counts of
short combinations (the reportable set ``R``, lengths ``1..fit_length``), and returns as many
rows, each one taken from the input rows or the pool, whose combination counts are closer to
the targets: the objective is the mean relative error ``sum_i |s_i - t_i| / t_i`` averaged per
length (each length weighs the same, as the evaluation reports them). It never invents a row,
so every row of the result satisfies whatever rule the input and pool rows satisfy (for
k-synthesis: every combination of up to the reporting length is reportable). It sees only the
targets, never sensitive rows.

How (batched greedy local search, with a conservative bound)
-------------------------------------------------------------
Rows are held as multiplicities over the distinct rows of input + pool. Each round:

1. every distinct row's gain from one more copy (``add``) and from one copy fewer
   (``remove``) is computed from the current counts ``s`` (per combination: ``-w`` if the move
   brings ``s`` toward ``t``, ``+w`` if away);
2. the most promising adds and removes are re-scored *jointly* and conservatively: in gain
   order, the ``r``-th selected move touching a combination is credited ``-w`` only while
   ``r`` is below the combination's remaining deficit (adds) or surplus (removes), ``+w``
   otherwise; a move touching a combination that moves the other way is charged ``+w``; a
   remove that would take a combination's count to 0 is barred (a combination the rows show
   is never lost).
   That score is an upper bound on the true change of any subset of the selected moves, so
   every accepted batch lowers the objective (this is asserted in the tests);
3. adds and removes are paired best with best while the pair's bound is negative, so the
   row count never changes.

A row may enter a batch several times — as many copies as its tightest combination still
needs (removes: at most the copies held) — each copy a move of its own in the bound above:
rows are held as multiplicities, so a table of a million rows needs many copies of the same
rows moved (:func:`refine_counts` takes and returns row patterns and their counts).

Rounds stop when no pair improves, after ``max_rounds``, or when a round's improvement falls
below ``tolerance`` of the objective.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from safelight.release.combos import CombinationCounts, Subset, multipliers, subsets

log = logging.getLogger("safelight.release.refine")


@dataclass
class RefineReport:
    """What the refinement did (written into the synthesis report)."""

    rounds: int = 0
    swaps: int = 0
    pool_rows: int = 0
    objective_before: float = 0.0
    objective_after: float = 0.0


class _Targets:
    """Flat index of the target combinations of lengths ``1..fit_length``."""

    def __init__(self, R: CombinationCounts, n_columns: int, fit_length: int,
                 length_weight: dict[int, float]) -> None:
        self.radix = R.radix
        self.subsets: list[Subset] = [s for s in subsets(n_columns, fit_length)
                                      if s in R.tables and len(R.tables[s][0])]
        self.keys = [R.tables[s][0] for s in self.subsets]
        self.mult = [multipliers(R.radix, s) for s in self.subsets]
        sizes = [len(k) for k in self.keys]
        self.offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self.size = int(sum(sizes))
        target = np.concatenate([np.zeros(0)] + [R.tables[s][1] for s in self.subsets])
        length = np.concatenate([np.zeros(0, np.int64)] + [
            np.full(n, len(s)) for s, n in zip(self.subsets, sizes, strict=True)])
        per_length = np.bincount(length)
        # one extra slot: "no target combination" (missing values), weight 0
        self.target = np.append(target.astype(float), 0.0)
        emphasis = np.array([length_weight.get(int(n), 1.0) for n in length])
        self.weight = np.append(emphasis / (np.maximum(target, 1.0) * per_length[length]), 0.0)
        self.dummy = self.size

    def index(self, codes: np.ndarray) -> np.ndarray:
        """``(rows, subsets)`` matrix: each row's target combination per subset (or dummy)."""
        out = np.full((len(codes), len(self.subsets)), self.dummy, np.int32)
        for j, s in enumerate(self.subsets):
            sub = codes[:, list(s)]
            rk = sub.astype(np.int64) @ self.mult[j]
            keys = self.keys[j]
            pos = np.minimum(np.searchsorted(keys, rk), len(keys) - 1)
            found = np.all(sub != 0, axis=1) & (keys[pos] == rk)
            out[found, j] = self.offsets[j] + pos[found]
        return out

    def objective(self, s: np.ndarray, lost_weight: float = 1.0) -> float:
        """``sum w |s - t|``, plus ``(lost_weight - 1) w`` per target combination at 0."""
        lost = (s == 0) & (self.target > 0)
        return float(np.sum(self.weight * np.abs(s - self.target))
                     + (lost_weight - 1.0) * np.sum(self.weight[lost]))


def _bound(M: np.ndarray, cap: np.ndarray, weight: np.ndarray, dummy: int,
           limit: np.ndarray | None = None,
           first_bonus: np.ndarray | None = None) -> np.ndarray:
    """Conservative change of the objective per selected move (rows of ``M`` in order): the
    ``r``-th move touching combination ``i`` gains ``-w_i`` only if ``r < cap_i``; with
    ``limit``, a move whose rank reaches ``limit_i`` is barred (``+inf``); with
    ``first_bonus``, the first move touching ``i`` gains ``first_bonus_i`` more."""
    B, m = M.shape
    flat = M.ravel()
    move = np.repeat(np.arange(B), m)
    keep = flat != dummy
    flat, move = flat[keep], move[keep]
    order = np.argsort(flat, kind="stable")
    fs = flat[order]
    n = len(fs)
    first = np.ones(n, bool)
    first[1:] = fs[1:] != fs[:-1]
    idx = np.arange(n)
    rank = idx - np.maximum.accumulate(np.where(first, idx, 0))
    gain = np.where(rank < cap[fs], -weight[fs], weight[fs])
    if limit is not None:
        gain[rank >= limit[fs]] = np.inf
    if first_bonus is not None:
        gain[rank == 0] -= first_bonus[fs[rank == 0]]
    return np.bincount(move[order], weights=gain, minlength=B)


def _copies(moves: np.ndarray, M: np.ndarray, cap: np.ndarray, dummy: int,
            have: np.ndarray | None) -> np.ndarray:
    """``moves`` (distinct rows, best first) each repeated as many times as the smallest
    positive ``cap`` among its combinations (at least once; with ``have``, at most the copies
    the rows hold)."""
    c = np.where(cap > 0, cap, np.inf)
    c[dummy] = np.inf
    n = c[M[moves]].min(axis=1)
    n = np.where(np.isfinite(n), np.floor(n), 1.0)
    if have is not None:
        n = np.minimum(n, have[moves])
    return np.repeat(moves, np.maximum(n, 1).astype(np.int64))


def refine_rows(codes: np.ndarray, pool: np.ndarray, R: CombinationCounts, *,
                fit_length: int = 3, max_rounds: int = 400, tolerance: float = 2e-4,
                batch: int = 1500, length_weight: dict[int, float] | None = None,
                lost_weight: float = 1.0) -> tuple[np.ndarray, RefineReport]:
    """Swap rows of ``codes`` for rows of ``pool`` (or duplicates of its own rows) so that the
    counts of ``R``'s combinations of lengths ``1..fit_length`` get closer to ``R``'s counts;
    see the module docstring. Returns the new rows (same number, shuffled order is the
    caller's business) and a report. ``length_weight`` multiplies the weight of a length;
    ``lost_weight`` > 1 makes a combination at count 0 cost that many times its weight (the
    first row that shows it gains that much)."""
    rows, x, report = refine_counts(codes, np.ones(len(codes), np.int64), pool, R,
                                    fit_length=fit_length, max_rounds=max_rounds,
                                    tolerance=tolerance, batch=batch,
                                    length_weight=length_weight, lost_weight=lost_weight)
    return np.repeat(rows, x, axis=0).astype(codes.dtype), report


def refine_counts(rows: np.ndarray, weights: np.ndarray, pool: np.ndarray,
                  R: CombinationCounts, *, fit_length: int = 3, max_rounds: int = 400,
                  tolerance: float = 2e-4, batch: int = 1500,
                  length_weight: dict[int, float] | None = None,
                  lost_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray, RefineReport]:
    """:func:`refine_rows` on row patterns: ``rows`` taken ``weights`` times each (see
    :mod:`safelight.release.patterns`). Returns the distinct rows of the result, how many
    times each is taken (all ``> 0``, summing to ``weights.sum()``) and a report."""
    n_columns = rows.shape[1]
    tg = _Targets(R, n_columns, fit_length, length_weight or {})
    if tg.size == 0 or len(rows) == 0:
        return rows.copy(), weights.astype(np.int64), RefineReport()
    codes = rows
    rows, inv = np.unique(np.concatenate([codes, pool]), axis=0, return_inverse=True)
    inv = inv.ravel()
    x = np.bincount(inv[:len(codes)], weights=weights, minlength=len(rows)).astype(np.int64)
    M = tg.index(rows)
    s = np.bincount(M.ravel(), weights=np.repeat(x, M.shape[1]).astype(float),
                    minlength=tg.size + 1)
    s[tg.dummy] = 0.0
    w, t, dummy = tg.weight, tg.target, tg.dummy
    report = RefineReport(pool_rows=len(rows), objective_before=tg.objective(s, lost_weight))
    current = report.objective_before
    width = batch
    for _ in range(max_rounds):
        report.rounds += 1
        bonus = np.where((s == 0) & (t > 0), (lost_weight - 1.0) * w, 0.0)
        add_gain = (np.where(s >= t, w, -w) - bonus)[M].sum(axis=1)
        rem_gain = np.where(s <= t, w, -w)[M].sum(axis=1)
        rem_gain[x == 0] = np.inf
        rem_gain[(s[M] == 1).any(axis=1)] = np.inf
        adds = np.argsort(add_gain, kind="stable")
        adds = adds[add_gain[adds] < 0][:width]
        if not len(adds):
            break
        rems = np.argsort(rem_gain, kind="stable")[:len(adds)]
        rems = rems[np.isfinite(rem_gain[rems])]
        cap_add = np.maximum(t - s, 0.0)
        cap_rem = np.maximum(s - t, 0.0)
        # a row may move several copies in one round: as many as its tightest combination
        # still needs (large tables need many copies of the same rows)
        adds = _copies(adds, M, cap_add, dummy, None)[:width]
        rems = _copies(rems, M, cap_rem, dummy, x)[:len(adds)]
        ga = _bound(M[adds], cap_add, w, dummy, first_bonus=bonus)
        # never remove the last copy of a target combination (it would be lost)
        gr = _bound(M[rems], cap_rem, w, dummy, limit=np.where(s > 0, s - 1, np.inf))
        ia, ir = np.argsort(ga, kind="stable"), np.argsort(gr, kind="stable")
        m = min(len(ia), len(ir))
        take = int(np.sum(ga[ia[:m]] + gr[ir[:m]] < -1e-12))
        if take == 0:
            break
        a, r = adds[ia[:take]], rems[ir[:take]]
        s -= np.bincount(M[r].ravel(), minlength=tg.size + 1)
        s += np.bincount(M[a].ravel(), minlength=tg.size + 1)
        s[dummy] = 0.0
        np.subtract.at(x, r, 1)
        np.add.at(x, a, 1)
        report.swaps += take
        new = tg.objective(s, lost_weight)
        gained, current = current - new, new
        # a batch that used most of its width may be cut too short: widen; else narrow
        width = min(batch, max(50, 4 * take)) if take < width // 2 else batch
        if gained < tolerance * current:
            break
    report.objective_after = current
    log.info("refinement: %d swaps in %d rounds over %d distinct rows, objective %.4f -> %.4f",
             report.swaps, report.rounds, len(rows), report.objective_before, current)
    keep = x > 0
    return rows[keep].astype(codes.dtype), x[keep], report


__all__ = ["RefineReport", "refine_counts", "refine_rows"]
