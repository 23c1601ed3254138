"""Counting attribute combinations, vectorised.

A *combination* is a set of ``(column, value)`` pairs over distinct columns, none of them
missing. Its *count* is the number of rows that carry all of its values. Combinations of one
column subset ``S`` are identified by a mixed-radix ``int64`` key over the codes of ``S``
(radix ``len(values) + 1`` per column), so two tables that share value dictionaries (a
sensitive table and its synthetic release) share keys.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from safelight.release.errors import ReleaseError
from safelight.release.table import CategoricalTable

Subset = tuple[int, ...]
_KEY_LIMIT = 2**62


def subsets(n_columns: int, max_length: int, min_length: int = 1) -> Iterator[Subset]:
    """All column subsets with ``min_length <= len <= max_length``, shortest first."""
    for length in range(min_length, min(max_length, n_columns) + 1):
        yield from itertools.combinations(range(n_columns), length)


def multipliers(radix: np.ndarray, subset: Subset) -> np.ndarray:
    """Mixed-radix place values of ``subset`` (first column least significant)."""
    r = radix[list(subset)].astype(np.int64)
    if float(np.prod(r.astype(float))) >= _KEY_LIMIT:
        raise ReleaseError(f"columns {subset} have too many value combinations for a 64-bit key; "
                           "lower --length or recode high-cardinality columns")
    return np.concatenate(([1], np.cumprod(r)[:-1])).astype(np.int64)


def keys_of(codes: np.ndarray, radix: np.ndarray, subset: Subset) -> np.ndarray:
    """Key of each row's combination over ``subset`` (rows with missing values included)."""
    m = multipliers(radix, subset)
    return codes[:, list(subset)].astype(np.int64) @ m


def decode_keys(keys: np.ndarray, radix: np.ndarray, subset: Subset) -> np.ndarray:
    """Inverse of :func:`keys_of`: ``(len(keys), len(subset))`` code matrix."""
    out = np.empty((len(keys), len(subset)), dtype=np.int32)
    rest = keys.astype(np.int64).copy()
    for i, c in enumerate(subset):
        out[:, i] = rest % radix[c]
        rest //= radix[c]
    return out


def complete_rows(codes: np.ndarray, subset: Subset) -> np.ndarray:
    """Mask of rows whose values on ``subset`` are all present."""
    return np.all(codes[:, list(subset)] != 0, axis=1)


def count_subset(codes: np.ndarray, radix: np.ndarray, subset: Subset,
                 include_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and their counts over ``subset``.

    With ``include_missing=False`` (the default) only combinations without missing values are
    counted; with ``True`` missing is counted like a value (used by the differencing audit).
    """
    keys = keys_of(codes, radix, subset)
    if not include_missing:
        keys = keys[complete_rows(codes, subset)]
    space = int(np.prod(radix[list(subset)].astype(float)))
    if space <= max(1 << 22, 4 * len(keys)):
        # dense key space: one counting pass instead of a sort
        full = np.bincount(keys, minlength=space)
        uniq = np.flatnonzero(full)
        return uniq.astype(np.int64), full[uniq].astype(np.int64)
    uniq, counts = np.unique(keys, return_counts=True)
    return uniq, counts.astype(np.int64)


@dataclass
class CombinationCounts:
    """Counts of all combinations of lengths ``1..max_length`` of one table.

    ``tables[subset] = (keys, counts)`` with ``keys`` sorted ascending.
    """

    radix: np.ndarray
    max_length: int
    tables: dict[Subset, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def of(cls, table: CategoricalTable, max_length: int) -> CombinationCounts:
        radix = table.radix
        return cls(radix, max_length, {
            s: count_subset(table.codes, radix, s) for s in subsets(table.n_columns, max_length)})

    def lookup(self, subset: Subset, keys: np.ndarray) -> np.ndarray:
        """Counts of ``keys`` over ``subset`` (0 for keys that are absent)."""
        uniq, counts = self.tables.get(subset, (np.empty(0, np.int64), np.empty(0, np.int64)))
        if len(uniq) == 0:
            return np.zeros(len(keys), dtype=np.int64)
        pos = np.minimum(np.searchsorted(uniq, keys), len(uniq) - 1)
        return np.where(uniq[pos] == keys, counts[pos], 0)

    def n_combinations(self) -> int:
        return int(sum(len(k) for k, _ in self.tables.values()))


def rows_containing(codes: np.ndarray, radix: np.ndarray, subset: Subset,
                    keys: np.ndarray) -> np.ndarray:
    """Mask of rows whose combination over ``subset`` is one of ``keys``."""
    if len(keys) == 0:
        return np.zeros(len(codes), dtype=bool)
    row_keys = keys_of(codes, radix, subset)
    return np.isin(row_keys, keys) & complete_rows(codes, subset)


__all__ = ["CombinationCounts", "Subset", "complete_rows", "count_subset", "decode_keys",
           "keys_of", "multipliers", "rows_containing", "subsets"]
