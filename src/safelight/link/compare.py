"""Comparison levels per field for arrays of record pairs (vectorised, no loop per pair).

Contract: :func:`compare` takes :class:`~safelight.link.prepare.Records` and two int64 index
arrays ``a``, ``b`` of equal length and returns :class:`Comparisons`: an ``(n_pairs, n_fields)``
int8 matrix of levels plus a boolean ``swapped`` array. Level ``0`` of every field means
"missing on at least one side" and carries no evidence (weight 0); levels ``1..k`` are ordered
from the strongest agreement to disagreement, as named in :data:`FIELDS`. String similarity is
Jaro–Winkler on the match keys, computed by ``rapidfuzz.process.cpdist``.

The work is on integer codes (:attr:`Records.codes <safelight.link.prepare.Records.codes>`):
equality is a comparison of codes, and Jaro–Winkler is computed once per distinct unordered
pair of strings among the pairs (it is symmetric), then spread back to the pairs.

Name orientation: when a pair's names agree better crosswise (given ↔ family) than straight,
the right record's names are swapped for that pair before the levels are taken, and
``swapped`` is set, so a swap costs nothing but is shown in the pair's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cdist, cpdist

from safelight.link.packed import unique_inverse
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
    # street line, house number and postcode move together (a person moves, a household
    # shares them all): one field, so that they count once, not three times
    "address": ("same_address", "two_parts_same", "same_postcode", "same_street",
                "same_number_similar", "similar", "different"),
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


def _jw_strings(x: list[str], y: list[str]) -> np.ndarray:
    if not x:
        return np.zeros(0)
    return np.asarray(cpdist(x, y, scorer=JaroWinkler.normalized_similarity, workers=1),
                      dtype=np.float64)


def jaro_winkler(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Element-wise Jaro–Winkler similarity of two object arrays of str/None (0.0 for None)."""
    ok = ~(np.equal(x, None) | np.equal(y, None))
    sim = np.zeros(len(x))
    sim[ok] = _jw_strings(x[ok].tolist(), y[ok].tolist())
    return sim


#: a vocabulary up to this size (places, street lines) is scored all against all once, and
#: pairs look their similarity up; a larger one (names, postcodes) per distinct pair of codes
_MATRIX_UP_TO = 600


def _jw_matrix(vocab: np.ndarray) -> np.ndarray:
    """Jaro–Winkler of every pair of ``vocab``'s strings, as float32 (as ``cpdist`` gives
    it); ``[lo, hi]`` is the one :func:`_jw_codes` uses."""
    words = vocab.tolist()
    return cdist(words, words, scorer=JaroWinkler.normalized_similarity, dtype=np.float32,
                 workers=1)


def _jw_codes(x: np.ndarray, y: np.ndarray, vocab: np.ndarray) -> np.ndarray:
    """Jaro–Winkler of code arrays ``x``, ``y`` over ``vocab`` (0.0 where either is missing,
    1.0 where equal), computed once per distinct unordered pair of codes (or looked up in
    :func:`_jw_matrix` for a small vocabulary)."""
    sim = np.zeros(len(x))
    ok = (x >= 0) & (y >= 0)
    sim[ok & (x == y)] = 1.0
    diff = np.flatnonzero(ok & (x != y))
    if len(diff) == 0:
        return sim
    lo = np.minimum(x[diff], y[diff]).astype(np.int64)
    hi = np.maximum(x[diff], y[diff]).astype(np.int64)
    if len(vocab) <= _MATRIX_UP_TO:
        sim[diff] = _jw_matrix(vocab)[lo, hi]
        return sim
    # distinct pairs by sorting (Arrow's hashing dictionary_encode took 7x longer on 300k
    # mostly distinct pairs, such as the random pairs of u), packed with their positions
    keys, inverse = unique_inverse(lo * len(vocab) + hi)
    sims = _jw_strings(vocab[keys // len(vocab)].tolist(), vocab[keys % len(vocab)].tolist())
    sim[diff] = sims[inverse]
    return sim


def _jw_rows(x: np.ndarray, y: np.ndarray, vocab: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_jw_codes` of the pairs where the boolean mask ``rows`` is set; 0.0 elsewhere."""
    sim = np.zeros(len(x))
    idx = np.flatnonzero(rows)
    sim[idx] = _jw_codes(x[idx], y[idx], vocab)
    return sim


def _eq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x == y) & (x >= 0)


def _select(conditions: list[np.ndarray], n: int, missing: np.ndarray, last: int) -> np.ndarray:
    """Level = 1 + index of the first true condition, ``last`` when none, 0 where missing."""
    out = np.full(n, last, dtype=np.int8)
    for lvl in range(len(conditions), 0, -1):
        np.putmask(out, conditions[lvl - 1], lvl)
    np.putmask(out, missing, 0)
    return out


def _given_levels(left: dict[str, np.ndarray], right: dict[str, np.ndarray], jw_whole: np.ndarray,
                  vocab: np.ndarray) -> np.ndarray:
    ga, gb = left["given"], right["given"]
    missing = (ga < 0) | (gb < 0)
    fa, la, fb, lb = left["given_first"], left["given_last"], right["given_first"], right["given_last"]
    shared = _eq(fa, fb) | _eq(fa, lb) | _eq(la, fb) | _eq(la, lb)
    exact, group = _eq(ga, gb), _eq(left["given_group"], right["given_group"])
    # the first words' similarity counts only where no better level holds already, and
    # differs from the whole names' only where a name has more than one word
    one_word = (fa == ga) & (fb == gb)
    jw = _jw_rows(fa, fb, vocab,
                  ~(missing | exact | group | shared | one_word) & (jw_whole < 0.92))
    np.maximum(jw, jw_whole, out=jw)
    return _select([exact, group, shared, jw >= 0.92, jw >= 0.80], len(ga), missing, 6)


def _family_levels(left: dict[str, np.ndarray], right: dict[str, np.ndarray], jw: np.ndarray
                   ) -> np.ndarray:
    fa, fb = left["family"], right["family"]
    missing = (fa < 0) | (fb < 0)
    xa, ya, xb, yb = (left["family_first"], left["family_last"], right["family_first"],
                      right["family_last"])
    shared = _eq(xa, xb) | _eq(xa, yb) | _eq(ya, xb) | _eq(ya, yb)
    return _select([_eq(fa, fb), shared, jw >= 0.92, jw >= 0.80], len(fa), missing, 5)


def full_dates(r: Records) -> np.ndarray:
    """Which records hold a full real birth date: year, month and day, and not the 1 January
    placeholder (the encoded side's full-date key means the same)."""
    month, day = r.birth_month, r.birth_day
    return (r.birth_year >= 0) & (month > 0) & (day > 0) & ~((month == 1) & (day == 1))


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
    return _select([_eq(x, y)], len(x), (x < 0) | (y < 0), 2)


def _fuzzy(x: np.ndarray, y: np.ndarray, vocab: np.ndarray, threshold: float = 0.88
           ) -> np.ndarray:
    return _select([_eq(x, y), _jw_codes(x, y, vocab) >= threshold], len(x),
                   (x < 0) | (y < 0), 3)


def _address_levels(number: tuple[np.ndarray, np.ndarray], line: tuple[np.ndarray, np.ndarray],
                    post: tuple[np.ndarray, np.ndarray], vocab: dict[str, np.ndarray]
                    ) -> np.ndarray:
    """same_address (street line, house number and postcode exact) / two_parts_same (two of
    them exact) / same_postcode / same_street / same_number_similar (house number exact,
    street line or postcode similar) / similar (street line JW ≥ 0.88 or postcode JW ≥ 0.85) /
    different; missing when no part of the address is on both sides."""
    present = [(x >= 0) & (y >= 0) for x, y in (number, line, post)]
    num_eq, line_eq, post_eq = _eq(*number), _eq(*line), _eq(*post)
    open_ = address_open(num_eq, line_eq, post_eq)
    similar = _jw_rows(*line, vocab["address_line"], open_) >= 0.88
    similar |= _jw_rows(*post, vocab["postcode"], open_ & ~similar) >= 0.85
    return address_select(num_eq, line_eq, post_eq, similar,
                          ~(present[0] | present[1] | present[2]))


def address_open(num_eq: np.ndarray, line_eq: np.ndarray, post_eq: np.ndarray) -> np.ndarray:
    """The pairs whose address level a similarity can still set: fewer than two parts the
    same, and neither the postcode nor the street line (their own levels rank higher)."""
    return (num_eq.astype(np.int8) + line_eq + post_eq < 2) & ~post_eq & ~line_eq


def address_select(num_eq: np.ndarray, line_eq: np.ndarray, post_eq: np.ndarray,
                   similar: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """The ``address`` level from its parts' agreement — shared by the clear comparison and
    the encoded one (:func:`safelight.link.encoded._address_levels`): same_address / two
    parts the same / same postcode / same street line / same number with ``similar`` /
    ``similar`` / different; 0 where ``missing``. ``similar`` only counts where
    :func:`address_open`."""
    same = num_eq.astype(np.int8) + line_eq + post_eq
    return _select([same == 3, same == 2, post_eq, line_eq, num_eq & similar, similar],
                   len(same), missing, 7)


#: the right record's name column that takes a column's place when a pair's names are swapped
_CROSSED = {
    "given": "family", "given_first": "family_first", "given_last": "family_last",
    "given_group": "family_group", "family": "given", "family_first": "given_first",
    "family_last": "given_last",
}  # fmt: skip


def compare(records: Records, a: np.ndarray, b: np.ndarray,
            fields: tuple[str, ...] | None = None) -> Comparisons:
    """Comparison levels of the pairs ``(a[i], b[i])`` (see the module docstring). With
    ``fields`` (names of :data:`FIELDS`), only those fields are compared: the others are left
    at level 0 (missing), and ``swapped`` is all False unless a name field is among them."""
    r = records
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    wanted = FIELD_NAMES if fields is None else fields
    codes = r.codes
    col, vocab = codes.column, codes.vocab

    def pair(name: str) -> tuple[np.ndarray, np.ndarray]:
        return col[name][a], col[name][b]

    out = np.zeros((len(a), len(FIELD_NAMES)), dtype=np.int8)
    swapped = np.zeros(len(a), dtype=bool)
    if "given_name" in wanted or "family_name" in wanted:
        names = vocab["given"]
        jw_gg = _jw_codes(col["given"][a], col["given"][b], names)
        jw_ff = _jw_codes(col["family"][a], col["family"][b], names)
        # crossed similarities (at most 1 each) only where they could win
        straight = jw_gg + jw_ff + 0.25
        can = np.flatnonzero(straight < 2.0)
        jw_gf, jw_fg = np.zeros(len(a)), np.zeros(len(a))
        jw_gf[can] = _jw_codes(col["given"][a[can]], col["family"][b[can]], names)
        jw_fg[can] = _jw_codes(col["family"][a[can]], col["given"][b[can]], names)
        swapped = jw_gf + jw_fg > straight
        left = {c: col[c][a] for c in _CROSSED}
        right = {c: np.where(swapped, col[other][b], col[c][b]) for c, other in _CROSSED.items()}
        levels = {
            "given_name": lambda: _given_levels(left, right, np.where(swapped, jw_gf, jw_gg),
                                                names),
            "family_name": lambda: _family_levels(left, right, np.where(swapped, jw_fg, jw_ff)),
        }
    else:
        levels = {}
    levels.update({
        "birth_date": lambda: _date_levels(r, a, b),
        "sex": lambda: _simple(*pair("sex")),
        "nationality": lambda: _simple(*pair("nationality")),
        "phone": lambda: _simple(*pair("phone")),
        "document": lambda: _simple(*pair("document")),
        "locality": lambda: _fuzzy(*pair("locality"), vocab["locality"]),
        "address": lambda: _address_levels(pair("street_number"), pair("address_line"),
                                           pair("postcode"), vocab),
        "region": lambda: _simple(*pair("region")),
        "contributor": lambda: _simple(*pair("contributor")),
    })  # fmt: skip
    for j, name in enumerate(FIELD_NAMES):
        if name in wanted:
            out[:, j] = levels[name]()
    return Comparisons(a, b, out, swapped)
