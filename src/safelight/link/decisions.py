"""Reviewers' decisions fed back into every later link run.

Contract: :func:`load_decisions` reads the hub's decided ``link_review`` rows (the latest
decision per pair of records, whichever run queued it; a withdrawn record's rows are already
gone) and :func:`apply_decisions` makes a run's clustering obey them:

* a ``match`` decision is a must-link: the two records end in one person;
* a ``non_match`` decision is a cannot-link: the two records never end in one person, even
  through other records (a chain A~B~C cannot hold A and C together if A≠C was decided).

Clusters that no decision touches keep their labels unchanged. A cluster that must be merged
and holds no cannot-link is merged as it is; a cluster that holds a cannot-link is re-clustered
by greedy additive edge contraction (:func:`safelight.link.cluster.gaec`) over the run's pair
weights, with each decided match weighted as a certain link and each decided non-match as
impossible. Contradictory decisions (a chain of matches across a decided non-match) are
resolved in favour of the non-match and counted. Decided pairs leave the review queue for
good: :func:`decided_mask` marks them so that a run does not queue them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from safelight.link.cluster import WEIGHT_CAP, connected_components, gaec
from safelight.store import Hub

__all__ = ["DecidedPairs", "Decisions", "apply_decisions", "decided_levels", "decided_mask",
           "index_decisions", "load_decisions", "settled_by_decision"]

log = logging.getLogger("safelight.link")

_LATEST_SQL = """
SELECT left_contributor, left_record_id, right_contributor, right_record_id, decision
FROM link_review
WHERE decision IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY least(left_contributor || chr(31) || left_record_id,
                       right_contributor || chr(31) || right_record_id),
                 greatest(left_contributor || chr(31) || left_record_id,
                          right_contributor || chr(31) || right_record_id)
    ORDER BY decided_at DESC) = 1
"""
_MUST = 1e6  # a decided match: larger than any sum of capped run weights in a cluster


Pair = tuple[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class Decisions:
    """Decided pairs, as ``((contributor, record_id), (contributor, record_id))`` keys."""

    matches: frozenset[tuple[tuple[str, str], tuple[str, str]]]
    non_matches: frozenset[tuple[tuple[str, str], tuple[str, str]]]

    def __len__(self) -> int:
        return len(self.matches) + len(self.non_matches)

    def with_decision(self, left: tuple[str, str], right: tuple[str, str],
                      decision: str) -> Decisions:
        """These decisions with ``decision`` (``"match"`` / ``"non_match"``) on the pair
        ``left``–``right`` instead of any earlier one on it."""
        pair = _key(*left, *right)
        matches, non = set(self.matches) - {pair}, set(self.non_matches) - {pair}
        (matches if decision == "match" else non).add(pair)
        return Decisions(frozenset(matches), frozenset(non))

    def contradicted(self) -> dict[Pair, list[Pair]]:
        """Each decided non-match whose two records a chain of decided matches joins, with
        that chain (the fewest matches); empty when the decisions agree with each other."""
        graph: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for x, y in self.matches:
            graph.setdefault(x, []).append(y)
            graph.setdefault(y, []).append(x)
        out: dict[Pair, list[Pair]] = {}
        for x, y in sorted(self.non_matches):
            came: dict[tuple[str, str], tuple[str, str] | None] = {x: None}
            queue = [x]
            while queue and y not in came:
                nxt = []
                for u in queue:
                    for v in graph.get(u, ()):
                        if v not in came:
                            came[v] = u
                            nxt.append(v)
                queue = nxt
            if y in came:
                chain, v = [], y
                while (u := came[v]) is not None:
                    chain.append(_key(*u, *v))
                    v = u
                out[(x, y)] = chain[::-1]
        return out


def _key(c1: str, r1: str, c2: str, r2: str) -> tuple[tuple[str, str], tuple[str, str]]:
    x, y = (c1, r1), (c2, r2)
    return (x, y) if x <= y else (y, x)


def load_decisions(hub: Hub) -> Decisions:
    """The latest decision on every reviewed pair of the hub."""
    cur = hub.con.cursor()
    try:
        rows = cur.execute(_LATEST_SQL).fetchall()
    finally:
        cur.close()
    matches, non = set(), set()
    for c1, r1, c2, r2, decision in rows:
        (matches if decision == "match" else non).add(_key(c1, r1, c2, r2))
    return Decisions(frozenset(matches), frozenset(non))


@dataclass(frozen=True)
class DecidedPairs:
    """The decisions that concern one run, as ``(m, 2)`` arrays of its record indices."""

    must: np.ndarray
    cannot: np.ndarray


def index_decisions(decisions: Decisions, contributor: np.ndarray, record_id: np.ndarray
                    ) -> DecidedPairs:
    """The decided pairs whose two records both take part in the run whose records are
    ``(contributor, record_id)``."""
    index = {(c, r): i for i, (c, r) in enumerate(zip(contributor.tolist(), record_id.tolist(),
                                                      strict=True))}

    def indexed(pairs: frozenset) -> np.ndarray:
        out = [(index[x], index[y]) for x, y in pairs if x in index and y in index]
        return np.array(out, dtype=np.int64).reshape(-1, 2)

    return DecidedPairs(indexed(decisions.matches), indexed(decisions.non_matches))


def decided_levels(reviewed: DecidedPairs | None, compare_fn: Callable[..., Any], records: Any
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(levels, is_match)`` of the ``reviewed`` pairs, compared by ``compare_fn(records, a,
    b)`` (clear or encoded), for the model's refinement from reviews
    (:func:`safelight.link.model.estimate_model`); None without decided pairs."""
    if reviewed is None or not len(reviewed.must) + len(reviewed.cannot):
        return None
    pairs = np.concatenate([reviewed.must, reviewed.cannot])
    is_match = np.arange(len(pairs)) < len(reviewed.must)
    return compare_fn(records, pairs[:, 0], pairs[:, 1]).levels, is_match


def _pair_codes(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    return lo * n + hi


def decided_mask(decided: DecidedPairs, n_records: int, a: np.ndarray, b: np.ndarray
                 ) -> np.ndarray:
    """Boolean per pair ``(a[k], b[k])``: already decided by a reviewer (vectorised)."""
    both = np.concatenate([decided.must, decided.cannot])
    if not len(both):
        return np.zeros(len(a), dtype=bool)
    return np.isin(_pair_codes(n_records, a, b),
                   _pair_codes(n_records, both[:, 0], both[:, 1]))


def settled_by_decision(decided: DecidedPairs, labels: np.ndarray, a: np.ndarray,
                        b: np.ndarray) -> np.ndarray:
    """Boolean per pair ``(a[k], b[k])``: its records are in two persons (``labels``) that a
    decided non-match between two of their records keeps apart — the reviewer has answered
    for those two persons (a new record linked into one of them is settled with it; asked
    again, a "match" would move that record out of its person against its own links). The
    hub leaves such pairs out of the queue when they are uncertain only
    (:func:`safelight.link.hub.store_run`)."""
    cannot = decided.cannot
    if not len(cannot) or not len(a):
        return np.zeros(len(a), dtype=bool)
    n = int(labels.max()) + 1
    apart = _pair_codes(n, labels[cannot[:, 0]], labels[cannot[:, 1]])
    return np.isin(_pair_codes(n, labels[a], labels[b]), apart) & (labels[a] != labels[b])


def apply_decisions(labels: np.ndarray, decided: DecidedPairs, a: np.ndarray, b: np.ndarray,
                    weights: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Cluster labels (``0..k-1``) that obey the ``decided`` pairs; ``(a, b, weights)`` are the
    run's candidate pairs and match weights (log2 odds). Returns the labels and counts of what
    was applied (see the module docstring)."""
    must, cannot = decided.must, decided.cannot
    stats = {"matches": len(must), "non_matches": len(cannot), "clusters_reclustered": 0,
             "contradictions": 0}
    if not len(must) and not len(cannot):
        return labels, stats
    n = len(labels)
    # must-links merge whole clusters: components over the run's labels plus the decided pairs
    merged = labels.astype(np.int64)
    if len(must):
        joined = connected_components(int(merged.max()) + 1, merged[must[:, 0]],
                                      merged[must[:, 1]])
        merged = joined[merged]
    # clusters that hold a decided non-match (after the merges)
    together = merged[cannot[:, 0]] == merged[cannot[:, 1]]
    broken = np.unique(merged[cannot[:, 0]][together])
    out = merged.copy()
    if len(broken):
        # position of each record inside its broken cluster (clusters are disjoint), and the
        # pairs inside those clusters: run weights, then decided matches and non-matches
        pos = np.full(n, -1, dtype=np.int64)
        members = {}
        for lab in broken.tolist():
            mem = np.flatnonzero(merged == lab)
            pos[mem] = np.arange(len(mem))
            members[lab] = mem
        inside = (pos[a] >= 0) & (pos[b] >= 0) & (merged[a] == merged[b])
        edges = [(a[inside], b[inside], np.clip(weights[inside], -WEIGHT_CAP, WEIGHT_CAP))]
        for pairs, value in ((must, _MUST), (cannot, -np.inf)):
            x, y = pairs[:, 0], pairs[:, 1]
            sel = (pos[x] >= 0) & (merged[x] == merged[y])
            edges.append((x[sel], y[sel], np.full(int(sel.sum()), value)))
        next_label = int(merged.max()) + 1
        for lab, mem in members.items():
            mat = np.zeros((len(mem), len(mem)))
            for x, y, w in edges:  # decided pairs last: they override the run's weights
                k = merged[x] == lab
                mat[pos[x[k]], pos[y[k]]] = mat[pos[y[k]], pos[x[k]]] = w[k]
            sub = gaec(len(mem), mat)
            out[mem] = next_label + sub
            next_label += int(sub.max()) + 1
            stats["clusters_reclustered"] += 1
    if len(must):
        split = out[must[:, 0]] != out[must[:, 1]]
        stats["contradictions"] = int(split.sum())
    if stats["contradictions"]:
        log.warning("%d decided match(es) contradict decided non-matches through other "
                    "decisions; the non-matches were kept", stats["contradictions"])
    _, dense = np.unique(out, return_inverse=True)
    return dense.astype(np.int64), stats
