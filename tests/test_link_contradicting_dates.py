"""Clustering does not chain people whose birth dates contradict each other through a record
with no date (clustering trial, 2026-12-01: Ivan Petrenko born 1985, an undated Iwan Petrenko
and an Ivan Petrenko born 1992 were one person)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from safelight.link.cluster import cluster_pairs
from safelight.link.pipeline import (
    CONTRADICTION_BITS,
    contradicting_dates,
    penalise_contradictions,
)
from safelight.link.prepare import prepare

# (year, month, day) of the left record, of the right record, and whether they contradict
CASES = [
    ((1985, 5, 10), (1992, 8, 22), True),    # nothing in common
    ((1980, 7, 15), (1980, 3, 22), True),    # the year alone
    ((1985, 5, 10), (1985, 5, 11), False),   # a day mistyped
    ((1985, 5, 10), (1958, 5, 10), False),   # a year mistyped
    ((1985, 5, 10), (1985, 10, 5), False),   # day and month swapped
    ((1985, 1, 1), (1985, 8, 22), False),    # 1 January: a placeholder
    ((1985, None, None), (1992, 8, 22), False),  # a year alone: not a full date
    ((None, None, None), (1992, 8, 22), False),
]


def test_dates_that_cannot_be_one_date_mistyped():
    rows = [d for left, right, _ in CASES for d in (left, right)]
    table = pa.table({
        "record_id": [str(i) for i in range(len(rows))],
        "given_name": ["Ivan"] * len(rows), "family_name": ["Petrenko"] * len(rows),
        "birth_year": pa.array([r[0] for r in rows], pa.int16()),
        "birth_month": pa.array([r[1] for r in rows], pa.int8()),
        "birth_day": pa.array([r[2] for r in rows], pa.int8())})
    records = prepare(table)
    a = np.arange(0, len(rows), 2)
    got = contradicting_dates(records, a, a + 1)
    assert got.tolist() == [c for _, _, c in CASES]


def test_an_undated_record_no_longer_chains_two_dated_namesakes():
    # A = 0 (1985), B = 1 (no date), C = 2 (1992): B links to both on the names (+4 bits
    # each), A and C differ in date (-3 bits, their birth dates contradict)
    w = {(0, 1): 4.0, (1, 2): 4.0, (0, 2): -3.0}
    contradicting = {(0, 2)}

    def score(x, y, penalise):
        raw = np.array([w[(int(i), int(j))] for i, j in zip(x, y, strict=True)])
        flags = np.array([(int(i), int(j)) in contradicting for i, j in zip(x, y, strict=True)])
        return penalise_contradictions(raw, flags) if penalise else raw

    a, b = np.array([0, 1]), np.array([1, 2])
    before = cluster_pairs(3, a, b, lambda x, y: score(x, y, False))
    after = cluster_pairs(3, a, b, lambda x, y: score(x, y, True))
    assert before[0] == before[1] == before[2]  # the sum +4 +4 -3 chained them
    assert after[0] != after[2]
    # a pair the model links on its own keeps its weight
    assert penalise_contradictions(np.array([2.0, -1.0]), np.array([True, True])).tolist() == [
        2.0, -1.0 - CONTRADICTION_BITS]
