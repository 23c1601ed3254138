"""Compiled kernels of the detect stage's set operations (numba), with the same results as the
NumPy code they stand in for.

Contract
--------
* :data:`AVAILABLE` says whether numba could be imported. When it is false every function
  here is ``None`` and the callers (:mod:`safelight.detect.setops`,
  :mod:`safelight.detect.templates`) run their NumPy code instead: the results are the same
  either way, only slower (``tests/test_detect_kernels.py`` compares the two on random
  inputs, ties included).
* Kernels are compiled on first use and cached on disk (``cache=True``: a later process
  loads them in well under a second); they run single-threaded (the machine's cores belong
  to the worker pools) and release the GIL. :func:`preload` loads them all at once: called
  before worker processes are forked, the workers share the loaded code instead of each
  loading it again (about 0.1 GB of private memory per worker otherwise).
* :func:`intersect_count` — sizes of the intersections of pairs of CSR rows by a merge over
  the two sorted rows (rows must be sorted ascending, as the setops contract says), instead
  of sorting every pair's items together. A value held twice by a row counts as the
  sort-based code counts it (equal neighbours), so the results are the same for any sorted
  rows.
* :func:`intersect_distinct` — the same counts for rows of distinct items (sets, what
  :func:`safelight.detect.setops.exact_jaccard` takes), by a merge without branches that ends
  with the shorter row (about 2× faster on the profile step's pairs).
* :func:`bucket_order` — ``np.lexsort((rnd, key))``: the order by ``key``, ties by ``rnd``,
  then by position (an ``argsort`` of the key and a short sort inside each run of equal keys,
  instead of two indirect stable sorts).
* :func:`sample_coherence` — :func:`safelight.detect.templates._sample_coherence` in one pass:
  each group's ``sample`` entries of lowest noise (ties by entry order, as the stable
  ``lexsort`` gives them) and the mean MinHash agreement of their pairs, added in the same
  order, so the floats are the same to the last bit.
* :func:`member_sorted` — ``np.isin(values, sorted_ids)`` for sorted distinct ``sorted_ids``:
  a bitmap of the ids' high bits rejects most values at one memory access, the rest are
  binary-searched.
* :func:`minhash` — :func:`safelight.detect.setops.minhash_signatures`' signatures in one
  fused pass: each feature is hashed once and its ``num_perm`` values are folded into the
  running minima of its ad at once (the NumPy code writes, adds to and reduces a block of
  features × hashes), with the same wrapping uint64 arithmetic: the same signatures, bit for
  bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from safelight.jit import AVAILABLE
from safelight.jit import njit as _jit

__all__ = ["AVAILABLE", "bucket_order", "intersect_count", "intersect_distinct",
           "member_sorted", "minhash", "preload", "sample_coherence"]

intersect_count: Callable[..., np.ndarray] | None = None
bucket_order: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
sample_coherence: Callable[..., np.ndarray] | None = None
member_sorted: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
minhash: Callable[..., np.ndarray] | None = None
intersect_distinct: Callable[..., np.ndarray] | None = None

#: runs of equal keys up to this length are put in order by insertion
_SHORT_RUN = 32
#: bits of the membership bitmap (1 MB)
_BITMAP_BITS = 23


if AVAILABLE:

    @_jit
    def _intersect_count(a_ptr, a_items, ii, b_ptr, b_items, jj):  # noqa: ANN001, ANN202
        # |A| + |B| - |distinct values of A and B|: the common items of two sorted rows, and
        # for a row holding a value twice the same count the sort-based code gives (one per
        # pair of equal neighbours in the sorted items of both rows)
        out = np.zeros(ii.size, dtype=np.float64)
        for k in range(ii.size):
            p, pe = a_ptr[ii[k]], a_ptr[ii[k] + 1]
            q, qe = b_ptr[jj[k]], b_ptr[jj[k] + 1]
            total = (pe - p) + (qe - q)
            distinct = 0
            first = True
            last = a_items[p] if p < pe else b_items[q] if q < qe else 0
            while p < pe or q < qe:
                if q >= qe or (p < pe and a_items[p] <= b_items[q]):
                    x = a_items[p]
                    p += 1
                else:
                    x = b_items[q]
                    q += 1
                if first or x != last:
                    distinct += 1
                    last = x
                    first = False
            out[k] = total - distinct
        return out

    @_jit
    def _intersect_distinct(a_ptr, a_items, ii, b_ptr, b_items, jj):  # noqa: ANN001, ANN202
        # rows of distinct items: a branch-free merge that stops at the end of either row
        out = np.zeros(ii.size, dtype=np.float64)
        for k in range(ii.size):
            p, pe = a_ptr[ii[k]], a_ptr[ii[k] + 1]
            q, qe = b_ptr[jj[k]], b_ptr[jj[k] + 1]
            same = 0
            while p < pe and q < qe:
                x = a_items[p]
                y = b_items[q]
                same += x == y
                p += x <= y
                q += y <= x
            out[k] = same
        return out

    @_jit
    def _fix_runs(key, rnd, order, short):  # noqa: ANN001, ANN202
        n = order.size
        i = 0
        while i < n:
            k = key[order[i]]
            j = i + 1
            while j < n and key[order[j]] == k:
                j += 1
            if j - i > short:
                run = np.sort(order[i:j])  # position order, then a stable sort by rnd
                r = np.empty(run.size, dtype=np.float64)
                for t in range(run.size):
                    r[t] = rnd[run[t]]
                order[i:j] = run[np.argsort(r, kind="mergesort")]
            elif j - i > 1:
                for a in range(i + 1, j):
                    x = order[a]
                    rx = rnd[x]
                    b = a - 1
                    while b >= i and (rnd[order[b]] > rx
                                      or (rnd[order[b]] == rx and order[b] > x)):
                        order[b + 1] = order[b]
                        b -= 1
                    order[b + 1] = x
            i = j
        return order

    @_jit
    def _sample_coherence(f_idx, d_sel, noise, sig, sample, n_groups):  # noqa: ANN001, ANN202
        best_noise = np.full((n_groups, sample), np.inf)
        best_entry = np.full((n_groups, sample), -1, dtype=np.int64)
        held = np.zeros(n_groups, dtype=np.int64)
        for e in range(f_idx.size):
            g = f_idx[e]
            x = noise[e]
            m = held[g]
            if m == sample and not x < best_noise[g, m - 1]:
                continue  # not among the lowest (a tie keeps the earlier entry)
            pos = m if m < sample else sample - 1
            while pos > 0 and x < best_noise[g, pos - 1]:
                best_noise[g, pos] = best_noise[g, pos - 1]
                best_entry[g, pos] = best_entry[g, pos - 1]
                pos -= 1
            best_noise[g, pos] = x
            best_entry[g, pos] = e
            if m < sample:
                held[g] = m + 1
        k = sig.shape[1]
        out = np.empty(n_groups, dtype=np.float64)
        for g in range(n_groups):
            m = held[g]
            total = 0.0
            count = 0
            for x in range(m):
                a = d_sel[best_entry[g, x]]
                for y in range(x + 1, m):
                    b = d_sel[best_entry[g, y]]
                    same = 0
                    for h in range(k):
                        same += sig[a, h] == sig[b, h]
                    total += same / k
                    count += 1
            out[g] = total / count if count > 0 else 1.0
        return out

    @_jit
    def _member_sorted(values, ids, bits):  # noqa: ANN001, ANN202
        shift = np.uint64(64 - bits)
        words = np.zeros((1 << bits) // 64, dtype=np.uint64)
        for t in range(ids.size):
            h = np.uint64(ids[t]) >> shift
            words[h >> np.uint64(6)] |= np.uint64(1) << (h & np.uint64(63))
        out = np.zeros(values.size, dtype=np.bool_)
        for t in range(values.size):
            v = values[t]
            h = np.uint64(v) >> shift
            if words[h >> np.uint64(6)] & (np.uint64(1) << (h & np.uint64(63))):
                lo, hi = 0, ids.size
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if ids[mid] < v:
                        lo = mid + 1
                    else:
                        hi = mid
                out[t] = lo < ids.size and ids[lo] == v
        return out

    @_jit
    def _minhash(feat, starts, ends, a, b, sig):  # noqa: ANN001, ANN202
        # splitmix64 of each feature (wrapping uint64), then a_k * h + b_k for every hash k;
        # the high 32 bits of each ad's minimum
        k_n = a.size
        top = np.uint64(0xFFFFFFFFFFFFFFFF)
        c0 = np.uint64(0x9E3779B97F4A7C15)
        c1 = np.uint64(0xBF58476D1CE4E5B9)
        c2 = np.uint64(0x94D049BB133111EB)
        s30, s27, s31, s32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
        mins = np.empty(k_n, dtype=np.uint64)
        for d in range(starts.size):
            for k in range(k_n):
                mins[k] = top
            for p in range(starts[d], ends[d]):
                z = feat[p] + c0
                z = (z ^ (z >> s30)) * c1
                z = (z ^ (z >> s27)) * c2
                h = z ^ (z >> s31)
                for k in range(k_n):
                    v = a[k] * h + b[k]
                    if v < mins[k]:
                        mins[k] = v
            for k in range(k_n):
                sig[d, k] = np.uint32(mins[k] >> s32)
        return sig

    def minhash(feat: np.ndarray, starts: np.ndarray, ends: np.ndarray, a: np.ndarray,  # noqa: F811
                b: np.ndarray, sig: np.ndarray) -> np.ndarray:
        """Fill ``sig`` (uint32, docs × hashes) with the MinHash signatures of the docs whose
        features (int64, hashed as their uint64 bits) are ``feat[starts[d]:ends[d]]``, for
        the hash parameters ``a``/``b`` (uint64); see the module docstring."""
        f = np.ascontiguousarray(feat, dtype=np.int64).view(np.uint64)
        return _minhash(f, np.ascontiguousarray(starts, dtype=np.int64),
                        np.ascontiguousarray(ends, dtype=np.int64),
                        np.ascontiguousarray(a, dtype=np.uint64),
                        np.ascontiguousarray(b, dtype=np.uint64), sig)

    def intersect_count(a_ptr: np.ndarray, a_items: np.ndarray, ii: np.ndarray,  # noqa: F811
                        b_ptr: np.ndarray, b_items: np.ndarray, jj: np.ndarray) -> np.ndarray:
        """Sizes (float64) of the intersections of row ``ii[k]`` of CSR ``(a_ptr, a_items)``
        and row ``jj[k]`` of CSR ``(b_ptr, b_items)``; rows sorted ascending."""
        return _intersect_count(np.ascontiguousarray(a_ptr, dtype=np.int64), a_items,
                                np.ascontiguousarray(ii, dtype=np.int64),
                                np.ascontiguousarray(b_ptr, dtype=np.int64), b_items,
                                np.ascontiguousarray(jj, dtype=np.int64))

    def intersect_distinct(a_ptr: np.ndarray, a_items: np.ndarray, ii: np.ndarray,  # noqa: F811
                           b_ptr: np.ndarray, b_items: np.ndarray, jj: np.ndarray) -> np.ndarray:
        """:func:`intersect_count` for rows whose items are distinct (sorted ascending): the
        same counts, by a merge without branches that ends with the shorter row."""
        return _intersect_distinct(np.ascontiguousarray(a_ptr, dtype=np.int64), a_items,
                                   np.ascontiguousarray(ii, dtype=np.int64),
                                   np.ascontiguousarray(b_ptr, dtype=np.int64), b_items,
                                   np.ascontiguousarray(jj, dtype=np.int64))

    def bucket_order(key: np.ndarray, rnd: np.ndarray) -> np.ndarray:  # noqa: F811
        """``np.lexsort((rnd, key))`` (int64 positions)."""
        order = np.argsort(key).astype(np.int64)
        return _fix_runs(key, np.ascontiguousarray(rnd, dtype=np.float64), order, _SHORT_RUN)

    def sample_coherence(f_idx: np.ndarray, d_sel: np.ndarray, noise: np.ndarray,  # noqa: F811
                         sig: np.ndarray, sample: int) -> np.ndarray:
        """See :func:`safelight.detect.templates._sample_coherence` (same arguments)."""
        n_groups = int(f_idx.max()) + 1 if f_idx.size else 0
        return _sample_coherence(np.ascontiguousarray(f_idx, dtype=np.int64),
                                 np.ascontiguousarray(d_sel, dtype=np.int64),
                                 np.ascontiguousarray(noise, dtype=np.float64),
                                 np.ascontiguousarray(sig), int(sample), n_groups)

    def member_sorted(values: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:  # noqa: F811
        """``np.isin(values, sorted_ids)`` for int64 ``values`` and sorted distinct int64
        ``sorted_ids``."""
        return _member_sorted(np.ascontiguousarray(values, dtype=np.int64),
                              np.ascontiguousarray(sorted_ids, dtype=np.int64), _BITMAP_BITS)


def preload() -> None:
    """Load (or compile) every kernel now, in this process (a no-op without numba)."""
    if not AVAILABLE:
        return
    ptr = np.array([0, 2], dtype=np.int64)
    items = np.array([1, 2], dtype=np.int64)
    one = np.zeros(1, dtype=np.int64)
    for fn in (intersect_count, intersect_distinct):
        fn(ptr, items, one, ptr, items, one)  # type: ignore[misc]
    bucket_order(np.array([2, 1], dtype=np.uint64), np.array([0.5, 0.25]))  # type: ignore[misc]
    sample_coherence(one, one, np.zeros(1), np.zeros((1, 2), dtype=np.uint32), 2)  # type: ignore[misc]
    member_sorted(items, items)  # type: ignore[misc]
    minhash(items, np.array([0], dtype=np.int64), np.array([2], dtype=np.int64),  # type: ignore[misc]
            np.ones(2, dtype=np.uint64), np.zeros(2, dtype=np.uint64),
            np.empty((1, 2), dtype=np.uint32))
