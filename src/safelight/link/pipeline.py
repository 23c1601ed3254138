"""The whole linkage in clear: prepare → block → compare → EM → score → cluster → review.

Contract: :func:`link_records` takes an Arrow table of identity records (see
:mod:`safelight.link.prepare`) and returns :class:`LinkResult`: a cluster label per input row,
the scored candidate pairs, the fitted model and timings. Deterministic for a given ``seed``,
and the same whatever :attr:`LinkSettings.workers` (which only decides how much of it runs in
forked worker processes: see :mod:`safelight.link.forked`).
"""

from __future__ import annotations

import logging
import mmap
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from safelight.arrays import unique_sorted
from safelight.errors import UsageError
from safelight.identity.normalise import clear_caches, require_names
from safelight.link import forked
from safelight.link.blocking import (
    DEFAULT_RULES,
    TRAINING_RULES,
    BlockingRule,
    build_key_columns,
    pairs_by_rule,
    reads_list_columns,
    training_pairs,
)
from safelight.link.cluster import cluster_pairs, connected_components
from safelight.link.compare import FIELD_NAMES, Comparisons, compare, full_dates
from safelight.link.default_m import full_date_shares
from safelight.link.model import (
    COUNTRY_FIELDS,
    EM_COUNTRY_FIELDS,
    EMResult,
    TrainingPairs,
    estimate_model,
    estimate_u,
    estimate_u_within,
    name_counts,
    tf_adjustments,
    tf_from_counts,
)
from safelight.link.onetoone import match_probability, one_to_one
from safelight.link.prepare import Records, prepare

if TYPE_CHECKING:
    from safelight.link.decisions import DecidedPairs

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
    numbers are normalised in a forked worker; the model is estimated in one while this
    process runs the blocking rules from the head of their list, and that worker then takes
    rules from the tail until none is left (:func:`rule_units`); half of the candidate pairs
    are compared and weighted in one; ``workers=1`` runs everything
    in this process. The results are the same, so it is not saved with the settings.

    ``learn_from_reviews``: in a hub, reviewers' decided pairs also refine the model's ``m``
    (:func:`~safelight.link.model.estimate_model`); they bind the clusters either way. Off by
    default: the gain measured on the demo is small and a reviewer's mistake would move every
    pair's weight (docs/linkage.md, "Review decisions").
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
    learn_from_reviews: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {"threshold": self.threshold, "review_low": self.review_low,
                "review_high": self.review_high, "u_sample_pairs": self.u_sample_pairs,
                "seed": self.seed, "rules": [[r.name, r.condition] for r in self.rules],
                "two_source": self.two_source,
                "training_rules": [[r.name, r.condition] for r in self.training_rules],
                "training_max_pairs": self.training_max_pairs,
                "learn_from_reviews": self.learn_from_reviews}


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


#: bits taken off, for clustering, the weight of a pair whose birth dates contradict each
#: other (:func:`contradicting_dates`) and that the model does not link on its own. The
#: clustering trial's registers (three draws; pairwise precision of `link dedupe`): 0.859 /
#: 0.838 / 0.888 without it, 0.859 / 0.875 / 0.930 with 10 bits or more (never together:
#: the same); FEBRL3, whose corruption replaces whole dates (410 of its true pairs have dates
#: that agree on one part or none), F1 0.9981 without, 0.9978 / 0.9976 / 0.9974 with 5 / 10 /
#: 20 bits and 0.9952 with never-together; the demo (20,000 records) 0.9161 → 0.9164.
CONTRADICTION_BITS = 10.0


def contradicting_dates(records: Records, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs whose birth dates cannot be one date mistyped: both full real dates (not 1
    January, a placeholder) that agree on at most one of year, month and day, and are not
    the day and month swapped. A typo or a misread changes one part (FEBRL's corruption, the
    generator's year off by one): such dates agree on two."""
    ya, ma, da = records.birth_year[a], records.birth_month[a], records.birth_day[a]
    yb, mb, db = records.birth_year[b], records.birth_month[b], records.birth_day[b]
    full = ((ya >= 0) & (ma > 0) & (da > 0) & ~((ma == 1) & (da == 1))
            & (yb >= 0) & (mb > 0) & (db > 0) & ~((mb == 1) & (db == 1)))
    agree = ((ya == yb).astype(np.int8) + (ma == mb).astype(np.int8)
             + (da == db).astype(np.int8))
    swapped = (ya == yb) & (ma == db) & (da == mb)
    return full & (agree <= 1) & ~swapped


def cluster_weights(em: EMResult, records: Records, a: np.ndarray, b: np.ndarray
                    ) -> np.ndarray:
    """Match weights of arbitrary pairs for clustering (:func:`~safelight.link.cluster.
    cluster_pairs`): :func:`score_pairs`, less :data:`CONTRADICTION_BITS` for a pair whose
    birth dates contradict each other (:func:`contradicting_dates`) and whose own weight is
    not positive (:func:`penalise_contradictions`)."""
    _, w = score_pairs(em, records, a, b)
    return penalise_contradictions(w, contradicting_dates(records, a, b))


def penalise_contradictions(w: np.ndarray, contradicting: np.ndarray) -> np.ndarray:
    """``w`` less :data:`CONTRADICTION_BITS` where ``contradicting`` and ``w <= 0``. A record
    with no date agrees a little with each of two dated namesakes, and clustering sums the
    pairs' log-odds: the two weak links outweighed the namesakes' different dates, and an
    undated record chained people born years apart into one person (clustering trial,
    2026-12-01; docs/linkage.md, "Namesakes in small registers"). Two records the model links
    on their own evidence (a phone, a document and names outweighing the dates) keep their
    weight."""
    return np.where(contradicting & (w <= 0), w - CONTRADICTION_BITS, w)


def _u(records: Records, s: LinkSettings) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """u from random pairs (of compatriots for the places) for scoring, and the u EM uses (of
    compatriots for the names too: :data:`~safelight.link.model.EM_COUNTRY_FIELDS`), from
    one sample of compatriot pairs; two sources: only pairs across them are compared, so u is
    measured on such pairs."""
    across = records.codes.column["contributor"] if s.two_source else None
    u = estimate_u(records, n_pairs=s.u_sample_pairs, seed=s.seed, across=across)
    em_u = estimate_u_within(records, u, n_pairs=s.u_sample_pairs, seed=s.seed, across=across,
                             country_fields=COUNTRY_FIELDS + EM_COUNTRY_FIELDS)
    score_u = [em_u[j] if f in COUNTRY_FIELDS else x
               for j, (f, x) in enumerate(zip(FIELD_NAMES, u, strict=True))]
    return score_u, em_u


class _USamples:
    """The u samples as a task that either process takes, whichever comes first: the model's
    worker when EM needs them (:meth:`get`), or this process once its blocking rules are done
    (:meth:`take_here`, which sends them to the worker through a pipe). Either way the same
    u (the samples depend on the seed only)."""

    def __init__(self, shared: bool) -> None:
        self._claim = forked.Claims(1, shared=shared)
        self._recv, self._send = (multiprocessing.get_context("fork").Pipe(duplex=False)
                                  if shared and forked.can_fork() else (None, None))

    def take_here(self, records: Records, s: LinkSettings) -> float | None:
        """Compute u here and send it, unless the worker took the task: the CPU seconds."""
        if self._send is None or self._claim.tail() is None:
            return None
        cpu = time.process_time()
        self._send.send(_u(records, s))
        return time.process_time() - cpu

    def get(self, records: Records, s: LinkSettings
            ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """u (see :func:`_u`): computed here if no other process took the task, else received from it."""
        if self._claim.head() is not None:
            return _u(records, s)
        return self._recv.recv()


def _full_date_shares(records: Records, s: LinkSettings) -> tuple[float, float] | None:
    """Each source's share of full birth dates among its dated records (one pool unless
    two-source), for the birth date's default m (:func:`~safelight.link.default_m.default_m`)."""
    return full_date_shares(full_dates(records), records.birth_year >= 0,
                            records.codes.column["contributor"] if s.two_source else None)


def _estimate(records: Records, s: LinkSettings, samples: _USamples | None = None,
              reviewed: DecidedPairs | None = None) -> tuple[EMResult, float]:
    """The fitted model (u from random pairs, EM on the training rules' pairs, refined by the
    ``reviewed`` pairs) and the seconds it took; needs nothing of the candidate pairs, so it
    runs beside blocking. u comes last, from ``samples`` when given (see :class:`_USamples`)."""
    from safelight.link.decisions import decided_levels

    t = time.perf_counter()
    ta, tb, drawn, totals = training_pairs(records, s.training_rules, s.training_max_pairs,
                                           seed=s.seed, cross_only=s.two_source)
    training = compare(records, ta, tb)
    u, em_u = _u(records, s) if samples is None else samples.get(records, s)
    all_pairs = None
    if s.two_source:  # the pairs across the two sources
        across = records.codes.column["contributor"]
        sizes = np.bincount(across[across >= 0])
        all_pairs = int(sizes[0]) * int(sizes[1]) if len(sizes) == 2 else None
    em = estimate_model(records, training, u=u, seed=s.seed,
                        training=TrainingPairs(drawn, totals), all_pairs=all_pairs,
                        reviewed=decided_levels(reviewed, compare, records), em_u=em_u,
                        full_date_shares=_full_date_shares(records, s))
    return em, time.perf_counter() - t


# -- blocking, shared between this process and the model's worker ------------------------------

#: consecutive rules without a list column run together, this many at a time (``pairs_by_rule``
#: keeps the key columns on the records, so a unit of one rule costs no more than its rule)
_RULES_PER_UNIT = 1


def rule_units(rules: tuple[BlockingRule, ...]) -> list[tuple[BlockingRule, ...]]:
    """The blocking ``rules`` in the units that the two processes claim one at a time: the
    rules that read a list column (:func:`~safelight.link.blocking.reads_list_columns`) as
    one unit, first — the process that claims the head builds those columns after the fork,
    while the model is fitted beside it — then the others in runs of
    :data:`_RULES_PER_UNIT`, in their order. The first units are the costliest, so the two
    ends meet among small ones."""
    lists = tuple(r for r in rules if reads_list_columns(r))
    plain = [r for r in rules if not reads_list_columns(r)]
    units = [lists] if lists else []
    units += [tuple(plain[i:i + _RULES_PER_UNIT]) for i in range(0, len(plain), _RULES_PER_UNIT)]
    return units


def _unit_pairs(records: Records, unit: tuple[BlockingRule, ...], s: LinkSettings
                ) -> list[np.ndarray]:
    """Pair codes ``a * n + b`` of each rule of ``unit`` (as :func:`candidate_pairs` finds
    them: the NumPy engine with its default block cap)."""
    return list(pairs_by_rule(records, unit, cross_only=s.two_source).values())


def _union(codes: list[np.ndarray]) -> np.ndarray:
    """The distinct pair codes of ``codes``, ascending."""
    if not codes:
        return np.zeros(0, dtype=np.int64)
    return unique_sorted(np.concatenate(codes))


@dataclass
class _Fitted:
    """What the model's worker returns: the model, its wall and CPU seconds, and the distinct
    pair codes of the blocking units it took (with their indices)."""

    em: EMResult
    wall: float
    cpu: float
    codes: np.ndarray
    units: list[int]


def _estimate_then_block(records: Records, s: LinkSettings, units: list[tuple[BlockingRule, ...]],
                         claims: forked.Claims, parent: int, samples: _USamples,
                         reviewed: DecidedPairs | None = None) -> _Fitted:
    """The model (:func:`_estimate`); then, in a forked worker (not when run in the parent
    by the serial fallback), the blocking units left at the tail, until none is left."""
    cpu = time.process_time()
    em, wall = _estimate(records, s, samples, reviewed)
    cpu = time.process_time() - cpu
    codes, taken = [], []
    if os.getpid() != parent:
        while (k := claims.tail()) is not None:
            codes += _unit_pairs(records, units[k], s)
            taken.append(k)
    return _Fitted(em, wall, cpu, _union(codes), taken)


# -- comparison and match weights, in chunks, half of them in a worker ---------------------------

#: fewer candidate pairs than this are compared in one process (a fork costs more than it saves)
_SPLIT_FROM = 200_000
#: candidate pairs compared at a time (bounds the memory of the comparison's temporaries)
_CHUNK = 1 << 20


def _empty(shape: tuple[int, ...], dtype: Any, shared: bool) -> np.ndarray:
    """An uninitialised array; with ``shared``, in anonymous memory shared with the children
    forked after this call (they write their part of it in place: nothing is pickled)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if not shared or size == 0:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype).reshape(shape)


def _compare_score(records: Records, a: np.ndarray, b: np.ndarray, em: EMResult, *,
                   parallel: bool) -> tuple[Comparisons, np.ndarray]:
    """:func:`score_pairs` of the candidate pairs ``(a, b)`` in chunks of :data:`_CHUNK`
    pairs, the first half of them in a forked worker when ``parallel``: the same levels and
    weights (each pair's depend on that pair alone)."""
    n = len(a)
    split = parallel and n >= _SPLIT_FROM and forked.can_fork()
    levels = _empty((n, len(FIELD_NAMES)), np.int8, split)
    swapped = _empty((n,), np.bool_, split)
    w = _empty((n,), np.float64, split)
    counts = name_counts(records)

    def part(lo: int, hi: int) -> None:
        for start in range(lo, hi, _CHUNK):
            end = min(start + _CHUNK, hi)
            comps = compare(records, a[start:end], b[start:end])
            levels[start:end] = comps.levels
            swapped[start:end] = comps.swapped
            w[start:end] = em.model.match_weight(comps.levels) + tf_from_counts(
                em.model, counts, comps, summed=True)

    if split:
        half = (n // 2 + _CHUNK - 1) // _CHUNK * _CHUNK if n > 2 * _CHUNK else n // 2
        job = forked.start("compare", part, 0, half)
        try:
            part(half, n)
            job.result()
        finally:
            job.cancel()
    else:
        part(0, n)
    return Comparisons(a, b, levels, swapped), w


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


def link_records(table: pa.Table, settings: LinkSettings | None = None, *,
                 reviewed: DecidedPairs | None = None) -> LinkResult:
    """Link the records of ``table`` into persons (see the module docstring).

    ``reviewed``: reviewers' decided pairs, as indices of ``table``'s rows
    (:func:`safelight.link.decisions.index_decisions`); the model's ``m`` learns from them
    (:func:`~safelight.link.model.estimate_model`). Applying them to the clusters is the
    caller's step (:func:`safelight.link.decisions.apply_decisions`). When it ends, the
    normalisers' memos of input values are emptied
    (:func:`~safelight.identity.normalise.clear_caches`)."""
    try:
        return _link(table, settings or LinkSettings(), reviewed)
    finally:  # no name, phone or document number stays memoised once the run ends
        clear_caches()


def _link(table: pa.Table, s: LinkSettings, reviewed: DecidedPairs | None) -> LinkResult:
    """:func:`link_records`, without emptying the normalisers' memos at the end."""
    parallel = s.workers > 1
    clock = _Clock()
    records = prepare(table, parallel=parallel)
    require_names(records.given, records.family)
    if s.two_source:
        sources = {c for c in records.contributor.tolist() if c is not None}
        if len(sources) != 2:
            raise UsageError(f"two-source linkage needs records of exactly two contributors; "
                             f"found {len(sources)} ({', '.join(sorted(sources)) or 'none'})")
    records.codes  # noqa: B018 - computed once here, before any worker is forked
    clock.lap("prepare")
    # the model needs no candidate pair: it is fitted in a worker while this process runs the
    # blocking rules from the head of the list; the worker then takes rules from the tail
    units = rule_units(s.rules)
    # the plain key columns, built here once for both processes, not once in each after the
    # fork; the list columns are read only by the first unit, which this process claims at
    # once: it builds them after the fork, while the worker fits the model
    build_key_columns(records, tuple(r for r in s.rules if not reads_list_columns(r)))
    claims = forked.Claims(len(units), shared=parallel)
    samples = _USamples(shared=parallel)
    estimating = forked.start("estimate", _estimate_then_block, records, s, units, claims,
                              os.getpid(), samples, reviewed, parallel=parallel)
    try:
        if not estimating.forked:  # it ran at start(): its time is the model's, not blocking's
            clock.lap("estimate")
        mine = []
        while (k := claims.head()) is not None:
            mine += _unit_pairs(records, units[k], s)
        u_cpu = samples.take_here(records, s) if estimating.forked else None
        fitted = estimating.result()
    finally:
        estimating.cancel()
    codes = _union([*mine, fitted.codes])
    del mine
    n = len(records)
    a, b = codes // n, codes % n
    del codes
    clock.lap("blocking")
    if u_cpu is not None:  # this process took the model's u samples after its rules
        clock.cpu["blocking"] = round(clock.cpu["blocking"] - u_cpu, 3)
        clock.cpu["estimate u"] = round(u_cpu, 3)
    em = fitted.em
    clock.wall["estimate"] = fitted.wall
    clock.cpu["estimate"] = round(fitted.cpu, 3)
    if estimating.forked:  # the worker's CPU beyond the model went to blocking
        clock.cpu["blocking workers"] = round(estimating.cpu - fitted.cpu, 3)
    log.info("blocking: %d candidate pairs; %d of %d rule units run by the model's worker",
             len(a), len(fitted.units), len(units))
    comps, w = _compare_score(records, a, b, em, parallel=parallel)
    clock.lap("compare")
    p = match_probability(a, b, w, n, exclusive=s.two_source)
    link = p >= s.threshold
    if s.two_source:
        linked = np.flatnonzero(link)
        kept = linked[one_to_one(a[linked], b[linked], w[linked])]
        link = np.zeros_like(link)
        link[kept] = True
        labels = np.unique(connected_components(n, a[kept], b[kept]),
                           return_inverse=True)[1]
    else:
        labels = cluster_pairs(n, a[link], b[link],
                               lambda x, y: cluster_weights(em, records, x, y))
    clock.lap("score_cluster")
    log.info("linked %d records: %d candidate pairs, %d links, %d persons",
             n, len(a), int(link.sum()), int(labels.max()) + 1 if len(labels) else 0)
    return LinkResult(records, labels, comps, w, p, em, s, clock.wall, clock.cpu)
