"""Local recoding for k-anonymity that keeps the common combinations.

Contract: :func:`recode` takes distinct rows (an ``int32`` code matrix, ``0`` = missing or
blank) with the number of people each row stands for, and returns codes in which every row
either keeps its values (its class already has ``>= k`` people) or is *blanked* to a pattern of
its own values — never changed to another value — so that **every class** (rows with equal
codes) **has at least k people or is fully blank**. It returns ``None`` when the search would
exceed its memory budget; the caller then falls back to a simpler suppression.

Objective: the release should keep the counts of the *common* combinations — sets of up to
``length`` values (3 by default) that at least ``k`` people share. Blanking column ``j`` of a
row of ``w`` people removes those people from the count of every common combination of its
values that involves ``j``; the loss is weighted ``1 / (count * number of common combinations
of that length)``, so the sum over rows is the mean relative error of 1-, 2- and 3-way counts
that the evaluation reports (:mod:`safelight.release.evaluate`), one term per length.

Search (a greedy facility-location heuristic): the *open* patterns are the classes that already
have ``>= k`` people, and the fully blank one. Every row of a small class could move to any
open pattern contained in it; the value it keeps there is its *fallback*. A new pattern ``P``
(a sub-pattern of small-class rows, enumerated per row as the row with a subset of its columns
blanked) is scored by the mean gain, over its fallback, of the fewest rows with the largest
gains that make up ``k`` people. The best pattern is opened with those rows (they stay there,
so the class keeps ``>= k``), every other row containing ``P`` may join it later, and scores
are updated lazily (they can only fall as fallbacks rise and rows are placed). At the end each
row not placed moves to its best open pattern. Classes only grow after they are opened, so the
guarantee holds by construction; :func:`safelight.release.microdata.local_suppression` checks
it again and repairs anything that would not hold (which never happens).

The search works on distinct rows and on at most ``budget`` (row, pattern) pairs: with ``n``
columns every subset is tried while ``2**n`` times the number of small-class rows fits,
otherwise only the patterns that blank the fewest columns.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Iterator

import numpy as np

log = logging.getLogger("safelight.release.recoding")

_KEY_LIMIT = 2**62
DEFAULT_BUDGET = 4_000_000
_ROUND_POPS = 4_000


def pattern_ids(columns: Iterator[np.ndarray] | list[np.ndarray],
                radix: np.ndarray) -> np.ndarray:
    """Ids of equal rows given column by column (equal rows <-> equal ids), in ``int64``
    without overflow: the mixed-radix key is re-densified whenever it would pass 2**62."""
    key: np.ndarray | None = None
    span = 1
    for j, col in enumerate(columns):
        r = int(radix[j])
        if key is None:
            key, span = col.astype(np.int64), r
            continue
        if span * r >= _KEY_LIMIT:
            uniq, inv = np.unique(key, return_inverse=True)
            key, span = inv.ravel().astype(np.int64), len(uniq)
        key = key * r + col
        span *= r
    if key is None:
        raise ValueError("pattern_ids needs at least one column")
    return key


def _masks(n: int, rows: int, budget: int) -> np.ndarray:
    """Subsets of columns to keep (``(n_masks, n)`` bool): all of them when they fit the budget,
    else those that blank the fewest columns; the empty subset (fully blank) always."""
    drop, size = 0, 2  # keep everything, blank everything
    while drop < n and rows * (size + math.comb(n, drop + 1)) <= budget:
        drop += 1
        size += math.comb(n, drop)
    keep = [np.ones(n, bool)]
    for d in range(1, drop + 1):
        for cols in itertools.combinations(range(n), d):
            m = np.ones(n, bool)
            m[list(cols)] = False
            keep.append(m)
    if drop < n:
        keep.append(np.zeros(n, bool))
    return np.array(keep)


def _common_weights(codes: np.ndarray, weight: np.ndarray, radix: np.ndarray, k: int,
                    length: int, rows: np.ndarray) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Per row of ``rows``, the weight ``1 / (count * n_common(len))`` of each of its common
    combinations (``0`` where the combination is missing or rare), column subsets listed."""
    n = codes.shape[1]
    subs = [s for ln in range(1, min(length, n) + 1)
            for s in itertools.combinations(range(n), ln)]
    out = np.zeros((len(rows), len(subs)))
    n_common = np.zeros(min(length, n) + 1)
    for ci, s in enumerate(subs):
        ids = pattern_ids([codes[:, j] for j in s], radix[list(s)])
        complete = np.all(codes[:, list(s)] != 0, axis=1)
        uniq, inv = np.unique(ids, return_inverse=True)
        inv = inv.ravel()
        count = np.bincount(inv, weights=weight)
        common_ids = complete & (count[inv] >= k)
        n_common[len(s)] += len(np.unique(inv[common_ids]))
        out[:, ci] = np.where(common_ids[rows], 1.0 / np.maximum(count[inv[rows]], 1.0), 0.0)
    for ci, s in enumerate(subs):
        out[:, ci] /= max(n_common[len(s)], 1.0)
    return out, subs


class _Search:
    """The greedy search over (row, pattern) pairs sorted by pattern."""

    def __init__(self, row: np.ndarray, pid: np.ndarray, mask: np.ndarray, kept: np.ndarray,
                 weight: np.ndarray, k: int, cur: np.ndarray, best: np.ndarray,
                 best_mask: np.ndarray) -> None:
        order = np.lexsort((row, pid))
        self.row, self.pid, self.mask, self.kept = row[order], pid[order], mask[order], kept[order]
        self.w, self.k = weight, k
        self.cur, self.best, self.best_mask = cur, best, best_mask
        self.placed = np.zeros(len(weight), bool)
        self.place_mask = np.full(len(weight), -1, np.int64)

    def _bounds(self, p: int) -> tuple[int, int]:
        return (int(np.searchsorted(self.pid, p, "left")),
                int(np.searchsorted(self.pid, p, "right")))

    def prune(self) -> None:
        """Drop pairs that can no longer help: placed rows, no gain, patterns under k."""
        gain = self.kept - self.cur[self.row]
        live = (gain > 0) & ~self.placed[self.row]
        ppl = np.bincount(self.pid[live], weights=self.w[self.row[live]],
                          minlength=int(self.pid.max()) + 1 if len(self.pid) else 0)
        live &= ppl[self.pid] >= self.k
        self.row, self.pid = self.row[live], self.pid[live]
        self.mask, self.kept = self.mask[live], self.kept[live]

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised score of every pattern that can reach k people, and the patterns."""
        gain = self.kept - self.cur[self.row]
        order = np.lexsort((-gain, self.pid))
        p, w = self.pid[order], self.w[self.row[order]]
        g = gain[order] * w
        start = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        size = np.diff(np.r_[start, len(p)])
        cw, cg = np.cumsum(w), np.cumsum(g)
        base_w = np.repeat(np.r_[0.0, cw[start[1:] - 1]], size)
        base_g = np.repeat(np.r_[0.0, cg[start[1:] - 1]], size)
        gw, gg = cw - base_w, cg - base_g
        reach = gw >= self.k
        first = reach & np.r_[True, ~reach[:-1] | (p[1:] != p[:-1])]
        idx = np.flatnonzero(first)
        sc = gg[idx] / gw[idx]
        return sc, p[idx]

    def score(self, p: int) -> tuple[float, np.ndarray]:
        """Current score of pattern ``p`` and the rows it would be opened with."""
        s, e = self._bounds(p)
        rows = self.row[s:e]
        gain = self.kept[s:e] - self.cur[rows]
        ok = (gain > 0) & ~self.placed[rows]
        rows, gain = rows[ok], gain[ok]
        w = self.w[rows]
        if w.sum() < self.k:
            return 0.0, rows[:0]
        order = np.argsort(-gain, kind="stable")
        cw = np.cumsum(w[order])
        i = int(np.searchsorted(cw, self.k - 1e-9))
        take = order[:i + 1]
        return float(np.sum(gain[take] * w[take]) / cw[i]), rows[take]

    def open(self, p: int, rows: np.ndarray) -> None:
        s, e = self._bounds(p)
        r, kv, m = self.row[s:e], self.kept[s:e], self.mask[s:e]  # sorted by row
        self.placed[rows] = True
        self.place_mask[rows] = m[np.searchsorted(r, rows)]  # each row's own way to reach p
        up = kv > self.cur[r]
        self.cur[r[up]], self.best[r[up]], self.best_mask[r[up]] = kv[up], p, m[up]

    def run(self) -> int:
        """Open patterns until none gains; returns how many were opened. Each round scores
        every pattern, then pops the best ``_ROUND_POPS`` lazily (a score is recomputed when
        popped and accepted only if it still beats every other, including the best one left
        out of the round)."""
        opened = 0
        while len(self.pid):
            sc, pats = self.scores()
            if not len(sc) or sc.max() <= 0:
                break
            if len(sc) > _ROUND_POPS:
                top = np.argpartition(-sc, _ROUND_POPS)[:_ROUND_POPS + 1]
                rest = np.setdiff1d(np.arange(len(sc)), top[:-1], assume_unique=True)
                bar = float(sc[rest].max())
                top = top[:-1]
            else:
                top, bar = np.arange(len(sc)), 0.0
            heap = [(-float(sc[i]), int(pats[i])) for i in top]
            heapq.heapify(heap)
            in_round = 0
            while heap:
                _, p = heapq.heappop(heap)
                score, rows = self.score(p)
                if score <= 0:
                    continue
                tol = 1e-9 * max(score, 1e-300)
                if score < max(-heap[0][0] if heap else 0.0, bar) - tol:
                    if score >= bar - tol:
                        heapq.heappush(heap, (-score, p))
                        continue
                    if in_round:
                        break  # a pattern left out of this round may be better: rescore all
                    # nothing opened since every score was fresh: p is the best up to rounding
                self.open(p, rows)
                opened += 1
                in_round += 1
            self.prune()
        return opened


def recode(codes: np.ndarray, weight: np.ndarray, radix: np.ndarray, k: int,
           length: int = 3, budget: int = DEFAULT_BUDGET) -> np.ndarray | None:
    """k-anonymous local recoding of distinct rows ``codes`` (``weight`` people each) that
    keeps as much of the common 1..``length``-way combinations as it can (see the module
    docstring); ``None`` if the search would pass ``budget`` (row, pattern) pairs."""
    codes = np.asarray(codes, np.int32)
    weight = np.asarray(weight, float)
    n = codes.shape[1]
    if n == 0 or len(codes) == 0:
        return codes.copy()
    own = pattern_ids([codes[:, j] for j in range(n)], radix)
    _, own_inv = np.unique(own, return_inverse=True)
    own_inv = own_inv.ravel()
    size = np.bincount(own_inv, weights=weight)[own_inv]
    small = np.flatnonzero((size < k) & np.any(codes != 0, axis=1))
    if len(small) == 0:
        return codes.copy()
    masks = _masks(n, len(small), budget)
    if len(small) * len(masks) > budget:
        log.info("local recoding: %d small-class rows x %d patterns exceed the budget",
                 len(small), len(masks))
        return None
    f, subs = _common_weights(codes, weight, radix, k, length, small)
    bit = np.int64(1) << np.arange(n, dtype=np.int64)
    mask_bits = masks.astype(np.int64) @ bit
    sub_bits = np.array([int(bit[list(s)].sum()) for s in subs], np.int64)
    inside = (sub_bits[None, :] & ~mask_bits[:, None]) == 0  # combination kept by the mask
    kept = f @ inside.T.astype(float)                      # (small rows, masks)
    open_rows = np.flatnonzero(~np.isin(np.arange(len(codes)), small))
    cols = (np.concatenate([codes[open_rows, j], [0],
                            np.where(masks[None, :, j], codes[small, j][:, None], 0).ravel()])
            for j in range(n))
    ids = pattern_ids(cols, radix)
    _, pid_all = np.unique(ids, return_inverse=True)
    pid_all = pid_all.ravel()
    is_open = np.zeros(int(pid_all.max()) + 1, bool)
    is_open[pid_all[:len(open_rows) + 1]] = True
    pid = pid_all[len(open_rows) + 1:]
    row = np.repeat(np.arange(len(small)), len(masks))
    mask = np.tile(np.arange(len(masks)), len(small))
    kept = kept.ravel()
    # one pair per (row, pattern): a row with missing values reaches a pattern by several masks
    _, first = np.unique(pid * len(small) + row, return_index=True)
    row, pid, mask, kept = row[first], pid[first], mask[first], kept[first]
    # fallback: the best open pattern of each row (the fully blank one is always open)
    at_open = is_open[pid]
    order = np.lexsort((-kept[at_open], row[at_open]))
    r_o, p_o, m_o, k_o = (a[at_open][order] for a in (row, pid, mask, kept))
    head = np.r_[True, r_o[1:] != r_o[:-1]]
    cur = np.zeros(len(small))
    best = np.zeros(len(small), np.int64)
    best_mask = np.zeros(len(small), np.int64)
    cur[r_o[head]], best[r_o[head]], best_mask[r_o[head]] = k_o[head], p_o[head], m_o[head]
    search = _Search(row[~at_open], pid[~at_open], mask[~at_open], kept[~at_open],
                     weight[small], k, cur, best, best_mask)
    opened = search.run()
    chosen = np.where(search.placed, search.place_mask, search.best_mask)
    out = codes.copy()
    out[small] = codes[small] * masks[chosen]
    log.info("local recoding (k=%d): %d small-class rows, %d patterns tried per row, "
             "%d classes opened", k, len(small), len(masks), opened)
    return out


__all__ = ["DEFAULT_BUDGET", "pattern_ids", "recode"]
