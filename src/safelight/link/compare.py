"""Comparison levels per field for arrays of record pairs (vectorised, no loop per pair).

Contract: :func:`compare` takes :class:`~safelight.link.prepare.Records` and two int64 index
arrays ``a``, ``b`` of equal length and returns :class:`Comparisons`: an ``(n_pairs, n_fields)``
int8 matrix of levels plus a boolean ``swapped`` array. Level ``0`` of every field means
"missing on at least one side" and carries no evidence (weight 0); levels ``1..k`` are ordered
from the strongest agreement to disagreement, as named in :data:`FIELDS`. String similarity is
Jaro–Winkler on the match keys, computed by ``rapidfuzz.process.cpdist`` over whole arrays.

Name orientation: when a pair's names agree better crosswise (given ↔ family) than straight,
the right record's names are swapped for that pair before the levels are taken, and
``swapped`` is set, so a swap costs nothing but is shown in the pair's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from safelight.link.prepare import Records

__all__ = ["FIELDS", "Comparisons", "compare", "jaro_winkler"]

#: field → level names (index 1..k); level 0 is always "missing".
FIELDS: dict[str, tuple[str, ...]] = {
    "given_name": ("exact", "same_name_group", "shared_word", "jw_0.92", "jw_0.80", "different"),
    "family_name": ("exact", "shared_word", "jw_0.92", "jw_0.80", "different"),
    "birth_date": (
        "exact", "exact_01_01", "day_month_swapped", "year_off_by_one", "same_year_month",
        "same_year_partial", "same_year", "different",
    ),
    "sex": ("same", "different"),
    "nationality": ("same", "different"),
    "phone": ("same", "different"),
    "document": ("same", "different"),
    "locality": ("exact", "jw_0.88", "different"),
    "street_number": ("exact", "different"),
    "address_line": ("exact", "jw_0.88", "different"),
    "postcode": ("exact", "jw_0.85", "different"),
    "region": ("same", "different"),
    # agencies keep their own registers free of duplicates more often than not: a pair from
    # one contributor is a little less likely to be one person (EM learns how much)
    "contributor": ("same", "different"),
}  # fmt: skip
FIELD_NAMES: tuple[str, ...] = tuple(FIELDS)


@dataclass
class Comparisons:
    """Levels of the pairs ``(a[i], b[i])``; ``levels[:, j]`` belongs to ``FIELD_NAMES[j]``."""

    a: np.ndarray
    b: np.ndarray
    levels: np.ndarray  # int8 (n_pairs, n_fields)
    swapped: np.ndarray  # bool (n_pairs,)


def _strs(v: np.ndarray) -> list[str]:
    return ["" if x is None else x for x in v.tolist()]


def jaro_winkler(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Element-wise Jaro–Winkler similarity of two object arrays of str/None (0.0 for None)."""
    if len(x) == 0:
        return np.zeros(0)
    sim = cpdist(_strs(x), _strs(y), scorer=JaroWinkler.normalized_similarity, workers=1)
    sim = np.asarray(sim, dtype=np.float64)
    sim[_missing(x) | _missing(y)] = 0.0
    return sim


def _missing(v: np.ndarray) -> np.ndarray:
    return np.equal(v, None)


def _eq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x == y) & ~_missing(x)


def _select(conditions: list[np.ndarray], n: int, missing: np.ndarray, last: int) -> np.ndarray:
    """Level = 1 + index of the first true condition, ``last`` when none, 0 where missing."""
    out = np.full(n, last, dtype=np.int8)
    for lvl in range(len(conditions), 0, -1):
        out[conditions[lvl - 1]] = lvl
    out[missing] = 0
    return out


def _given_levels(r: Records, a: np.ndarray, b: np.ndarray, g_b: dict[str, np.ndarray]
                  ) -> np.ndarray:
    ga, gb = r.given[a], g_b["given"]
    missing = _missing(ga) | _missing(gb)
    exact = _eq(ga, gb)
    group = _eq(r.given_group[a], g_b["given_group"])
    fa, la, fb, lb = r.given_first[a], r.given_last[a], g_b["given_first"], g_b["given_last"]
    shared = _eq(fa, fb) | _eq(fa, lb) | _eq(la, fb) | _eq(la, lb)
    jw = np.maximum(jaro_winkler(ga, gb), jaro_winkler(fa, fb))
    return _select([exact, group, shared, jw >= 0.92, jw >= 0.80], len(a), missing, 6)


def _family_levels(r: Records, a: np.ndarray, b: np.ndarray, f_b: dict[str, np.ndarray]
                   ) -> np.ndarray:
    fa, fb = r.family[a], f_b["family"]
    missing = _missing(fa) | _missing(fb)
    exact = _eq(fa, fb)
    xa, ya, xb, yb = r.family_first[a], r.family_last[a], f_b["family_first"], f_b["family_last"]
    shared = _eq(xa, xb) | _eq(xa, yb) | _eq(ya, xb) | _eq(ya, yb)
    jw = jaro_winkler(fa, fb)
    return _select([exact, shared, jw >= 0.92, jw >= 0.80], len(a), missing, 5)


def _date_levels(r: Records, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ya, ma, da = (r.birth_year[a].astype(np.int32), r.birth_month[a].astype(np.int32),
                  r.birth_day[a].astype(np.int32))
    yb, mb, db = (r.birth_year[b].astype(np.int32), r.birth_month[b].astype(np.int32),
                  r.birth_day[b].astype(np.int32))
    missing = (ya < 0) | (yb < 0)
    full_a, full_b = (ma > 0) & (da > 0), (mb > 0) & (db > 0)
    full = full_a & full_b
    jan1_a, jan1_b = (ma == 1) & (da == 1), (mb == 1) & (db == 1)
    same_y = ya == yb
    same_md = (ma == mb) & (da == db)
    exact = full & same_y & same_md
    exact_real = exact & ~jan1_a
    exact_jan1 = exact & jan1_a
    swapped = full & same_y & (ma == db) & (da == mb) & (ma != da)
    off_one = full & (np.abs(ya - yb) == 1) & same_md & ~jan1_a
    same_ym = full & same_y & (ma == mb)
    partial = same_y & (~full_a | ~full_b | jan1_a | jan1_b)
    return _select([exact_real, exact_jan1, swapped, off_one, same_ym, partial, same_y],
                   len(a), missing, 8)


def _simple(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    missing = _missing(x) | _missing(y)
    return _select([_eq(x, y)], len(x), missing, 2)


def _locality_levels(x: np.ndarray, y: np.ndarray, threshold: float = 0.88) -> np.ndarray:
    missing = _missing(x) | _missing(y)
    return _select([_eq(x, y), jaro_winkler(x, y) >= threshold], len(x), missing, 3)


def compare(records: Records, a: np.ndarray, b: np.ndarray) -> Comparisons:
    """Comparison levels of the pairs ``(a[i], b[i])`` (see the module docstring)."""
    r = records
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    straight = jaro_winkler(r.given[a], r.given[b]) + jaro_winkler(r.family[a], r.family[b])
    cross = jaro_winkler(r.given[a], r.family[b]) + jaro_winkler(r.family[a], r.given[b])
    swapped = cross > straight + 0.25
    # the right record's names, crossed over where the pair is swapped
    crossed = {
        "given": "family", "given_first": "family_first", "given_last": "family_last",
        "given_group": "family_group", "family": "given", "family_first": "given_first",
        "family_last": "given_last",
    }  # fmt: skip
    right = {
        col: np.where(swapped, getattr(r, other)[b], getattr(r, col)[b])
        for col, other in crossed.items()
    }
    levels = np.stack([
        _given_levels(r, a, b, right),
        _family_levels(r, a, b, right),
        _date_levels(r, a, b),
        _simple(r.sex[a], r.sex[b]),
        _simple(r.nationality[a], r.nationality[b]),
        _simple(r.phone[a], r.phone[b]),
        _simple(r.document[a], r.document[b]),
        _locality_levels(r.locality[a], r.locality[b]),
        _simple(r.street_number[a], r.street_number[b]),
        _locality_levels(r.address_line[a], r.address_line[b]),
        _locality_levels(r.postcode[a], r.postcode[b], 0.85),
        _simple(r.region[a], r.region[b]),
        _simple(r.contributor[a], r.contributor[b]),
    ], axis=1).astype(np.int8)  # fmt: skip
    return Comparisons(a, b, levels, swapped)
