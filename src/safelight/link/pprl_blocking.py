"""Equi-joins of keyed blocking keys at the hub, in NumPy, with bounded blocks.

Contract
--------
:func:`join_pairs` takes two int64 key columns over the same records (a blocking-key column
of :class:`~safelight.link.encoded.EncodedRecords` joined with itself or with another one)
and returns the record pairs ``(a, b)`` (``a < b``) whose keys are equal — a rule of
:data:`safelight.link.pprl.KEY_RULES` or an LSH band. It never sees a clear value: keys are
keyed hashes, and the only other input is a :class:`Sketch` of the Bloom filters.

Memory and time are bounded by the *block cap*. A block (one key value) whose pairs number
at most ``max_block`` is expanded in full. A larger block is **sub-blocked by similarity**:
its pairs are expanded a bounded chunk at a time and scored on the sketch (sampled bits of the
name, name-group and birth-date filters; see :class:`Sketch`), and each record keeps only its
``top_k`` best partners in the block, so a block of ``m × n`` pairs yields at most
``top_k × (m + n)``. A block of more than ``max_sub_block`` pairs is skipped. Both are counted
in :class:`JoinStats` and logged, so a cap never loses pairs silently.

Cross-only joins (two-source linkage) drop pairs of one contributor *before* ranking, so a
record's ``top_k`` are all from the other source.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["JoinStats", "Sketch", "join_pairs", "make_sketch"]

log = logging.getLogger("safelight.link.pprl_blocking")

_CHUNK = 4_000_000  # pairs expanded at a time
_ROWS = 65_536  # records per chunk when sketching


@dataclass
class Sketch:
    """Per record a few words of sampled filter bits (packed uint64) and their weights.

    ``given``/``family``: the *same* bit positions of the given- and family-name filters
    (one hash space, so the two compare crosswise for swapped names); ``group``: the whole
    name-group filter; ``date``: sampled bits of the birth-date filter. A sampled Dice is an
    unbiased estimate of the Dice of the whole filters; it only ranks pairs inside a block.
    """

    given: np.ndarray
    family: np.ndarray
    group: np.ndarray
    date: np.ndarray

    def __post_init__(self) -> None:
        self.weights = {name: np.bitwise_count(getattr(self, name)).sum(axis=1, dtype=np.int16)
                        for name in ("given", "family", "group", "date")}


def _sample(mat: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The bits at ``positions`` of packed uint64 rows, packed again into uint64 words."""
    words = (len(positions) + 63) // 64
    out = np.zeros((len(mat), words), dtype=np.uint64)
    shifts = (positions % 64).astype(np.uint64)
    cols = positions // 64
    for s in range(0, len(mat), _ROWS):
        bits = ((mat[s:s + _ROWS][:, cols] >> shifts) & np.uint64(1)).astype(np.uint8)
        pad = np.zeros((len(bits), words * 64 - len(positions)), np.uint8)
        packed = np.packbits(np.concatenate([bits, pad], axis=1), axis=1, bitorder="little")
        out[s:s + _ROWS] = np.ascontiguousarray(packed).view("<u8")
    return out


def make_sketch(filters: dict[str, np.ndarray], seed: int, name_bits: int = 128,
                date_bits: int = 64) -> Sketch:
    """A :class:`Sketch` of packed filter matrices ``filters`` (field → (n, words) uint64):
    ``name_bits`` positions drawn (seeded) for both names, ``date_bits`` for the date."""
    rng = np.random.default_rng([seed, 0x5EC])
    total = filters["given_name"].shape[1] * 64
    names = np.sort(rng.choice(total, size=min(name_bits, total), replace=False))
    dtotal = filters["birth_date"].shape[1] * 64
    dates = np.sort(rng.choice(dtotal, size=min(date_bits, dtotal), replace=False))
    return Sketch(given=_sample(filters["given_name"], names),
                  family=_sample(filters["family_name"], names),
                  group=np.ascontiguousarray(filters["given_group"]),
                  date=_sample(filters["birth_date"], dates))


def _dice(x: np.ndarray, y: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
    inter = np.bitwise_count(x & y).sum(axis=1, dtype=np.int32)
    return 2.0 * inter / np.maximum(wx.astype(np.float32) + wy, 1.0)


def _score(sk: Sketch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How alike records ``a[i]`` and ``b[i]`` look on the sketch (0..4; higher is closer):
    names direct or crosswise (the better), plus name group and birth date."""
    w = sk.weights
    ga, gb, fa, fb = sk.given[a], sk.given[b], sk.family[a], sk.family[b]
    direct = (_dice(ga, gb, w["given"][a], w["given"][b])
              + _dice(fa, fb, w["family"][a], w["family"][b]))
    crossed = (_dice(ga, fb, w["given"][a], w["family"][b])
               + _dice(fa, gb, w["family"][a], w["given"][b]))
    return (np.maximum(direct, crossed)
            + _dice(sk.group[a], sk.group[b], w["group"][a], w["group"][b])
            + _dice(sk.date[a], sk.date[b], w["date"][a], w["date"][b])).astype(np.float32)


def _best(block: np.ndarray, owner: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Mask of the pairs among the ``k`` best-scored of their ``owner`` record in their
    ``block``."""
    order = np.lexsort((-score, owner, block))
    o, bl = owner[order], block[order]
    head = np.r_[True, (o[1:] != o[:-1]) | (bl[1:] != bl[:-1])]
    start = np.maximum.accumulate(np.where(head, np.arange(len(o)), 0))
    keep = np.empty(len(o), dtype=bool)
    keep[order] = (np.arange(len(o)) - start) < k
    return keep


@dataclass
class JoinStats:
    """What a join produced and what its cap held back."""

    pairs: int = 0
    sub_blocked_blocks: int = 0
    sub_blocked_pairs: int = 0  # pairs of the sub-blocked blocks, before the top-k
    skipped_blocks: int = 0
    skipped_pairs: int = 0

    def add(self, other: JoinStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _groups(keys: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                           np.ndarray]:
    """(records sorted by key, their keys, distinct keys, start of each in the sorted)."""
    rows = np.flatnonzero(valid)
    order = np.argsort(keys[rows], kind="stable")
    rows, k = rows[order], keys[rows][order]
    head = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, np.int64)
    return rows, k, k[head], head


def _expand(lo_x: np.ndarray, cnt_x: np.ndarray, lo_y: np.ndarray, cnt_y: np.ndarray,
            within: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (in the sorted x and y records) of every pair of the given blocks, and the
    block of each pair: the full ``cnt_x × cnt_y`` product, or for ``within`` (a column
    joined with itself) each unordered pair once."""
    sizes = cnt_x * cnt_y
    total = int(sizes.sum())
    block = np.repeat(np.arange(len(sizes)), sizes)
    offset = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    i = offset // np.repeat(cnt_y, sizes)
    j = offset - i * np.repeat(cnt_y, sizes)
    px, py = np.repeat(lo_x, sizes) + i, np.repeat(lo_y, sizes) + j
    if within:
        keep = i < j
        px, py, block = px[keep], py[keep], block[keep]
    return px, py, block


def _batches(sizes: np.ndarray) -> Iterator[slice]:
    """Consecutive runs of blocks with at most ``_CHUNK`` pairs (a bigger block alone)."""
    start, acc = 0, 0
    for idx, s in enumerate(sizes.tolist()):
        if acc and acc + s > _CHUNK:
            yield slice(start, idx)
            start, acc = idx, 0
        acc += s
    if start < len(sizes):
        yield slice(start, len(sizes))


def join_pairs(kx: np.ndarray, vx: np.ndarray, ky: np.ndarray, vy: np.ndarray, *,
               same: bool, sketch: Sketch | None, contributor: np.ndarray | None = None,
               max_block: int = 1_000, top_k: int = 5, max_sub_block: int = _CHUNK
               ) -> tuple[np.ndarray, np.ndarray, JoinStats]:
    """``(a, b, stats)``: the pairs ``a < b`` of records with ``kx[a'] == ky[b']`` (valid
    where ``vx``/``vy``), ``{a', b'} = {a, b}``, ``a' ≠ b'`` (``same``: ``kx`` is ``ky``).
    With ``contributor`` only pairs of different contributors. Blocks over ``max_block``
    pairs are sub-blocked to each record's ``top_k`` on the ``sketch`` (skipped without
    one), blocks over ``max_sub_block`` skipped (module docstring). Not deduplicated."""
    stats = JoinStats()
    rx, keys_x, ux, hx = _groups(kx, vx)
    if same:
        ry, uy, hy = rx, ux, hx
        lo_x = lo_y = hx
        cnt_x = cnt_y = np.diff(np.r_[hx, len(rx)])
        sizes = cnt_x * (cnt_x - 1) // 2
    else:
        ry, keys_y, uy, hy = _groups(ky, vy)
        common, ix, iy = np.intersect1d(ux, uy, assume_unique=True, return_indices=True)
        cnt_x = np.diff(np.r_[hx, len(rx)])[ix]
        cnt_y = np.diff(np.r_[hy, len(ry)])[iy]
        lo_x, lo_y = hx[ix], hy[iy]
        sizes = cnt_x * cnt_y
    big = sizes > max_block
    huge = sizes > max_sub_block if sketch is not None else big
    stats.skipped_blocks = int(huge.sum())
    stats.skipped_pairs = int(sizes[huge].sum())
    out_a: list[np.ndarray] = []
    out_b: list[np.ndarray] = []
    for capped in (False, True):
        sel = np.flatnonzero((big & ~huge) if capped else ~big)
        sel = sel[sizes[sel] > 0]
        if capped:
            stats.sub_blocked_blocks = len(sel)
            stats.sub_blocked_pairs = int(sizes[sel].sum())
        for part in _batches(sizes[sel]):
            blocks = sel[part]
            px, py, block = _expand(lo_x[blocks], cnt_x[blocks], lo_y[blocks], cnt_y[blocks],
                                    same)
            a, b = rx[px], ry[py]
            keep = a != b
            if contributor is not None:
                keep &= contributor[a] != contributor[b]
            a, b, block = a[keep], b[keep], block[keep]
            if capped and len(a):
                score = _score(sketch, a, b)  # type: ignore[arg-type]
                keep = _best(block, a, score, top_k) | _best(block, b, score, top_k)
                a, b = a[keep], b[keep]
            out_a.append(np.minimum(a, b))
            out_b.append(np.maximum(a, b))
    a = np.concatenate(out_a) if out_a else np.zeros(0, np.int64)
    b = np.concatenate(out_b) if out_b else np.zeros(0, np.int64)
    stats.pairs = len(a)
    return a, b, stats
