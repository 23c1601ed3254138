"""Hub-side joins of keyed blocking keys: exact pairs, cross-only, the block cap."""

from __future__ import annotations

import itertools

import numpy as np

from safelight.link.pprl_blocking import Sketch, join_pairs


def _brute(kx, vx, ky, vy, contributor=None):
    out = set()
    for i, j in itertools.product(range(len(kx)), repeat=2):
        if i != j and vx[i] and vy[j] and kx[i] == ky[j]:
            if contributor is None or contributor[i] != contributor[j]:
                out.add((min(i, j), max(i, j)))
    return out


def _pairs(a, b):
    return set(zip(a.tolist(), b.tolist(), strict=True))


def _sketch(n: int, rng: np.random.Generator) -> Sketch:
    def words(w: int) -> np.ndarray:
        return rng.integers(0, 2**63, size=(n, w), dtype=np.int64).view(np.uint64)
    return Sketch.of(words(2), words(2), words(2), words(1))


def test_join_is_the_equi_join_without_self_pairs() -> None:
    rng = np.random.default_rng(3)
    n = 300
    kx, ky = rng.integers(0, 40, n), rng.integers(0, 40, n)
    vx, vy = rng.random(n) < 0.8, rng.random(n) < 0.7
    a, b, st = join_pairs(kx, vx, kx, vx, same=True, sketch=None, max_block=10**9)
    assert _pairs(a, b) == _brute(kx, vx, kx, vx) and len(a) == len(_pairs(a, b))
    a, b, st = join_pairs(kx, vx, ky, vy, same=False, sketch=None, max_block=10**9)
    assert _pairs(a, b) == _brute(kx, vx, ky, vy)
    assert (a < b).all() and st.skipped_blocks == 0
    contributor = rng.integers(0, 2, n)
    a, b, _ = join_pairs(kx, vx, ky, vy, same=False, sketch=None, contributor=contributor,
                         max_block=10**9)
    assert _pairs(a, b) == _brute(kx, vx, ky, vy, contributor)


def test_a_big_block_keeps_each_records_most_similar_partners() -> None:
    rng = np.random.default_rng(5)
    n = 200
    sk = _sketch(n, rng)
    twin = {0: 1, 2: 3}  # records 1 and 3 copy the sketch of 0 and 2: their best partners
    for src, dst in twin.items():
        sk.words[:, dst] = sk.words[:, src]
        sk.weights[:, dst] = sk.weights[:, src]
    keys = np.zeros(n, np.int64)  # one block of 19,900 pairs
    valid = np.ones(n, bool)
    a, b, st = join_pairs(keys, valid, keys, valid, same=True, sketch=sk, max_block=1_000,
                          top_k=3)
    got = _pairs(a, b)
    assert {(0, 1), (2, 3)} <= got
    assert st.sub_blocked_blocks == 1 and st.sub_blocked_pairs == n * (n - 1) // 2
    assert len(got) <= 2 * 3 * n  # each record's top 3, from either end
    degree = np.bincount(np.r_[a, b], minlength=n)
    assert degree.max() < n - 1  # nobody keeps the whole block
    # without a sketch the block is skipped, and the skip is counted
    a, b, st = join_pairs(keys, valid, keys, valid, same=True, sketch=None, max_block=1_000)
    assert len(a) == 0 and st.skipped_blocks == 1 and st.skipped_pairs == n * (n - 1) // 2
    # and past max_sub_block even with one
    a, b, st = join_pairs(keys, valid, keys, valid, same=True, sketch=sk, max_block=1_000,
                          max_sub_block=10_000)
    assert len(a) == 0 and st.skipped_blocks == 1


def test_small_blocks_are_untouched_by_the_cap() -> None:
    rng = np.random.default_rng(7)
    n = 500
    sk = _sketch(n, rng)
    keys = np.r_[np.zeros(100, np.int64), rng.integers(1, 200, n - 100)]
    valid = np.ones(n, bool)
    a, b, st = join_pairs(keys, valid, keys, valid, same=True, sketch=sk, max_block=1_000,
                          top_k=2)
    small = {(i, j) for i, j in _brute(keys, valid, keys, valid) if keys[i] != 0}
    got = _pairs(a, b)
    assert small <= got  # every pair of an uncapped block
    big = got - small
    assert 0 < len(big) <= 2 * 2 * 100 and st.sub_blocked_blocks == 1


def test_sampled_self_join_counts_exactly_and_draws_valid_pairs() -> None:
    from safelight.link.pprl_blocking import sample_self_join

    rng = np.random.default_rng(11)
    n = 400
    keys, valid = rng.integers(0, 6, n), rng.random(n) < 0.9
    contributor = rng.integers(0, 3, n)
    exact = _brute(keys, valid, keys, valid, contributor)
    a, b, total = sample_self_join(keys, valid, contributor, 10**6, 0)
    assert total == len(exact) and _pairs(a, b) == exact  # small: all of them
    a, b, total = sample_self_join(keys, valid, contributor, 500, 0)
    assert total == len(exact) and 400 <= len(a) <= 500
    assert _pairs(a, b) <= exact and (a < b).all()
    a2, b2, _ = sample_self_join(keys, valid, None, 500, 0)
    assert total < len(_brute(keys, valid, keys, valid))  # cross-only counts fewer
    assert (keys[a2] == keys[b2]).all()


def test_sex_and_nationality_break_ties_among_namesakes() -> None:
    """In a big block of namesakes without a birth date (an open join) the names all but tie;
    the sketch's context words (sex, nationality) keep the partner alike on both, which a
    sketch of names and dates alone ranks last."""
    from safelight.link.pprl_blocking import SKETCH_CONTEXT, make_sketch

    assert SKETCH_CONTEXT == ("sex", "nationality")
    rng = np.random.default_rng(13)
    n = 120  # records 0..9 from one source, 10..119 from the other: 1,100 cross pairs

    def word(words: int) -> np.ndarray:
        return rng.integers(0, 2**63, size=(1, words), dtype=np.int64).view(np.uint64)

    filters = {"given_name": np.repeat(word(16), n, axis=0),
               "family_name": np.repeat(word(16), n, axis=0),
               "given_group": np.repeat(word(2), n, axis=0),
               "birth_date": np.zeros((n, 8), np.uint64),
               "sex": np.repeat(word(1), n, axis=0),
               "nationality": np.repeat(word(1), n, axis=0)}
    # 0 and 77 are alike on sex and nationality, unlike everyone else, and their given
    # names are a little off (so names alone rank them last for each other)
    filters["sex"][[0, 77]] = word(1)
    filters["nationality"][[0, 77]] = word(1)
    filters["given_name"][[0, 77]] = 0
    sk = make_sketch(filters, 0)
    assert sk.words.shape == (9, n) and sk.weights.shape == (6, n)
    keys = np.zeros(n, np.int64)
    valid = np.ones(n, bool)
    contributor = (np.arange(n) >= 10).astype(np.int64)
    cap = {"same": True, "contributor": contributor, "max_block": 50, "top_k": 1}
    a, b, st = join_pairs(keys, valid, keys, valid, sketch=sk, **cap)
    assert st.sub_blocked_blocks == 1 and st.sub_blocked_pairs == 10 * 110
    assert (0, 77) in _pairs(a, b)
    plain = Sketch.of(*(sk.words[i:j].T for i, j in ((0, 2), (2, 4), (4, 6), (6, 7))))
    a, b, _ = join_pairs(keys, valid, keys, valid, sketch=plain, **cap)
    assert (0, 77) not in _pairs(a, b) and len(a) > 0


def test_sample_bits_reads_the_bits_at_the_positions() -> None:
    from safelight.link.pprl_blocking import sample_bits

    rng = np.random.default_rng(17)
    mat = rng.integers(0, 2**63, size=(9_000, 16), dtype=np.int64).view(np.uint64)
    mat[:, 3] |= np.uint64(1) << np.uint64(63)  # the top bit of a word too
    for size in (1, 48, 64, 100, 128):
        positions = np.sort(rng.choice(1024, size=size, replace=False))
        positions[-1] = 3 * 64 + 63 if size == 1 else positions[-1]
        got = sample_bits(mat, positions)
        assert got.shape == (9_000, (size + 63) // 64) and got.dtype == np.uint64
        for row in (0, 1, 8_191, 8_192, 8_999):  # both sides of a chunk boundary
            want = [int(mat[row, p // 64]) >> int(p % 64) & 1 for p in positions.tolist()]
            have = [int(got[row, j // 64]) >> (j % 64) & 1 for j in range(size)]
            assert have == want, (size, row)
            assert int(got[row, -1]) >> (size % 64) == 0 or size % 64 == 0  # padding is 0


def test_candidates_merged_in_compactions_keep_each_pair_once_with_its_first_rule() -> None:
    """The proposals of many joins, compacted every few (a tiny ``limit``) or only at the end,
    give each distinct pair once with the lowest rule that proposed it."""
    from safelight.link.pprl import _Candidates

    rng = np.random.default_rng(5)
    n, expect = 200, {}
    batches = []
    for rule in range(12):
        a = rng.integers(0, n - 1, 300)
        b = a + 1 + rng.integers(0, n - 1 - a)
        batches.append((a, b, rule))
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            expect.setdefault((x, y), rule)
    for limit in (50, 10**9):
        found = _Candidates(n, limit=limit)
        for a, b, rule in batches:
            found.add(a, b, rule)
        a, b, rule = found.pairs()
        got = dict(zip(zip(a.tolist(), b.tolist(), strict=True), rule.tolist(), strict=True))
        assert len(got) == len(a) == len(expect) and got == expect
        assert (np.diff(a * n + b) > 0).all()
        found.add(np.array([0]), np.array([1]), 12)  # after pairs(): still merged correctly
        a2, b2, rule2 = found.pairs()
        assert len(a2) == len(a) + ((0, 1) not in expect)
