"""One-to-one assignment for two-source linkage: each record in at most one link.

Contract: :func:`one_to_one` takes candidate pairs ``(a, b)`` (record indices) with match
weights ``w`` and returns a boolean mask of the pairs kept so that no record is in two kept
pairs. Method: rounds of *mutual best* — a pair is kept when it has the highest weight among
the remaining pairs of both its records (ties broken by position); the records of kept pairs
leave, and their other pairs with them. Every round keeps at least the heaviest remaining pair,
so it ends; each round is vectorised (sorting), never a loop over pairs. The result is the
greedy maximum-weight matching.
"""

from __future__ import annotations

import numpy as np

__all__ = ["one_to_one"]


def _best_per_record(ends: np.ndarray, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """For each distinct record in ``ends`` (aligned with pair indices ``idx``), the pair
    index with the highest weight (lowest index on ties)."""
    order = np.lexsort((idx, -w[idx], ends))
    first = np.ones(len(order), dtype=bool)
    first[1:] = ends[order][1:] != ends[order][:-1]
    return idx[order][first]


def one_to_one(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mask of the pairs kept by the mutual-best rounds (see the module docstring)."""
    a, b, w = np.asarray(a), np.asarray(b), np.asarray(w, dtype=np.float64)
    keep = np.zeros(len(a), dtype=bool)
    alive = np.ones(len(a), dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        ends = np.concatenate([a[idx], b[idx]])
        both = np.concatenate([idx, idx])
        best = _best_per_record(ends, both, w)
        # a pair is mutual best when it is the best of both its records: it appears twice
        vals, counts = np.unique(best, return_counts=True)
        mutual = vals[counts == 2]
        keep[mutual] = True
        used = np.concatenate([a[mutual], b[mutual]])
        alive &= ~(np.isin(a, used) | np.isin(b, used))
        alive[mutual] = False
    return keep

