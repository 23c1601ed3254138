"""The memory-bounded parts of detect give the same answers as the plain ones."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.detect.columns import TextColumn
from safelight.detect.contacts import deobfuscate
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.indicators import IndicatorTable, load_lexicon, score_text
from safelight.detect.pipeline import AdTable, analyse
from safelight.detect.profiles import _profiles
from safelight.detect.setops import cross_intersections, exact_jaccard
from safelight.detect.templates import _feature_csr, _features, _tokens
from safelight.detect.testdata import contact_cases


@pytest.fixture(scope="module")
def corpus():  # noqa: ANN201
    return generate_corpus(CorpusSettings(n_ads=600, seed=3, edit_rate=0.13))


def test_text_column_reads_like_the_list(corpus) -> None:  # noqa: ANN001
    texts = list(corpus.text) + ["", "дев'ять 🔟 ünï"]
    col = TextColumn.from_texts(texts, chunk=97)
    assert len(col) == len(texts)
    assert list(col) == texts
    assert col[5] == texts[5] and col[-1] == texts[-1]
    assert col[10:20] == texts[10:20] and col[::50] == texts[::50]
    idx = np.array([len(texts) - 1, 0, 7, 7, 3])
    assert col.take(idx) == [texts[i] for i in idx] and col.take([]) == []
    assert col == texts and TextColumn.concat([col, col]) == texts + texts
    assert col.nbytes < sum(len(t.encode()) for t in texts) + 9 * (len(texts) + 1)


def test_indicator_table_rebuilds_every_score(corpus) -> None:  # noqa: ANN001
    lex = load_lexicon()
    texts = list(corpus.text[:300]) + [c.text for c in contact_cases(100, 4)] + [
        "Work abroad, no experience needed, visa and travel paid, 5000 EUR per week", ""]
    scores = [score_text(t, lex) for t in texts]
    half = len(texts) // 2
    table = IndicatorTable.concat([IndicatorTable.pack(scores[:half], lex),
                                   IndicatorTable.pack(scores[half:], lex)], texts, lex)
    assert len(table) == len(texts)
    assert [table[i] for i in range(len(texts))] == scores
    assert any(h.language == "numeric" for h in table[-2].hits)
    assert [table.indicator_ids(i) for i in range(len(texts))] == [s.indicators for s in scores]
    assert table.n_with_hits() == sum(1 for s in scores if s.indicators)
    # the ad_scores.csv strings, made without building the hits
    assert [table.explained(i) for i in range(len(texts))] == [
        (";".join(s.indicators), " | ".join(s.reasons())) for s in scores]
    assert sum(1 for i in range(len(texts)) if table.explained(i)[1]) > 50
    # a group's indicator counts, per distinct set of indicators
    rng = np.random.default_rng(5)
    for idx in [np.arange(len(texts))] + [rng.choice(len(texts), k) for k in (1, 7, 60)]:
        want: dict[str, int] = {}
        for i in idx.tolist():
            for ind in scores[i].indicators:
                want[ind] = want.get(ind, 0) + 1
        assert table.indicator_counts(idx) == want


def test_chunked_features_equal_one_pass(corpus) -> None:  # noqa: ANN001
    texts = list(corpus.text[:200]) + ["", "123 456"] + list(corpus.text[200:260])
    tok, tdoc, words = _tokens(texts)
    private = np.zeros(tok.size, dtype=bool)
    private[::7] = True
    for priv in (None, private):
        d1, f1 = _features(tok, tdoc, len(texts), len(words), True, priv)
        d2, f2 = _features(tok, tdoc, len(texts), len(words), True, priv, chunk=37)
        assert np.array_equal(d1, d2) and np.array_equal(f1, f2)
        assert (np.diff(d1) >= 0).all()
        assert set(np.unique(d1)) == set(range(len(texts)))  # the empty ads have a feature
        # the CSR form (ads counted, never listed) holds the same rows
        for chunk in (37, 2_000_000):
            ptr, f3 = _feature_csr(tok, tdoc, len(texts), len(words), True, priv, chunk=chunk)
            assert np.array_equal(ptr, np.searchsorted(d1, np.arange(len(texts) + 1)))
            assert np.array_equal(f3, f1) and f3.base is None


def test_intersections_on_raw_ids_match_sets() -> None:
    rng = np.random.default_rng(1)
    sets = [np.unique(rng.choice([-(10**12), -5, 0, 3, 7, 10**11, 2**40, 99], size=k))
            for k in rng.integers(0, 8, size=40)]
    ptr = np.concatenate([[0], np.cumsum([s.size for s in sets])])
    ids = np.concatenate(sets).astype(np.int64)
    i, j = rng.integers(0, 40, size=300), rng.integers(0, 40, size=300)
    want = [len(set(sets[a].tolist()) & set(sets[b].tolist())) for a, b in zip(i, j, strict=True)]
    assert cross_intersections((ptr, ids), i, (ptr, ids), j, chunk=17).tolist() == want
    jac = exact_jaccard(ptr, ids, i, j)
    for k, (a, b) in enumerate(zip(i, j, strict=True)):
        union = len(set(sets[a].tolist()) | set(sets[b].tolist()))
        assert jac[k] == pytest.approx(want[k] / union if union else 0.0)


def test_profiles_counted_in_chunks_equal_one_pass(corpus) -> None:  # noqa: ANN001
    texts = list(corpus.text)
    tok, tdoc, words = _tokens(texts)
    doc, feat = _features(tok, tdoc, len(texts), len(words), True)
    roots = np.asarray(corpus.operator)
    ptr = np.searchsorted(doc, np.arange(len(texts) + 1))
    one = _profiles(len(texts), ptr, feat, roots, 0.5)
    many = _profiles(len(texts), ptr, feat, roots, 0.5, chunk=500)
    for a, b in zip(one, many, strict=True):
        assert np.array_equal(a, b)
    lab, size, _, pr_ptr, pf = one
    big = int(np.argmax(size))
    members = np.flatnonzero(lab == big)
    counts: dict[int, int] = {}
    for m in members:
        for f in feat[doc == m].tolist():
            counts[f] = counts.get(f, 0) + 1
    need = max(2, int(np.ceil(0.5 * members.size)))
    assert pf[pr_ptr[big]:pr_ptr[big + 1]].tolist() == sorted(
        f for f, c in counts.items() if c >= need and f >= 0)


def test_workers_overlapping_the_clustering_change_nothing(corpus) -> None:  # noqa: ANN001
    ads = AdTable(corpus.ad_id, TextColumn.from_texts(corpus.text), corpus.site, corpus.city,
                  corpus.posted_at, corpus.region)
    one = analyse(ads, workers=1)
    two = analyse(ads, workers=2, chunk=150)
    assert np.array_equal(one.clusters.labels, two.clusters.labels)
    assert one.contacts == two.contacts
    assert [one.indicators[i] for i in range(len(ads))] == [
        two.indicators[i] for i in range(len(ads))]
    assert [(ld.lead_id, ld.score) for ld in one.leads] == [
        (ld.lead_id, ld.score) for ld in two.leads]


def test_read_ads_gives_compact_columns_with_the_same_results(corpus, tmp_path) -> None:  # noqa: ANN001
    import csv

    from safelight.detect.pipeline import read_ads

    path = tmp_path / "ads.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "site", "city", "posted_at", "region"])
        w.writerows(zip(corpus.ad_id, corpus.text, corpus.site, corpus.city, corpus.posted_at,
                        corpus.region, strict=True))
    ads, quarantine, rows = read_ads(path)
    assert rows == len(corpus.ad_id) and not quarantine
    for name in ("ad_id", "text", "site", "city", "posted_at", "region"):
        col = getattr(ads, name)
        assert isinstance(col, TextColumn), name
        assert list(col) == [v.strip() for v in getattr(corpus, name)], name
    plain = AdTable(corpus.ad_id, corpus.text, corpus.site, corpus.city, corpus.posted_at,
                    corpus.region)
    a, b = analyse(ads, workers=2), analyse(plain, workers=1)
    assert np.array_equal(a.clusters.labels, b.clusters.labels)
    assert [(c.cluster_id, c.n_sites, c.n_cities, c.first_posted, c.template)
            for c in a.cluster_summaries] == [
        (c.cluster_id, c.n_sites, c.n_cities, c.first_posted, c.template)
        for c in b.cluster_summaries]
    assert [(ld.lead_id, ld.score, ld.example_ad_ids) for ld in a.leads] == [
        (ld.lead_id, ld.score, ld.example_ad_ids) for ld in b.leads]
    assert a.network_summaries == b.network_summaries and len(a.network_summaries) > 10


def test_number_word_gate_keeps_runs() -> None:
    assert deobfuscate("call nine one seven five five five zero one two three") == (
        "call 9 1 7 5 5 5 0 1 2 3")
    assert deobfuscate("ДЕВ'ЯТЬ один сім п'ять п'ять п'ять нуль") == "9 1 7 5 5 5 0"
    assert deobfuscate("one girl, two friends, three nights") == (
        "one girl, two friends, three nights")


def test_lsh_levels_in_one_pass_equal_repeated_runs() -> None:
    from safelight.detect import setops

    rng = np.random.default_rng(2)
    sig = rng.integers(0, 5, (2_000, 12)).astype(np.uint32)
    for k in (1, 2, 3):
        pairs = setops.lsh_candidates(sig, 2, 9, k)
        key = pairs[0] * sig.shape[0] + pairs[1]
        assert np.array_equal(key, np.unique(key))  # sorted, distinct
        small = np.union1d(np.union1d(*setops._lsh_levels(sig, 2, 9, 3, flush=500)[:2]),
                           np.zeros(0, dtype=np.int64)) if k == 2 else None
        if small is not None:
            assert np.array_equal(key, small)
    one = setops.lsh_candidates(sig, 2, 9, 1)[0].size
    ci, _, k = setops.lsh_candidates_grown(sig, 2, 9, 1, 3, one + 1)
    assert k == 2 and ci.size == setops.lsh_candidates(sig, 2, 9, 2)[0].size


def test_sharded_coherence_equals_one_shard(corpus) -> None:  # noqa: ANN001
    from safelight.detect.setops import minhash_signatures
    from safelight.detect.templates import _coherence, _trigrams

    texts = list(corpus.text)
    tok, tdoc, words = _tokens(texts)
    doc, feat = _features(tok, tdoc, len(texts), len(words), True)
    sig = minhash_signatures(doc, feat, len(texts), 32, 8)
    start, h = _trigrams(tok, tdoc, len(words))
    one = _coherence(tdoc[start], h.view(np.int64), sig, 5, 10, 9)
    assert one[0].size > 50 and (np.diff(one[0]) > 0).all()
    for size in (5_000, 777):
        many = _coherence(tdoc[start], h.view(np.int64), sig, 5, 10, 9, shard_size=size)
        for a, b in zip(one, many, strict=True):
            assert np.array_equal(a, b)


def test_outputs_written_by_a_forked_child_are_the_same(corpus, tmp_path) -> None:  # noqa: ANN001
    from safelight.detect.leads import build_leads
    from safelight.detect.pipeline import write_outputs

    ads = AdTable(corpus.ad_id, TextColumn.from_texts(corpus.text), corpus.site, corpus.city,
                  corpus.posted_at, corpus.region)
    a = analyse(ads, workers=1)
    inline = write_outputs(a, tmp_path / "inline", fork_from=10**9)
    forked = write_outputs(a, tmp_path / "forked", fork_from=0)
    for name in ("ad_scores.csv", "clusters.csv", "networks.csv", "leads.csv", "leads.html"):
        assert (inline / name).read_bytes() == (forked / name).read_bytes(), name
    assert sorted(p.name for p in inline.iterdir()) == sorted(p.name for p in forked.iterdir())
    assert (forked / "ad_scores.csv").read_text("utf-8").count("\n") == len(ads) + 1
    # leads from the compact indicator table and from the plain scores: the same reasons
    plain = [a.indicators[i] for i in range(len(ads))]
    args = (ads.ad_id, a.contacts, a.clusters.labels, a.cluster_summaries, a.networks,
            a.network_summaries)
    one = build_leads(*args, indicator_scores=a.indicators, texts=ads.text)
    two = build_leads(*args, indicator_scores=plain, texts=ads.text)
    assert [(ld.lead_id, ld.score, ld.reasons, ld.indicator_ad) for ld in one] == [
        (ld.lead_id, ld.score, ld.reasons, ld.indicator_ad) for ld in two]
    assert any(r.code == "indicators" for ld in one for r in ld.reasons)


def test_a_failing_forked_writer_raises(corpus, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from safelight.detect import pipeline
    from safelight.errors import SafelightError

    ads = AdTable(corpus.ad_id[:200], TextColumn.from_texts(corpus.text[:200]),
                  corpus.site[:200], corpus.city[:200], corpus.posted_at[:200],
                  corpus.region[:200])
    a = analyse(ads, workers=1)

    write = pipeline._write_ad_scores

    def broken(a, path, lo=0, hi=None, header=True) -> None:  # noqa: ANN001
        if lo == 0:  # the child's share: fails after writing part of its rows
            write(a, path, 0, 20, header)
            raise OSError("disk full")
        write(a, path, lo, hi, header)

    monkeypatch.setattr(pipeline, "_write_ad_scores", broken)
    with pytest.raises(SafelightError, match="disk full"):
        pipeline.write_outputs(a, tmp_path / "out", fork_from=0)
    out = tmp_path / "out"
    assert (out / "leads.csv").exists()  # the others were written meanwhile
    # nothing that looks complete: no truncated ad_scores.csv, no summary, no hidden parts
    assert not (out / "ad_scores.csv").exists()
    assert not (out / "summary.json").exists()
    assert not list(out.glob(".*"))


def test_a_failure_in_the_other_files_leaves_no_ad_scores(corpus, tmp_path, monkeypatch
                                                          ) -> None:  # noqa: ANN001
    from safelight.detect import pipeline

    ads = AdTable(corpus.ad_id[:200], TextColumn.from_texts(corpus.text[:200]),
                  corpus.site[:200], corpus.city[:200], corpus.posted_at[:200],
                  corpus.region[:200])
    a = analyse(ads, workers=1)

    def broken(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise OSError("no space left")

    monkeypatch.setattr(pipeline, "render_html", broken)
    with pytest.raises(OSError, match="no space left"):
        pipeline.write_outputs(a, tmp_path / "out", fork_from=0)
    out = tmp_path / "out"
    assert not (out / "ad_scores.csv").exists() and not (out / "summary.json").exists()
    assert not list(out.glob(".*"))
