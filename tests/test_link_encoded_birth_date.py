"""The PPRL hub tells an equal full birth date from an equal partial one (a year alone, a year
and month, two 1 January placeholders of one year): :func:`safelight.link.encoded._birth_date_levels` reads which
records hold the full-date blocking key (:data:`safelight.link.encoded.FULL_DATE_KEY`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from test_link_pprl import KEY  # noqa: I001  (shared key)

from safelight.identity.encode import EncodingSettings, encode_table
from safelight.link.encoded import ENCODED_FIELDS, compare_encoded, from_parts

LEVELS = ENCODED_FIELDS["birth_date"]
# (year, month, day) of each record; 0 = not given
DATES = [(1990, 3, 4), (1990, 3, 4),  # one full date
         (1990, 0, 0), (1990, 0, 0),  # one year alone
         (1990, 1, 1), (1990, 1, 1),  # two placeholders of one year
         (1990, 3, 9),  # the same year and month
         (1991, 5, 6),  # another date
         (1990, 5, 0), (1990, 5, 0),  # one year and month without a day
         (1990, 8, 20),  # the first date's year alone in common
         (0, 0, 0)]  # no date


def _records():
    n = len(DATES)
    y, m, d = (pa.array([t[i] or None for t in DATES], pa.int16()) for i in range(3))
    table = pa.table({"record_id": [str(i) for i in range(n)],
                      "given_name": ["Olena"] * n, "family_name": ["Koval"] * n,
                      "birth_year": y, "birth_month": m, "birth_day": d})
    s = EncodingSettings(flip_probability=0.0, seed=1)
    parts = []
    for c, rows in (("ua", range(0, n, 2)), ("pl", range(1, n, 2))):
        enc = encode_table(table.take(list(rows)), KEY, s, contributor=c)
        parts.append((enc.manifest, enc.table))
    er = from_parts(parts, ["ua", "pl"])
    order = {rid: k for k, rid in enumerate(er.record_id.tolist())}
    return er, order


def _level(er, order, i: int, j: int) -> str:
    lv = compare_encoded(er, np.array([order[str(i)]]), np.array([order[str(j)]])).levels
    k = int(lv[0, list(ENCODED_FIELDS).index("birth_date")])
    return "missing" if k == 0 else LEVELS[k - 1]


def test_an_equal_year_alone_is_no_equal_full_date():
    er, order = _records()
    assert _level(er, order, 0, 1) == "dice_0.92"
    assert _level(er, order, 2, 3) == "dice_0.92_partial"
    assert _level(er, order, 4, 5) == "dice_0.92_partial"
    # below the top level nothing changes: a year alone against the full date, the same
    # year and month, another date
    assert _level(er, order, 0, 3) == "dice_0.55"
    assert _level(er, order, 0, 6) == "dice_0.55"
    assert _level(er, order, 0, 7) == "different"
    assert _level(er, order, 8, 9) == "dice_0.92_partial"
    assert _level(er, order, 1, 10) in ("dice_0.45", "dice_0.33")  # shifted below the split
    assert _level(er, order, 0, 11) == "missing"


def test_without_the_full_date_key_every_equal_date_is_full():
    """A package set whose hub sees no full-date key (none in its blocking keys) keeps the
    single top level: nothing is inferred from elsewhere."""
    er, order = _records()
    er.blocking_present.pop("birth_date")
    assert _level(er, order, 2, 3) == "dice_0.92"


def test_clear_and_encoded_agree_on_which_dates_are_full():
    """The clear side's :func:`~safelight.link.compare.full_dates` (the birth date's default m
    mixes by it) means what the encoded full-date key means."""
    from safelight.link.compare import full_dates
    from safelight.link.prepare import prepare

    er, order = _records()
    n = len(DATES)
    y, m, d = (pa.array([t[i] or None for t in DATES], pa.int16()) for i in range(3))
    clear = full_dates(prepare(pa.table({"record_id": [str(i) for i in range(n)],
                                         "birth_year": y, "birth_month": m, "birth_day": d})))
    encoded = er.blocking_present["birth_date"][[order[str(i)] for i in range(n)]]
    assert clear.tolist() == encoded.tolist()
    assert clear.tolist() == [True, True, False, False, False, False, True, True, False, False,
                              True, False]
