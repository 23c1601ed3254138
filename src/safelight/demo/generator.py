"""Seeded generator of the demo's multi-agency scenario and of large benchmark exports.

Contract
--------
:func:`generate_scenario` writes, under ``out_dir``, one directory per contributor holding its
export (in the contributor's own file format, language and code system) and its mapping profile
(``<export>.profile.yaml``, in the format of ``docs/profiles.md``); ``truth.csv`` (one line per
exported row: ``contributor,record_id,person_id``) and ``scenario.json`` (seed, counts, software
version, the deliberately bad rows, measured distributions). The same ``seed`` and ``n_records``
give byte-identical files on any machine with the same library versions; every path written
into the files is relative to ``out_dir``. :func:`write_large_export` streams one hotline export of
any size (vectorised with NumPy, flat memory).

Scenario
--------
Six contributors register (potential) victims between 2017 and 2023: a Ukrainian hotline
(``ua-hotline``), a Polish NGO (``pl-ngo``), a German police unit (``de-police``), an Italian labour
inspectorate (``it-labour``), a Nigerian NGO (``ng-ngo``) and a Romanian NGO (``ro-ngo``). About 15%
of persons are registered more than once — along realistic routes (Ukrainian women: hotline →
Polish NGO → German police; Nigerian women: Nigerian NGO → Italian inspectorate; Romanian men:
Romanian NGO → Italian inspectorate → German police; Iraqi, Syrian and Vietnamese persons: Polish
NGO → German police) and a few twice by the same agency. Households (siblings, twins, a parent
and a child sharing family name, address and phone) are different persons and must not be linked.

Distributions (sources numbered as in ``DOMAIN.md`` §8)
-------------------------------------------------------
* Sex: about 74% of registered victims female, 43% aged 18–29, 24% children — CTDC data story
  on the Global Synthetic Dataset [23]. Per-contributor shares differ (the labour inspectorate
  registers mostly men, the Nigerian NGO mostly women); the overall share is measured and
  written to ``scenario.json``.
* Forms of exploitation: sexual exploitation and forced labour roughly equal, about 39% each,
  and the remainder "other purposes", forced criminal activity being about 10% of detected
  victims in 2020 (GLOTIP 2022 [42]; the 10% is DOMAIN.md §2 row 8; the 39/39 split is the
  report's approximate headline, not verified in DOMAIN.md).
* Year of registration 2017–2023, with detected victims falling 11% from 2019 to 2020 (GLOTIP
  2022 [42][43][44], DOMAIN.md §2 row 1) and 2022 about 25% above 2019 (GLOTIP 2024 [58], row 16);
  the Ukrainian and Polish contributors grow further after February 2022 (war, rows 12).
* Female victims are subjected to physical violence about three times as often as male victims
  (GLOTIP [51], row 11): ``physical_abuse`` is drawn with a 3:1 female:male ratio.
* Forced-labour sectors, means of control and the recruiter relationship use the CTDC / HTCDS
  categories [4][16][24] with illustrative weights chosen for this demo (agriculture, construction,
  hospitality at the Italian inspectorate; domestic work and peddling in Nigeria; false promises,
  withheld earnings and documents, debt bondage more often for forced labour; intimate partners
  and friends more often for sexual exploitation). These weights are assumptions, not statistics.
* Consent per record: 90% full, 8% statistics only, 2% none.

Corruption model
----------------
Between registrations of one person: Cyrillic vs Latin, passport spellings (KMU 55, ICAO 9303)
vs the receiving country's transcription (Polish, German Duden, French, BGN/PCGN, scholarly);
Russian forms of Ukrainian names; Arabic names in several romanisations and article forms;
diacritics dropped (and folded to cp1252 for the German police system); 1–2 character typos;
given and family name swapped; nicknames; day/month swaps; year-only and 01/01 placeholder birth
dates; missing fields; new phone numbers and other phone formats. About 0.5% of each contributor's
rows are deliberately bad (an impossible date, a birth date in the future, an unknown code, a
duplicated record id) and listed in ``scenario.json`` under ``bad_rows``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

import safelight
from safelight.demo.names import NamePools, PersonName, arabic_family_forms, load_yaml, nicknames
from safelight.identity.transliterate import transliterate

__all__ = ["ContributorExport", "Scenario", "generate_scenario", "write_large_export"]

log = logging.getLogger("safelight.demo")

FIRST_DAY = date(2017, 1, 1)
LAST_DAY = date(2023, 12, 31)
MULTI_SHARE = 0.15
BAD_ROW_SHARE = 0.005

# Relative number of registrations per year: 2020 is 11% below 2019 (GLOTIP 2022 [42]), 2022
# 25% above 2019 (GLOTIP 2024 [58]); 2023 is assumed flat.
YEAR_WEIGHTS: dict[int, float] = {
    2017: 1.00, 2018: 1.05, 2019: 1.10, 2020: 0.98, 2021: 1.05, 2022: 1.375, 2023: 1.30,
}  # fmt: skip
WAR_BOOST = {2022: 1.7, 2023: 1.5}  # Ukrainian hotline and Polish NGO after February 2022

# Age at first registration: (min, max, probability). General: 24% children, 43% aged 18–29 [23].
AgeBands = tuple[tuple[int, int, float], ...]
AGE_GENERAL: AgeBands = (
    (0, 8, 0.05), (9, 17, 0.22), (18, 20, 0.13), (21, 23, 0.11), (24, 26, 0.10), (27, 29, 0.09),
    (30, 38, 0.15), (39, 47, 0.09), (48, 64, 0.06),
)  # fmt: skip
AGE_LABOUR: AgeBands = (
    (15, 17, 0.04), (18, 20, 0.08), (21, 23, 0.10), (24, 26, 0.11), (27, 29, 0.11),
    (30, 38, 0.28), (39, 47, 0.17), (48, 64, 0.11),
)  # fmt: skip
AGE_NIGERIA: AgeBands = (
    (0, 8, 0.07), (9, 17, 0.25), (18, 20, 0.15), (21, 23, 0.12), (24, 26, 0.09), (27, 29, 0.07),
    (30, 38, 0.14), (39, 47, 0.07), (48, 64, 0.04),
)  # fmt: skip

FORMS: dict[str, tuple[str, ...]] = {
    "sexual": ("sexual_exploitation",),
    "labour": ("forced_labour",),
    "criminal": ("forced_criminal_activity",),
    "begging": ("forced_begging",),
    "marriage": ("forced_marriage",),
    "mixed": ("sexual_exploitation", "forced_labour"),
    "organ": ("organ_removal",),
    "other": ("other",),
}

# Probability of each means of control: (sexual exploitation, other forms). Illustrative.
MEANS: dict[str, tuple[float, float]] = {
    "psychological_abuse": (0.45, 0.35), "false_promises": (0.40, 0.50),
    "takes_earnings": (0.40, 0.40), "threats": (0.35, 0.30), "restricts_movement": (0.30, 0.25),
    "physical_abuse": (0.30, 0.20), "withholds_documents": (0.15, 0.35),
    "debt_bondage": (0.20, 0.30), "excessive_working_hours": (0.10, 0.40),
    "sexual_abuse": (0.30, 0.03), "psychoactive_substances": (0.10, 0.03),
    "threatens_family": (0.12, 0.08), "threat_of_law_enforcement": (0.10, 0.18),
    "withholds_necessities": (0.10, 0.18), "restricts_medical_care": (0.05, 0.06),
    "restricts_financial_access": (0.08, 0.15),
}  # fmt: skip
MALE_PHYSICAL_ABUSE_FACTOR = 1 / 3  # female victims ~3x as often (GLOTIP [51])

RECRUITER_SEXUAL = {
    "intimate_partner": 0.25,
    "friend": 0.30,
    "family": 0.10,
    "other": 0.30,
    "unknown": 0.05,
}
RECRUITER_OTHER = {
    "other": 0.60,
    "friend": 0.22,
    "family": 0.08,
    "intimate_partner": 0.02,
    "unknown": 0.08,
}
SECTORS_GENERAL = {
    "agriculture": 0.22,
    "construction": 0.18,
    "domestic_work": 0.18,
    "manufacturing": 0.14,
    "hospitality": 0.13,
    "transportation": 0.04,
    "peddling": 0.04,
    "aquafarming": 0.02,
    "other": 0.05,
}
SECTORS_IT = {
    "agriculture": 0.45,
    "construction": 0.18,
    "hospitality": 0.15,
    "domestic_work": 0.08,
    "manufacturing": 0.07,
    "transportation": 0.04,
    "peddling": 0.03,
}
SECTORS_DE = {
    "manufacturing": 0.25,
    "construction": 0.25,
    "hospitality": 0.18,
    "domestic_work": 0.12,
    "transportation": 0.10,
    "agriculture": 0.10,
}
SECTORS_NG = {
    "domestic_work": 0.35,
    "agriculture": 0.20,
    "peddling": 0.15,
    "mining": 0.08,
    "hospitality": 0.08,
    "manufacturing": 0.05,
    "other": 0.09,
}
CONSENT = {"full": 0.90, "statistics_only": 0.08, "none": 0.02}

NAT_CULTURE: dict[str, dict[str, float]] = {
    "UKR": {"uk": 1.0}, "RUS": {"ru": 1.0}, "BLR": {"ru": 1.0}, "MDA": {"ro": 0.7, "ru": 0.3},
    "POL": {"pl": 1.0}, "DEU": {"de": 1.0}, "ITA": {"it": 1.0}, "ROU": {"ro": 1.0},
    "NGA": {"ng:edo": 0.35, "ng:yoruba": 0.22, "ng:igbo": 0.28, "ng:hausa": 0.15},
    "NER": {"ng:hausa": 1.0}, "SYR": {"ar": 1.0}, "IRQ": {"ar": 1.0}, "MAR": {"ar": 1.0},
    "SDN": {"ar": 1.0}, "EGY": {"ar": 1.0}, "IND": {"sa:punjabi_sikh": 0.6, "sa:indian": 0.4},
    "PAK": {"sa:pakistani": 1.0}, "BGD": {"sa:bangladeshi": 1.0}, "VNM": {"vi": 1.0},
}  # fmt: skip
NICK_LANG = {
    "uk": "uk",
    "ru": "ru",
    "pl": "pl",
    "ro": "ro",
    "it": "it",
    "de": "de",
    "ng:yoruba": "yo",
    "ng:igbo": "ig",
    "ng:edo": "bin",
}
LOCAL_CULTURE = {"POL": "pl", "DEU": "de", "ITA": "it", "ROU": "ro", "UKR": "uk"}


# --------------------------------------------------------------------------------------------
# Public types


@dataclass(frozen=True)
class ContributorExport:
    """One contributor's export: who it is, where its file and profile are, how many rows."""

    name: str
    country: str  # ISO 3166-1 alpha-3
    agency_kind: str  # hotline, ngo, police, labour_inspectorate
    export_path: Path
    profile_path: Path
    n_records: int

    @property
    def path(self) -> Path:
        """The export file (alias of ``export_path``)."""
        return self.export_path

    @property
    def kind(self) -> str:
        """Alias of ``agency_kind``."""
        return self.agency_kind


@dataclass(frozen=True)
class Scenario:
    """What :func:`generate_scenario` wrote."""

    out_dir: Path
    seed: int
    contributors: list[ContributorExport]
    truth_path: Path
    manifest_path: Path
    n_records: int
    n_persons: int


# --------------------------------------------------------------------------------------------
# Small helpers


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pick_weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _ranked(rng: random.Random, options: Sequence[str]) -> str:
    return rng.choices(list(options), weights=[1.0 / (i + 1) for i in range(len(options))])[0]


def _age_in_band(rng: random.Random, bands: AgeBands) -> int:
    lo, hi, _ = rng.choices(bands, weights=[b[2] for b in bands])[0]
    return rng.randint(lo, hi)


def _age_at(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _random_day(rng: random.Random, year_weights: dict[int, float]) -> date:
    year = rng.choices(list(year_weights), weights=list(year_weights.values()))[0]
    start = date(year, 1, 1)
    return start + timedelta(days=rng.randrange((date(year, 12, 31) - start).days + 1))


_FOLD_EXTRA = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ø": "o",
        "Ø": "O",
        "ı": "i",
        "ß": "ss",
        "ʼ": "'",
        "’": "'",
    }
)


def strip_diacritics(text: str) -> str:
    """Remove accents (ă→a, ș→s, ł→l, ễ→e, ü→u); other characters unchanged."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold_to_encoding(text: str, encoding: str) -> str:
    """Replace each character that ``encoding`` cannot hold by its accent-free form (or ``?``)."""
    out = []
    for c in text:
        try:
            c.encode(encoding)
            out.append(c)
        except UnicodeEncodeError:
            f = strip_diacritics(c)
            try:
                f.encode(encoding)
                out.append(f)
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


_LAT = "abcdefghijklmnopqrstuvwxyz"
_CYR = "абвгдежзийклмнопрстуфхцчшщьюяіїє"


def typo(text: str, rng: random.Random, edits: int = 1) -> str:
    """``text`` with ``edits`` random single-character edits (substitute, delete, double, swap).

    The first letter is kept in nine cases out of ten, as in real typing errors.
    """
    s = list(text)
    for _ in range(edits):
        if len(s) < 3:
            break
        lo = 0 if rng.random() < 0.1 else 1
        i = rng.randrange(lo, len(s) - 1)
        alphabet = _CYR if "\u0400" <= s[i] <= "\u04ff" else _LAT
        op = rng.random()
        if op < 0.35:
            c = rng.choice(alphabet)
            s[i] = c.upper() if s[i].isupper() else c
        elif op < 0.6:
            del s[i]
        elif op < 0.75:
            s.insert(i, s[i].lower())
        else:
            s[i], s[i + 1] = s[i + 1], s[i]
    return "".join(s)


# --------------------------------------------------------------------------------------------
# Countries, phones and documents


@dataclass(frozen=True)
class _Country:
    alpha3: str
    alpha2: str
    numeric: str
    names: dict[str, str]
    phone: dict[str, Any] | None
    doc: tuple[str, ...]
    localities: tuple[str, ...]


def _countries() -> dict[str, _Country]:
    doc = load_yaml("safelight.demo", "countries.yaml")
    out = {}
    for a3, c in doc.items():
        names = {k: str(c[k]) for k in ("en", "uk", "de", "ro")}
        out[a3] = _Country(
            a3,
            c["a2"],
            str(c["num"]),
            names,
            c.get("phone"),
            tuple(c.get("doc", ())),
            tuple(c.get("localities", ())),
        )
    return out


def _group(nsn: str) -> list[str]:
    pattern = {8: (2, 3, 3), 9: (2, 3, 2, 2), 10: (3, 3, 4), 11: (3, 4, 4)}.get(
        len(nsn), (len(nsn),)
    )
    parts, i = [], 0
    for n in pattern:
        parts.append(nsn[i : i + n])
        i += n
    return parts


def format_phone(cc: str, nsn: str, style: str, trunk: str = "") -> str:
    """Write a phone number (country code ``cc``, national significant number ``nsn``).

    Styles: ``e164`` (+380671234567), ``intl`` (+380 67 123 45 67), ``00`` (00380 67 ...),
    ``digits`` (380671234567), ``national`` (067 123 45 67), ``national_compact`` (0671234567),
    ``national_dashed`` (067-123-45-67).
    """
    groups = _group(nsn)
    if style == "e164":
        return f"+{cc}{nsn}"
    if style == "intl":
        return f"+{cc} " + " ".join(groups)
    if style == "00":
        return f"00{cc} " + " ".join(groups)
    if style == "digits":
        return cc + nsn
    if trunk in ("8", "80"):
        head = "8 " + ("0" if trunk == "80" else "")
    else:
        head = trunk
    if style == "national_compact":
        return head.replace(" ", "") + nsn
    sep = "-" if style == "national_dashed" else " "
    return head + sep.join(groups)


def _doc_number(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "L":
            out.append(rng.choice("ABCEHKMNPTXYZ"))
        elif ch == "#":
            out.append(str(rng.randrange(10)))
        elif ch == "A":
            out.append(rng.choice("0123456789CFGHJKLMNPRTVWXYZ"))
        else:
            out.append(ch)
    return "".join(out)


def romanian_cnp(rng: random.Random, birth: date, sex: str) -> str:
    """A valid-looking Romanian personal numeric code (CNP) with its check digit."""
    s = (1 if sex == "male" else 2) + (4 if birth.year >= 2000 else 0)
    county = rng.choice([f"{i:02d}" for i in range(1, 47)] + ["51", "52"])
    body = f"{s}{birth:%y%m%d}{county}{rng.randrange(1, 1000):03d}"
    check = sum(int(d) * int(k) for d, k in zip(body, "279146358279", strict=True)) % 11
    return body + str(1 if check == 10 else check)


# --------------------------------------------------------------------------------------------
# Persons and registrations


@dataclass
class _Person:
    pid: str
    nationality: str
    sex: str
    gender: str
    birth: date
    name: PersonName
    passport: tuple[str, str] | None
    phone: tuple[str, str] | None
    doc: str | None
    national_id: str | None
    locality: str | None
    street: str | None
    forms: tuple[str, ...]
    sectors: tuple[str, ...]
    sex_types: tuple[str, ...]
    means: tuple[str, ...]
    recruiter: tuple[str, ...]
    months: int | None
    household: str | None = None
    local_phones: dict[str, tuple[str, str]] = field(default_factory=dict)
    local_locality: dict[str, str] = field(default_factory=dict)


@dataclass
class _Reg:
    person: _Person
    contributor: str
    day: date
    cex: str | None = None
    record_id: str = ""
    consent: str = "full"


@dataclass(frozen=True)
class _Policy:
    """How a contributor writes what it learns about a person (probabilities per record)."""

    cyrillic: bool = False  # keep Cyrillic names in Cyrillic
    translit: tuple[tuple[str, float], ...] = (("passport", 1.0),)
    arabic_passport: float = 0.55
    russian_form: float = 0.0
    encoding_fold: str | None = None
    strip: float = 0.0  # drop diacritics of Latin names
    typo: float = 0.05
    swap: float = 0.03
    nick: float = 0.04
    family_missing: float = 0.01
    birth_missing: float = 0.05
    year_only: float = 0.04
    placeholder: float = 0.03
    daymonth: float = 0.03
    phone: float = 0.7
    phone_styles: tuple[tuple[str, float], ...] = (("intl", 0.5), ("e164", 0.5))
    doc: float = 0.4
    locality: float = 0.6
    street: float = 0.3
    local_residence: float = 0.5


@dataclass
class _Obs:
    given: str | None
    given2: str | None
    family: str | None
    patronymic: str | None
    birth: tuple[int, int | None, int | None] | None
    sex: str
    gender: str
    nationality: str
    age: int
    phone: str | None
    doc: str | None
    national_id: str | None
    locality: str | None
    street: str | None
    means: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Contributor specifications


@dataclass(frozen=True)
class _Spec:
    name: str
    country: str
    kind: str
    source_type: str
    share: float
    female: float
    nationalities: dict[str, float]
    forms: dict[str, float]
    sectors: dict[str, float]
    ages: AgeBands
    cex: dict[str, float] | None
    status: dict[str, float]
    policy: _Policy
    war_boost: bool = False
    fmt: str = "csv"
    id_format: Callable[[int, date, random.Random], str] = lambda i, d, r: str(i)
    export_name: str = "export.csv"


SPECS: tuple[_Spec, ...] = (
    _Spec(
        "ua-hotline", "UKR", "hotline", "hotline", 0.27, 0.80,
        {"UKR": 0.94, "MDA": 0.02, "RUS": 0.02, "BLR": 0.02},
        {"sexual": 0.36, "labour": 0.42, "criminal": 0.10, "begging": 0.03, "marriage": 0.02,
         "mixed": 0.04, "other": 0.03},
        SECTORS_GENERAL, AGE_GENERAL,
        {"POL": 0.28, "RUS": 0.18, "UKR": 0.18, "DEU": 0.08, "CZE": 0.08, "ITA": 0.05,
         "TUR": 0.05, "ISR": 0.04, "ESP": 0.03, "GBR": 0.03},
        {"possible": 0.63, "actual": 0.35, "not_a_victim": 0.02},
        _Policy(cyrillic=True, russian_form=0.12, typo=0.06, swap=0.02, nick=0.06,
                family_missing=0.06, birth_missing=0.10, year_only=0.08, placeholder=0.03,
                daymonth=0.02, phone=0.85, doc=0.12, locality=0.7, street=0.35,
                phone_styles=(("national", 0.5), ("national_compact", 0.1), ("intl", 0.25),
                              ("e164", 0.15))),
        war_boost=True, fmt="csv", export_name="ua-hotline.csv",
        id_format=lambda i, d, r: f"ГЛ-{d.year}-{i:06d}",
    ),
    _Spec(
        "pl-ngo", "POL", "ngo", "case_management", 0.14, 0.76,
        {"UKR": 0.42, "POL": 0.22, "BLR": 0.07, "VNM": 0.07, "IRQ": 0.05, "SYR": 0.03,
         "MDA": 0.04, "ROU": 0.04, "RUS": 0.02, "NGA": 0.02, "IND": 0.02},
        {"sexual": 0.35, "labour": 0.45, "criminal": 0.10, "begging": 0.02, "marriage": 0.02,
         "mixed": 0.04, "other": 0.02},
        SECTORS_GENERAL, AGE_GENERAL,
        {"POL": 0.85, "DEU": 0.05, "NLD": 0.04, "GBR": 0.03, "CZE": 0.03},
        {"possible": 0.25, "actual": 0.75},
        _Policy(translit=(("pl", 0.5), ("passport", 0.45), ("uk_national", 0.05)), strip=0.3,
                typo=0.05, swap=0.03, nick=0.04, birth_missing=0.05, year_only=0.04,
                placeholder=0.03, daymonth=0.03, phone=0.7, doc=0.45, locality=0.5, street=0.0,
                phone_styles=(("national", 0.4), ("intl", 0.35), ("e164", 0.15), ("00", 0.1))),
        war_boost=True, fmt="xlsx", export_name="pl-ngo.xlsx",
        id_format=lambda i, d, r: f"PL/{d.year}/{i:04d}",
    ),
    _Spec(
        "de-police", "DEU", "police", "law_enforcement", 0.18, 0.83,
        {"DEU": 0.18, "ROU": 0.22, "NGA": 0.11, "UKR": 0.10, "POL": 0.07, "SYR": 0.06,
         "IRQ": 0.03, "VNM": 0.05, "MAR": 0.03, "MDA": 0.05, "RUS": 0.02, "SDN": 0.02,
         "IND": 0.02, "EGY": 0.02, "PAK": 0.02},
        {"sexual": 0.55, "labour": 0.19, "criminal": 0.18, "begging": 0.03, "marriage": 0.02,
         "mixed": 0.02, "other": 0.01},
        SECTORS_DE, AGE_GENERAL, None,
        {"possible": 0.4, "actual": 0.6},
        _Policy(translit=(("passport", 0.55), ("de_duden", 0.40), ("ru_bgn_pcgn", 0.05)),
                encoding_fold="cp1252", strip=0.2, typo=0.05, swap=0.04, nick=0.02,
                birth_missing=0.03, year_only=0.03, placeholder=0.05, daymonth=0.03, phone=0.6,
                doc=0.7, locality=0.6, street=0.4, arabic_passport=0.6,
                phone_styles=(("national", 0.3), ("intl", 0.3), ("e164", 0.2),
                              ("national_compact", 0.2))),
        fmt="csv_cp1252", export_name="de-police.csv",
        id_format=lambda i, d, r: f"{d.year}-{i:07d}",
    ),
    _Spec(
        "it-labour", "ITA", "labour_inspectorate", "labour_inspection", 0.16, 0.36,
        {"ROU": 0.18, "IND": 0.18, "PAK": 0.10, "BGD": 0.08, "MAR": 0.12, "NGA": 0.12,
         "UKR": 0.07, "EGY": 0.05, "SDN": 0.03, "ITA": 0.04, "MDA": 0.03},
        {"sexual": 0.06, "labour": 0.85, "criminal": 0.05, "mixed": 0.03, "other": 0.01},
        SECTORS_IT, AGE_LABOUR, None,
        {"possible": 0.5, "actual": 0.5},
        _Policy(translit=(("passport", 0.75), ("ru_bgn_pcgn", 0.15), ("fr", 0.10)), strip=0.5,
                typo=0.07, swap=0.08, nick=0.02, birth_missing=0.04, year_only=0.06,
                placeholder=0.06, daymonth=0.04, phone=0.65, doc=0.55, locality=0.8, street=0.3,
                local_residence=0.8, arabic_passport=0.5,
                phone_styles=(("national", 0.4), ("intl", 0.3), ("e164", 0.2), ("00", 0.1))),
        fmt="jsonl", export_name="it-labour.jsonl",
        id_format=lambda i, d, r: f"INL-{d.year}-{i:05d}",
    ),
    _Spec(
        "ng-ngo", "NGA", "ngo", "case_management", 0.16, 0.86,
        {"NGA": 0.96, "NER": 0.04},
        {"sexual": 0.50, "labour": 0.28, "criminal": 0.04, "begging": 0.06, "marriage": 0.05,
         "mixed": 0.03, "organ": 0.01, "other": 0.03},
        SECTORS_NG, AGE_NIGERIA,
        {"NGA": 0.35, "LBY": 0.14, "ITA": 0.12, "GHA": 0.06, "MLI": 0.06, "SAU": 0.06,
         "LBN": 0.05, "ESP": 0.04, "DEU": 0.04, "FRA": 0.04, "RUS": 0.04},
        {"possible": 0.3, "actual": 0.7},
        _Policy(typo=0.06, swap=0.06, nick=0.05, birth_missing=0.12, year_only=0.10,
                placeholder=0.06, daymonth=0.06, phone=0.8, doc=0.2, locality=0.75, street=0.4,
                phone_styles=(("e164", 0.6), ("national", 0.25), ("national_compact", 0.15))),
        fmt="parquet", export_name="ng-ngo.parquet",
        id_format=lambda i, d, r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    ),
    _Spec(
        "ro-ngo", "ROU", "ngo", "case_management", 0.09, 0.72,
        {"ROU": 0.85, "MDA": 0.15},
        {"sexual": 0.45, "labour": 0.30, "criminal": 0.12, "begging": 0.08, "mixed": 0.03,
         "other": 0.02},
        SECTORS_GENERAL, AGE_GENERAL,
        {"ROU": 0.25, "ITA": 0.18, "DEU": 0.18, "ESP": 0.10, "GBR": 0.12, "FRA": 0.06,
         "AUT": 0.05, "NLD": 0.06},
        {"possible": 0.2, "actual": 0.8},
        _Policy(translit=(("passport", 0.6), ("ru_bgn_pcgn", 0.2), ("scholarly", 0.2)),
                strip=0.25, typo=0.04, swap=0.03, nick=0.04, birth_missing=0.02, year_only=0.02,
                placeholder=0.02, daymonth=0.02, phone=0.75, doc=0.8, locality=0.8, street=0.5,
                phone_styles=(("national", 0.6), ("national_compact", 0.2), ("intl", 0.2))),
        fmt="tsv", export_name="ro-ngo.tsv",
        id_format=lambda i, d, r: str(1000 + i),
    ),
)  # fmt: skip
SPEC_BY_NAME = {s.name: s for s in SPECS}

# Routes of persons registered more than once: (weight, contributors in order, nationalities,
# female share, forms).
PATHS: tuple[tuple[float, tuple[str, ...], dict[str, float], float, dict[str, float]], ...] = (
    (
        18,
        ("ua-hotline", "pl-ngo"),
        {"UKR": 1},
        0.85,
        {"sexual": 0.5, "labour": 0.45, "mixed": 0.05},
    ),
    (
        7,
        ("ua-hotline", "pl-ngo", "de-police"),
        {"UKR": 1},
        0.95,
        {"sexual": 0.85, "mixed": 0.1, "labour": 0.05},
    ),
    (
        7,
        ("ua-hotline", "de-police"),
        {"UKR": 1},
        0.85,
        {"sexual": 0.7, "labour": 0.2, "criminal": 0.1},
    ),
    (
        8,
        ("pl-ngo", "de-police"),
        {"UKR": 0.45, "VNM": 0.2, "IRQ": 0.15, "SYR": 0.1, "BLR": 0.1},
        0.6,
        {"labour": 0.5, "sexual": 0.3, "criminal": 0.2},
    ),
    (5, ("ua-hotline", "it-labour"), {"UKR": 1}, 0.6, {"labour": 1}),
    (12, ("ng-ngo", "it-labour"), {"NGA": 1}, 0.85, {"sexual": 0.5, "labour": 0.5}),
    (5, ("ng-ngo", "de-police"), {"NGA": 1}, 0.9, {"sexual": 0.9, "labour": 0.1}),
    (2, ("ng-ngo", "it-labour", "de-police"), {"NGA": 1}, 0.9, {"sexual": 0.7, "labour": 0.3}),
    (
        8,
        ("it-labour", "de-police"),
        {"ROU": 0.55, "MAR": 0.2, "SDN": 0.1, "EGY": 0.1, "PAK": 0.05},
        0.25,
        {"labour": 0.9, "criminal": 0.1},
    ),
    (7, ("ro-ngo", "it-labour"), {"ROU": 0.85, "MDA": 0.15}, 0.35, {"labour": 0.9, "sexual": 0.1}),
    (
        7,
        ("ro-ngo", "de-police"),
        {"ROU": 0.85, "MDA": 0.15},
        0.6,
        {"sexual": 0.55, "labour": 0.3, "criminal": 0.15},
    ),
    (3, ("ua-hotline", "ua-hotline"), {"UKR": 1}, 0.75, {"sexual": 0.4, "labour": 0.6}),
    (
        2,
        ("de-police", "de-police"),
        {"ROU": 0.4, "NGA": 0.3, "DEU": 0.3},
        0.75,
        {"sexual": 0.8, "labour": 0.2},
    ),
    (2, ("it-labour", "it-labour"), {"IND": 0.5, "ROU": 0.5}, 0.2, {"labour": 1}),
)


# --------------------------------------------------------------------------------------------
# Vocabularies: canonical code -> the contributor's own term. Profiles are built from the same
# tables (inverted), so exports and profiles cannot disagree.

UA_FORMS = {
    "sexual_exploitation": "сексуальна експлуатація",
    "forced_labour": "трудова експлуатація",
    "forced_criminal_activity": "залучення до злочинної діяльності",
    "forced_begging": "жебракування",
    "forced_marriage": "примусовий шлюб",
    "organ_removal": "вилучення органів",
    "child_labour": "дитяча праця",
    "other": "інше",
}
UA_SECTORS = {
    "agriculture": "сільське господарство",
    "construction": "будівництво",
    "manufacturing": "виробництво",
    "hospitality": "готелі та ресторани",
    "domestic_work": "домашня праця",
    "transportation": "транспорт",
    "peddling": "вулична торгівля",
    "aquafarming": "рибальство",
    "mining": "видобування",
    "other": "інше",
}
UA_FLAGS = {
    "Борг": "debt_bondage",
    "Відібрані документи": "withholds_documents",
    "Погрози": "threats",
    "Фізичне насильство": "physical_abuse",
    "Обмеження свободи": "restricts_movement",
    "Забирали заробіток": "takes_earnings",
}
UA_RECRUITER = {
    "intimate_partner": "партнер",
    "family": "родич",
    "friend": "знайомий",
    "other": "посередник або роботодавець",
    "unknown": "невідомо",
}
UA_STATUS = {
    "possible": "потенційна жертва",
    "actual": "встановлена жертва",
    "not_a_victim": "не є жертвою",
}
UA_CONSENT = {"full": "повна", "statistics_only": "лише статистика", "none": "відсутня"}
UA_GENDER = {"female": "жін.", "male": "чол.", "trans_nonconforming": "інше"}

PL_FORMS = {
    "sexual_exploitation": "wykorzystanie seksualne",
    "forced_labour": "praca przymusowa",
    "forced_criminal_activity": "zmuszanie do przestępstw",
    "forced_begging": "żebractwo",
    "forced_marriage": "małżeństwo przymusowe",
    "organ_removal": "pobranie organów",
    "child_labour": "praca dzieci",
    "other": "inne",
}
PL_SECTORS = {
    "agriculture": "rolnictwo",
    "construction": "budownictwo",
    "manufacturing": "przemysł",
    "hospitality": "gastronomia i hotelarstwo",
    "domestic_work": "praca domowa",
    "transportation": "transport",
    "peddling": "handel",
    "aquafarming": "rybołówstwo",
    "mining": "górnictwo",
    "other": "inne",
}
PL_MEANS = {
    "debt_bondage": "niewola za długi",
    "takes_earnings": "zabieranie zarobków",
    "threats": "groźby",
    "physical_abuse": "przemoc fizyczna",
    "sexual_abuse": "przemoc seksualna",
    "psychological_abuse": "przemoc psychiczna",
    "false_promises": "fałszywe obietnice",
    "withholds_documents": "odebranie dokumentów",
    "restricts_movement": "ograniczanie swobody",
    "excessive_working_hours": "nadmierne godziny pracy",
    "threatens_family": "groźby wobec rodziny",
    "threat_of_law_enforcement": "straszenie policją lub deportacją",
    "psychoactive_substances": "substancje psychoaktywne",
    "restricts_medical_care": "odmowa opieki medycznej",
    "withholds_necessities": "pozbawianie jedzenia lub snu",
    "restricts_financial_access": "brak dostępu do pieniędzy",
}
PL_RECRUITER = {
    "intimate_partner": "partner",
    "family": "rodzina",
    "friend": "znajomy",
    "other": "pośrednik lub pracodawca",
    "unknown": "nieznana",
}
PL_STATUS = {"possible": "domniemana ofiara", "actual": "ofiara"}
PL_CONSENT = {"full": "pełna", "statistics_only": "tylko statystyka", "none": "brak"}
PL_GENDER = {"female": "K", "male": "M", "trans_nonconforming": "inna"}

DE_FORMS = {
    "sexual_exploitation": "sexuelle Ausbeutung",
    "forced_labour": "Ausbeutung der Arbeitskraft",
    "forced_criminal_activity": "Ausnutzung strafbarer Handlungen",
    "forced_begging": "Ausbeutung bei der Bettelei",
    "forced_marriage": "Zwangsheirat",
    "organ_removal": "Organentnahme",
    "child_labour": "Kinderarbeit",
    "other": "Sonstige",
}
DE_SECTORS = {
    "agriculture": "Landwirtschaft",
    "construction": "Baugewerbe",
    "manufacturing": "Fleischindustrie und Produktion",
    "hospitality": "Gastronomie und Hotel",
    "domestic_work": "Haushalt und Pflege",
    "transportation": "Logistik und Transport",
    "peddling": "Straßenverkauf",
    "aquafarming": "Fischerei",
    "mining": "Bergbau",
    "other": "Sonstige",
}
DE_MEANS = {
    "debt_bondage": "Schuldknechtschaft",
    "takes_earnings": "Einbehalt des Lohns",
    "threats": "Drohungen",
    "physical_abuse": "körperliche Gewalt",
    "sexual_abuse": "sexuelle Gewalt",
    "psychological_abuse": "psychische Gewalt",
    "false_promises": "Täuschung",
    "withholds_documents": "Wegnahme der Ausweispapiere",
    "restricts_movement": "Freiheitsbeschränkung",
    "excessive_working_hours": "überlange Arbeitszeiten",
    "threatens_family": "Drohung gegen Angehörige",
    "threat_of_law_enforcement": "Drohung mit Behörden",
    "psychoactive_substances": "Drogen oder Alkohol",
    "restricts_medical_care": "Verweigerung ärztlicher Hilfe",
    "withholds_necessities": "Entzug von Nahrung oder Schlaf",
    "restricts_financial_access": "kein Zugang zu Geld",
}
DE_RECRUITER = {
    "intimate_partner": "Partner (Loverboy)",
    "family": "Familie",
    "friend": "Bekannte",
    "other": "Vermittler oder Arbeitgeber",
    "unknown": "unbekannt",
}
DE_STATUS = {"possible": "mutmaßliches Opfer", "actual": "Opfer"}
DE_CONSENT = {"full": "ja", "statistics_only": "nur Statistik", "none": "nein"}
DE_GENDER = {"female": "w", "male": "m", "trans_nonconforming": "d"}

IT_FORMS = {
    "sexual_exploitation": "sfruttamento sessuale",
    "forced_labour": "lavoro forzato",
    "forced_criminal_activity": "attività illecite",
    "forced_begging": "accattonaggio",
    "forced_marriage": "matrimonio forzato",
    "organ_removal": "prelievo di organi",
    "child_labour": "lavoro minorile",
    "other": "altro",
}
IT_FORMS_SYNONYMS = {"grave sfruttamento lavorativo": "forced_labour"}
IT_SECTORS = {
    "agriculture": "agricoltura",
    "construction": "edilizia",
    "manufacturing": "manifatturiero",
    "hospitality": "ristorazione e alberghi",
    "domestic_work": "lavoro domestico",
    "transportation": "logistica",
    "peddling": "commercio ambulante",
    "aquafarming": "pesca",
    "mining": "estrazione",
    "other": "altro",
}
IT_MEANS = {
    "debt_bondage": "debito",
    "takes_earnings": "trattenuta del salario",
    "threats": "minacce",
    "physical_abuse": "violenza fisica",
    "sexual_abuse": "violenza sessuale",
    "psychological_abuse": "abuso psicologico",
    "false_promises": "false promesse",
    "withholds_documents": "sequestro documenti",
    "restricts_movement": "limitazione della libertà",
    "excessive_working_hours": "orari eccessivi",
    "threatens_family": "minacce ai familiari",
    "threat_of_law_enforcement": "minaccia di denuncia",
    "psychoactive_substances": "sostanze",
    "restricts_medical_care": "niente cure",
    "withholds_necessities": "privazione di cibo o riposo",
    "restricts_financial_access": "nessun accesso al denaro",
}
IT_RECRUITER = {
    "intimate_partner": "partner",
    "family": "parente",
    "friend": "conoscente",
    "other": "caporale o intermediario",
    "unknown": "non noto",
}
IT_STATUS = {"possible": "presunta vittima", "actual": "vittima"}
IT_CONSENT = {"full": "pieno", "statistics_only": "solo statistico", "none": "nessuno"}
IT_GENDER = {"female": "F", "male": "M", "trans_nonconforming": "X"}

# HTCDS 2.0 system values [4].
HT_FORMS = {
    "sexual_exploitation": "SexualExploitation",
    "forced_labour": "ForcedLabour",
    "forced_criminal_activity": "Other",
    "forced_begging": "ForcedBegging",
    "forced_marriage": "ForcedMarriage",
    "organ_removal": "OrganRemoval",
    "child_labour": "ChildLabour",
    "servitude": "Servitude",
    "other": "Other",
}
HT_SECTORS = {
    "agriculture": "A_AgricultureForestryAndFishing",
    "mining": "B_MiningAndQuarrying",
    "manufacturing": "C_Manufacturing",
    "construction": "F_Construction",
    "peddling": "G_WholesaleAndRetailTrade",
    "transportation": "H_TransportationAndStorage",
    "hospitality": "I_AccommodationAndFoodServiceActivities",
    "domestic_work": "T_ActivitiesOfHouseholdsAsEmployers",
    "other": "S_OtherServiceActivities",
}
HT_MEANS = {
    "threats": "PhysicalThreats",
    "threat_of_law_enforcement": "ThreatsLawEnforcement",
    "threatens_family": "ThreatensChildrenFamily",
    "debt_bondage": "DebtBondage",
    "false_promises": "FalsePromises",
    "physical_abuse": "PhysicalAbuse",
    "sexual_abuse": "SexualAbuse",
    "takes_earnings": "TakesEarnings",
    "restricts_financial_access": "RestrictsFinancialAccess",
    "restricts_medical_care": "RestrictsMedicalCare",
    "withholds_necessities": "WithholdsNecessities",
    "psychological_abuse": "PsychologicalAbuse",
    "psychoactive_substances": "PsychoactiveSubstance",
    "excessive_working_hours": "ExcessiveWorkingHours",
    "withholds_documents": "WithholdsDocuments",
    "restricts_movement": "Other",
}
HT_SEX_TYPES = {
    "prostitution": "Prostitution",
    "pornography": "Pornography",
    "remote_interactive_services": "RemoteInteractiveServices",
    "private_sexual_services": "PrivateSexualServices",
}
HT_RECRUITER = {
    "family": "Familial",
    "friend": "Acquainted",
    "intimate_partner": "Acquainted",
    "other": "Unaquainted",
}
HT_STATUS = {"possible": "PossibleVictimOfTrafficking", "actual": "ActualVictimOfTrafficking"}
HT_CONSENT = {"full": "Full", "statistics_only": "StatisticsOnly", "none": "NoConsent"}
HT_GENDER = {"female": "Feminine", "male": "Masculine", "trans_nonconforming": "NonConforming"}

RO_FORMS = {
    "sexual_exploitation": "exploatare sexuală",
    "forced_labour": "muncă forțată",
    "forced_criminal_activity": "obligare la infracțiuni",
    "forced_begging": "cerșetorie",
    "forced_marriage": "căsătorie forțată",
    "organ_removal": "prelevare de organe",
    "child_labour": "muncă a copiilor",
    "other": "altele",
}
RO_SECTORS = {
    "agriculture": "agricultură",
    "construction": "construcții",
    "manufacturing": "industrie",
    "hospitality": "HoReCa",
    "domestic_work": "muncă domestică",
    "transportation": "transport",
    "peddling": "comerț stradal",
    "aquafarming": "pescuit",
    "mining": "minerit",
    "other": "altele",
}
RO_RECRUITER = {
    "intimate_partner": "partener",
    "family": "familie",
    "friend": "prieten sau cunoștință",
    "other": "angajator sau intermediar",
    "unknown": "necunoscut",
}
RO_CONSENT = {"full": "da", "statistics_only": "doar statistici", "none": "nu"}
RO_GENDER = {"female": "F", "male": "M", "trans_nonconforming": "altul"}

SEX_OF_GENDER = {"female": "female", "male": "male", "trans_nonconforming": "other"}


def _inverse(vocab: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """local term -> canonical code (the first code wins when two codes share a term)."""
    out: dict[str, str] = {}
    for code, term in vocab.items():
        out.setdefault(term, code)
    out.update(extra or {})
    return out


# --------------------------------------------------------------------------------------------
# The scenario builder


class _Builder:
    def __init__(self, seed: int, n_records: int) -> None:
        self.seed = seed
        self.n_records = n_records
        self.rng = random.Random(f"safelight-demo:{seed}")
        self.pools = NamePools()
        self.countries = _countries()
        self.persons: list[_Person] = []
        self.regs: dict[str, list[_Reg]] = {s.name: [] for s in SPECS}
        self.n_households = 0

    # -- persons --------------------------------------------------------------------------

    def _year_weights(self, spec: _Spec) -> dict[int, float]:
        if not spec.war_boost:
            return YEAR_WEIGHTS
        return {y: w * WAR_BOOST.get(y, 1.0) for y, w in YEAR_WEIGHTS.items()}

    def _case_facts(
        self, rng: random.Random, form_key: str, sex: str, sector_mix: dict[str, float], age: int
    ) -> dict[str, Any]:
        forms = FORMS[form_key]
        if age < 18 and "forced_labour" in forms and rng.random() < 0.4:
            forms = (*forms, "child_labour")
        sexual = "sexual_exploitation" in forms
        sectors: tuple[str, ...] = ()
        if "forced_labour" in forms:
            first = _pick(rng, sector_mix)
            sectors = (first,)
            if rng.random() < 0.12:
                second = _pick(rng, sector_mix)
                if second != first:
                    sectors = (first, second)
        sex_types: tuple[str, ...] = ()
        if sexual:
            sex_types = (
                _pick(
                    rng,
                    {
                        "prostitution": 0.85,
                        "remote_interactive_services": 0.07,
                        "pornography": 0.04,
                        "private_sexual_services": 0.04,
                    },
                ),
            )
        means = []
        for code, (p_sex, p_other) in MEANS.items():
            p = p_sex if sexual else p_other
            if code == "physical_abuse" and sex != "female":
                p *= MALE_PHYSICAL_ABUSE_FACTOR
            if rng.random() < p:
                means.append(code)
        rel = RECRUITER_SEXUAL if sexual else RECRUITER_OTHER
        recruiter = (_pick(rng, rel),)
        months = None
        if rng.random() < 0.6:
            months = min(240, int(rng.lognormvariate(2.0, 1.0)))
        return {
            "forms": forms,
            "sectors": sectors,
            "sex_types": sex_types,
            "means": tuple(means),
            "recruiter": recruiter,
            "months": months,
        }

    def _address(
        self, rng: random.Random, culture: str, nationality: str
    ) -> tuple[str | None, str | None]:
        if culture == "ar" or nationality in ("NER",):
            pool = self.countries[nationality].localities
            return (rng.choice(pool) if pool else None), None
        locality = self.pools.locality(rng, culture)
        street = self.pools.street(rng, culture)
        if street is None:
            return locality, None
        n = rng.randint(1, 120)
        if culture == "uk":
            line = f"вул. {street}, {n}" + (
                f", кв. {rng.randint(1, 90)}" if rng.random() < 0.5 else ""
            )
        elif culture == "ru":
            line = f"ул. {street}, д. {n}" + (
                f", кв. {rng.randint(1, 90)}" if rng.random() < 0.5 else ""
            )
        elif culture == "pl":
            line = f"ul. {street} {n}" + (f"/{rng.randint(1, 40)}" if rng.random() < 0.4 else "")
        elif culture == "ro":
            line = f"{street} nr. {n}"
        elif culture in ("de", "it"):
            line = f"{street} {n}" if culture == "de" else f"{street}, {n}"
        else:
            line = f"{n} {street}"
        return locality, line

    def new_person(
        self,
        rng: random.Random,
        nationality: str,
        sex: str,
        ages: AgeBands,
        form_key: str,
        sector_mix: dict[str, float],
        first_day: date,
        name: PersonName | None = None,
        age: int | None = None,
    ) -> _Person:
        culture = _pick(rng, NAT_CULTURE[nationality])
        if name is not None:
            culture = name.culture
        if age is None:
            age = _age_in_band(rng, ages)
        birth = first_day - timedelta(days=int(age * 365.25) + rng.randrange(1, 365))
        if _age_at(birth, first_day) != age:  # keep the drawn age exact
            birth = date(first_day.year - age - 1, first_day.month, 1) + timedelta(
                days=rng.randrange(1, 28)
            )
            if _age_at(birth, first_day) != age:
                birth = date(first_day.year - age, 1, 1)
                if birth > first_day or _age_at(birth, first_day) != age:
                    birth = date(first_day.year - age - 1, 12, 31)
        gender = "trans_nonconforming" if rng.random() < 0.003 else sex
        if name is None:
            name = self.pools.person_name(rng, culture, sex)
        passport = None
        if culture in ("uk", "ru"):
            if culture == "uk":
                if rng.random() < 0.8:
                    system, g = "uk_national", name.given
                else:  # an older passport: Russian form, ICAO or BGN spelling
                    system, g = (
                        rng.choice(("ru_icao", "ru_bgn_pcgn")),
                        self.pools.russian_forms.get(name.given, name.given),
                    )
            else:
                system, g = ("ru_icao" if rng.random() < 0.7 else "ru_bgn_pcgn"), name.given
            lang = "ru" if g != name.given or culture == "ru" else "uk"
            passport = (
                transliterate(g, system, lang=lang),
                transliterate(name.family, system, lang=culture),
            )
        elif culture == "ar":
            style = "fr" if nationality == "MAR" else "en"
            assert name.ar_given is not None and name.ar_family is not None
            g_opts = (
                name.ar_given.fr if style == "fr" and name.ar_given.fr else name.ar_given.variants
            )
            passport = (
                _ranked(rng, g_opts),
                _pick_weighted(rng, arabic_family_forms(name.ar_family, style)),
            )
        country = self.countries[nationality]
        phone = None
        if country.phone and rng.random() < 0.9:
            phone = self._new_phone(rng, nationality)
        doc = (
            _doc_number(rng, rng.choice(country.doc))
            if country.doc and rng.random() < 0.75
            else None
        )
        national_id = None
        if nationality == "ROU":
            national_id = romanian_cnp(rng, birth, sex)
        elif nationality == "MDA":
            national_id = "2" + "".join(str(rng.randrange(10)) for _ in range(12))
        locality, street = self._address(rng, culture, nationality)
        facts = self._case_facts(rng, form_key, sex, sector_mix, age)
        pid = f"P{len(self.persons) + 1:06d}"
        person = _Person(
            pid,
            nationality,
            sex,
            gender,
            birth,
            name,
            passport,
            phone,
            doc,
            national_id,
            locality,
            street,
            **facts,
        )
        self.persons.append(person)
        return person

    def _new_phone(self, rng: random.Random, country: str) -> tuple[str, str]:
        ph = self.countries[country].phone
        assert ph is not None
        prefix = rng.choice(ph["mobile"])
        rest = "".join(str(rng.randrange(10)) for _ in range(int(ph["nsn"]) - len(prefix)))
        return str(ph["cc"]), prefix + rest

    # -- registrations -------------------------------------------------------------------

    def build(self) -> None:
        rng = self.rng
        targets = {s.name: round(self.n_records * s.share) for s in SPECS}
        diff = self.n_records - sum(targets.values())
        targets[SPECS[0].name] += diff
        multi_records = {s.name: 0 for s in SPECS}
        n_multi = 0
        path_weights = [p[0] for p in PATHS]
        # persons registered more than once, until they make MULTI_SHARE of all persons
        while n_multi < MULTI_SHARE / (1 - MULTI_SHARE) * (
            self.n_records - sum(multi_records.values())
        ):
            _, path, nats, female, forms = rng.choices(PATHS, weights=path_weights)[0]
            if any(multi_records[c] + 1 > targets[c] for c in path):
                continue
            self._register_path(rng, path, nats, female, forms)
            for c in path:
                multi_records[c] += 1
            n_multi += 1
        self.n_multi = n_multi
        for spec in SPECS:
            self._register_singles(rng, spec, targets[spec.name] - multi_records[spec.name])

    def _register_path(
        self,
        rng: random.Random,
        path: tuple[str, ...],
        nats: dict[str, float],
        female: float,
        forms: dict[str, float],
    ) -> None:
        first = SPEC_BY_NAME[path[0]]
        days = [_random_day(rng, self._year_weights(first))]
        for _ in path[1:]:
            days.append(days[-1] + timedelta(days=rng.randint(14, 540)))
        overflow = (days[-1] - LAST_DAY).days
        if overflow > 0:
            days = [max(FIRST_DAY, d - timedelta(days=overflow)) for d in days]
        nationality = _pick(rng, nats)
        sex = "female" if rng.random() < female else "male"
        labour_spec = next((SPEC_BY_NAME[c] for c in path if c == "it-labour"), first)
        ages = AGE_LABOUR if "it-labour" in path else first.ages
        person = self.new_person(
            rng, nationality, sex, ages, _pick(rng, forms), labour_spec.sectors, days[0]
        )
        for i, (c, d) in enumerate(zip(path, days, strict=True)):
            later = [
                SPEC_BY_NAME[x].country for x in path[i + 1 :] if SPEC_BY_NAME[x].kind != "hotline"
            ]
            self._add_reg(rng, person, SPEC_BY_NAME[c], d, later[0] if later else None)

    def _register_singles(self, rng: random.Random, spec: _Spec, n: int) -> None:
        # years by exact quotas (largest remainder), so small scenarios keep the published shape
        weights = self._year_weights(spec)
        total = sum(weights.values())
        quotas = {y: n * w / total for y, w in weights.items()}
        counts = {y: int(q) for y, q in quotas.items()}
        for y in sorted(quotas, key=lambda y: counts[y] - quotas[y])[: n - sum(counts.values())]:
            counts[y] += 1
        year_list = [y for y, c in counts.items() for _ in range(c)]
        rng.shuffle(year_list)
        while n > 0:
            year = year_list[n - 1]
            day = _random_day(rng, {year: 1.0})
            nationality = _pick(rng, spec.nationalities)
            if n >= 2 and rng.random() < 0.035:
                n -= self._household(rng, spec, nationality, day, min(n, rng.choice((2, 2, 2, 3))))
                continue
            sex = "female" if rng.random() < spec.female else "male"
            person = self.new_person(
                rng, nationality, sex, spec.ages, _pick(rng, spec.forms), spec.sectors, day
            )
            self._add_reg(rng, person, spec, day, None)
            n -= 1

    def _household(
        self, rng: random.Random, spec: _Spec, nationality: str, day: date, size: int
    ) -> int:
        """Siblings, twins, or a mother and child: same family name, address (and often phone)."""
        self.n_households += 1
        hid = f"H{self.n_households:05d}"
        kind = _pick(rng, {"siblings": 0.6, "twins": 0.15, "parent_child": 0.25})
        form = _pick(rng, spec.forms)
        if kind == "parent_child":
            size = 2
            base = self.new_person(
                rng,
                nationality,
                "female",
                spec.ages,
                form,
                spec.sectors,
                day,
                age=rng.randint(28, 45),
            )
        else:
            sex = "female" if rng.random() < spec.female else "male"
            base = self.new_person(rng, nationality, sex, spec.ages, form, spec.sectors, day)
        base.household = hid
        members = [base]
        for _ in range(size - 1):
            sex = base.sex if rng.random() < 0.7 else ("male" if base.sex == "female" else "female")
            name = self.pools.sibling_name(rng, base.name, sex)
            if kind == "parent_child":
                age = rng.randint(3, 14)
            elif kind == "twins":
                age = _age_at(base.birth, day)
            else:
                age = max(0, _age_at(base.birth, day) + rng.choice((-3, -2, -1, 1, 2, 3)))
            m = self.new_person(
                rng, nationality, sex, spec.ages, form, spec.sectors, day, name=name, age=age
            )
            if kind == "twins":
                m.birth = base.birth
            m.household = hid
            m.locality, m.street = base.locality, base.street
            if base.phone and rng.random() < 0.5:
                m.phone = base.phone
            members.append(m)
        for m in members:
            self._add_reg(
                rng, m, spec, min(LAST_DAY, day + timedelta(days=rng.randint(0, 3))), None
            )
        return len(members)

    def _add_reg(
        self, rng: random.Random, person: _Person, spec: _Spec, day: date, later_country: str | None
    ) -> None:
        if spec.cex is None:
            cex = spec.country
        elif later_country and rng.random() < 0.8:
            cex = later_country
        else:
            cex = _pick(rng, spec.cex)
        reg = _Reg(person, spec.name, day, cex, consent=_pick(rng, CONSENT))
        self.regs[spec.name].append(reg)

    # -- observation: what a contributor writes down -------------------------------------

    def observe(self, rng: random.Random, reg: _Reg, spec: _Spec) -> _Obs:
        p, pol = reg.person, spec.policy
        given, given2, family, system = self._render_name(rng, p, spec)
        if rng.random() < pol.typo:
            given = typo(given, rng, 1 if rng.random() < 0.8 else 2)
        if rng.random() < pol.typo:
            family = typo(family, rng, 1 if rng.random() < 0.8 else 2)
        if rng.random() < pol.swap:
            given, family = family, given
        fam: str | None = family
        if rng.random() < pol.family_missing:
            fam = None
        patr = p.name.patronymic if pol.cyrillic and rng.random() < 0.8 else None
        # birth date
        b = p.birth
        birth: tuple[int, int | None, int | None] | None = (b.year, b.month, b.day)
        r = rng.random()
        cut = pol.birth_missing
        if r < cut:
            birth = None
        elif r < (cut := cut + pol.year_only):
            birth = (b.year, None, None)
        elif r < (cut := cut + pol.placeholder):
            birth = (b.year, 1, 1)
        elif r < (cut := cut + pol.daymonth) and b.day <= 12 and b.day != b.month:
            birth = (b.year, b.day, b.month)
        elif r < cut + 0.015 and (b.month, b.day) != (2, 29):
            birth = (b.year + rng.choice((-1, 1)), b.month, b.day)
        if birth is not None and (birth[0], birth[1] or 1, birth[2] or 1) > (
            reg.day.year,
            reg.day.month,
            reg.day.day,
        ):
            birth = (b.year, b.month, b.day)  # never write a birth after the registration
        # phone
        phone = None
        if p.phone and rng.random() < pol.phone:
            cc, nsn = p.phone
            if (
                spec.country != p.nationality
                and rng.random() < 0.45
                and self.countries[spec.country].phone
            ):
                if spec.country not in p.local_phones:
                    p.local_phones[spec.country] = self._new_phone(rng, spec.country)
                cc, nsn = p.local_phones[spec.country]
            home_cc = (
                str(self.countries[spec.country].phone["cc"])
                if self.countries[spec.country].phone
                else ""
            )
            styles = [
                s for s in pol.phone_styles if cc == home_cc or not s[0].startswith("national")
            ]
            style = _pick_weighted(rng, styles or (("intl", 1.0),))
            trunk = ""
            for c in self.countries.values():
                if c.phone and str(c.phone["cc"]) == cc:
                    trunk = str(c.phone.get("trunk", ""))
                    break
            phone = format_phone(cc, nsn, style, trunk)
        doc = None
        if p.doc and rng.random() < pol.doc:
            doc = p.doc
            if rng.random() < 0.1 and " " not in doc:
                doc = doc[:2] + " " + doc[2:]
            if rng.random() < 0.03:
                doc = doc.replace("0", "O", 1) if "0" in doc else doc[:-1]
        locality = street = None
        if rng.random() < pol.locality:
            local_culture = LOCAL_CULTURE.get(spec.country)
            if (
                spec.country != p.nationality
                and local_culture
                and rng.random() < pol.local_residence
            ):
                if spec.country not in p.local_locality:
                    p.local_locality[spec.country] = self.pools.locality(rng, local_culture) or ""
                locality = p.local_locality[spec.country] or None
            else:
                locality = self._render_text(p.locality, p, spec, system)
                if rng.random() < pol.street:
                    street = self._render_text(p.street, p, spec, system)
        means = tuple(m for m in p.means if rng.random() < 0.85)
        obs = _Obs(
            given,
            given2,
            fam,
            patr,
            birth,
            SEX_OF_GENDER[p.gender] if p.gender != "trans_nonconforming" else p.sex,
            p.gender,
            p.nationality,
            _age_at(p.birth, reg.day),
            phone,
            doc,
            p.national_id,
            locality,
            street,
            means,
        )
        if pol.encoding_fold:
            for attr in ("given", "given2", "family", "locality", "street", "patronymic"):
                v = getattr(obs, attr)
                if v:
                    setattr(obs, attr, fold_to_encoding(v, pol.encoding_fold))
        return obs

    def _render_text(
        self, text: str | None, p: _Person, spec: _Spec, system: str | None
    ) -> str | None:
        """A place or street of the person's home written as the contributor would."""
        if not text:
            return text
        if p.name.culture in ("uk", "ru") and not spec.policy.cyrillic:
            sys_ = (
                system
                if system and system != "passport"
                else ("uk_national" if p.name.culture == "uk" else "ru_icao")
            )
            return transliterate(text, sys_, lang=p.name.culture)
        if spec.policy.strip and self.rng.random() < spec.policy.strip:
            return strip_diacritics(text)
        return text

    def _render_name(
        self, rng: random.Random, p: _Person, spec: _Spec
    ) -> tuple[str, str | None, str, str | None]:
        """(given, second given, family, transliteration system used or None)."""
        pol = spec.policy
        name = p.name
        culture = name.culture
        g_native = name.given
        nick = False
        if rng.random() < pol.nick:
            nk = nicknames(NICK_LANG.get(culture, "en"))
            if g_native in nk:
                g_native = rng.choice(nk[g_native])
                nick = True
        g_lang = culture
        if culture == "uk" and not nick and rng.random() < pol.russian_form:
            ru = self.pools.russian_forms.get(g_native)
            if ru:
                g_native, g_lang = ru, "ru"
        given2 = name.given2
        family = name.family
        system: str | None = None
        if culture in ("uk", "ru"):
            if pol.cyrillic:
                given = g_native
            else:
                system = _pick_weighted(rng, pol.translit)
                if system == "passport" and p.passport and g_native == name.given:
                    given, family = p.passport
                else:
                    sys_ = system
                    if system == "passport":
                        sys_ = "uk_national" if culture == "uk" else "ru_icao"
                    given = transliterate(g_native, sys_, lang=g_lang)
                    family = transliterate(name.family, sys_, lang=culture)
        elif culture == "ar":
            assert name.ar_given is not None and name.ar_family is not None and p.passport
            style = "fr" if p.nationality == "MAR" else "en"
            if rng.random() < pol.arabic_passport:
                given, family = p.passport
            else:
                opts = (
                    name.ar_given.fr
                    if style == "fr" and name.ar_given.fr
                    else name.ar_given.variants
                )
                given = _ranked(rng, opts)
                family = _pick_weighted(rng, arabic_family_forms(name.ar_family, style))
        elif culture == "vi":
            r = rng.random()
            if r < 0.5:
                given = f"{given2} {g_native}"
            elif r < 0.85:
                given = g_native
            else:  # Vietnamese order taken at face value: family name in the given-name field
                given, family = name.family, f"{given2} {g_native}"
            given2 = None
        elif culture == "sa:punjabi_sikh" and name.clan and rng.random() < 0.4:
            given, family = (
                (f"{g_native} {name.family}", name.clan)
                if rng.random() < 0.5
                else (g_native, name.clan)
            )
        else:
            given = g_native
        if culture.startswith("ng:") and given2 and spec.name != "ng-ngo":
            if rng.random() < 0.3:
                given = f"{given} {given2}"
            given2 = None
        if pol.strip and culture not in ("uk", "ru", "ar") and rng.random() < pol.strip:
            given, family = strip_diacritics(given), strip_diacritics(family)
            given2 = strip_diacritics(given2) if given2 else given2
        return given, given2, family, system


# --------------------------------------------------------------------------------------------
# Rendering rows per contributor


def _d(day: date | None, fmt: str) -> str:
    return day.strftime(fmt) if day else ""


def _birth(b: tuple[int, int | None, int | None] | None, fmt: str) -> str:
    if b is None:
        return ""
    y, m, d = b
    if m is None or d is None:
        return f"{y:04d}"
    return fmt.replace("DD", f"{d:02d}").replace("MM", f"{m:02d}").replace("YYYY", f"{y:04d}")


def _terms(codes: Sequence[str], vocab: dict[str, str], sep: str) -> str:
    out: list[str] = []
    for c in codes:
        t = vocab.get(c)
        if t and t not in out:
            out.append(t)
    return sep.join(out)


class _Renderer:
    """Turns registrations into the rows of each contributor's export."""

    def __init__(self, b: _Builder) -> None:
        self.b = b
        self.c = b.countries

    def status(self, rng: random.Random, reg: _Reg, spec: _Spec) -> str:
        return _pick(rng, spec.status)

    # ua-hotline -------------------------------------------------------------------------
    UA_COLUMNS = (
        "№ звернення",
        "Дата звернення",
        "Прізвище",
        "Ім'я",
        "По батькові",
        "Дата народження",
        "Вік",
        "Стать",
        "Громадянство",
        "Телефон",
        "Населений пункт",
        "Адреса",
        "Вид експлуатації",
        "Сфера праці",
        "Країна експлуатації",
        *UA_FLAGS,
        "Хто вербував",
        "Статус",
        "Згода",
        "Примітки",
    )

    def ua(self, rng: random.Random, reg: _Reg, o: _Obs) -> list[Any]:
        p = reg.person
        cit = self.c[o.nationality]
        citizenship = cit.names["uk"] if rng.random() < 0.6 else cit.alpha2
        if rng.random() < 0.04:
            citizenship = ""
        cex = reg.cex or ""
        cex_s = self.c[cex].names["uk"] if cex else ""
        flags = ["так" if code in o.means else "ні" for code in UA_FLAGS.values()]
        note = ""
        if rng.random() < 0.08:
            note = rng.choice(
                (
                    "дзвінок від родича",
                    "повторне звернення",
                    "перенаправлено до НСЗУ",
                    "консультація щодо працевлаштування за кордоном",
                    "дзвінок з-за кордону",
                    "передано до Нацполіції",
                )
            )
        return [
            reg.record_id,
            _d(reg.day, "%d.%m.%Y"),
            o.family or "",
            o.given or "",
            o.patronymic or "",
            _birth(o.birth, "DD.MM.YYYY"),
            str(o.age) if rng.random() < 0.85 else "",
            UA_GENDER[o.gender],
            citizenship,
            o.phone or "",
            o.locality or "",
            o.street or "",
            _terms(p.forms, UA_FORMS, ", "),
            _terms(p.sectors, UA_SECTORS, ", "),
            cex_s,
            *flags,
            _terms(p.recruiter, UA_RECRUITER, ", "),
            UA_STATUS[self.status(rng, reg, SPEC_BY_NAME["ua-hotline"])],
            UA_CONSENT[reg.consent],
            note,
        ]

    # pl-ngo -----------------------------------------------------------------------------
    PL_COLUMNS = (
        "Nr sprawy",
        "Data przyjęcia",
        "Imię",
        "Nazwisko",
        "Data urodzenia",
        "Płeć",
        "Obywatelstwo",
        "Telefon",
        "Miejscowość",
        "Nr dokumentu",
        "Forma wyzysku",
        "Branża",
        "Kraj wyzysku",
        "Środki kontroli",
        "Relacja z werbownikiem",
        "Status",
        "Zgoda",
        "Uwagi",
    )

    def pl(self, rng: random.Random, reg: _Reg, o: _Obs) -> list[Any]:
        p = reg.person
        return [
            reg.record_id,
            reg.day,
            o.given or "",
            o.family or "",
            _birth(o.birth, "YYYY-MM-DD"),
            PL_GENDER[o.gender],
            o.nationality,
            o.phone or "",
            o.locality or "",
            o.doc or "",
            _terms(p.forms, PL_FORMS, "; "),
            _terms(p.sectors, PL_SECTORS, "; "),
            reg.cex or "",
            _terms(o.means, PL_MEANS, "; "),
            _terms(p.recruiter, PL_RECRUITER, "; "),
            PL_STATUS[self.status(rng, reg, SPEC_BY_NAME["pl-ngo"])],
            PL_CONSENT[reg.consent],
            "tłumacz" if rng.random() < 0.05 else "",
        ]

    # de-police --------------------------------------------------------------------------
    DE_COLUMNS = (
        "Vorgangsnummer",
        "Datum Feststellung",
        "Familienname",
        "Vorname",
        "Geburtsdatum",
        "Alter",
        "Geschlecht",
        "Staatsangehörigkeit",
        "Telefon",
        "Wohnort",
        "Straße",
        "Ausweisnummer",
        "Ausweisart",
        "Ausbeutungsform",
        "Branche",
        "Kontrollmittel",
        "Beziehung zum Täter",
        "Opferstatus",
        "Einwilligung",
    )

    def de(self, rng: random.Random, reg: _Reg, o: _Obs) -> list[Any]:
        p = reg.person
        doc_type = ""
        if o.doc:
            doc_type = (
                rng.choice(("Reisepass", "Personalausweis"))
                if p.nationality in ("DEU", "POL", "ROU")
                else "Reisepass"
            )
        return [
            reg.record_id,
            _d(reg.day, "%d.%m.%Y"),
            o.family or "",
            o.given or "",
            _birth(o.birth, "DD.MM.YYYY"),
            str(o.age),
            DE_GENDER[o.gender],
            self.c[o.nationality].names["de"],
            o.phone or "",
            o.locality or "",
            o.street or "",
            o.doc or "",
            doc_type,
            _terms(p.forms, DE_FORMS, " / "),
            _terms(p.sectors, DE_SECTORS, " / "),
            _terms(o.means, DE_MEANS, "; "),
            _terms(p.recruiter, DE_RECRUITER, "; "),
            DE_STATUS[self.status(rng, reg, SPEC_BY_NAME["de-police"])],
            DE_CONSENT[reg.consent],
        ]

    # it-labour --------------------------------------------------------------------------
    IT_KEYS = (
        "id_pratica",
        "data_accertamento",
        "cognome",
        "nome",
        "data_nascita",
        "eta",
        "sesso",
        "cittadinanza",
        "telefono",
        "comune_domicilio",
        "indirizzo",
        "documento",
        "tipo_documento",
        "settore",
        "forme_sfruttamento",
        "indicatori",
        "reclutatore",
        "mesi_sfruttamento",
        "status_vittima",
        "consenso",
    )

    def it(self, rng: random.Random, reg: _Reg, o: _Obs) -> dict[str, Any]:
        p = reg.person
        forms = _terms(p.forms, IT_FORMS, "; ")
        if forms == "lavoro forzato" and rng.random() < 0.3:
            forms = "grave sfruttamento lavorativo"
        doc_type = None
        if o.doc:
            doc_type = "passaporto" if rng.random() < 0.7 else "permesso di soggiorno"
        values = [
            reg.record_id,
            _d(reg.day, "%d/%m/%Y"),
            o.family,
            o.given,
            _birth(o.birth, "DD/MM/YYYY") or None,
            o.age if rng.random() < 0.9 else None,
            IT_GENDER[o.gender],
            self.c[o.nationality].numeric,
            o.phone,
            o.locality,
            o.street,
            o.doc,
            doc_type,
            _terms(p.sectors, IT_SECTORS, "; ") or None,
            forms,
            _terms(o.means, IT_MEANS, "; ") or None,
            _terms(p.recruiter, IT_RECRUITER, "; "),
            p.months,
            IT_STATUS[self.status(rng, reg, SPEC_BY_NAME["it-labour"])],
            IT_CONSENT[reg.consent],
        ]
        return dict(zip(self.IT_KEYS, values, strict=True))

    # ng-ngo -----------------------------------------------------------------------------
    NG_COLUMNS = (
        "cas_CaseId",
        "cas_DateOpened",
        "prs_FirstName",
        "prs_MiddleName",
        "prs_LastName",
        "prs_Birthdate",
        "prs_Gender",
        "prs_Citizenship",
        "prs_MobilePhone",
        "prs_MailingCity",
        "prs_MailingStreet",
        "prs_IdentityNumber",
        "vic_TraffickingStatus",
        "vic_TypeOfExploitation",
        "vic_ForcedLabourIndustry",
        "vic_TypeOfSexExploitation",
        "vic_MethodsOfControl",
        "vic_RelationshipToTrafficker",
        "hte_Country",
        "con_Consent",
        "con_ConsentScope",
    )

    def ng(self, rng: random.Random, reg: _Reg, o: _Obs) -> list[Any]:
        p = reg.person
        given, middle = o.given, o.given2
        if middle and rng.random() < 0.3:
            given, middle = (f"{given} {middle}" if rng.random() < 0.5 else given), None
        rel = [r for r in p.recruiter if r in HT_RECRUITER]
        cex = reg.cex
        return [
            reg.record_id,
            _d(reg.day, "%m/%d/%Y"),
            given,
            middle,
            o.family,
            _birth(o.birth, "MM/DD/YYYY") or None,
            HT_GENDER[o.gender],
            self.c[o.nationality].alpha2,
            o.phone,
            o.locality,
            o.street,
            o.doc,
            HT_STATUS[self.status(rng, reg, SPEC_BY_NAME["ng-ngo"])],
            _terms(p.forms, HT_FORMS, ";"),
            _terms(p.sectors, HT_SECTORS, ";") or None,
            _terms(p.sex_types, HT_SEX_TYPES, ";") or None,
            _terms(o.means, HT_MEANS, ";") or None,
            _terms(rel, HT_RECRUITER, ";") or None,
            self.c[cex].names["en"] if cex else None,
            "true" if reg.consent != "none" else "false",
            HT_CONSENT[reg.consent],
        ]

    # ro-ngo -----------------------------------------------------------------------------
    RO_COLUMNS = (
        "Cod caz",
        "Data înregistrării",
        "Nume",
        "Prenume",
        "CNP",
        "Data nașterii",
        "Sex",
        "Cetățenie",
        "Telefon",
        "Localitate",
        "Adresă",
        "Formă de exploatare",
        "Domeniu",
        "Țara exploatării",
        "Relația cu recrutorul",
        "Acord",
    )

    def ro(self, rng: random.Random, reg: _Reg, o: _Obs) -> list[Any]:
        p = reg.person
        cnp = o.national_id if o.national_id and rng.random() < 0.85 else ""
        cex = reg.cex or ""
        return [
            reg.record_id,
            _d(reg.day, "%d.%m.%Y"),
            o.family or "",
            o.given or "",
            cnp,
            _birth(o.birth, "DD.MM.YYYY"),
            RO_GENDER[o.gender],
            self.c[o.nationality].alpha2,
            o.phone or "",
            o.locality or "",
            o.street or "",
            _terms(p.forms, RO_FORMS, ", "),
            _terms(p.sectors, RO_SECTORS, ", "),
            self.c[cex].names["ro"] if cex else "",
            _terms(p.recruiter, RO_RECRUITER, ", "),
            RO_CONSENT[reg.consent],
        ]


# --------------------------------------------------------------------------------------------
# Deliberately bad rows


@dataclass(frozen=True)
class _BadKinds:
    birth_col: str | int
    impossible: str
    future: str
    code_col: str | int
    unknown: str


BAD = {
    "ua-hotline": _BadKinds(
        "Дата народження", "31.02.1990", "14.03.2034", "Вид експлуатації", "трудова експлоатація"
    ),
    "pl-ngo": _BadKinds(
        "Data urodzenia", "1991-02-30", "2035-06-01", "Forma wyzysku", "prca przymusowa"
    ),
    "de-police": _BadKinds(
        "Geburtsdatum", "31.04.1988", "01.09.2036", "Ausbeutungsform", "Arbeitsausbeutng"
    ),
    "it-labour": _BadKinds(
        "data_nascita", "30/02/1993", "12/12/2033", "forme_sfruttamento", "lavoro forzatto"
    ),
    "ng-ngo": _BadKinds(
        "prs_Birthdate", "02/30/1995", "07/04/2037", "vic_TypeOfExploitation", "ForcedLabor"
    ),
    "ro-ngo": _BadKinds(
        "Data nașterii", "29.02.1990", "05.05.2038", "Formă de exploatare", "munca fortat"
    ),
}
BAD_ORDER = ("invalid_date", "future_birth_date", "unknown_code", "duplicate_record_id")


# --------------------------------------------------------------------------------------------
# Profiles


def _values_country(lang: str, countries: dict[str, _Country]) -> dict[str, str]:
    return {c.names[lang]: a3 for a3, c in countries.items()}


def _profile(spec: _Spec, countries: dict[str, _Country]) -> dict[str, Any]:
    """The mapping profile (docs/profiles.md) that reads ``spec``'s export."""
    head: dict[str, Any] = {"profile": spec.name, "version": 1}
    desc = {
        "ua-hotline": "Export of a Ukrainian counter-trafficking hotline's case register "
        "(semicolon CSV, UTF-8 with BOM, Ukrainian headers). Demo data.",
        "pl-ngo": "Case register of a Polish NGO assisting trafficked persons (XLSX, sheet "
        "'Rejestr'; sheet 'Uwagi' holds notes). Demo data.",
        "de-police": "Export of a German police unit's trafficking cases (comma CSV, cp1252). "
        "Demo data.",
        "it-labour": "Inspection findings of an Italian labour inspectorate (JSON Lines, numeric "
        "ISO 3166 country codes). Demo data.",
        "ng-ngo": "Case-management export of a Nigerian NGO using HTCDS 2.0 field names and "
        "system values (Parquet; dates as US MM/DD/YYYY text). Demo data.",
        "ro-ngo": "Case register of a Romanian NGO (tab-separated, UTF-8, Romanian headers, "
        "CNP personal codes). Demo data.",
    }[spec.name]
    head["description"] = desc
    head["target"] = "cases"
    if spec.name == "ng-ngo":
        head["crosswalk"] = "htcds-2.0"
    defaults: dict[str, Any] = {"data_source_type": spec.source_type}
    if spec.cex is None:
        defaults["country_of_exploitation"] = spec.country
    if spec.name == "ua-hotline":
        g = {v: k for k, v in UA_GENDER.items()}
        s = {v: SEX_OF_GENDER[k] for k, v in UA_GENDER.items()}
        uk_c = _values_country("uk", countries)
        head["read"] = {"delimiter": ";", "encoding": "utf-8", "header_row": 1}
        head["record_id"] = "№ звернення"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Дата звернення", "date_formats": ["%d.%m.%Y"]},
            "family_name": "Прізвище",
            "given_name": "Ім'я",
            "birth_date": {
                "column": "Дата народження",
                "date_formats": ["%d.%m.%Y", "%Y"],
            },
            "age_years": "Вік",
            "gender": {"column": "Стать", "values": g},
            "sex": {"column": "Стать", "values": s},
            "citizenship": {"column": "Громадянство", "values": uk_c},
            "nationality": {"column": "Громадянство", "values": uk_c},
            "phone": "Телефон",
            "locality": "Населений пункт",
            "street": "Адреса",
            "types_of_exploitation": {
                "column": "Вид експлуатації",
                "separator": ", ",
                "values": _inverse(UA_FORMS),
            },
            "labour_sectors": {
                "column": "Сфера праці",
                "separator": ", ",
                "values": _inverse(UA_SECTORS),
            },
            "country_of_exploitation": {"column": "Країна експлуатації", "values": uk_c},
            "means_of_control": {
                "flags": dict(UA_FLAGS),
                "true_values": ["так"],
                "false_values": ["ні"],
            },
            "recruiter_relationship": {
                "column": "Хто вербував",
                "separator": ", ",
                "values": _inverse(UA_RECRUITER),
            },
            "trafficking_status": {"column": "Статус", "values": _inverse(UA_STATUS)},
            "consent": {"column": "Згода", "values": _inverse(UA_CONSENT)},
        }
    elif spec.name == "pl-ngo":
        head["read"] = {"sheet": "Rejestr", "header_row": 1}
        head["record_id"] = "Nr sprawy"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Data przyjęcia", "date_formats": ["%Y-%m-%d"]},
            "given_name": "Imię",
            "family_name": "Nazwisko",
            "birth_date": {"column": "Data urodzenia", "date_formats": ["%Y-%m-%d", "%Y"]},
            "gender": {"column": "Płeć", "values": {v: k for k, v in PL_GENDER.items()}},
            "sex": {
                "column": "Płeć",
                "values": {v: SEX_OF_GENDER[k] for k, v in PL_GENDER.items()},
            },
            "citizenship": "Obywatelstwo",
            "nationality": "Obywatelstwo",
            "phone": "Telefon",
            "locality": "Miejscowość",
            "document_number": "Nr dokumentu",
            "types_of_exploitation": {
                "column": "Forma wyzysku",
                "separator": ";",
                "values": _inverse(PL_FORMS),
            },
            "labour_sectors": {
                "column": "Branża",
                "separator": ";",
                "values": _inverse(PL_SECTORS),
            },
            "country_of_exploitation": "Kraj wyzysku",
            "means_of_control": {
                "column": "Środki kontroli",
                "separator": ";",
                "values": _inverse(PL_MEANS),
            },
            "recruiter_relationship": {
                "column": "Relacja z werbownikiem",
                "separator": ";",
                "values": _inverse(PL_RECRUITER),
            },
            "trafficking_status": {"column": "Status", "values": _inverse(PL_STATUS)},
            "consent": {"column": "Zgoda", "values": _inverse(PL_CONSENT)},
        }
    elif spec.name == "de-police":
        de_c = _values_country("de", countries)
        head["read"] = {"delimiter": ",", "encoding": "cp1252", "header_row": 1}
        head["record_id"] = "Vorgangsnummer"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Datum Feststellung", "date_formats": ["%d.%m.%Y"]},
            "family_name": "Familienname",
            "given_name": "Vorname",
            "birth_date": {
                "column": "Geburtsdatum",
                "date_formats": ["%d.%m.%Y", "%Y"],
            },
            "age_years": "Alter",
            "gender": {"column": "Geschlecht", "values": {v: k for k, v in DE_GENDER.items()}},
            "sex": {
                "column": "Geschlecht",
                "values": {v: SEX_OF_GENDER[k] for k, v in DE_GENDER.items()},
            },
            "citizenship": {"column": "Staatsangehörigkeit", "values": de_c},
            "nationality": {"column": "Staatsangehörigkeit", "values": de_c},
            "phone": "Telefon",
            "locality": "Wohnort",
            "street": "Straße",
            "document_number": "Ausweisnummer",
            "document_type": "Ausweisart",
            "types_of_exploitation": {
                "column": "Ausbeutungsform",
                "separator": " / ",
                "values": _inverse(DE_FORMS),
            },
            "labour_sectors": {
                "column": "Branche",
                "separator": " / ",
                "values": _inverse(DE_SECTORS),
            },
            "means_of_control": {
                "column": "Kontrollmittel",
                "separator": ";",
                "values": _inverse(DE_MEANS),
            },
            "recruiter_relationship": {
                "column": "Beziehung zum Täter",
                "separator": ";",
                "values": _inverse(DE_RECRUITER),
            },
            "trafficking_status": {"column": "Opferstatus", "values": _inverse(DE_STATUS)},
            "consent": {"column": "Einwilligung", "values": _inverse(DE_CONSENT)},
        }
    elif spec.name == "it-labour":
        head["read"] = {"encoding": "utf-8"}
        head["record_id"] = "id_pratica"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "data_accertamento", "date_formats": ["%d/%m/%Y"]},
            "family_name": "cognome",
            "given_name": "nome",
            "birth_date": {
                "column": "data_nascita",
                "date_formats": ["%d/%m/%Y", "%Y"],
            },
            "age_years": "eta",
            "gender": {"column": "sesso", "values": {v: k for k, v in IT_GENDER.items()}},
            "sex": {
                "column": "sesso",
                "values": {v: SEX_OF_GENDER[k] for k, v in IT_GENDER.items()},
            },
            "citizenship": "cittadinanza",
            "nationality": "cittadinanza",
            "phone": "telefono",
            "locality": "comune_domicilio",
            "street": "indirizzo",
            "document_number": "documento",
            "document_type": "tipo_documento",
            "labour_sectors": {
                "column": "settore",
                "separator": ";",
                "values": _inverse(IT_SECTORS),
            },
            "types_of_exploitation": {
                "column": "forme_sfruttamento",
                "separator": ";",
                "values": _inverse(IT_FORMS, IT_FORMS_SYNONYMS),
            },
            "means_of_control": {
                "column": "indicatori",
                "separator": ";",
                "values": _inverse(IT_MEANS),
            },
            "recruiter_relationship": {
                "column": "reclutatore",
                "separator": ";",
                "values": _inverse(IT_RECRUITER),
            },
            "months_trafficked": "mesi_sfruttamento",
            "trafficking_status": {"column": "status_vittima", "values": _inverse(IT_STATUS)},
            "consent": {"column": "consenso", "values": _inverse(IT_CONSENT)},
        }
    elif spec.name == "ng-ngo":
        head["record_id"] = "cas_CaseId"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "cas_DateOpened", "date_formats": ["%m/%d/%Y"]},
            "given_name": "prs_FirstName",
            "family_name": "prs_LastName",
            "birth_date": {
                "column": "prs_Birthdate",
                "date_formats": ["%m/%d/%Y", "%Y"],
            },
            "gender": {"column": "prs_Gender", "values": {v: k for k, v in HT_GENDER.items()}},
            "sex": {
                "column": "prs_Gender",
                "values": {v: SEX_OF_GENDER[k] for k, v in HT_GENDER.items()},
            },
            "citizenship": "prs_Citizenship",
            "nationality": "prs_Citizenship",
            "phone": "prs_MobilePhone",
            "locality": "prs_MailingCity",
            "street": "prs_MailingStreet",
            "document_number": "prs_IdentityNumber",
            "trafficking_status": {
                "column": "vic_TraffickingStatus",
                "values": _inverse(HT_STATUS),
            },
            "types_of_exploitation": {
                "column": "vic_TypeOfExploitation",
                "separator": ";",
                "values": _inverse(HT_FORMS, {"Other": "other"}),
            },
            "labour_sectors": {
                "column": "vic_ForcedLabourIndustry",
                "separator": ";",
                "values": _inverse(HT_SECTORS),
            },
            "types_of_sexual_exploitation": {
                "column": "vic_TypeOfSexExploitation",
                "separator": ";",
                "values": _inverse(HT_SEX_TYPES),
            },
            "means_of_control": {
                "column": "vic_MethodsOfControl",
                "separator": ";",
                "values": _inverse(HT_MEANS, {"Other": "other"}),
            },
            "recruiter_relationship": {
                "column": "vic_RelationshipToTrafficker",
                "separator": ";",
                "values": _inverse(HT_RECRUITER),
            },
            "country_of_exploitation": "hte_Country",
            "consent": {"column": "con_ConsentScope", "values": _inverse(HT_CONSENT)},
        }
    elif spec.name == "ro-ngo":
        head["read"] = {"delimiter": "\t", "encoding": "utf-8", "header_row": 1}
        head["record_id"] = "Cod caz"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Data înregistrării", "date_formats": ["%d.%m.%Y"]},
            "family_name": "Nume",
            "given_name": "Prenume",
            "document_number": "CNP",
            "birth_date": {
                "column": "Data nașterii",
                "date_formats": ["%d.%m.%Y", "%Y"],
            },
            "gender": {"column": "Sex", "values": {v: k for k, v in RO_GENDER.items()}},
            "sex": {"column": "Sex", "values": {v: SEX_OF_GENDER[k] for k, v in RO_GENDER.items()}},
            "citizenship": "Cetățenie",
            "nationality": "Cetățenie",
            "phone": "Telefon",
            "locality": "Localitate",
            "street": "Adresă",
            "types_of_exploitation": {
                "column": "Formă de exploatare",
                "separator": ", ",
                "values": _inverse(RO_FORMS),
            },
            "labour_sectors": {
                "column": "Domeniu",
                "separator": ", ",
                "values": _inverse(RO_SECTORS),
            },
            "country_of_exploitation": {
                "column": "Țara exploatării",
                "values": _values_country("ro", countries),
            },
            "recruiter_relationship": {
                "column": "Relația cu recrutorul",
                "separator": ", ",
                "values": _inverse(RO_RECRUITER),
            },
            "consent": {"column": "Acord", "values": _inverse(RO_CONSENT)},
        }
    return head


def _write_profile(path: Path, profile: dict[str, Any]) -> None:
    header = (
        f"# Mapping profile for the demo contributor {profile['profile']!r} "
        "(format: docs/profiles.md).\n# Generated by safelight.demo; edit the generator, "
        "not this file.\n"
    )
    text = yaml.safe_dump(
        profile, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    path.write_text(header + text, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------
# Writers


FIXED_TIMESTAMP = datetime(2024, 1, 15, 9, 0, 0)


def _write_csv(
    path: Path,
    header: Sequence[str],
    rows: list[list[Any]],
    *,
    delimiter: str,
    encoding: str,
    bom: bool = False,
    lineterminator: str = "\r\n",
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _write_xlsx(path: Path, header: Sequence[str], rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    wb.properties.creator = "Rejestr spraw (demo)"
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    ws = wb.create_sheet("Rejestr")
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    notes = wb.create_sheet("Uwagi")
    notes.append(["Uwagi do eksportu"])
    notes.append(["Eksport z rejestru spraw, stan na 15.01.2024."])
    notes.append(["Daty urodzenia wpisywane ręcznie; sam rok, gdy dokładna data nieznana."])
    notes.append(["Obywatelstwo: kody ISO 3166-1 alfa-3."])
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    # re-pack with fixed entry timestamps so that the bytes depend on the content only
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 15, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    path.write_bytes(out.getvalue())


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_parquet(path: Path, header: Sequence[str], rows: list[list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {h: pa.array([r[i] for r in rows], type=pa.string()) for i, h in enumerate(header)}
    pq.write_table(pa.table(cols), path, compression="snappy")


# --------------------------------------------------------------------------------------------
# The public entry points


def generate_scenario(out_dir: Path, *, seed: int = 2023, n_records: int = 20_000) -> Scenario:
    """Generate the demo scenario under ``out_dir`` and return what was written.

    Writes ``<out_dir>/<contributor>/<export>`` and ``<export>.profile.yaml`` for each of the six
    contributors, ``<out_dir>/truth.csv`` and ``<out_dir>/scenario.json``. About ``n_records``
    rows are written in total (plus the duplicated-id bad rows, ~0.1%). Deterministic: the same
    ``seed`` and ``n_records`` give byte-identical files. Raises ValueError when ``n_records`` is
    below 200 (too few rows for every route and bad-row kind).
    """
    if n_records < 200:
        raise ValueError(f"n_records must be at least 200, got {n_records}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    b = _Builder(seed, n_records)
    b.build()
    r = _Renderer(b)
    contributors: list[ContributorExport] = []
    truth_rows: list[tuple[str, str, str]] = []
    bad_rows: list[dict[str, Any]] = []
    stats_regs: list[_Reg] = []
    for spec in SPECS:
        rng = random.Random(f"safelight-demo:{seed}:{spec.name}")
        regs = sorted(b.regs[spec.name], key=lambda x: (x.day, x.person.pid))
        for i, reg in enumerate(regs, start=1):
            reg.record_id = spec.id_format(i, reg.day, rng)
        render = getattr(r, spec.name.split("-")[0])
        rows = [render(rng, reg, b.observe(rng, reg, spec)) for reg in regs]
        owners = [reg.person.pid for reg in regs]
        rows, owners, bad = _inject_bad_rows(rng, spec, rows, owners, regs)
        bad_rows.extend(bad)
        stats_regs.extend(regs)
        cdir = out_dir / spec.name
        cdir.mkdir(exist_ok=True)
        export = cdir / spec.export_name
        profile_path = cdir / (spec.export_name + ".profile.yaml")
        _write_export(spec, export, rows, r)
        _write_profile(profile_path, _profile(spec, b.countries))
        ids = [(_row_id(spec, row)) for row in rows]
        truth_rows.extend((spec.name, rid, pid) for rid, pid in zip(ids, owners, strict=True))
        contributors.append(
            ContributorExport(spec.name, spec.country, spec.kind, export, profile_path, len(rows))
        )
        log.info("demo: %s wrote %d rows to %s", spec.name, len(rows), export)
    truth_path = out_dir / "truth.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("contributor", "record_id", "person_id"))
    w.writerows(truth_rows)
    truth_path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    manifest_path = out_dir / "scenario.json"
    manifest = _manifest(
        b, seed, n_records, contributors, out_dir, bad_rows, stats_regs, len(truth_rows)
    )
    manifest_path.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n"
    )
    log.info(
        "demo: %d rows, %d persons in %.1f s",
        len(truth_rows),
        len(b.persons),
        time.perf_counter() - started,
    )
    return Scenario(
        out_dir, seed, contributors, truth_path, manifest_path, len(truth_rows), len(b.persons)
    )


def _row_id(spec: _Spec, row: Any) -> str:
    if isinstance(row, dict):
        return str(row["id_pratica"])
    return str(row[0])


def _write_export(spec: _Spec, path: Path, rows: list[Any], r: _Renderer) -> None:
    if spec.name == "ua-hotline":
        _write_csv(path, r.UA_COLUMNS, rows, delimiter=";", encoding="utf-8", bom=True)
    elif spec.name == "pl-ngo":
        _write_xlsx(path, r.PL_COLUMNS, rows)
    elif spec.name == "de-police":
        _write_csv(path, r.DE_COLUMNS, rows, delimiter=",", encoding="cp1252")
    elif spec.name == "it-labour":
        _write_jsonl(path, rows)
    elif spec.name == "ng-ngo":
        _write_parquet(path, r.NG_COLUMNS, rows)
    elif spec.name == "ro-ngo":
        _write_csv(path, r.RO_COLUMNS, rows, delimiter="\t", encoding="utf-8", lineterminator="\n")


def _columns(spec: _Spec) -> tuple[str, ...]:
    return {
        "ua-hotline": _Renderer.UA_COLUMNS,
        "pl-ngo": _Renderer.PL_COLUMNS,
        "de-police": _Renderer.DE_COLUMNS,
        "it-labour": _Renderer.IT_KEYS,
        "ng-ngo": _Renderer.NG_COLUMNS,
        "ro-ngo": _Renderer.RO_COLUMNS,
    }[spec.name]


def _inject_bad_rows(
    rng: random.Random, spec: _Spec, rows: list[Any], owners: list[str], regs: list[_Reg]
) -> tuple[list[Any], list[str], list[dict[str, Any]]]:
    """Spoil ~0.5% of rows (one kind after the other) and return them with their listing."""
    n_bad = max(len(BAD_ORDER), round(BAD_ROW_SHARE * len(rows)))
    cols = _columns(spec)
    kinds = BAD[spec.name]
    chosen = sorted(rng.sample(range(len(rows)), n_bad))
    listing: list[dict[str, Any]] = []
    duplicates: list[tuple[int, Any, str]] = []

    def setcell(row: Any, col: str | int, value: Any) -> None:
        if isinstance(row, dict):
            row[col] = value
        else:
            row[cols.index(str(col))] = value

    for k, idx in enumerate(chosen):
        kind = BAD_ORDER[k % len(BAD_ORDER)]
        row = rows[idx]
        if kind == "invalid_date":
            setcell(row, kinds.birth_col, kinds.impossible)
            listing.append(
                {"kind": kind, "column": kinds.birth_col, "value": kinds.impossible, "index": idx}
            )
        elif kind == "future_birth_date":
            setcell(row, kinds.birth_col, kinds.future)
            listing.append(
                {"kind": kind, "column": kinds.birth_col, "value": kinds.future, "index": idx}
            )
        elif kind == "unknown_code":
            setcell(row, kinds.code_col, kinds.unknown)
            listing.append(
                {"kind": kind, "column": kinds.code_col, "value": kinds.unknown, "index": idx}
            )
        else:  # the same case entered twice, the second time with another phone number
            dup = dict(row) if isinstance(row, dict) else list(row)
            phone_col = {
                "ua-hotline": "Телефон",
                "pl-ngo": "Telefon",
                "de-police": "Telefon",
                "it-labour": "telefono",
                "ng-ngo": "prs_MobilePhone",
                "ro-ngo": "Telefon",
            }[spec.name]
            setcell(dup, phone_col, None if spec.name in ("it-labour", "ng-ngo") else "")
            target = min(len(rows), idx + 1 + rng.randrange(5))
            duplicates.append((target, dup, owners[idx]))
    # insert duplicates from the back so earlier positions stay valid
    for target, dup, owner in sorted(duplicates, key=lambda t: t[0], reverse=True):
        rows.insert(target, dup)
        owners.insert(target, owner)
    # map listing indices through the insertions and add the duplicates' own rows
    inserted = sorted(t[0] for t in duplicates)
    header_lines = 0 if spec.fmt in ("jsonl", "parquet") else 1
    out = []
    for item in listing:
        shift = sum(1 for t in inserted if t <= item["index"])
        pos = item.pop("index") + shift
        out.append(
            {
                "contributor": spec.name,
                "row": pos + 1,
                "source_row": pos + 1 + header_lines,
                "record_id": _row_id(spec, rows[pos]),
                **item,
            }
        )
    id_col = cols[0]
    offset = 0
    for target in inserted:
        pos = target + offset
        offset += 1
        out.append(
            {
                "contributor": spec.name,
                "row": pos + 1,
                "source_row": pos + 1 + header_lines,
                "record_id": _row_id(spec, rows[pos]),
                "kind": "duplicate_record_id",
                "column": id_col,
                "value": _row_id(spec, rows[pos]),
            }
        )
    out.sort(key=lambda x: x["row"])
    return rows, owners, out


def _manifest(
    b: _Builder,
    seed: int,
    n_records: int,
    contributors: list[ContributorExport],
    out_dir: Path,
    bad_rows: list[dict[str, Any]],
    regs: list[_Reg],
    n_rows: int,
) -> dict[str, Any]:
    persons = b.persons
    counts: dict[str, int] = {}
    for reg in regs:
        counts[reg.person.pid] = counts.get(reg.person.pid, 0) + 1
    multi = sum(1 for c in counts.values() if c >= 2)
    n = len(regs)
    female_rec = sum(1 for r in regs if r.person.sex == "female") / n
    female_per = sum(1 for p in persons if p.sex == "female") / len(persons)
    ages = [_age_at(r.person.birth, r.day) for r in regs]
    by_year: dict[str, int] = {}
    for r in sorted(regs, key=lambda x: x.day):
        by_year[str(r.day.year)] = by_year.get(str(r.day.year), 0) + 1
    forms: dict[str, int] = {}
    for r in regs:
        for f in r.person.forms:
            forms[f] = forms.get(f, 0) + 1
    consent: dict[str, int] = {}
    for r in regs:
        consent[r.consent] = consent.get(r.consent, 0) + 1
    return {
        "generator": "safelight.demo",
        "software_version": safelight.__version__,
        "seed": seed,
        "n_records_requested": n_records,
        "n_records": n_rows,
        "n_persons": len(persons),
        "n_persons_registered_more_than_once": multi,
        "share_persons_registered_more_than_once": round(multi / len(persons), 4),
        "n_households": b.n_households,
        "n_household_members": sum(1 for p in persons if p.household),
        "truth": "truth.csv",
        "contributors": [
            {
                "name": c.name,
                "country": c.country,
                "agency_kind": c.agency_kind,
                "export": c.export_path.relative_to(out_dir).as_posix(),
                "profile": c.profile_path.relative_to(out_dir).as_posix(),
                "format": SPEC_BY_NAME[c.name].fmt,
                "n_records": c.n_records,
            }
            for c in contributors
        ],
        "bad_rows": bad_rows,
        "bad_rows_note": "row = 1-based data row, header not counted; source_row = the row "
        "as safelight ingest reports it (the line of a CSV/TSV or the sheet row of an XLSX, "
        "header = 1; the line of a JSON Lines file; the 1-based record of a Parquet file). "
        "duplicate_record_id lists the second occurrence.",
        "distributions": {
            "female_share_of_records": round(female_rec, 4),
            "female_share_of_persons": round(female_per, 4),
            "child_share_of_records": round(sum(1 for a in ages if a < 18) / n, 4),
            "aged_18_29_share_of_records": round(sum(1 for a in ages if 18 <= a <= 29) / n, 4),
            "records_by_year": by_year,
            "form_share_of_records": {k: round(v / n, 4) for k, v in sorted(forms.items())},
            "consent_share_of_records": {k: round(v / n, 4) for k, v in sorted(consent.items())},
        },
        "targets": {
            "female_share": "≈0.74 (CTDC data story [23])",
            "aged_18_29_share": "≈0.43 (CTDC [23])",
            "child_share": "≈0.24 (CTDC [23])",
            "forced_criminal_activity_share": "≈0.10 in 2020 (GLOTIP 2022 [42])",
            "change_2019_2020": "−11% (GLOTIP 2022 [42])",
        },
    }


# --------------------------------------------------------------------------------------------
# Large single-contributor export for benchmarks


def write_large_export(
    path: Path, n_rows: int, *, seed: int = 1, chunk_rows: int = 100_000
) -> None:
    """Write a ``ua-hotline``-format CSV of ``n_rows`` rows and its profile ``<path>.profile.yaml``.

    Rows are sampled with NumPy in chunks of ``chunk_rows`` and streamed to disk, so memory stays
    flat whatever ``n_rows`` is. Values follow the hotline's vocabulary and the scenario's
    distributions; there is no ground truth and no deliberately bad row. Deterministic for a given
    ``seed``, ``n_rows`` and ``chunk_rows``.
    """
    import numpy as np

    if n_rows < 0 or chunk_rows < 1:
        raise ValueError("n_rows must be >= 0 and chunk_rows >= 1")
    path = Path(path)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    pools = NamePools()
    countries = _countries()

    def arr(values: Sequence[str]) -> np.ndarray:
        a = np.empty(len(values), dtype=object)
        a[:] = list(values)
        return a

    def probs(weights: Sequence[float]) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        return w / w.sum()

    given = {
        s: (arr(pools.given["uk", s].names), probs(pools.given["uk", s].weights))
        for s in ("female", "male")
    }
    fam_list = pools.family["uk"]
    from safelight.demo.names import feminine_family, patronymic

    fam_m = arr(fam_list.names)
    fam_f = arr([feminine_family(n, "uk") for n in fam_list.names])
    fam_p = probs(fam_list.weights)
    fathers = pools.given["uk", "male"]
    patr = {s: arr([patronymic(f, s, "uk") for f in fathers.names]) for s in ("female", "male")}
    father_p = probs(fathers.weights)
    localities = arr(pools.localities["uk"])
    streets = arr([f"вул. {s}" for s in pools.streets["uk"]])
    # dates: one table of formatted days from 1940-01-01 to 2023-12-31
    epoch = np.datetime64("1940-01-01")
    days = np.arange(epoch, np.datetime64("2024-01-01"))
    ymd = days.astype("datetime64[D]").astype(object)
    day_str = arr([d.strftime("%d.%m.%Y") for d in ymd])
    years_arr = np.array([d.year for d in ymd])
    md_arr = np.array([d.month * 100 + d.day for d in ymd])
    year_str = arr([str(y) for y in range(1940, 2024)])
    reg_years = np.array(list(YEAR_WEIGHTS))
    reg_year_p = probs([w * WAR_BOOST.get(y, 1.0) for y, w in YEAR_WEIGHTS.items()])
    year_start = {
        y: int((np.datetime64(f"{y}-01-01") - epoch).astype(int)) for y in range(1940, 2025)
    }
    band_lo = np.array([b[0] for b in AGE_GENERAL])
    band_hi = np.array([b[1] for b in AGE_GENERAL])
    band_p = probs([b[2] for b in AGE_GENERAL])
    cit_terms = arr(["Україна", "UA", "Молдова", "MD", "Білорусь", "BY", "Росія", "RU"])
    cit_p = probs([0.56, 0.38, 0.012, 0.008, 0.012, 0.008, 0.012, 0.008])
    form_keys = list(SPECS[0].forms)
    form_terms = arr([_terms(FORMS[k], UA_FORMS, ", ") for k in form_keys])
    form_p = probs(list(SPECS[0].forms.values()))
    labour_forms = np.array(["forced_labour" in FORMS[k] for k in form_keys])
    sexual_forms = np.array(["sexual_exploitation" in FORMS[k] for k in form_keys])
    sector_terms = arr([UA_SECTORS[k] for k in SECTORS_GENERAL])
    sector_p = probs(list(SECTORS_GENERAL.values()))
    cex_codes = list(SPECS[0].cex or {})
    cex_terms = arr([countries[c].names["uk"] for c in cex_codes] + [""])
    cex_p = probs([*(SPECS[0].cex or {}).values(), 0.1])
    flag_p = np.array([MEANS[c] for c in UA_FLAGS.values()])  # (n_flags, 2)
    rec_sex = (
        arr([UA_RECRUITER[k] for k in RECRUITER_SEXUAL]),
        probs(list(RECRUITER_SEXUAL.values())),
    )
    rec_oth = (
        arr([UA_RECRUITER[k] for k in RECRUITER_OTHER]),
        probs(list(RECRUITER_OTHER.values())),
    )
    status_terms = arr(list(UA_STATUS.values()))
    status_p = probs(list(SPECS[0].status.values()))
    consent_terms = arr([UA_CONSENT[k] for k in CONSENT])
    consent_p = probs(list(CONSENT.values()))
    ops = np.array([int(x) for x in countries["UKR"].phone["mobile"]])  # type: ignore[index]
    yes_no = arr(["ні", "так"])
    empty = np.full(1, "", dtype=object)

    with path.open("wb") as f:
        f.write(b"\xef\xbb\xbf")
        f.write((";".join(_Renderer.UA_COLUMNS) + "\r\n").encode("utf-8"))
        written = 0
        while written < n_rows:
            n = min(chunk_rows, n_rows - written)
            female = rng.random(n) < SPECS[0].female
            gi_f = rng.choice(len(given["female"][0]), n, p=given["female"][1])
            gi_m = rng.choice(len(given["male"][0]), n, p=given["male"][1])
            g = np.where(female, given["female"][0][gi_f], given["male"][0][gi_m])
            fi = rng.choice(len(fam_m), n, p=fam_p)
            fam = np.where(female, fam_f[fi], fam_m[fi])
            pi = rng.choice(len(fathers), n, p=father_p)
            pat = np.where(female, patr["female"][pi], patr["male"][pi])
            pat = np.where(rng.random(n) < 0.8, pat, empty[0])
            ry = rng.choice(reg_years, n, p=reg_year_p)
            ry_start = np.array([year_start[int(y)] for y in ry])
            ry_len = np.array([year_start[int(y) + 1] - year_start[int(y)] for y in ry])
            reg_off = ry_start + (rng.random(n) * ry_len).astype(int)
            band = rng.choice(len(band_p), n, p=band_p)
            age_drawn = rng.integers(band_lo[band], band_hi[band] + 1)
            birth_off = reg_off - (age_drawn * 365.25).astype(int) - rng.integers(1, 365, n)
            birth_off = np.clip(birth_off, 0, len(day_str) - 1)
            age = (
                years_arr[reg_off]
                - years_arr[birth_off]
                - (md_arr[reg_off] < md_arr[birth_off]).astype(int)
            )
            birth_s = day_str[birth_off]
            r = rng.random(n)
            birth_s = np.where(r < 0.10, empty[0], birth_s)
            birth_s = np.where(
                (r >= 0.10) & (r < 0.18), year_str[years_arr[birth_off] - 1940], birth_s
            )
            age_s = np.where(rng.random(n) < 0.85, age.astype(str).astype(object), empty[0])
            gender = np.where(female, "жін.", "чол.").astype(object)
            cit = cit_terms[rng.choice(len(cit_terms), n, p=cit_p)]
            op = ops[rng.integers(0, len(ops), n)]
            num = rng.integers(0, 10_000_000, n)
            has_phone = rng.random(n) < 0.85
            phone = np.array(
                [
                    f"0{o} {x // 10000:03d} {x // 100 % 100:02d} {x % 100:02d}" if h else ""
                    for o, x, h in zip(op.tolist(), num.tolist(), has_phone.tolist(), strict=True)
                ],
                dtype=object,
            )
            loc = np.where(
                rng.random(n) < 0.7, localities[rng.integers(0, len(localities), n)], empty[0]
            )
            st_n = rng.integers(1, 120, n)
            st = np.where(
                rng.random(n) < 0.35,
                streets[rng.integers(0, len(streets), n)] + ", " + st_n.astype(str).astype(object),
                empty[0],
            )
            fk = rng.choice(len(form_keys), n, p=form_p)
            forms = form_terms[fk]
            sectors = np.where(
                labour_forms[fk],
                sector_terms[rng.choice(len(sector_terms), n, p=sector_p)],
                empty[0],
            )
            cex = cex_terms[rng.choice(len(cex_terms), n, p=cex_p)]
            sexual = sexual_forms[fk]
            flag_cols = []
            for j in range(len(flag_p)):
                pj = np.where(sexual, flag_p[j, 0], flag_p[j, 1])
                flag_cols.append(yes_no[(rng.random(n) < pj).astype(int)])
            rec = np.where(
                sexual,
                rec_sex[0][rng.choice(len(rec_sex[0]), n, p=rec_sex[1])],
                rec_oth[0][rng.choice(len(rec_oth[0]), n, p=rec_oth[1])],
            )
            status = status_terms[rng.choice(len(status_terms), n, p=status_p)]
            consent = consent_terms[rng.choice(len(consent_terms), n, p=consent_p)]
            seq = np.arange(written + 1, written + n + 1)
            rid = [f"ГЛ-{y}-{s:07d}" for y, s in zip(ry.tolist(), seq.tolist(), strict=True)]
            cols = [
                rid,
                day_str[reg_off],
                fam,
                g,
                pat,
                birth_s,
                age_s,
                gender,
                cit,
                phone,
                loc,
                st,
                forms,
                sectors,
                cex,
                *flag_cols,
                rec,
                status,
                consent,
                np.full(n, "", dtype=object),
            ]
            lines = "\r\n".join(";".join(row) for row in zip(*cols, strict=True))
            f.write((lines + "\r\n").encode("utf-8"))
            written += n
    profile = _profile(SPECS[0], countries)
    profile["description"] = (
        f"Large synthetic export in the ua-hotline format ({n_rows} rows, "
        f"seed {seed}) for benchmarks. Demo data."
    )
    _write_profile(Path(str(path) + ".profile.yaml"), profile)
    log.info("demo: wrote %d rows to %s in %.1f s", n_rows, path, time.perf_counter() - started)
