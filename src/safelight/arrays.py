"""Small NumPy helpers shared by the packages.

Contract: :func:`unique_sorted` returns exactly what ``np.unique(a)`` returns for a 1-D integer
array (the distinct values, ascending) by sorting and masking. NumPy 2.3+ computes a plain
``np.unique(a)`` (no ``return_*`` option) with a hash table, which is 50–70× slower on millions
of distinct wide integers (pair codes, key codes: 3.2 s against 0.05 s for 2.4M values with
NumPy 2.4) — the sort is what the ``return_*`` forms use anyway.
"""

from __future__ import annotations

import numpy as np

__all__ = ["unique_sorted"]


def unique_sorted(a: np.ndarray) -> np.ndarray:
    """Distinct values of the integer array ``a`` (flattened), ascending: ``np.unique(a)``."""
    s = np.sort(np.asarray(a).ravel())
    if len(s) == 0:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]
