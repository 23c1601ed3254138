"""Privacy-preserving linkage: Dice kernel, one-to-one, packages, end to end on encodings."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pyarrow as pa
import pytest

from safelight.identity.encode import EncodingError, EncodingSettings, encode_table, write_package
from safelight.link import pairwise_scores
from safelight.link.encoded import ENCODED_FIELDS, compare_encoded, dice, read_packages
from safelight.link.onetoone import one_to_one
from safelight.link.pprl import (
    PPRL_SESSIONS,
    PRIOR_SESSION,
    TRAINING_KEYS,
    PPRLSettings,
    encoded_candidate_pairs,
    link_encoded,
)

KEY = bytes(range(1, 33))

GIVEN = ["Olena", "Mykola", "Iryna", "Taras", "Oksana", "Andrii", "Natalia", "Serhii", "Ngozi",
         "Chinedu", "Amina", "Tunde", "Maria", "Ion", "Elena", "Mihai", "Anna", "Pavlo", "Yulia",
         "Bohdan", "Halyna", "Roman", "Svitlana", "Vasyl", "Kateryna", "Dmytro", "Emeka", "Ada"]
FAMILY = ["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Oliinyk",
          "Okeke", "Adeyemi", "Popescu", "Ionescu", "Moroz", "Lysenko", "Melnyk", "Savchenko",
          "Rudenko", "Petrenko", "Marchenko", "Okafor", "Balogun", "Dumitru", "Stan", "Hrytsenko",
          "Pavlenko", "Levchenko", "Kuzmenko", "Zinchenko", "Babenko", "Ponomarenko"]
TOWNS = ["Lviv", "Kyiv", "Odesa", "Lagos", "Benin City", "Iasi", "Kharkiv", "Dnipro"]


def _typo(s: str, rng: random.Random) -> str:
    i = rng.randrange(len(s))
    op = rng.random()
    if op < 0.4:
        return s[:i] + s[i + 1:]
    if op < 0.7 and i < len(s) - 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + rng.choice("aeiourstnl") + s[i + 1:]


def _people(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for p in range(n):
        out.append({"pid": p, "given_name": rng.choice(GIVEN), "family_name": rng.choice(FAMILY),
                    "birth_year": rng.randint(1950, 2008), "birth_month": rng.randint(1, 12),
                    "birth_day": rng.randint(1, 28), "sex": rng.choice("FM"),
                    "locality": rng.choice(TOWNS)})
    return out


def _observe(person: dict, rng: random.Random, rid: str) -> dict:
    r = dict(person, record_id=rid)
    if rng.random() < 0.25:
        r["given_name"] = _typo(r["given_name"], rng)
    if rng.random() < 0.25:
        r["family_name"] = _typo(r["family_name"], rng)
    if rng.random() < 0.08:
        r["birth_day"], r["birth_month"] = r["birth_month"], r["birth_day"]
    if rng.random() < 0.08:
        r["birth_year"] = r["birth_year"] + rng.choice((-1, 1))
    if rng.random() < 0.05:
        r["birth_year"] = r["birth_month"] = r["birth_day"] = None
    return r


def _table(rows: list[dict]) -> pa.Table:
    cols = ["record_id", "given_name", "family_name", "birth_year", "birth_month", "birth_day",
            "sex", "locality"]
    t = pa.table({c: [r[c] for r in rows] for c in cols})
    return t.set_column(3, "birth_year", t.column("birth_year").cast(pa.int16()))


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory):
    """Two contributors' packages: 600 people, 450 of them in both sources."""
    rng = random.Random(11)
    people = _people(600, 5)
    left = [_observe(p, rng, f"L{p['pid']}") for p in people[:500]]
    right = [_observe(p, rng, f"R{p['pid']}") for p in people[150:]]
    work = tmp_path_factory.mktemp("pprl")
    s = EncodingSettings(seed=2)
    paths = [write_package(encode_table(_table(rows), KEY, s, contributor=name), work / name)
             for name, rows in (("left", left), ("right", right))]
    # packages hold their records in a random order: the truth follows the record ids
    pid = np.array([int(r[1:]) for r in read_packages(paths).record_id])
    return paths, pid


def test_dice_kernel_matches_a_plain_computation():
    rng = np.random.default_rng(0)
    fa = rng.integers(0, 2**63, size=(50, 4), dtype=np.int64).view(np.uint64) & rng.integers(
        0, 2**63, size=(50, 4), dtype=np.int64).view(np.uint64)
    fb = fa.copy()
    fb[:, 0] ^= np.uint64(0xFF)
    a = rng.integers(0, 50, 300)
    b = rng.integers(0, 50, 300)
    got = dice(fa, fb, a, b, 256, 0.0)
    bits_a = np.unpackbits(fa.view(np.uint8), axis=1)
    bits_b = np.unpackbits(fb.view(np.uint8), axis=1)
    want = [2 * (bits_a[i] & bits_b[j]).sum() / (bits_a[i].sum() + bits_b[j].sum())
            for i, j in zip(a, b, strict=True)]
    np.testing.assert_allclose(got, want)


def test_noise_corrected_dice_recovers_identical_values():
    t = _table([_observe(p, random.Random(0), f"r{p['pid']}") for p in _people(200, 1)] * 2)
    plain = encode_table(t, KEY, EncodingSettings(flip_probability=0.0))
    noisy = encode_table(t, KEY, EncodingSettings(flip_probability=0.03, seed=4))
    from safelight.link.encoded import filter_matrix

    n = 200
    a, b = np.arange(n), np.arange(n) + n
    fp, _ = filter_matrix(plain.table.column("bf_family_name").combine_chunks(), 1024)
    fn, _ = filter_matrix(noisy.table.column("bf_family_name").combine_chunks(), 1024)
    assert np.all(dice(fp, fp, a, b, 1024, 0.0) == 1.0)
    raw = dice(fn, fn, a, b, 1024, 0.0)
    corrected = dice(fn, fn, a, b, 1024, 0.03)
    assert raw.mean() < 0.87  # the flips alone make identical names look different (0.83)
    assert corrected.mean() > 0.95 and np.percentile(corrected, 5) > 0.9


def test_one_to_one_is_greedy_maximum_weight_matching():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 30, 400)
    b = rng.integers(30, 60, 400)
    w = rng.random(400)
    keep = one_to_one(a, b, w)
    ends = np.concatenate([a[keep], b[keep]])
    assert len(ends) == len(set(ends.tolist()))  # no record twice
    # the same as the plain greedy loop (reference)
    used: set[int] = set()
    ref = np.zeros(400, dtype=bool)
    for k in np.lexsort((np.arange(400), -w)):
        if a[k] not in used and b[k] not in used:
            ref[k] = True
            used |= {int(a[k]), int(b[k])}
    assert np.array_equal(keep, ref)


def test_two_source_linkage_on_encodings(two_sources):
    paths, pid = two_sources
    er = read_packages(paths)
    assert len(er) == len(pid)
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    scores = pairwise_scores(res.labels, pid)
    # measured: precision 0.994, recall 0.926 (a quarter of the names carry a typo; pairs with
    # typos in both names and a changed date rely on the LSH bands alone). u and the prior are
    # over cross pairs; with u from any pairs the constant "different contributor" counted as
    # +1 bit for every pair (recall 0.937 here, and at 1M × 1M EM called every pair a match)
    assert scores["precision"] > 0.97 and scores["recall"] > 0.90, scores
    c = res.comparisons
    assert np.all(er.contributor[c.a] != er.contributor[c.b])  # cross_only
    found = (pid[c.a] == pid[c.b]).sum()
    assert found / scores["true_pairs"] > 0.93  # blocking recall (0.949 measured)
    # reasons: per-field level and weight, never a value
    reasons = res.reasons(np.arange(min(20, len(c.a))))
    assert set(reasons[0]) == set(ENCODED_FIELDS) | {"names_swapped", "prior_log2_odds"}
    for r in reasons:
        for f, levels in ENCODED_FIELDS.items():
            assert r[f]["level"] in (*levels, "missing") and isinstance(r[f]["weight"], float)
    words = set(json.dumps(reasons).lower().replace('"', " ").replace("_", " ").split())
    assert words.isdisjoint(n.lower() for n in GIVEN + FAMILY + TOWNS)
    # the name weights carry the keyed name keys' counts: stored reasons give them to the
    # half bit, so that a reviewer cannot invert them to the exact count
    exact_both = np.flatnonzero((c.levels[:, 0] == 1) & (c.levels[:, 1] == 1))[:50]
    assert exact_both.size
    for r in res.reasons(exact_both):
        for f in ("given_name", "family_name"):
            assert (r[f]["weight"] * 2).is_integer(), r[f]


def test_deduplication_on_encodings(two_sources):
    paths, pid = two_sources
    er = read_packages(paths)
    res = link_encoded(er)  # clustering (components + GAEC), any pair
    scores = pairwise_scores(res.labels, pid)
    assert scores["f1"] > 0.95, scores


def test_blocking_keys_and_lsh_both_find_pairs(two_sources):
    paths, pid = two_sources
    er = read_packages(paths)
    a, b, rule = encoded_candidate_pairs(er, PPRLSettings())
    assert np.all(a < b)
    true = pid[a] == pid[b]
    from safelight.link.pprl import KEY_RULES

    lsh = rule >= len(KEY_RULES)
    assert true[~lsh].sum() > 0 and true[lsh].sum() > 0  # LSH adds pairs the keys missed
    none = encoded_candidate_pairs(er, PPRLSettings(bands=0))
    assert len(none[0]) < len(a)


def test_packages_with_different_keys_are_refused(two_sources, tmp_path):
    paths, _ = two_sources
    other = write_package(encode_table(_table([_observe(p, random.Random(1), f"x{p['pid']}")
                                               for p in _people(3, 9)]), bytes(32)),
                          tmp_path / "other")
    with pytest.raises(EncodingError, match="another key"):
        read_packages([paths[0], other])
    salted = write_package(encode_table(_table([_observe(p, random.Random(1), f"y{p['pid']}")
                                                for p in _people(3, 9)]), KEY,
                                        EncodingSettings(name_salt="year")), tmp_path / "salted")
    with pytest.raises(EncodingError, match="name_salt differ: name_salt 'year' against"):
        read_packages([paths[0], salted])
    with pytest.raises(EncodingError, match="not a contribution package"):
        read_packages([tmp_path])


def test_compare_levels_are_missing_when_a_side_is_missing(two_sources):
    paths, _ = two_sources
    er = read_packages(paths)
    missing = np.flatnonzero(~er.present["birth_date"])
    assert len(missing) > 0
    comps = compare_encoded(er, missing[:5], np.zeros(5, dtype=np.int64))
    j = list(ENCODED_FIELDS).index("birth_date")
    assert np.all(comps.levels[:, j] == 0)


def test_no_blocking_key_holds_a_name_alone():
    """Without a birth year the name-and-year keys stay empty: a keyed hash of one name would
    let the hub count that name's frequency across contributors."""
    rows = [{"record_id": f"r{i}", "given_name": "Olena", "family_name": "Shevchenko",
             "birth_year": None, "birth_month": None, "birth_day": None, "sex": "F",
             "locality": None} for i in range(3)]
    table = encode_table(_table(rows), KEY, contributor="ngo").table
    for rule in ("name_as_given", "name_as_family", "family_year", "given_year"):
        assert table.column(f"bk_{rule}").null_count == 3, rule


def test_lsh_is_only_a_fallback_for_records_no_key_paired(two_sources):
    paths, _ = two_sources
    er = read_packages(paths)
    from safelight.link.pprl import KEY_RULES

    s = PPRLSettings(cross_only=True)
    a, b, rule = encoded_candidate_pairs(er, s)
    keyed = rule < len(KEY_RULES)
    paired = np.zeros(len(er), dtype=bool)
    paired[a[keyed]] = paired[b[keyed]] = True
    lsh = ~keyed
    assert lsh.any()
    assert np.all(~paired[a[lsh]] | ~paired[b[lsh]])  # every LSH pair holds an orphan
    everywhere = encoded_candidate_pairs(er, PPRLSettings(cross_only=True,
                                                          lsh_orphans_only=False))
    assert len(everywhere[0]) > len(a)


def test_namesakes_are_not_all_paired():
    """Blocking narrows each name key by a second key: 60 people sharing one full name, born
    in different years on different days, are not all candidates of one another."""
    rows = [{"record_id": f"r{i}", "given_name": "Olena", "family_name": "Shevchenko",
             "birth_year": 1940 + i, "birth_month": 1 + i % 12, "birth_day": 1 + (i * 7) % 28,
             "sex": "F", "locality": None} for i in range(60)]  # no place in common
    t = _table(rows)
    s = EncodingSettings(seed=1)
    halves = [encode_table(t.slice(0, 30), KEY, s, contributor="a"),
              encode_table(t.slice(30), KEY, s, contributor="b")]
    from safelight.link.encoded import from_parts

    er = from_parts([(e.manifest, e.table) for e in halves], ["a", "b"])
    a, _, _ = encoded_candidate_pairs(er, PPRLSettings(cross_only=True, bands=0))
    assert len(a) < 0.1 * 30 * 30  # un-narrowed name keys would pair all 900


def test_packages_of_an_older_format_are_refused(two_sources, tmp_path):
    import shutil

    paths, _ = two_sources
    old = tmp_path / "old"
    shutil.copytree(paths[0], old)
    man = json.loads((old / "manifest.json").read_text())
    for version in (1, 2):
        man["format_version"] = version
        (old / "manifest.json").write_text(json.dumps(man))
        with pytest.raises(EncodingError, match="older than this hub's.*re-encode"):
            read_packages([old, paths[1]])
    man["format_version"] = 4  # withdrawn: its {day, month} keys ordered birth years
    (old / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(EncodingError, match="v4 is withdrawn.*birth years.*re-encode"):
        read_packages([old, paths[1]])
    man["format_version"] = 99
    (old / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(EncodingError, match="unknown package format"):
        read_packages([old])


def test_a_package_of_format_v3_is_still_linked(two_sources, tmp_path):
    """A v3 package (the same keys as v5) is linked beside a v5 one; a column a package lists
    under a rule this software does not define is never read or joined."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    paths, pid = two_sources
    old = tmp_path / "v3"
    shutil.copytree(paths[0], old)
    man = json.loads((old / "manifest.json").read_text())
    man["format_version"] = 3
    man["blocking_rules"] = [*man["blocking_rules"], "unknown_rule"]
    table = pq.read_table(old / "records.parquet")
    pq.write_table(table.append_column("bk_unknown_rule", pa.array([7] * table.num_rows)),
                   old / "records.parquet")
    man["records_sha256"] = hashlib.sha256((old / "records.parquet").read_bytes()).hexdigest()
    (old / "manifest.json").write_text(json.dumps(man))
    both = read_packages([paths[0], paths[1]])
    mixed = read_packages([old, paths[1]])
    assert "unknown_rule" not in mixed.blocking
    assert set(mixed.blocking) == set(both.blocking)
    for rule in both.blocking:
        assert (mixed.blocking[rule] == both.blocking[rule]).all(), rule
    res = link_encoded(mixed, PPRLSettings(cross_only=True, one_to_one=True))
    assert pairwise_scores(res.labels, pid)["f1"] > 0.9


def test_training_pairs_are_drawn_by_their_own_keys(two_sources):
    from safelight.link.pprl import encoded_training_pairs

    paths, pid = two_sources
    er = read_packages(paths)
    a, b, training = encoded_training_pairs(er, PPRLSettings(cross_only=True), max_pairs=50)
    assert set(training.drawn) == set(TRAINING_KEYS)
    assert {s.name for s in PPRL_SESSIONS} | {PRIOR_SESSION.name} <= set(TRAINING_KEYS)
    assert np.all(a < b) and np.all(er.contributor[a] != er.contributor[b])
    for name, col in TRAINING_KEYS.items():
        key = er.blocking[col]
        drawn = training.drawn[name]
        assert drawn.any(), name
        assert np.all(key[a[drawn]] == key[b[drawn]]), name
        assert training.totals[name] >= drawn.sum()  # sampled down to ~50, counted


def test_share_prior_recovers_the_share_of_a_known_model():
    """With m and u known, the fixed point finds the share of matches among the key's pairs,
    and the prior is that many matches over the m of the fixed level and all pairs."""
    from safelight.link.compare import Comparisons
    from safelight.link.model import FellegiSunter, TrainingPairs, TrainingSession
    from safelight.link.pprl import share_prior

    fields = {"key": ("same", "different"), "x": ("same", "different"),
              "y": ("same", "different")}
    m = [np.array([0, 0.8, 0.2]), np.array([0, 0.9, 0.1]), np.array([0, 0.7, 0.3])]
    u = [np.array([0, 0.01, 0.99]), np.array([0, 0.05, 0.95]), np.array([0, 0.1, 0.9])]
    rng = np.random.default_rng(4)
    n, share = 200_000, 0.03
    match = rng.random(n) < share
    levels = np.ones((n, 3), dtype=np.int8)  # every pair drawn agrees on the key
    for j in (1, 2):
        p = np.where(match, m[j][1], u[j][1])
        levels[:, j] = np.where(rng.random(n) < p, 1, 2)
    comps = Comparisons(np.arange(n), np.arange(n) + n, levels, np.zeros(n, bool))
    training = TrainingPairs({"k": np.ones(n, bool)}, {"k": 4 * n})  # a quarter drawn
    model = FellegiSunter(fields, m, u, 1e-3)
    prior, report = share_prior(model, comps, training, TrainingSession("k", ("key",)),
                                all_pairs=10**10)
    assert abs(report["match_share"] - share) < 0.004
    found = report["match_share"] * 4 * n  # matches among all the key's pairs
    # the posterior mean of the matches when each agrees on the key with probability 0.8
    assert prior == pytest.approx((found + (found + 1) * 0.2 / 0.8) / 1e10)
    assert prior == pytest.approx(found / 0.8 / 1e10, rel=1e-4)  # as found / agree at scale


def test_name_pair_tf_counts_the_keyed_pair_key(two_sources):
    """The name-pair frequency is the share of records with the same keyed sorted-names key;
    a pair exact on both names gets log2(u_g u_f / f), split over the two names, where f is
    the share among the records other than the first, shrunk toward u_g u_f."""
    from safelight.link.model import TF_PSEUDO_RECORDS
    from safelight.link.pprl import name_pair_frequencies, name_tf

    paths, _ = two_sources
    er = read_packages(paths)
    pf = name_pair_frequencies(er)
    key, ok = er.blocking["sorted_names"], er.blocking_present["sorted_names"]
    i = int(np.flatnonzero(ok)[0])
    assert pf[i] == pytest.approx((ok & (key == key[i])).sum() / len(er))
    assert np.isnan(pf[~ok]).all()
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    c, model = res.comparisons, res.em.model
    both = (c.levels[:, 0] == 1) & (c.levels[:, 1] == 1) & ~np.isnan(pf[c.a])
    assert both.any()
    tf = name_tf(model, res.frequencies, pf, c)
    k = int(np.flatnonzero(both)[0])
    u = model.u[0][1] * model.u[1][1]
    n = len(er)
    others = round(pf[c.a[k]] * n) - 1
    want = min(np.log2(u / ((others + TF_PSEUDO_RECORDS * u) / (n - 1 + TF_PSEUDO_RECORDS))), 4.0)
    assert tf[k, 0] + tf[k, 1] == pytest.approx(want)
    assert np.allclose(name_tf(model, res.frequencies, pf, c, summed=True), tf.sum(axis=1))


def test_threshold_form_of_corrected_dice_agrees_with_it():
    from safelight.link.encoded import _at_least, _corrected

    rng = np.random.default_rng(3)
    inter = rng.integers(0, 120, size=(40, 30)).astype(np.float32)
    wa, wb = rng.integers(60, 200, 40), rng.integers(60, 200, 30)
    for flip in (0.0, 0.01, 0.05):
        want = _corrected(inter.astype(np.float64), wa[:, None], wb[None, :], 1024, flip) >= 0.92
        got = _at_least(inter, wa, wb, 1024, flip, 0.92)
        assert (want != got).sum() <= 2, flip  # float32 rounding at the boundary only


def test_block_cap_is_counted_and_logged_and_keeps_the_true_pairs(two_sources, caplog):
    """A tight cap sub-blocks the big blocks to each record's most similar partners: fewer
    candidates, nearly every true pair kept, and the log says how many blocks were capped."""
    paths, pid = two_sources
    er = read_packages(paths)
    base = PPRLSettings(cross_only=True, bands=0)
    a, b, _ = encoded_candidate_pairs(er, base)
    import dataclasses
    import logging

    with caplog.at_level(logging.INFO, logger="safelight.link.pprl"):
        ca, cb, _ = encoded_candidate_pairs(er, dataclasses.replace(base, max_block=4,
                                                                     block_top_k=1))
    assert len(ca) < len(a)
    true, kept = int((pid[a] == pid[b]).sum()), int((pid[ca] == pid[cb]).sum())
    assert kept >= 0.97 * true, (kept, true)
    msg = next(r.getMessage() for r in caplog.records if "blocking:" in r.getMessage())
    capped = int(msg.split("; ")[1].split(" blocks")[0])
    assert capped > 0, msg
