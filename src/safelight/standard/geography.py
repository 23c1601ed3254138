"""Geography of the case standard: ISO 3166 countries, UN M49 regions, UNODC GLOTIP regions.

Contract
--------
* **Canonical code.** A country is stored as its ISO 3166-1 alpha-3 code (``"NAM"``). Kosovo
  uses the user-assigned ``"XKX"`` unless the caller passes ``kosovo="SRB"`` (CTDC folds Kosovo
  into Serbia). Dissolved countries with more than one successor keep their ISO 3166-3 alpha-3
  code (``"SUN"``, ``"YUG"``, ``"CSK"``, ``"SCG"``, ``"ANT"`` ...) and are flagged
  ``historical=True``; those with exactly one successor resolve to it (``"ZR"`` -> ``"COD"``).
* :func:`resolve_country` maps one raw value (code, number or free-text name in many languages,
  demonym, messy label) to that code, or to ``None`` when the value is empty, unknown, ambiguous
  (``"Congolese"``, ``"Korean"``) or not a country (``"Unknown"``, ``"Stateless"``). It never
  raises on bad input and never guesses between two candidates. ``"NA"`` is Namibia, never
  missing. :func:`resolve_countries` does the same for many values at once.
* :func:`country` describes a code (names, M49 region/sub-region/intermediate region, UNODC
  region); :func:`region_of` gives one region of a code under a named scheme;
  :func:`is_cross_border` compares a citizenship with a country of exploitation.
* **Region tables.** The shipped UNODC table (``data/unodc_regions.csv``, GLOTIP 2020/2022
  groupings) is the default. A deployment loads its own table with :func:`load_unodc_regions`
  and passes it explicitly as ``table=`` to :func:`region_of` / :func:`country`; there is no
  hidden global setting. Record ``table.fingerprint`` next to any output that used it.

Resolution order (first hit wins): ISO alpha-2 / alpha-3 / ISO 3166-3 alpha-4 codes and numeric
codes (``"4"``, ``"004"``, ``"4.0"``), case-insensitive; then a normalised-name index (casefold,
accents and punctuation stripped, numbers and filler words such as "the", "of", "republic"
dropped, word order ignored as a fallback) built from, in decreasing priority: the curated
``data/country_aliases.csv``; English names of ``data/countries.csv`` and pycountry (name,
official and common names, ISO 3166-3 historic names); the French/Spanish/Russian/Chinese/Arabic
UN names of ``data/countries.csv``; pycountry's gettext translations of ISO 3166-1 names in
:data:`TRANSLATION_LANGUAGES`. A key claimed by two countries at the same priority is dropped
(ambiguous). Then repairs for mis-decoded text (UTF-8 read as cp1252, U+FFFD replacement
characters), a bracketed remark (``"Netherlands (own country)"``), an English plural
(``"Angolans"``), one typo (one edit or swap on names of 6+ letters, only when it points to a
single country); finally the name regexes of ``data/countries.csv``, accepted only when exactly
one country matches.

All tables are read once and cached; resolving is pure Python and fast (tens of thousands of
distinct values per second).
"""

from __future__ import annotations

import csv
import gettext
import hashlib
import io
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final

import pycountry

from safelight.errors import InputFileError

__all__ = [
    "Country",
    "UnodcRegions",
    "HISTORICAL_COUNTRIES",
    "REGION_SCHEMES",
    "TRANSLATION_LANGUAGES",
    "country",
    "countries",
    "is_cross_border",
    "load_unodc_regions",
    "normalise_name",
    "region_of",
    "resolve_countries",
    "resolve_country",
]

log = logging.getLogger("safelight.standard.geography")

REGION_SCHEMES: Final = (
    "unodc",
    "unodc_subregion",
    "m49_region",
    "m49_subregion",
    "m49_intermediate",
)

#: Languages of pycountry's ISO 3166-1 translations that feed the name index: the languages of
#: origin, transit and destination countries most present in trafficking case data.
TRANSLATION_LANGUAGES: Final = (
    "am", "ar", "az", "be", "bg", "bn", "bs", "cs", "da", "de", "el", "es", "et", "fa", "fi",
    "fil", "fr", "ha", "he", "hi", "hr", "hu", "hy", "id", "it", "ja", "ka", "kk", "km", "ko",
    "ky", "lo", "lt", "lv", "mk", "mn", "ms", "my", "nb_NO", "ne", "nl", "pl", "ps", "pt",
    "pt_BR", "ro", "ru", "si", "sk", "sl", "so", "sq", "sr", "sr@latin", "sv", "sw", "tg", "th",
    "ti", "tk", "tr", "uk", "ur", "uz", "vi", "yo", "zh_CN", "zh_TW",
)  # fmt: skip

#: ISO 3166-3 codes safelight knows: alpha-3 -> (display name, current successors). A code with
#: one successor resolves to it; a code with several stays itself and is ``historical``.
#: ``XKX`` among successors is replaced by the caller's ``kosovo`` code.
HISTORICAL_COUNTRIES: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = MappingProxyType(
    {
        "AFI": ("French Afars and Issas", ("DJI",)),
        "ANT": ("Netherlands Antilles", ("BES", "CUW", "SXM")),
        "ATB": ("British Antarctic Territory", ("ATA",)),
        "ATN": ("Dronning Maud Land", ("ATA",)),
        "BUR": ("Burma", ("MMR",)),
        "BYS": ("Byelorussian SSR", ("BLR",)),
        "CSK": ("Czechoslovakia", ("CZE", "SVK")),
        "CTE": ("Canton and Enderbury Islands", ("KIR",)),
        "DDR": ("German Democratic Republic", ("DEU",)),
        "DHY": ("Dahomey", ("BEN",)),
        "FXX": ("France, Metropolitan", ("FRA",)),
        "GEL": ("Gilbert and Ellice Islands", ("KIR", "TUV")),
        "HVO": ("Upper Volta", ("BFA",)),
        "JTN": ("Johnston Island", ("UMI",)),
        "MID": ("Midway Islands", ("UMI",)),
        "NHB": ("New Hebrides", ("VUT",)),
        "NTZ": ("Neutral Zone", ("IRQ", "SAU")),
        "PCI": ("Pacific Islands (trust territory)", ("FSM", "MHL", "MNP", "PLW")),
        "PCZ": ("Panama Canal Zone", ("PAN",)),
        "PUS": ("US Miscellaneous Pacific Islands", ("UMI",)),
        "RHO": ("Southern Rhodesia", ("ZWE",)),
        "SCG": ("Serbia and Montenegro", ("MNE", "SRB", "XKX")),
        "SKM": ("Sikkim", ("IND",)),
        "SUN": (
            "Soviet Union (USSR)",
            tuple("ARM AZE BLR EST GEO KAZ KGZ LTU LVA MDA RUS TJK TKM UKR UZB".split()),
        ),
        "TMP": ("East Timor", ("TLS",)),
        "VDR": ("Democratic Republic of Viet-Nam", ("VNM",)),
        "WAK": ("Wake Island", ("UMI",)),
        "YMD": ("Democratic Yemen", ("YEM",)),
        "YUG": ("Yugoslavia", ("BIH", "HRV", "MKD", "MNE", "SRB", "SVN", "XKX")),
        "ZAR": ("Zaire", ("COD",)),
    }
)

KOSOVO: Final = "XKX"

_DATA = "data"
_UN_LANGUAGES = ("fr", "es", "ru", "zh", "ar")
_BLOCKED: Final = ""  # index value: "known, deliberately resolves to None"
_AMBIGUOUS: Final = "?"  # index value: claimed by two countries at the same priority

# Priorities of name sources (lower wins).
_P_ALIAS, _P_ENGLISH, _P_UN, _P_TRANSLATION = 0, 1, 2, 3

_STOP_TOKENS: Final = frozenset(
    {
        "the", "of", "and", "y", "et", "e", "und", "former",
        "republic", "republique", "republica", "repubblica", "republik", "republika",
        "respublika", "rep", "республика", "республіка",
        "d", "l", "s", "de", "del", "des", "du", "la", "le", "les", "el", "da", "do", "das",
        "dos", "di",
    }
)  # fmt: skip
_TOKEN_MAP: Final = {"st": "saint", "ste": "sainte"}
_NON_WORD = re.compile(r"[\W_]+")
_NUMERIC = re.compile(r"\d{1,3}(?:\.0*)?")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_MOJIBAKE_MARKERS = ("Ã", "Â", "Ð", "Ñ", "â€")
_FUZZY_MIN_LEN = 6


# --------------------------------------------------------------------------------------------
# Public data shapes


@dataclass(frozen=True)
class Country:
    """One country or area as safelight knows it.

    ``numeric`` is the 3-digit M49/ISO numeric code (``None`` for Kosovo); ``m49_*`` are region
    *names* (``None`` where M49 has none, e.g. Antarctica, or where the successors of a
    historical country disagree); ``unodc_region`` comes from the region table used.
    """

    alpha2: str
    alpha3: str
    numeric: str | None
    name: str
    m49_region: str | None
    m49_subregion: str | None
    m49_intermediate: str | None
    unodc_region: str | None
    historical: bool = False
    unodc_subregion: str | None = None


@dataclass(frozen=True, eq=False)
class UnodcRegions:
    """A UNODC region table: alpha-3 -> region (and optional sub-region).

    Build it with :func:`load_unodc_regions`. ``fingerprint`` (sha256 of the file, 16 hex
    digits) identifies the table in outputs; ``source`` is where it was read from.
    """

    regions: Mapping[str, str]
    subregions: Mapping[str, str]
    source: str
    fingerprint: str

    def region(self, alpha3: str) -> str | None:
        """The region of ``alpha3``, or ``None`` if the table gives none."""
        return self.regions.get(alpha3) or None

    def subregion(self, alpha3: str) -> str | None:
        """The sub-region of ``alpha3``, or ``None`` if the table gives none."""
        return self.subregions.get(alpha3) or None

    @property
    def names(self) -> tuple[str, ...]:
        """The distinct region names of the table, sorted."""
        return tuple(sorted({r for r in self.regions.values() if r}))


# --------------------------------------------------------------------------------------------
# Loading the shipped tables


def _read_data(name: str) -> str:
    return resources.files("safelight.standard").joinpath(f"{_DATA}/{name}").read_text("utf-8")


@dataclass(frozen=True)
class _Row:
    alpha2: str
    alpha3: str
    numeric: str | None
    name: str
    names_un: tuple[str, ...]
    names_alt: tuple[str, ...]
    m49_region: str | None
    m49_subregion: str | None
    m49_intermediate: str | None
    regex: str
    deprecated: bool


@cache
def _rows() -> Mapping[str, _Row]:
    rows: dict[str, _Row] = {}
    for r in csv.DictReader(io.StringIO(_read_data("countries.csv"))):
        rows[r["alpha3"]] = _Row(
            alpha2=r["alpha2"],
            alpha3=r["alpha3"],
            numeric=r["numeric"] or None,
            name=r["name_en"],
            names_un=tuple(filter(None, (r[f"name_{lang}"] for lang in _UN_LANGUAGES))),
            names_alt=tuple(n for n in r["alt_names_en"].split("|") if n),
            m49_region=r["m49_region"] or None,
            m49_subregion=r["m49_subregion"] or None,
            m49_intermediate=r["m49_intermediate"] or None,
            regex=r["regex"],
            deprecated=r["deprecated"] == "Y",
        )
    return MappingProxyType(rows)


@cache
def _known_codes() -> frozenset[str]:
    return frozenset(_rows()) | frozenset(HISTORICAL_COUNTRIES)


def _parse_regions(text: str, source: str) -> UnodcRegions:
    try:  # a spreadsheet's export may use ';' or a tab (as ingest reads them)
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = set(reader.fieldnames or ())
    missing = {"alpha3", "unodc_region"} - columns
    if missing:
        raise InputFileError(
            source,
            f"missing column(s) {', '.join(sorted(missing))} (found: {', '.join(sorted(columns))})",
            "a region table needs the columns alpha3,unodc_region[,unodc_subregion]",
        )
    known = _known_codes()
    regions: dict[str, str] = {}
    subregions: dict[str, str] = {}
    for line, r in enumerate(reader, start=2):
        alpha3 = (r.get("alpha3") or "").strip().upper()
        if alpha3 not in known:
            raise InputFileError(
                source,
                f"row {line}, column alpha3: {r.get('alpha3')!r} is not a known alpha-3 code",
                "use ISO 3166-1 alpha-3 codes (XKX for Kosovo) or remove the row",
            )
        if alpha3 in regions:
            raise InputFileError(
                source, f"row {line}, column alpha3: {alpha3} appears twice", "keep one row"
            )
        regions[alpha3] = (r.get("unodc_region") or "").strip()
        subregions[alpha3] = (r.get("unodc_subregion") or "").strip()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return UnodcRegions(
        regions=MappingProxyType(regions),
        subregions=MappingProxyType(subregions),
        source=source,
        fingerprint=digest,
    )


@cache
def _shipped_regions() -> UnodcRegions:
    return _parse_regions(
        _read_data("unodc_regions.csv"), "safelight:standard/data/unodc_regions.csv"
    )


def load_unodc_regions(path: str | Path | None = None) -> UnodcRegions:
    """Load a UNODC region table: the shipped GLOTIP one (``path=None``) or a deployment's own.

    The CSV needs the columns ``alpha3`` and ``unodc_region`` (``unodc_subregion`` optional);
    every ``alpha3`` must be a known code (ISO 3166-1, ``XKX``, or an ISO 3166-3 code of
    :data:`HISTORICAL_COUNTRIES`), at most once. Countries absent from the table have no UNODC
    region. Pass the result as ``table=`` to :func:`region_of` and :func:`country`.

    Raises :class:`safelight.errors.InputFileError` (naming the file, row and column) when the
    file cannot be read or is invalid.
    """
    if path is None:
        return _shipped_regions()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(p, f"cannot read the region table ({exc})", "check the path") from exc
    return _parse_regions(text, str(p))


# --------------------------------------------------------------------------------------------
# Name normalisation


def _fold(text: str) -> str:
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text


def normalise_name(text: str) -> str:
    """The index key of a name: casefolded, accents and punctuation stripped, numbers and filler
    words ("the", "of", "and", "republic", "former", French/Spanish articles ...) dropped,
    "St" spelled "saint". ``normalise_name("The Republic of Côte d'Ivoire") == "cote ivoire"``.
    """
    return _key_of_folded(_fold(text))


def _key_of_folded(folded: str) -> str:
    out = []
    for token in _NON_WORD.split(folded.replace("&", " and ")):
        if not token or token.isdigit():
            continue
        token = _TOKEN_MAP.get(token, token)
        if token not in _STOP_TOKENS:
            out.append(token)
    return " ".join(out)


def _sorted_key(key: str) -> str:
    return " ".join(sorted(key.split()))


def _lossy_key(text: str) -> str:
    """Key of a name with every non-ASCII character deleted (to match U+FFFD-damaged text)."""
    return normalise_name("".join(ch for ch in text if ch.isascii()))


def _fix_mojibake(text: str) -> str:
    for encoding in ("cp1252", "latin-1"):
        try:
            return text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
    return text


def _deletes(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance(a, b) <= 1 (one insert, delete, substitute or swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


# --------------------------------------------------------------------------------------------
# The index


class _KeyTable:
    """key -> code with priorities; same-priority conflicts become ambiguous."""

    def __init__(self) -> None:
        self._best: dict[str, tuple[int, str]] = {}

    def add(self, key: str, code: str, priority: int) -> None:
        if not key:
            return
        current = self._best.get(key)
        if current is None or priority < current[0]:
            self._best[key] = (priority, code)
        elif priority == current[0] and current[1] != code:
            self._best[key] = (priority, _AMBIGUOUS)

    def freeze(self) -> dict[str, str]:
        return {k: code for k, (_, code) in self._best.items()}


@dataclass(frozen=True)
class _Index:
    codes: Mapping[str, str]  # upper-case alpha-2/3/4 -> resolved code
    numeric: Mapping[int, str]
    names: Mapping[str, str]
    sorted_names: Mapping[str, str]
    lossy: Mapping[str, str]


def _resolved_historic(alpha3: str) -> str:
    successors = HISTORICAL_COUNTRIES[alpha3][1]
    return successors[0] if len(successors) == 1 else alpha3


def _name_sources() -> Iterable[tuple[str, str, int]]:
    """(name, resolved code, priority) for every name the index learns."""
    rows = _rows()
    for r in csv.DictReader(io.StringIO(_read_data("country_aliases.csv"))):
        code = r["alpha3"].strip()
        if code in HISTORICAL_COUNTRIES:
            code = _resolved_historic(code)
        yield r["alias"], code or _BLOCKED, _P_ALIAS
    for row in rows.values():
        code = _resolved_historic(row.alpha3) if row.alpha3 in HISTORICAL_COUNTRIES else row.alpha3
        yield row.name, code, _P_ENGLISH
        for name in row.names_alt:
            yield name, code, _P_ENGLISH
        for name in row.names_un:
            yield name, code, _P_UN
    msgids: list[tuple[str, str]] = []
    for c in pycountry.countries:
        if c.alpha_3 not in rows:
            continue
        for attr in ("name", "official_name", "common_name"):
            name = getattr(c, attr, None)
            if name:
                msgids.append((name, c.alpha_3))
                yield name, c.alpha_3, _P_ENGLISH
    historic_ids: list[tuple[str, str]] = []
    for h in pycountry.historic_countries:
        if h.alpha_3 in HISTORICAL_COUNTRIES:
            code = _resolved_historic(h.alpha_3)
            historic_ids.append((h.name, code))
            yield h.name, code, _P_ENGLISH
            yield HISTORICAL_COUNTRIES[h.alpha_3][0], code, _P_ENGLISH
    for domain, ids in (("iso3166-1", msgids), ("iso3166-3", historic_ids)):
        for lang in TRANSLATION_LANGUAGES:
            try:
                tr = gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang])
            except OSError:
                continue
            for msgid, code in ids:
                name = tr.gettext(msgid)
                if name != msgid:
                    yield name, code, _P_TRANSLATION


@cache
def _index() -> _Index:
    rows = _rows()
    codes: dict[str, str] = {}
    numeric: dict[int, str] = {}
    # Historical codes first, most recently withdrawn last, so that current codes and the latest
    # reuse of a historical alpha-2 (CS: Serbia and Montenegro, not Czechoslovakia) win.
    for h in sorted(pycountry.historic_countries, key=lambda h: h.withdrawal_date):
        if h.alpha_3 not in HISTORICAL_COUNTRIES:
            continue
        code = _resolved_historic(h.alpha_3)
        codes[h.alpha_4] = code
        codes[h.alpha_3] = code
        codes[h.alpha_2] = code
        if getattr(h, "numeric", None):
            numeric[int(h.numeric)] = code
    for row in rows.values():
        code = _resolved_historic(row.alpha3) if row.alpha3 in HISTORICAL_COUNTRIES else row.alpha3
        if row.deprecated:  # keep current codes' precedence over a deprecated row
            codes.setdefault(row.alpha2, code)
            codes.setdefault(row.alpha3, code)
            continue
        codes[row.alpha2] = code
        codes[row.alpha3] = code
        if row.numeric:
            numeric[int(row.numeric)] = code

    names, sorted_names, lossy = _KeyTable(), _KeyTable(), _KeyTable()
    for name, code, priority in _name_sources():
        folded = _fold(name)
        key = _key_of_folded(folded)
        if not key:
            continue
        if priority != _P_ALIAS and key.isascii() and len(key) <= 3:
            continue  # short keys ("car", "uk") only from the curated aliases
        names.add(key, code, priority)
        sorted_names.add(_sorted_key(key), code, priority)
        if folded.isascii() and not name.isascii():  # Latin script with diacritics
            lkey = _lossy_key(name)
            if len(lkey) >= 3:
                lossy.add(lkey, code, priority)

    return _Index(
        codes=MappingProxyType(codes),
        numeric=MappingProxyType(numeric),
        names=MappingProxyType(names.freeze()),
        sorted_names=MappingProxyType(sorted_names.freeze()),
        lossy=MappingProxyType(lossy.freeze()),
    )


def _skip_group(pattern: str, i: int) -> int:
    """Index just after the group or class that opens at ``pattern[i]`` ("(" or "[")."""
    depth, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if depth == 0:
                depth = -1  # a top-level class: ends at its "]"
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
        if depth == -1 and not in_class:
            return i
    return i


def _top_level_branches(pattern: str) -> list[str]:
    branches, start, i = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
        elif ch in "([":
            i = _skip_group(pattern, i)
        elif ch == "|":
            branches.append(pattern[start:i])
            start = i = i + 1
        else:
            i += 1
    branches.append(pattern[start:])
    return branches


def _required_literal(branch: str) -> str:
    """The longest literal text every match of a regex branch must contain ("" if none found).

    Only plain characters at the top level of the branch count; groups, classes, escapes,
    wildcards and optional characters end a run. Used to skip regexes that cannot match.
    """
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(branch):
        ch = branch[i]
        if ch in "?*{":  # the previous character is optional
            if run:
                run.pop()
            runs.append("".join(run))
            run = []
            if ch == "{":
                end = branch.find("}", i)
                i = len(branch) if end < 0 else end + 1
            else:
                i += 1
            continue
        if ch == "\\" or ch in "([" or ch in ".^$+)|":
            runs.append("".join(run))
            run = []
            if ch == "\\":
                i += 2
            elif ch in "([":
                i = _skip_group(branch, i)
            else:
                i += 1
            continue
        run.append(ch)
        i += 1
    runs.append("".join(run))
    return max(runs, key=len).casefold()


@dataclass(frozen=True)
class _Regexes:
    patterns: tuple[tuple[re.Pattern[str], str], ...]  # (compiled regex, code)
    by_bigram: Mapping[str, tuple[tuple[str, int], ...]]  # literal's first 2 chars -> literal, i
    always: frozenset[int]  # regexes without a usable literal: always tried


@cache
def _regex_index() -> _Regexes:
    patterns: list[tuple[re.Pattern[str], str]] = []
    by_bigram: dict[str, list[tuple[str, int]]] = {}
    always: set[int] = set()
    for row in _rows().values():
        if not row.regex:
            continue
        try:
            pattern = re.compile(row.regex, re.IGNORECASE)
        except re.error as exc:  # pragma: no cover - shipped data is tested
            log.warning("countries.csv: regex of %s does not compile (%s)", row.alpha3, exc)
            continue
        code = _resolved_historic(row.alpha3) if row.alpha3 in HISTORICAL_COUNTRIES else row.alpha3
        n = len(patterns)
        patterns.append((pattern, code))
        for branch in _top_level_branches(row.regex):
            literal = _required_literal(branch)
            if len(literal) < 2:
                always.add(n)
            else:
                by_bigram.setdefault(literal[:2], []).append((literal, n))
    return _Regexes(
        patterns=tuple(patterns),
        by_bigram=MappingProxyType({k: tuple(v) for k, v in by_bigram.items()}),
        always=frozenset(always),
    )


# --------------------------------------------------------------------------------------------
# Resolution


def _lookup_key(idx: _Index, key: str) -> str | None:
    """Exact, then word-order-free lookup; ``_BLOCKED``/``_AMBIGUOUS`` are returned as found."""
    if not key:
        return None
    hit = idx.names.get(key)
    if hit is None:
        hit = idx.sorted_names.get(_sorted_key(key))
    return hit


@cache
def _fuzzy_index() -> Mapping[str, tuple[str, ...]]:
    """Delete-neighbourhood of every Latin-script name key of 6+ letters (built on first use)."""
    neighbours: dict[str, list[str]] = {}
    for key, code in _index().names.items():
        if code in (_BLOCKED, _AMBIGUOUS) or not key.isascii():
            continue
        if len(key) - key.count(" ") < _FUZZY_MIN_LEN:
            continue
        for variant in _deletes(key) | {key}:
            neighbours.setdefault(variant, []).append(key)
    return MappingProxyType({k: tuple(v) for k, v in neighbours.items()})


def _fuzzy(idx: _Index, key: str) -> str | None:
    """The one country within one edit of ``key`` (Latin script, 6+ letters), else ``None``."""
    if not key.isascii() or len(key) - key.count(" ") < _FUZZY_MIN_LEN:
        return None
    neighbours = _fuzzy_index()
    candidates: set[str] = set()
    for variant in _deletes(key) | {key}:
        candidates.update(neighbours.get(variant, ()))
    codes = {idx.names[c] for c in candidates if _within_one_edit(key, c)}
    return codes.pop() if len(codes) == 1 else None


def _by_regex(text: str) -> str | None:
    """The one country whose name regex matches ``text``, else ``None``."""
    if len(text) > 120:
        return None
    rx = _regex_index()
    candidates = set(rx.always)
    for i in range(len(text) - 1):
        for literal, n in rx.by_bigram.get(text[i : i + 2], ()):
            if text.startswith(literal, i):
                candidates.add(n)
    codes = {rx.patterns[n][1] for n in candidates if rx.patterns[n][0].search(text)}
    return codes.pop() if len(codes) == 1 else None


def _by_name(idx: _Index, text: str) -> str | None:
    key = normalise_name(text)
    hit = _lookup_key(idx, key)
    if hit is not None:
        return hit
    if "(" in text or "[" in text:
        # "Netherlands (own country)": the text outside the brackets; failing that,
        # "Domestic (Myanmar)": the text inside them, if it is exactly one name.
        hit = _lookup_key(idx, normalise_name(_PARENS.sub(" ", text)))
        if hit is None or hit == _BLOCKED:
            inner = [normalise_name(m.group()[1:-1]) for m in _PARENS.finditer(text)]
            inner_hits = {idx.names.get(k) for k in inner if k}
            if len(inner_hits) == 1 and None not in inner_hits:
                hit = inner_hits.pop()
        if hit is not None:
            return hit
    if len(key) >= 5 and key.endswith("s"):
        hit = idx.names.get(key[:-1])  # English/French plural of a demonym: "Angolans"
        if hit is not None:
            return hit
    return _fuzzy(idx, key) if key else None


@lru_cache(maxsize=1 << 16)
def _resolve(text: str) -> str | None:
    """Resolve stripped, non-empty text to a code (``XKX`` for Kosovo) or ``None``."""
    idx = _index()
    if len(text) <= 4 and text.isascii() and text.isalpha():
        code = idx.codes.get(text.upper())
        if code is not None:
            return code
    if _NUMERIC.fullmatch(text):
        return idx.numeric.get(int(float(text)))
    hit = None
    if "\ufffd" in text:  # characters lost in a bad decode: "ESPA\ufffdA"
        hit = idx.lossy.get(_lossy_key(text))
    if hit is None:
        hit = _by_name(idx, text)
    if hit is None and any(m in text for m in _MOJIBAKE_MARKERS):
        fixed = _fix_mojibake(text)  # UTF-8 read as cp1252: "CÃ´te d'Ivoire"
        if fixed != text:
            text = fixed
            hit = _by_name(idx, text)
    if hit is None:
        hit = _by_regex(text.casefold())
    if hit in (_BLOCKED, _AMBIGUOUS):
        return None
    return hit


def _kosovo_code(kosovo: str) -> str:
    code = kosovo.strip().upper()
    if code not in _rows() or _rows()[code].deprecated:
        raise ValueError(
            f"kosovo={kosovo!r} is not a current alpha-3 code; use 'XKX' (default) or 'SRB'"
        )
    return code


def resolve_country(value: str | None, *, kosovo: str = KOSOVO) -> str | None:
    """The ISO 3166-1 alpha-3 code of ``value``, or ``None`` if it is empty or unknown.

    Accepts alpha-2 (``"NA"`` and ``"na"`` are Namibia), alpha-3, ISO 3166-3 and numeric codes
    (``"4"``, ``"004"``, ``"4.0"``), and names, demonyms and messy labels in many languages
    (see the module docstring for the order). Kosovo (``"XK"``, ``"XKX"``, ``"Kosovo (under
    UNSCR 1244)"`` ...) resolves to ``kosovo`` (``"XKX"`` by default; ``"SRB"`` folds it into
    Serbia). Dissolved countries resolve to their single successor, or stay historical
    (``"SU"`` -> ``"SUN"``). Ambiguous values (``"Congolese"``) and non-countries
    (``"Unknown"``, ``"Stateless"``, ``"N/A"``) give ``None``. Never raises for bad input;
    raises ``ValueError`` only for an invalid ``kosovo`` argument.
    """
    kosovo_code = KOSOVO if kosovo == KOSOVO else _kosovo_code(kosovo)
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, float) and math.isnan(value):
            return None
        value = str(value)
    text = value.strip()
    if not text:
        return None
    code = _resolve(text)
    if code == KOSOVO:
        return kosovo_code
    return code


def resolve_countries(
    values: Iterable[str | None], *, kosovo: str = KOSOVO
) -> dict[str, str | None]:
    """Resolve many values at once: ``{distinct value: code or None}``.

    Meant for ingest, which maps the distinct values of a column once. ``None`` values are
    skipped (they resolve to ``None``). Same rules as :func:`resolve_country`.
    """
    kosovo_code = _kosovo_code(kosovo)
    out: dict[str, str | None] = {}
    for value in values:
        if value is None or value in out:
            continue
        out[value] = resolve_country(value, kosovo=kosovo_code)
    return out


# --------------------------------------------------------------------------------------------
# Describing codes


def _common(values: Iterable[str | None]) -> str | None:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def _build_country(code: str, table: UnodcRegions) -> Country:
    rows = _rows()
    row = rows.get(code)
    if code in HISTORICAL_COUNTRIES and (row is None or row.deprecated):
        name, successors = HISTORICAL_COUNTRIES[code]
        parts = [_build_country(s, table) for s in successors]
        historic = pycountry.historic_countries.get(alpha_3=code)
        if row is None and historic is None:  # pragma: no cover - guarded by a test
            raise KeyError(code)
        own_region = table.region(code)
        return Country(
            alpha2=row.alpha2 if row else historic.alpha_2,
            alpha3=code,
            numeric=row.numeric if row else getattr(historic, "numeric", None),
            name=name,
            m49_region=row.m49_region if row else _common(p.m49_region for p in parts),
            m49_subregion=row.m49_subregion if row else _common(p.m49_subregion for p in parts),
            m49_intermediate=(
                row.m49_intermediate if row else _common(p.m49_intermediate for p in parts)
            ),
            unodc_region=own_region or _common(p.unodc_region for p in parts),
            historical=True,
            unodc_subregion=table.subregion(code) or _common(p.unodc_subregion for p in parts),
        )
    if row is None:
        raise KeyError(code)
    return Country(
        alpha2=row.alpha2,
        alpha3=row.alpha3,
        numeric=row.numeric,
        name=row.name,
        m49_region=row.m49_region,
        m49_subregion=row.m49_subregion,
        m49_intermediate=row.m49_intermediate,
        unodc_region=table.region(code),
        historical=False,
        unodc_subregion=table.subregion(code),
    )


@cache
def _shipped_country(code: str) -> Country:
    return _build_country(code, _shipped_regions())


def _unknown_code(code: object) -> KeyError:
    hint = ""
    if isinstance(code, str):
        resolved = resolve_country(code)
        if resolved is not None and resolved != code:
            hint = f"; did you mean {resolved!r} (resolve_country({code!r}))?"
    return KeyError(
        f"{code!r} is not a known ISO 3166-1 alpha-3 code (or XKX, or an ISO 3166-3 code "
        f"of HISTORICAL_COUNTRIES){hint} - map raw values with resolve_country() first"
    )


def country(alpha3: str, *, table: UnodcRegions | None = None) -> Country:
    """The :class:`Country` of an alpha-3 code (case-insensitive).

    Current codes, ``XKX`` and the ISO 3166-3 codes of :data:`HISTORICAL_COUNTRIES` are known;
    historical ones come back with ``historical=True`` and the regions their successors share.
    ``table`` is a region table from :func:`load_unodc_regions` (default: the shipped one).
    Raises ``KeyError`` with a hint (e.g. the code ``"NA"`` resolves to) for anything else.
    """
    code = alpha3.strip().upper() if isinstance(alpha3, str) else alpha3
    if code not in _known_codes():
        raise _unknown_code(alpha3)
    if table is None or table is _shipped_regions():
        return _shipped_country(code)
    return _build_country(code, table)


def countries(*, include_historical: bool = False) -> list[Country]:
    """Every country of the shipped table (sorted by alpha-3), optionally with historical ones."""
    codes = [c for c, row in _rows().items() if include_historical or not row.deprecated]
    if include_historical:
        codes += [c for c in HISTORICAL_COUNTRIES if c not in _rows()]
    return [country(c) for c in sorted(codes)]


def region_of(
    alpha3: str | None, scheme: str = "unodc", *, table: UnodcRegions | None = None
) -> str | None:
    """The region name of ``alpha3`` under ``scheme``, or ``None`` if it has none.

    ``scheme`` is one of :data:`REGION_SCHEMES`: ``"unodc"`` (GLOTIP region from ``table``,
    default the shipped table), ``"unodc_subregion"``, ``"m49_region"`` (e.g. "Africa"),
    ``"m49_subregion"`` (e.g. "Sub-Saharan Africa"), ``"m49_intermediate"`` (e.g. "Eastern
    Africa"). ``None`` in gives ``None`` out; an unknown code raises ``KeyError`` and an unknown
    scheme ``ValueError``.
    """
    if scheme not in REGION_SCHEMES:
        raise ValueError(
            f"unknown region scheme {scheme!r}; use one of {', '.join(REGION_SCHEMES)}"
        )
    if alpha3 is None:
        return None
    c = country(alpha3, table=table)
    if scheme == "unodc":
        return c.unodc_region
    if scheme == "unodc_subregion":
        return c.unodc_subregion
    return getattr(c, scheme)


def _successors(code: str, kosovo: str) -> frozenset[str]:
    if code in HISTORICAL_COUNTRIES:
        return frozenset(kosovo if s == KOSOVO else s for s in HISTORICAL_COUNTRIES[code][1])
    return frozenset({code})


def is_cross_border(
    citizenship: str | None, country_of_exploitation: str | None, *, kosovo: str = KOSOVO
) -> bool | None:
    """Whether a victim was exploited outside their country of citizenship.

    Both values go through :func:`resolve_country` (codes or names). ``None`` when either is
    unknown, or when a historical country and a successor of it meet (``"SUN"`` vs ``"RUS"``:
    cannot tell). With ``kosovo="SRB"`` a Kosovo citizen exploited in Serbia is domestic.
    """
    a = resolve_country(citizenship, kosovo=kosovo)
    b = resolve_country(country_of_exploitation, kosovo=kosovo)
    if a is None or b is None:
        return None
    if a == b:
        return False
    kosovo_code = _kosovo_code(kosovo)
    if _successors(a, kosovo_code) & _successors(b, kosovo_code):
        return None
    return True
