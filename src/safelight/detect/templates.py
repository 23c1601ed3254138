"""Template clustering: near-duplicate and templated ads, with each cluster's template and slots.

Contract
--------
:func:`cluster_ads` takes a sequence of ad texts (and optionally each ad's contact keys) and
returns a :class:`ClusterResult` whose ``labels[i]`` is the cluster of ad ``i`` (clusters
numbered from 0 by decreasing size; an ad linked to nothing is a cluster of its own), with the
accepted links and their similarity (the reason two ads are together). It is deterministic for
given settings and never loops in Python over pairs of ads (the set kernels live in
:mod:`safelight.detect.setops`):

1. **Features** — each ad becomes the set of its word unigrams and bigrams (lower-cased letters
   only: digits, number words, prices and phone numbers are left out, since they are the slots
   that change from ad to ad).
2. **Boilerplate down-weighting** — plain MinHash merges different operators through sentences
   they all paste ("100% real photos", "available 24/7"). For every word trigram held by at
   least ``boilerplate_min_df`` ads, a sample of ``coherence_sample`` of those ads is drawn and
   the mean MinHash similarity of its pairs is measured: a template's phrases sit in ads that
   resemble one another (high *coherence*), boilerplate sits in ads that otherwise have little
   in common. The words covered by a trigram whose coherence is below ``boilerplate_coherence``
   become private to their ad: they still count in the union of two ads, never in their
   intersection — an IDF-like weight that, unlike plain document frequency, does not punish a
   large operator whose own template is frequent. Above ``boilerplate_sample`` ads the
   frequent trigrams and their coherence are found on a random sample of that many ads
   (boilerplate is frequent by definition) and then made private in every ad.
3. **Candidates** — MinHash signatures (``num_perm`` multiply-shift hashes, one vectorised
   minimum per ad) and banded LSH (bands of ``rows`` hashes); ads sharing a band bucket become
   candidate pairs (each ad with the next ``lsh_neighbours`` ads in a per-band random order, so
   a bucket of ``m`` ads yields about ``lsh_neighbours × m`` pairs, not ``m²``). Larger
   corpora give fewer candidates per ad (buckets grow, neighbours repeat across bands), which
   starves the triangle-support guard below; so while there are fewer than
   ``min_candidates_per_ad`` candidate pairs per ad, ``lsh_neighbours`` is raised by one (up to
   ``max_lsh_neighbours``).
4. **Verification** — the MinHash estimate decides clear cases; pairs within ``verify_margin``
   of ``threshold`` get their exact Jaccard similarity (vectorised sort-and-count over all pairs
   at once). Three guards against single-linkage chaining follow, all vectorised:
   *local scaling* (a link must reach ``relative`` × the best similarity either ad has to any
   candidate, so a copied template — far less similar than the ad's own group — is cut
   whatever the overall level of editing), *contact veto* (with contacts: a link weaker than
   ``contact_veto_below`` between two ads naming different non-hub contact points is dropped)
   and *triangle support* (a link weaker than ``support_below`` needs ``min_common`` linked ads
   in common, unless it is the only link of both ads). With contacts, two ads naming the same
   non-hub contact point are linked when their whole texts (boilerplate-flagged words
   included: an operator built from stock phrases shares little else) are at least
   ``contact_threshold`` similar. Accepted links are merged by a vectorised union-find
   (min-label hooking with pointer jumping).
5. **Profile refinement** (:mod:`safelight.detect.profiles`, ``refine_rounds``) — pairwise
   links miss heavily edited ads: two ads with 13% of their words edited share far less than
   each shares with its template. Each cluster's *profile* (the words and word pairs most of
   its ads hold) stands in for the template: ads of small clusters join the cluster whose
   profile they resemble, and clusters with similar profiles merge. It only ever merges.

:func:`summarise_clusters` describes each cluster of two or more ads: its template (the most
typical ad's words, with the words that vary across the cluster turned into slots), slot count,
number of ads, sites, cities and time span.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field

import numpy as np

from safelight.arrays import unique_sorted
from safelight.detect import kernels
from safelight.detect.columns import TextColumn
from safelight.detect.contacts import NUMBER_WORDS
from safelight.detect.parallel import (
    WorkerPools,
    release_memory,
    run_parts,
    shared_column,
    shared_texts,
)
from safelight.detect.profiles import RefineStats, refine
from safelight.detect.setops import (
    connected_components,
    exact_jaccard,
    intersections,
    lsh_candidates_grown,
    minhash_signatures,
    splitmix64,
)

__all__ = ["ClusterResult", "ClusterSettings", "ClusterSummary", "cluster_ads",
           "connected_components", "contact_sets", "minhash_signatures", "summarise_clusters",
           "tokenize"]

log = logging.getLogger("safelight.detect.templates")

_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_DISPLAY_RE = re.compile(r"\S+")
_MASK32 = np.uint64(0xFFFFFFFF)
#: ads per worker task (tokens, summaries; signatures take at least half as many)
_PART = 5_000


@dataclass(frozen=True)
class ClusterSettings:
    """Parameters of :func:`cluster_ads` (see the module docstring for their meaning)."""

    num_perm: int = 128
    rows: int = 2
    threshold: float = 0.22
    verify_margin: float = 0.12
    boilerplate_min_df: int = 5
    boilerplate_coherence: float = 0.2
    coherence_sample: int = 10
    boilerplate_rounds: int = 1
    boilerplate_sample: int = 250_000
    coherence_perm: int = 32
    contact_veto_below: float = 0.5
    support_below: float = 0.35
    contact_threshold: float = 0.25
    relative: float = 0.6
    min_common: int = 2
    lsh_neighbours: int = 1
    max_lsh_neighbours: int = 3
    min_candidates_per_ad: float = 10.0
    bigrams: bool = True
    seed: int = 7
    chunk_nnz: int = 100_000
    refine_rounds: int = 1
    profile_share: float = 0.5
    attach_threshold: float = 0.35
    attach_max_size: int = 2
    merge_threshold: float = 0.4
    attach_shared: float = 0.3
    attach_conflict: float = 0.4
    merge_shared: float = 0.4
    merge_conflict: float = 0.5
    profile_rows: int = 2
    profile_per_band: int = 4
    profile_prefilter: float = 0.2
    refine_part: int = 50_000

    def __post_init__(self) -> None:
        if not 1 <= self.rows <= self.num_perm:
            raise ValueError(f"rows must be in 1..num_perm, got {self.rows}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")

    def as_dict(self) -> dict[str, object]:
        """The settings as a JSON-ready dict."""
        return asdict(self)


@dataclass
class ClusterResult:
    """Output of :func:`cluster_ads`.

    ``labels`` (int64, one per ad), ``n_candidates`` (distinct candidate pairs), ``n_verified``
    (pairs checked exactly), ``n_accepted`` (pairs merged), ``n_vetoed`` (text links dropped
    because the two ads name different contact points), ``n_unsupported`` (weak links dropped
    because no third ad is linked to both), ``boilerplate`` (the most frequent dropped
    features, as text, with their document frequency — estimated from the sample above
    ``boilerplate_sample`` ads — and coherence), ``timings`` (seconds per step),
    ``lsh_neighbours`` (the value the candidate step settled on), and the accepted pairs
    ``pair_i``/``pair_j`` with their similarity ``pair_sim`` (exact where verified, else the MinHash estimate) — the reason two ads are linked;
    ``refine`` says what the profile step added (ads attached to a cluster, clusters merged;
    with ``trace=True`` every pair it compared, with its similarity); ``signatures`` are the
    ads' MinHash signatures over all their words (``coherence_perm`` hashes, seed ``seed + 1``),
    which :func:`safelight.detect.networks.contact_networks` can reuse for its hub test.
    """

    labels: np.ndarray
    n_candidates: int = 0
    n_verified: int = 0
    n_accepted: int = 0
    n_vetoed: int = 0
    n_unsupported: int = 0
    boilerplate: list[tuple[str, int, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pair_i: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_j: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lsh_neighbours: int = 1
    refine: RefineStats = field(default_factory=RefineStats)
    signatures: np.ndarray | None = None


def tokenize(text: str | None) -> list[str]:
    """Lower-cased words of two or more letters, without number words (the clustering view)."""
    if not text:
        return []
    if text.isascii():  # NFKC leaves ASCII as it is, and it holds no ’
        t = text.lower()
    else:
        t = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return list(itertools.filterfalse(NUMBER_WORDS.__contains__, _WORD_RE.findall(t)))


# --------------------------------------------------------------------------- features


def _tokenize_part(part: tuple[int, int, Sequence[str] | None]
                   ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Tokens of ads ``lo:hi`` (the given texts, or the texts a worker shares): the part's
    words in order of first appearance, each token as an index into them (int32) and the
    number of tokens of each ad (int32)."""
    lo, hi, texts = part
    vocab: dict[str, int] = {}
    ids = array("i")
    lengths = np.zeros(hi - lo, dtype=np.int32)
    for i, text in enumerate(texts if texts is not None else shared_texts(lo, hi)):
        words = tokenize(text)
        lengths[i] = len(words)
        got = list(map(vocab.get, words))  # known words looked up in C
        if None in got:
            got = [vocab.setdefault(w, len(vocab)) for w in words]
        ids.extend(got)
    local = np.frombuffer(ids, dtype=np.int32) if ids else np.zeros(0, dtype=np.int32)
    return list(vocab), local, lengths


def _tokens(texts: Sequence[str], pool: Executor | None = None, shared: bool = False,
            chunk: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Word ids of all ads, flat (``tok``, int32), the ad of each (``doc``, int32, sorted), and
    the vocabulary (ids in order of first appearance in the corpus). Ids are collected in
    compact arrays, not lists of Python ints (at a million ads that list alone would take
    gigabytes). Parts of ``chunk`` ads are tokenised in ``pool`` when given (reading the texts
    the workers share when ``shared``, else sending them); each part's words are then mapped
    to corpus ids in part order, so the ids are those of one pass."""
    n = len(texts)
    chunk = chunk or _PART
    parts = [(lo, min(n, lo + chunk), None if shared and pool is not None
              else texts[lo:lo + chunk]) for lo in range(0, n, chunk)]
    vocab: dict[str, int] = {}
    toks: list[np.ndarray] = []
    lengths = np.zeros(n, dtype=np.int64)
    for (lo, hi, _), (words, local, lens) in zip(parts, run_parts(pool, _tokenize_part, parts),
                                               strict=True):
        remap = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.int32,
                            count=len(words))
        toks.append(remap[local])
        lengths[lo:hi] = lens
    tok = np.concatenate(toks) if toks else np.zeros(0, dtype=np.int32)
    doc = np.repeat(np.arange(n, dtype=np.int32), lengths)
    return tok, doc, list(vocab)


def _features(tok: np.ndarray, doc: np.ndarray, n: int, v: int, bigrams: bool,
              private: np.ndarray | None = None, chunk: int = 2_000_000,
              first: tuple[int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique (doc, feature) pairs as ``doc`` (int32) and ``feat`` (int64) arrays.

    Feature ids: ``w`` for unigram ``w``; ``v + a * v + b`` for bigram ``a b``; ``-1 - doc`` for
    an ad without words (so that it matches nothing). A word at a position flagged in
    ``private`` (and a bigram touching one) gets an id of its own, ``< -n``, that no other ad
    shares: it counts in the union of two ads, never in their intersection. Built in chunks of
    about ``chunk`` word positions (whole ads), so the temporary arrays stay small.

    ``first`` = (first ad, first word position, ads in the corpus) when ``tok``/``doc`` (ads
    numbered from 0) are a range of a larger corpus: feature ids are then those of the whole
    corpus, so the range's features equal the corpus's restricted to it (docs still from 0).
    """
    return _build_features(tok, doc, n, v, bigrams, private, chunk, first, True)


def _shrink(a: np.ndarray, used: int) -> np.ndarray:
    """``a[:used]`` without keeping the rest of ``a``'s buffer (resized in place when ``a``
    owns it, else copied)."""
    if a.base is None and a.flags.c_contiguous:
        a.resize(used, refcheck=False)
        return a
    return a[:used].copy()


def _build_features(tok: np.ndarray, doc: np.ndarray, n: int, v: int, bigrams: bool,
                    private: np.ndarray | None, chunk: int,
                    first: tuple[int, int, int] | None, keep_doc: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_features`; with ``keep_doc`` false the first array is the number of features
    of each ad (int64, ``n``) instead of the ad of every feature."""
    doc0, pos0, n_ids = first if first is not None else (0, 0, n)
    v = max(v, 1)
    has = np.zeros(n, dtype=bool)
    has[doc] = True
    empty = np.flatnonzero(~has)
    indptr = np.searchsorted(doc, np.arange(n + 1))
    cut_pos = indptr[np.minimum(np.searchsorted(indptr, np.arange(chunk, tok.size, chunk)), n)]
    cuts = np.unique(np.r_[0, cut_pos, tok.size]).tolist()
    del indptr, has
    # each chunk is copied into buffers of the largest possible size (a unigram and a bigram per
    # word), so the chunks and their concatenation never sit in memory together; the unused
    # tail is given back at the end
    cap = 2 * int(tok.size)
    d = np.empty(cap if keep_doc else 0, dtype=np.int32)
    counts = np.zeros(0 if keep_doc else n, dtype=np.int64)
    f = np.empty(cap, dtype=np.int64)
    used = 0
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        dc, fc = _features_part(tok[lo:hi], doc[lo:hi], pos0 + lo, n_ids, v, bigrams,
                                None if private is None else private[lo:hi])
        if keep_doc:
            d[used:used + dc.size] = dc
        elif dc.size:
            base = int(dc[0])
            got = np.bincount(dc - base)
            counts[base:base + got.size] += got
        f[used:used + fc.size] = fc
        used += fc.size
    f = _shrink(f, used)
    if keep_doc:
        d = _shrink(d, used)
    if empty.size:  # an ad without words: one feature of its own, in its place
        if keep_doc:
            at = np.searchsorted(d, empty)
            d = np.insert(d, at, empty.astype(np.int32))
        else:
            at = np.r_[0, np.cumsum(counts)][empty]
            counts[empty] = 1
        f = np.insert(f, at, -1 - doc0 - empty.astype(np.int64))
    return (d if keep_doc else counts), f


def _feature_csr(tok: np.ndarray, doc: np.ndarray, n: int, v: int, bigrams: bool,
                 private: np.ndarray | None = None, chunk: int = 2_000_000
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_features` as CSR: ``indptr`` (int64, ``n + 1``) and ``feat`` — the ad of every
    feature (an int32 each) is never built."""
    counts, f = _build_features(tok, doc, n, v, bigrams, private, chunk, None, False)
    return np.r_[0, np.cumsum(counts)].astype(np.int64), f


def _signature_part(part: tuple) -> tuple:  # type: ignore[type-arg]
    """MinHash signatures of one range of ads, and the extras asked for (see
    :func:`_signatures`)."""
    (tok, lengths, doc0, pos0, n, v, bigrams, private, num_perm, seed, chunk_nnz,
     extras) = part
    release_memory()  # what pickling the previous range's result (features: tens of MB) freed
    m = lengths.size
    tdoc = np.repeat(np.arange(m, dtype=np.int32), lengths)
    d, f = _features(tok, tdoc, m, v, bigrams, private, first=(doc0, pos0, n))
    sig = (minhash_signatures(d, f, m, num_perm, seed, chunk_nnz) if num_perm
           else np.zeros((m, 0), dtype=np.uint32))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if "features" in extras:
        out["features"] = (np.bincount(d, minlength=m), f)
    del d, f
    if "trigrams" in extras:
        start, h = _trigrams(tok, tdoc, v)
        out["trigrams"] = (start.astype(np.int64) + pos0, h)
    del tdoc
    release_memory()
    return sig, out


def _signatures(pool: Executor | None, tok: np.ndarray, t_len: np.ndarray, v: int,
                bigrams: bool, private: np.ndarray | None, num_perm: int, seed: int,
                chunk_nnz: int, parts: int = 24, extras: tuple[str, ...] = ()
                ) -> Callable[[], tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]]:
    """MinHash signatures (uint32, one row per ad) of the ads' features, computed over
    disjoint ranges of ads: the same as one pass, since a range's features are the corpus's
    features of those ads. With ``pool`` the ranges start in its workers at once and the
    returned function collects them (the caller works meanwhile); without, it computes them.

    The function returns the signatures and the ``extras`` asked for, built from the same
    ranges (so the main process need not build them again): ``"features"`` — the features
    as CSR (``indptr``, ids), what :func:`_feature_csr` gives; ``"trigrams"`` — what
    :func:`_trigrams` gives. Each is copied into one buffer as its ranges come (no list of
    parts and their concatenation side by side)."""
    n = t_len.size
    step = max(_PART // 2, -(-n // parts))
    ends = np.r_[0, np.cumsum(t_len)]
    args = [(tok[ends[a]:ends[b]], t_len[a:b], a, int(ends[a]), n, v, bigrams,
             None if private is None else private[ends[a]:ends[b]], num_perm, seed, chunk_nnz,
             extras)
            for a, b in ((a, min(n, a + step)) for a in range(0, n, step))]
    running = pool.map(_signature_part, args) if pool is not None and len(args) > 1 else None

    def collect() -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        sig = np.empty((n, num_perm), dtype=np.uint32)
        size = int(tok.size)
        counts = np.zeros(n if "features" in extras else 0, dtype=np.int64)
        # at most a unigram and a bigram per word, and one feature per ad without words
        feat = np.empty(2 * size + n if "features" in extras else 0, dtype=np.int64)
        t_start = np.empty(size if "trigrams" in extras else 0,
                           dtype=np.int32 if size < 2**31 else np.int64)
        t_hash = np.empty(t_start.size, dtype=np.uint64)
        used_f = used_t = 0
        parts_out = running if running is not None else map(_signature_part, args)
        for (_, lens, a, *_rest), (part, got) in zip(args, parts_out, strict=True):
            sig[a:a + lens.size] = part
            if "features" in got:
                c, f = got["features"]
                counts[a:a + lens.size] = c
                feat[used_f:used_f + f.size] = f
                used_f += f.size
            if "trigrams" in got:
                st, h = got["trigrams"]
                t_start[used_t:used_t + st.size] = st
                t_hash[used_t:used_t + h.size] = h
                used_t += st.size
            del got, part
            # the parts were unpickled by the pool's result thread, into a malloc arena of
            # its own that glibc does not shrink by itself: each part is handed back as soon
            # as it is copied, so that the parts and the buffer they fill are not both held
            release_memory()
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if "features" in extras:
            out["features"] = (np.r_[0, np.cumsum(counts)].astype(np.int64),
                               _shrink(feat, used_f))
        if "trigrams" in extras:
            out["trigrams"] = (_shrink(t_start, used_t), _shrink(t_hash, used_t))
        return sig, out

    return collect


def _member(values: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_ids)`` for sorted unique ``sorted_ids``, by binary search
    (no sort of ``values``; compiled, behind a bitmap of the ids' high bits, when
    :mod:`safelight.detect.kernels` is available — for hashed ids such as the trigrams')."""
    if not sorted_ids.size:
        return np.zeros(values.size, dtype=bool)
    if kernels.member_sorted is not None and values.dtype == np.int64:
        return kernels.member_sorted(values, sorted_ids.astype(np.int64, copy=False))
    at = np.minimum(np.searchsorted(sorted_ids, values), sorted_ids.size - 1)
    return sorted_ids[at] == values


def _features_part(tok: np.ndarray, doc: np.ndarray, offset: int, n: int, v: int,
                   bigrams: bool, private: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_features` for the word positions ``offset ...`` of whole ads."""
    pos = np.arange(offset, offset + tok.size, dtype=np.int64)
    uni = tok.astype(np.int64)
    if private is not None:
        uni[private] = -(1 + n + 2 * pos[private])
    feats = [uni]
    docs = [doc]
    if bigrams and tok.size > 1:
        same = doc[1:] == doc[:-1]
        bi = v + tok[:-1].astype(np.int64) * v + tok[1:]
        if private is not None:
            touch = private[:-1] | private[1:]
            bi = np.where(touch, -(2 + n + 2 * pos[:-1]), bi)
        feats.append(bi[same])
        docs.append(doc[:-1][same])
    d = np.concatenate(docs)
    f = np.concatenate(feats)
    if not d.size:
        return d, f
    # one int64 key per (doc, feature) pair, sorted and de-duplicated: the pairs in (doc,
    # feature) order, several times faster than a two-key lexsort and its gathers
    d0, lo = int(doc[0]), int(f.min())
    span = int(f.max()) - lo + 1
    if span * (int(doc[-1]) - d0 + 1) < 2**63:
        key = (d - d0).astype(np.int64)
        key *= span
        key += f - lo
        del d, f
        key = unique_sorted(key)
        return (key // span + d0).astype(np.int32), key % span + lo
    order = np.lexsort((f, d))
    d, f = d[order], f[order]
    keep = np.ones(d.size, dtype=bool)
    keep[1:] = (d[1:] != d[:-1]) | (f[1:] != f[:-1])
    return d[keep], f[keep]


def _trigrams(tok: np.ndarray, doc: np.ndarray, v: int, chunk: int = 4_000_000
              ) -> tuple[np.ndarray, np.ndarray]:
    """(start position, hashed id) of every word trigram inside one ad (hashed in chunks)."""
    if tok.size < 3:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    start = np.flatnonzero(doc[2:] == doc[:-2])
    if tok.size < 2**31:
        start = start.astype(np.int32)
    h = np.empty(start.size, dtype=np.uint64)
    for c0 in range(0, start.size, chunk):
        st = start[c0:c0 + chunk]
        with np.errstate(over="ignore"):
            x = splitmix64(splitmix64(tok[st].astype(np.uint64)) ^ tok[st + 1].astype(np.uint64))
            h[c0:c0 + chunk] = splitmix64(x ^ tok[st + 2].astype(np.uint64))
    return start, h


def _supported(n: int, u: np.ndarray, v: np.ndarray, strong: np.ndarray,
               min_common: int = 1) -> np.ndarray:
    """Which edges to keep: strong ones, weak ones whose two ads have at least ``min_common``
    linked ads in common (triangles), and weak ones that are the only link of both their ads
    (an isolated pair).

    Single linkage lets one weak, wrong link merge two large groups; a wrong link rarely has
    a common neighbour, a link inside a template group usually has many.
    """
    # the links both ways as one sorted int64 key ``a * n + b`` (in place: no lexsort order,
    # no sorted copies of both columns — at a million ads those held 0.5 GB at this step's
    # peak); the rows of ``a`` are then ranges of the key, and ``key % n`` is ``b`` in order
    m = u.size
    if n * n >= 2**63:  # pragma: no cover - beyond three billion ads
        a = np.concatenate([u, v])
        b = np.concatenate([v, u])
        order = np.lexsort((b, a))
        a, b = a[order], b[order]
        indptr = np.searchsorted(a, np.arange(n + 1))
        del a, order
    else:
        b = np.empty(2 * m, dtype=np.int64)
        for half, x, y in ((b[:m], u, v), (b[m:], v, u)):
            half[:] = x
            half *= n
            half += y
        b.sort()
        indptr = np.searchsorted(b, np.arange(n + 1, dtype=np.int64) * n)
        b %= n
    deg = np.diff(indptr)
    weak = ~strong
    keep = strong.copy()
    if weak.any():
        common = intersections(indptr, b, u[weak], v[weak])
        lone = (deg[u[weak]] == 1) & (deg[v[weak]] == 1)
        keep[np.flatnonzero(weak)] = (common >= min_common) | lone
    return keep


def _contact_pairs(n: int, c_ids: np.ndarray, sizes: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs of ads (``u < v``, sorted) that follow each other in the list of the ads
    naming one contact point (``c_ids`` in CSR rows of ``sizes``, one row per ad): the pairs
    of ads sharing a contact point, as a chain per contact point. A function of its own so
    that its temporaries (a few arrays of one int64 per contact) are gone before the next
    steps."""
    owner = np.repeat(np.arange(n), sizes)
    order = np.lexsort((owner, c_ids))
    cid, own = c_ids[order], owner[order]
    same = cid[1:] == cid[:-1]
    pu, pv = own[:-1][same], own[1:][same]
    pu, pv = np.minimum(pu, pv), np.maximum(pu, pv)
    pk = unique_sorted(pu * n + pv)
    pu, pv = pk // n, pk % n
    return pu[pu != pv], pv[pu != pv]


def contact_sets(contacts: Sequence[Sequence[str]], sig: np.ndarray | None = None,
                 hub_min_df: int = 10, hub_coherence: float = 0.2, hub_share: float = 0.002,
                 hub_min: int = 25) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """CSR (``indptr``, ``ids``) of each ad's contact keys without hub contact points, and the
    hub keys left out.

    With text signatures ``sig`` (one row per ad), a hub is a contact point held by at least
    ``hub_min_df`` ads whose texts have little in common (coherence below ``hub_coherence``,
    measured like boilerplate): a booking line or a reused number that many unrelated posters
    give, while a large operator's own number sits in ads of one template and stays. Without
    ``sig``, a hub is a key held by more than ``max(hub_min, hub_share * n_ads)`` ads.
    """
    index: dict[str, int] = {}
    ids: list[int] = []
    lens = np.zeros(len(contacts), dtype=np.int64)
    for a, keys in enumerate(contacts):
        uniq = set(keys)
        lens[a] = len(uniq)
        # ids numbered in order of first appearance; each ad's row sorted (the set kernels'
        # CSR contract)
        ids.extend(sorted([index.setdefault(k, len(index)) for k in sorted(uniq)]))
    arr = np.asarray(ids, dtype=np.int64)
    owner = np.repeat(np.arange(len(contacts), dtype=np.int64), lens)
    hub = np.zeros(len(index), dtype=bool)
    if sig is not None and arr.size:
        order = np.lexsort((arr, owner))
        f_ids, _, coh = _coherence(owner[order], arr[order], sig, hub_min_df, 12, 5)
        hub[f_ids[coh < hub_coherence]] = True
    elif arr.size:
        df = np.bincount(arr, minlength=len(index))
        hub = df > max(hub_min, hub_share * len(contacts))
    names = sorted(index, key=index.__getitem__)
    keep = ~hub[arr] if arr.size else np.zeros(0, dtype=bool)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(owner[keep], minlength=len(contacts)))])
    return indptr.astype(np.int64), arr[keep], [names[k] for k in np.flatnonzero(hub)]


def _coherence(doc: np.ndarray, feat: np.ndarray, sig: np.ndarray, min_df: int, sample: int,
               seed: int, shard_size: int = 4_000_000
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequent feature ids, their document frequency, their coherence), by feature id.

    A feature is frequent when at least ``min_df`` ads hold it; its coherence is the mean MinHash
    agreement (estimated Jaccard similarity) over the pairs of a random sample of ``sample`` of
    those ads. Vectorised over features: one loop over the sample's pairs only. Large inputs are
    cut into shards of about ``shard_size`` entries by ranges of feature ids (each feature lies
    in one shard), so no sort runs over all entries at once; the random sample is drawn over
    all entries first, so the answer does not depend on the sharding.
    """
    if feat.size == 0:
        return feat[:0], np.zeros(0, dtype=np.int64), np.zeros(0)
    shards = int(min(64, max(1, -(-feat.size // shard_size))))
    if shards > 1:
        probe = np.sort(feat[:: max(1, feat.size // 100_000)])
        cuts = np.unique(probe[(np.arange(1, shards) * probe.size) // shards])
    else:
        cuts = feat[:0]
    shard = np.empty(feat.size, dtype=np.uint8)
    for c0 in range(0, feat.size, shard_size):
        shard[c0:c0 + shard_size] = np.searchsorted(cuts, feat[c0:c0 + shard_size], side="right")
    # pass 1: document frequency per feature, shard by shard; which entries are frequent. A
    # frequent feature keeps all its entries, so each shard's distinct frequent features,
    # their counts and each frequent entry's feature come from this one ``np.unique``
    sel = np.zeros(feat.size, dtype=bool)
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for k in range(cuts.size + 1):
        pos = np.flatnonzero(shard == k)
        if pos.size:
            uniq, inv, df = np.unique(feat[pos], return_inverse=True, return_counts=True)
            frequent = df >= min_df
            hit = frequent[inv]
            sel[pos] = hit
            renum = np.cumsum(frequent) - 1  # frequent features numbered 0.. in id order
            groups.append((uniq[frequent], df[frequent], pos[hit], renum[inv[hit]]))
    if not sel.any():
        return feat[:0], np.zeros(0, dtype=np.int64), np.zeros(0)
    rng = np.random.default_rng(seed)
    noise = rng.random(int(sel.sum()))  # one draw per frequent entry, in entry order
    # an entry's place among the frequent entries
    rank = np.cumsum(sel, dtype=np.int32 if sel.size < 2**31 else np.int64) - 1
    del shard, sel
    ids: list[np.ndarray] = []
    dfs: list[np.ndarray] = []
    cohs: list[np.ndarray] = []
    for uniq, df, pos, f_idx in groups:
        if not pos.size:
            continue
        ids.append(uniq)
        dfs.append(df)
        cohs.append(_sample_coherence(f_idx, doc[pos], noise[rank[pos]], sig, sample))
    return np.concatenate(ids), np.concatenate(dfs), np.concatenate(cohs)


def _sample_coherence(f_idx: np.ndarray, d_sel: np.ndarray, noise: np.ndarray,
                      sig: np.ndarray, sample: int) -> np.ndarray:
    """Mean MinHash agreement over the pairs of up to ``sample`` ads of each feature (feature
    ``f_idx[e]`` held by ad ``d_sel[e]``; the ``sample`` entries of lowest ``noise``, ties by
    entry order). Compiled in one pass when :mod:`safelight.detect.kernels` is available."""
    if kernels.sample_coherence is not None:
        return kernels.sample_coherence(f_idx, d_sel, noise, sig, sample)
    order = np.lexsort((noise, f_idx))
    f_idx, d_sel = f_idx[order], d_sel[order]
    first = np.ones(f_idx.size, dtype=bool)
    first[1:] = f_idx[1:] != f_idx[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(f_idx.size), 0))
    rank = np.arange(f_idx.size) - group_start
    keep = rank < sample
    compact = np.cumsum(first) - 1
    mat = np.full((int(compact[-1]) + 1, sample), -1, dtype=np.int64)
    mat[compact[keep], rank[keep]] = d_sel[keep]
    total = np.zeros(mat.shape[0])
    count = np.zeros(mat.shape[0])
    for x in range(sample):
        for y in range(x + 1, sample):
            valid = (mat[:, x] >= 0) & (mat[:, y] >= 0)
            if not valid.any():
                continue
            agree = (sig[mat[valid, x]] == sig[mat[valid, y]]).mean(axis=1)
            total[valid] += agree
            count[valid] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 1.0)


def cluster_ads(texts: Sequence[str], settings: ClusterSettings | None = None,
                contacts: Sequence[Sequence[str]] | Callable[[], Sequence[Sequence[str]]]
                | None = None, trace: bool = False, pool: WorkerPools | None = None
                ) -> ClusterResult:
    """Cluster ``texts`` into templated / near-duplicate groups (see the module docstring).

    ``contacts`` (optional, one list of contact keys per ad, e.g. from
    :func:`safelight.detect.contacts.extract_contacts`) adds one rule: a text link weaker than
    ``contact_veto_below`` is dropped when both ads name contact points and share none (hub
    contact points excluded) — a copied template posted with someone else's number — and one
    more kind of link: two ads naming the same non-hub contact point whose texts are at least
    ``contact_threshold`` similar. ``contacts`` may also be a function returning them: it is
    called only when the verification step needs them (so they can be computed meanwhile).
    With ``pool`` (:class:`~safelight.detect.parallel.WorkerPools`), tokens and MinHash
    signatures are computed over disjoint ranges of ads in its ``cluster`` workers; the result
    is the same as without.
    """
    s = settings or ClusterSettings()
    n = len(texts)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if n == 0:
        return ClusterResult(labels=np.zeros(0, dtype=np.int64))
    cl = pool.cluster if pool is not None else None
    tok, tdoc, words = _tokens(texts, cl, shared=cl is not None and pool.texts is texts)
    v = len(words)
    t_len = np.bincount(tdoc, minlength=n)
    timings["features"] = time.perf_counter() - t0

    t = time.perf_counter()
    # whole-text signatures, over ranges of ads in the workers while the trigrams are made
    # whole-text signatures and the word trigrams, over ranges of ads in the workers
    sig0, got = _signatures(cl, tok, t_len, v, s.bigrams, None, s.coherence_perm, s.seed + 1,
                            s.chunk_nnz, extras=("trigrams",))()
    tri_start, tri = got.pop("trigrams")
    tri64 = tri.view(np.int64)
    sig_raw = sig0
    private = np.zeros(tok.size, dtype=bool)
    bad_ids = np.zeros(0, dtype=np.int64)
    f_ids, f_df, coh = bad_ids, bad_ids, np.zeros(0)
    # frequent phrases are frequent in a sample too: above ``boilerplate_sample`` ads, they are
    # found (and their frequency estimated) on that many ads drawn at random, then
    # down-weighted in every ad
    sampled: slice | np.ndarray = slice(None)
    scale = 1.0
    if n > s.boilerplate_sample:
        keep = np.zeros(n, dtype=bool)
        keep[np.random.default_rng(s.seed + 9).choice(n, s.boilerplate_sample,
                                                       replace=False)] = True
        sampled = np.flatnonzero(keep[tdoc[tri_start]])
        scale = n / s.boilerplate_sample
        del keep
    for rnd in range(s.boilerplate_rounds):
        # each round measures coherence on texts whose boilerplate found so far is private,
        # so boilerplate that made ads look alike cannot vouch for itself
        f_ids, f_df, coh = _coherence(tdoc[tri_start[sampled]], tri64[sampled], sig0,
                                      s.boilerplate_min_df, s.coherence_sample,
                                      s.seed + 2 + rnd)
        bad_ids = unique_sorted(np.concatenate([bad_ids, f_ids[coh < s.boilerplate_coherence]]))
        flagged = tri_start[_member(tri64, bad_ids)]
        for k in range(3):
            private[flagged + k] = True
        del flagged  # positions of every flagged trigram (0.2 GB at 1M ads)
        if rnd + 1 < s.boilerplate_rounds:
            sig0 = _signatures(cl, tok, t_len, v, s.bigrams, private, s.coherence_perm,
                               s.seed + 1, s.chunk_nnz)()[0]
    bad = np.isin(f_ids, bad_ids)
    # describe the boilerplate: the most frequent flagged trigrams (their first place), as text
    top = np.argsort(-f_df[bad], kind="stable")[:30]
    top_ids = f_ids[bad][top]
    at = np.flatnonzero(_member(tri64, np.sort(top_ids)))
    seen_ids, first_at = np.unique(tri64[at], return_index=True)
    first_pos = dict(zip(seen_ids.tolist(), tri_start[at[first_at]].tolist(), strict=True))
    boilerplate = [(" ".join(words[w] for w in tok[first_pos[int(f)]:first_pos[int(f)] + 3]),
                    int(round(d * scale)), float(c))
                   for f, d, c in zip(top_ids, f_df[bad][top], coh[bad][top], strict=True)
                   if int(f) in first_pos]
    # what stays alive until the end is only what later steps read: the trigrams, the sample
    # of their positions (about 0.2 GB above ``boilerplate_sample`` ads) and the vocabulary
    # (millions of strings when words are edited) go now
    del tri_start, tri, tri64, first_pos, sampled, words
    timings["boilerplate"] = time.perf_counter() - t

    t = time.perf_counter()
    # the down-weighted signatures in the workers, with the same features (for the exact
    # similarity of the borderline pairs)
    del tdoc  # the ad of each word is made again when needed (from t_len)
    sig, got = _signatures(cl, tok, t_len, v, s.bigrams, private if private.any() else None,
                           s.num_perm, s.seed, s.chunk_nnz, extras=("features",))()
    del private
    ptr_k, feat_k = got.pop("features")
    timings["minhash"] = time.perf_counter() - t

    t = time.perf_counter()
    ci, cj, k = lsh_candidates_grown(sig, s.rows, s.seed + 3, s.lsh_neighbours,
                                     s.max_lsh_neighbours,
                                     int(np.ceil(s.min_candidates_per_ad * n)))
    timings["lsh"] = time.perf_counter() - t

    t = time.perf_counter()
    est = np.empty(ci.size)
    step = 8_192  # rows of both signatures in the CPU cache
    for c0 in range(0, ci.size, step):
        est[c0:c0 + step] = (sig[ci[c0:c0 + step]] == sig[cj[c0:c0 + step]]).mean(1)
    accept = est >= s.threshold + s.verify_margin
    border = (~accept) & (est >= s.threshold - s.verify_margin)
    n_verified = int(border.sum())
    if n_verified:
        exact = exact_jaccard(ptr_k, feat_k, ci[border], cj[border])
        accept[np.flatnonzero(border)[exact >= s.threshold]] = True
        est[border] = exact
    del ptr_k, feat_k, sig
    # the whole texts' features (for contacts and profiles), over ranges of ads in the
    # workers while the links are checked here (no signatures: ``num_perm`` 0)
    whole = _signatures(cl, tok, t_len, v, s.bigrams, None, 0, s.seed, s.chunk_nnz,
                        extras=("features",))
    del tok
    # local scaling: a link must also reach ``relative`` times the best similarity each of its
    # two ads has to any candidate (a copied template is much less similar than the ad's own
    # template group, whatever the overall level of editing)
    best = np.zeros(n)
    np.maximum.at(best, ci, est)
    np.maximum.at(best, cj, est)
    accept &= est >= s.relative * np.minimum(best[ci], best[cj])
    del best
    n_vetoed = 0
    n_contact = 0
    ptr = feat = None
    if callable(contacts):
        contacts = contacts()
    if contacts is not None:
        c_ptr, c_ids, hubs = contact_sets(contacts, sig0)
        sizes = np.diff(c_ptr)
        if accept.any():
            ai, aj = ci[accept], cj[accept]
            weak = (est[accept] < s.contact_veto_below) & (sizes[ai] > 0) & (sizes[aj] > 0)
            if weak.any():
                shared = intersections(c_ptr, c_ids, ai[weak], aj[weak])
                veto = np.flatnonzero(accept)[np.flatnonzero(weak)[shared == 0]]
                accept[veto] = False
                n_vetoed = int(veto.size)
                del shared, veto
            del ai, aj, weak  # the accepted pairs (two int64 each: 0.1 GB at 1M ads)
        if s.contact_threshold > 0 and c_ids.size:
            # ads naming the same (non-hub) contact point: linked when their whole texts
            # (boilerplate included: an operator's stock phrases are boilerplate to the
            # down-weighting, yet its own) are at least ``contact_threshold`` similar
            pu, pv = _contact_pairs(n, c_ids, sizes)
            if pu.size:
                ptr, feat = whole()[1]["features"]
                sim = exact_jaccard(ptr, feat, pu, pv)
                ok = sim >= s.contact_threshold
                n_contact = int(ok.sum())
                ci = np.concatenate([ci, pu[ok]])
                cj = np.concatenate([cj, pv[ok]])
                # a shared contact point plus a similar text counts as a strong link
                est = np.concatenate([est, np.maximum(sim[ok], s.support_below)])
                accept = np.concatenate([accept, np.ones(n_contact, dtype=bool)])
    n_unsupported = 0
    if s.support_below > 0 and accept.any():
        keep = _supported(n, ci[accept], cj[accept], est[accept] >= s.support_below,
                          s.min_common)
        n_unsupported = int((~keep).sum())
        accept[np.flatnonzero(accept)[~keep]] = False
    if ptr is None or feat is None:
        ptr, feat = whole()[1]["features"]
    del whole  # its tasks' arguments hold the word ids (0.2 GB at 1M ads)
    timings["verify"] = time.perf_counter() - t

    t = time.perf_counter()
    roots = connected_components(n, ci[accept], cj[accept])
    timings["components"] = time.perf_counter() - t

    t = time.perf_counter()
    release_memory()  # the verification's temporaries, before the profiles are built
    refined = RefineStats()
    if s.refine_rounds:
        roots, refined = refine(n, ptr, feat, roots, sig_raw, ci, cj, s,
                                (c_ptr, c_ids) if contacts is not None else None, trace)
    timings["refine"] = time.perf_counter() - t
    t = time.perf_counter()
    uniq, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.lexsort((uniq, -counts))] = np.arange(uniq.size)
    labels = rank[inverse]
    timings["components"] += time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    log.info("clustered %d ads: %d candidates, %d verified, %d accepted, %d attached and %d "
             "merged by profiles, %d clusters", n, ci.size, n_verified, int(accept.sum()),
             refined.attached, refined.merged, uniq.size)
    return ClusterResult(labels=labels, n_candidates=int(ci.size), n_verified=n_verified,
                         n_accepted=int(accept.sum()), n_vetoed=n_vetoed,
                         n_unsupported=n_unsupported, boilerplate=boilerplate, timings=timings,
                         pair_i=ci[accept], pair_j=cj[accept], pair_sim=est[accept],
                         lsh_neighbours=k, refine=refined, signatures=sig_raw)


# --------------------------------------------------------------------------- templates


@dataclass
class ClusterSummary:
    """One cluster of two or more ads, described for a human.

    ``template`` is the most typical ad's text with the words that vary across the cluster
    replaced by ``⟨…⟩`` slots (the slot shows that ad's value); ``slots`` lists those values;
    ``parts`` holds the same as ``(is_slot, text)`` runs (for safe rendering); ``fixed_share`` is
    the share of the template's words shared by most of the cluster; ``example_index`` is the
    position of that most typical ad in the input.
    """

    cluster_id: int
    n_ads: int
    n_sites: int
    n_cities: int
    first_posted: str
    last_posted: str
    span_days: float
    template: str
    slots: list[str]
    fixed_share: float
    example_index: int
    parts: list[tuple[bool, str]] = field(default_factory=list)


def _template(members: list[list[str]], min_share: float
              ) -> tuple[int, list[tuple[bool, str]], float]:
    """(index of the most typical member, its words as (is_slot, text) runs, fixed share)."""
    sets = [set(m) for m in members]
    freq: Counter[str] = Counter()
    for st in sets:
        freq.update(st)
    need = max(2, int(np.ceil(min_share * len(sets))))
    scores = [sum(freq[w] for w in st) / max(len(st), 1) for st in sets]
    rep = int(np.argmax(scores))
    parts: list[tuple[bool, str]] = []
    fixed = 0
    for w in members[rep]:
        is_slot = freq[w] < need
        fixed += not is_slot
        if parts and parts[-1][0] == is_slot:
            parts[-1] = (is_slot, parts[-1][1] + " " + w)
        else:
            parts.append((is_slot, w))
    return rep, parts, fixed / max(len(members[rep]), 1)


def _days(a: str, b: str) -> float:
    from datetime import datetime

    try:
        return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 86400
    except ValueError:
        return float("nan")


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``; ASCII texts as they are (NFKC leaves them)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _gather(column: Sequence[str | None], idx: np.ndarray) -> list[str | None]:
    """``[column[i] for i in idx]`` (one Arrow take for a :class:`TextColumn`)."""
    if isinstance(column, TextColumn):
        return column.take(idx)
    return [column[i] for i in idx.tolist()]


def _summarise_part(part: tuple) -> list[ClusterSummary]:  # type: ignore[type-arg]
    """Summaries of some clusters (label, member ads); columns given or shared by the pool."""
    groups, cols, sample, min_share = part
    texts, sites, cities, posted_at = cols if cols is not None else (
        shared_column(k) for k in ("text", "site", "city", "posted_at"))
    out: list[ClusterSummary] = []
    # the part's column values in one gather per column (not one read per ad and column)
    every = (np.concatenate([idx for _, idx in groups]) if groups
             else np.zeros(0, dtype=np.int64))
    site_v, city_v, time_v = (_gather(c, every) if c is not None else None
                              for c in (sites, cities, posted_at))
    at = 0
    for label, idx in groups:
        pick = idx[:: max(1, idx.size // sample)][:sample]
        members = [_DISPLAY_RE.findall(_nfkc(texts[i] or "").lower()) for i in pick]
        rep, parts, fixed_share = _template(members, min_share)
        template = " ".join(f"⟨{t}⟩" if slot else t for slot, t in parts)
        slots = [t for slot, t in parts if slot]
        end = at + idx.size
        site_set = ({x for x in site_v[at:end] if x} if site_v is not None else set())
        city_set = ({(x or "").strip().lower() for x in city_v[at:end] if x}
                    if city_v is not None else set())
        times = sorted(p for p in time_v[at:end] if p) if time_v is not None else []
        at = end
        first, last = (times[0], times[-1]) if times else ("", "")
        out.append(ClusterSummary(int(label), int(idx.size), len(site_set), len(city_set),
                                  first, last, _days(first, last) if times else float("nan"),
                                  template, slots, fixed_share, int(pick[rep]), parts))
    return out


def summarise_clusters(texts: Sequence[str], labels: np.ndarray,
                       sites: Sequence[str | None] | None = None,
                       cities: Sequence[str | None] | None = None,
                       posted_at: Sequence[str | None] | None = None,
                       min_size: int = 2, sample: int = 25, min_share: float = 0.6,
                       pool: WorkerPools | None = None) -> list[ClusterSummary]:
    """Summaries of the clusters with at least ``min_size`` ads, largest first.

    The template is built from a deterministic sample of at most ``sample`` ads per cluster; a
    word is fixed when at least ``min_share`` of the sample holds it. Counts of sites and cities
    ignore empty values; times are ISO 8601 strings (empty or unparseable ones are ignored).
    With ``pool`` sharing these texts and columns, clusters are summarised in its ``cluster``
    workers, in parts of about ``_PART`` ads (the same summaries).
    """
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    ls = labels[order]
    bounds = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1], True])
    groups = [(ls[bounds[g]], order[bounds[g]:bounds[g + 1]]) for g in range(bounds.size - 1)
              if bounds[g + 1] - bounds[g] >= min_size]
    shared = (pool is not None and pool.cluster is not None
              and pool.shares(texts, site=sites, city=cities, posted_at=posted_at))
    cols = None if shared else (texts, sites, cities, posted_at)
    parts: list[tuple] = []  # type: ignore[type-arg]
    size = 0
    for g in groups:
        if not parts or size >= _PART:
            parts.append(([], cols, sample, min_share))
            size = 0
        parts[-1][0].append(g)
        size += g[1].size
    out = [c for res in run_parts(pool.cluster if shared else None, _summarise_part, parts)
           for c in res]
    out.sort(key=lambda c: (-c.n_ads, c.cluster_id))
    return out
