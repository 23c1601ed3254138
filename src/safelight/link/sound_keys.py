"""Coarse sound keys of name match keys, for blocking on names spelt two ways.

Contract: :func:`consonant_key` maps a match key (lower-case Latin letters, as
:func:`safelight.identity.normalise.match_key` gives) to the sequence of its consonant classes
with vowels dropped and repeats collapsed, or None when no consonant is left. Two spellings
that differ only in vowels, doubled letters, or letters of one class (``g h k kh``, ``s z sh``,
``t d``, ``m n``, ``b p f v w``) share the key: Olexandr and Olsandr, Dimtri and Dmtro, Humeniuk
and Gumeniuk, Alexeeva and Alexiva. The key is coarse (Nina and Anna share one), so blocking
uses it only in pairs of keys or beside a second key. It is not a comparison: scores never
read it.
"""

from __future__ import annotations

import re

__all__ = ["consonant_key"]

#: consonant classes (Soundex's, with ``h`` among the velars for Cyrillic г as h or g)
_CLASSES = str.maketrans({
    **dict.fromkeys("bfpvw", "b"), **dict.fromkeys("cgjkqsxzh", "k"), **dict.fromkeys("dt", "d"),
    **dict.fromkeys("mn", "n"), "l": "l", "r": "r", **dict.fromkeys("aeiouy ", ""),
})
#: a letter that the same letter follows: deleting each such letter collapses the repeats
#: (as ``(.)\1+`` → ``\1`` would, without expanding a template per match)
_REPEATS = re.compile(r"(.)(?=\1)")


def consonant_key(key: str | None) -> str | None:
    """The consonant classes of ``key`` in order, vowels dropped and repeats collapsed.

    >>> consonant_key("olexandr") == consonant_key("olsandr")
    True
    >>> consonant_key("humeniuk") == consonant_key("gumeniuk")
    True
    >>> consonant_key("aia") is None
    True
    """
    if not key:
        return None
    return _REPEATS.sub("", key.translate(_CLASSES)) or None
