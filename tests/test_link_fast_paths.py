"""The fast paths of the clear pipeline give what the plain ones they replaced gave: deletion
variants hashed in NumPy (against Python strings), the typo-key lists built from them (against
a string implementation), the packed sort of the joins (against NumPy's stable argsort and
``np.unique``), the phonetic folds by ``str.replace`` (against the regular expressions), the
family names normalised in units either process takes (against one process); and the
normalisers' memos hold no identifier once a linkage run ends."""

from __future__ import annotations

import os
import random
import re
import time
from itertools import combinations

import numpy as np
import pyarrow as pa
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.errors import UsageError
from safelight.identity import normalise
from safelight.link import LinkSettings, forked, link_records
from safelight.link import blocking as blk
from safelight.link import prepare as prep
from safelight.link.name_keys import deletion_hashes, rare_near_lists
from safelight.link.packed import sort_packed, stable_order, unique_inverse
from safelight.link.sound_keys import _CLASSES, consonant_key

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="no fork start method here")


def _variants(key: str, one_from: int, two_from: int) -> set[str]:
    """The deletion variants as strings (the implementation the hashes replaced)."""
    out = {key}
    if len(key) >= one_from:
        out |= {key[:i] + key[i + 1:] for i in range(len(key))}
    if len(key) >= two_from:
        out |= {key[:i] + key[i + 1:j] + key[j + 1:]
                for i, j in combinations(range(len(key)), 2)}
    return out


def _random_keys(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("abcdeklnoóşżä") for _ in range(rng.randint(1, 14)))
            for _ in range(n)]


@pytest.mark.parametrize(("one_from", "two_from"), [(3, 4), (4, 1 << 30)])
def test_deletion_hashes_are_equal_exactly_when_the_variant_strings_are(one_from, two_from):
    keys = _random_keys(2000, seed=one_from)
    owner, hashed = deletion_hashes(keys, one_from, two_from)
    assert (hashed >= 0).all()
    per_key: dict[int, set[int]] = {}
    for o, h in zip(owner.tolist(), hashed.tolist(), strict=True):
        per_key.setdefault(o, set()).add(h)
    strings = sorted(set().union(*(_variants(k, one_from, two_from) for k in keys)))
    s_owner, s_hash = deletion_hashes(strings, 1 << 30, 1 << 30)  # each string alone
    of_string = dict(zip((strings[i] for i in s_owner.tolist()), s_hash.tolist(), strict=True))
    assert len(set(of_string.values())) == len(strings)  # distinct strings, distinct hashes
    for i, k in enumerate(keys):
        assert per_key[i] == {of_string[v] for v in _variants(k, one_from, two_from)}


def test_deletion_hashes_of_nothing():
    owner, hashed = deletion_hashes([])
    assert len(owner) == len(hashed) == 0


def _rare_near_by_strings(columns: list[np.ndarray], vocab: np.ndarray) -> list[list[set]]:
    """:func:`rare_near_lists` (``max_count=1``) computed on strings, row by row."""
    count = np.bincount(np.concatenate([c[c >= 0] for c in columns]), minlength=len(vocab))
    variants = {code: _variants(vocab[code], 3, 4) for code in np.flatnonzero(count).tolist()}
    out = []
    for c in columns:
        rows = []
        for code in c.tolist():
            if code < 0 or count[code] != 1:
                rows.append(set())
                continue
            rows.append({other for other, v in variants.items()
                         if count[other] > 1 and count[other] > count[code]
                         and v & variants[code]})
        out.append(rows)
    return out


def test_rare_near_lists_match_a_string_implementation():
    r = generate_linkage_pairs(300, 300, seed=11)
    records = prep.prepare(pa.concat_tables([r.left, r.right.cast(r.left.schema)]))
    codes, vocab = records.codes.column, records.codes.vocab["given"]
    columns = [codes["given"], codes["family"]]
    fast = rare_near_lists(columns, vocab)
    slow = _rare_near_by_strings(columns, vocab)
    listed = 0
    for (offsets, values), rows in zip(fast, slow, strict=True):
        for i, expected in enumerate(rows):
            assert set(values[offsets[i]:offsets[i + 1]].tolist()) == expected
            listed += bool(expected)
    assert listed > 20  # the generator's typos give rare keys with common neighbours


def test_near_columns_list_the_more_common_key_one_typo_away():
    vocab = np.array(["olena", "olna", "olenka", "petro", "petor", "ivan"], dtype=object)
    col = np.array([0, 0, 0, 1, 2, 3, 3, 4, 5], dtype=np.int32)  # olena ×3, petro ×2
    (near,) = blk._near_columns(vocab, [col])
    lists = [set(near.values[near.offsets[i]:near.offsets[i + 1]].tolist())
             for i in range(len(col))]
    assert lists[3] == {0}  # olna: a deletion of olena
    assert lists[4] == {0}  # olenka shares "olena" (its k deleted) with olena
    assert lists[7] == {3}  # petor: two neighbours swapped (both give "peto")
    assert lists[0] == lists[5] == lists[8] == set()  # common names and ivan list nothing


@pytest.mark.parametrize("width", [50, 10**6, 10**12])
def test_packed_sort_is_the_stable_argsort_and_compact_keeps_equality(width):
    rng = np.random.default_rng(width % 97)
    keys = rng.integers(0, 300, 5000) * (width // 50)
    order = stable_order(keys, int(keys.max()) + 1)
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    left, right = keys[:3000], keys[3000:]
    (cl, cr), size = blk._compact([left, right])
    both = np.concatenate([cl, cr])
    assert size == len(np.unique(keys)) or width == 50
    assert both.max() < size
    # equal keys have equal codes and unequal keys unequal ones
    assert len(np.unique(np.stack([keys, both], axis=1), axis=0)) == len(np.unique(keys))


@pytest.mark.parametrize("width", [1, 10**5, 2**40, 2**52])
def test_unique_inverse_is_numpys(width):
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 1000, 20000).astype(np.int64) * width
    uniq, inv = unique_inverse(keys)
    u2, i2 = np.unique(keys, return_inverse=True)
    assert np.array_equal(uniq, u2) and np.array_equal(inv, i2.ravel())
    assert len(unique_inverse(np.zeros(0, np.int64))[0]) == 0


def test_a_key_too_wide_to_pack_falls_back_to_numpy():
    keys = np.array([2**62, 5, 2**62, 7, 5], dtype=np.int64)
    assert sort_packed(keys, 2**62 + 1) is None
    assert np.array_equal(stable_order(keys, 2**62 + 1), np.argsort(keys, kind="stable"))
    (codes,), size = blk._compact([keys])
    assert size == 3 and codes[0] == codes[2] and codes[1] == codes[4]


_FOLDS_RE = [(re.compile(p if p is not None else r"(.)\1+"), r if p is not None else r"\1")
             for p, r in normalise._FOLDS]


def _match_key_by_regex(word: str) -> str | None:
    """:func:`~safelight.identity.normalise.match_key` as it was written: one ``re.sub`` per
    fold (after the Polish or German ``ch`` of a word that holds ``w``, ``cz`` or ``sz``;
    before ``io`` between consonants and ``liu`` before a letter)."""
    if not re.search("sh|kh|zh", word) and (re.search("cz|sz|sch|rz", word) or (
            "w" in word and re.search("ie|j|ski$|ska$|ow$|owa$|iw$", word))):
        word = re.sub("(?<![st])ch", "h", word)
    for pattern, repl in _FOLDS_RE:
        word = pattern.sub(repl, word)
    word = re.sub("(?<=[b-df-hj-np-tv-z])io(?=[b-df-hj-np-tv-z])", "e", word)  # ё as yo / io
    word = re.sub("(?<=[a-z])liu(?=[a-z])|^liu(?=[db])", "lu", word)  # лю, soft Polish l
    return word or None


def test_match_key_and_consonant_key_match_their_regex_forms():
    rng = random.Random(3)
    letters = "abcdeghijklnopqrstuvwxyz  "
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 16))).strip() or "a"
             for _ in range(20000)]
    words += ["schewtschenko", "savchenkko", "mariia", "siergiej", "tschhsch", "ieie", "yj",
              "charczenko", "michajlowa", "chruschtschow", "matwiejewa", "hawryljuk", "shewchuk",
              "fiodorov", "semjonowa", "ion",
              "liu", "liudmila", "kowalchuk", "chartschenko", "wojciechowski", "liuxin",
              "charkiw", "wasylchuk", "aleksiejew", "alekseev", "saeed", "reeves"]
    for w in words:
        assert normalise.match_key.__wrapped__(w) == _match_key_by_regex(w)
        expected = re.sub(r"(.)\1+", r"\1", w.translate(_CLASSES)) or None
        assert consonant_key(w) == expected


def test_ascii_text_skips_the_decomposition_with_the_same_result():
    import unicodedata

    for text in ("olena", "ol ena-maria", "abc123", "Žofie", "Ševčenko", "café"):
        plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                        if not unicodedata.combining(c))
        assert normalise._strip_marks(text) == plain


def _table(n: int, seed: int) -> pa.Table:
    r = generate_linkage_pairs(n, n, seed=seed)
    return pa.concat_tables([r.left, r.right.cast(r.left.schema)])


def _same_records(one, two) -> None:
    from dataclasses import fields

    for f in fields(one):
        assert np.array_equal(getattr(one, f.name), getattr(two, f.name)), f.name
    for name, col in one.codes.column.items():
        assert np.array_equal(col, two.codes.column[name]), name
        assert np.array_equal(one.codes.vocab[name], two.codes.vocab[name]), name


@needs_fork
def test_names_split_between_the_processes_equal_one_process(monkeypatch):
    table = _table(600, seed=8)
    one = prep.prepare(table, parallel=False)
    taken, parent, real = [], os.getpid(), prep._family_forms

    def slow_in_worker(name):
        if os.getpid() == parent:
            taken.append(name)
        else:  # a slow worker leaves family parts to this process
            time.sleep(0.002)
        return real(name)

    monkeypatch.setattr(prep, "_GROUPS", tuple(
        (col, n, slow_in_worker if fn is real else fn, names)
        for col, n, fn, names in prep._GROUPS))
    two = prep.prepare(table, parallel=True)
    n_family = len(set(one.family.tolist()) - {None})
    assert 0 < len(taken)  # this process did some of the family parts
    assert n_family > 100
    _same_records(one, two)


@needs_fork
def test_a_fast_worker_takes_family_parts_too():
    table = _table(600, seed=9)
    parts, parent = [], os.getpid()
    real = prep._Parts.run

    def run(self, k):
        if os.getpid() == parent:
            parts.append(k)
            time.sleep(0.02)  # a slow parent leaves units to the worker
        return real(self, k)

    one = prep.prepare(table, parallel=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prep._Parts, "run", run)
        two = prep.prepare(table, parallel=True)
    n_units = prep._PHONE_PARTS + sum(g[1] for g in prep._GROUPS)
    assert len(parts) < n_units - 1  # the worker took some
    _same_records(one, two)


_MEMOS = (normalise.fold, normalise.match_key, normalise.given_key, normalise.given_group,
          normalise.family_key, normalise._e164, normalise.document_key,
          normalise.locality_key, normalise.digits_key, normalise.code_key,
          normalise.transliterate)


def test_no_identifier_stays_memoised_after_a_run():
    table = _table(200, seed=12)
    normalise.fold("Олександр")  # something memoised before the run, too
    res = link_records(table, LinkSettings(two_source=True, workers=1))
    assert len(res.labels) == table.num_rows
    assert all(fn.cache_info().currsize == 0 for fn in _MEMOS)
    # prepare alone memoises (the memos are what a run empties)
    prep.prepare(table)
    assert normalise.fold.cache_info().currsize > 0
    normalise.clear_caches()
    assert all(fn.cache_info().currsize == 0 for fn in _MEMOS)


def test_the_memos_are_emptied_when_a_run_fails():
    table = _table(100, seed=13)
    one_source = table.filter(pa.compute.equal(table.column("contributor"),
                                               table.column("contributor")[0]))
    with pytest.raises(UsageError, match="exactly two contributors"):
        link_records(one_source, LinkSettings(two_source=True, workers=1))
    assert all(fn.cache_info().currsize == 0 for fn in _MEMOS)
