"""Profile refinement: template clusters grown by comparing ads with cluster *profiles*.

Contract
--------
:func:`refine` takes a first clustering (``roots``, one root ad per ad, from the pairwise
links of :func:`safelight.detect.templates.cluster_ads`) and returns a coarser one: it only
ever merges clusters, never splits them. Each round

1. builds every cluster's **profile** — the features (word unigrams and bigrams, boilerplate
   included) that at least ``profile_share`` of its ads hold (at least two ads). Heavy word
   edits are random from ad to ad, so a profile recovers the operator's template, and
   boilerplate pasted by many operators, which each ad draws at random, stays out of it;
2. **attaches** each ad of a small cluster (at most ``attach_max_size`` ads) to the one
   cluster whose profile is most similar to the ad (exact Jaccard of the ad's features and
   the profile), when that similarity reaches ``attach_threshold``. Candidate profiles come
   from an LSH join of the ad's MinHash signature with the profiles' signatures (bands of
   ``profile_rows``) and from the first step's candidate pairs;
3. **merges** two clusters whose profiles are at least ``merge_threshold`` similar (pairs of
   profiles from LSH among the profiles and from the first step's candidate pairs).

With contact points the thresholds move: ``attach_shared``/``merge_shared`` when the ad (or
cluster) and the cluster share a non-hub contact point, ``attach_conflict``/``merge_conflict``
when both name contact points and share none. A round that changes nothing ends the loop.
The thresholds were read off the similarity distributions of true and false pairs on the
project's generated corpus (seed 2021), where an ad's similarity to its own operator's profile
is mostly 0.3–0.7 and to another operator's below 0.25.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from safelight.arrays import unique_sorted
from safelight.detect.setops import (
    LshIndex,
    _ragged,
    connected_components,
    exact_jaccard,
    intersections,
    lsh_candidates,
    minhash_signatures,
)

if TYPE_CHECKING:
    from safelight.detect.templates import ClusterSettings

__all__ = ["RefineStats", "refine"]


@dataclass
class RefineStats:
    """What :func:`refine` did: rounds run, ads attached and cluster pairs merged (over all
    rounds), and, when asked for (``trace``), each round's compared pairs: ``ad``/``cluster``
    with ``attach_sim`` and ``attach_contact`` (1 shared, -1 different, 0 unknown), and
    ``cluster_a``/``cluster_b`` with ``merge_sim`` and ``merge_contact``, clusters numbered by
    ``labels`` (the round's clustering)."""

    rounds: int = 0
    attached: int = 0
    merged: int = 0
    trace: list[dict[str, np.ndarray]] = field(default_factory=list)


def _profiles(n: int, ad_ptr: np.ndarray, feat: np.ndarray, roots: np.ndarray, share: float,
              chunk: int = 1_000_000
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cluster of each ad, cluster sizes, the ads' CSR indptr, the clusters' profiles as CSR
    indptr and feature ids).

    ``ad_ptr``/``feat`` are the ads' sorted unique features in CSR form (``feat[ad_ptr[i]:
    ad_ptr[i + 1]]`` for ad ``i``); a negative feature id (an ad without words) is its ad's alone, so it never enters a profile. A cluster's profile holds the
    features of at least ``max(2, share × size)`` of its ads, so a single ad has an empty one.
    Counted cluster by cluster in chunks of about ``chunk`` (ad, feature) pairs, so no sort
    over all pairs at once.
    """
    _, lab, size = np.unique(roots, return_inverse=True, return_counts=True)
    multi = np.flatnonzero(size[lab] >= 2)
    ads = multi[np.argsort(lab[multi], kind="stable")]
    nnz = np.cumsum(ad_ptr[ads + 1] - ad_ptr[ads])
    pcs: list[np.ndarray] = []
    pfs: list[np.ndarray] = []
    start = 0
    while start < ads.size:
        # whole clusters, about ``chunk`` pairs
        done = int(nnz[start - 1]) if start else 0
        end = int(np.searchsorted(nnz, done + chunk, side="right"))
        end = max(end, start + 1)
        if end < ads.size:
            end = int(np.searchsorted(lab[ads], lab[ads[end]], side="left"))
            if end <= start:
                end = int(np.searchsorted(lab[ads], lab[ads[start]], side="right"))
        part = ads[start:end]
        pos, owner = _ragged(ad_ptr, part)
        lf = lab[part][owner].astype(np.int64)
        f = feat[pos]
        lf, f = _sorted_pairs(lf, f)
        first = np.ones(f.size, dtype=bool)
        first[1:] = (lf[1:] != lf[:-1]) | (f[1:] != f[:-1])
        at = np.flatnonzero(first)
        cnt = np.diff(np.append(at, f.size))
        uc, uf = lf[at], f[at]
        ok = (cnt >= np.maximum(2, np.ceil(share * size[uc]))) & (uf >= 0)
        pcs.append(uc[ok])
        pfs.append(uf[ok])
        start = end
    pc = np.concatenate(pcs) if pcs else np.zeros(0, dtype=np.int64)
    pf = np.concatenate(pfs) if pfs else np.zeros(0, dtype=np.int64)
    pr_ptr = np.searchsorted(pc, np.arange(size.size + 1))
    return lab, size, ad_ptr, pr_ptr, pf


def _sorted_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(a[k], b[k])`` (``a`` non-negative) in ascending (a, b) order: one int64 key
    sorted when it fits (several times faster than a two-key ``lexsort`` and its gathers)."""
    if not a.size:
        return a, b
    lo = int(b.min())
    span = int(b.max()) - lo + 1
    if (int(a.max()) + 1) * span < 2**63:
        key = a.astype(np.int64) * span
        key += b - lo
        key.sort()
        return key // span, key % span + lo
    order = np.lexsort((b, a))
    return a[order], b[order]


def _contact_index(csr: tuple[np.ndarray, np.ndarray], lab: np.ndarray, n_c: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The (non-hub) contact ids of every ad (rows ``0..n-1``) and of every cluster (rows
    ``n..n+n_c-1``: the contact points of its ads) as CSR ``indptr``, ``ids``, with the row
    sizes and ``n`` — built once per round for :func:`_contact_state`."""
    c_ptr, c_ids = csr
    n = c_ptr.size - 1
    owner = np.repeat(np.arange(n), np.diff(c_ptr))
    n_k = int(c_ids.max(initial=0)) + 1
    key = unique_sorted(lab[owner].astype(np.int64) * n_k + c_ids)
    del owner
    k_ptr = np.searchsorted(key // n_k, np.arange(n_c + 1))
    indptr = np.concatenate([c_ptr, c_ptr[-1] + k_ptr[1:]])
    ids = np.concatenate([c_ids, key % n_k]).astype(np.int64)
    return indptr, ids, np.diff(indptr), n


def _contact_state(index: tuple[np.ndarray, np.ndarray, np.ndarray, int],
                   a: np.ndarray, b: np.ndarray, a_is_ad: bool) -> np.ndarray:
    """Per pair: 1 when the two sides share a (non-hub) contact point, -1 when both name
    contact points and share none, 0 otherwise. ``a`` holds ads (``a_is_ad``) or clusters,
    ``b`` clusters (``index`` from :func:`_contact_index`)."""
    indptr, ids, sz, n = index
    ra = a if a_is_ad else n + a
    rb = n + b
    shared = intersections(indptr, ids, ra, rb)
    return np.where(shared > 0, 1, np.where((sz[ra] > 0) & (sz[rb] > 0), -1, 0)).astype(np.int8)


def _estimate(sig_a: np.ndarray, sig_b: np.ndarray, a: np.ndarray, b: np.ndarray,
              step: int = 8_192) -> np.ndarray:
    """MinHash estimate of the Jaccard similarity of rows ``sig_a[a[k]]`` and ``sig_b[b[k]]``."""
    out = np.empty(a.size)
    for s0 in range(0, a.size, step):
        out[s0:s0 + step] = (sig_a[a[s0:s0 + step]] == sig_b[b[s0:s0 + step]]).mean(axis=1)
    return out


def _pairs(a: np.ndarray, b: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (a, b), sorted, for b < m."""
    key = unique_sorted(a.astype(np.int64) * m + b)
    return key // m, key % m


def _need(base: float, shared: float, conflict: float, state: np.ndarray) -> np.ndarray:
    """The threshold of each pair by its contact state (1 shared, -1 conflicting, 0 none)."""
    need = np.full(state.size, base)
    need[state == 1] = shared
    need[state == -1] = conflict
    return need


def _attach(lab: np.ndarray, small: np.ndarray, has: np.ndarray, pid: np.ndarray, prow: np.ndarray,
            csr: tuple[np.ndarray, np.ndarray], profiles: tuple[np.ndarray, np.ndarray],
            sig: np.ndarray, psig: np.ndarray, ci: np.ndarray, cj: np.ndarray,
            s: ClusterSettings, rnd: int, contacts: tuple | None, trace: bool,  # type: ignore[type-arg]
            part: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(ads, the cluster each joins) and, with ``trace``, every compared pair: each ad of a
    small cluster (``small``) against the profiles LSH pairs it with and the clusters of its candidates.

    Done over ranges of about ``part`` ads of small clusters, so the pairs of only one range
    are in memory at a time; each ad's pairs lie in its own range, so the answer is the same
    as in one pass (pairs in the same (ad, cluster) order)."""
    movers = np.flatnonzero(small)
    index = LshIndex(psig, s.profile_rows, s.seed + 11 + rnd)
    got_a: list[np.ndarray] = []
    got_c: list[np.ndarray] = []
    tr: dict[str, list[np.ndarray]] = {"ad": [], "cluster": [], "attach_sim": [],
                                       "attach_contact": []}
    step = max(1, part)
    for m0 in range(0, movers.size, step):
        mv = movers[m0:m0 + step]
        lo, hi = int(mv[0]), int(mv[-1]) + 1
        ja, jp = index.join(sig[mv], s.profile_per_band)
        in_i = small[ci] & (ci >= lo) & (ci < hi)
        in_j = small[cj] & (cj >= lo) & (cj < hi)
        a = np.concatenate([mv[ja], ci[in_i], cj[in_j]])
        c = np.concatenate([pid[jp], lab[cj[in_i]], lab[ci[in_j]]])
        del ja, jp, in_i, in_j
        ok = (lab[a] != c) & has[c]
        a, c = _pairs(a[ok], c[ok], lab.size)
        keep = _estimate(sig, psig, a, prow[c]) >= s.profile_prefilter
        a, c = a[keep], c[keep]
        sim = exact_jaccard(csr[0], csr[1], a, c, profiles)
        state = (_contact_state(contacts, a, c, True) if contacts is not None
                 else np.zeros(a.size, dtype=np.int8))
        need = _need(s.attach_threshold, s.attach_shared, s.attach_conflict, state)
        if trace:
            for k, x in zip(tr, (a, c, sim, state), strict=True):
                tr[k].append(x)
        # each ad joins its most similar cluster only
        order = np.lexsort((-sim, a))
        first = np.ones(order.size, dtype=bool)
        first[1:] = a[order][1:] != a[order][:-1]
        best = order[first]
        best = best[sim[best] >= need[best]]
        got_a.append(a[best])
        got_c.append(c[best])
    def cat(xs: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(xs) if xs else np.zeros(0, dtype=dtype)
    return (cat(got_a, np.int64), cat(got_c, np.int64),
            {k: cat(v, np.int8 if k == "attach_contact" else np.float64 if k == "attach_sim"
                    else np.int64) for k, v in tr.items()} if trace else {})


def _cluster_pairs(lab: np.ndarray, has: np.ndarray, pid: np.ndarray, psig: np.ndarray,
                   ci: np.ndarray, cj: np.ndarray, s: ClusterSettings, rnd: int,
                   step: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Distinct cluster pairs (a < b, sorted) to compare: profiles sharing an LSH bucket, or
    clusters linked by a candidate pair (taken ``step`` candidates at a time)."""
    n_c = int(lab.max(initial=-1)) + 1
    qa, qb = lsh_candidates(psig, s.profile_rows, s.seed + 13 + rnd, 3)
    keys: list[np.ndarray] = []
    for k0 in range(0, ci.size, step):
        la, lb = lab[ci[k0:k0 + step]], lab[cj[k0:k0 + step]]
        keys.append(_pair_keys(la, lb, has, n_c))
    keys.append(_pair_keys(pid[qa], pid[qb], has, n_c))
    key = unique_sorted(np.concatenate(keys))
    return key // n_c, key % n_c


def _pair_keys(la: np.ndarray, lb: np.ndarray, has: np.ndarray, n_c: int) -> np.ndarray:
    la, lb = np.minimum(la, lb), np.maximum(la, lb)
    ok = (la != lb) & has[la] & has[lb]
    return unique_sorted(la[ok].astype(np.int64) * n_c + lb[ok])


def refine(n: int, ad_ptr: np.ndarray, feat: np.ndarray, roots: np.ndarray, sig: np.ndarray,
           ci: np.ndarray, cj: np.ndarray, s: ClusterSettings,
           contact_csr: tuple[np.ndarray, np.ndarray] | None = None, trace: bool = False
           ) -> tuple[np.ndarray, RefineStats]:
    """(new roots, what was done): see the module docstring.

    ``ad_ptr``/``feat`` are the sorted unique features of all ``n`` ads (CSR), ``roots`` the
    first clustering (any label per ad), ``sig`` the ads' MinHash signatures of the same
    features (``s.coherence_perm`` hashes, seed ``s.seed + 1``, so that profile signatures
    compare with them; pairs estimated below ``s.profile_prefilter`` are not verified),
    ``ci``/``cj`` the first step's candidate pairs, ``contact_csr`` each ad's non-hub contact
    ids in CSR form (see :func:`safelight.detect.templates.contact_sets`). Ads are attached
    over ranges of ``s.refine_part`` ads of small clusters (memory: the pairs of one range at
    a time; the result does not depend on it).
    """
    stats = RefineStats()
    for rnd in range(s.refine_rounds):
        lab, size, ad_ptr, pr_ptr, pf = _profiles(n, ad_ptr, feat, roots, s.profile_share)
        n_c = size.size
        plen = np.diff(pr_ptr)
        has = plen > 0
        pid = np.flatnonzero(has)
        if not pid.size:
            break
        stats.rounds += 1
        psig = minhash_signatures(np.repeat(np.arange(pid.size), plen[has]), pf, pid.size,
                                  s.coherence_perm, s.seed + 1, s.chunk_nnz)
        prow = np.full(n_c, -1, dtype=np.int64)
        prow[pid] = np.arange(pid.size)
        index = (_contact_index(contact_csr, lab, n_c) if contact_csr is not None else None)
        small = size[lab] <= s.attach_max_size
        a, c, tr = _attach(lab, small, has, pid, prow, (ad_ptr, feat), (pr_ptr, pf), sig, psig,
                           ci, cj, s, rnd, index, trace, s.refine_part)
        pa, pb = _cluster_pairs(lab, has, pid, psig, ci, cj, s, rnd)
        keep = _estimate(psig, psig, prow[pa], prow[pb]) >= s.profile_prefilter
        pa, pb = pa[keep], pb[keep]
        sim_m = exact_jaccard(pr_ptr, pf, pa, pb)
        state_m = (_contact_state(index, pa, pb, False) if index is not None
                   else np.zeros(pa.size, dtype=np.int8))
        need_m = _need(s.merge_threshold, s.merge_shared, s.merge_conflict, state_m)
        if trace:
            stats.trace.append({"labels": lab, **tr, "cluster_a": pa, "cluster_b": pb,
                                "merge_sim": sim_m, "merge_contact": state_m})
        good = sim_m >= need_m
        rep = np.zeros(n_c, dtype=np.int64)
        rep[lab[::-1]] = np.arange(n)[::-1]
        u = np.concatenate([a, rep[pa[good]], np.arange(n)])
        v = np.concatenate([rep[c], rep[pb[good]], rep[lab]])
        roots = connected_components(n, u, v)
        stats.attached += int(a.size)
        stats.merged += int(good.sum())
        if not a.size and not good.any():
            break
    return roots, stats
