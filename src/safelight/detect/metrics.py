"""Cluster-quality measures against a ground truth, vectorised with NumPy.

Contract: both functions take two equal-length integer label arrays (any values; a label is a
cluster) and count *pairs of items*: a pair is predicted linked when both items share a predicted
label, truly linked when they share a true label. Singletons contribute no pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["adjusted_rand_index", "pairwise_scores"]


def _pairs(counts: np.ndarray) -> float:
    c = counts.astype(np.float64)
    return float((c * (c - 1) / 2).sum())


def _contingency(pred: Sequence[int] | np.ndarray, truth: Sequence[int] | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    p = np.asarray(pred)
    t = np.asarray(truth)
    if p.shape != t.shape:
        raise ValueError(f"label arrays differ in length: {p.shape} vs {t.shape}")
    _, p_idx = np.unique(p, return_inverse=True)
    _, t_idx = np.unique(t, return_inverse=True)
    joint = p_idx.astype(np.int64) * (int(t_idx.max(initial=0)) + 1) + t_idx
    _, n_ij = np.unique(joint, return_counts=True)
    return n_ij, np.bincount(p_idx), np.bincount(t_idx), int(p.size)


def pairwise_scores(pred: Sequence[int] | np.ndarray, truth: Sequence[int] | np.ndarray
                    ) -> dict[str, float]:
    """Pairwise precision, recall and F1 (1.0 when there is nothing to find or claim)."""
    n_ij, a, b, _ = _contingency(pred, truth)
    tp, pp, tt = _pairs(n_ij), _pairs(a), _pairs(b)
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": tt,
            "predicted_pairs": pp}


def adjusted_rand_index(pred: Sequence[int] | np.ndarray, truth: Sequence[int] | np.ndarray
                        ) -> float:
    """Hubert–Arabie adjusted Rand index (1 = identical partitions, ~0 = chance)."""
    n_ij, a, b, n = _contingency(pred, truth)
    if n < 2:
        return 1.0
    index, sum_a, sum_b = _pairs(n_ij), _pairs(a), _pairs(b)
    expected = sum_a * sum_b / (n * (n - 1) / 2)
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)
