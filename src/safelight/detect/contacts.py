"""Contact-point extraction from ad text, including obfuscated forms.

Contract
--------
:func:`extract_contacts` takes one untrusted text and a default region (ISO 3166 alpha-2, the
region a number without a country code is read in) and returns the distinct contact points it
finds, in order of appearance. It never raises on any input string.

Kinds and normalised values (``ContactPoint.key`` is ``"kind:value"``):

* ``phone`` — E.164 (``+19175550123``), validated by ``phonenumbers``; ``channel`` says
  whether it was given as a WhatsApp/Viber/Signal/Telegram number;
* ``email`` — ``local@domain``, lower-cased;
* ``telegram``, ``instagram``, ``signal`` — the user name, lower-cased, without ``@``;
* ``handle`` — an ``@name`` with no platform named near it;
* ``url`` — host and path, lower-cased host, without scheme, ``www.`` or trailing ``/``.

Obfuscations undone before matching: Unicode compatibility forms (fullwidth and mathematical
digits, via NFKC), keycap and dingbat digits, zero-width characters, digits written out as words
in English, Ukrainian, Russian, Spanish and Romanian (only inside a run of at least three number
words and seven digits, so "one girl, two friends" stays text), letter-for-digit swaps inside digit runs (O→0, l/I/|→1,
S→5, B→8), separators between digits (spaces, dots, dashes, brackets, slashes), and
``at``/``dot`` e-mail spellings (``[at]``, ``(dot)``, ``arroba``, ``собака``, ``точка`` ...).
"""

from __future__ import annotations

import itertools
import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = ["ContactPoint", "deobfuscate", "extract_contacts", "NUMBER_WORDS"]

# --------------------------------------------------------------------------- number words

_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_ES = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
_RO = ["zero", "unu", "doi", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă"]
_RU = ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
_UK = ["нуль", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять"]
_EXTRA = {"oh": 0, "nought": 0, "una": 1, "doua": 2, "două": 2, "sase": 6, "şase": 6,
          "sapte": 7, "şapte": 7, "noua": 9, "nul": 0, "одна": 1, "одну": 1, "две": 2, "дві": 2,
          "нол": 0, "zéro": 0}

#: Every digit word the extractor knows, lower-cased, apostrophes as ``'``.
NUMBER_WORDS: dict[str, int] = {}
for _lang in (_EN, _ES, _RO, _RU, _UK):
    for _d, _w in enumerate(_lang):
        NUMBER_WORDS[_w] = _d
NUMBER_WORDS.update(_EXTRA)

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
_LETTERS = r"[^\W\d_]"
_WORDS_ALT = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
_WORD_RE = re.compile(rf"(?<!{_LETTERS})(?:{_WORDS_ALT})(?!{_LETTERS})|\d+", re.IGNORECASE)
_GAP_RE = re.compile(r"[\s\-.,/()+*_|:~•·]{0,4}")

# keycap: digit + U+FE0F? + U+20E3; dingbat / negative circled digits are not NFKC-decomposed
_DINGBATS = {**{chr(0x2780 + i): str(i + 1) for i in range(9)},
             **{chr(0x278A + i): str(i + 1) for i in range(9)},
             **{chr(0x2776 + i): str(i + 1) for i in range(9)},
             "➉": "10", "➓": "10", "❿": "10", "🔟": "10", "⓪": "0", "⓿": "0"}
_STRIP = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\ufe0f\u20e3\u00ad"), None)
_STRIP.update({ord(k): v for k, v in _DINGBATS.items() if len(k) == 1})

# the characters the two tables change: a text without any skips the (slow) translation
_STRIP_RE = re.compile("[" + re.escape("".join(map(chr, _STRIP))) + "]")
_APOSTROPHE_RE = re.compile("[’ʼ`´‘]")

_SWAP = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "S": "5", "s": "5",
                       "B": "8"})
_SWAP_CHARS = "0-9OoIlSsB|"
# (the leading lookahead names the characters a run can start with: the same matches, but the
# scan skips every other position without trying the pattern there)
_SWAP_RUN_RE = re.compile(
    rf"(?=[({_SWAP_CHARS}])(?<![\w])\(?[{_SWAP_CHARS}]+\)?(?:[\s\-./]{{1,3}}\(?[{_SWAP_CHARS}]+\)?)*(?![\w])")


# a run that holds both a look-alike letter and an ASCII digit has the two side by side, or
# apart by at most a bracket, 1-3 separators and a bracket: a text without such a pair has only
# all-digit or all-letter runs, which the swap leaves as they are (so it is not scanned)
_SWAP_GATE_RE = re.compile(r"[OoIlSsB|][\s\-./()]{0,5}[0-9]|[0-9][\s\-./()]{0,5}[OoIlSsB|]")


def _swap_letters(match: re.Match[str]) -> str:
    """Map look-alike letters to digits in a run that is mostly a number (>= 3 real digits,
    >= 7 digits once mapped)."""
    run = match.group(0)
    real = sum(c.isdigit() for c in run)
    if real < 3 or real == sum(c.isalnum() or c == "|" for c in run):
        return run
    mapped = run.translate(_SWAP)
    if sum(c.isdigit() for c in mapped) < 7:
        return run
    return mapped


# a cheap count of number words (never lower than what ``_WORD_RE`` finds: every letter run it
# matches is a maximal run of letters, or a part of an apostrophe word such as п'ять)
_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")
_NUMBER_PARTS = frozenset(p for w in NUMBER_WORDS for p in w.split("'"))


def _count_number_parts(text: str) -> int:
    """How many letter runs of ``text`` are number-word parts.

    A whitespace-separated piece made of letters only (``str.isalpha``) is one whole letter
    run, looked up as it is; only the other pieces (punctuation, digits, apostrophes attached)
    go through the letter-run pattern — the same runs as ``_LETTER_RUN_RE.findall(text)``,
    since no run crosses white space, for a fraction of the regex work."""
    pieces = text.split()
    count = sum(map(_NUMBER_PARTS.__contains__, pieces))
    rest = list(itertools.compress(pieces, map(operator.not_, map(str.isalpha, pieces))))
    if rest:
        count += sum(map(_NUMBER_PARTS.__contains__, _LETTER_RUN_RE.findall(" ".join(rest))))
    return count


def _few_number_words(text: str, need: int = 3) -> bool:
    """True when ``text`` surely holds fewer than ``need`` number words.

    Letter runs of the lower-cased text (ı as i: ``re.IGNORECASE`` also lets ı match i) and of
    the case-folded text are looked up in C (``map``), not word by word; a run that matches in
    both counts twice, so the count is never lower than the number of runs that match in
    either (lower-casing and case-folding keep letters letters and the rest not)."""
    low = text.lower().replace("ı", "i")
    count = _count_number_parts(low)
    if count < need:
        folded = text.casefold()
        if folded != low:
            count += _count_number_parts(folded)
    return count < need


def _words_to_digits(text: str) -> str:
    """Replace number words by digits inside runs that hold at least seven digits."""
    if _few_number_words(text):
        return text  # a run needs at least three number words
    tokens = list(_WORD_RE.finditer(text))
    if not tokens:
        return text
    out: list[str] = []
    pos = 0
    i = 0
    while i < len(tokens):
        j = i
        while j + 1 < len(tokens) and _GAP_RE.fullmatch(
                text[tokens[j].end():tokens[j + 1].start()]):
            j += 1
        run = tokens[i:j + 1]
        n_words = sum(not m.group(0).isdigit() for m in run)
        n_digits = sum(len(m.group(0)) if m.group(0).isdigit() else 1 for m in run)
        if n_words >= 3 and n_digits >= 7:
            out.append(text[pos:run[0].start()])
            for k, m in enumerate(run):
                g = m.group(0)
                out.append(g if g.isdigit() else str(NUMBER_WORDS[g.lower()]))
                if k + 1 < len(run):
                    out.append(" ")
            pos = run[-1].end()
        i = j + 1
    out.append(text[pos:])
    return "".join(out)


def deobfuscate(text: str) -> str:
    """The text with digit obfuscations undone (see the module docstring); never raises."""
    return _deobfuscate(text, True, True)


def _deobfuscate_chars(text: str) -> str:
    """The character steps of :func:`deobfuscate`: NFKC, keycaps, dingbats, zero-width
    characters and apostrophes."""
    if text.isascii():  # NFKC leaves ASCII as it is; the only ASCII character changed is `
        return text.translate(_APOSTROPHES) if "`" in text else text
    t = unicodedata.normalize("NFKC", text)
    if _STRIP_RE.search(t):
        t = t.translate(_STRIP)
    if _APOSTROPHE_RE.search(t):
        t = t.translate(_APOSTROPHES)
    return t


def _deobfuscate(text: str, words: bool, lookalike: bool = True) -> str:
    """:func:`deobfuscate`; ``words=False`` when ``text`` is known to hold fewer than three
    number words, ``lookalike=False`` when it holds no token the look-alike pass may change
    (the pass is then skipped)."""
    t = _deobfuscate_chars(text)
    if lookalike and _SWAP_GATE_RE.search(t):
        t = _SWAP_RUN_RE.sub(_swap_letters, t)
    return _words_to_digits(t) if words else t


# --------------------------------------------------------------------------- patterns

_PHONE_RE = re.compile(r"(?=[+(\d])(?<![\w+])(\+?\(?\d(?:[\s().\-/_*~|•·]{0,3}\d){6,60})(?![\w])")
_TLDS = ("com|net|org|info|biz|ru|ua|es|ro|md|de|uk|co|io|me|mx|us|pl|it|fr|eu|kz|by|xyz|"
         "online|site|club|top|live|app|gov|edu")
_EMAIL_PLAIN_RE = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+\-]*)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,12})"
    r"(?![\w-])")
_AT = (r"(?:\s*[\[\(\{<]\s*(?:at|@|arroba|собака|собачка|равлик|coada)\s*[\]\)\}>]\s*"
       r"|\s+(?:at|arroba|собака|собачка|равлик)\s+|\s+@\s*|\s*@\s+)")
_DOT = (r"(?:\s*[\[\(\{<]\s*(?:dot|punto|punct|точка|крапка|\.)\s*[\]\)\}>]\s*"
        r"|\s+(?:dot|punto|punct|точка|крапка)\s+|\s+\.\s*|\s*\.\s+)")
_EMAIL_OBF_RE = re.compile(
    rf"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+\-]*){_AT}([A-Za-z0-9\-]+)((?:{_DOT}[A-Za-z0-9\-]+)*?)"
    rf"(?:{_DOT}|\.)({_TLDS})(?![\w/-])", re.IGNORECASE)
_DOT_SPLIT_RE = re.compile(_DOT + r"|\.", re.IGNORECASE)
_URL_RE = re.compile(
    rf"(?i)(?:\b(?:https?://|viber://)[^\s<>\"'()]+|\bwww\.[^\s<>\"'()]+"
    rf"|(?<![\w@.\-])(?:[a-z0-9\-]+\.)+(?:{_TLDS})(?:/[^\s<>\"'()]*)?(?![\w@\-]))")
# gates: a text without these cannot hold a match of the pattern, so it is not scanned for it
# (used where the text holds no "@": a leading literal alternative would slow the scan down)
# (written from the word on, the character before it looked behind at: a match exactly where the
# plain form ``[\s\[\(\{<](?:at|...)[\s\]\)\}>]`` matches, but the scan only stops at the
# letters a word can start with, not at every space)
_AT_GATE_RE = re.compile(
    r"(?i)(?=[aсрc])(?<=[\s\[\(\{<])(?:at|arroba|собака|собачка|равлик|coada)[\s\]\)\}>]")
_URL_GATE_RE = re.compile(rf"(?i)://|www\.|\.(?:{_TLDS})")


def _may_hold_url(text: str) -> bool:
    """False when ``text`` surely holds no URL: no ``://`` and every ``.`` is followed by a
    space or ends the text (a ``www.`` or ``.tld`` needs a character after the dot); else the
    URL gate decides. Two counts in C instead of a case-insensitive scan of every ad."""
    if "://" not in text and text.count(".") == text.count(". ") + text.endswith("."):
        return False
    return _URL_GATE_RE.search(text) is not None


_HANDLE_RE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_.]{2,31})")
_KEYWORDS_ALT = (r"telegram|tg|телеграм|телега|телеграмм|insta(?:gram)?|ig|inst|инстаграм|инста|"
                 r"інстаграм|signal|сигнал")
_KEYED_HANDLE_RE = re.compile(
    rf"(?i)(?=[tтiиіsс])(?<![\w])({_KEYWORDS_ALT})\s*(?::|-|–|—)\s*@?([A-Za-z][A-Za-z0-9_.]{{2,31}})")

# a keyed handle needs one of these after its keyword (checked before the pattern scans)
_KEYED_SEPARATORS = (":", "-", "–", "—")


def _has_keyed_separator(text: str) -> bool:
    return ":" in text or "-" in text or "–" in text or "—" in text


_CHANNELS = {
    "whatsapp": "whatsapp", "whats app": "whatsapp", "wa": "whatsapp", "ватсап": "whatsapp",
    "вацап": "whatsapp", "вотсап": "whatsapp", "watsap": "whatsapp", "wapp": "whatsapp",
    "viber": "viber", "вайбер": "viber", "вайбер:": "viber",
    "signal": "signal", "сигнал": "signal",
    "telegram": "telegram", "tg": "telegram", "телеграм": "telegram", "телеграмм": "telegram",
    "телега": "telegram",
    "insta": "instagram", "instagram": "instagram", "ig": "instagram", "inst": "instagram",
    "инстаграм": "instagram", "инста": "instagram", "інстаграм": "instagram",
}
_CHANNEL_RE = re.compile(
    r"(?i)(?=[wвvsсtтiиі])(?<![\w])(" + "|".join(sorted(map(re.escape, _CHANNELS), key=len, reverse=True))
    + r")(?![\w])")


# letters that re.IGNORECASE matches to another one that lower() does not give (ıg is ig)
_IGNORECASE_EXTRA = str.maketrans({"ı": "i", "ſ": "s", "ᲀ": "в", "ᲁ": "д", "ᲂ": "о", "ᲃ": "с",
                                   "ᲄ": "т", "ᲅ": "т", "ᲆ": "ъ", "ᲇ": "ѣ", "ᲈ": "ꙋ"})


# --------------------------------------------------------------------------- scope

# Most of an ad is prose in which no contact point can be found. The text is cut at single
# spaces into parts (``text.split(" ")``); a part is *inert* when it is letters only
# (``str.isalpha``), optionally followed by one of ``.,!?;``, left as it is by every step of
# :func:`deobfuscate` (NFKC-stable, no apostrophe to map, not made of look-alike letters only)
# and is not a word a pattern reads across a space: a number word, a spelled "at" or "dot", a
# keyed-handle keyword (the words below, case-folded as the patterns fold them). Every other
# part — digits, "@", dots inside, brackets, empty parts of double spaces — is *active*, and
# its kind also says whether the number-word pass, the look-alike pass and the spelled-"at"
# scan can find anything in it (they run only where some part says so).
#
# No match of any pattern joins two inert parts across the space between them, except where
# the left one ends with "." (an obfuscated e-mail's ``gmail. com``). So the text is cut down
# to the parts around active ones: each run of active parts (continued over the "."-ended inert
# parts after it) with the inert part after it and every part within 31 characters before it —
# the 30-character window in which a channel name is looked for before a phone or handle, and
# the part before (an e-mail's local part). The kept stretches are joined by single spaces, each
# junction again between an inert part not ending with "." and an inert part, so the matches in
# the cut text are those of the whole text, in the same order, with the same windows before
# them; :func:`extract_contacts` gives the same result on either (checked against the full scan
# on corpora and random texts by the tests).
_TRIGGER_RE = re.compile(
    rf"(?:{_WORDS_ALT}|{_KEYWORDS_ALT}|at|arroba|собака|собачка|равлик|coada|dot|punto|punct|"
    r"точка|крапка)", re.IGNORECASE)
_LOOKALIKES = frozenset("OoIlSsB")
_CHANNEL_WINDOW = 30
# an active part's kind is one character of "@".."O": 0x40 plus these bits of what it holds once
# its characters are de-obfuscated (NFKC, keycaps, apostrophes)
_ONE_WORD, _WORDS, _LOOKALIKE, _AT_WORD = 1, 2, 4, 8
_ACTIVE = "".join(chr(0x40 + b) for b in range(16))
_ACTIVE_RUN_RE = re.compile(r"[@-O][@-Od]*")
_HAS_WORDS_RE = re.compile("[" + "".join(c for c in _ACTIVE if ord(c) & _WORDS) + "]")
_ONE_WORD_KINDS = tuple(c for c in _ACTIVE if ord(c) & _ONE_WORD)
_HAS_LOOKALIKE_RE = re.compile("[" + "".join(c for c in _ACTIVE if ord(c) & _LOOKALIKE) + "]")
_HAS_AT_WORD_RE = re.compile("[" + "".join(c for c in _ACTIVE if ord(c) & _AT_WORD) + "]")
# a token the look-alike pass may change: a look-alike letter (or |) among digits and
# look-alikes only, between non-word characters (every run it changes holds one)
_LOOKALIKE_TOKEN_RE = re.compile(rf"(?<![\w])[{_SWAP_CHARS}]*[OoIlSsB|][{_SWAP_CHARS}]*(?![\w])")
_AT_WORDS = ("at", "arroba", "собака", "собачка", "равлик", "coada")


def _part_kind(part: str) -> str:
    """``"a"`` for an inert part, ``"d"`` for an inert part ending with "."; an active part's
    kind says whether it holds one or more number words (the number-word pass needs three),
    a token the look-alike pass may change, and a spelled "at" (see :func:`_scope`)."""
    base = part[:-1] if part and part[-1] in ".,!?;" else part
    if (base.isalpha() and not _LOOKALIKES.issuperset(base)
            and not _APOSTROPHE_RE.search(base) and unicodedata.is_normalized("NFKC", base)
            and not _TRIGGER_RE.fullmatch(base)):
        return "d" if part[-1] == "." else "a"
    t = _deobfuscate_chars(part)
    bits = (0, _ONE_WORD, _WORDS)[_number_words_in(t)]
    if _LOOKALIKE_TOKEN_RE.search(t):
        bits |= _LOOKALIKE
    low = t.casefold().translate(_IGNORECASE_EXTRA)  # as re.IGNORECASE folds (ᲃобака)
    if any(w in low for w in _AT_WORDS):
        bits |= _AT_WORD
    return chr(0x40 + bits)


def _number_words_in(t: str) -> int:
    """How many number words ``_WORD_RE`` finds in a part ``t`` whose characters are
    de-obfuscated (at most 2: two or more), before the look-alike pass (which only turns
    letters into digits). A space-free part holds whole letter runs, so the sum over the parts
    of a text is the count in the text."""
    if _LETTER_RUN_RE.search(t) is None:
        return 0
    n = 0
    for m in _WORD_RE.finditer(t):
        if not m.group(0).isdigit():
            n += 1
            if n == 2:
                break
    return n


class _PartKinds(dict):
    """Part -> its kind, filled on first use (bounded; emptied by :func:`forget_numbers`).
    An ASCII part without letters or "|" (a number, a price: mostly seen once) is active with
    nothing more to say, and is not kept."""

    limit = 262_144

    def __missing__(self, part: str) -> str:
        if part.isascii() and part.lower() == part.upper() and "|" not in part and part:
            return _ACTIVE[0]
        kind = _part_kind(part)
        if len(self) < self.limit:
            self[part] = kind
        return kind


_KINDS = _PartKinds()


_ALL = (True, True, True)


def _scope(text: str) -> tuple[str, tuple[bool, bool, bool]]:
    """The stretches of ``text`` in which its contact points lie, joined by single spaces
    (``""`` when it has none; ``text`` itself when nothing can be cut) — extracting from it
    gives what extracting from ``text`` gives (see the comment above) — and whether it may
    hold three number words, a token the look-alike pass may change, and a spelled "at"."""
    parts = text.split(" ")
    kinds = "".join(map(_KINDS.__getitem__, parts))
    spans: list[list[int]] = []
    for m in _ACTIVE_RUN_RE.finditer(kinds):
        lo = m.start()
        dist = 1  # from the start of part lo back to the end of part lo - 1
        while lo > 0 and dist <= _CHANNEL_WINDOW:
            lo -= 1
            dist += len(parts[lo]) + 1
        hi = m.end() + 1
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    if not spans:
        return "", _ALL
    words = (_HAS_WORDS_RE.search(kinds) is not None
             or sum(map(kinds.count, _ONE_WORD_KINDS)) >= 3)
    found = (words, _HAS_LOOKALIKE_RE.search(kinds) is not None,
             _HAS_AT_WORD_RE.search(kinds) is not None)
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] >= len(parts):
        return text, found
    return " ".join(itertools.chain.from_iterable(parts[a:b] for a, b in spans)), found


@dataclass(frozen=True)
class ContactPoint:
    """One contact point found in an ad.

    ``kind`` and ``value`` identify it (``key``); ``channel`` is the messaging app a phone was
    given for (or ``None``); ``raw`` is the text it was read from (after de-obfuscation).
    """

    kind: str
    value: str
    raw: str
    channel: str | None = None

    @property
    def key(self) -> str:
        """``kind:value``, the identity used to link ads."""
        return f"{self.kind}:{self.value}"


def _channel_of(name: str) -> str | None:
    """The app of a channel name as ``_CHANNEL_RE`` matched it (``None``: unknown)."""
    low = name.lower()
    return _CHANNELS.get(low) or _CHANNELS.get(low.translate(_IGNORECASE_EXTRA))


def _channel_before(text: str, start: int, window: int = _CHANNEL_WINDOW) -> str | None:
    seg = text[max(0, start - window):start]
    found = None
    for m in _CHANNEL_RE.finditer(seg):
        found = _channel_of(m.group(1))
    return found


_NON_DIGIT_RE = re.compile(r"\D")


def _parse_phone(candidate: str, region: str) -> str | None:
    digits = _NON_DIGIT_RE.sub("", candidate)
    if not 7 <= len(digits) <= 15:
        return None
    return _parse_digits(candidate.lstrip().startswith("+"), digits, region)


def forget_numbers() -> None:
    """Empty the process's cache of parsed numbers: one analysis's contact numbers must not
    outlive it in a long-lived process (:func:`safelight.detect.pipeline.analyse` calls it).
    The words kept for :func:`contact_scope` go with them."""
    _parse_digits.cache_clear()
    _KINDS.clear()


@lru_cache(maxsize=262_144)  # about 75 MB when full; a million ads hold about 220,000 numbers
def _parse_digits(plus: bool, digits: str, region: str) -> str | None:
    """E.164 of a validated number (cached: templated ads repeat their numbers)."""
    attempts: list[tuple[str, str | None]] = []
    if plus:
        attempts.append(("+" + digits, None))
    elif digits.startswith("00"):
        attempts.append(("+" + digits[2:], None))
    else:
        attempts.append((digits, region))
        if len(digits) >= 11:
            attempts.append(("+" + digits, None))
    for number, reg in attempts:
        try:
            parsed = phonenumbers.parse(number, reg)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


_GROUP_RE = re.compile(r"\+?\(?\d+\)?")


def _phones_in_groups(cand: str, offset: int, region: str) -> list[tuple[int, int, str]]:
    """Numbers inside a digit run that is not one number as a whole: the longest valid
    stretches of whole digit groups (7-15 digits), left to right, not overlapping."""
    groups = list(_GROUP_RE.finditer(cand))
    lens = [sum(c.isdigit() for c in g.group(0)) for g in groups]
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        best: tuple[int, str] | None = None
        total = 0
        for j in range(i, len(groups)):
            total += lens[j]
            if total > 15:
                break
            if total >= 7:
                e164 = _parse_phone(cand[groups[i].start():groups[j].end()], region)
                if e164:
                    best = (j, e164)
        if best:
            j, e164 = best
            out.append((offset + groups[i].start(), offset + groups[j].end(), e164))
            i = j + 1
        else:
            i += 1
    return out


def _phones(text: str, region: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for m in _PHONE_RE.finditer(text):
        cand = m.group(1)
        e164 = _parse_phone(cand, region)
        if e164:
            found.append((m.start(1), m.end(1), e164))
            continue
        found.extend(_phones_in_groups(cand, m.start(1), region))
    return found


def _url_contact(raw: str, region: str) -> ContactPoint | None:
    url = raw.rstrip(".,;:!?)]}'\"")
    low = url.lower()
    low = re.sub(r"^[a-z]+://", "", low)
    if url.lower().startswith("viber://"):
        e164 = _parse_phone(re.sub(r"^.*number=", "", url), region)
        return ContactPoint("phone", e164, url, "viber") if e164 else None
    low = low.removeprefix("www.")
    host, _, path = low.partition("/")
    path = path.split("?")[0].split("#")[0] if host not in ("signal.me",) else path
    if host in ("t.me", "telegram.me", "telegram.dog") and path:
        name = path.split("/")[0].lstrip("@")
        if name and name not in ("joinchat", "s", "c") and not name.startswith("+"):
            return ContactPoint("telegram", name, url)
    if host == "wa.me" and path:
        e164 = _parse_phone("+" + re.sub(r"\D", "", path.split("/")[0]), region)
        if e164:
            return ContactPoint("phone", e164, url, "whatsapp")
    if host in ("instagram.com", "instagr.am") and path:
        name = path.split("/")[0].lstrip("@")
        if name:
            return ContactPoint("instagram", name.rstrip("."), url)
    if host == "signal.me":
        e164 = _parse_phone(re.sub(r"^[^+\d]*", "", path), region)
        if e164:
            return ContactPoint("phone", e164, url, "signal")
    value = (host + ("/" + path if path else "")).rstrip("/")
    if "." not in host:
        return None
    return ContactPoint("url", value, url)


def extract_contacts(text: str | None, region: str = "US") -> list[ContactPoint]:
    """All distinct contact points in ``text``, in order of first appearance.

    ``region`` is the ISO 3166 alpha-2 code used for numbers written without a country code.
    Never raises: an empty or ``None`` text gives ``[]``.
    """
    if not text:
        return []
    return _extract(str(text), (region or "US").upper())


def _extract(text: str, region: str, scoped: bool = True) -> list[ContactPoint]:
    """:func:`extract_contacts` of a non-empty text; ``scoped=False`` reads the whole text
    instead of its :func:`_scope` (the same result: the tests compare the two)."""
    scope, (words, lookalike, at_word) = _scope(text) if scoped else (text, _ALL)
    if not scope:
        return []
    t = _deobfuscate(scope, words, lookalike)
    hits: list[tuple[int, ContactPoint]] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    has_at = "@" in t
    for m in (_EMAIL_PLAIN_RE.finditer(t) if has_at else ()):
        hits.append((m.start(), ContactPoint("email", f"{m.group(1)}@{m.group(2)}".lower(),
                                             m.group(0))))
        taken.append(m.span())
    for m in (_EMAIL_OBF_RE.finditer(t)
              if has_at or (at_word and _AT_GATE_RE.search(t)) else ()):
        if not free(*m.span()):
            continue
        labels = [m.group(2)] + [p for p in _DOT_SPLIT_RE.split(m.group(3) or "") if p]
        domain = ".".join(labels + [m.group(4)])
        hits.append((m.start(), ContactPoint("email", f"{m.group(1)}@{domain}".lower(),
                                             m.group(0))))
        taken.append(m.span())
    for m in (_URL_RE.finditer(t) if _may_hold_url(t) else ()):
        if not free(*m.span()):
            continue
        cp = _url_contact(m.group(0), region)
        taken.append(m.span())
        if cp:
            hits.append((m.start(), cp))
    for m in (_KEYED_HANDLE_RE.finditer(t) if _has_keyed_separator(t) else ()):
        if not free(*m.span(2)):
            continue
        kind = _channel_of(m.group(1)) or "telegram"
        if m.group(2).isdigit():
            continue
        hits.append((m.start(2), ContactPoint(kind, m.group(2).rstrip(".").lower(), m.group(0))))
        taken.append((m.start(2) - 1, m.end(2)))
    for m in (_HANDLE_RE.finditer(t) if has_at else ()):
        if not free(*m.span()):
            continue
        ch = _channel_before(t, m.start())
        kind = ch if ch in ("telegram", "instagram", "signal") else "handle"
        hits.append((m.start(), ContactPoint(kind, m.group(1).rstrip(".").lower(), m.group(0))))
        taken.append(m.span())
    for s, e, e164 in _phones(t, region):
        if not free(s, e):
            continue
        ch = _channel_before(t, s)
        hits.append((s, ContactPoint("phone", e164, t[s:e],
                                     ch if ch in ("whatsapp", "viber", "signal", "telegram")
                                     else None)))
        taken.append((s, e))
    hits.sort(key=lambda h: h[0])
    seen: set[str] = set()
    out: list[ContactPoint] = []
    for _, cp in hits:
        if cp.key not in seen:
            seen.add(cp.key)
            out.append(cp)
    return out
