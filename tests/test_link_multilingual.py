"""Linkage across scripts and transliterations (issue 5), and the generator behind it.

The hand-written set (tests/data/multilingual_names.csv) holds 45 true pairs — Ukrainian and
Russian names in Cyrillic against Polish, German, French, BGN/PCGN, ICAO and informal Latin
spellings and Russian forms; Arabic names in Arabic script and in English/French romanisations
with article forms; Greek names in Greek script, ELOT 743 and informal spellings — and 18
distractors (other persons with a similar name, or the same birth date, sex and nationality).
It is embedded in a generated two-source population (safelight.demo.linkage_pairs) and linked
with default settings. Plain string similarity (Jaro–Winkler on folded names) is the baseline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safelight.demo.linkage_pairs import COLUMNS, generate_linkage_pairs, informal_latin
from safelight.demo.multilingual import (
    embed,
    load_name_pairs,
    pair_recall,
    string_similarity_found,
)
from safelight.errors import SafelightError
from safelight.link import link_records

DATA = Path(__file__).parent / "data" / "multilingual_names.csv"


@pytest.fixture(scope="module")
def pairs():
    return load_name_pairs(DATA)


@pytest.fixture(scope="module")
def background():
    return generate_linkage_pairs(600, 600, seed=3)


@pytest.fixture(scope="module")
def full_dates(pairs, background):
    table, _person, offset = embed(pairs, background)
    return pair_recall(link_records(table).labels, pairs, offset)


@pytest.fixture(scope="module")
def year_only(pairs, background):
    p = pairs.year_only()
    table, _person, offset = embed(p, background)
    return pair_recall(link_records(table).labels, p, offset)


# -- the generator ------------------------------------------------------------------------------


def test_generator_sizes_truth_and_determinism():
    a = generate_linkage_pairs(300, 200, seed=5)
    b = generate_linkage_pairs(300, 200, seed=5)
    assert a.left.num_rows == 300 and a.right.num_rows == 200
    assert a.left.column_names == list(COLUMNS)
    assert a.left.equals(b.left) and a.right.equals(b.right)
    assert (a.left_person == b.left_person).all()
    # no person twice in one source; half of the smaller source is shared
    assert len(set(a.left_person.tolist())) == 300 and len(set(a.right_person.tolist())) == 200
    assert a.true_pairs == 100
    c = generate_linkage_pairs(300, 200, seed=6)
    assert not a.left.equals(c.left)


def test_generator_corruption_is_present():
    p = generate_linkage_pairs(1500, 1500, seed=2)
    left = p.left.to_pydict()
    given = [g or "" for g in left["given_name"]]
    assert any("\u0400" <= ch <= "\u04ff" for g in given for ch in g)  # Cyrillic kept
    assert p.stats["households"] > 20 and p.stats["moved"] > 100
    ph = [(m, d) for m, d in zip(left["birth_month"], left["birth_day"], strict=True)]
    assert sum(1 for x in ph if x == (1, 1)) > 15  # 01/01 placeholders (and real 1 January)
    assert sum(1 for y in left["birth_year"] if y is None) > 30  # missing birth dates
    # the true pairs differ in spelling more often than not-at-all
    lg = dict(zip(p.left_person.tolist(), left["given_name"], strict=True))
    rg = dict(zip(p.right_person.tolist(), p.right.column("given_name").to_pylist(),
                  strict=True))
    shared = set(lg) & set(rg)
    assert sum(lg[k] != rg[k] for k in shared) > 0.3 * len(shared)


def test_generator_rejects_bad_sizes():
    with pytest.raises(SafelightError, match="n_left"):
        generate_linkage_pairs(0, 10)


def test_informal_latin():
    assert informal_latin("Олександр Бойко") == "Olexandr Boiko"
    assert informal_latin("Юлія Ткачук") == "Yulia Tkachuk"
    assert informal_latin("Olena") == "Olena"
    assert informal_latin("Андрій", variant=1) != informal_latin("Андрій", variant=0)


# -- the multilingual set -----------------------------------------------------------------------


def test_set_loads(pairs):
    kinds = [k for _a, _b, k in pairs.true_pairs()]
    assert len(kinds) == 45
    assert {"cyrillic-latin", "arabic-latin", "greek-latin", "latin-latin"} <= set(kinds)


def test_plain_string_similarity_misses_most_pairs(pairs):
    found = string_similarity_found(pairs)
    kinds = np.array([k for _a, _b, k in pairs.true_pairs()])
    assert found.mean() <= 0.2
    assert not found[kinds != "latin-latin"].any()  # other scripts: never


def test_safelight_finds_the_pairs_string_similarity_misses(pairs, full_dates):
    assert full_dates["recall"] >= 0.9
    assert full_dates["by_kind"]["cyrillic-latin"]["recall"] == 1.0
    assert full_dates["by_kind"]["latin-latin"]["recall"] >= 0.9


def test_names_carry_the_match_without_day_and_month(year_only):
    """With the birth date cut to the year, names must do the work."""
    assert year_only["by_kind"]["cyrillic-latin"]["recall"] >= 0.9
    assert year_only["by_kind"]["latin-latin"]["recall"] >= 0.8


@pytest.mark.parametrize("kind", ["arabic-latin", "greek-latin"])
def test_other_scripts_without_day_and_month(year_only, kind):
    assert year_only["by_kind"][kind]["recall"] >= 0.75


def test_no_false_links_to_same_birth_date_distractors(full_dates):
    assert full_dates["false_links"] == 0
