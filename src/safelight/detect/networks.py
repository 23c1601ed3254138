"""Contact networks: ads linked by the contact points they share, hub contact points excluded.

Contract
--------
:func:`contact_networks` takes, per ad, its contact keys (``kind:value`` from
:mod:`safelight.detect.contacts`) and its text, and returns a :class:`NetworkResult`:

* ``labels[i]`` — the network of ad ``i`` (numbered from 0 by decreasing size; an ad with no
  usable contact point is a network of its own);
* ``hubs`` — the contact points *not* used for linking, each with the number of ads naming it
  and the reason. A hub is a contact point named by at least ``hub_min_df`` ads whose texts
  have little in common (mean MinHash similarity below ``hub_coherence``): a booking line, an
  agency number or a number reused by unrelated posters. Naive linking through such numbers
  merges unrelated ads; a large operator's own number sits in ads of one template and is kept.

:func:`summarise_networks` describes each network of two or more ads: ads, contact points,
sites, cities, first/last posting, span and growth (ads in the later half of the span divided
by ads in the earlier half).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from safelight.detect.setops import connected_components, minhash_signatures
from safelight.detect.templates import (
    ClusterSettings,
    _coherence,
    _features,
    _gather,
    _tokens,
)

__all__ = ["NetworkResult", "NetworkSummary", "contact_networks", "summarise_networks"]


@dataclass
class NetworkResult:
    """Output of :func:`contact_networks` (see the module docstring)."""

    labels: np.ndarray
    hubs: list[tuple[str, int, float]] = field(default_factory=list)
    n_links: int = 0


def _text_signatures(texts: Sequence[str], perm: int = 32, seed: int = 8) -> np.ndarray:
    tok, tdoc, words = _tokens(texts)
    doc, feat = _features(tok, tdoc, len(texts), len(words), True)
    return minhash_signatures(doc, feat, len(texts), perm, seed)


def contact_networks(contacts: Sequence[Sequence[str]], texts: Sequence[str] | None = None,
                     hub_min_df: int = 10, hub_coherence: float = 0.2,
                     hub_share: float = 0.002, hub_min: int = 25,
                     signatures: np.ndarray | None = None) -> NetworkResult:
    """Link ads sharing a non-hub contact point (see the module docstring).

    Without ``texts`` (or ``signatures``) the coherence test cannot run, and a hub is a contact
    point named by more than ``max(hub_min, hub_share * n_ads)`` ads instead.
    """
    n = len(contacts)
    index: dict[str, int] = {}
    ids: list[int] = []
    lens = np.zeros(n, dtype=np.int64)
    for a, keys in enumerate(contacts):
        uniq = sorted(set(keys))
        lens[a] = len(uniq)
        ids.extend(index.setdefault(k, len(index)) for k in uniq)
    arr = np.asarray(ids, dtype=np.int64)
    owner = np.repeat(np.arange(n, dtype=np.int64), lens)
    names = sorted(index, key=index.__getitem__)
    df = np.bincount(arr, minlength=len(index))
    hub = np.zeros(len(index), dtype=bool)
    coh_of = np.full(len(index), np.nan)
    if arr.size and (texts is not None or signatures is not None):
        sig = signatures if signatures is not None else _text_signatures(texts or [])
        order = np.lexsort((arr, owner))
        f_ids, _, coh = _coherence(owner[order], arr[order], sig, hub_min_df, 10,
                                   ClusterSettings().seed + 5)
        coh_of[f_ids] = coh
        hub[f_ids[coh < hub_coherence]] = True
    elif arr.size:
        hub = df > max(hub_min, hub_share * n)
    keep = ~hub[arr] if arr.size else np.zeros(0, dtype=bool)
    a_ids, a_own = arr[keep], owner[keep]
    order = np.lexsort((a_own, a_ids))
    a_ids, a_own = a_ids[order], a_own[order]
    same = a_ids[1:] == a_ids[:-1]
    u, v = a_own[:-1][same], a_own[1:][same]
    roots = connected_components(n, u, v)
    uniq, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.lexsort((uniq, -counts))] = np.arange(uniq.size)
    hubs = sorted(((names[k], int(df[k]), float(coh_of[k])) for k in np.flatnonzero(hub)),
                  key=lambda h: -h[1])
    return NetworkResult(labels=rank[inverse], hubs=hubs, n_links=int(u.size))


@dataclass
class NetworkSummary:
    """One network of two or more ads, described for a human."""

    network_id: int
    n_ads: int
    n_contacts: int
    contacts: list[str]
    n_sites: int
    n_cities: int
    first_posted: str
    last_posted: str
    span_days: float
    growth: float


def _parse(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts)
    except ValueError:
        return None


def summarise_networks(labels: np.ndarray, contacts: Sequence[Sequence[str]],
                       hubs: Sequence[str] = (),
                       sites: Sequence[str | None] | None = None,
                       cities: Sequence[str | None] | None = None,
                       posted_at: Sequence[str | None] | None = None,
                       min_size: int = 2) -> list[NetworkSummary]:
    """Summaries of networks with at least ``min_size`` ads, largest first.

    ``contacts`` lists the most frequent non-hub contact points first. ``growth`` is NaN when
    fewer than two posting times parse.
    """
    labels = np.asarray(labels)
    hub_set = set(hubs)
    order = np.argsort(labels, kind="stable")
    ls = labels[order]
    bounds = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1], True])
    out: list[NetworkSummary] = []
    # the column values of every ad of a network of ``min_size`` or more, in one gather per
    # column (in ``order``), instead of one read per ad and column
    sizes = np.diff(bounds)
    big = np.repeat(sizes >= min_size, sizes)
    at_of = np.cumsum(big) - big  # position of order[k] among the gathered ads
    every = order[big]
    site_v, city_v, time_v = (_gather(c, every) if c is not None else None
                              for c in (sites, cities, posted_at))
    for g in range(bounds.size - 1):
        idx = order[bounds[g]:bounds[g + 1]]
        if idx.size < min_size:
            continue
        a0 = int(at_of[bounds[g]])
        a1 = a0 + idx.size
        # each ad's distinct keys in its own order (a set's order varies with the hash seed
        # between runs, and so did the order of tied contact points)
        cnt: Counter[str] = Counter(k for i in idx.tolist() for k in dict.fromkeys(contacts[i])
                                    if k not in hub_set)
        site_set = {x for x in site_v[a0:a1] if x} if site_v is not None else set()
        city_set = ({(x or "").strip().lower() for x in city_v[a0:a1] if x}
                    if city_v is not None else set())
        times = (sorted(t for x in time_v[a0:a1] if x and (t := _parse(str(x))) is not None)
                 if time_v is not None else [])
        span = growth = float("nan")
        first = last = ""
        if times:
            first, last = times[0].isoformat(), times[-1].isoformat()
            span = (times[-1] - times[0]).total_seconds() / 86400
            if len(times) >= 2 and span > 0:
                mid = times[0] + (times[-1] - times[0]) / 2
                early = sum(t <= mid for t in times)
                growth = (len(times) - early) / max(early, 1)
        out.append(NetworkSummary(int(ls[bounds[g]]), int(idx.size), len(cnt),
                                  [k for k, _ in cnt.most_common(5)], len(site_set),
                                  len(city_set), first, last, span, growth))
    out.sort(key=lambda s: (-s.n_ads, s.network_id))
    return out
