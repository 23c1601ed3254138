"""The PPRL hub compares the address's three filters as one field with the clear levels
(:func:`safelight.link.encoded._address_levels`), and takes the places' u among compatriots
(:func:`safelight.link.model.estimate_u` with ``compatriot_fields``)."""

from __future__ import annotations

import numpy as np

from safelight.link.compare import Comparisons
from safelight.link.encoded import ADDRESS_PARTS, ENCODED_FIELDS, _address_levels
from safelight.link.model import MIN_COMPATRIOT_PAIRS, estimate_u

LEVELS = ENCODED_FIELDS["address"]


def _level(number: float | None, line: float | None, post: float | None) -> str:
    """The address level of one pair whose parts have these Dice (None: missing)."""
    values = dict(zip(ADDRESS_PARTS, (number, line, post), strict=True))
    sim = {f: np.array([v or 0.0]) for f, v in values.items()}
    present = {f: np.array([v is not None]) for f, v in values.items()}
    lvl = int(_address_levels(sim, present)[0])
    return "missing" if lvl == 0 else LEVELS[lvl - 1]


def test_one_home_is_one_level_not_three():
    assert _level(1.0, 0.95, 1.0) == "same_address"
    assert _level(1.0, 0.3, 1.0) == "two_parts_same"
    assert _level(None, 1.0, 1.0) == "two_parts_same"
    assert _level(0.2, 0.3, 1.0) == "same_postcode"
    assert _level(0.2, 0.95, 0.1) == "same_street"
    assert _level(1.0, 0.75, 0.1) == "same_number_similar"
    assert _level(0.2, 0.1, 0.6) == "similar"
    assert _level(1.0, 0.1, 0.1) == "different"  # a house number alone is no address
    assert _level(None, None, None) == "missing"
    assert _level(1.0, None, None) == "different"


def test_places_u_is_taken_among_compatriots():
    # a fake comparison: nationality alike in 1 pair of 5; among those the address agrees in
    # half, among the others never
    fields = {"nationality": ("same", "different"), "address": LEVELS,
              "phone": ("same", "different")}

    def compare(_records, a, b):  # noqa: ANN001, ANN202
        k = np.arange(len(a))
        alike = k % 5 == 0
        levels = np.stack([np.where(alike, 1, 2),
                           np.where(alike & (k % 10 == 0), 1, len(LEVELS)),
                           np.full(len(a), 2)], axis=1).astype(np.int8)
        return Comparisons(a, b, levels, np.zeros(len(a), dtype=bool))

    n = 20 * MIN_COMPATRIOT_PAIRS
    plain = estimate_u(np.zeros(1000), n_pairs=n, compare_fn=compare, fields=fields)
    within = estimate_u(np.zeros(1000), n_pairs=n, compare_fn=compare, fields=fields,
                        compatriot_fields=("address",))
    assert abs(plain[1][1] - 0.1) < 0.01 and abs(within[1][1] - 0.5) < 0.02
    assert np.allclose(plain[2], within[2]) and np.allclose(plain[0], within[0])
    # too few compatriot pairs: the plain u is kept
    few = estimate_u(np.zeros(1000), n_pairs=MIN_COMPATRIOT_PAIRS, compare_fn=compare,
                     fields=fields, compatriot_fields=("address",))
    assert abs(few[1][1] - 0.1) < 0.02
