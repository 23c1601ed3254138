"""The compiled kernels (safelight.detect.kernels) give what the NumPy code they replace gives."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.detect import kernels, setops, templates
from safelight.detect.contacts import extract_contacts
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.templates import ClusterSettings, cluster_ads

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")

_NAMES = ("intersect_count", "bucket_order", "sample_coherence", "member_sorted", "minhash",
          "intersect_distinct")


@pytest.fixture
def numpy_only(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A function that switches every kernel off (the NumPy code runs)."""
    def off() -> None:
        for name in _NAMES:
            monkeypatch.setattr(kernels, name, None)
    return off


def _csr(rng: np.random.Generator, rows: int, universe: int, dup: bool) -> tuple:  # type: ignore[type-arg]
    lens = rng.integers(0, 25, rows)
    items = [np.sort(rng.choice(universe, k, replace=dup)) for k in lens]
    return np.r_[0, np.cumsum(lens)].astype(np.int64), np.concatenate(items).astype(np.int64)


@pytest.mark.parametrize("dup", [False, True])
def test_intersections_match_the_sort_count(numpy_only, dup: bool) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    a, b = _csr(rng, 300, 60, dup), _csr(rng, 200, 60, dup)
    i, j = rng.integers(0, 300, 5_000), rng.integers(0, 200, 5_000)
    got = setops.cross_intersections(a, i, b, j)
    same = setops.exact_jaccard(a[0], a[1], i, j, other=b)
    distinct = kernels.intersect_distinct(a[0], a[1], i, b[0], b[1], j)
    numpy_only()
    assert np.array_equal(got, setops.cross_intersections(a, i, b, j))
    if not dup:  # sets (what exact_jaccard takes): the plain intersection
        assert np.array_equal(distinct, got)
        assert np.array_equal(same, setops.exact_jaccard(a[0], a[1], i, j, other=b))
        k = 7
        ra = set(a[1][a[0][i[k]]:a[0][i[k] + 1]].tolist())
        rb = set(b[1][b[0][j[k]]:b[0][j[k] + 1]].tolist())
        assert got[k] == len(ra & rb)


def test_bucket_order_is_the_lexsort() -> None:
    rng = np.random.default_rng(2)
    for buckets in (3, 50, 4_000):  # long runs (sorted), short runs (insertion), singletons
        key = rng.integers(0, buckets, 6_000).astype(np.uint64)
        rnd = rng.random(6_000)
        rnd[::5] = 0.5  # ties of the random value: by position, as the stable lexsort
        assert np.array_equal(kernels.bucket_order(key, rnd), np.lexsort((rnd, key)))


def test_sample_coherence_is_the_same_to_the_bit(numpy_only) -> None:  # noqa: ANN001
    rng = np.random.default_rng(3)
    f_idx = rng.integers(0, 400, 30_000)
    d_sel = rng.integers(0, 2_000, 30_000)
    noise = rng.random(30_000)
    noise[::9] = 0.125
    sig = rng.integers(0, 3, (2_000, 32)).astype(np.uint32)
    got = templates._sample_coherence(f_idx, d_sel, noise, sig, 10)
    numpy_only()
    assert np.array_equal(got, templates._sample_coherence(f_idx, d_sel, noise, sig, 10))


def test_membership_matches_isin(numpy_only) -> None:  # noqa: ANN001
    rng = np.random.default_rng(4)
    values = rng.integers(-2**63, 2**63 - 1, 50_000, dtype=np.int64)
    ids = np.unique(np.r_[values[:300], rng.integers(-2**63, 2**63 - 1, 300, dtype=np.int64)])
    got = templates._member(values, ids)
    assert got.sum() >= 300
    numpy_only()
    assert np.array_equal(got, templates._member(values, ids))
    assert np.array_equal(got, np.isin(values, ids))


def test_minhash_is_the_same_to_the_bit(numpy_only) -> None:  # noqa: ANN001
    rng = np.random.default_rng(6)
    lens = rng.integers(1, 40, 3_000)
    doc = np.repeat(np.arange(lens.size), lens)
    # any int64 ids: negative ones (private features, ads without words) and huge ones
    feat = rng.integers(-2**63, 2**63 - 1, doc.size, dtype=np.int64)
    feat[::3] = rng.integers(-50, 5_000, feat[::3].size)
    got = {k: setops.minhash_signatures(doc, feat, lens.size, k, 7, 500) for k in (1, 32, 128)}
    numpy_only()
    for k, sig in got.items():
        assert sig.dtype == np.uint32 and sig.shape == (lens.size, k)
        assert np.array_equal(sig, setops.minhash_signatures(doc, feat, lens.size, k, 7, 500))
    assert np.unique(got[128][:, 0]).size > 1_000  # not a constant


def test_lsh_candidates_are_the_same(numpy_only) -> None:  # noqa: ANN001
    rng = np.random.default_rng(5)
    sig = rng.integers(0, 4, (3_000, 16)).astype(np.uint32)
    got = setops.lsh_candidates_grown(sig, 2, 9, 1, 3, 30_000)
    numpy_only()
    want = setops.lsh_candidates_grown(sig, 2, 9, 1, 3, 30_000)
    assert got[2] == want[2] and got[2] > 1
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_clustering_is_the_same_without_kernels(numpy_only) -> None:  # noqa: ANN001
    corpus = generate_corpus(CorpusSettings(n_ads=1_500, seed=11, edit_rate=0.13))
    texts = list(corpus.text)
    contacts = [[c.key for c in extract_contacts(t)] for t in texts]
    got = cluster_ads(texts, ClusterSettings(), contacts, trace=True)
    numpy_only()
    want = cluster_ads(texts, ClusterSettings(), contacts, trace=True)
    assert np.array_equal(got.labels, want.labels)
    assert np.array_equal(got.pair_sim, want.pair_sim)
    assert [b[:2] for b in got.boilerplate] == [b[:2] for b in want.boilerplate]
    for a, b in zip(got.refine.trace, want.refine.trace, strict=True):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_preload_loads_every_kernel() -> None:
    kernels.preload()
    for name in ("_intersect_count", "_intersect_distinct", "_fix_runs", "_sample_coherence",
                 "_member_sorted", "_minhash"):
        assert getattr(kernels, name).signatures, name  # compiled or loaded from the cache
