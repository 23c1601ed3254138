"""The consent vocabulary: which words of a consent column allow linkage, or statistics.

One vocabulary for every reader of a contributor's consent column (identity maps, release
inputs): the standard's ``consent`` codes and their labels, each allowing what its
``linkage`` / ``statistics`` attribute says, and yes/no words — ingest profiles' default flag
spellings (:data:`~safelight.standard.schema.TRUE_WORDS`) plus a few languages' — where yes
allows the use and no does not. Words are matched after
:func:`~safelight.standard.crosswalk.normalise_key` (trimmed, blanks collapsed, case-folded).
A word not in the vocabulary is *unread*: a reader must not guess it either way.
"""

from __future__ import annotations

from safelight.standard.codelists import codelist
from safelight.standard.crosswalk import normalise_key
from safelight.standard.schema import FALSE_WORDS, TRUE_WORDS

USES = ("linkage", "statistics")
_YES = (*TRUE_WORDS, "ja", "tak", "так", "да", "oui", "si", "sí", "da")
_NO = (*FALSE_WORDS, "nein", "nie", "ні", "нет", "non", "nu")


def consent_words(use: str) -> dict[str, bool]:
    """Normalised consent word → whether it allows ``use`` (``"linkage"`` or
    ``"statistics"``), over the vocabulary of the module docstring."""
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}, not {use!r}")
    words = {normalise_key(w): True for w in _YES}
    words |= {normalise_key(w): False for w in _NO}
    for code in codelist("consent").codes.values():
        words[normalise_key(code.code)] = words[normalise_key(code.label)] = bool(
            code.attributes.get(use))
    return words


__all__ = ["USES", "consent_words"]
