"""Vectorised set kernels of the detect stage: MinHash, LSH, set intersections, union-find.

Contract: every function works on whole NumPy arrays at once (no Python loop per pair or per
item; loops run over hash bands, chunks or pointer-jumping rounds only) and is deterministic
for its arguments (seeds included). Where :mod:`safelight.detect.kernels` is available (numba),
set intersections and the LSH bucket order run as compiled loops instead, with the same
results. Distinct values are taken by sorting
(:func:`safelight.arrays.unique_sorted`), never by ``np.unique``/``np.union1d`` without
options, which hash in NumPy 2.4 and ran far slower on millions of pair keys. Sets are given
in CSR form — ``indptr`` (one more entry than rows) and a flat array of integer item ranks,
sorted within each row.
"""

from __future__ import annotations

import numpy as np

from safelight.arrays import unique_sorted
from safelight.detect import kernels

__all__ = ["LshIndex", "connected_components", "cross_intersections", "exact_jaccard",
           "intersections", "lsh_candidates", "lsh_candidates_grown", "lsh_join",
           "minhash_signatures", "splitmix64"]


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, element-wise on uint64 (wrapping arithmetic)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


#: hash values per MinHash chunk (uint64: 1 MB), see :func:`minhash_signatures`
CACHE_ELEMENTS = 1 << 17


def minhash_signatures(doc: np.ndarray, feat: np.ndarray, n_docs: int, num_perm: int,
                       seed: int, chunk_nnz: int = 100_000) -> np.ndarray:
    """MinHash signatures, shape ``(n_docs, num_perm)``, dtype uint32.

    ``doc`` must be sorted and every doc must hold at least one feature. Hash ``k`` of feature
    ``x`` is the high 32 bits of ``a_k * splitmix64(x) + b_k`` (mod 2⁶⁴, ``a_k`` odd); the
    signature is the per-doc minimum, computed with ``np.minimum.reduceat`` over chunks of docs.
    A chunk holds at most ``chunk_nnz`` features and about :data:`CACHE_ELEMENTS` hash values
    (1 MB: the hash block stays in the CPU cache; 100,000 features × 128 hashes, 100 MB, ran
    about 3× slower for the same signatures). With :mod:`safelight.detect.kernels` the same
    signatures come from one compiled pass (about 5–8× less CPU).
    """
    chunk_nnz = min(chunk_nnz, max(64, CACHE_ELEMENTS // max(num_perm, 1)))
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    starts = np.searchsorted(doc, np.arange(n_docs))
    if n_docs and (np.diff(np.append(starts, doc.size)) == 0).any():
        raise ValueError("every document needs at least one feature")
    sig = np.empty((n_docs, num_perm), dtype=np.uint32)
    if kernels.minhash is not None and n_docs and num_perm:  # one fused pass, same values
        return kernels.minhash(feat, starts, np.append(starts[1:], doc.size), a, b, sig)
    d0 = 0
    while d0 < n_docs:
        # take docs until about chunk_nnz features
        end_pos = min(doc.size, starts[d0] + chunk_nnz)
        d1 = max(d0 + 1, int(np.searchsorted(starts, end_pos, side="left")))
        d1 = min(d1, n_docs)
        lo = starts[d0]
        hi = starts[d1] if d1 < n_docs else doc.size
        with np.errstate(over="ignore"):
            hv = splitmix64(feat[lo:hi])[:, None] * a[None, :]
            hv += b[None, :]
        # the high 32 bits of the minimum are the minimum of the high 32 bits (the shift is
        # monotone), so only the per-doc minima are shifted
        sig[d0:d1] = (np.minimum.reduceat(hv, starts[d0:d1] - lo, axis=0)
                      >> np.uint64(32)).astype(np.uint32)
        d0 = d1
    return sig


def connected_components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised union-find: the root (smallest member index) of each of ``n`` nodes.

    Each round hooks the larger root of every edge onto the smaller one (``np.minimum.at``) and
    compresses paths by pointer jumping until every node points at its root.
    """
    parent = np.arange(n, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    while u.size:
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            break
        pu, pv = pu[differ], pv[differ]
        u, v = u[differ], v[differ]
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def _ragged(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of all entries of ``rows`` in a CSR layout, and the row-number of each."""
    lens = indptr[rows + 1] - indptr[rows]
    total = int(lens.sum())
    owner = np.repeat(np.arange(rows.size), lens)
    offsets = np.cumsum(lens) - lens
    pos = np.arange(total) - np.repeat(offsets, lens) + np.repeat(indptr[rows], lens)
    return pos, owner


def intersections(indptr: np.ndarray, rank: np.ndarray, i: np.ndarray, j: np.ndarray,
                   chunk: int = 4_096) -> np.ndarray:
    """Sizes of the intersections of the CSR sets of rows ``i[k]`` and ``j[k]``."""
    return cross_intersections((indptr, rank), i, (indptr, rank), j, chunk)


def cross_intersections(a: tuple[np.ndarray, np.ndarray], i: np.ndarray,
                        b: tuple[np.ndarray, np.ndarray], j: np.ndarray, chunk: int = 4_096
                        ) -> np.ndarray:
    """Sizes of the intersections of row ``i[k]`` of CSR ``a`` and row ``j[k]`` of CSR ``b``
    (each ``(indptr, items)``; items are any integers, distinct within a row). Vectorised: the
    items of both sides, keyed by pair, are sorted once per chunk and equal neighbours counted
    — or, with :mod:`safelight.detect.kernels`, merged row against row (then the rows must be
    sorted, as the module says; the counts are the same)."""
    if kernels.intersect_count is not None:
        return kernels.intersect_count(a[0], a[1], i, b[0], b[1], j)
    out = np.zeros(i.size, dtype=np.float64)
    for s in range(0, i.size, chunk):
        ii, jj = i[s:s + chunk], j[s:s + chunk]
        pi, oi = _ragged(a[0], ii)
        pj, oj = _ragged(b[0], jj)
        vals = np.concatenate([a[1][pi], b[1][pj]]).astype(np.int64)
        if not vals.size:
            continue
        lo = int(vals.min())
        span = int(vals.max()) - lo + 1
        if span * ii.size < 2**62:
            vals -= lo
        else:  # ids too far apart to key by pair: their ranks within the chunk
            _, vals = np.unique(vals, return_inverse=True)
            span = int(vals.max()) + 1
        keys = np.concatenate([oi, oj]).astype(np.int64) * span + vals
        keys.sort()
        dup = keys[1:][keys[1:] == keys[:-1]] // span
        out[s:s + chunk] = np.bincount(dup, minlength=ii.size)
    return out


def exact_jaccard(indptr: np.ndarray, rank: np.ndarray, i: np.ndarray, j: np.ndarray,
                  other: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Exact Jaccard similarity of the CSR sets of rows ``i[k]`` and ``j[k]`` (rows ``j`` of
    the CSR ``other`` when given). Rows are sets: sorted, without repeated items (with
    :mod:`safelight.detect.kernels` their intersections are merged without branches, which
    counts on that)."""
    b = other if other is not None else (indptr, rank)
    if kernels.intersect_distinct is not None:
        inter = kernels.intersect_distinct(indptr, rank, i, b[0], b[1], j)
    else:
        inter = cross_intersections((indptr, rank), i, b, j)
    union = np.diff(indptr)[i] + np.diff(b[0])[j] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def _bucket_order(key: np.ndarray, rnd: np.ndarray) -> np.ndarray:
    """Rows by bucket ``key``, in the order of ``rnd`` within a bucket: ``np.lexsort((rnd,
    key))`` (compiled when :mod:`safelight.detect.kernels` is available)."""
    if kernels.bucket_order is not None:
        return kernels.bucket_order(key, rnd)
    return np.lexsort((rnd, key))


def _lsh_levels(sig: np.ndarray, r: int, seed: int, neighbours: int,
                flush: int = 8_000_000) -> list[np.ndarray]:
    """Sorted distinct pair keys ``i * n + j`` (``i < j``) met at each neighbour distance
    ``1..neighbours`` in some band's bucket order (see :func:`lsh_candidates`). Pairs are
    de-duplicated every ``flush`` pairs, so memory follows the distinct pairs, not the
    ``bands × neighbours × n`` raw ones."""
    n, k = sig.shape
    rng = np.random.default_rng(seed)
    mult = splitmix64(np.arange(1, r + 1, dtype=np.uint64))
    done = [np.zeros(0, dtype=np.int64) for _ in range(neighbours)]
    pending: list[list[np.ndarray]] = [[] for _ in range(neighbours)]
    size = [0] * neighbours

    def merge(d: int) -> None:
        if pending[d]:
            done[d] = unique_sorted(np.concatenate([done[d], *pending[d]]))
            pending[d], size[d] = [], 0

    for band in range(k // r):
        block = sig[:, band * r:(band + 1) * r].astype(np.uint64)
        with np.errstate(over="ignore"):
            key = splitmix64((block * mult[None, :]).sum(axis=1) + np.uint64(band))
        order = _bucket_order(key, rng.random(n))
        ks = key[order]
        for d in range(1, neighbours + 1):
            same = ks[d:] == ks[:-d]
            u, v = order[:-d][same], order[d:][same]
            pending[d - 1].append(np.minimum(u, v).astype(np.int64) * n + np.maximum(u, v))
            size[d - 1] += u.size
            if size[d - 1] >= flush:
                merge(d - 1)
    for d in range(neighbours):
        merge(d)
    return done


def lsh_candidates(sig: np.ndarray, r: int, seed: int, neighbours: int = 1,
                   max_neighbours: int | None = None, min_pairs: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs ``(i < j)`` of rows of ``sig`` sharing a bucket in a band of ``r``
    hashes: in each band, every row meets the next ``neighbours`` rows of its bucket in a
    per-band random order (about ``neighbours × m`` pairs for a bucket of ``m``, not ``m²``).

    With ``max_neighbours``, ``neighbours`` grows by one while there are fewer than
    ``min_pairs`` pairs, up to ``max_neighbours`` (one pass over the bands: the pairs of each
    distance are kept apart); the value reached is :func:`lsh_candidates_grown`'s third item.
    """
    return lsh_candidates_grown(sig, r, seed, neighbours, max_neighbours, min_pairs)[:2]


def lsh_candidates_grown(sig: np.ndarray, r: int, seed: int, neighbours: int = 1,
                         max_neighbours: int | None = None, min_pairs: int = 0
                         ) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`lsh_candidates` and the number of neighbours it settled on."""
    n = sig.shape[0]
    top = max(neighbours, max_neighbours or neighbours)
    levels = _lsh_levels(sig, r, seed, top)
    k = neighbours
    pair = unique_sorted(np.concatenate([np.zeros(0, dtype=np.int64), *levels[:k]]))
    while pair.size < min_pairs and k < top:
        pair = unique_sorted(np.concatenate([pair, levels[k]]))
        k += 1
    # the pairs of every distance go before the split (at a million ads they and a second
    # copy of the pairs made the clustering's peak), and ``j`` is made in place
    del levels
    i = pair // n
    pair %= n
    return i, pair, k


def lsh_join(sig_a: np.ndarray, sig_b: np.ndarray, rows: int, per_band: int, seed: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row of ``sig_a``, row of ``sig_b``) sharing an LSH bucket: in every band of
    ``rows`` hashes, each row of ``sig_a`` meets up to ``per_band`` rows of ``sig_b`` of its
    bucket (a per-band random choice)."""
    return LshIndex(sig_b, rows, seed).join(sig_a, per_band)


class LshIndex:
    """The bucket order of the rows of ``sig_b`` in every band of ``rows`` hashes (a per-band
    random order within each bucket, drawn from ``seed``), for :func:`lsh_join` by parts:
    ``join`` on any split of ``sig_a``'s rows gives the same pairs as on all of them, since
    each row is looked up on its own in the fixed order."""

    def __init__(self, sig_b: np.ndarray, rows: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.rows = rows
        self.mult = splitmix64(np.arange(1, rows + 1, dtype=np.uint64))
        self.bands: list[tuple[np.ndarray, np.ndarray]] = []
        for band in range(sig_b.shape[1] // rows):
            kb = self._keys(sig_b, band)
            order = _bucket_order(kb, rng.random(kb.size))
            self.bands.append((kb[order], order))

    def _keys(self, sig: np.ndarray, band: int) -> np.ndarray:
        cols = slice(band * self.rows, (band + 1) * self.rows)
        with np.errstate(over="ignore"):
            return splitmix64((sig[:, cols].astype(np.uint64) * self.mult).sum(axis=1))

    def join(self, sig_a: np.ndarray, per_band: int) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (row of ``sig_a``, row of ``sig_b``) sharing a bucket, up to ``per_band``
        rows of ``sig_b`` per band and row of ``sig_a``."""
        us: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        for band, (kb, order) in enumerate(self.bands):
            ka = self._keys(sig_a, band)
            lo = np.searchsorted(kb, ka, side="left")
            take = np.minimum(np.searchsorted(kb, ka, side="right") - lo, per_band)
            owner = np.repeat(np.arange(ka.size), take)
            pos = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
            us.append(owner)
            vs.append(order[np.repeat(lo, take) + pos])
        if not us:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(us), np.concatenate(vs)
