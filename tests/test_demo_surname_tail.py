"""The long-tailed family-name pools of the linkage-at-scale population (demo.names)."""

from __future__ import annotations

import random
from collections import Counter

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.demo.names import NamePools, family_name_tail, load_yaml


def test_default_pools_are_the_head_lists() -> None:
    pools = NamePools()
    head = load_yaml("safelight.demo", "names_uk.yaml")["family"]
    assert list(pools.family["uk"].names) == list(dict.fromkeys(head))


def test_tail_is_deterministic_distinct_and_skips_the_head() -> None:
    head = load_yaml("safelight.demo", "names_pl.yaml")["family"]
    names, exponent = family_name_tail("pl", head)
    again, _ = family_name_tail("pl", head)
    assert names == again
    assert len(names) == len(set(names)) == 20000
    assert not set(names) & set(head)
    assert 0 < exponent < 1
    assert family_name_tail("vi", []) is None  # Vietnamese surnames stay concentrated


def test_tail_keeps_the_culture_script_and_feminine_forms() -> None:
    pools = NamePools(surname_tail=True)
    rng = random.Random(3)
    uk = [pools.person_name(rng, "uk", "female").family for _ in range(300)]
    assert all(any("\u0400" <= ch <= "\u04ff" for ch in name) for name in uk)
    assert not any(name.endswith("ський") for name in uk)  # -ський → -ська for women
    # a sister keeps the brother's generated family name in its feminine form
    brother = pools.person_name(random.Random(0), "pl", "male")
    while not brother.family.endswith("ski"):
        brother = pools.person_name(rng, "pl", "male")
    sister = pools.sibling_name(rng, brother, "female")
    assert sister.family == brother.family[:-1] + "a"


def test_long_tail_cuts_namesakes() -> None:
    """The point of the tail: far fewer people share the most common full name."""

    def top_share(tail: bool) -> float:
        pools, rng = NamePools(surname_tail=tail), random.Random(1)
        names = Counter(
            (n.given, n.family)
            for n in (pools.person_name(rng, "uk", "male") for _ in range(20000))
        )
        return names.most_common(1)[0][1] / 20000

    assert top_share(True) < top_share(False) / 3


def test_generator_records_the_population_and_keeps_the_default() -> None:
    demo = generate_linkage_pairs(300, 300, seed=5)
    tail = generate_linkage_pairs(300, 300, seed=5, surname_tail=True)
    assert demo.stats["surname_tail"] is False and tail.stats["surname_tail"] is True
    assert demo.true_pairs == tail.true_pairs  # the same persons' places, other names
    assert (
        demo.left.column("family_name").to_pylist() != tail.left.column("family_name").to_pylist()
    )
