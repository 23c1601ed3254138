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
  three letters; or a name word of at least :data:`FUSED_LETTERS` letters inside the id's
  letters (``TKravchenko``). A word that many ids share (at least :data:`COMMON_WORD_SHARE` of
  them, and two) is an agency prefix and not compared — unless it is the row's own name in at
  least half of the ids that hold it (the surname of a family registered together);
* **birth date** — three numbers in a row of the id that are the row's day, month and year
  (in the order d m y, m d y or y m d; the year with four digits or two), or one run of
  digits written ``ddmmyyyy``, ``yyyymmdd`` or ``mmddyyyy`` (six-digit runs are not read as
  dates: running numbers such as ``000115`` meet someone's ``yymmdd`` by chance — at 200,000
  rows about once per file);
* **document** — the row's document key (:func:`~safelight.identity.normalise.document_key`, at
  least :data:`MIN_NUMBER_DIGITS` characters with a digit) inside the id read the same way
  (Cyrillic series letters transliterated: ``ЖБ123456``), or the document's digits, when they
  are :data:`MIN_NUMBER_DIGITS` or more, inside the id's digits;
* **phone** — the row's national number (the E.164 digits after the country code), or the
  digits of the phone as written when it was not read as a number (not a filler such as
  ``0000000``), of at least :data:`MIN_NUMBER_DIGITS` digits, inside the id's digits.

Messages give counts and the file's row numbers (or data row numbers), never values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from safelight.errors import ProfileError
from safelight.identity.normalise import (
    document_key,
    filler_digits,
    fold,
    match_key,
    national_number,
)

__all__ = ["COMMON_WORD_SHARE", "FUSED_LETTERS", "MIN_NUMBER_DIGITS",
           "check_ids_hold_no_identity", "identity_in_ids"]

#: an id word in at least this share of the ids (and two) may be a prefix, not a name
COMMON_WORD_SHARE = 0.05
#: shortest document or phone number compared (shorter ones meet case numbers by chance)
MIN_NUMBER_DIGITS = 7
#: shortest name word looked for inside the id's letters run together
FUSED_LETTERS = 5
_NAME_LETTERS = 3
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(rf"[^\W\d_]{{{_NAME_LETTERS}}}")  # a word of a name could be inside


def _words(text: str | None) -> set[str]:
    folded = fold(text)
    if not folded:
        return set()
    return {match_key(w) or w for w in folded.split() if len(w) >= _NAME_LETTERS}


def _date_in(runs: list[str], year: int, month: int, day: int) -> bool:
    if year < 0 or month < 1 or day < 1:
        return False
    for r in runs:
        if len(r) == 8 and r in (f"{day:02d}{month:02d}{year:04d}",
                                 f"{year:04d}{month:02d}{day:02d}",
                                 f"{month:02d}{day:02d}{year:04d}"):
            return True
    if len(runs) < 3:
        return False
    years = {year, year % 100}
    nums = [int(r) for r in runs]
    for i in range(len(nums) - 2):
        a, b, c = nums[i:i + 3]
        if (c in years and ((a, b) == (day, month) or (a, b) == (month, day))) or \
                (a == year and (b, c) == (month, day)):
            return True
    return False


class _Names:
    """Name words per distinct name (memoised: names repeat, ids do not)."""

    def __init__(self) -> None:
        self._words: dict[str | None, set[str]] = {}
        self._folded: dict[str | None, list[str]] = {}

    def words(self, name: str | None) -> set[str]:
        if name not in self._words:
            self._words[name] = _words(name)
        return self._words[name]

    def holds_own_name(self, word: str, given: str | None, family: str | None) -> bool:
        """Whether an id ``word`` (match key) is, or holds run together, a word of the
        names."""
        if word in self.words(given) | self.words(family):
            return True
        return any((match_key(w) or w) in word for name in (given, family)
                   for w in self.long_folded(name))

    def long_folded(self, name: str | None) -> list[str]:
        """The name's folded words of :data:`FUSED_LETTERS` letters or more."""
        if name not in self._folded:
            self._folded[name] = [w for w in (fold(name) or "").split()
                                  if len(w) >= FUSED_LETTERS]
        return self._folded[name]


def identity_in_ids(ids: Sequence[str | None], given: Sequence[str | None],
                    family: Sequence[str | None], year: np.ndarray, month: np.ndarray,
                    day: np.ndarray, documents: Sequence[str | None],
                    phones: Sequence[str | None],
                    raw_phones: Sequence[str | None] | None = None) -> dict[str, np.ndarray]:
    """Rows (0-based) whose id holds the row's own name, birth date, document or phone (see
    the module docstring), by kind; kinds with no row are left out. Birth date parts are
    ints, -1 when missing; documents are document keys, phones E.164 strings (None where not
    read; ``raw_phones`` the phones as written)."""
    n = len(ids)
    names = _Names()
    id_words = [_words(i) if i and _LETTERS.search(i) else set() for i in ids]
    seen = Counter(w for ws in id_words for w in ws)
    shared = {w for w, c in seen.items() if c >= max(COMMON_WORD_SHARE * n, 2)}
    if shared:  # a prefix, unless it is the own name of most rows whose id holds it
        own = Counter(w for r, ws in enumerate(id_words) for w in ws & shared
                      if names.holds_own_name(w, given[r], family[r]))
        shared = {w for w in shared if own[w] * 2 < seen[w]}
    hits: dict[str, list[int]] = {"name": [], "birth date": [], "document": [], "phone": []}
    for r in range(n):
        rid = ids[r]
        if not rid:
            continue
        words = id_words[r] - shared
        own_words = names.words(given[r]) | names.words(family[r])
        if words & own_words:
            hits["name"].append(r)
        elif id_words[r]:
            letters = "".join(w for w in (fold(rid) or "").split()
                              if (match_key(w) or w) not in shared)
            if any(w in letters for name in (given[r], family[r])
                   for w in names.long_folded(name)):
                hits["name"].append(r)
        runs = _DIGITS.findall(rid)
        digits = "".join(runs)
        if runs and _date_in(runs, int(year[r]), int(month[r]), int(day[r])):
            hits["birth date"].append(r)
        doc = documents[r]
        if doc and len(doc) >= MIN_NUMBER_DIGITS and any(c.isdigit() for c in doc):
            doc_digits = "".join(c for c in doc if c.isdigit())
            if doc in (document_key(rid) or "") or \
                    (len(doc_digits) >= MIN_NUMBER_DIGITS and doc_digits in digits):
                hits["document"].append(r)
        if len(digits) >= MIN_NUMBER_DIGITS:
            phone = phones[r]
            if phone:
                number = national_number(phone)
            else:  # not read: its digits as written, unless a filler (0000000)
                number = "".join(_DIGITS.findall(raw_phones[r] or "")) if raw_phones else ""
                number = "" if filler_digits(number) else number
            if len(number) >= MIN_NUMBER_DIGITS and number in digits:
                hits["phone"].append(r)
    return {k: np.asarray(v, np.int64) for k, v in hits.items() if v}


def rows_named(index: np.ndarray, row_numbers: Sequence[int] | np.ndarray | None,
               shown: int = 5) -> str:
    """``rows 4, 7, …`` — the file's row numbers of the 0-based ``index`` (the reader's: a CSV
    line, a spreadsheet row) when known, else ``data rows`` counted from 1."""
    if row_numbers is None:
        nums, word = [int(i) + 1 for i in index[:shown]], "data rows"
    else:
        nums, word = [int(row_numbers[int(i)]) for i in index[:shown]], "rows"
    return f"{word} {', '.join(map(str, nums))}{'…' if len(index) > shown else ''}"


def check_ids_hold_no_identity(where: str, ids: Sequence[str | None],
                               given: Sequence[str | None], family: Sequence[str | None],
                               year: np.ndarray, month: np.ndarray, day: np.ndarray,
                               documents: Sequence[str | None],
                               phones: Sequence[str | None],
                               raw_phones: Sequence[str | None] | None = None,
                               row_numbers: Sequence[int] | np.ndarray | None = None) -> None:
    """Refuse (:class:`~safelight.errors.ProfileError`, exit 4) ids that hold their record's
    identity (:func:`identity_in_ids`), before anything is written: the message names the
    kinds, their counts and up to five row numbers each (the file's, ``row_numbers``, when
    given) — never a value."""
    found = identity_in_ids(ids, given, family, year, month, day, documents, phones,
                            raw_phones)
    if not found:
        return
    parts = [f"{kind} in {len(rows):,} row(s) ({rows_named(rows, row_numbers)})"
             for kind, rows in found.items()]
    raise ProfileError(
        f"{where}: record ids travel in clear in a package, and these ids hold their own "
        f"record's {'; '.join(parts)} — nothing was written. Map the id to a case number "
        "that identifies the record only inside your agency (a running number, a random code)")
