"""The whole linkage in clear: prepare → block → compare → EM → score → cluster → review.

Contract: :func:`link_records` takes an Arrow table of identity records (see
:mod:`safelight.link.prepare`) and returns :class:`LinkResult`: a cluster label per input row,
the scored candidate pairs, the fitted model and timings. Deterministic for a given ``seed``,
and the same whatever :attr:`LinkSettings.workers` (which only decides how much of it runs in
forked worker processes: see :mod:`safelight.link.forked`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from safelight.errors import UsageError
from safelight.link import forked
from safelight.link.blocking import (
    DEFAULT_RULES,
    TRAINING_RULES,
    BlockingRule,
    candidate_pairs,
    training_pairs,
)
from safelight.link.cluster import cluster_pairs, connected_components
from safelight.link.compare import Comparisons, compare
from safelight.link.model import (
    EMResult,
    TrainingPairs,
    estimate_model,
    estimate_u,
    estimate_u_within,
    tf_adjustments,
)
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

    ``workers``: processes to use (default: the CPUs available, at most 2). With 2, phone
    numbers are normalised in a forked worker, the model is estimated in one while blocking
    runs, and half of the candidate pairs are compared in one; ``workers=1`` runs everything
    in this process. The results are the same, so it is not saved with the settings.
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
    workers: int = field(default_factory=forked.default_workers)

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
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per stage
    #: CPU seconds per stage: of this process, and (``"<stage> workers"``) of the forked
    #: workers that ended in it; ``"estimate"`` (beside blocking, in a worker) is the model's
    cpu: dict[str, float] = field(default_factory=dict)

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


def _estimate(records: Records, s: LinkSettings) -> tuple[EMResult, float]:
    """The fitted model (u from random pairs, EM on the training rules' pairs) and the
    seconds it took; needs nothing of the candidate pairs, so it runs beside blocking."""
    t = time.perf_counter()
    u = estimate_u(records, n_pairs=s.u_sample_pairs, seed=s.seed)
    u = estimate_u_within(records, u, n_pairs=s.u_sample_pairs, seed=s.seed)
    ta, tb, drawn, totals = training_pairs(records, s.training_rules, s.training_max_pairs,
                                           seed=s.seed, cross_only=s.two_source)
    em = estimate_model(records, compare(records, ta, tb), u=u, seed=s.seed,
                        training=TrainingPairs(drawn, totals))
    return em, time.perf_counter() - t


#: fewer candidate pairs than this are compared in one process (a fork costs more than it saves)
_SPLIT_FROM = 200_000


def _levels(records: Records, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    comps = compare(records, a, b)
    return comps.levels, comps.swapped


def _compare_split(records: Records, a: np.ndarray, b: np.ndarray, *, parallel: bool
                  ) -> Comparisons:
    """:func:`~safelight.link.compare.compare` of the pairs ``(a, b)``, the first half in a
    forked worker when ``parallel`` (the same levels: each pair's levels depend on that pair
    alone)."""
    if not parallel or len(a) < _SPLIT_FROM:
        return compare(records, a, b)
    half = len(a) // 2
    job = forked.start("compare", _levels, records, a[:half], b[:half])
    try:
        rest = compare(records, a[half:], b[half:])
        levels, swapped = job.result()
    finally:
        job.cancel()
    return Comparisons(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64),
                       np.concatenate([levels, rest.levels]),
                       np.concatenate([swapped, rest.swapped]))


class _Clock:
    """Wall seconds per stage, and CPU seconds per stage of this process and of the forked
    workers whose results it collected during the stage (``"<stage> workers"``)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._last = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), forked.workers_cpu()

    def lap(self, stage: str) -> None:
        now = self._now()
        self.wall[stage] = now[0] - self._last[0]
        self.cpu[stage] = round(now[1] - self._last[1], 3)
        if now[2] > self._last[2]:
            self.cpu[f"{stage} workers"] = round(now[2] - self._last[2], 3)
        self._last = now


def link_records(table: pa.Table, settings: LinkSettings | None = None) -> LinkResult:
    """Link the records of ``table`` into persons (see the module docstring)."""
    s = settings or LinkSettings()
    parallel = s.workers > 1
    clock = _Clock()
    records = prepare(table, parallel=parallel)
    if s.two_source:
        sources = {c for c in records.contributor.tolist() if c is not None}
        if len(sources) != 2:
            raise UsageError(f"two-source linkage needs records of exactly two contributors; "
                             f"found {len(sources)} ({', '.join(sorted(sources)) or 'none'})")
    records.codes  # noqa: B018 - computed once here, before any worker is forked
    clock.lap("prepare")
    # the model needs no candidate pair: it is estimated in a worker while blocking runs
    estimating = forked.start("estimate", _estimate, records, s, parallel=parallel)
    try:
        a, b, _rule = candidate_pairs(records, s.rules, cross_only=s.two_source)
        clock.lap("blocking")
        comps = _compare_split(records, a, b, parallel=parallel)
        clock.lap("compare")
        em, estimate_s = estimating.result()
        clock.lap("estimate_wait")
    finally:
        estimating.cancel()
    clock.wall["estimate"] = estimate_s
    clock.cpu["estimate"] = round(estimating.cpu, 3)
    clock.cpu.pop("estimate_wait workers", None)  # the same worker's CPU, as "estimate"
    if not estimating.forked:  # it ran at start(), within the blocking lap
        clock.wall["blocking"] -= estimate_s
        clock.cpu["blocking"] = round(clock.cpu["blocking"] - estimating.cpu, 3)
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
    clock.lap("score_cluster")
    log.info("linked %d records: %d candidate pairs, %d links, %d persons",
             len(records), len(a), int(link.sum()), int(labels.max()) + 1 if len(labels) else 0)
    return LinkResult(records, labels, comps, w, p, em, s, clock.wall, clock.cpu)
