"""Blocking: candidate pairs from several equi-join rules.

Contract: :func:`candidate_pairs` takes normalised :class:`~safelight.link.prepare.Records` and
returns each unordered pair of record indices ``(a, b)``, ``a < b``, that at least one rule
proposes — once, with the index of the first rule that found it. Rules are SQL conditions over
two aliases ``l`` and ``r`` of the normalised table; every rule has an equality on at least one
column (``l.x = r.y`` at the top level of the condition). NULL never equals NULL.

Two engines run the same rules and give the same pairs. The default, ``"numpy"``, reads each
condition (a small SQL subset: comparisons, ``+ -``, ``abs()``, ``IS [NOT] NULL``, ``AND OR
NOT`` with SQL's three-valued logic), joins on the integer codes of the top-level equalities by
sorting, evaluates the rest of the condition on the joined pairs in chunks, and de-duplicates
the rules' pairs by a pair code. A list column (several keys per record) joins by
``list_contains(l.list, r.column)`` (either way round) or ``list_has_any(l.list, r.list)``. ``"duckdb"`` runs the rules as SQL joins (the reference, and
the form that could run on another SQL engine).

Growth: a rule keyed on names alone proposes pairs in proportion to the *square* of the input
(a few hundred common names cover most people), so the NumPy engine caps the join blocks: a
block (records with equal join keys) of more than ``max_block`` pairs (:data:`MAX_BLOCK`) is
narrowed by its rule's chain of narrowing keys (:attr:`BlockingRule.narrow`, e.g. birth year,
then locality, then postcode): the pairs whose values of the first key are both present and
equal form sub-blocks, and a record whose value is missing is set against the whole block
on the other side (a missing value agrees with any); each part still over the cap is narrowed
by the next key, and skipped at the end of the chain; both are logged and counted
(:func:`pairs_by_rule`). A rule may scale the cap (:attr:`BlockingRule.cap_share`: a tenth for
the loose name rules) and add a second chain whose pairs are kept too
(:attr:`BlockingRule.narrow_also`). With a fixed cap the candidates grow about linearly.
The key columns are built once per :class:`Records` (kept on it), so calling
:func:`pairs_by_rule` on a few rules at a time costs no more than one call. DuckDB runs the
rules without the cap: the engines give the same pairs where no block is over it (the tests
compare them so).

The default rules are chosen so that every kind of difference in the corruption model leaves at
least one rule intact: a typo in the family name keeps (given group, birth date); a missing
birth date keeps (given group, family); a swap of given and family name keeps the sorted pair
of name keys; a new spelling of both names keeps the birth date, phone or document number, or
the names' consonant keys (:mod:`safelight.link.sound_keys`); a missing family name keeps the
given name; one of several given names (Thi Hoa and Hoa) keeps the family name and that word;
a name respelt beyond these keys keeps the other name and the month and day of birth; names
written in another order, with a middle name left out or an article fused (Nguyen | Thi Lan
and Lan | Nguyen, al-Homsi and Alhomsi) keep two words in common or near keys
(:mod:`safelight.link.name_keys`); two typos in a rare name keep the near keys and the birth
year. ``bench/linkage/blocking_recall.py`` lists what each rule finds on its own and the true
pairs that none finds.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pyarrow as pa

from safelight.arrays import unique_sorted
from safelight.errors import UsageError
from safelight.link.name_keys import (
    bare_words,
    deletion_hashes,
    key_lists,
    near_pair_lists,
    rare_near_lists,
    word_pair_lists,
)
from safelight.link.packed import stable_order, unique_inverse
from safelight.link.prepare import Records, encode_strings
from safelight.link.sound_keys import consonant_key

log = logging.getLogger("safelight.link")

__all__ = ["DEFAULT_RULES", "MAX_BLOCK", "TRAINING_RULES", "BlockingRule", "build_key_columns",
           "candidate_pairs", "pair_sample", "pairs_by_rule", "reads_list_columns",
           "training_pairs", "union_of_drawn"]


@dataclass(frozen=True)
class BlockingRule:
    """A named join condition over ``l`` and ``r`` (columns of :meth:`Records.to_arrow`).

    ``narrow`` is a chain of narrowing keys ``(left column, right column)`` for the join blocks
    of more than ``max_block`` pairs (:func:`candidate_pairs`): such a block keeps the pairs
    whose first key is present on both sides and equal (a sub-block per value) and the pairs
    where it is missing on a side, each part narrowed by the next key while over the cap and
    skipped after the last. So the common keys of a large input keep the pairs that also agree
    on, say, the birth year, and a record without a year is narrowed by its locality instead
    of being lost."""

    name: str
    condition: str
    narrow: tuple[tuple[str, str], ...] = ()
    #: this rule's cap as a share of the call's ``max_block`` (below 1 for rules whose large
    #: blocks hold few true pairs for their size)
    cap_share: float = 1.0
    #: a second chain of narrowing keys whose pairs are kept too (a pair that agrees on
    #: either chain), for rules whose first narrowing key is what a true pair often changes
    narrow_also: tuple[tuple[str, str], ...] = ()


_FULL_DATE = (
    "l.birth_year = r.birth_year AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
    " AND l.birth_year >= 0 AND l.birth_month > 0 AND l.birth_day > 0"
)
_REAL_DATE = "NOT (l.birth_month = 1 AND l.birth_day = 1)"

# Second keys. Rules on name keys alone grow quadratically where names repeat (a few hundred
# common names cover most people), so each is narrowed by a second, independent key that the
# corruption model rarely breaks at the same time as the first: a birth year within one year
# (or missing), the first letter of the other name (or that name missing), dates that do not
# contradict each other, or a place in common (postcode, locality or street).
# a place in common: where the records' address says the same
_PLACE = ("l.postcode = r.postcode OR l.locality = r.locality OR l.address_line = r.address_line"
          " OR l.street_number = r.street_number")
_YEAR_NEAR = (" AND (abs(l.birth_year - r.birth_year) <= 1 OR l.birth_year < 0 OR r.birth_year < 0"
              " OR " + _PLACE + ")")
_NAME_MISSING = "l.given IS NULL OR r.given IS NULL OR l.family IS NULL OR r.family IS NULL"
# the names sound alike (a consonant key in common, straight or crosswise), or both initials
# agree (straight or crosswise), or a name is missing: what a true pair keeps while a birth
# date or an address shared by chance rarely does (one initial in common is 1 in 15)
_NAMES_ALIKE = (
    "l.given_sound = r.given_sound OR l.family_sound = r.family_sound"
    " OR l.given_sound = r.family_sound OR l.family_sound = r.given_sound"
    " OR (l.given_initial = r.given_initial AND l.family_initial = r.family_initial)"
    " OR (l.given_initial = r.family_initial AND l.family_initial = r.given_initial)"
    " OR " + _NAME_MISSING)
_YEAR_ONLY = " AND (abs(l.birth_year - r.birth_year) <= 1 OR l.birth_year < 0 OR r.birth_year < 0)"
# two full, real (not 01-01) birth dates that differ, and not by a day/month swap
_DATES_DIFFER = (
    "l.birth_month > 0 AND l.birth_day > 0 AND r.birth_month > 0 AND r.birth_day > 0"
    " AND NOT (l.birth_month = 1 AND l.birth_day = 1) AND NOT (r.birth_month = 1 AND r.birth_day = 1)"
    " AND (l.birth_month <> r.birth_month OR l.birth_day <> r.birth_day)"
    " AND (l.birth_month <> r.birth_day OR l.birth_day <> r.birth_month)"
)
_DATES_AGREE = "NOT (" + _DATES_DIFFER + ")"
# a word of one record's names is a word of the other's (Thị Lan and Lan, Harpreet Kaur and
# Kaur), for the pairs that share a full birth date
_WORDS = ("given_first", "given_last", "family_first", "family_last")
_WORD_SHARED = " OR ".join(f"l.{x} = r.{y}" for x in _WORDS for y in _WORDS)
# the same real (not 01-01) month and day of birth
_MONTH_DAY = (" AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
              " AND l.birth_month > 0 AND l.birth_day > 0 AND " + _REAL_DATE)
_YEAR_SAME = " AND l.birth_year = r.birth_year AND l.birth_year >= 0"
_FAMILY_ALIKE = (" AND (l.family_initial = r.family_initial OR l.family_sound = r.family_sound"
                 " OR l.family IS NULL OR r.family IS NULL)")
_GIVEN_ALIKE = (" AND (l.given_initial = r.given_initial OR l.given_sound = r.given_sound"
                " OR l.given IS NULL OR r.given IS NULL)")


def _other_name(left: str, right: str) -> str:
    """The other name starts alike or is missing, or the birth dates do not contradict."""
    return (f" AND (l.{left}_initial = r.{right}_initial OR l.{left} IS NULL"
            f" OR r.{right} IS NULL OR {_DATES_AGREE} OR {_PLACE})")


def _crossed(left: str, right: str) -> str:
    """For swapped names: the left record's other name starts like, or shares a word with,
    the right record's other name, or one of them is missing."""
    words = " OR ".join(f"l.{left}_{x} = r.{right}_{y}" for x in ("first", "last")
                        for y in ("first", "last"))
    return (f" AND ({words} OR l.{left} IS NULL OR r.{right} IS NULL OR {_DATES_AGREE}"
            f" OR {_PLACE})")


# narrowing keys for the blocks over the cap (see BlockingRule.narrow)
_BY_YEAR = (("birth_year", "birth_year"), ("locality", "locality"))
_BY_GIVEN = (("given_initial", "given_initial"), ("birth_month", "birth_month"))
_BY_FAMILY = (("family_initial", "family_initial"), ("birth_month", "birth_month"))
_BY_INITIALS = (("given_initial", "given_initial"), ("family_initial", "family_initial"))
_GIVEN_INITIAL = (("given_initial", "given_initial"),)
_FAMILY_INITIAL = (("family_initial", "family_initial"),)
#: the cap share of rules whose large blocks hold few true pairs for their size (measured at
#: 1M: cut to a tenth, each lost a true pair per 6,000–13,000 candidates it no longer made)
_LOOSE = 0.1

DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("family_year", "l.family = r.family AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _other_name("given", "given"), _BY_GIVEN, _LOOSE),
    BlockingRule("given_family", "l.given_group = r.given_group AND l.family = r.family"
                 + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("birth_date", _FULL_DATE + " AND " + _REAL_DATE
                 + " AND (" + _NAMES_ALIKE + " OR " + _PLACE + " OR " + _WORD_SHARED + ")",
                 _GIVEN_INITIAL, narrow_also=_FAMILY_INITIAL),
    BlockingRule("sorted_names", "l.name_lo = r.name_lo AND l.name_hi = r.name_hi" + _YEAR_NEAR,
                 _BY_YEAR),
    BlockingRule("given_year", "l.given_group = r.given_group AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _other_name("family", "family"), _BY_FAMILY,
                 _LOOSE),
    BlockingRule("name_prefixes", "l.given_prefix3 = r.given_prefix3"
                 " AND l.family_prefix3 = r.family_prefix3" + _YEAR_NEAR, _BY_YEAR, _LOOSE),
    BlockingRule("given_month_day", "l.given_group = r.given_group"
                 " AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
                 " AND l.birth_month > 0 AND l.birth_day > 0 AND " + _REAL_DATE
                 + " AND (l.family_initial = r.family_initial OR l.family_sound = r.family_sound"
                 " OR l.family IS NULL OR r.family IS NULL)", _BY_FAMILY),
    BlockingRule("given_is_family_year", "l.given = r.family AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _crossed("family", "given"),
                 (("family_initial", "given_initial"),)),
    BlockingRule("family_is_given_year", "l.family = r.given AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _crossed("given", "family"),
                 (("given_initial", "family_initial"),)),
    BlockingRule("phone", "l.phone = r.phone", _BY_GIVEN),
    BlockingRule("document", "l.document = r.document", _BY_GIVEN),
    BlockingRule("family_postcode", "l.family = r.family AND l.postcode = r.postcode", _BY_YEAR),
    BlockingRule("given_postcode", "l.given_group = r.given_group AND l.postcode = r.postcode",
                 _BY_YEAR),
    BlockingRule("address", "l.address_line = r.address_line AND l.street_number = r.street_number"
                 " AND (" + _NAMES_ALIKE + ")", _BY_INITIALS),
    BlockingRule("postcode_locality", "l.postcode = r.postcode AND l.locality = r.locality",
                 _BY_FAMILY),
    # one name the same, the other one typo away (a letter substituted, dropped, added or
    # swapped with its neighbour); the list holds the more common of two similar keys, so
    # each rule comes twice, for a typo on either side
    BlockingRule("family_given_typo", "l.family = r.family"
                 " AND list_contains(r.given_near, l.given)" + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("family_given_typo_left", "l.family = r.family"
                 " AND list_contains(l.given_near, r.given)" + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("given_family_typo", "l.given_group = r.given_group"
                 " AND list_contains(r.family_near, l.family)" + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("given_family_typo_left", "l.given_group = r.given_group"
                 " AND list_contains(l.family_near, r.family)" + _YEAR_NEAR, _BY_YEAR),
    # both names respelt: their consonant keys (sound_keys.consonant_key: vowels, doubled
    # letters and letters of one class such as g/h/k, t/d, m/n may differ), straight or
    # swapped, with a birth year within one (or missing)
    BlockingRule("sound_names", "l.given_sound = r.given_sound AND l.family_sound = r.family_sound"
                 + _YEAR_ONLY, _BY_YEAR, _LOOSE),
    BlockingRule("sound_crossed", "l.given_sound = r.family_sound"
                 " AND l.family_sound = r.given_sound" + _YEAR_ONLY, _BY_YEAR, _LOOSE),
    # the family name and the last of several given names against the other's whole given
    # name (Thi Hoa and Hoa); only the few records with several given words join, so the
    # rules are cheap (the first word, Maria Elena and Maria, found nothing of its own)
    BlockingRule("family_given_word", "l.given_first <> l.given_last AND l.family = r.family"
                 " AND l.given_last = r.given" + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("family_given_word_right", "r.given_first <> r.given_last"
                 " AND l.family = r.family AND l.given = r.given_last" + _YEAR_NEAR, _BY_YEAR),
    # one record without a family name: its given name against the other's given name, or
    # against its family name (a full name split the other way round); ``l`` is the lower
    # record of a pair, so each rule comes twice, for the missing name on either side
    BlockingRule("given_no_family", "l.family IS NULL AND l.given_group = r.given_group"
                 + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("given_no_family_right", "r.family IS NULL AND l.given_group = r.given_group"
                 + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("given_is_family_alone", "l.family IS NULL AND l.given = r.family"
                 + _YEAR_NEAR, _BY_YEAR),
    BlockingRule("family_is_given_alone", "r.family IS NULL AND l.family = r.given"
                 + _YEAR_NEAR, _BY_YEAR),
    # one name the same (straight or crosswise) and the real month and day of birth: the
    # other name respelt beyond the typo and sound rules, the year off by one or missing
    BlockingRule("family_month_day", "l.family = r.family" + _MONTH_DAY + _YEAR_NEAR,
                 _BY_GIVEN),
    BlockingRule("given_is_family_month_day", "l.given = r.family" + _MONTH_DAY + _YEAR_NEAR,
                 _BY_GIVEN),
    BlockingRule("family_is_given_month_day", "l.family = r.given" + _MONTH_DAY + _YEAR_NEAR,
                 _BY_GIVEN),
    # two words of the names in common, in any place (name_keys.word_pair_lists: Thị Lan |
    # Nguyễn and Nguyen | Lan, Harpreet Kaur | Sidhu and Harpreet | Kaur, al-Homsi and Alhomsi)
    BlockingRule("name_words", "list_has_any(l.word_pairs, r.word_pairs)" + _YEAR_NEAR,
                 _BY_YEAR),
    # both names the same or a typo (one typo, or two in a rare key) of each other, straight
    # or crosswise (name_keys.near_pair_lists)
    BlockingRule("near_names", "list_has_any(l.name_near_pairs, r.name_near_pairs)"
                 + _YEAR_NEAR, _BY_YEAR),
    # a rare name two typos from a more common one, the same birth year, the other name
    # alike or missing; each rule comes twice, for the rare key on either side
    BlockingRule("given_typo2_year", "list_contains(r.given_near2, l.given)" + _YEAR_SAME
                 + _FAMILY_ALIKE, _BY_FAMILY),
    BlockingRule("given_typo2_year_left", "list_contains(l.given_near2, r.given)" + _YEAR_SAME
                 + _FAMILY_ALIKE, _BY_FAMILY),
    BlockingRule("family_typo2_year", "list_contains(r.family_near2, l.family)" + _YEAR_SAME
                 + _GIVEN_ALIKE, _BY_GIVEN),
    BlockingRule("family_typo2_year_left", "list_contains(l.family_near2, r.family)"
                 + _YEAR_SAME + _GIVEN_ALIKE, _BY_GIVEN),
)  # fmt: skip

#: Pairs that EM trains on, drawn by their own joins (as splink does), not the candidates:
#: the blocking rules' second keys are the very fields the sessions learn, so candidates would
#: teach EM that a shared birth year is a match. ``same_family`` pairs measure how often two
#: people of one family share a phone or an address (:func:`safelight.link.model.kin_u`).
TRAINING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("same_birth_date", _FULL_DATE + " AND " + _REAL_DATE),
    BlockingRule("same_names", "l.given = r.given AND l.family = r.family"),
    BlockingRule("same_family", "l.family = r.family"),
)


#: A join block (records with equal join keys) of more pairs than this is joined again on its
#: rule's narrowing keys, and skipped where a sub-block is still over: at scale the blocks of
#: common keys grow with the square of the input (at 1M × 1M, 800 × 800 people share the family
#: name Melnyk and a birth year). At 100k two-source: recall 98.53% in 1.53M candidates with
#: 1,000; 98.96% in 2.07M with 10,000 (too many at 1M); 99.18% in 3.22M without a cap.
MAX_BLOCK = 1_000


class _Multi(NamedTuple):
    """A column with several values per record: record ``i`` has
    ``values[offsets[i]:offsets[i + 1]]`` (none where the record has no value)."""

    offsets: np.ndarray
    values: np.ndarray

    def explode(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(record, value)`` for every value of the records ``ids``."""
        cnt = self.offsets[ids + 1] - self.offsets[ids]
        total = int(cnt.sum())
        pos = (np.repeat(self.offsets[ids], cnt) + np.arange(total, dtype=np.int64)
               - np.repeat(np.cumsum(cnt) - cnt, cnt))
        return np.repeat(ids, cnt), self.values[pos]


def _near_columns(vocab: np.ndarray, columns: list[np.ndarray]) -> list[_Multi]:
    """Per record and column of ``columns`` (codes into ``vocab``), the codes of the other keys
    of those columns one typo away (one letter substituted, dropped or added, or two
    neighbours swapped: their deletion neighbourhoods — the key and, from four letters on,
    the key with any one letter deleted, hashed by
    :func:`~safelight.link.name_keys.deletion_hashes` — share a variant) that are *more
    frequent* in the columns (ties: the lower code). Each pair of similar keys is listed
    once, on its rarer key: a typo lists the name it came from, while a common name, with
    many typos of it about, lists few."""
    used = unique_sorted(np.concatenate([c[c >= 0] for c in columns]))
    owner, flat = deletion_hashes(vocab[used].tolist(), one_from=4, two_from=_NEVER)
    owner = used[owner]
    # name pairs that share a variant: a self-join on the variant hashes (a key whose own
    # variants coincide, anna → ana twice, pairs with itself: dropped below)
    pairs = [(i, j) for i, j in _join_within(owner, flat)]
    x = np.concatenate([p[0] for p in pairs] + [np.zeros(0, np.int64)])
    y = np.concatenate([p[1] for p in pairs] + [np.zeros(0, np.int64)])
    freq = np.bincount(np.concatenate([c[c >= 0] for c in columns]), minlength=len(vocab))
    x, y = np.concatenate([x, y]), np.concatenate([y, x])
    keep = (freq[y] > freq[x]) | ((freq[y] == freq[x]) & (y < x))  # toward the more common
    return [_Multi(*lists) for lists in key_lists(x[keep], y[keep], len(vocab), columns)]


#: a length no key reaches (no two-letter deletions in :func:`_near_columns`)
_NEVER = 1 << 30


#: the list columns of :func:`_key_columns` (built only for rules that read them)
_LIST_COLUMNS = ("given_near", "family_near", "given_near2", "family_near2", "name_near_pairs",
                 "word_pairs")
#: the word-key columns whose pairs make ``word_pairs``
_WORD_COLUMNS = ("given_first", "given_last", "family_first", "family_last")


def reads_list_columns(rule: BlockingRule) -> bool:
    """Whether ``rule`` reads a list column (the typo-neighbour, near-name and word-pair
    lists, :data:`_LIST_COLUMNS`): those columns cost far more to build than the others
    (≈ 0.7 CPU-s at 100k records against 0.07)."""
    return any(re.search(rf"\b{c}\b", rule.condition) for c in _LIST_COLUMNS)


def _reads_lists(rules: tuple[BlockingRule, ...]) -> bool:
    return any(reads_list_columns(r) for r in rules)


def build_key_columns(records: Records, rules: tuple[BlockingRule, ...] = DEFAULT_RULES
                      ) -> None:
    """Build the key columns ``rules`` read and keep them on ``records``: a caller that runs
    the rules from two processes calls it before forking, so that both share the columns
    instead of building them once each. The list columns are built only when a rule of
    ``rules`` reads them (:func:`reads_list_columns`)."""
    _key_columns(records, _reads_lists(rules))


def _key_columns(records: Records, lists: bool = True) -> dict[str, Any]:
    """:func:`_build_key_columns`, kept on ``records`` after the first call (the list
    columns added when first asked for): a run calls :func:`pairs_by_rule` once per few
    rules, from two processes (forked after the first call, they share the columns)."""
    cache = records.__dict__.setdefault("_blocking_columns", {})
    if "plain" not in cache:
        cache["plain"] = _build_key_columns(records)
    if lists and "lists" not in cache:
        cache["lists"] = _list_columns(records)
    return {**cache["plain"], **(cache["lists"] if lists else {})}


def _list_columns(records: Records) -> dict[str, _Multi]:
    """The list columns of the rules (:data:`_LIST_COLUMNS`): ``given_near``/``family_near``
    (:func:`_near_columns`), ``given_near2``/``family_near2`` (a rare key's more common keys
    two typos away, :func:`~safelight.link.name_keys.rare_near_lists`), ``name_near_pairs``
    (the pairs of a record's names or their near keys,
    :func:`~safelight.link.name_keys.near_pair_lists`) and ``word_pairs`` (the pairs of its
    name words, :func:`~safelight.link.name_keys.word_pair_lists`)."""
    codes = records.codes.column
    vocab = records.codes.vocab["given"]  # shared by the name columns
    names = [codes["given"], codes["family"]]
    near = _near_columns(vocab, names)
    near2 = [_Multi(*x) for x in rare_near_lists(names, vocab)]
    bare = bare_words(vocab, [codes[c] for c in ("given", "family", *_WORD_COLUMNS)])

    def forms(name: str) -> list[np.ndarray]:  # the key, without a fused article, last word
        return [codes[name], *(np.where(c >= 0, bare[np.maximum(c, 0)], -1)
                               for c in (codes[name], codes[f"{name}_last"]))]

    pairs = near_pair_lists(forms("given"), forms("family"), [near[0], near2[0]],
                            [near[1], near2[1]], len(vocab))
    words = word_pair_lists([codes[c] for c in _WORD_COLUMNS], bare)
    return dict(zip(_LIST_COLUMNS, [*near, *near2, _Multi(*pairs), _Multi(*words)],
                    strict=True))


def _build_key_columns(records: Records) -> dict[str, Any]:
    """The columns the rules read, as ``name → (values, nullable)``: every string column of
    ``records`` as its integer code (:attr:`Records.codes`; ``-1``, i.e. NULL, where missing),
    the birth date parts (never NULL; ``-1`` or ``0`` where unknown), and the derived keys
    ``name_lo``/``name_hi`` (the two name keys in a fixed order),
    ``family_prefix2``/``family_prefix3``/``given_prefix3`` and ``given_initial``/
    ``family_initial`` and the consonant sound keys ``given_sound``/``family_sound`` (the list
    columns ``given_near``/``family_near`` — the more common name keys one typo away,
    :func:`_near_columns`, for ``list_contains`` — are added by :func:`_key_columns` when a
    rule reads them). Codes compare equal exactly when the strings do, so the rules read as
    on the strings, but join and filter on integers."""
    codes = records.codes
    col = codes.column
    out: dict[str, tuple[np.ndarray, bool]] = {name: (v, True) for name, v in col.items()}
    for name in ("birth_year", "birth_month", "birth_day"):
        out[name] = (getattr(records, name), False)
    given, family = col["given"], col["family"]
    both = (given >= 0) & (family >= 0)
    out["name_lo"] = (np.where(both, np.minimum(given, family), -1).astype(np.int32), True)
    out["name_hi"] = (np.where(both, np.maximum(given, family), -1).astype(np.int32), True)
    vocab = codes.vocab["given"]  # shared by the name columns
    for key, k, name in (("family_prefix2", 2, family), ("family_prefix3", 3, family),
                         ("given_prefix3", 3, given), ("given_initial", 1, given),
                         ("family_initial", 1, family)):
        prefixes = _prefix_codes(vocab, k)
        out[key] = (np.where(name >= 0, prefixes[np.maximum(name, 0)], -1).astype(np.int32),
                    True)
    sound = _sound_codes(vocab)
    for key, name in (("given_sound", given), ("family_sound", family)):
        out[key] = (np.where(name >= 0, sound[np.maximum(name, 0)], -1).astype(np.int32), True)
    return out


def _blocking_columns(records: Records, lists: bool = True) -> pa.Table:
    """:func:`_key_columns` as the Arrow table the SQL rules join (NULL where missing), with
    ``rid``, the row index."""
    out: dict[str, pa.Array] = {"rid": pa.array(np.arange(len(records), dtype=np.int64))}
    for name, col in _key_columns(records, lists).items():
        if isinstance(col, _Multi):
            out[name] = pa.ListArray.from_arrays(pa.array(col.offsets.astype(np.int32)),
                                                 pa.array(col.values, pa.int32()))
            continue
        v, nullable = col
        out[name] = pa.array(v, pa.int32(), mask=v < 0) if nullable else pa.array(v)
    return pa.table(out)


def _prefix_codes(vocab: np.ndarray, k: int) -> np.ndarray:
    """Codes of the first ``k`` letters of each string of ``vocab``; initials of the given and
    family names share one vocabulary (k = 1 is compared crosswise)."""
    (codes,), _ = encode_strings([np.array([v[:k] for v in vocab], dtype=object)])
    return codes if len(codes) else np.zeros(1, dtype=np.int32)


def _sound_codes(vocab: np.ndarray) -> np.ndarray:
    """Codes of the consonant keys (:func:`~safelight.link.sound_keys.consonant_key`) of each
    string of ``vocab``; ``-1`` where a name has no consonant."""
    (codes,), _ = encode_strings([np.array([consonant_key(v) for v in vocab], dtype=object)])
    return codes if len(codes) else np.full(1, -1, dtype=np.int32)


def _block_table(c: duckdb.DuckDBPyConnection, records: Records,
                 rules: tuple[BlockingRule, ...]) -> None:
    c.register("__link_records_arrow", _blocking_columns(records, _reads_lists(rules)))
    c.execute("CREATE OR REPLACE TEMP TABLE __link_block AS SELECT * FROM __link_records_arrow")
    c.unregister("__link_records_arrow")


def _join(rule: BlockingRule, cross_only: bool) -> str:
    across = " AND l.contributor IS DISTINCT FROM r.contributor" if cross_only else ""
    return (f"FROM __link_block l JOIN __link_block r ON ({rule.condition}) AND l.rid < r.rid"
            f"{across}")


# -- the NumPy engine: the rules' SQL read into a small expression tree -----------------------

_TOKEN = re.compile(r"\s*(?:(\d+)|([lr])\.([a-z_][a-z_0-9]*)|(<>|!=|<=|>=|=|<|>|\(|\)|-|\+|,)"
                    r"|([A-Za-z_]+))")
_CMP = {"=": np.equal, "<>": np.not_equal, "!=": np.not_equal, "<": np.less,
        "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


class _Parser:
    """Recursive descent over the SQL subset of the rules. Nodes are tuples: ``("col", side,
    name)``, ``("int", v)``, ``("cmp", op, x, y)``, ``("arith", op, x, y)``, ``("abs", x)``,
    ``("null", x)``, ``("not", x)``, ``("and", [x...])``, ``("or", [x...])`` and
    ``("contains", x, y)`` (``list_contains`` of a list column and a column) and
    ``("overlap", x, y)`` (``list_has_any`` of two list columns: a value in common)."""

    def __init__(self, text: str) -> None:
        self.text, self.tokens, pos = text, [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise UsageError(f"blocking rule {self.text!r}: cannot read it from "
                                 f"{text[pos:pos + 20]!r}; use comparisons of l.<column> and "
                                 "r.<column>, integers, + -, abs(), IS [NOT] NULL, AND, OR, NOT")
            num, side, name, op, word = m.groups()
            if num is not None:
                self.tokens.append(("int", int(num)))
            elif side is not None:
                self.tokens.append(("col", side, name))
            elif op is not None:
                self.tokens.append(("op", op))
            else:
                self.tokens.append(("kw", word.upper()))
            pos = m.end()
        self.i = 0

    def parse(self) -> tuple:
        node = self._or()
        if self.i != len(self.tokens):
            raise UsageError(f"blocking rule {self.text!r}: unexpected {self.tokens[self.i]!r}")
        return node

    def _peek(self, *tok: Any) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i][:len(tok)] == tok

    def _take(self, *tok: Any) -> None:
        if not self._peek(*tok):
            raise UsageError(f"blocking rule {self.text!r}: expected {tok[-1]!r}")
        self.i += 1

    def _or(self) -> tuple:
        xs = [self._and()]
        while self._peek("kw", "OR"):
            self.i += 1
            xs.append(self._and())
        return xs[0] if len(xs) == 1 else ("or", xs)

    def _and(self) -> tuple:
        xs = [self._not()]
        while self._peek("kw", "AND"):
            self.i += 1
            xs.append(self._not())
        return xs[0] if len(xs) == 1 else ("and", xs)

    def _not(self) -> tuple:
        if self._peek("kw", "NOT"):
            self.i += 1
            return ("not", self._not())
        return self._cmp()

    def _cmp(self) -> tuple:
        x = self._sum()
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "op" \
                and self.tokens[self.i][1] in _CMP:
            op = self.tokens[self.i][1]
            self.i += 1
            return ("cmp", op, x, self._sum())
        if self._peek("kw", "IS"):
            self.i += 1
            negate = self._peek("kw", "NOT")
            if negate:
                self.i += 1
            self._take("kw", "NULL")
            return ("not", ("null", x)) if negate else ("null", x)
        return x

    def _sum(self) -> tuple:
        x = self._atom()
        while self._peek("op", "-") or self._peek("op", "+"):
            op = self.tokens[self.i][1]
            self.i += 1
            x = ("arith", op, x, self._atom())
        return x

    def _atom(self) -> tuple:
        if self.i >= len(self.tokens):
            raise UsageError(f"blocking rule {self.text!r}: ends too early")
        tok = self.tokens[self.i]
        if tok[0] in ("int", "col"):
            self.i += 1
            return tok
        if tok in (("kw", "LIST_CONTAINS"), ("kw", "LIST_HAS_ANY")):
            self.i += 1
            self._take("op", "(")
            x = self._atom()
            self._take("op", ",")
            y = self._atom()
            self._take("op", ")")
            return ("contains" if tok[1] == "LIST_CONTAINS" else "overlap", x, y)
        if tok == ("kw", "ABS"):
            self.i += 1
            self._take("op", "(")
            x = self._or()
            self._take("op", ")")
            return ("abs", x)
        if tok == ("op", "("):
            self.i += 1
            x = self._or()
            self._take("op", ")")
            return x
        raise UsageError(f"blocking rule {self.text!r}: unexpected {tok!r}")


_Value = tuple[np.ndarray, np.ndarray | None]  # values, known (None: all known)


def _known(*ks: np.ndarray | None) -> np.ndarray | None:
    ks = [k for k in ks if k is not None]
    if not ks:
        return None
    out = ks[0]
    for k in ks[1:]:
        out = out & k
    return out


def _evaluate(node: tuple, col: Any) -> _Value:
    """SQL three-valued evaluation of ``node``; ``col(side, name)`` gives a column's values
    for the pairs and where they are known (not NULL)."""
    kind = node[0]
    if kind == "col":
        return col(node[1], node[2])
    if kind in ("contains", "overlap"):
        raise UsageError("list_contains(<side>.<list column>, <side>.<column>) and "
                         "list_has_any(l.<list column>, r.<list column>) work only at "
                         "the top level of a blocking rule (joined with AND)")
    if kind == "int":
        return np.int64(node[1]), None
    if kind in ("cmp", "arith"):
        (x, kx), (y, ky) = _evaluate(node[2], col), _evaluate(node[3], col)
        if kind == "cmp":
            return _CMP[node[1]](x, y), _known(kx, ky)
        x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
        return (x - y if node[1] == "-" else x + y), _known(kx, ky)
    if kind == "abs":
        x, k = _evaluate(node[1], col)
        return np.abs(x), k
    if kind == "null":
        _, k = _evaluate(node[1], col)
        return (np.bool_(False) if k is None else ~k), None
    if kind == "not":
        x, k = _evaluate(node[1], col)
        return ~x, k
    # AND / OR over known-true and known-false
    parts = [_evaluate(x, col) for x in node[1]]
    true = [v if k is None else v & k for v, k in parts]
    false = [~v if k is None else ~v & k for v, k in parts]
    if kind == "and":
        t, f = true[0], false[0]
        for x, y in zip(true[1:], false[1:], strict=True):
            t, f = t & x, f | y
    else:
        t, f = true[0], false[0]
        for x, y in zip(true[1:], false[1:], strict=True):
            t, f = t | x, f & y
    return t, t | f


def _split_rule(rule: BlockingRule) -> tuple[list[tuple[str, str]], list[tuple]]:
    """The top-level equalities ``l.x = r.y`` (and ``list_contains(r.x, l.y)``, either way
    round, and ``list_has_any(l.x, r.y)``) of a rule as ``(x, y)`` and its other top-level conjuncts (a pair is proposed when all of them are
    true)."""
    tree = _Parser(rule.condition).parse()
    conjuncts = tree[1] if tree[0] == "and" else [tree]
    equal, rest = [], []
    for c in conjuncts:
        if c[0] in ("cmp", "contains", "overlap") and c[-2][0] == "col" and c[-1][0] == "col" \
                and (c[0] != "cmp" or c[1] == "=") and {c[-2][1], c[-1][1]} == {"l", "r"}:
            left, right = (c[-2], c[-1]) if c[-2][1] == "l" else (c[-1], c[-2])
            equal.append((left[2], right[2]))
        else:
            rest.append(c)
    if not equal:
        raise UsageError(f"blocking rule {rule.name!r} has no equality l.<column> = "
                         "r.<column> at its top level, so it would compare every pair; add one")
    return equal, rest


def _columns_read(node: tuple) -> set[tuple[str, str]]:
    if node[0] == "col":
        return {(node[1], node[2])}
    out: set[tuple[str, str]] = set()
    for x in node[1:]:
        if isinstance(x, tuple):
            out |= _columns_read(x)
        elif isinstance(x, list):
            for y in x:
                out |= _columns_read(y)
    return out


def _holds(node: tuple, column: Any, size: int) -> np.ndarray:
    """Where ``node`` is TRUE (not FALSE nor NULL), as a boolean array of ``size``."""
    val, known = _evaluate(node, column)
    return np.broadcast_to(val if known is None else val & known, (size,))


_CHUNK = 4_000_000  # joined pairs evaluated at a time (bounds the memory of a common key)


def _expand(left: np.ndarray, lo: np.ndarray, cnt: np.ndarray, right: np.ndarray
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs ``(left[k], right[lo[k] + t])`` for ``t < cnt[k]``, in chunks of about
    :data:`_CHUNK`."""
    cum = np.cumsum(cnt)
    start = 0
    while start < len(left):
        base = cum[start - 1] if start else 0
        end = max(int(np.searchsorted(cum, base + _CHUNK, "right")), start + 1)
        c = cnt[start:end]
        total = int(c.sum())
        if total:
            first = np.repeat(np.cumsum(c) - c, c)
            offs = np.arange(total, dtype=np.int64) - first + np.repeat(lo[start:end], c)
            yield np.repeat(left[start:end], c), right[offs]
        start = end


def _compact(keys: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """``keys`` (non-negative int64, one array per side) and ``size`` with every key below it;
    re-numbered jointly to ``0..size-1`` (equal keys stay equal) when their range is much
    wider than their number, so that a key can index a table of ``size`` counts."""
    total = sum(len(k) for k in keys)
    size = 1 + max((int(k.max()) for k in keys if len(k)), default=-1)
    if size <= 4 * total + 1024:
        return keys, size
    uniq, inv = unique_inverse(np.concatenate(keys))
    return np.split(inv, np.cumsum([len(k) for k in keys])[:-1]), len(uniq)


def _runs(k: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key value below ``size``: where its run starts in ``k`` sorted, and its length."""
    cnt = np.bincount(k, minlength=size)
    return np.cumsum(cnt) - cnt, cnt


def _join_ordered(li: np.ndarray, kl: np.ndarray, ri: np.ndarray, kr: np.ndarray
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """All ``(i, j)`` of records ``li`` × ``ri`` with equal (non-negative) keys: the right
    side sorted once, each left row's run found by a counting table (no binary search)."""
    (kl, kr), size = _compact([kl, kr])
    start, length = _runs(kr, size)
    order = stable_order(kr, size)
    lo, cnt = start[kl], length[kl]
    keep = cnt > 0
    yield from _expand(li[keep], lo[keep], cnt[keep], ri[order])


def _join_within(ids: np.ndarray, k: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every unordered pair of records ``ids`` with equal (non-negative) keys, once."""
    (k,), size = _compact([k])
    start, length = _runs(k, size)
    order = stable_order(k, size)
    sk = k[order]
    pos = np.arange(len(sk))
    cnt = start[sk] + length[sk] - pos - 1
    keep = cnt > 0
    yield from _expand(ids[order][keep], pos[keep] + 1, cnt[keep], ids[order])


def _keys(sides: list[list[np.ndarray]]) -> list[np.ndarray]:
    """One non-negative int64 key per row of each side: ``sides[s][t]`` holds join column
    ``t`` of side ``s``; two rows' keys are equal exactly when all their join columns are.
    Computed jointly, so the keys of the sides are comparable."""
    keys = [np.zeros(len(v[0]), dtype=np.int64) for v in sides]
    for t in range(len(sides[0])):
        vals = [v[t].astype(np.int64) for v in sides]
        lo = min((int(v.min()) for v in vals if len(v)), default=0)
        width = max((int(v.max()) for v in vals if len(v)), default=0) - lo + 1
        keys = [k * width + (v - lo) for k, v in zip(keys, vals, strict=True)]
        if t + 1 < len(sides[0]):  # re-number so the next column cannot overflow
            keys, _ = _compact(keys)
    return keys


def _over_cap(keys: list[np.ndarray], max_block: int, within: bool
              ) -> tuple[list[np.ndarray], int, int]:
    """Which rows of each side's join ``keys`` lie in a block of at most ``max_block`` pairs
    (one side against the other, or ``within`` one side: ``c (c - 1) / 2``), the number of
    larger blocks and of the pairs they hold."""
    keys, size = _compact(keys)
    counts = [np.bincount(k, minlength=size).astype(np.int64) for k in keys]
    pairs = counts[0] * (counts[0] - 1) // 2 if within else counts[0] * counts[1]
    big = pairs > max_block
    return [~big[k] for k in keys], int(big.sum()), int(pairs[big].sum())


def _rule_pairs(rule: BlockingRule, cols: dict[str, Any], n: int,
                contributor: np.ndarray | None, max_block: int | None = None,
                skipped: dict[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    """Pair codes ``a * n + b`` (a < b) of one rule, by the NumPy engine; ``contributor``
    (codes, -1 for none) limits the pairs to records of different contributors.

    Conjuncts that read one side only (``l.birth_year >= 0``) select that side's records
    before the join; in a join on the same columns of both sides, one that reads only join
    columns holds for the other side too. The remaining conjuncts filter the joined pairs one
    after the other. A ``list_contains`` join repeats each record of the list's side once
    per value of its list; a ``list_has_any`` join repeats the records of both sides so, and
    keeps a pair that shares several values once."""
    equal, rest = _split_rule(rule)
    for side, c in {*(("l", x) for x, _ in equal), *(("r", y) for _, y in equal),
                    *(("l", x) for x, _ in rule.narrow + rule.narrow_also),
                    *(("r", y) for _, y in rule.narrow + rule.narrow_also),
                    *(sc for node in rest for sc in _columns_read(node))}:
        if c not in cols:
            raise UsageError(f"blocking rule {rule.name!r} reads unknown column {side}.{c}; "
                             f"known: {', '.join(sorted(cols))}")
    multi = [t for t, (x, y) in enumerate(equal)
             if isinstance(cols[x], _Multi) or isinstance(cols[y], _Multi)]
    if len(multi) > 1:
        raise UsageError(f"blocking rule {rule.name!r}: at most one list_contains or "
                         "list_has_any (a join on a list column) per rule")
    both_lists = bool(multi) and all(isinstance(cols[c], _Multi) for c in equal[multi[0]])
    if any(isinstance(cols[c], _Multi) for pair in rule.narrow + rule.narrow_also for c in pair):
        raise UsageError(f"blocking rule {rule.name!r}: its narrowing keys must be plain "
                         "columns, not lists")
    for node in rest:
        if any(isinstance(cols[c], _Multi) for _, c in _columns_read(node)):
            raise UsageError(f"blocking rule {rule.name!r}: list columns work only in a "
                             "top-level list_contains or list_has_any")
    xs, ys = [x for x, _ in equal], [y for _, y in equal]
    same_columns = xs == ys

    def whole(side: str, name: str) -> _Value:
        v, nullable = cols[name]
        return v, (v >= 0 if nullable else None)

    ok = {"l": np.ones(n, dtype=bool), "r": np.ones(n, dtype=bool)}
    for x, y in equal:  # NULL never equals
        for side, c in (("l", x), ("r", y)):
            col = cols[c]
            if isinstance(col, _Multi):
                ok[side] &= np.diff(col.offsets) > 0
            elif col[1]:
                ok[side] &= col[0] >= 0
    for node in rest:
        read = _columns_read(node)
        sides = {side for side, _ in read}
        if len(sides) == 1:
            (side,) = sides
            holds = _holds(node, whole, n)
            ok[side] &= holds
            if same_columns and {c for _, c in read} <= set(xs):
                ok["r" if side == "l" else "l"] &= holds

    def rows(ids: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The join rows of records ``ids`` (one per value of a list column) and their join
        columns."""
        lists = [t for t, c in enumerate(names) if isinstance(cols[c], _Multi)]
        if lists:
            ids, values = cols[names[lists[0]]].explode(ids)
        return ids, [values if lists and t == lists[0] else cols[c][0][ids]
                     for t, c in enumerate(names)]

    def keyed(*sides: tuple[np.ndarray, list[str]]) -> list[np.ndarray]:
        expanded = [rows(ids, names) for ids, names in sides]
        keys = _keys([v for _, v in expanded])
        return [x for (ids, _), k in zip(expanded, keys, strict=True) for x in (ids, k)]

    # one join of the selected records with themselves when both sides select the same ones;
    # otherwise (a one-sided condition on other columns, e.g. ``l.family IS NULL``) the left
    # selection against the right one, which is far smaller than everyone against everyone
    symmetric = same_columns and bool((ok["l"] == ok["r"]).all())
    capped = [0, 0, 0]  # blocks over the cap, sub-blocks still over it, pairs in those

    def plain(ids: list[np.ndarray], keys: list[np.ndarray]
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if len(ids) == 2:
            return _join_ordered(ids[0], keys[0], ids[1], keys[1])
        return _join_within(ids[0], keys[0])

    def narrowed(ids: list[np.ndarray], keys: list[np.ndarray], chain: tuple[tuple[str, str], ...]
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The pairs of equal ``keys`` (one side against the other, or within one side) whose
        block is under the cap; the rows of the larger blocks narrowed by ``chain[0]`` (a pair
        of columns, left and right): the pairs where both values are present and equal, and
        those where one is missing (the missing value agrees with any), each narrowed again
        by the rest of the chain where still over the cap, and skipped (counted) at its end."""
        fine, big, lost = _over_cap(keys, max_block, within=len(keys) == 1)
        yield from plain([i[f] for i, f in zip(ids, fine, strict=True)],
                         [k[f] for k, f in zip(keys, fine, strict=True)])
        if not big:
            return
        if not chain:
            capped[1] += big
            capped[2] += lost
            return
        ids = [i[~f] for i, f in zip(ids, fine, strict=True)]
        keys = [k[~f] for k, f in zip(keys, fine, strict=True)]
        values, has = [], []
        for t, i in enumerate(ids):
            v, nullable = cols[chain[0][t]]
            values.append(v[i])
            has.append(values[-1] >= 0 if nullable else values[-1] > 0)  # date parts: 0, -1
        rest = chain[1:]
        if len(ids) == 1:  # within one side: present with present, missing with everyone
            (i,), (k,), (v,), (p,) = ids, keys, values, has
            yield from narrowed([i[p]], _keys([[k[p], v[p]]]), rest)
            yield from narrowed([i[~p], i[p]], [k[~p], k[p]], rest)
            yield from narrowed([i[~p]], [k[~p]], rest)
            return
        (li, ri), (kl, kr), (vl, vr), (pl, pr) = ids, keys, values, has
        yield from narrowed([li[pl], ri[pr]], _keys([[kl[pl], vl[pl]], [kr[pr], vr[pr]]]), rest)
        yield from narrowed([li[~pl], ri], [kl[~pl], kr], rest)
        yield from narrowed([li[pl], ri[~pr]], [kl[pl], kr[~pr]], rest)

    def join(ids: list[np.ndarray], keys: list[np.ndarray]
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The pairs of equal ``keys``: one side against the other (two sides) or within one
        side, with the blocks over the cap narrowed by the rule's narrowing keys."""
        if max_block is None:
            yield from plain(ids, keys)
            return
        fine, big, lost = _over_cap(keys, max_block, within=len(keys) == 1)
        yield from plain([i[f] for i, f in zip(ids, fine, strict=True)],
                         [k[f] for k, f in zip(keys, fine, strict=True)])
        if not big:
            return
        capped[0] += big
        ids = [i[~f] for i, f in zip(ids, fine, strict=True)]
        keys = [k[~f] for k, f in zip(keys, fine, strict=True)]
        yield from narrowed(ids, keys, rule.narrow)
        if rule.narrow_also:
            yield from narrowed(ids, keys, rule.narrow_also)

    def ordered(li: np.ndarray, kl: np.ndarray, ri: np.ndarray, kr: np.ndarray
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return join([li, ri], [kl, kr])

    def within(ids: np.ndarray, k: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return join([ids], [k])

    two = contributor is not None and contributor.min() >= 0 and contributor.max() == 1
    joins: list[Iterator[tuple[np.ndarray, np.ndarray]]] = []
    if symmetric:  # l is the lower record of a pair found in either order
        ids = np.flatnonzero(ok["l"] | ok["r"])
        if two:  # one side's records against the other's
            joins.append(ordered(*keyed((ids[contributor[ids] == 0], xs),
                                        (ids[contributor[ids] == 1], xs))))
        else:
            joins.append(within(*keyed((ids, xs))))
    else:
        li, ri = np.flatnonzero(ok["l"]), np.flatnonzero(ok["r"])
        if two:
            for s in (0, 1):
                joins.append(ordered(*keyed((li[contributor[li] == s], xs),
                                            (ri[contributor[ri] == 1 - s], ys))))
        else:
            joins.append(ordered(*keyed((li, xs), (ri, ys))))
    out = []
    joined = 0
    for join in joins:
        for i, j in join:
            joined += len(i)
            a, b = np.minimum(i, j), np.maximum(i, j)
            keep = ok["l"][a] & ok["r"][b] & (a != b if symmetric else i < j)
            if contributor is not None and not two:
                keep &= contributor[a] != contributor[b]  # IS DISTINCT FROM: -1 is none
            a, b = a[keep], b[keep]
            for node in rest:  # each conjunct on the pairs the earlier ones kept
                if not len(a):
                    break

                def column(side: str, name: str, a=a, b=b) -> _Value:
                    v, nullable = cols[name]
                    x = v[a if side == "l" else b]
                    return x, (x >= 0 if nullable else None)

                hit = _holds(node, column, len(a))
                a, b = a[hit], b[hit]
            out.append(a * n + b)
    pairs = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    if (capped[0] and rule.narrow_also) or both_lists:  # a pair of both chains (or of
        pairs = unique_sorted(pairs)  # several shared list values) once
    log.debug("blocking rule %s: %d joined pairs, %d kept", rule.name, joined, len(pairs))
    if capped[0]:
        log.info("blocking rule %s: %d blocks over %d pairs (%s); %d blocks skipped with %d "
                 "pairs before the rule's other conditions", rule.name, capped[0], max_block,
                 " or ".join("narrowed by " + ", then ".join(f"{x}={y}" for x, y in chain)
                             for chain in (rule.narrow, rule.narrow_also) if chain)
                 or "no narrowing key", capped[1], capped[2])
    if skipped is not None:
        skipped[rule.name] = (capped[0], capped[1], capped[2])
    return pairs


def pairs_by_rule(records: Records, rules: tuple[BlockingRule, ...] = DEFAULT_RULES, *,
                  cross_only: bool = False, max_block: int | None = MAX_BLOCK,
                  skipped: dict[str, tuple[int, int, int]] | None = None
                  ) -> dict[str, np.ndarray]:
    """Per rule name (in the order of ``rules``), the pair codes ``a * len(records) + b``
    (a < b, each pair once) that the rule proposes on its own, by the NumPy engine; for
    measuring what each rule contributes (``bench/linkage/blocking_recall.py``). A join
    block (records with equal join keys) of more than ``max_block`` × the rule's
    ``cap_share`` pairs is narrowed by the rule's chains of narrowing keys and skipped where
    still over at the end of a chain (None: no cap); ``skipped``, when given, receives per
    rule the number of blocks over the cap, of (sub-)blocks skipped and of the pairs these
    held. Any subset of the rules may run in any process: each rule's pairs do not depend on
    the others."""
    cols = _key_columns(records, _reads_lists(rules))
    n = len(records)
    contributor = cols["contributor"][0] if cross_only else None
    if n == 0 or (contributor is not None and not len(contributor)):
        rules = ()
    out: dict[str, np.ndarray] = {}
    for rule in rules:
        # each pair once per rule
        cap = None if max_block is None else max(1, round(max_block * rule.cap_share))
        out[rule.name] = _rule_pairs(rule, cols, n, contributor, cap, skipped)
        log.debug("blocking rule %s: %d pairs", rule.name, len(out[rule.name]))
    return out


def _candidates_numpy(records: Records, rules: tuple[BlockingRule, ...], cross_only: bool,
                      max_block: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(records)
    per_rule = pairs_by_rule(records, rules, cross_only=cross_only, max_block=max_block)
    codes = list(per_rule.values())
    which = [np.full(len(c), i, dtype=np.int8) for i, c in enumerate(codes)]
    if not codes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.int8)
    allc = np.concatenate(codes)
    uniq, first = np.unique(allc, return_index=True)  # stable: the first rule's occurrence
    return uniq // n, uniq % n, np.concatenate(which)[first]


_EXACT_UP_TO = 20  # a training rule up to 20 × max_pairs pairs is counted exactly


def training_pairs(
    records: Records,
    rules: tuple[BlockingRule, ...] = TRAINING_RULES,
    max_pairs: int = 300_000,
    *,
    seed: int = 0,
    cross_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, int]]:
    """``(a, b, drawn, totals)``: the distinct pairs of the training ``rules``, sorted by
    (a, b); per rule name, a boolean mask of the pairs it drew and its number of pairs in all.
    A rule with more than ``max_pairs`` pairs draws a uniform sample of about ``max_pairs``
    (by a hash of the pair and ``seed``, so deterministic) and its count is exact (divided by
    the sampled share); a huge one (over 20 × ``max_pairs``, e.g. everyone sharing a common
    family name) draws the pairs of a sample of its records instead, whose count is only
    estimated (cheap: the join is never run in full)."""
    with _private_duckdb() as c:
        _block_table(c, records, rules)
        shares: dict[str, float] = {}
        selects: list[tuple[str, str]] = []
        for rule in rules:
            join = _join(rule, cross_only)
            # the rule's size, estimated on 1/64 of the records (cheap even for 60M pairs)
            probe = 64 * int(c.execute(f"SELECT count(*) {join} AND hash(l.rid, {int(seed)})"
                                       " % 64 = 0").fetchall()[0][0])
            if probe > _EXACT_UP_TO * max_pairs:
                # huge (common family names): the pairs of a sample of the records; uniform per
                # pair but noisy in number, which only the share-based kin estimate uses
                share = max_pairs / probe
                keep = f" AND hash(l.rid, {int(seed)}) % 1000000 < {int(1_000_000 * share)}"
            else:  # counted exactly, sampled by pair: the sessions' prior needs the count
                share, keep = pair_sample(c, join, max_pairs, seed)
            shares[rule.name] = share
            selects.append((rule.name, f"{join}{keep}"))
        return union_of_drawn(c, selects, shares)


@contextmanager
def _private_duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection whose spill directory (DuckDB's default: ``.tmp`` in
    the working directory) is a private temporary directory (mode 0700), removed with the
    connection: the blocking table holds birth dates and name codes."""
    with tempfile.TemporaryDirectory(prefix="safelight-blocking-") as spill:
        c = duckdb.connect(config={"temp_directory": spill})
        try:
            yield c
        finally:
            c.close()


def pair_sample(con: duckdb.DuckDBPyConnection, join: str, max_pairs: int, seed: int
                ) -> tuple[float, str]:
    """``(share, condition)``: the share of the pairs of ``join`` (``FROM ... l JOIN ... r ...``
    over record ids ``rid``) to draw so that about ``max_pairs`` remain, and the SQL condition
    (``""`` when all are kept) that draws them uniformly by a hash of the pair and ``seed``."""
    total = int(con.execute(f"SELECT count(*) {join}").fetchall()[0][0])
    share = min(1.0, max_pairs / max(total, 1))
    keep = (f" AND hash(l.rid, r.rid, {int(seed)}) % 1000000 < {int(1_000_000 * share)}"
            if share < 1.0 else "")
    return share, keep


def union_of_drawn(con: duckdb.DuckDBPyConnection, selects: list[tuple[str, str]],
                   shares: dict[str, float]
                   ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, int]]:
    """``(a, b, drawn, totals)`` of training rules given as ``(name, FROM ... WHERE ...)`` pair
    selections: the distinct pairs sorted by (a, b), per rule a mask of the pairs it drew, and
    its number of pairs in all (drawn divided by its sampled ``shares[name]``)."""
    parts = [f"SELECT l.rid AS a, r.rid AS b, {i} AS rule {sql}"
             for i, (_, sql) in enumerate(selects)]
    flags = ", ".join(f"bool_or(rule = {i}) AS r{i}" for i in range(len(selects)))
    res = con.sql(f"SELECT a, b, {flags} FROM (" + " UNION ALL ".join(parts)
                  + ") GROUP BY a, b ORDER BY a, b").to_arrow_table()
    drawn = {name: res.column(f"r{i}").to_numpy(zero_copy_only=False).astype(bool)
             for i, (name, _) in enumerate(selects)}
    totals = {name: round(int(mask.sum()) / shares[name]) for name, mask in drawn.items()}
    return (res.column("a").to_numpy().astype(np.int64),
            res.column("b").to_numpy().astype(np.int64), drawn, totals)


def candidate_pairs(
    records: Records,
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    cross_only: bool = False,
    engine: str = "numpy",
    max_block: int | None = MAX_BLOCK,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, rule)``: candidate pairs as int64 record indices (a < b) and the int8 index of
    the first rule in ``rules`` that proposed each pair; sorted by (a, b). With ``cross_only``
    only pairs of records from different contributors are proposed (two-source linkage).
    ``engine`` is ``"numpy"`` (default) or ``"duckdb"`` (on ``con`` when given); both give the
    same pairs (see the module docstring). The NumPy engine skips every join block of more
    than ``max_block`` pairs (logged; ``None``: none skipped); DuckDB joins every block."""
    if engine == "numpy":
        return _candidates_numpy(records, rules, cross_only, max_block)
    if engine != "duckdb":
        raise UsageError(f"blocking engine {engine!r} is unknown; use 'numpy' or 'duckdb'")
    if con is None:
        with _private_duckdb() as c:
            return _duckdb_candidates(c, records, rules, cross_only)
    return _duckdb_candidates(con, records, rules, cross_only)


def _duckdb_candidates(c: duckdb.DuckDBPyConnection, records: Records,
                       rules: tuple[BlockingRule, ...], cross_only: bool
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`candidate_pairs` on DuckDB over connection ``c``."""
    _block_table(c, records, rules)
    selects = [f"SELECT l.rid AS a, r.rid AS b, {i}::TINYINT AS rule {_join(rule, cross_only)}"
               for i, rule in enumerate(rules)]
    sql = (
        "SELECT a, b, min(rule) AS rule FROM ("
        + " UNION ALL ".join(selects)
        + ") GROUP BY a, b ORDER BY a, b"
    )
    res = c.sql(sql).to_arrow_table()
    c.execute("DROP TABLE IF EXISTS __link_block")
    return (
        res.column("a").to_numpy().astype(np.int64),
        res.column("b").to_numpy().astype(np.int64),
        res.column("rule").to_numpy().astype(np.int8),
    )
