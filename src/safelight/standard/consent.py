"""The consent vocabulary: which words of a consent column allow linkage, or statistics.

One vocabulary for every reader of a contributor's consent column (identity maps, release
inputs): the standard's ``consent`` codes and their labels, each allowing what its
``linkage`` / ``statistics`` attribute says, and yes/no words — ingest profiles' default flag
spellings (:data:`~safelight.standard.schema.TRUE_WORDS`) plus a few languages' — where yes
allows the use and no does not, and the codes' labels in the contributors' languages
(:data:`LABELS`: Ukrainian, Russian, Polish, Romanian, German, French, Spanish). Words are
matched by :func:`consent_key`: trimmed, case-folded and without blanks, ``_`` or ``-``, so the
HTCDS spellings (``NoConsent``, ``StatisticsOnly``) and ``statistics-only`` read as the codes.
A word not in the vocabulary is *unread*: a reader must not guess it either way.
"""

from __future__ import annotations

import re

from safelight.standard.codelists import codelist
from safelight.standard.schema import FALSE_WORDS, TRUE_WORDS

USES = ("linkage", "statistics")
#: blanks, ``_`` and ``-`` between two letters or digits (not at a word's ends)
_INNER_SEPARATORS = re.compile(r"(?<=[^\W_])[\s_-]+(?=[^\W_])")
_YES = (*TRUE_WORDS, "ja", "tak", "так", "да", "oui", "si", "sí", "da")
_NO = (*FALSE_WORDS, "nein", "nie", "ні", "нет", "non", "nu")
#: Consent code → its label in the contributors' languages (uk, ru, pl, ro, de, fr, es).
LABELS: dict[str, tuple[str, ...]] = {
    "full": ("повна", "повна згода", "полное", "полное согласие", "pełna", "pełna zgoda",
             "deplin", "complet", "vollständig", "complète", "complet", "completo"),
    "statistics_only": ("лише статистика", "тільки статистика", "только статистика",
                        "tylko statystyka", "tylko statystyki", "doar statistici",
                        "nur statistik", "statistiques uniquement", "statistique uniquement",
                        "solo estadística", "solo estadísticas"),
    "none": ("відсутня", "немає згоди", "нет согласия", "brak zgody", "fără consimțământ",
             "keine einwilligung", "pas de consentement", "sin consentimiento"),
    "withdrawn": ("відкликана", "відкликано", "отозвано", "отозвано согласие", "wycofana",
                  "wycofano", "retras", "widerrufen", "retiré", "retirado"),
}


def consent_key(word: str) -> str:
    """The form in which consent words are matched: trimmed, case-folded, without the blanks,
    ``_`` or ``-`` *between* two letters or digits (``No consent``, ``no_consent``,
    ``NoConsent`` → ``noconsent``). A sign or separator at either end stays: ``-1`` is not
    ``1`` (yes), and stays unread."""
    return _INNER_SEPARATORS.sub("", " ".join(str(word).split()).casefold())


def consent_words(use: str) -> dict[str, bool]:
    """:func:`consent_key` of each consent word → whether it allows ``use`` (``"linkage"`` or
    ``"statistics"``), over the vocabulary of the module docstring."""
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}, not {use!r}")
    words = {consent_key(w): True for w in _YES}
    words |= {consent_key(w): False for w in _NO}
    for code in codelist("consent").codes.values():
        allows = bool(code.attributes.get(use))
        for word in (code.code, code.label, *LABELS.get(code.code, ())):
            words[consent_key(word)] = allows
    return words


__all__ = ["LABELS", "USES", "consent_key", "consent_words"]
