"""Work split over ranges of ads (and over worker processes) gives the answers of one pass."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.detect import templates
from safelight.detect.contacts import _WORD_RE, NUMBER_WORDS, _few_number_words
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.metrics import pairwise_scores
from safelight.detect.parallel import WorkerPools, run_parts, shared_column
from safelight.detect.setops import minhash_signatures
from safelight.detect.templates import (
    ClusterSettings,
    _feature_csr,
    _features,
    _signatures,
    _tokens,
    _trigrams,
    cluster_ads,
    summarise_clusters,
)


@pytest.fixture(scope="module")
def corpus():  # noqa: ANN201
    return generate_corpus(CorpusSettings(n_ads=900, seed=5, edit_rate=0.13))


def test_tokens_in_parts_equal_one_pass(corpus) -> None:  # noqa: ANN001
    texts = list(corpus.text) + ["", "12 34", "ünï ünï"]
    tok, doc, words = _tokens(texts, chunk=10**9)
    for chunk in (1, 7, 250):
        t2, d2, w2 = _tokens(texts, chunk=chunk)
        assert w2 == words and np.array_equal(t2, tok) and np.array_equal(d2, doc)


def test_signatures_over_ranges_equal_one_pass(corpus) -> None:  # noqa: ANN001
    texts = list(corpus.text) + ["", "only 1234"]
    tok, tdoc, words = _tokens(texts)
    n, v = len(texts), len(words)
    t_len = np.bincount(tdoc, minlength=n)
    private = np.random.default_rng(4).random(tok.size) < 0.2
    for priv in (None, private):
        d, f = _features(tok, tdoc, n, v, True, priv)
        whole = minhash_signatures(d, f, n, 16, 3)
        for parts in (1, 5, 64):
            got, extra = _signatures(None, tok, t_len, v, True, priv, 16, 3, 1_000, parts,
                                     extras=("features", "trigrams"))()
            assert np.array_equal(got, whole)
            ptr, feat = _feature_csr(tok, tdoc, n, v, True, priv)
            assert np.array_equal(extra["features"][0], ptr)
            assert np.array_equal(extra["features"][1], feat)
            start, h = _trigrams(tok, tdoc, v)
            assert extra["trigrams"][0].dtype == start.dtype
            assert np.array_equal(extra["trigrams"][0], start)
            assert np.array_equal(extra["trigrams"][1], h)


def test_cluster_workers_change_nothing(corpus, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(templates, "_PART", 100)  # several tasks per step, even at 900 ads
    texts = list(corpus.text)
    one = cluster_ads(texts)
    pools = WorkerPools(2, texts, site=corpus.site, city=corpus.city,
                        posted_at=corpus.posted_at)
    try:
        two = cluster_ads(texts, pool=pools)
        s1 = summarise_clusters(texts, one.labels, corpus.site, corpus.city, corpus.posted_at)
        s2 = summarise_clusters(texts, two.labels, corpus.site, corpus.city, corpus.posted_at,
                                pool=pools)
    finally:
        pools.close()
    assert np.array_equal(one.labels, two.labels)
    assert np.array_equal(one.signatures, two.signatures)
    assert one.boilerplate == two.boilerplate
    assert len(s1) > 10 and s1 == s2
    with pytest.raises(RuntimeError, match="no column"):
        shared_column("text")  # closed pools share nothing


def test_run_parts_inline_and_in_a_pool() -> None:
    assert run_parts(None, abs, [-1, 2, -3]) == [1, 2, 3]
    pools = WorkerPools(2, ["a"])
    try:
        assert run_parts(pools.cluster, abs, list(range(-50, 0))) == list(range(50, 0, -1))
    finally:
        pools.close()


@pytest.mark.slow
def test_boilerplate_found_on_a_sample_keeps_quality() -> None:
    corpus = generate_corpus(CorpusSettings(n_ads=3_000, seed=11, edit_rate=0.13,
                                            max_boilerplate=3, copy_share=0.15))
    full = cluster_ads(corpus.text)
    part = cluster_ads(corpus.text, ClusterSettings(boilerplate_sample=1_000))
    f_full = pairwise_scores(full.labels, corpus.operator)
    f_part = pairwise_scores(part.labels, corpus.operator)
    assert f_part["f1"] >= f_full["f1"] - 0.02 and f_part["precision"] >= 0.97
    # the sample finds the same stock phrases, with frequencies scaled to the corpus
    common = {b[0] for b in full.boilerplate} & {b[0] for b in part.boilerplate}
    assert len(common) >= len(full.boilerplate) // 2 > 0


def test_number_word_gate_never_counts_fewer_than_the_pattern() -> None:
    rng = np.random.default_rng(8)
    words = [*NUMBER_WORDS, "girl", "İKİ", "ſix", "SEVEN", "ОДИН", "Дев'ять", "straße", "ı",
             "nıne", "NINE", "DOS", "3", "x1", "oh", "ohm"]
    for _ in range(3_000):
        picked = rng.choice(len(words), int(rng.integers(0, 9)))
        seps = rng.choice([" ", "-", "", ", ", "_", "1"], picked.size)
        text = "".join(words[k] + s for k, s in zip(picked, seps, strict=True))
        exact = sum(1 for m in _WORD_RE.finditer(text) if not m.group(0).isdigit())
        if _few_number_words(text):
            assert exact < 3, text
    assert not _few_number_words("nine one seven")
    assert _few_number_words("one girl, two friends")


def test_two_analyses_in_one_process_never_read_each_others_ads() -> None:
    """The shared columns are process-wide: a second analysis started from another thread
    waits for the first instead of overwriting its ads (each gets its own contacts)."""
    import threading

    from safelight.detect.pipeline import AdTable, analyse

    def table(seed: int) -> AdTable:
        c = generate_corpus(CorpusSettings(n_ads=400, seed=seed))
        return AdTable(list(c.ad_id), list(c.text), list(c.site), list(c.city),
                       list(c.posted_at), list(c.region))

    tables = {"a": table(1), "b": table(2)}
    alone = {k: analyse(t, workers=1, indicators=False).contacts for k, t in tables.items()}
    together: dict[str, list[list[str]]] = {}

    def run(name: str) -> None:
        together[name] = analyse(tables[name], workers=1, indicators=False, chunk=50).contacts

    threads = [threading.Thread(target=run, args=(k,)) for k in tables]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone


def test_one_thread_cannot_open_two_worker_pools() -> None:
    pools = WorkerPools(1, ["a"])
    try:
        with pytest.raises(RuntimeError, match="already has active WorkerPools"):
            WorkerPools(1, ["b"])
        assert shared_column("text") == ["a"]
    finally:
        pools.close()
    pools.close()  # closing twice is harmless
