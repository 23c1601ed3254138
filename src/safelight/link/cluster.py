"""Clustering scored pairs into persons, robust to chaining.

Contract: :func:`cluster_pairs` takes the number of records, the linked pairs (match weight above
the threshold) and a scoring function for arbitrary pairs, and returns one cluster label per
record (``0..k-1``; a record in no link is its own cluster).

Method. Connected components of the linked pairs alone chain: A~B and B~C put A and C together
even when A and C are plainly different people (twins sharing a surname and a birth date, a
mother and child sharing a phone). So every component of three or more records is re-clustered
from *all* its internal pairs, each scored by the same Fellegi–Sunter model, with greedy
additive edge contraction (GAEC, a greedy correlation-clustering heuristic): repeatedly merge
the two clusters whose summed pair weights (log2 odds, capped at ±:data:`WEIGHT_CAP`) are the
largest positive value; stop when no merge has positive weight. A cluster therefore holds
together only if its records on balance are the same person, and one strong link cannot drag in
a record that the rest of the cluster contradicts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["WEIGHT_CAP", "cluster_pairs", "connected_components", "gaec"]

WEIGHT_CAP = 20.0


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (the smallest member index) of each of ``n`` records; vectorised
    min-label propagation with pointer jumping."""
    labels = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return labels
    while True:
        la, lb = labels[a], labels[b]
        lo = np.minimum(la, lb)
        before = labels.copy()
        np.minimum.at(labels, a, lo)
        np.minimum.at(labels, b, lo)
        np.minimum.at(labels, la, lo)
        np.minimum.at(labels, lb, lo)
        labels = labels[labels]  # pointer jumping
        if np.array_equal(labels, before):
            return labels


def gaec(size: int, w: np.ndarray) -> np.ndarray:
    """Greedy additive edge contraction on a dense symmetric weight matrix (``-inf``: never
    together); labels 0..k-1."""
    w = w.copy()
    np.fill_diagonal(w, -np.inf)
    alive = np.ones(size, dtype=bool)
    members = [[i] for i in range(size)]
    while True:
        masked = np.where(alive[:, None] & alive[None, :], w, -np.inf)
        k = int(np.argmax(masked))
        i, j = divmod(k, size)
        if not np.isfinite(masked[i, j]) or masked[i, j] <= 0:
            break
        w[i, :] += w[j, :]
        w[:, i] += w[:, j]
        w[i, i] = -np.inf
        alive[j] = False
        members[i].extend(members[j])
        members[j] = []
    labels = np.empty(size, dtype=np.int64)
    for lab, mem in enumerate(m for m in members if m):
        labels[mem] = lab
    return labels


def cluster_pairs(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Cluster labels of ``n`` records from linked pairs ``(a, b)``; ``score(x, y)`` returns
    the match weights (log2 odds) of arbitrary record pairs (see the module docstring)."""
    comp = connected_components(n, a, b)
    order = np.argsort(comp, kind="stable")
    _, starts, counts = np.unique(comp[order], return_index=True, return_counts=True)
    big = [order[s:s + c] for s, c in zip(starts, counts, strict=True) if c >= 3]
    labels = comp.copy()
    if big:
        # every internal pair of every big component, scored in one vectorised call
        xs, ys = [], []
        for mem in big:
            iu, ju = np.triu_indices(len(mem), 1)
            xs.append(mem[iu])
            ys.append(mem[ju])
        x, y = np.concatenate(xs), np.concatenate(ys)
        wts = np.clip(score(x, y), -WEIGHT_CAP, WEIGHT_CAP)
        next_label = n
        offset = 0
        for mem in big:
            s = len(mem)
            npairs = s * (s - 1) // 2
            iu, ju = np.triu_indices(s, 1)
            mat = np.zeros((s, s))
            mat[iu, ju] = wts[offset:offset + npairs]
            mat[ju, iu] = mat[iu, ju]
            offset += npairs
            sub = gaec(s, mat)
            labels[mem] = next_label + sub
            next_label += int(sub.max()) + 1
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)
