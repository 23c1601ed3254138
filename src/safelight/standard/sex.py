"""The sex vocabulary: words and letters that name the standard's ``sex`` codes, in many
languages (``data/sex_words.yaml``).

One vocabulary for every reader of a sex column: ingest reads a value no profile maps through
it (``F``, ``жін.``, ``w``: ``female``), and linkage's sex key (:func:`safelight.identity.
normalise.sex_key`) compares through it. Words are compared by :func:`sex_word`: NFKC,
case-folded, diacritics dropped, trailing dots and repeated blanks removed (``"Жін."`` →
``"жін"``). A word not in the vocabulary is *unread*: :func:`sex_code` gives None and the
reader decides (ingest quarantines it as an unknown code).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

import yaml

from safelight.standard.identifiers import fold_accents


def sex_word(text: str) -> str:
    """``text`` as the vocabulary compares it (see the module docstring)."""
    folded = fold_accents(unicodedata.normalize("NFKC", text))
    return " ".join(folded.split()).rstrip(".").strip()


@cache
def sex_codes() -> dict[str, str]:
    """Compared word → code of the standard's ``sex`` list (``female``, ``male``, ``other``,
    ``unknown``)."""
    with resources.files("safelight.standard").joinpath("data", "sex_words.yaml").open("rb") as fh:
        data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return {sex_word(str(w)): str(code) for code, words in data.items() for w in words}


def sex_code(text: str | None) -> str | None:
    """The ``sex`` code a word of the vocabulary names; None for a word it does not hold (or
    no text)."""
    if text is None:
        return None
    return sex_codes().get(sex_word(str(text)))


__all__ = ["sex_code", "sex_codes", "sex_word"]
