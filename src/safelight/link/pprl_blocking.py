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
name, name-group, birth-date, sex and nationality filters; see :class:`Sketch`), and each
record keeps only its ``top_k`` best partners in the block, so a block of ``m × n`` pairs
yields at most ``top_k × (m + n)``. A block of more than ``max_sub_block`` pairs is skipped. Both are counted
in :class:`JoinStats`, which :mod:`safelight.link.pprl` logs, so a cap never loses pairs
silently.

Cross-only joins (two-source linkage) join each pair of contributors on its own, so a
record's ``top_k`` are all from the other source and no pair within a source is expanded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["SKETCH_CONTEXT", "JoinStats", "Sketch", "join_pairs", "make_sketch", "sample_bits",
           "sample_self_join"]

_CHUNK = 4_000_000  # pairs expanded at a time
_ROWS = 8_192  # records per chunk when sampling filter bits (temporaries stay in cache)


@dataclass
class Sketch:
    """Per record a few words of sampled filter bits (packed uint64) and their weights,
    stored *by column* (one contiguous array per word: a join gathers each word for a chunk of
    pairs at once, twice as fast as gathering whole rows and reading them strided).

    ``words`` rows: 0–1 the given name and 2–3 the family name at the *same* sampled bit
    positions (one hash space, so the two compare crosswise for swapped names), 4–5 the whole
    name-group filter, 6 sampled bits of the birth-date filter, then one word per *context*
    field (:data:`SKETCH_CONTEXT`: sex, nationality); ``weights``: the set bits of each part.
    A sampled Dice is an unbiased estimate of the Dice of the whole filters; it only ranks
    pairs inside a block.
    """

    words: np.ndarray  # (7 + context, n) uint64
    weights: np.ndarray  # (4 + context, n) float32

    @classmethod
    def of(cls, given: np.ndarray, family: np.ndarray, group: np.ndarray, date: np.ndarray,
           *context: np.ndarray) -> Sketch:
        """A sketch from the packed parts, one row per record (2, 2, 2 and 1 words, then one
        word per context field)."""
        parts = (given, family, group, date, *context)
        words = np.ascontiguousarray(np.concatenate(parts, axis=1).T)
        weights = np.stack([np.bitwise_count(p).sum(axis=1) for p in parts]).astype(np.float32)
        return cls(words, weights)

    def rows(self, rows: np.ndarray) -> Sketch:
        """The sketch of ``rows`` in that order (joins read it in key order: cache-friendly)."""
        return Sketch(np.take(self.words, rows, axis=1), np.take(self.weights, rows, axis=1))


def sample_bits(mat: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The bits at ``positions`` of packed uint64 rows, packed again into uint64 words (bit
    ``j`` of the result is ``positions[j]``), a chunk of rows at a time. Bit ``p`` of a
    little-endian row is bit ``p % 8`` of its byte ``p // 8``: the bytes are gathered, not the
    words (an eighth of the memory traffic; the LSH bands and the sketch read 2M rows each)."""
    words = (len(positions) + 63) // 64
    out = np.empty((len(mat), words), dtype=np.uint64)
    raw = np.ascontiguousarray(mat, dtype="<u8").view(np.uint8)
    byte = positions // 8
    shifts = (positions % 8).astype(np.uint8)
    bits = np.zeros((min(_ROWS, len(mat)), words * 64), np.uint8)  # the tail stays 0: padding
    for s in range(0, len(mat), _ROWS):
        chunk = raw[s:s + _ROWS]
        rows = len(chunk)
        np.bitwise_and(np.right_shift(chunk[:, byte], shifts), 1,
                       out=bits[:rows, :len(positions)])
        out[s:s + rows] = np.packbits(bits[:rows], axis=1, bitorder="little").view("<u8")
    return out


#: fields whose filters the sketch adds, one sampled word each, at half the weight of a name
#: part: among the namesakes of a big block without a birth date (the open joins: records
#: without a year against all their namesakes) the names tie, and sex and nationality are
#: what still tells the true partner from the others (at 1M × 1M the capped true pairs' median
#: rank 13 → 11, within the top 5: 0.7% → 18.5% of them; ``pprl_blocking_misses.py``)
SKETCH_CONTEXT: tuple[str, ...] = ("sex", "nationality")
_CONTEXT_WEIGHT = 0.5


def make_sketch(filters: dict[str, np.ndarray], seed: int) -> Sketch:
    """A :class:`Sketch` of packed filter matrices ``filters`` (field → (n, words) uint64):
    128 positions drawn (seeded) for both names, 64 for the date, up to 128 of the name-group
    filter (all of the default 128-bit one), up to 64 of each :data:`SKETCH_CONTEXT` field
    that ``filters`` holds: the layout of :attr:`Sketch.words`."""
    rng = np.random.default_rng([seed, 0x5EC])
    total = filters["given_name"].shape[1] * 64
    names = np.sort(rng.choice(total, size=min(128, total), replace=False))
    dtotal = filters["birth_date"].shape[1] * 64
    dates = np.sort(rng.choice(dtotal, size=min(64, dtotal), replace=False))
    gtotal = filters["given_group"].shape[1] * 64
    groups = np.sort(rng.choice(gtotal, size=min(128, gtotal), replace=False))

    def part(field: str, positions: np.ndarray, words: int) -> np.ndarray:
        got = sample_bits(filters[field], positions)  # narrower filters: zero words after
        return np.pad(got, ((0, 0), (0, words - got.shape[1])))

    context = []
    for f in SKETCH_CONTEXT:
        if f in filters:
            ctotal = filters[f].shape[1] * 64
            context.append(part(f, np.sort(rng.choice(ctotal, size=min(64, ctotal),
                                                      replace=False)), 1))
    return Sketch.of(part("given_name", names, 2), part("family_name", names, 2),
                     part("given_group", groups, 2), part("birth_date", dates, 1), *context)


def _score(sx: Sketch, px: np.ndarray, sy: Sketch, py: np.ndarray) -> np.ndarray:
    """How alike records ``px[i]`` of ``sx`` and ``py[i]`` of ``sy`` look (higher is closer):
    names direct or crosswise (the better), plus name group and birth date, each a half Dice
    (0..2), plus each context field's half Dice at :data:`_CONTEXT_WEIGHT` (0..3 in all)."""

    def gather(first: int, count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return ([np.take(sx.words[first + w], px) for w in range(count)],
                [np.take(sy.words[first + w], py) for w in range(count)])

    weight_x: dict[int, np.ndarray] = {}
    weight_y: dict[int, np.ndarray] = {}

    def half_dice(x: list[np.ndarray], y: list[np.ndarray], part_x: int, part_y: int
                  ) -> np.ndarray:
        common = np.bitwise_count(x[0] & y[0]).astype(np.float32)
        for wx, wy in zip(x[1:], y[1:], strict=True):
            common += np.bitwise_count(wx & wy)
        if part_x not in weight_x:
            weight_x[part_x] = np.take(sx.weights[part_x], px)
        if part_y not in weight_y:
            weight_y[part_y] = np.take(sy.weights[part_y], py)
        return common / np.maximum(weight_x[part_x] + weight_y[part_y], 1.0)

    x, y = gather(0, 4)  # given name words 0–1, family name 2–3
    direct = half_dice(x[:2], y[:2], 0, 0) + half_dice(x[2:], y[2:], 1, 1)
    crossed = half_dice(x[:2], y[2:], 0, 1) + half_dice(x[2:], y[:2], 1, 0)
    out = np.maximum(direct, crossed)
    del x, y, direct, crossed
    weight_x.clear()
    weight_y.clear()
    out += half_dice(*gather(4, 2), 2, 2)
    out += half_dice(*gather(6, 1), 3, 3)
    for part in range(4, len(sx.weights)):  # context words: word part + 3
        out += _CONTEXT_WEIGHT * half_dice(*gather(part + 3, 1), part, part)
    return out


def _best(owner: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Mask of the pairs among the ``k`` best-scored of their ``owner`` (a non-negative int
    below 2**40): one int64 sort on the owner and the score (0..3) quantised to 16 bits."""
    q = (65535 - np.clip(score * (65535 / 3.0), 0, 65535)).astype(np.int64)
    order = np.argsort((owner.astype(np.int64) << 16) | q)
    o = owner[order]
    head = np.r_[True, o[1:] != o[:-1]]
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
    order = np.argsort(keys[rows])
    rows, k = rows[order], keys[rows][order]
    head = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, np.int64)
    return rows, k, k[head], head


def _expand(lo_x: np.ndarray, cnt_x: np.ndarray, lo_y: np.ndarray, cnt_y: np.ndarray,
            within: bool) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in the sorted x and y records) of every pair of the given blocks: the full
    ``cnt_x × cnt_y`` product, or for ``within`` (a column joined with itself) each unordered
    pair once."""
    sizes = cnt_x * cnt_y
    total = int(sizes.sum())
    offset = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    i = offset // np.repeat(cnt_y, sizes)
    j = offset - i * np.repeat(cnt_y, sizes)
    px, py = np.repeat(lo_x, sizes) + i, np.repeat(lo_y, sizes) + j
    if within:
        keep = i < j
        px, py = px[keep], py[keep]
    return px, py


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
               max_block: int = 1_000, top_k: int = 7, max_sub_block: int = 1_000_000
               ) -> tuple[np.ndarray, np.ndarray, JoinStats]:
    """``(a, b, stats)``: the pairs ``a < b`` of records with ``kx[a'] == ky[b']`` (valid
    where ``vx``/``vy``), ``{a', b'} = {a, b}``, ``a' ≠ b'`` (``same``: ``kx`` is ``ky``).
    With ``contributor`` only pairs of different contributors: each pair of contributors is
    joined on its own (a block's size is then its cross pairs, and no pair within one
    source is ever expanded). Blocks over ``max_block`` pairs are sub-blocked to each
    record's ``top_k`` on the ``sketch`` (skipped without one), blocks over
    ``max_sub_block`` skipped (module docstring). Not deduplicated."""
    cap = {"sketch": sketch, "max_block": max_block, "top_k": top_k,
           "max_sub_block": max_sub_block}
    if contributor is None:
        return _join(kx, vx, ky, vy, same=same, **cap)
    stats = JoinStats()
    out_a, out_b = [], []
    codes = np.unique(contributor).tolist()
    for i, ci in enumerate(codes):
        for cj in codes[i + 1:]:
            mi, mj = contributor == ci, contributor == cj
            for x_side, y_side in ((mi, mj),) if same else ((mi, mj), (mj, mi)):
                a, b, st = _join(kx, vx & x_side, ky, vy & y_side, same=False, **cap)
                out_a.append(a)
                out_b.append(b)
                stats.add(st)
    a = np.concatenate(out_a) if out_a else np.zeros(0, np.int64)
    b = np.concatenate(out_b) if out_b else np.zeros(0, np.int64)
    return a, b, stats


def _join(kx: np.ndarray, vx: np.ndarray, ky: np.ndarray, vy: np.ndarray, *, same: bool,
          sketch: Sketch | None, max_block: int, top_k: int, max_sub_block: int
          ) -> tuple[np.ndarray, np.ndarray, JoinStats]:
    """:func:`join_pairs` over all records."""
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
    sx = sy = None
    if sketch is not None and (big & ~huge).any():
        sx = sketch.rows(rx)
        sy = sx if same else sketch.rows(ry)
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
            px, py = _expand(lo_x[blocks], cnt_x[blocks], lo_y[blocks], cnt_y[blocks],
                                    same)
            a, b = rx[px], ry[py]
            keep = a != b
            a, b, px, py = a[keep], b[keep], px[keep], py[keep]
            if capped and len(a):
                # a record has one key per column, so its position in the sorted column
                # names its block too; in a self-join it may be either end of a pair
                score = _score(sx, px, sy, py)  # type: ignore[arg-type]
                if same:
                    ends = np.r_[px, py]
                    both = _best(ends, np.r_[score, score], top_k)
                    keep = both[:len(px)] | both[len(px):]
                else:
                    keep = _best(px, score, top_k) | _best(py, score, top_k)
                a, b = a[keep], b[keep]
            out_a.append(np.minimum(a, b))
            out_b.append(np.maximum(a, b))
    a = np.concatenate(out_a) if out_a else np.zeros(0, np.int64)
    b = np.concatenate(out_b) if out_b else np.zeros(0, np.int64)
    stats.pairs = len(a)
    return a, b, stats


def sample_self_join(keys: np.ndarray, valid: np.ndarray, contributor: np.ndarray | None,
                     max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(a, b, total)``: pairs ``a < b`` of records with equal ``keys`` (valid where
    ``valid``; of different contributors when ``contributor`` is given) — all of them when
    they number at most ``max_pairs``, else a uniform sample of about ``max_pairs`` — and
    their exact number ``total`` (for EM's training pairs: the prior scales by it). Counted
    from the block sizes and drawn by index, so a join of hundreds of millions of pairs costs
    no more than its records."""
    rows, k, _, head = _groups(keys, valid)
    cnt = np.diff(np.r_[head, len(rows)])
    pairs_all = cnt * (cnt - 1) // 2
    if contributor is None:
        total = int(pairs_all.sum())
    else:  # cross pairs of a block: (c² − Σ_k c_k²) / 2 over its contributors
        width = int(contributor.max()) + 1
        groups, per = np.unique(np.repeat(np.arange(len(cnt)), cnt) * width
                                + contributor[rows], return_counts=True)
        same = np.bincount(groups // width, weights=per.astype(np.float64) ** 2,
                           minlength=len(cnt))
        total = int(((cnt.astype(np.float64) ** 2 - same) // 2).sum())
    if total <= max_pairs:
        a, b, _ = join_pairs(keys, valid, keys, valid, same=True, sketch=None,
                             contributor=contributor, max_block=2**62, max_sub_block=2**62)
        return a, b, total
    rng = np.random.default_rng([seed, 0x7A1])
    draws = int(max_pairs * pairs_all.sum() / total * 1.05) + 16
    ordered = np.cumsum(cnt * (cnt - 1))  # ordered pairs, i ≠ j: uniform over unordered
    pick = np.searchsorted(ordered, rng.integers(0, int(ordered[-1]), draws), side="right")
    c = cnt[pick]
    i = rng.integers(0, c)
    j = rng.integers(0, c - 1)
    j += j >= i
    a, b = rows[head[pick] + i], rows[head[pick] + j]
    if contributor is not None:
        keep = contributor[a] != contributor[b]
        a, b = a[keep], b[keep]
    code = np.unique(np.minimum(a, b) * len(keys) + np.maximum(a, b))[:max_pairs]
    return code // len(keys), code % len(keys), total
