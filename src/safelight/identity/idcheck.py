"""Record ids that carry a person's identity — refused before a package is written.

Contract: :func:`identity_in_ids` compares each record's id with that record's own identity
values and returns, per kind (``name``, ``birth date``, ``document``, ``phone``), the rows
whose id holds one; :func:`check_ids_hold_no_identity` refuses a package with any such row.
Record ids travel in clear in an encoded package (they are how a hub's links find their way
back to the agency's case files), so an id such as ``Кравченко Тетяна 16.03.1988 #130``, a
passport number used as the case number, or ``Гончаренко-12`` would hand the hub the very
identifiers the encoding hides. The map's id column is checked by name already
(:func:`safelight.identity.mapping.check_id_is_no_identifier`); this checks the values.

What counts (each compared with the same row's values, never with other rows'):

* **name** — a word of the id, folded and read by its match key
  (:func:`~safelight.identity.normalise.fold`, :func:`~safelight.identity.normalise.match_key`:
  ``Кравченко`` = ``Kravchenko``), equal to a word of the row's given or family name of at least
  three letters. A word that most ids share (an agency prefix such as ``KIM-``: in at least
  :data:`COMMON_WORD_SHARE` of the ids) is not compared;
* **birth date** — three numbers in a row of the id that are the row's day, month and year
  (in the order d m y, m d y or y m d; the year with four digits or two), or one run of
  digits written ``ddmmyyyy``, ``yyyymmdd`` or ``mmddyyyy``;
* **document** — the row's document key (upper-case letters and digits, at least
  :data:`MIN_NUMBER_DIGITS` characters with a digit) inside the id's letters and digits;
* **phone** — the last :data:`MIN_NUMBER_DIGITS` or more digits of the row's E.164 number (its
  last nine, or all but the country code when shorter) inside the id's digits.

Messages give counts and data row numbers, never values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from safelight.errors import ProfileError
from safelight.identity.normalise import fold, match_key

__all__ = ["COMMON_WORD_SHARE", "MIN_NUMBER_DIGITS", "check_ids_hold_no_identity",
           "identity_in_ids"]

#: an id word in at least this share of the ids is a prefix, not a person's name
COMMON_WORD_SHARE = 0.05
#: shortest document or phone number compared (shorter ones meet case numbers by chance)
MIN_NUMBER_DIGITS = 7
_NAME_LETTERS = 3
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(rf"[^\W\d_]{{{_NAME_LETTERS}}}")  # a word of a name could be inside
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def _words(text: str | None) -> set[str]:
    folded = fold(text)
    if not folded:
        return set()
    return {match_key(w) or w for w in folded.split() if len(w) >= _NAME_LETTERS}


def _date_in(runs: list[str], year: int, month: int, day: int) -> bool:
    if year < 0 or month < 1 or day < 1:
        return False
    if len(runs) < 3 and not any(len(r) == 8 for r in runs):
        return False
    years = {year, year % 100}
    nums = [int(r) for r in runs]
    for i in range(len(nums) - 2):
        a, b, c = nums[i:i + 3]
        if (c in years and ((a, b) == (day, month) or (a, b) == (month, day))) or \
                (a == year and (b, c) == (month, day)):
            return True
    for r in runs:
        if len(r) == 8 and r in (f"{day:02d}{month:02d}{year:04d}",
                                 f"{year:04d}{month:02d}{day:02d}",
                                 f"{month:02d}{day:02d}{year:04d}"):
            return True
    return False


def identity_in_ids(ids: Sequence[str | None], given: Sequence[str | None],
                    family: Sequence[str | None], year: np.ndarray, month: np.ndarray,
                    day: np.ndarray, documents: Sequence[str | None],
                    phones: Sequence[str | None]) -> dict[str, np.ndarray]:
    """Rows (0-based) whose id holds the row's own name, birth date, document or phone (see
    the module docstring), by kind; kinds with no row are left out. Birth date parts are
    ints, -1 when missing; documents are document keys, phones E.164 strings."""
    n = len(ids)
    id_words = [_words(i) if i and _LETTERS.search(i) else set() for i in ids]
    seen = Counter(w for ws in id_words for w in ws)
    name_words: dict[str | None, set[str]] = {}

    def words_of(name: str | None) -> set[str]:
        if name not in name_words:
            name_words[name] = _words(name)
        return name_words[name]

    common = {w for w, c in seen.items() if c >= max(COMMON_WORD_SHARE * n, 2)}
    hits: dict[str, list[int]] = {"name": [], "birth date": [], "document": [], "phone": []}
    for r in range(n):
        rid = ids[r]
        if not rid:
            continue
        words = id_words[r] - common
        if words and words & (words_of(given[r]) | words_of(family[r])):
            hits["name"].append(r)
        runs = _DIGITS.findall(rid)
        if runs and _date_in(runs, int(year[r]), int(month[r]), int(day[r])):
            hits["birth date"].append(r)
        doc = documents[r]
        if doc and len(doc) >= MIN_NUMBER_DIGITS and any(c.isdigit() for c in doc) and \
                doc in _NOT_ALNUM.sub("", rid.upper()):
            hits["document"].append(r)
        phone = phones[r]
        if phone and runs:
            digits = phone.lstrip("+")
            tail = digits[-9:] if len(digits) > 9 else digits[-MIN_NUMBER_DIGITS:]
            if len(tail) >= MIN_NUMBER_DIGITS and tail in "".join(runs):
                hits["phone"].append(r)
    return {k: np.asarray(v, np.int64) for k, v in hits.items() if v}


def check_ids_hold_no_identity(where: str, ids: Sequence[str | None],
                               given: Sequence[str | None], family: Sequence[str | None],
                               year: np.ndarray, month: np.ndarray, day: np.ndarray,
                               documents: Sequence[str | None],
                               phones: Sequence[str | None]) -> None:
    """Refuse (:class:`~safelight.errors.ProfileError`, exit 4) ids that hold their record's
    identity (:func:`identity_in_ids`), before anything is written: the message names the
    kinds, their counts and up to five data row numbers each — never a value."""
    found = identity_in_ids(ids, given, family, year, month, day, documents, phones)
    if not found:
        return
    parts = [f"{kind} in {len(rows):,} row(s) (data rows "
             f"{', '.join(str(int(r) + 1) for r in rows[:5])}{'…' if len(rows) > 5 else ''})"
             for kind, rows in found.items()]
    raise ProfileError(
        f"{where}: record ids travel in clear in a package, and these ids hold their own "
        f"record's {'; '.join(parts)} — nothing was written. Map the id to a case number "
        "that identifies the record only inside your agency (a running number, a random code)")
