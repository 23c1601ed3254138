"""Normalising personal identifiers for record linkage in clear.

Contract
--------
Every function here is pure and deterministic: the same input gives the same output on every
machine and in every release of the data files it reads (``data/nicknames.yaml``,
``data/name_forms.yaml``, ``data/arabic_names.yaml``). ``None``, empty and unparseable inputs
give ``None`` (never an exception), so a bad value can only make a comparison "missing".

Names go through two stages:

:func:`fold`
    Unicode NFKC, case folding, Cyrillic → Latin with *one* system (Ukraine's national system,
    ``uk_national``, with the language detected per word as in
    :func:`safelight.identity.transliterate.transliterate`), letters that Unicode does not
    decompose (``ł ß ø đ``) and caron letters of scholarly transliteration (``š č ž`` →
    ``sh ch zh``) spelled out, diacritics dropped, everything that is not a letter turned into
    one space. ``"Олександр"`` → ``"oleksandr"``; ``"Ołena"`` → ``"olena"``.
:func:`match_key`
    A small set of phonetic folds on a folded word that make the spellings of the
    transliteration systems meet (``ch→h`` in a word spelt the Polish or German way,
    ``tsch→ch``, ``sch→sh``, ``sz→sh``, ``cz→ch``, ``zh→sh``, ``kh→h``, ``ks→x``, ``ts→c``,
    ``w→v``, ``ou→u``, ``ee→i`` (not before ``v``), ``j→y→i``, ``ie→e``, doubled letters
    once (twice), ``io`` between consonants → ``e``, ``liu→lu`` inside a word; :func:`fold`
    reads ``ё`` as ``е``).
    ``Oleksandr``, ``Olexandr`` (German), ``Олександр`` all give ``"olexandr"``;
    ``Szewczenko``, ``Schewtschenko``, ``Shevchenko`` and ``Шевченко`` give ``"shevchenko"``.

On top of the match key, :func:`given_group` maps a given name to the key of its *name group*:
diminutives (Саша, Kasia, Seun), the Russian, Polish or Romanian form of a name (Елена for
Олена) and the romanisations of one Arabic name (Mohammed, Muhammad, Mohamed) share one group
key. :func:`family_key` drops the Arabic article in all its forms (al-, El, fused Al, assimilated
ash-) and folds Arabic romanisation variants to one spelling. :func:`name_tokens` splits
compound and multiple names into tokens.

Other identifiers: :func:`phone_e164` (the ``phonenumbers`` package; national numbers are read
in the contributor's country), :func:`document_key` (upper-case alphanumerics, ``O`` read as
``0``), :func:`locality_key`, :func:`sex_key` (the standard's ``sex`` codes from words and
letters in many languages), :func:`nationality_key` (ISO alpha-3 from codes, names and
demonyms). Dates are compared in :mod:`safelight.link.compare` from the hub's
``birth_year``/``birth_month``/``birth_day`` columns (partial dates keep their parts).

Vectorised use: :func:`map_distinct` applies any of these functions once per distinct value of
an Arrow array or a sequence and returns a NumPy object array.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from safelight.identity.romanise import has_arabic, has_greek, romanise_arabic, romanise_greek
from safelight.identity.transliterate import transliterate
from safelight.standard.sex import sex_codes, sex_word

__all__ = [
    "EARLIEST_BIRTH_YEAR",
    "birth_date_parts",
    "clear_caches",
    "code_key",
    "digits_key",
    "document_key",
    "expand_distinct",
    "family_key",
    "filler_digits",
    "fold",
    "given_group",
    "given_key",
    "load_name_tables",
    "locality_key",
    "map_distinct",
    "match_key",
    "name_tokens",
    "national_number",
    "nationality_key",
    "phone_e164",
    "phone_keys",
    "phones_e164",
    "phones_from_keys",
    "require_names",
    "sex_key",
    "split_full_name",
    "split_full_names",
    "unread_phones",
]

# Letters that NFKD does not decompose, and the caron letters of scholarly transliteration
# (spelled out so that Ševčenko meets Shevchenko, not "Sevcenko").
_SPELL_OUT = str.maketrans({
    "ł": "l", "ß": "ss", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
    "ı": "i", "š": "sh", "č": "ch", "ž": "zh", "ż": "zh", "ŝ": "sh", "ĉ": "ch",
    "ʹ": "", "ʺ": "", "’": "", "'": "", "`": "", "ʼ": "", "”": "", "“": "", "‘": "",
})  # fmt: skip
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_NON_LETTER = re.compile(r"[^a-z]+")

#: ``ch`` that is not part of ``sch``/``tsch``: in a word spelt the Polish or German way
#: (:data:`_POLISH_GERMAN`) it is х (Charczenko, Chruschtschow, Chartschenko), where English
#: spellings write ч (Kravchenko)
_LONE_CH = re.compile(r"(?<![st])ch")
#: a word holding ``cz``, ``sz``, ``sch`` or ``rz`` — or a ``w`` with another Polish mark
#: (:data:`_POLISH_WITH_W`: Wojciechowski, Chmielewski, Michajłow, Charkiw) — and none of
#: :data:`_ENGLISH` is spelt the Polish or German way. Not a ``w`` alone (Canadian Kowalchuk,
#: Wasylchuk write ч as ch beside a w), nor ``j`` alone (Serbian Čajkanović spells out to
#: ``ch`` beside a ``j``)
_POLISH_GERMAN = re.compile(r"cz|sz|sch|rz")
_POLISH_WITH_W = re.compile(r"ie|j|ski$|ska$|ow$|owa$|iw$")
#: ``io`` between consonants (after ``j → y → i``): ё written yo, io or jo (Fyodorov, French
#: Fiodorov, Semjonowa, Artiom, Alyona) where ICAO and Russian text without the dots write е
_IO_BETWEEN_CONSONANTS = re.compile(r"(?<=[b-df-hj-np-tv-z])io(?=[b-df-hj-np-tv-z])")
#: лю written ``liu`` inside a word (Havryliuk), or opening Liudmyla and Liubov — not the
#: Chinese family name Liu, which stays apart from Lu (Liu Yang, Liuxin)
_LIU_INSIDE = re.compile(r"(?<=[a-z])liu(?=[a-z])|^liu(?=[db])")
#: an English spelling (sh, kh, zh): Shewchuk writes ч as ch beside a w
_ENGLISH = re.compile(r"sh|kh|zh")

# Phonetic folds, applied in this order to one folded word (see the module docstring): a
# string replaced by another everywhere (str.replace, as re.sub of the literal would), a
# pattern replaced (re.sub), and the doubled letters (``None``: :data:`_DOUBLED`) in their
# place in the order.
_FOLDS: tuple[tuple[str | re.Pattern[str] | None, str], ...] = (
    ("tsch", "ch"),  # German ч (Schewtschenko)
    ("tch", "ch"),  # French ч (Chevtchenko)
    ("sch", "sh"),  # German ш
    ("sz", "sh"),  # Polish ш
    ("cz", "ch"),  # Polish ч
    ("zh", "sh"),  # ж: Zhuk / Schuk (German) / Żuk (Polish)
    ("kh", "h"),  # х
    ("ks", "x"),  # кс: Oleksandr / Olexandr
    ("ck", "k"),
    ("q", "k"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("gh", "g"),
    ("ts", "c"),  # ц: Hrytsenko / Hrycenko
    ("tz", "c"),
    ("w", "v"),  # в in German and Polish
    ("ou", "u"),  # French у
    ("oo", "u"),
    # English ee for i (Saeed, Deepak, Haleema) — not the Russian -eev, -eeva (Alekseev,
    # Matveeva), which German and Polish write -ejew, -iejewa
    (re.compile(r"ee(?!v)"), "i"),
    ("j", "y"),  # й, я, ю, є in German/Polish/scholarly spellings
    ("y", "i"),  # и / ы / й
    (None, ""),  # doubled letters (Savchenkko, Duden ss, Mariia)
    ("ie", "e"),  # є / е after a consonant (Polish Siergiej, uk Andriienko)
    (None, ""),  # once more: Polish -iejew made -eev (Aleksiejew, Alekseev)
)
#: a letter that the same letter follows: deleting each such letter collapses doubled letters
#: (as ``(.)\1+`` → ``\1`` would, without expanding a template per match)
_DOUBLED = re.compile(r"(.)(?=\1)")


def _missing(text: Any) -> bool:
    """Empty, None or a float NaN (a pandas gap): no value to normalise."""
    return not text or (isinstance(text, float) and text != text)


def _strip_marks(text: str) -> str:
    if text.isascii():  # nothing to decompose, no combining mark
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def fold(text: str | None) -> str | None:
    """Lower-case Latin letters and single spaces for ``text``; None when nothing is left.

    >>> fold("Олександр")
    'oleksandr'
    >>> fold("  Ołena-Maria ")
    'olena maria'
    """
    if _missing(text):
        return None
    s = unicodedata.normalize("NFKC", str(text))
    if has_arabic(s):
        s = romanise_arabic(s)
    s = s.casefold()
    if _CYRILLIC.search(s):
        # ё is optional in Russian writing (Семёнова and Семенова are one name) and ICAO's
        # passports write it E: read as е
        s = transliterate(s.replace("ё", "е"), "uk_national")
    if has_greek(s):
        s = romanise_greek(s)
    s = _strip_marks(s.translate(_SPELL_OUT))
    s = _NON_LETTER.sub(" ", s).strip()
    return s or None


@lru_cache(maxsize=200_000)
def match_key(word: str | None) -> str | None:
    """The phonetic match key of one folded word (call :func:`fold` first); None for None.

    >>> [match_key(fold(w)) for w in ("Oleksandr", "Olexandr", "Олександр")]
    ['olexandr', 'olexandr', 'olexandr']
    """
    if not word:
        return None
    s = word
    if "ch" in s and not _ENGLISH.search(s) and (
            _POLISH_GERMAN.search(s) or ("w" in s and _POLISH_WITH_W.search(s))):
        s = _LONE_CH.sub("h", s)  # х (Charczenko): before cz → ch makes a ch of its own
    for pattern, repl in _FOLDS:
        if pattern is None:
            s = _DOUBLED.sub("", s)
        elif isinstance(pattern, str):
            s = s.replace(pattern, repl)
        else:
            s = pattern.sub(repl, s)
    if "io" in s:
        s = _IO_BETWEEN_CONSONANTS.sub("e", s)
    if "liu" in s:  # лю: Polish Ludmiła, Hawryluk (its l is soft) — Liudmyla, Havryliuk
        s = _LIU_INSIDE.sub("lu", s)
    return s or None


def name_tokens(text: str | None) -> list[str]:
    """Match keys of the words of a (possibly compound) name, in order.

    >>> name_tokens("García-Márquez  López")
    ['garcia', 'markuez', 'lopez']
    """
    f = fold(text)
    if not f:
        return []
    return [k for k in (match_key(t) for t in f.split()) if k]


def _compact(text: str | None) -> str | None:
    """Match key of a whole name written as one word (spaces and hyphens dropped)."""
    f = fold(text)
    return match_key(f.replace(" ", "")) if f else None


# ---------------------------------------------------------------------------------------------
# Name data: nickname and name-form groups, Arabic romanisations


def _load(name: str) -> Any:
    with resources.files("safelight.identity").joinpath("data", name).open("rb") as fh:
        # libyaml's safe loader when built in (same result, a fraction of the time)
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the lexicographically smaller key is the representative: stable across runs
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def _latin_forms(name: str, lang: str | None) -> set[str]:
    """Compact match keys of a name; Cyrillic names in every system (they all fold alike)."""
    out = {_compact(name)}
    if _CYRILLIC.search(name) and lang in ("uk", "ru"):
        out.add(_compact(transliterate(name, "ru_icao", lang=lang)))
        out.add(_compact(transliterate(name, "uk_national", lang=lang)))
    return {k for k in out if k}


@cache
def _arabic_tables() -> tuple[dict[str, str], dict[str, str]]:
    """(given variant key → canonical key, family variant key → canonical key)."""
    data = _load("arabic_names.yaml")
    given: dict[str, str] = {}
    for entry in data.get("given", []):
        variants = [*entry.get("variants", []), *entry.get("fr", [])]
        keys = [k for k in (_compact(v) for v in variants) if k]
        if keys:
            for k in keys:
                given.setdefault(k, keys[0])
    family: dict[str, str] = {}
    for entry in data.get("family", []):
        variants = [*entry.get("base", []), *entry.get("variants", [])]
        keys = [k for k in (_compact(v) for v in variants) if k]
        if keys:
            for k in keys:
                family.setdefault(k, keys[0])
    return given, family


@cache
def _given_groups() -> dict[str, str]:
    """Compact match key of a given name or diminutive → its group's representative key.

    The full names are grouped first (their spellings, :file:`name_forms.yaml`'s forms in
    related languages, Arabic romanisations); then each short form joins the group of the full
    names it is listed under. A short form listed under the full names of *different* names
    (Ela under Elżbieta and Elena, Titi under Constantin and Titilayo, Totò under Salvatore and
    Antonio) joins none: one group holding both would make Elżbieta and Olena one name. Full
    names of one name in its two genders (Oleksandr and Oleksandra for Sasha: one's key begins
    the other's) still share the short form, and so the group."""
    uf = _UnionFind()
    nick = _load("nicknames.yaml")
    entries: list[tuple[str, set[str]]] = []  # (a key of the full name, its short forms' keys)
    for lang, table in nick.items():
        if not isinstance(table, dict):
            continue
        for full, shorts in table.items():
            forms = sorted(_latin_forms(str(full), lang))
            for f in forms[1:]:
                uf.union(forms[0], f)
            if forms:
                uf.find(forms[0])
                entries.append((forms[0], {k for s in shorts or []
                                           for k in _latin_forms(str(s), lang)}))
    for group in _load("name_forms.yaml").get("groups", []):
        forms: set[str] = set()
        for name in group:
            forms |= _latin_forms(str(name), "uk") | _latin_forms(str(name), "ru")
        ordered = sorted(forms)
        for f in ordered[1:]:
            uf.union(ordered[0], f)
    arabic_given, _ = _arabic_tables()
    for variant, canonical in arabic_given.items():
        uf.union(canonical, variant)
    claims: dict[str, dict[str, set[str]]] = {}  # short key → group → full-name keys
    for full, shorts in entries:
        for short in shorts:
            claims.setdefault(short, {}).setdefault(uf.find(full), set()).add(full)
    for short, groups in claims.items():
        if len(groups) > 1 and not _one_name(list(groups.values())):
            continue  # listed under different names: in none of their groups
        for group in groups:
            uf.union(group, short)
    return {k: uf.find(k) for k in list(uf.parent)}


def _one_name(groups: list[set[str]]) -> bool:
    """Whether full-name key sets belong to one name: each pair of sets holds two keys of which
    one begins the other (``olexandr`` / ``olexandra``)."""
    return all(any(a.startswith(b) or b.startswith(a) for a in x for b in y)
               for i, x in enumerate(groups) for y in groups[i + 1:])


def load_name_tables() -> None:
    """Read the name tables of the package data (nicknames and name forms, Arabic
    romanisation variants) now: a caller that forks workers which all use them reads them
    once, before the fork."""
    _given_groups()
    _arabic_tables()


_ARTICLE_SEPARATE = re.compile(r"^(?:al|el|ul|a[tdrzsn]h?|e[tdrzsn]h?)\s+(.+)$")
_ARTICLE_FUSED = re.compile(r"^(?:al|el)(.{3,})$")


#: an Arabic article opening a given name in Latin letters: *al* / *el* before another word
#: (al-Fassi, El Mehdi), or an assimilated one written with a hyphen before its own consonant
#: (ash-Shami, an-Nur, ad-Din: a sun letter doubles the article's) — not An-Mei or Ed-Win
_GIVEN_ARTICLE = re.compile(r"^(?:al|el)[\s\-‐]+\S|^[ae](sh|th|dh|[tdrzsn])h?[\-‐]\1",
                            re.IGNORECASE)


def _given_article(text: str) -> bool:
    """Whether a given name opens with an Arabic article (:data:`_GIVEN_ARTICLE`): a family
    name written in the given-name field (names swapped) or a given name such as Al-Amin.
    In Arabic script (ال, which the romaniser reads "al" — as it reads إل and أل, which open
    names of their own: إلياس, إلهام) and written joined (Alfassi) it is an article only before
    a name of four letters or more that the Arabic family table knows, and never in a known
    given name (Alisa, Elisa)."""
    f = fold(text)
    if not f:
        return False
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    if not has_arabic(raw) and (f.startswith(("al ", "el ")) or _GIVEN_ARTICLE.match(raw)):
        return True  # El Mehdi, El-Mehdi, El–Mehdi, El.Mehdi
    whole = match_key(f.replace(" ", "")) or ""
    if whole in _given_groups():
        return False
    if f.startswith(("al ", "el ")):  # Arabic script: the rest must be a known family name
        rest = match_key(f[3:].replace(" ", ""))
    else:  # written joined
        m = _ARTICLE_FUSED.match(whole)
        rest = m.group(1) if m else None
    return rest is not None and len(rest) >= 4 and rest in _arabic_tables()[1]


#: Văn with its breve opening a name (Vietnamese; a plain "Van" opens Dutch family names)
_VAN_WITH_BREVE = re.compile(r"\s*v[ăắằẳẵặ]n[\s\-‐]", re.IGNORECASE)


def _sex_middle_dropped(text: str, f: str) -> str:
    """The folded name ``f`` (of ``text``) without an opening Vietnamese middle name that only
    says the sex — Thị, or Văn written with its breve (a plain "Van" opens Dutch names:
    van Dijk) — when another word follows (Thị Lan is keyed as Lan). :func:`given_key` and
    :func:`family_key` share it, so swapped names meet (Văn Long | Bùi, Bui | Văn Long)."""
    if len(f) > 4 and (f.startswith("thi ") or (
            f.startswith("van ")
            and _VAN_WITH_BREVE.match(unicodedata.normalize("NFC", str(text))))):
        return f[4:]
    return f


@lru_cache(maxsize=200_000)
def given_key(text: str | None) -> str | None:
    """Match key of a whole given name (several words written as one); None when empty. A
    name that opens with an Arabic article is keyed as :func:`family_key` keys it, so that
    swapped names meet (al-Fassi | Haleema and Haleema | al-Fassi) and Al-Amin is Amin; one
    that opens with the Vietnamese Thị, or Văn with its breve, is keyed without it
    (:func:`_sex_middle_dropped`).

    >>> given_key("al-Fassi") == family_key("Al Fassi") == given_key("Alfassi")
    True
    """
    if text is None or _missing(text):
        return None
    if _given_article(text):
        return family_key(text)
    f = fold(text)
    if f:
        f = _sex_middle_dropped(text, f)
    return match_key(f.replace(" ", "")) if f else None


@lru_cache(maxsize=200_000)
def given_group(text: str | None) -> str | None:
    """Key of the name group of a given name: diminutives, other-language forms and Arabic
    romanisations of one name share it; a name in no group is its own group (its match key).

    >>> given_group("Сашко") == given_group("Oleksandr") == given_group("Александр")
    True
    >>> given_group("Muhammad") == given_group("Mohamed")
    True
    """
    key = given_key(text)
    if not key:
        return None
    groups = _given_groups()
    if key in groups:
        return groups[key]
    if _given_article(text):  # al-Fassi, El Mehdi: the name after the article
        return key
    words = name_tokens(text)
    # Vietnamese order is family – middle – given (Nguyễn Thị Lan), and agencies abroad write
    # "Thị Lan" or "Lan": after a middle name the call name is the last word
    if len(words) > 1 and words[0] in _VIETNAMESE_MIDDLE:
        return groups.get(words[-1], words[-1])
    # several given names (Favour Osasere, Comfort Yetunde): the first one is the call name —
    # unless it cannot be one (Abdul Karim, Abu Bakr) or the names are joined by a hyphen
    # (Jean-Pierre): then the whole is the name
    if len(words) > 1 and words[0] not in _NO_CALL_NAME and "-" not in str(text):
        return groups.get(words[0], words[0])
    return key


#: first words of a given name that are not a name by themselves (match keys): the Arabic
#: "servant of" / "father of" (Abd al-Karim, Abdul Karim, Abu Bakr) and an article that is not
#: read as one (إلياس romanises "al yas": its group is not "al"); ``bd`` is عبد romanised
#: (its ain is not written), so Arabic-script Abd al- names keep their own groups
_NO_CALL_NAME = frozenset(match_key(w) for w in (
    "abd", "bd", "abdu", "abdul", "abdel", "abdal", "abdol", "abu", "abou", "umm", "um",
    "al", "el", "ul"))

#: Vietnamese middle names (match keys of Thị, Văn, Đức, Hữu, Ngọc, Minh, Thu, Thanh, Hồng,
#: Quốc, Công, Xuân, Đình, Quang): before another word of a given name they are not its call
#: name, so Thị Lan, Lan and Thi Lan share a group and Thi Lan and Thi Mai do not. Kim is left
#: out: as the first of two given names it is as often a Western call name (Kim Marie)
_VIETNAMESE_MIDDLE = frozenset(match_key(w) for w in (
    "thi", "van", "duc", "huu", "ngoc", "minh", "thu", "thanh", "hong", "quoc", "cong", "xuan",
    "dinh", "quang"))


@lru_cache(maxsize=200_000)
def family_key(text: str | None) -> str | None:
    """Match key of a family name with the Arabic article dropped and Arabic romanisation
    variants folded to one spelling; compound names stay one key (see :func:`name_tokens`).

    >>> family_key("al-Hassan") == family_key("El Hasan") == family_key("Alhassan")
    True
    >>> family_key("Szewczenko") == family_key("Шевченко") == family_key("Schewtschenko")
    True

    A Vietnamese given name in the family-name field (Nguyễn | Thị Lan, the Vietnamese order
    taken at face value) is keyed without its Thị — or Văn written with its breve (a plain Van
    opens Dutch family names) — as :func:`given_key` keys it (:func:`_sex_middle_dropped`).
    """
    f = fold(text)
    if not f:
        return None
    f = _sex_middle_dropped(text, f)
    _, arabic = _arabic_tables()
    whole = match_key(f.replace(" ", ""))
    if whole in arabic:
        return arabic[whole]
    m = _ARTICLE_SEPARATE.match(f)
    if m:
        rest = match_key(m.group(1).replace(" ", ""))
        # assimilated article: ash-Shami → "sh" + "shami"; the remainder is the name itself
        return arabic.get(rest, rest) if rest else whole
    m = _ARTICLE_FUSED.match(whole or "")
    if m and m.group(1) in arabic:
        return arabic[m.group(1)]
    return whole


# ---------------------------------------------------------------------------------------------
# Other identifiers


# a phone written with digits and the separators space, dot and hyphen only: phonenumbers reads
# it as its digits (and a leading +), so the separators are dropped before parsing, and numbers
# that differ only in them are parsed once
_PHONE_PLAIN = re.compile(r"\+?[0-9 .\-]+")
_PHONE_SEPARATORS = re.compile(r"[ .\-]")
_E164_SHAPE = re.compile(r"\+[0-9]{5,17}")
_NATIONAL_SHAPE = re.compile(r"[0-9]{5,17}")


def _phone_input(text: str, region: str | None) -> tuple[str, str | None]:
    """What :func:`phone_e164` hands to phonenumbers: the stripped text with ``00`` read as
    ``+`` and plain separators dropped, and the region (None for a number with ``+``)."""
    s = text.strip()
    if s.startswith("00"):
        s = "+" + s[2:]
    if s.isascii() and (s[1:] if s.startswith("+") else s).isdigit():
        # ASCII digits after an optional "+": nothing to drop, the text goes as it is
        return s, (region if not s.startswith("+") else None)
    if _PHONE_PLAIN.fullmatch(s):
        plain = _PHONE_SEPARATORS.sub("", s)
        if len(plain) - plain.startswith("+") >= 5:  # digits
            s = plain
    return s, (region if not s.startswith("+") else None)


@cache
def _phonenumbers() -> Any:
    """phonenumbers' parsing module (imported once, on first use)."""
    from phonenumbers import phonenumberutil

    return phonenumberutil


@lru_cache(maxsize=1024)
def _country_metadata(cc: int) -> Any:
    """The metadata ``is_possible_number`` tests a number of country code ``cc`` against."""
    pu = _phonenumbers()
    return pu.PhoneMetadata.metadata_for_region_or_calling_code(
        cc, pu.region_code_for_country_code(cc))


@lru_cache(maxsize=1024)
def _leading_country_code(head: str) -> tuple[int, int]:
    """``phonenumbers``' country code of digits that begin with ``head`` (their first
    ``_MAX_LENGTH_COUNTRY_CODE`` characters, all it reads) and the number of digits it takes
    (``(0, 0)``: none)."""
    cc, rest = _phonenumbers()._extract_country_code(head)
    return cc, len(head) - len(rest)


@lru_cache(maxsize=4096)
def _length_check(region: str | None, cc: int, length: int) -> Any:
    """``phonenumbers._test_number_length`` of a national number of ``length`` digits against
    the metadata of ``region`` (None: of country code ``cc``): it reads only the length."""
    pu = _phonenumbers()
    meta = (pu.PhoneMetadata.metadata_for_region(region, None) if region is not None
            else _country_metadata(cc))
    return pu._test_number_length("0" * length, meta)


def _e164_fast(s: str, region: str | None = None) -> str | None | bool:
    """Digits only, with a leading ``+`` or with a region: the steps of ``phonenumbers.parse``
    (then ``is_possible_number`` and E.164 formatting) that such a string reaches — country
    code (from the ``+``, an international prefix of the region, the region's own code written
    without ``+``, or else the region's), national prefix, length — without its generic text
    handling; False when it cannot tell (the caller then parses in full)."""
    pu = _phonenumbers()
    vr = pu.ValidationResult
    if s.startswith("+"):
        cc, taken = _leading_country_code(s[1:1 + pu._MAX_LENGTH_COUNTRY_CODE])
        if cc == 0:
            return False
        national = s[1 + taken:]
        meta = None
        meta_region = None  # the metadata of country code cc
    else:
        # parse takes a region only as an upper-case code it supports
        if region not in pu.SUPPORTED_REGIONS:
            return False
        meta = pu.PhoneMetadata.metadata_for_region(region, None)
        if meta is None:
            return False
        try:
            cc, national = pu._maybe_extract_country_code(s, meta, False, pu.PhoneNumber())
        except pu.NumberParseException:
            return None
        meta_region = region
        if cc == 0:  # no country code in the number: the region's, and all of it national
            cc, national = meta.country_code, s
        elif pu.region_code_for_country_code(cc) != region:
            meta, meta_region = None, None  # parse goes on with the number's country's
    meta = meta or _country_metadata(cc)
    if len(national) < pu._MIN_LENGTH_FOR_NSN:
        return None
    _, stripped, _ = pu._maybe_strip_national_prefix_carrier_code(national, meta)
    if _length_check(meta_region, cc, len(stripped)) not in (
            vr.TOO_SHORT, vr.IS_POSSIBLE_LOCAL_ONLY, vr.INVALID_LENGTH):
        national = stripped
    if not pu._MIN_LENGTH_FOR_NSN <= len(national) <= pu._MAX_LENGTH_FOR_NSN:
        return None
    # the E.164 form is + country code + the national significant number, leading zeros kept
    # as written
    if _length_check(None, cc, len(national)) not in (vr.IS_POSSIBLE,
                                                      vr.IS_POSSIBLE_LOCAL_ONLY):
        return None
    return f"+{cc}{national}"


@lru_cache(maxsize=1_000_000)
def _e164(s: str, region: str | None) -> str | None:
    import phonenumbers

    if _E164_SHAPE.fullmatch(s) or (region and _NATIONAL_SHAPE.fullmatch(s)):
        try:
            out = _e164_fast(s, region)
        except (AttributeError, ImportError):  # another phonenumbers: the full parse below
            out = False
        if out is not False:
            return out
    try:
        num = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def phone_e164(text: str | None, region: str | None = None) -> str | None:
    """The phone number in E.164 (``+380501234567``), or None when it cannot be read.

    ``region`` is the ISO 3166-1 alpha-2 country whose national format a number without a
    country code is read in (the contributor's country); ``00`` prefixes are read as ``+``.
    The result is that of ``phonenumbers.parse`` (then ``is_possible_number`` and E.164
    formatting); a number written as ``+`` and digits takes a shortcut through the same
    steps of phonenumbers, and numbers that differ only in spaces, dots or hyphens are read
    once.
    """
    if _missing(text):
        return None
    out = (_e164(*_phone_input(str(text), region)) or _international_digits(str(text))
           or _old_trunk_eight(str(text), region))
    return None if out is None or _placeholder_number(out) else out


_DIGITS_AND_SEPARATORS = re.compile(r"[0-9\s().\-/]+")
#: regions where the Soviet long-distance prefix 8 is still written before a national number
#: that opens with the trunk 0 (``8 050 123 45 67`` for ``050 123 45 67``): phonenumbers reads
#: it where 8 is the national prefix today (Russia, Belarus, Kazakhstan), not in Ukraine
_OLD_TRUNK_EIGHT = frozenset({"UA"})


@lru_cache(maxsize=200_000)
def _old_trunk_eight(text: str, region: str | None) -> str | None:
    """A number of :data:`_OLD_TRUNK_EIGHT`'s regions written ``8 0…`` (11 digits) in E.164,
    read without its 8, when phonenumbers calls that a *valid* number (a second guess, as
    :func:`_international_digits`); else None. A trial's ``8 050 123 45 67`` was no phone."""
    if region not in _OLD_TRUNK_EIGHT or not _DIGITS_AND_SEPARATORS.fullmatch(text):
        return None
    s = re.sub(r"\D", "", text)
    if not (len(s) == 11 and s.startswith("80")):
        return None
    import phonenumbers

    out = _e164(s[1:], region)
    return out if out is not None and phonenumbers.is_valid_number(
        phonenumbers.parse(out)) else None


#: fewest digits of a number read as written with its country code but without "+"
_INTERNATIONAL_DIGITS = 11


@lru_cache(maxsize=200_000)
def _international_digits(text: str) -> str | None:
    """A number that the region's national format does not read, written with its country
    code but without ``+`` or ``00`` — as a spreadsheet's number cell holds ``380501234567``
    — in E.164, when it has 11 digits or more and phonenumbers calls it a *valid* number
    there (a stricter test than the first reading's: this is a second guess)."""
    import phonenumbers

    s = _phone_input(text, None)[0]
    if not (s.isascii() and s.isdigit() and len(s) >= _INTERNATIONAL_DIGITS) or \
            filler_digits(s):
        return None
    try:
        num = phonenumbers.parse("+" + s, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def filler_digits(digits: str) -> bool:
    """Digits that are typed to fill a field, judged on the whole string (the second reading
    has no national number to judge apart from its country code): at most two distinct
    digits, one block of up to four digits repeated (``12312312312``), or a run of
    consecutive digits, each one more or one less than the one before (9 → 0 included), that
    leaves at most two digits out (``12345678901``, ``12345678910``; ``380501234567`` is a
    number)."""
    if len(set(digits)) <= 2:
        return True
    for size in range(1, 5):
        if (digits[:size] * (len(digits) // size + 1))[:len(digits)] == digits:
            return True
    steps = [(int(b) - int(a)) % 10 for a, b in zip(digits, digits[1:], strict=False)]
    for step in (1, 9):
        run = longest = 0
        for d in steps:
            run = run + 1 if d == step else 0
            longest = max(longest, run)
        if longest + 1 >= len(digits) - 2:
            return True
    return False


def unread_phones(phones: Any, e164: Sequence[str | None]) -> int:
    """How many of ``phones`` (an Arrow array or a sequence, aligned with their
    :func:`phone_e164` results ``e164``) hold a value that was not read as a number (unreadable
    text, a number of another country written without its code, or a filler)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(phones, pa.string()) if not isinstance(phones, pa.Array) else phones
    given = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(arr.cast(pa.string())), ""),
                         False).to_numpy(zero_copy_only=False)
    read = np.array([v is not None for v in e164], dtype=bool)
    return int((given & ~read).sum())


def national_number(e164: str) -> str:
    """The digits of an E.164 number after its country code (``+37369123456`` → ``69123456``)."""
    cc, taken = _leading_country_code(e164[1:4])
    return e164[1 + taken:] if cc else e164[1:]


_ASCENDING = "0123456789"


@lru_cache(maxsize=200_000)
def _placeholder_number(e164: str) -> bool:
    """A number written to fill the field, not anyone's phone: a national number of one
    repeated digit (``+380000000000``, ``+1 111 111 1111``) or a run of consecutive digits
    (``123456789``, ``987654321``, ``1234567890``; no other wrap from 9 to 0: +380 67 890 1234
    is a real number), of 6 digits or more. Two records sharing one would look like a shared phone —
    the strongest evidence of all — for people who have nothing in common."""
    national = national_number(e164)
    return len(national) >= 6 and (len(set(national)) == 1 or national in _ASCENDING
                                   or national in _ASCENDING[::-1] or national in "1234567890")


_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


#: Cyrillic capitals written for the Latin letters they look like (a Ukrainian booklet
#: passport's series "КН" is typed as "KH" as often as not); other Cyrillic letters are
#: transliterated
_DOCUMENT_LOOKALIKES = str.maketrans("АВЕЁКМНОРСТУХІЇ", "ABEEKMHOPCTYXII")
#: "№ 123456", "No. 123456", "Nr 123456": the sign or word for "number" before the number
_NUMBER_SIGN = re.compile(r"^\s*(?:№|n[or](?:\.\s*|\s+)(?=\d)|#)\s*", re.IGNORECASE)


@lru_cache(maxsize=200_000)
def document_key(text: str | None) -> str | None:
    """Upper-case alphanumerics of a document number, letter ``O`` read as digit ``0``;
    Cyrillic letters that look like Latin ones read as those (``КН`` = ``KH``), the others
    transliterated; a leading ``№``/``No.``/``Nr``/``#`` dropped. None when fewer than 4
    characters are left, when there is no digit (``unknown``, ``none``, ``немає``: words put
    in the field) or when one character is repeated (``000000``): such values are not any
    one person's document, and two records sharing one would look like the same person.

    >>> document_key(" kh 26O964 ") == document_key("КН 260964") == "KH260964"
    True
    >>> document_key("unknown") is None and document_key("000000") is None
    True
    """
    if _missing(text):
        return None
    s = _NUMBER_SIGN.sub("", str(text))
    s = unicodedata.normalize("NFKC", s).upper().translate(_DOCUMENT_LOOKALIKES)
    if not s.isascii():  # Arabic-Indic and other digits as 0-9
        s = "".join(str(unicodedata.digit(c, 0)) if c.isdigit() else c for c in s)
    if _CYRILLIC.search(s):
        s = transliterate(s.casefold(), "uk_national").upper()
    s = _NOT_ALNUM.sub("", _strip_marks(s))
    if not any(c.isdigit() for c in s):
        return None
    s = s.replace("O", "0")
    return s if len(s) >= 4 and len(set(s)) > 1 else None


@lru_cache(maxsize=200_000)
def locality_key(text: str | None) -> str | None:
    """Match key of a place name (all words, one key)."""
    return _compact(text)


@lru_cache(maxsize=200_000)
def digits_key(text: str | None) -> str | None:
    """The digits of a postcode, house number or similar; None when there are none.

    >>> digits_key(" 42a ")
    '42'
    """
    if _missing(text):
        return None
    text = str(text)
    if text.isascii():  # where isdigit() means 0-9
        d = _NOT_ASCII_DIGIT.sub("", text)
    else:
        d = "".join(c for c in text if c.isdigit())
    return d or None


_NOT_ASCII_DIGIT = re.compile(r"[^0-9]+")


@lru_cache(maxsize=200_000)
def code_key(text: str | None) -> str | None:
    """A code (region; sex and nationality a vocabulary does not know) stripped and
    upper-cased; None when empty or without a letter or digit (``?``, ``-``: a gap)."""
    if _missing(text):
        return None
    s = str(text).strip().upper()
    return s if any(c.isalnum() for c in s) else None


#: a short code word as :func:`sex_key` compares it (:func:`safelight.standard.sex.sex_word`)
_word = sex_word


@cache
def _sex_words() -> dict[str, str | None]:
    """word → code of the standard's ``sex`` list (:mod:`safelight.standard.sex`;
    ``unknown`` → None, a missing value)."""
    return {w: (None if code == "unknown" else code) for w, code in sex_codes().items()}


@lru_cache(maxsize=200_000)
def sex_key(text: str | None) -> str | None:
    """The code of the standard's ``sex`` list (``female``, ``male``, ``other``) of a sex as
    written in many languages — ``"F"``, ``"female"``, ``"жін."``, ``"K"`` (Polish kobieta),
    ``"w"`` (German weiblich) all give ``"female"``; a word meaning unknown gives None; a value
    the vocabulary does not know gives :func:`code_key` of it (so it still agrees with
    itself)."""
    if _missing(text):
        return None
    word = _word(str(text))
    if word in _sex_words():
        return _sex_words()[word]
    return code_key(text)


@lru_cache(maxsize=200_000)
def nationality_key(text: str | None) -> str | None:
    """The ISO 3166-1 alpha-3 code of a nationality or country written as a code, a name or
    a demonym in many languages (:func:`safelight.standard.geography.resolve_country`:
    ``"UA"``, ``"UKR"``, ``"Україна"``, ``"ukrainian"`` all give ``"UKR"``); a value it does
    not resolve gives :func:`code_key` of it (so ``"stateless"`` still agrees with itself),
    but a word for unknown (the ``unknown`` words of :mod:`safelight.standard.sex`: ``"unknown"``,
    ``"невідомо"`` …) is a missing value. ICAO 9303's own codes of passports' nationality
    field are read too (``"D"`` Germany; ``"GBD"`` … British nationals; ``"XXX"``
    unspecified: missing)."""
    if _missing(text):
        return None
    from safelight.standard.geography import resolve_country

    word = _word(str(text))
    if word in _ICAO_NATIONALITY:
        return _ICAO_NATIONALITY[word]
    code = resolve_country(str(text))
    if code is None and word in _sex_words() and _sex_words()[word] is None:
        return None  # "unknown", "невідомо" (but "NA" is Namibia, as resolve_country reads it)
    return code or code_key(text)


#: ICAO 9303 (Part 3) codes of a passport's nationality field that are no ISO 3166 code
_ICAO_NATIONALITY: dict[str, str | None] = {
    "d": "DEU", "gbd": "GBR", "gbn": "GBR", "gbo": "GBR", "gbp": "GBR", "gbs": "GBR",
    "rks": "XKX", "xxx": None, "xxa": "STATELESS", "xxb": "REFUGEE", "xxc": "REFUGEE"}


#: the earliest birth year read as a date: earlier ones in a register of living people are
#: typing errors or fillers — as is 1900-01-01 itself, what databases write for "unknown"; a
#: shared one would look like a shared birth date (other dates of 1900 stay: FEBRL has them)
EARLIEST_BIRTH_YEAR = 1900


def birth_date_parts(year: np.ndarray, month: np.ndarray, day: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Birth year, month and day arrays (-1: missing) with a year before
    :data:`EARLIEST_BIRTH_YEAR`, or the filler 1900-01-01, blanked with its month and day (in
    place). Months and days out of range are left to the caller: a month of 13 is how a
    day/month swap shows."""
    early = (((year >= 0) & (year < EARLIEST_BIRTH_YEAR))
             | ((year == EARLIEST_BIRTH_YEAR) & (month == 1) & (day == 1)))
    year[early] = -1
    month[early] = -1
    day[early] = -1
    return year, month, day


def map_distinct(values: Iterable[Any] | Any, fn: Callable[..., Any], *args: Any) -> np.ndarray:
    """``fn(value, *args)`` for each value, computed once per distinct value.

    ``values`` is an Arrow array/chunked array or any sequence; returns a NumPy object array of
    the same length (None where ``fn`` gives None).
    """
    try:
        import pyarrow as pa

        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if isinstance(values, pa.Array):
            mapped, idx = _map_dictionary(values, fn, args)
            return mapped[idx]
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    seq: Sequence[Any] = list(values)
    cache_: dict[Any, Any] = {}
    out = np.empty(len(seq), dtype=object)
    for i, v in enumerate(seq):
        if v not in cache_:
            cache_[v] = fn(v, *args) if v is not None else None
        out[i] = cache_[v]
    return out


def _map_dictionary(values: Any, fn: Callable[..., Any], args: tuple[Any, ...]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` of each distinct value of an Arrow array (then None, for nulls) and the index of
    each row's value among them."""
    enc = values.dictionary_encode()
    uniques = enc.dictionary.to_pylist()
    mapped = np.array([fn(u, *args) for u in uniques] + [None], dtype=object)
    return mapped, enc.indices.fill_null(len(uniques)).to_numpy(zero_copy_only=False)


def map_distinct_arrow(values: Any, fn: Callable[..., str | None], *args: Any
                       ) -> tuple[np.ndarray, Any]:
    """:func:`map_distinct` of an Arrow array whose ``fn`` gives str or None, and the same
    result as an Arrow string array (built from the distinct results, not row by row)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return expand_distinct(*_map_dictionary(values, fn, args))


def expand_distinct(mapped: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, Any]:
    """Per row, ``mapped[idx]`` (results per distinct value, then None for nulls; ``idx``:
    each row's distinct value) as a NumPy object array and as an Arrow string array (built
    from the distinct results, not row by row)."""
    import pyarrow as pa

    return mapped[idx], pa.array(mapped.tolist(), pa.string()).take(pa.array(idx))


def phone_keys(phones: Any, regions: Any) -> tuple[list[str], np.ndarray]:
    """The distinct (phone, region) pairs of two aligned Arrow arrays (or sequences), each as
    one string (:func:`phones_from_keys` reads them), and per row the index of its pair
    (``len(keys)`` where the phone is null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    phone = pa.array(phones, pa.string()) if not isinstance(phones, pa.Array) else phones
    region = pa.array(regions, pa.string()) if not isinstance(regions, pa.Array) else regions
    phone, region = phone.cast(pa.string()), region.cast(pa.string())
    # one string per pair ("\x1f" cannot occur in a region code), distinct pairs by dictionary
    key = pc.binary_join_element_wise(phone, pc.fill_null(region, ""), "\x1f")
    enc = key.dictionary_encode()
    keys = enc.dictionary.to_pylist()
    return keys, enc.indices.fill_null(len(keys)).to_numpy(zero_copy_only=False)


def phones_from_keys(keys: list[str]) -> list[str | None]:
    """:func:`phone_e164` of each key of :func:`phone_keys`."""
    out: list[str | None] = []
    for k in keys:
        p, r = k.rsplit("\x1f", 1)
        out.append(phone_e164(p, r or None) if p else None)
    return out


def phones_e164(phones: Any, regions: Any) -> np.ndarray:
    """:func:`phone_e164` of each (phone, region) pair of two aligned Arrow arrays (or
    sequences), computed once per distinct pair; a NumPy object array (None where unreadable)."""
    keys, idx = phone_keys(phones, regions)
    return np.array(phones_from_keys(keys) + [None], dtype=object)[idx]


#: endings of an East Slavic patronymic, folded (Сергійович, Сергеевич, Petrivna, Ivanovna,
#: Kuzminichna), or as written in Cyrillic (Ильич, Ілліч, Кузьмич: "ich" alone in Latin is
#: Rich, Ulrich, Dietrich)
_PATRONYMIC = re.compile(r"(?:ovych|ovich|evych|evich|ivna|ovna|evna|ichna|ychna)$")
_PATRONYMIC_CYRILLIC = re.compile(r"[иі]ч$", re.IGNORECASE)


def _patronymic(word: str) -> bool:
    return bool(_PATRONYMIC.search(fold(word) or "") or _PATRONYMIC_CYRILLIC.search(word))


@lru_cache(maxsize=200_000)
def split_full_name(text: str | None) -> tuple[str | None, str | None]:
    """(given, family) of a full name as written. The first word is the given name and the
    rest the family name — except in the East Slavic official order, family name, given name,
    patronymic ("Павлюк Степан Сергійович", "Shevchenko Olena Petrivna"), which a
    patronymic as the last of three words shows when the first word is no given name of the
    name tables and the patronymic is one no surname is written like (:func:`_surely_patronymic`:
    Cyrillic, a woman's, Ivanovych) or follows a given name of the tables ("Sarah Jane
    Rabinovich", "John Paul Petrovich" and "Олена Марія Лукашевич" keep the first word as the
    given name: -ovich is a surname too); a patronymic in the middle ("Степан Сергійович
    Павлюк", "Stepan Serhiyovych Pavliuk") is dropped — not a surname that looks like one
    ("Ana Rabinovich García"). In these three-word forms the patronymic is never part of the
    family name."""
    if _missing(text):
        return None, None
    words = str(text).split()
    if not words:
        return None, None
    if len(words) == 3:
        if (_patronymic(words[1]) and not _patronymic(words[2])
                and (_surely_patronymic(words[1])
                     or (_known_given(words[0]) and _of_a_given_name(words[1])))):
            return words[0], words[2]  # given, patronymic, family
        if (_patronymic(words[2]) and not _patronymic(words[1])
                and not _known_given(words[0])
                and ((_known_given(words[1]) and _of_a_given_name(words[2]))
                     or _surely_patronymic(words[2]))):
            return words[1], words[0]  # family, given, patronymic
    return words[0], " ".join(words[1:]) or None


#: Ukrainian romanisations of a man's patronymic (Ivanovych): no Western surname ends so, as
#: Rabinovich and Abramovich do in -ovich
_UKRAINIAN_PATRONYMIC = re.compile(r"(?:ovych|evych)$")


def _surely_patronymic(word: str) -> bool:
    """A patronymic no surname is written like: in Cyrillic, a woman's (Petrivna), or a man's
    in Ukrainian romanisation formed from a given name of the tables (Ivanovych)."""
    folded = fold(word) or ""
    return bool(_PATRONYMIC_CYRILLIC.search(word) or (_CYRILLIC.search(word) and
                                                       _PATRONYMIC.search(folded))
                or _FEMININE.search(folded)
                or (_UKRAINIAN_PATRONYMIC.search(folded) and _of_a_given_name(word)))


def _of_a_given_name(word: str) -> bool:
    """Whether ``word`` is a patronymic formed from a given name of the name tables
    (Ivanovych from Ivan, Petrovych from Petro, Serhiyovych from Serhiy) — Rabinovich and
    Abramovich, surnames, are formed from none."""
    stem = re.sub(r"(?:i?y?ovych|i?y?evych|ovich|evich)$", "", fold(word) or "")
    return bool(stem) and stem != fold(word) and any(
        _known_given(stem + end) for end in ("", "o", "a", "iy", "ii", "y", "i"))


#: a female patronymic's ending (folded): Petrivna, Ivanovna, Kuzminichna — no surname ends so
_FEMININE = re.compile(r"(?:ivna|ovna|evna|ichna|ychna)$")


def _known_given(word: str) -> bool:
    """Whether ``word`` is a given name of the name tables (:func:`_given_groups`)."""
    key = _compact(word)
    return bool(key) and key in _given_groups()


def split_full_names(given: Any, family: Any, full: Any) -> tuple[Any, Any]:
    """Given and family names (Arrow string arrays) with gaps filled from a full name
    (:func:`split_full_name`). Arrays are returned unchanged when ``full`` is all null."""
    import pyarrow as pa

    if full.null_count == len(full):
        return given, family
    fg = map_distinct(full, lambda s: split_full_name(s)[0])
    ff = map_distinct(full, lambda s: split_full_name(s)[1])
    g_list, f_list = given.to_pylist(), family.to_pylist()
    given = pa.array([g if g else a for g, a in zip(g_list, fg, strict=True)], pa.string())
    family = pa.array([f if f else b for f, b in zip(f_list, ff, strict=True)], pa.string())
    return given, family


def require_names(given: Any, family: Any) -> None:
    """Refuse records none of which has a name (``given``, ``family``: Arrow string arrays
    after :func:`split_full_names`, or object arrays of name keys, None where missing):
    linkage compares people by their names first.

    :raises UsageError: records, and not one name among them."""
    def none_in(x: Any) -> bool:
        return (x.null_count == len(x) if hasattr(x, "null_count")
                else not any(v is not None for v in x))

    if len(given) and none_in(given) and none_in(family):
        from safelight.errors import UsageError

        raise UsageError("no record has a name (given_name, family_name or full_name): "
                         "linkage compares people by their names first — map a name column, "
                         "or check that the mapped name columns are filled")


def clear_caches() -> None:
    """Empty the memo of every normaliser here that keeps input values (names, phones,
    document numbers, places: the ``lru_cache`` of :func:`fold`, :func:`match_key`, the name
    keys, the phones' E.164, :func:`document_key`, :func:`locality_key`, :func:`digits_key`,
    :func:`code_key`, :func:`sex_key`, :func:`nationality_key` and the transliteration); the
    name tables read from the package data stay. A linkage run calls it when it ends (:func:`safelight.link.link_records`), so that
    no identifier outlives the run in this process's memory."""
    for fn in (fold, match_key, given_key, given_group, family_key, split_full_name, _e164,
               _international_digits, _old_trunk_eight, _placeholder_number,
               _leading_country_code,
               document_key, locality_key, digits_key, code_key, sex_key, nationality_key,
               transliterate):
        fn.cache_clear()
    from safelight.standard import geography

    geography._resolve.cache_clear()  # the nationalities nationality_key resolved
