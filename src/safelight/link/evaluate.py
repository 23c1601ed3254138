"""Pairwise precision, recall and F1 of a clustering against a ground truth.

Contract: :func:`pairwise_scores` takes two label arrays over the same records (predicted
cluster, true person) and counts record pairs: a predicted pair is two records in one predicted
cluster, a true pair two records of one person. Exact, via cluster-size sums (no pair lists).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["pairwise_scores"]


def _pairs_within(labels: np.ndarray) -> int:
    _, counts = np.unique(labels, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """{precision, recall, f1, predicted_pairs, true_pairs, true_positives, clusters, persons}."""
    predicted = np.asarray(predicted)
    _, t_codes = np.unique(np.asarray(truth), return_inverse=True)
    _, p_codes = np.unique(predicted, return_inverse=True)
    joint = p_codes.astype(np.int64) * (int(t_codes.max()) + 1) + t_codes
    tp = _pairs_within(joint)
    pp, tt = _pairs_within(p_codes), _pairs_within(t_codes)
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted_pairs": pp,
            "true_pairs": tt, "true_positives": tp, "clusters": int(p_codes.max()) + 1,
            "persons": int(t_codes.max()) + 1}
