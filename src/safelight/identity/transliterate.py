"""Cyrillic → Latin transliteration in the systems that actually appear in case records.

The same Ukrainian or Russian name reaches a hub written in several ways: in Cyrillic by a
hotline, in the passport's Latin spelling by police, and "by ear" in the receiving country's own
conventions by an NGO. :func:`transliterate` reproduces those spellings so that linkage can
normalise them and the demo can generate them. Systems:

``uk_national``
    Ukraine's official system, Resolution of the Cabinet of Ministers of Ukraine No. 55 of
    27 January 2010 ("Про впорядкування транслітерації українського алфавіту латиницею"), used in
    Ukrainian passports: є ї й ю я are ``ye yi y yu ya`` at the start of a word and
    ``ie i i iu ia`` elsewhere; ``зг`` is ``zgh``; the soft sign and apostrophe are dropped.
    Letters of the Serbian, Macedonian and Belarusian alphabets are written as those countries'
    machine-readable zones write them (``ђ`` → ``dj``, ``ј`` → ``j``, ``ў`` → ``u``, …), so
    that linkage's fold, which uses this system, keeps them.
``ru_icao``
    ICAO Doc 9303 (Machine Readable Travel Documents), Part 3, transliteration of Cyrillic, used
    for Russian passports since 2013 (FMS order No. 320 of 15 October 2012): ``ъ`` → ``ie``,
    ``ю`` → ``iu``, ``я`` → ``ia``, ``й`` → ``i``, ``ё`` → ``e``.
``ru_bgn_pcgn``
    BGN/PCGN 1947 romanisation of Russian (US Board on Geographic Names / UK Permanent Committee
    on Geographical Names): ``е``/``ё`` are ``ye``/``yë`` at the start of a word and after a
    vowel, ``й``, ``ъ`` or ``ь``; ``ъ`` → ``”``, ``ь`` → ``’``; the optional ``·`` separator is
    not produced.
``de_duden``
    German transcription as in the Duden (informal, used "by ear" by German authorities):
    ж → sch, ч → tsch, ш → sch, щ → schtsch, х → ch, в → w, ц → z, з → s, ю → ju, я → ja,
    кс → x, с between vowels → ss, final ий → i (Russian only).
``pl``
    Polish transcription (Polish Academy of Sciences / PWN rules for Russian and Ukrainian):
    ж → ż, ч → cz, ш → sz, щ → szcz, х → ch, в → w, ц → c, л → ł (l before soft vowels),
    soft sign → ń ś ź ć; Russian е after most consonants → ie.
``fr``
    French usage (as in French dictionaries and press): ш → ch, ч → tch, ж → j, у → ou,
    ю → iou, г → gu before front vowels, й → ï after a vowel.
``scholarly``
    Scientific (Slavist) transliteration, close to ISO 9:1995 / ISO/R 9:1968, with diacritics:
    ж → ž, ч → č, ш → š, щ → šč, ц → c, х → ch, ь → ʹ, ъ → ʺ, э → è, ё → ë.

Ukrainian and Russian share letters but not sounds (г is *h* in Ukrainian and *g* in Russian, и
is *y* and *i*). ``lang`` selects the language; when it is not given, text containing і ї є ґ is
Ukrainian, text containing ы э ё ъ is Russian, and anything else takes the system's default
language (Ukrainian for ``uk_national``, Russian otherwise). Characters that are not Cyrillic pass
through unchanged; case is kept (a word in capitals stays in capitals).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

__all__ = ["SYSTEMS", "detect_language", "transliterate"]

SYSTEMS: tuple[str, ...] = (
    "uk_national",
    "ru_icao",
    "ru_bgn_pcgn",
    "de_duden",
    "pl",
    "fr",
    "scholarly",
)

_APOSTROPHES = frozenset("'’ʼ`")
_VOWELS = frozenset("аеёєиіїоуыэюя")
_HUSHERS = frozenset("жчшщ")
_WORD = re.compile(r"[\u0400-\u04FF]+(?:['’ʼ`][\u0400-\u04FF]+)*")

# Letters shared by the simple one-to-one parts of several systems.
_COMMON = {
    "а": "a", "б": "b", "д": "d", "з": "z", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "ґ": "g",
}  # fmt: skip


def detect_language(text: str) -> str | None:
    """``"uk"`` or ``"ru"`` when letters specific to one language occur in ``text``, else None.

    An apostrophe between Cyrillic letters (Мар'яна) also marks Ukrainian.
    """
    low = text.lower()
    if any(c in low for c in "іїєґ") or re.search(r"[\u0400-\u04FF]['’ʼ][\u0400-\u04FF]", low):
        return "uk"
    if any(c in low for c in "ыэёъ"):
        return "ru"
    return None


def _iotated(w: str, i: int) -> bool:
    """True at the start of a word and after a vowel, й, a hard/soft sign or an apostrophe."""
    if i == 0:
        return True
    p = w[i - 1]
    return p in _VOWELS or p in "йъь" or p in _APOSTROPHES


def _uk_national(w: str, lang: str) -> list[str]:
    base = {
        **_COMMON, "в": "v", "г": "h", "е": "e", "є": "ie", "ж": "zh", "и": "y", "і": "i",
        "ї": "i", "й": "i", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "",
        "ю": "iu", "я": "ia", "ы": "y", "э": "e", "ё": "io", "ъ": "",
        # letters of the other Cyrillic alphabets, as their own passports' machine-readable
        # zones write them (they were dropped: Ђорђевић came out "orevi", Ўладзімір "ladzimir")
        "ђ": "dj", "ћ": "c", "ј": "j", "љ": "lj", "њ": "nj", "џ": "dz",  # Serbian
        "ѓ": "gj", "ќ": "kj", "ѕ": "dz",  # Macedonian
        "ў": "u",  # Belarusian
    }  # fmt: skip
    initial = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya", "ё": "yo"}
    out = []
    for i, c in enumerate(w):
        if c in _APOSTROPHES:
            out.append("")
        elif i == 0 and c in initial:
            out.append(initial[c])
        elif c == "г" and i > 0 and w[i - 1] == "з":
            out.append("gh")
        else:
            out.append(base.get(c, c))
    return out


def _ru_icao(w: str, lang: str) -> list[str]:
    base = {
        **_COMMON, "в": "v", "г": "g", "е": "e", "ё": "e", "є": "ie", "ж": "zh", "и": "i",
        "і": "i", "ї": "i", "й": "i", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
        "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    }  # fmt: skip
    return ["" if c in _APOSTROPHES else base.get(c, c) for c in w]


def _ru_bgn_pcgn(w: str, lang: str) -> list[str]:
    base = {
        **_COMMON, "в": "v", "г": "g", "е": "e", "ё": "ë", "є": "ye", "ж": "zh", "и": "i",
        "і": "i", "ї": "yi", "й": "y", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
        "ъ": "”", "ы": "y", "ь": "’", "э": "e", "ю": "yu", "я": "ya",
    }  # fmt: skip
    out = []
    for i, c in enumerate(w):
        if c in _APOSTROPHES:
            out.append("")
        elif c in "её" and _iotated(w, i):
            out.append("ye" if c == "е" else "yë")
        else:
            out.append(base.get(c, c))
    return out


def _de_duden(w: str, lang: str) -> list[str]:
    uk = lang == "uk"
    base = {
        **_COMMON, "в": "w", "г": "h" if uk else "g", "е": "e", "ё": "jo", "є": "je",
        "ж": "sch", "з": "s", "и": "y" if uk else "i", "і": "i", "ї": "ji", "й": "j", "х": "ch",
        "ц": "z", "ч": "tsch", "ш": "sch", "щ": "schtsch", "ъ": "", "ы": "y", "ь": "", "э": "e",
        "ю": "ju", "я": "ja",
    }  # fmt: skip
    out = []
    n = len(w)
    for i, c in enumerate(w):
        p = w[i - 1] if i else ""
        nx = w[i + 1] if i + 1 < n else ""
        if c in _APOSTROPHES:
            out.append("")
        elif c == "к" and nx == "с":
            out.append("x")
        elif c == "с" and p == "к":
            out.append("")
        elif c == "с" and p in _VOWELS and nx in _VOWELS:
            out.append("ss")
        elif c == "е" and _iotated(w, i) and not uk:
            out.append("je")
        elif c == "ё" and p in _HUSHERS:
            out.append("o")
        elif c == "й" and not uk and p in "иы" and i == n - 1:
            out.append("")
        else:
            out.append(base.get(c, c))
    return out


_PL_SOFTENED = {"n": "ń", "s": "ś", "z": "ź", "c": "ć"}


def _pl(w: str, lang: str) -> list[str]:
    uk = lang == "uk"
    base = {
        **_COMMON, "в": "w", "г": "h" if uk else "g", "ж": "ż", "і": "i", "ї": "ji", "й": "j",
        "х": "ch", "ц": "c", "ч": "cz", "ш": "sz", "щ": "szcz", "ъ": "", "ы": "y", "э": "e",
    }  # fmt: skip
    soft_after_l = set("єюяьії") if uk else set("еёюяьи")
    out: list[str] = []
    n = len(w)
    for i, c in enumerate(w):
        p = w[i - 1] if i else ""
        nx = w[i + 1] if i + 1 < n else ""
        iot = _iotated(w, i)
        if c in _APOSTROPHES:
            out.append("")
        elif c == "л":
            out.append("l" if nx in soft_after_l else "ł")
        elif c == "е":
            if uk or p == "л" or p in _HUSHERS or p == "ц":
                out.append("e")
            else:
                out.append("je" if iot else "ie")
        elif c in "ёєюя":
            vowel = {"ё": "o", "є": "e", "ю": "u", "я": "a"}[c]
            if p == "л" or (c == "ё" and p in _HUSHERS):
                out.append(vowel)
            else:
                out.append(("j" if iot else "i") + vowel)
        elif c == "и":
            out.append("y" if uk or p in "жшц" else "i")
        elif c == "ь":
            prev = out[-1] if out else ""
            if nx not in _VOWELS and prev in _PL_SOFTENED:
                out[-1] = _PL_SOFTENED[prev]
            out.append("")
        else:
            out.append(base.get(c, c))
    return out


def _fr(w: str, lang: str) -> list[str]:
    uk = lang == "uk"
    base = {
        **_COMMON, "в": "v", "г": "h" if uk else "g", "е": "e", "ё": "io", "є": "ie", "ж": "j",
        "и": "y" if uk else "i", "і": "i", "ї": "ï", "х": "kh", "ц": "ts", "ч": "tch", "ш": "ch",
        "щ": "chtch", "ъ": "", "ы": "y", "ь": "", "э": "e", "у": "ou", "ю": "iou", "я": "ia",
    }  # fmt: skip
    out = []
    n = len(w)
    for i, c in enumerate(w):
        p = w[i - 1] if i else ""
        nx = w[i + 1] if i + 1 < n else ""
        if c in _APOSTROPHES:
            out.append("")
        elif c == "г" and not uk and nx in "еиіёєюяэ":
            out.append("gu")
        elif c == "й":
            out.append("" if p in "иыі" else ("ï" if p in _VOWELS else "i"))
        elif c == "с" and p in _VOWELS and nx in _VOWELS:
            out.append("ss")
        elif c == "ё" and p in _HUSHERS:
            out.append("o")
        elif c == "я" and p in "иі":
            out.append("a")
        else:
            out.append(base.get(c, c))
    return out


def _scholarly(w: str, lang: str) -> list[str]:
    uk = lang == "uk"
    base = {
        **_COMMON, "в": "v", "г": "h" if uk else "g", "е": "e", "ё": "ë", "є": "je", "ж": "ž",
        "и": "y" if uk else "i", "і": "i", "ї": "ji", "й": "j", "х": "ch", "ц": "c", "ч": "č",
        "ш": "š", "щ": "šč", "ъ": "ʺ", "ы": "y", "ь": "ʹ", "э": "è", "ю": "ju", "я": "ja",
    }  # fmt: skip
    return ["ʼ" if c in _APOSTROPHES else base.get(c, c) for c in w]


_RULES: dict[str, Callable[[str, str], list[str]]] = {
    "uk_national": _uk_national,
    "ru_icao": _ru_icao,
    "ru_bgn_pcgn": _ru_bgn_pcgn,
    "de_duden": _de_duden,
    "pl": _pl,
    "fr": _fr,
    "scholarly": _scholarly,
}
_DEFAULT_LANG = {s: ("uk" if s == "uk_national" else "ru") for s in SYSTEMS}


def _word(word: str, rule: Callable[[str, str], list[str]], lang: str) -> str:
    chunks = rule(word.lower(), lang)
    if len(word) > 1 and word.isupper():
        return "".join(chunks).upper()
    out = []
    upper_pending = False
    for src, chunk in zip(word, chunks, strict=True):
        if src.isupper() or upper_pending:
            if chunk:
                chunk = chunk[0].upper() + chunk[1:]
                upper_pending = False
            else:
                upper_pending = True  # an upper-case letter written as nothing: carry it on
        out.append(chunk)
    return "".join(out)


@lru_cache(maxsize=65536)
def transliterate(text: str, system: str, *, lang: str | None = None) -> str:
    """Write the Cyrillic words of ``text`` in Latin letters according to ``system``.

    ``system`` is one of :data:`SYSTEMS`; ``lang`` is ``"uk"``, ``"ru"`` or None (detect, then
    the system's default). Non-Cyrillic characters are returned unchanged, so Latin input is
    returned as is. Raises ValueError for an unknown system or language.

    >>> transliterate("Олександр Згурський", "uk_national")
    'Oleksandr Zghurskyi'
    >>> transliterate("Жук", "de_duden")
    'Schuk'
    """
    rule = _RULES.get(system)
    if rule is None:
        raise ValueError(f"unknown transliteration system {system!r}; known: {', '.join(SYSTEMS)}")
    if lang is None:
        lang = detect_language(text) or _DEFAULT_LANG[system]
    elif lang not in ("uk", "ru"):
        raise ValueError(f"unknown source language {lang!r}; use 'uk', 'ru' or None")
    return _WORD.sub(lambda m: _word(m.group(0), rule, lang), text)
