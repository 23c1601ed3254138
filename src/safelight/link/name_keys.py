"""Blocking keys over the words and near spellings of names, as lists of integer codes.

Contract: every function here takes integer codes of name keys (one shared vocabulary, ``-1``
where missing, as :attr:`safelight.link.prepare.Records.codes` gives them) and returns, per
record or per key, a *list column* ``(offsets, values)``: row ``i`` holds
``values[offsets[i]:offsets[i + 1]]``, distinct int32 codes. Two records share a value exactly
when the key says they may be the same person; the codes mean nothing outside one call. The
blocking rules join on them (``list_contains``, ``list_has_any`` in
:mod:`safelight.link.blocking`). Nothing here compares or scores.

* :func:`word_pair_lists`: the unordered pairs of the distinct words of a record's names
  (first and last word of the given and of the family name), so that Thị Lan | Nguyễn, Lan |
  Nguyen and Nguyen | Thi Lan share {lan, nguyen}, and Harpreet Kaur | Sidhu and Harpreet |
  Kaur share {harpreet, kaur}. A word written with a fused Arabic article (Alhomsi) counts as
  the word without it (homsi) when that is a name key too.
* :func:`rare_near_lists`: for each *rare* key (seen at most ``max_count`` times), the more
  common keys up to two deletions away on each side (two typos: Npdaa and Nadia share
  "nda"); a rare key is what a typo makes, so a common name lists nothing and the lists stay
  short.
* :func:`near_pair_lists`: per record, the unordered pairs (given', family') with given' a
  form of the given name (its key, the key without a fused article, its last word) or a more
  common spelling one or two typos away (its near lists), and so for the family name: two
  records share one when each name of the one is the other's or a typo of it, in either
  order.
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np

from safelight.arrays import unique_sorted

__all__ = ["bare_words", "deletion_hashes", "key_lists", "near_pair_lists", "rare_near_lists", "word_pair_lists"]

Lists = tuple[np.ndarray, np.ndarray]  # offsets (int64, len n + 1), values (int32)

_FUSED_ARTICLE = re.compile(r"^(?:al|el)(.{3,})$")


def _lists(rows: np.ndarray, values: np.ndarray, n: int) -> Lists:
    """The list column of ``n`` rows from ``(row, value)`` entries (int64 values, any range):
    distinct values per row, re-coded ``0..k-1`` as int32."""
    from safelight.link.blocking import _compact  # the key helper, no cycle at import

    if not len(rows):
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int32)
    (codes,), size = _compact([values.astype(np.int64)])
    entry = unique_sorted(rows.astype(np.int64) * size + codes)  # by row
    rows, code = entry // size, entry % size
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
    return offsets, code.astype(np.int32)


def bare_words(vocab: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """Per code of ``vocab``: the code of the key without a fused article ``al``/``el``
    (alhomsi → homsi) when that remainder is a key of ``columns`` (codes into ``vocab``)
    too, else itself."""
    used = unique_sorted(np.concatenate([c[c >= 0] for c in columns] + [np.zeros(0, np.int32)]))
    out = np.arange(len(vocab), dtype=np.int64)
    keys = vocab[used].tolist()
    where = dict(zip(keys, used.tolist(), strict=True))
    for code, key in zip(used.tolist(), keys, strict=True):
        m = _FUSED_ARTICLE.match(key)
        if m and m.group(1) in where:
            out[code] = where[m.group(1)]
    return out


def word_pair_lists(words: list[np.ndarray], bare: np.ndarray) -> Lists:
    """Per record, codes of the unordered pairs of its distinct words, ``words`` being the
    records' word-key columns (codes, -1 missing), each read through ``bare`` (the
    vocabulary's codes without a fused article, :func:`bare_words`)."""
    n = len(words[0]) if words else 0
    w = np.stack([c.astype(np.int64) for c in words], axis=1) if words else np.zeros((0, 0))
    w = np.where(w >= 0, bare[np.maximum(w, 0)], -1)
    size = len(bare)
    rows, values = [], []
    for i, j in combinations(range(w.shape[1]), 2):
        x, y = w[:, i], w[:, j]
        ok = (x >= 0) & (y >= 0) & (x != y)
        rows.append(np.flatnonzero(ok))
        values.append(np.minimum(x, y)[ok] * size + np.maximum(x, y)[ok])
    if not rows:
        return _lists(np.zeros(0, np.int64), np.zeros(0, np.int64), n)
    return _lists(np.concatenate(rows), np.concatenate(values), n)


#: base of the polynomial string hash of :func:`deletion_hashes` (odd: invertible mod 2**64)
_BASE = np.uint64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray) -> np.ndarray:
    """A bijective mix of uint64 hashes (splitmix64's finaliser), cut to 62 bits: non-negative
    int64 keys for the joins."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    h = h ^ (h >> np.uint64(31))
    return (h >> np.uint64(2)).astype(np.int64)


#: the longest key (letters) that :func:`deletion_hashes` makes variants of
MAX_VARIANT_LETTERS = 64


def deletion_hashes(keys: list[str], one_from: int = 3, two_from: int = 4
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, hash)`` of each key of ``keys`` and its deletion variants: from ``one_from``
    letters on, the key with any one letter deleted, and from ``two_from`` letters on, with
    any two deleted (``owner`` indexes ``keys``; a variant may come twice for one owner).

    Equal strings hash alike whatever deletions made them: the hash is the polynomial hash of
    the variant's code points mod 2**64 (computed from each key's prefix and suffix hashes,
    for all keys of one length at once: no variant string is built), then mixed and cut to
    62 bits. Valid across processes; a collision (about one in 2**62 per pair of distinct
    variants) only adds a candidate pair. Keys hold no NUL character (name keys are
    letters). A key over :data:`MAX_VARIANT_LETTERS` letters is no name typed with a typo
    (a note pasted into the name field): it gets no variants, not even itself — its variants
    would cost memory with the square of its length (a 200,000-letter field asked for 37 GB)."""
    if any(len(k) > MAX_VARIANT_LETTERS for k in keys):
        kept = np.array([i for i, k in enumerate(keys) if len(k) <= MAX_VARIANT_LETTERS],
                        np.int64)
        owner, flat = deletion_hashes([keys[i] for i in kept.tolist()], one_from, two_from)
        return kept[owner], flat
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = np.array(keys, dtype=str)
    width = max(arr.dtype.itemsize // 4, 1)
    mat = arr.view(np.uint32).reshape(len(keys), width)
    lens = (mat != 0).sum(axis=1)
    pw = np.ones(width + 2, np.uint64)  # powers of the base
    for e in range(1, width + 2):
        pw[e:e + 1] = pw[e - 1:e] * _BASE
    owners, hashes = [], []
    for m in np.unique(lens).tolist():
        rows = np.flatnonzero(lens == m)
        c = mat[rows, :m].astype(np.uint64)
        pre = np.zeros((len(rows), m + 1), np.uint64)  # pre[:, i]: hash of the first i letters
        suf = np.zeros((len(rows), m + 1), np.uint64)  # suf[:, j]: letters j.. at their place
        for i in range(m):
            pre[:, i + 1] = pre[:, i] * _BASE + c[:, i]
        for j in range(m - 1, -1, -1):
            suf[:, j] = c[:, j] * pw[m - 1 - j] + suf[:, j + 1]
        parts = [pre[:, m:]]
        if m >= one_from:
            i = np.arange(m)
            parts.append(pre[:, i] * pw[m - 1 - i] + suf[:, i + 1])
        if m >= two_from:
            i, j = np.triu_indices(m, 1)  # delete i and j > i
            mid = (pre[:, j] - pre[:, i + 1] * pw[j - 1 - i]) * pw[m - 1 - j]
            parts.append(pre[:, i] * pw[m - 2 - i] + mid + suf[:, j + 1])
        h = np.concatenate(parts, axis=1)
        owners.append(np.repeat(rows, h.shape[1]))
        hashes.append(_mix(h.ravel()))
    return np.concatenate(owners).astype(np.int64), np.concatenate(hashes)


def rare_near_lists(columns: list[np.ndarray], vocab: np.ndarray, max_count: int = 1
                    ) -> list[Lists]:
    """Per column of ``columns`` (codes into ``vocab``), per record: the codes of the keys
    that are more common in ``columns`` than the record's key and up to two deletions from
    it on each side (:func:`deletion_hashes`), listed only where the record's key occurs at most
    ``max_count`` times (a rare key, as a typo makes)."""
    from safelight.link.blocking import _join_ordered  # the join helper, no cycle at import

    n_vocab = len(vocab)
    present = [c[c >= 0] for c in columns]
    count = np.bincount(np.concatenate(present) if present else np.zeros(0, np.int64),
                        minlength=n_vocab)
    rare = np.flatnonzero((count > 0) & (count <= max_count))
    common = np.flatnonzero(count > 1)
    q_owner, q_hash = deletion_hashes(vocab[rare].tolist())
    t_owner, t_hash = deletion_hashes(vocab[common].tolist())
    # joined on the hashes' top bits (so that the join's sort packs them with positions),
    # then kept where all their bits agree: the pairs of equal hashes
    shift = max(int(len(q_hash) + len(t_hash) - 1).bit_length() - 1, 0)
    edges = [(rare[q_owner[i[same]]], common[t_owner[j[same]]])
             for i, j in _join_ordered(np.arange(len(q_hash)), q_hash >> shift,
                                       np.arange(len(t_hash)), t_hash >> shift)
             for same in [q_hash[i] == t_hash[j]]]
    src = np.concatenate([e[0] for e in edges] + [np.zeros(0, np.int64)])
    dst = np.concatenate([e[1] for e in edges] + [np.zeros(0, np.int64)])
    keep = count[dst] > count[src]
    return key_lists(src[keep], dst[keep], n_vocab, columns)


def key_lists(src: np.ndarray, dst: np.ndarray, n_vocab: int, columns: list[np.ndarray]
              ) -> list[Lists]:
    """Per column of key codes (``-1``: missing), each row's list of the keys its key points
    to by the edges ``src → dst`` (codes below ``n_vocab``; duplicates taken once), ascending:
    one list column per column of ``columns``."""
    edge = unique_sorted(src.astype(np.int64) * n_vocab + dst)
    src, dst = edge // n_vocab, (edge % n_vocab).astype(np.int32)
    start = np.searchsorted(src, np.arange(n_vocab + 1))  # CSR over the vocabulary
    lens = np.diff(start)
    out = []
    for c in columns:
        cnt = np.where(c >= 0, lens[np.maximum(c, 0)], 0)
        pos = (np.repeat(start[np.maximum(c, 0)], cnt) + np.arange(int(cnt.sum()))
               - np.repeat(np.cumsum(cnt) - cnt, cnt))
        out.append((np.concatenate([[0], np.cumsum(cnt)]).astype(np.int64), dst[pos]))
    return out


def _entries(forms: list[np.ndarray], lists: list[Lists], size: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(record, code)``: each record's distinct codes in ``forms`` (where present) and in
    its ``lists``, sorted by record (codes below ``size``)."""
    rows, vals = [], []
    for k, codes in enumerate(forms):  # a form equal to an earlier one of the record: once
        new = codes >= 0
        for earlier in forms[:k]:
            new &= codes != earlier
        rows.append(np.flatnonzero(new))
        vals.append(codes[rows[-1]].astype(np.int64))
    for offsets, values in lists:
        cnt = np.diff(offsets)
        rows.append(np.repeat(np.arange(len(cnt)), cnt))
        vals.append(values.astype(np.int64))
    entry = unique_sorted(np.concatenate(rows) * size + np.concatenate(vals))
    return entry // size, entry % size


def near_pair_lists(given: list[np.ndarray], family: list[np.ndarray], given_lists: list[Lists],
                    family_lists: list[Lists], size: int) -> Lists:
    """Per record with both names, the codes of the unordered pairs (g, f): g one of its
    ``given`` forms (code columns: the key, its bare form, its last word) or one of
    ``given_lists``' keys for it, f so for the family name (codes below ``size``)."""
    n = len(given[0])
    both = (given[0] >= 0) & (family[0] >= 0)
    gr, gv = _entries([np.where(both, g, -1) for g in given], given_lists, size)
    fr, fv = _entries([np.where(both, f, -1) for f in family], family_lists, size)
    gr_ok, fr_ok = both[gr], both[fr]
    gr, gv, fr, fv = gr[gr_ok], gv[gr_ok], fr[fr_ok], fv[fr_ok]
    # every given entry of a record against every family entry of it (both sorted by record)
    f_cnt = np.bincount(fr, minlength=n)
    f_start = np.cumsum(f_cnt) - f_cnt
    reps = f_cnt[gr]  # per given entry, its record's family entries
    total = int(reps.sum())
    first = np.repeat(np.cumsum(reps) - reps, reps)
    j = np.repeat(f_start[gr], reps) + np.arange(total, dtype=np.int64) - first
    x, y = np.repeat(gv, reps), fv[j]
    return _lists(np.repeat(gr, reps), np.minimum(x, y) * size + np.maximum(x, y), n)
