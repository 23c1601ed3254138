"""The whole linkage in clear: prepare → block → compare → EM → score → cluster → review.

Contract: :func:`link_records` takes an Arrow table of identity records (see
:mod:`safelight.link.prepare`) and returns :class:`LinkResult`: a cluster label per input row,
the scored candidate pairs, the fitted model and timings. Deterministic for a given ``seed``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from safelight.errors import UsageError
from safelight.link.blocking import (
    DEFAULT_RULES,
    TRAINING_RULES,
    BlockingRule,
    candidate_pairs,
    training_pairs,
)
from safelight.link.cluster import cluster_pairs, connected_components
from safelight.link.compare import Comparisons, compare
from safelight.link.model import EMResult, TrainingPairs, estimate_model, tf_adjustments
from safelight.link.onetoone import match_probability, one_to_one
from safelight.link.prepare import Records, prepare

__all__ = ["LinkResult", "LinkSettings", "link_records", "score_pairs"]

log = logging.getLogger("safelight.link")


@dataclass(frozen=True)
class LinkSettings:
    """Settings of a linkage run (saved with its output).

    ``threshold``: match probability from which a pair is linked. 0.5 is the Bayes decision
    for equal costs of a false link and a missed link under the learned model, so it needs no
    tuning per dataset. Pairs with a probability in ``[review_low, review_high)`` go to review.

    ``two_source``: the input holds exactly two contributors' files, each free of duplicates
    (linking two registers, as in FEBRL4): only pairs across the two are proposed, and each
    record links to at most one record of the other (one-to-one, greedy maximum-weight
    matching) instead of being clustered; a pair's probability accounts for its records' other
    candidates (:func:`~safelight.link.onetoone.exclusive_probability`).
    """

    threshold: float = 0.5
    review_low: float = 0.2
    review_high: float = 0.9
    u_sample_pairs: int = 300_000
    seed: int = 0
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES
    two_source: bool = False
    training_rules: tuple[BlockingRule, ...] = TRAINING_RULES
    training_max_pairs: int = 300_000

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {"threshold": self.threshold, "review_low": self.review_low,
                "review_high": self.review_high, "u_sample_pairs": self.u_sample_pairs,
                "seed": self.seed, "rules": [[r.name, r.condition] for r in self.rules],
                "two_source": self.two_source,
                "training_rules": [[r.name, r.condition] for r in self.training_rules],
                "training_max_pairs": self.training_max_pairs}


@dataclass
class LinkResult:
    """Output of :func:`link_records`; arrays are aligned with the input rows / pairs."""

    records: Records
    labels: np.ndarray
    comparisons: Comparisons
    weights: np.ndarray  # match weight (log2 odds) per candidate pair
    probabilities: np.ndarray
    em: EMResult
    settings: LinkSettings
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def linked(self) -> np.ndarray:
        """Boolean per candidate pair: in the same cluster."""
        return self.labels[self.comparisons.a] == self.labels[self.comparisons.b]

    def reasons(self, ks: np.ndarray) -> list[dict[str, Any]]:
        """Per-field level and weight (with term-frequency adjustment) of candidate pairs
        ``ks``, plus whether the names were crossed over and the prior's log2 odds."""
        ks = np.asarray(ks, dtype=np.int64)
        model = self.em.model
        c = self.comparisons
        sub = Comparisons(c.a[ks], c.b[ks], c.levels[ks], c.swapped[ks])
        weights = model.field_weights(sub.levels) + tf_adjustments(model, self.records, sub)
        prior = round(float(np.log2(model.prior / (1 - model.prior))), 3)
        out = []
        for i in range(len(ks)):
            reasons: dict[str, Any] = {}
            for j, (name, levels) in enumerate(model.fields.items()):
                lvl = int(sub.levels[i, j])
                reasons[name] = {"level": "missing" if lvl == 0 else levels[lvl - 1],
                                 "weight": round(float(weights[i, j]), 3)}
            reasons["names_swapped"] = bool(sub.swapped[i])
            reasons["prior_log2_odds"] = prior
            out.append(reasons)
        return out


def score_pairs(em: EMResult, records: Records, a: np.ndarray, b: np.ndarray
                ) -> tuple[Comparisons, np.ndarray]:
    """Compare and score arbitrary pairs: (comparisons, match weights in log2 odds)."""
    comps = compare(records, a, b)
    w = em.model.match_weight(comps.levels) + tf_adjustments(em.model, records, comps,
                                                             summed=True)
    return comps, w


def link_records(table: pa.Table, settings: LinkSettings | None = None) -> LinkResult:
    """Link the records of ``table`` into persons (see the module docstring)."""
    s = settings or LinkSettings()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    records = prepare(table)
    if s.two_source:
        sources = {c for c in records.contributor.tolist() if c is not None}
        if len(sources) != 2:
            raise UsageError(f"two-source linkage needs records of exactly two contributors; "
                             f"found {len(sources)} ({', '.join(sorted(sources)) or 'none'})")
    timings["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    a, b, _rule = candidate_pairs(records, s.rules, cross_only=s.two_source)
    timings["blocking"] = time.perf_counter() - t
    t = time.perf_counter()
    comps = compare(records, a, b)
    timings["compare"] = time.perf_counter() - t
    t = time.perf_counter()
    from safelight.link.model import estimate_u, estimate_u_within

    u = estimate_u(records, n_pairs=s.u_sample_pairs, seed=s.seed)
    u = estimate_u_within(records, u, n_pairs=s.u_sample_pairs, seed=s.seed)
    ta, tb, drawn, totals = training_pairs(records, s.training_rules, s.training_max_pairs,
                                           seed=s.seed, cross_only=s.two_source)
    em = estimate_model(records, compare(records, ta, tb), u=u, seed=s.seed,
                        training=TrainingPairs(drawn, totals))
    timings["estimate"] = time.perf_counter() - t
    t = time.perf_counter()
    w = em.model.match_weight(comps.levels) + tf_adjustments(em.model, records, comps,
                                                             summed=True)
    p = match_probability(a, b, w, len(records), exclusive=s.two_source)
    link = p >= s.threshold
    if s.two_source:
        linked = np.flatnonzero(link)
        kept = linked[one_to_one(a[linked], b[linked], w[linked])]
        link = np.zeros_like(link)
        link[kept] = True
        labels = np.unique(connected_components(len(records), a[kept], b[kept]),
                           return_inverse=True)[1]
    else:
        labels = cluster_pairs(len(records), a[link], b[link],
                               lambda x, y: score_pairs(em, records, x, y)[1])
    timings["score_cluster"] = time.perf_counter() - t
    log.info("linked %d records: %d candidate pairs, %d links, %d persons",
             len(records), len(a), int(link.sum()), int(labels.max()) + 1 if len(labels) else 0)
    return LinkResult(records, labels, comps, w, p, em, s, timings)
