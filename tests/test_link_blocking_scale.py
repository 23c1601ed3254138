"""Blocking at scale: the block-size cap, sub-blocking by a narrowing key, one-sided rules
joined side against side, and the rules for records without a family name or with one given
name among several."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest

from safelight.errors import UsageError
from safelight.link.blocking import (
    DEFAULT_RULES,
    BlockingRule,
    candidate_pairs,
    pairs_by_rule,
)
from safelight.link.prepare import prepare

_COLS = ["contributor", "record_id", "given_name", "family_name", "birth_year", "birth_month",
         "birth_day", "phone", "document_number", "locality", "street_number", "address_line",
         "postcode"]


def _table(rows: list[dict]) -> pa.Table:
    return pa.table({c: [r.get(c) for r in rows] for c in _COLS})


def _crowd(per_side: int) -> pa.Table:
    """``per_side`` records in each of two sources, all named Olena Bondar, born in one of
    four years (so one block of ``per_side ** 2`` pairs on the family name)."""
    rows = [{"contributor": src, "record_id": f"{src}{i}", "given_name": "Olena",
             "family_name": "Bondar", "birth_year": 1990 + i % 4}
            for src in ("a", "b") for i in range(per_side)]
    return _table(rows)


_FAMILY = BlockingRule("family", "l.family = r.family")


def test_a_block_over_the_cap_is_skipped_and_counted(caplog):
    records = prepare(_crowd(40))  # 1,600 pairs across the sources
    skipped: dict = {}
    with caplog.at_level(logging.INFO, logger="safelight.link"):
        got = pairs_by_rule(records, (_FAMILY,), cross_only=True, max_block=1_000,
                            skipped=skipped)
    assert len(got["family"]) == 0
    assert skipped["family"] == (1, 1, 1_600)
    assert "1 blocks over 1000 pairs (no narrowing key)" in caplog.text
    # under the cap, or without one, the whole block
    assert len(pairs_by_rule(records, (_FAMILY,), cross_only=True, max_block=2_000)["family"]) \
        == 1_600
    a, _, _ = candidate_pairs(records, (_FAMILY,), cross_only=True, max_block=None)
    assert len(a) == 1_600


def test_a_block_over_the_cap_is_joined_again_on_the_narrowing_key():
    records = prepare(_crowd(40))
    rule = BlockingRule("family", "l.family = r.family", (("birth_year", "birth_year"),))
    skipped: dict = {}
    a, b, _ = candidate_pairs(records, (rule,), cross_only=True, max_block=1_000)
    got = pairs_by_rule(records, (rule,), cross_only=True, max_block=1_000, skipped=skipped)
    assert len(a) == len(got["family"]) == 4 * 10 * 10  # one sub-block of 10 × 10 per year
    assert (records.birth_year[a] == records.birth_year[b]).all()
    assert skipped["family"] == (1, 0, 0)
    # a sub-block still over the cap is skipped in turn
    assert len(pairs_by_rule(records, (rule,), cross_only=True, max_block=50)["family"]) == 0
    # within one source (deduplication) the cap counts the pairs of a block within itself
    one = prepare(_table([{"contributor": "a", "record_id": str(i), "given_name": "Olena",
                           "family_name": "Bondar", "birth_year": 1990 + i % 2}
                          for i in range(50)]))  # 1,225 pairs, 2 × 300 by year
    assert len(candidate_pairs(one, (rule,), max_block=1_000)[0]) == 600
    assert len(candidate_pairs(one, (_FAMILY,), max_block=1_000)[0]) == 0
    assert len(candidate_pairs(one, (_FAMILY,), max_block=1_225)[0]) == 1_225


def test_capped_candidates_grow_linearly_where_uncapped_grow_quadratically():
    sizes = {}
    for per_side in (60, 240):
        records = prepare(_crowd(per_side))
        rule = BlockingRule("family", "l.family = r.family", (("birth_year", "birth_year"),))
        capped = len(candidate_pairs(records, (rule,), cross_only=True, max_block=500)[0])
        full = len(candidate_pairs(records, (rule,), cross_only=True, max_block=None)[0])
        sizes[per_side] = capped, full
    assert sizes[240][1] == 16 * sizes[60][1]  # 4 × the records, 16 × the pairs
    assert sizes[60][0] == 4 * 15 * 15 and sizes[240][0] == 0  # 60 × 60 per year is over 500


def test_narrowing_keys_must_exist_and_be_plain_columns():
    records = prepare(_crowd(3))
    with pytest.raises(UsageError, match=r"unknown column [lr]\.nope"):
        candidate_pairs(records, (BlockingRule("x", "l.family = r.family",
                                               (("nope", "nope"),)),))
    with pytest.raises(UsageError, match="plain columns"):
        candidate_pairs(records, (BlockingRule(
            "x", "l.family = r.family AND list_contains(r.given_near, l.given)",
            (("given_near", "given_near"),)),))


def test_one_sided_rules_give_the_sql_engines_pairs():
    """A rule on equal columns with a one-sided condition on another column joins the
    selected lower records against all others (not everyone against everyone): the same
    pairs as DuckDB, in both directions of the two sources and within one."""
    rng = np.random.default_rng(7)
    names = ["Olena", "Iryna", "Anna", None]
    rows = [{"contributor": "ab"[i % 2], "record_id": str(i),
             "given_name": names[rng.integers(0, 3)],
             "family_name": names[rng.integers(0, 4)],
             "birth_year": int(rng.integers(1990, 1993)) if rng.random() < 0.8 else None}
            for i in range(120)]
    records = prepare(_table(rows))
    rules = (BlockingRule("one_sided", "l.family IS NULL AND l.given = r.given"),
             BlockingRule("other_side", "r.birth_year < 0 AND l.given = r.given"
                          " AND (l.family = r.family OR l.family IS NULL)"))
    for cross in (False, True):
        fast = candidate_pairs(records, rules, cross_only=cross, max_block=None)
        sql = candidate_pairs(records, rules, cross_only=cross, engine="duckdb")
        assert len(fast[0]) > 50
        for x, y in zip(fast, sql, strict=True):
            np.testing.assert_array_equal(x, y)


def test_rules_for_a_missing_family_name_and_a_shared_given_word():
    rows = [
        # a missing family name on either side: the given name and a year that agrees
        {"contributor": "a", "record_id": "1", "given_name": "Katarzyna", "birth_year": 1984},
        {"contributor": "b", "record_id": "2", "given_name": "Katarzyna",
         "family_name": "Nowak"},
        {"contributor": "a", "record_id": "3", "given_name": "Ifeoma", "family_name": "Okafor",
         "birth_year": 1990},
        {"contributor": "b", "record_id": "4", "given_name": "Ifeoma", "birth_year": 1991},
        # two given names against one of them, same family name, no birth date (Kim is the
        # call name of Kim Hoa: Thi Hoa now shares the group of Hoa)
        {"contributor": "a", "record_id": "5", "given_name": "Kim Hoa", "family_name": "Dao"},
        {"contributor": "b", "record_id": "6", "given_name": "Hoa", "family_name": "Dao"},
        # a full name split the other way round, no family name on one side
        {"contributor": "a", "record_id": "7", "given_name": "Zineb", "birth_year": 1993},
        {"contributor": "b", "record_id": "8", "given_name": "Amal", "family_name": "Zineb",
         "birth_year": 1994},
        # not a pair: a missing family name, the given name of someone twenty years older
        {"contributor": "b", "record_id": "9", "given_name": "Katarzyna",
         "family_name": "Lis", "birth_year": 1964},
    ]
    records = prepare(_table(rows))
    names = [r.name for r in DEFAULT_RULES]
    a, b, rule = candidate_pairs(records, DEFAULT_RULES, cross_only=True)
    found = {(int(x), int(y)): names[k] for x, y, k in zip(a, b, rule, strict=True)}
    assert found[(0, 1)] == "given_no_family"
    assert found[(2, 3)] == "given_no_family_right"
    assert found[(4, 5)] == "family_given_word"
    assert found[(6, 7)] == "given_is_family_alone"
    assert (0, 8) not in found
    sql = candidate_pairs(records, DEFAULT_RULES, cross_only=True, engine="duckdb")
    for x, y in zip((a, b, rule), sql, strict=True):
        np.testing.assert_array_equal(x, y)


def _chained(cross_only: bool):
    """A crowd of one family name, the year missing for every fifth record, and the pairs
    that a family rule narrowed by (year, then month) keeps, computed pair by pair: across
    two sources with a cap of 100, the records without a year against all others narrowed
    by the month; within one source (cap 140), also the 16 records without a year among
    themselves in one block of 120 pairs, under the cap, so whole."""
    rows = [{"contributor": src, "record_id": f"{src}{i}", "given_name": "Olena",
             "family_name": "Bondar", "birth_year": None if i % 5 == 0 else 1990 + i % 4,
             "birth_month": 1 + i % 3}
            for src in ("a", "b") for i in range(40)]
    records = prepare(_table(rows))
    y, m = records.birth_year.astype(int), records.birth_month.astype(int)
    has_y = y >= 0
    same_year = has_y[:, None] & has_y[None, :] & (y[:, None] == y[None, :])
    no_year = ~(has_y[:, None] & has_y[None, :])  # missing on either side: agrees with any
    want = same_year | (no_year & (m[:, None] == m[None, :]))
    if cross_only:
        c = np.asarray(records.contributor)
        want &= c[:, None] != c[None, :]
    else:
        want |= ~has_y[:, None] & ~has_y[None, :]
    return records, np.argwhere(np.triu(want, 1)), 100 if cross_only else 140


@pytest.mark.parametrize("cross_only", [True, False])
def test_a_missing_narrowing_value_falls_back_to_the_next_key(cross_only):
    """Narrowing keys form a chain: a pair with both years decides by the year; a pair with
    a year missing on one side is not lost but narrowed by the next key, the month."""
    records, want, cap = _chained(cross_only)
    rule = BlockingRule("family", "l.family = r.family",
                        (("birth_year", "birth_year"), ("birth_month", "birth_month")))
    skipped: dict = {}
    a, b, _ = candidate_pairs(records, (rule,), cross_only=cross_only, max_block=cap)
    np.testing.assert_array_equal(np.c_[a, b], want)
    got = pairs_by_rule(records, (rule,), cross_only=cross_only, max_block=cap,
                        skipped=skipped)["family"]
    assert len(got) == len(np.unique(got)) == len(want)
    assert skipped["family"] == (1, 0, 0)
    # without the month, the records without a year against the rest are over the cap:
    # skipped, so no pair with one year missing is left
    year_only = BlockingRule("family", "l.family = r.family", (("birth_year", "birth_year"),))
    a, b, _ = candidate_pairs(records, (year_only,), cross_only=cross_only, max_block=cap)
    y = records.birth_year
    assert len(a) and (y[a] == y[b]).all() and not ((y[a] < 0) ^ (y[b] < 0)).any()


def test_a_rule_cap_share_scales_the_cap_for_that_rule_only():
    records = prepare(_crowd(40))  # one block of 1,600 pairs
    tight = BlockingRule("tight", "l.family = r.family", cap_share=0.5)
    skipped: dict = {}
    got = pairs_by_rule(records, (_FAMILY, tight), cross_only=True, max_block=2_000,
                        skipped=skipped)
    assert len(got["family"]) == 1_600 and len(got["tight"]) == 0
    assert skipped["tight"] == (1, 1, 1_600) and skipped["family"] == (0, 0, 0)
    # no cap means none for any rule
    assert len(pairs_by_rule(records, (tight,), cross_only=True, max_block=None)["tight"]) \
        == 1_600


def test_a_second_chain_keeps_the_pairs_that_agree_on_either_once():
    rows = [{"contributor": src, "record_id": f"{src}{i}", "given_name": "Olena",
             "family_name": "Bondar", "birth_year": 1990 + i % 4, "birth_month": 1 + i % 5}
            for src in ("a", "b") for i in range(40)]
    records = prepare(_table(rows))
    rule = BlockingRule("family", "l.family = r.family", (("birth_year", "birth_year"),),
                        narrow_also=(("birth_month", "birth_month"),))
    a, b, _ = candidate_pairs(records, (rule,), cross_only=True, max_block=1_000)
    y, m = records.birth_year, records.birth_month
    either = (y[:, None] == y[None, :]) | (m[:, None] == m[None, :])
    cross = np.asarray(records.contributor)[:, None] != np.asarray(records.contributor)[None, :]
    want = np.argwhere(np.triu(either & cross, 1))
    np.testing.assert_array_equal(np.c_[a, b], want)
    got = pairs_by_rule(records, (rule,), cross_only=True, max_block=1_000)["family"]
    assert len(got) == len(np.unique(got)) == len(want)


def test_names_respelt_on_both_sides_meet_by_their_consonant_keys():
    rows = [
        {"contributor": "a", "record_id": "1", "given_name": "Olexandr",
         "family_name": "Humeniuk"},
        {"contributor": "b", "record_id": "2", "given_name": "Olsandr", "family_name": "Gumeniuk",
         "birth_year": 1990},
        # swapped and respelt
        {"contributor": "a", "record_id": "3", "given_name": "Dimtri", "family_name": "Melnik",
         "birth_year": 1985},
        {"contributor": "b", "record_id": "4", "given_name": "Miulnik", "family_name": "Dmtro"},
        # not a pair: alike names, birth years far apart
        {"contributor": "b", "record_id": "5", "given_name": "Olsandr", "family_name": "Gumeniuk",
         "birth_year": 1950},
    ]
    records = prepare(_table(rows))
    names = [r.name for r in DEFAULT_RULES]
    a, b, rule = candidate_pairs(records, DEFAULT_RULES, cross_only=True)
    found = {(int(x), int(y)): names[k] for x, y, k in zip(a, b, rule, strict=True)}
    assert found[(0, 1)] == "sound_names"
    assert found[(2, 3)] == "sound_crossed"
    assert (0, 4) in found  # no year on one side: it agrees with any
    records.birth_year[0] = 1990
    a, b, _ = candidate_pairs(records, DEFAULT_RULES, cross_only=True)
    assert (0, 4) not in set(zip(a.tolist(), b.tolist(), strict=True))
    sql = candidate_pairs(records, DEFAULT_RULES, cross_only=True, engine="duckdb")
    np.testing.assert_array_equal(np.c_[a, b], np.c_[sql[0], sql[1]])


def test_consonant_keys_fold_vowels_doubles_and_letter_classes():
    from safelight.link.sound_keys import consonant_key

    assert consonant_key("olexandr") == consonant_key("olsandr") == "lkndr"
    assert consonant_key("humeniuk") == consonant_key("gumeniuk")
    assert consonant_key("alexeeva") == consonant_key("alexiva")
    assert consonant_key("kovalenko") != consonant_key("kovalchuk")
    assert consonant_key("aia") is None and consonant_key(None) is None


@pytest.mark.parametrize("cross_only", [True, False])
def test_without_a_cap_the_numpy_engine_gives_the_sql_engines_pairs(cross_only):
    """All default rules (consonant keys, crosswise names, one-sided conditions) on a
    generated problem: the same pairs and first rules as DuckDB when no block is capped."""
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    r = generate_linkage_pairs(1500, 1500, seed=11)
    records = prepare(pa.concat_tables([r.left, r.right.cast(r.left.schema)]))
    fast = candidate_pairs(records, DEFAULT_RULES, cross_only=cross_only, max_block=None)
    sql = candidate_pairs(records, DEFAULT_RULES, cross_only=cross_only, engine="duckdb")
    assert len(fast[0]) > 1_000
    for x, y in zip(fast, sql, strict=True):
        np.testing.assert_array_equal(x, y)


def test_key_columns_are_built_once_before_a_fork_lists_included():
    """A caller building the key columns before forking gets every column the rules read,
    the typo-neighbour lists too (else each process would build them after the fork)."""
    from safelight.link.blocking import build_key_columns

    rows = [{"contributor": c, "record_id": str(i), "given_name": g, "family_name": "Popescu"}
            for i, (c, g) in enumerate([("a", "Mariana"), ("b", "Marina"), ("b", "Ion")])]
    records = prepare(_table(rows))
    build_key_columns(records, DEFAULT_RULES)
    cached = records.__dict__["_blocking_columns"]
    assert {"plain", "lists"} <= set(cached)
    before = {k: id(v) for k, v in cached.items()}
    candidate_pairs(records, DEFAULT_RULES, cross_only=True)  # reads them, builds nothing
    assert {k: id(v) for k, v in cached.items()} == before
