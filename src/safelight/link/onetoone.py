"""One-to-one assignment for two-source linkage: each record in at most one link.

Contract: :func:`one_to_one` takes candidate pairs ``(a, b)`` (record indices) with match
weights ``w`` and returns a boolean mask of the pairs kept so that no record is in two kept
pairs. Method: rounds of *mutual best* — a pair is kept when it has the highest weight among
the remaining pairs of both its records (ties broken by position); the records of kept pairs
leave, and their other pairs with them. Every round keeps at least the heaviest remaining pair,
so it ends; each round is vectorised (sorting), never a loop over pairs. The result is the
greedy maximum-weight matching.

:func:`exclusive_probability` turns the pairs' match weights into match probabilities that
know about the constraint: a pair whose records have other plausible partners is less likely
to be the one match of each.
"""

from __future__ import annotations

import numpy as np

__all__ = ["exclusive_probability", "one_to_one"]


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



def exclusive_probability(a: np.ndarray, b: np.ndarray, w: np.ndarray, n_records: int
                          ) -> np.ndarray:
    """Match probability of each candidate pair when every record matches at most one record
    of the other source: ``odds / (1 + the summed odds of all candidate pairs of either
    record)``, where ``odds = 2**w`` are the pair's posterior odds (``w`` in log2). A pair with
    no rival keeps ``odds / (1 + odds)``, the plain Fellegi–Sunter probability; one whose
    records have rivals as likely as itself drops below it. (Each record's hypotheses — no
    match, or one of its candidates — are exclusive, so their odds add up.)"""
    a, b = np.asarray(a), np.asarray(b)
    odds = np.exp2(np.minimum(np.asarray(w, dtype=np.float64), 500.0))
    total = np.bincount(a, odds, n_records) + np.bincount(b, odds, n_records)
    return odds / (1.0 + total[a] + total[b] - odds)


def match_probability(a: np.ndarray, b: np.ndarray, w: np.ndarray, n_records: int, *,
                      exclusive: bool) -> np.ndarray:
    """Match probability of each candidate pair from its weight ``w`` (log2 odds): with
    ``exclusive`` (two sources, each record matches at most one) :func:`exclusive_probability`,
    otherwise the plain Fellegi–Sunter ``1 / (1 + 2**-w)``."""
    if exclusive:  # rival candidates lower a pair's odds
        return exclusive_probability(a, b, w, n_records)
    return 1.0 / (1.0 + np.exp2(-np.asarray(w, dtype=np.float64)))
