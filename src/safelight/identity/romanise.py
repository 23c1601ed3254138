"""Greek and Arabic script → Latin letters, so that names written in those scripts meet their
Latin spellings in linkage (Cyrillic has its own systems in :mod:`.transliterate`).

``romanise_greek``
    ELOT 743:1982 (the Greek standard, also ISO 843 type 2 and the UN-recommended system, used in
    Greek passports): accents dropped, ``ου`` → ``ou``, ``αυ``/``ευ``/``ηυ`` → ``av``/``ev``/``iv``
    (``af``/``ef``/``if`` before a voiceless consonant or at the end), ``γγ`` → ``ng``, ``γκ`` →
    ``gk`` (``g`` at the start of a word), ``γξ`` → ``nx``, ``γχ`` → ``nch``, ``μπ``/``ντ`` →
    ``b``/``d`` at the start of a word and ``mp``/``nt`` inside it, ``θ`` → ``th``, ``χ`` → ``ch``,
    ``ψ`` → ``ps``, ``η``/``ι``/``υ`` → ``i``/``i``/``y``.
``romanise_arabic``
    Arabic script is written without short vowels, so no letter-by-letter rule gives the spelling
    a registrar would write. A name listed in ``data/arabic_names.yaml`` becomes its most common
    Latin spelling there (محمد → Mohammed, الشامي → al-Shami); any other word falls back to a
    simple consonantal transcription (ش → sh, خ → kh, ع and ء dropped, long vowels ا و ي as
    a u i between consonants), which still lets names agree partly.

Both leave every character outside their script untouched. The Latin output then goes through
the same folds as any other name (:func:`safelight.identity.normalise.fold`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

import yaml

__all__ = ["romanise_arabic", "romanise_greek", "has_arabic", "has_greek"]

_GREEK = re.compile(r"[\u0370-\u03FF\u1F00-\u1FFF]")
_ARABIC = re.compile(r"[\u0600-\u06FF]")


def has_greek(text: str) -> bool:
    return bool(_GREEK.search(text))


def has_arabic(text: str) -> bool:
    return bool(_ARABIC.search(text))


# --------------------------------------------------------------------------------------- Greek

_GREEK_LETTERS = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i",
    "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s",
    "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}
_VOICELESS = frozenset("θκξπστφχψ")
_GREEK_WORD = re.compile(r"[α-ωάέήίόύώϊϋΐΰς]+")


def _greek_word(word: str) -> str:
    w = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    out: list[str] = []
    i = 0
    while i < len(w):
        pair = w[i:i + 2]
        nxt = w[i + 2] if i + 2 < len(w) else ""
        if pair == "ου":
            out.append("ou")
        elif pair in ("αυ", "ευ", "ηυ"):
            out.append(_GREEK_LETTERS[pair[0]] + ("f" if not nxt or nxt in _VOICELESS else "v"))
        elif pair == "γγ":
            out.append("ng")
        elif pair == "γκ":
            out.append("g" if i == 0 else "gk")
        elif pair == "γξ":
            out.append("nx")
        elif pair == "γχ":
            out.append("nch")
        elif pair == "μπ":
            out.append("b" if i == 0 else "mp")
        elif pair == "ντ":
            out.append("d" if i == 0 else "nt")
        else:
            out.append(_GREEK_LETTERS.get(w[i], w[i]))
            i += 1
            continue
        i += 2
    return "".join(out)


def romanise_greek(text: str) -> str:
    """Greek letters of ``text`` in ELOT 743 (lower case; other characters unchanged).

    >>> romanise_greek("Γιώργος Παπαδόπουλος")
    'giorgos papadopoulos'
    """
    return _GREEK_WORD.sub(lambda m: _greek_word(m.group(0)), text.lower())


# -------------------------------------------------------------------------------------- Arabic

_HARAKAT = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")  # vowel marks, tatweel
# alef forms to bare alef; the Persian and Urdu forms of yeh, kaf, heh and teh marbuta (ی ک ہ ھ
# ے ۃ), which records from Afghanistan, Iran or Pakistan use for Arabic names (علی for علي,
# عبداللہ for عبدالله), to the Arabic letters the name tables are written in
_ALEFS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ک": "ك",
                        "ہ": "ه", "ھ": "ه", "ے": "ي", "ۃ": "ة"})
_CONSONANTS = {
    "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r",
    "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "ع": "", "غ": "gh",
    "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "ء": "", "ؤ": "u",
    "ئ": "i", "ة": "a", "پ": "p", "چ": "ch", "گ": "g", "ڤ": "v",
}
_ARABIC_WORD = re.compile(r"[\u0621-\u064A\u0671-\u06D3]+")


_ABD_JOINED = re.compile(r"(?<![\u0621-\u064A])عبدال(?=[\u0621-\u064A]{2})")


_URDU_FINAL_HEH = re.compile(r"(?<!لل)ہ(?![\u0600-\u06FF])")  # not the heh of Allah (اللہ)


def _arabic_key(text: str) -> str:
    """Vowel marks dropped, letter forms unified (``_ALEFS``; a word-final Urdu heh is the
    Arabic teh marbuta: فاطمہ for فاطمة), and ``Abd al-`` names written joined (عبدالله, as
    often in records) split as the tables write them (عبد الله)."""
    text = _URDU_FINAL_HEH.sub("ة", _HARAKAT.sub("", text))
    text = _ABD_JOINED.sub("عبد ال", text.translate(_ALEFS))
    return " ".join(text.split())


@cache
def _arabic_spellings() -> dict[str, str]:
    """Arabic-script name (normalised) → its most common Latin spelling, from arabic_names.yaml."""
    data = yaml.safe_load(resources.files("safelight.identity").joinpath("data/arabic_names.yaml")
                          .read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for entry in data.get("given", []):
        spellings = [*entry.get("variants", []), *entry.get("fr", [])]
        if entry.get("arabic") and spellings:
            out.setdefault(_arabic_key(entry["arabic"]), spellings[0])
    for entry in data.get("family", []):
        spellings = [*entry.get("base", []), *entry.get("variants", [])]
        if not entry.get("arabic") or not spellings:
            continue
        key = _arabic_key(entry["arabic"])
        if entry.get("article") and key.startswith("ال"):
            out.setdefault(key, f"al-{spellings[0]}")
            out.setdefault(key[2:], spellings[0])
        else:
            out.setdefault(key, spellings[0])
    return out


def _arabic_letters(word: str) -> str:
    out: list[str] = []
    if word.startswith("ال") and len(word) > 3:
        out.append("al-")
        word = word[2:]
    for i, ch in enumerate(word):
        if ch == "ا":
            out.append("a")
        elif ch in "وي":
            between = 0 < i < len(word) - 1 or (i == len(word) - 1 and i > 0)
            out.append(("u" if ch == "و" else "i") if between else ("w" if ch == "و" else "y"))
        else:
            out.append(_CONSONANTS.get(ch, ""))
    return "".join(out)


def romanise_arabic(text: str) -> str:
    """Arabic-script names of ``text`` in Latin letters (other characters unchanged).

    >>> romanise_arabic("محمد الشامي")
    'Mohammed al-Shami'
    """
    key = _arabic_key(text)
    spellings = _arabic_spellings()
    if key in spellings:
        return spellings[key]
    for known in sorted((k for k in spellings if " " in k and k in key), key=len, reverse=True):
        key = key.replace(known, spellings[known])  # multi-word names: عبد الله
    return _ARABIC_WORD.sub(lambda m: spellings.get(m.group(0)) or _arabic_letters(m.group(0)), key)
