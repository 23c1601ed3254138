"""Row patterns: a table held as its distinct rows and how many times each occurs.

Contract
--------
A synthetic table of ``n`` rows over a few categorical columns has far fewer distinct rows
than ``n`` (a million rows of CTDC's 7-column table: a few thousand). Every function here
works on ``(rows, weights)`` — distinct (or not necessarily distinct) code rows and their
non-negative integer multiplicities — and gives exactly what the same operation on the
expanded table (``np.repeat(rows, weights, axis=0)``) gives, at a cost that grows with the
number of patterns, not of rows:

* :func:`unique_rows` / :func:`merge` — distinct rows (and summed weights);
* :func:`count_patterns` / :func:`weighted_counts` — the counts of the combinations over a
  column subset (all, or given ones);
* :func:`systematic_counts` — systematic sampling of one category per row, as counts per
  pattern: for a block of ``w`` identical rows the number of rows given each category is what
  systematic sampling over those ``w`` consecutive rows gives (the running sum of the
  conditional probabilities, crossed at the points ``u, u + 1, ...``), so the result has the
  distribution of the per-row draw, without drawing rows;
* :func:`expand` — the rows themselves, in a random order.
"""

from __future__ import annotations

import numpy as np

from safelight.release.combos import Subset, multipliers


def unique_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``codes`` and, per row, the index of its distinct row."""
    c = np.ascontiguousarray(codes)
    if c.shape[0] == 0:
        return c, np.zeros(0, np.int64)
    radix = c.max(axis=0).astype(np.int64) + 1
    if float(np.prod(radix.astype(float))) < 2.0**62:
        # one int64 key per row: a sort of integers instead of byte strings
        keys = c.astype(np.int64) @ np.concatenate(([1], np.cumprod(radix)[:-1]))
    else:
        keys = c.view(np.dtype((np.void, c.dtype.itemsize * c.shape[1]))).ravel()
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    return c[first], inv.ravel()


def merge(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``rows`` with the summed weights of their copies (zero weights
    dropped)."""
    keep = weights > 0
    uniq, inv = unique_rows(rows[keep])
    return uniq, np.bincount(inv, weights=weights[keep], minlength=len(uniq)).astype(np.int64)


def count_patterns(rows: np.ndarray, weights: np.ndarray, radix: np.ndarray,
                   s: Subset) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys of the combinations over ``s`` (no missing value) in the weighted rows, and
    their counts (int64) — :func:`safelight.release.combos.count_subset` of the expanded
    rows."""
    sub = rows[:, list(s)]
    complete = np.all(sub != 0, axis=1)
    rk = sub[complete].astype(np.int64) @ multipliers(radix, s)
    uk, inv = np.unique(rk, return_inverse=True)
    uc = np.bincount(inv.ravel(), weights=weights[complete], minlength=len(uk))
    return uk, uc.astype(np.int64)


def weighted_counts(rows: np.ndarray, weights: np.ndarray, radix: np.ndarray, s: Subset,
                    keys: np.ndarray) -> np.ndarray:
    """Count of each of ``keys`` (combinations over ``s``) in the weighted rows (float)."""
    if len(keys) == 0 or len(rows) == 0:
        return np.zeros(len(keys))
    uk, uc = count_patterns(rows, weights, radix, s)
    if len(uk) == 0:
        return np.zeros(len(keys))
    pos = np.minimum(np.searchsorted(uk, keys), len(uk) - 1)
    return np.where(uk[pos] == keys, uc[pos], 0.0)


def systematic_counts(p: np.ndarray, weights: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Systematic sampling of one category for each of ``weights[g]`` rows of pattern ``g``
    (patterns in sampling order), returned as ``(G, m)`` integer counts.

    ``p`` is ``(G, m)`` with rows summing to 1; categories are visited most probable first
    (over all rows), each taking the rows at the points ``u, u + 1, ...`` of the running sum
    of its probability given the categories not yet taken; column 0 (missing) takes the rows
    left over. Within a pattern all rows share ``p``, so the rows a category takes in a block
    of identical consecutive rows is the number of points the running sum crosses over the
    block: this is the per-row systematic draw, counted per pattern."""
    G, m = p.shape
    out = np.zeros((G, m), np.int64)
    undecided = weights.astype(np.int64).copy()
    remaining = np.ones(G)
    for c in np.argsort(-(p * weights[:, None]).sum(axis=0), kind="stable"):
        if c == 0:
            continue
        if not undecided.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(remaining > 1e-12, p[:, c] / remaining, 0.0)
        q = np.clip(q, 0.0, 1.0)
        q[q > 1 - 1e-5] = 1.0  # float32 probabilities: the last value left is certain
        mass = undecided * q
        cum = np.cumsum(mass)
        u = rng.random()
        hit = np.floor(cum + u)
        prev = np.concatenate(([np.floor(u)], hit[:-1]))
        picked = np.minimum((hit - prev).astype(np.int64), undecided)
        out[:, c] = picked
        undecided -= picked
        remaining -= p[:, c]
        np.maximum(remaining, 0.0, out=remaining)
    out[:, 0] += undecided
    return out


def expand(rows: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The weighted rows as a table, in a random order."""
    codes = np.repeat(rows, weights.astype(np.int64), axis=0)
    return codes[rng.permutation(len(codes))]


__all__ = ["count_patterns", "expand", "merge", "systematic_counts", "unique_rows", "weighted_counts"]
