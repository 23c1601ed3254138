"""Profile refinement (`safelight.detect.profiles`) and the set kernels it uses (`setops`)."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.detect.contacts import extract_contacts
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.metrics import pairwise_scores
from safelight.detect.setops import LshIndex, exact_jaccard, lsh_join, minhash_signatures
from safelight.detect.templates import ClusterSettings, cluster_ads


def test_exact_jaccard_known_values() -> None:
    # rows: {0,1,2,3}, {2,3,4,5}, {}, {9}
    indptr = np.array([0, 4, 8, 8, 9])
    rank = np.array([0, 1, 2, 3, 2, 3, 4, 5, 9])
    sim = exact_jaccard(indptr, rank, np.array([0, 0, 2, 3]), np.array([1, 0, 3, 3]))
    assert sim.tolist() == [pytest.approx(2 / 6), 1.0, 0.0, 1.0]


def test_lsh_join_pairs_share_a_bucket() -> None:
    rng = np.random.default_rng(1)
    sets = [rng.choice(1000, 40, replace=False) for _ in range(30)]
    queries = [np.r_[s[:36], rng.choice(np.arange(1000, 2000), 4)] for s in sets[:10]]
    def sig(rows: list[np.ndarray]) -> np.ndarray:
        doc = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        feat = np.concatenate([np.sort(r) for r in rows])
        return minhash_signatures(doc, feat, len(rows), 32, seed=4)
    a, b = lsh_join(sig(queries), sig(sets), 2, 4, seed=0)
    found = set(zip(a.tolist(), b.tolist(), strict=True))
    # every query meets the set it was drawn from (Jaccard 0.82), and no pair is made up
    assert {(k, k) for k in range(10)} <= found
    sq, ss = sig(queries), sig(sets)
    agree = (sq[a].reshape(a.size, 16, 2) == ss[b].reshape(b.size, 16, 2)).all(axis=2)
    assert agree.any(axis=1).all()


def _corpus(seed: int) -> tuple[list[str], list[int], list[list[str]]]:
    c = generate_corpus(CorpusSettings(n_ads=3000, seed=seed, edit_rate=0.13,
                                       max_boilerplate=3, copy_share=0.15))
    contacts = [[x.key for x in extract_contacts(t, r)]
                for t, r in zip(c.text, c.region, strict=True)]
    return c.text, c.operator, contacts


@pytest.mark.parametrize("seed", [5, 11])
def test_profiles_recover_heavily_edited_ads(seed: int) -> None:
    """13% word edits, boilerplate and copied templates: pairwise links alone lose 6–10% of
    the true pairs; attaching ads to cluster profiles and merging fragments recovers most of
    them without losing precision, and it never splits what the links joined."""
    texts, truth, contacts = _corpus(seed)
    base = cluster_ads(texts, ClusterSettings(refine_rounds=0), contacts)
    ref = cluster_ads(texts, ClusterSettings(), contacts)
    b, r = pairwise_scores(base.labels, truth), pairwise_scores(ref.labels, truth)
    assert r["recall"] >= b["recall"] + 0.04, (b, r)
    assert r["precision"] >= 0.99 and r["f1"] >= 0.99, r
    assert ref.refine.attached > 0 and ref.refine.merged > 0
    # coarser, never finer: each first-step cluster lies inside one refined cluster
    pairs = np.unique(np.c_[base.labels, ref.labels], axis=0)
    assert np.unique(pairs[:, 0]).size == pairs.shape[0]


def test_refine_in_parts_is_the_same() -> None:
    """Attaching ads range by range (bounded memory) gives the very pairs, similarities and
    labels of one pass."""
    texts, _, contacts = _corpus(5)
    whole = cluster_ads(texts, ClusterSettings(), contacts, trace=True)
    parts = cluster_ads(texts, ClusterSettings(refine_part=37), contacts, trace=True)
    assert np.array_equal(whole.labels, parts.labels)
    assert whole.refine.attached == parts.refine.attached > 0
    for a, b in zip(whole.refine.trace, parts.refine.trace, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), k


def test_lsh_index_by_parts_equals_one_join() -> None:
    rng = np.random.default_rng(2)
    sig_a = rng.integers(0, 5, size=(300, 8)).astype(np.uint32)
    sig_b = rng.integers(0, 5, size=(50, 8)).astype(np.uint32)
    a, b = lsh_join(sig_a, sig_b, 2, 3, seed=9)
    index = LshIndex(sig_b, 2, seed=9)
    got = set()
    for lo in range(0, 300, 70):
        pa, pb = index.join(sig_a[lo:lo + 70], 3)
        got |= set(zip((pa + lo).tolist(), pb.tolist(), strict=True))
    assert got == set(zip(a.tolist(), b.tolist(), strict=True)) and len(got) > 100


def test_copied_template_stays_apart() -> None:
    """Operator B copied half of A's template: their profiles are compared and found below
    the merge threshold (a looser threshold would merge them: the guard is the threshold)."""
    rng = np.random.default_rng(3)
    letters = list("abcdefghijklmnopqrstuvwxyz")

    def word(k: int = 6) -> str:
        return "".join(rng.choice(letters, k))

    tpl_a = [word() for _ in range(30)]
    tpl_b = tpl_a[:15] + [word() for _ in range(15)]
    texts, truth = [], []
    for k, tpl in enumerate([tpl_a, tpl_b]):
        for _ in range(12):
            texts.append(" ".join(word(5) if rng.random() < 0.1 else w for w in tpl))
            truth.append(k)
    texts += [" ".join(word() for _ in range(30)) for _ in range(40)]
    truth += list(range(100, 140))
    res = cluster_ads(texts, trace=True)
    assert pairwise_scores(res.labels, truth)["f1"] == 1.0
    first = res.refine.trace[0]
    la, lb = first["labels"][0], first["labels"][12]
    hit = ((first["cluster_a"] == min(la, lb)) & (first["cluster_b"] == max(la, lb)))
    assert hit.sum() == 1
    assert 0.2 < first["merge_sim"][hit][0] < ClusterSettings().merge_threshold
    loose = cluster_ads(texts, ClusterSettings(merge_threshold=0.2))
    assert loose.labels[0] == loose.labels[12]
