"""The six demo contributors: who they register, how many, and how they write it down.

Contract
--------
:data:`SPECS` lists the contributors in a fixed order (the order of the exports, of the row
quotas and of the random streams). Each :class:`Spec` gives the contributor's country, kind,
share of all records, female share, nationality, form, sector and age mixes, countries of
exploitation, victim-status mix, record-id format, file format and its :class:`Policy` (the
probabilities with which it spells, misspells and omits what it learns; applied by
:mod:`safelight.demo.corruption`). :data:`PATHS` are the routes of persons registered by more
than one contributor. The weights here are illustrative assumptions for the demo; the published
figures they are tuned towards are cited in :mod:`safelight.demo.population`.

Routes (persons registered more than once, about 15% of persons): Ukrainian women: hotline ->
Polish NGO -> German police; Nigerian women: Nigerian NGO -> Italian inspectorate; Romanian men:
Romanian NGO -> Italian inspectorate -> German police; Iraqi, Syrian and Vietnamese persons:
Polish NGO -> German police; and a few twice by the same agency.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from safelight.demo.population import (
    AGE_GENERAL,
    AGE_LABOUR,
    AGE_NIGERIA,
    SECTORS_DE,
    SECTORS_GENERAL,
    SECTORS_IT,
    SECTORS_NG,
    AgeBands,
)

__all__ = ["PATHS", "SPECS", "SPEC_BY_NAME", "Policy", "Spec"]


@dataclass(frozen=True)
class Policy:
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


@dataclass(frozen=True)
class Spec:
    """One contributor (positional fields in the order of :data:`SPECS`' entries)."""

    name: str
    country: str  # ISO 3166-1 alpha-3
    kind: str  # hotline, ngo, police, labour_inspectorate
    source_type: str  # the profile's data_source_type
    share: float  # of all records
    female: float  # share of female persons registered only here
    nationalities: dict[str, float]
    forms: dict[str, float]  # form keys of population.FORMS
    sectors: dict[str, float]
    ages: AgeBands
    cex: dict[str, float] | None  # countries of exploitation; None: always its own country
    status: dict[str, float]
    policy: Policy
    war_boost: bool = False
    fmt: str = "csv"  # csv, xlsx, csv_cp1252, jsonl, parquet, tsv
    id_format: Callable[[int, date, random.Random], str] = lambda i, d, r: str(i)
    export_name: str = "export.csv"


SPECS: tuple[Spec, ...] = (
    Spec(
        "ua-hotline", "UKR", "hotline", "hotline", 0.27, 0.80,
        {"UKR": 0.94, "MDA": 0.02, "RUS": 0.02, "BLR": 0.02},
        {"sexual": 0.36, "labour": 0.42, "criminal": 0.10, "begging": 0.03, "marriage": 0.02,
         "mixed": 0.04, "other": 0.03},
        SECTORS_GENERAL, AGE_GENERAL,
        {"POL": 0.28, "RUS": 0.18, "UKR": 0.18, "DEU": 0.08, "CZE": 0.08, "ITA": 0.05,
         "TUR": 0.05, "ISR": 0.04, "ESP": 0.03, "GBR": 0.03},
        {"possible": 0.63, "actual": 0.35, "not_a_victim": 0.02},
        Policy(cyrillic=True, russian_form=0.12, typo=0.06, swap=0.02, nick=0.06,
               family_missing=0.06, birth_missing=0.10, year_only=0.08, placeholder=0.03,
               daymonth=0.02, phone=0.85, doc=0.12, locality=0.7, street=0.35,
               phone_styles=(("national", 0.5), ("national_compact", 0.1), ("intl", 0.25),
                             ("e164", 0.15))),
        war_boost=True, fmt="csv", export_name="ua-hotline.csv",
        id_format=lambda i, d, r: f"ГЛ-{d.year}-{i:06d}",
    ),
    Spec(
        "pl-ngo", "POL", "ngo", "case_management", 0.14, 0.76,
        {"UKR": 0.42, "POL": 0.22, "BLR": 0.07, "VNM": 0.07, "IRQ": 0.05, "SYR": 0.03,
         "MDA": 0.04, "ROU": 0.04, "RUS": 0.02, "NGA": 0.02, "IND": 0.02},
        {"sexual": 0.35, "labour": 0.45, "criminal": 0.10, "begging": 0.02, "marriage": 0.02,
         "mixed": 0.04, "other": 0.02},
        SECTORS_GENERAL, AGE_GENERAL,
        {"POL": 0.85, "DEU": 0.05, "NLD": 0.04, "GBR": 0.03, "CZE": 0.03},
        {"possible": 0.25, "actual": 0.75},
        Policy(translit=(("pl", 0.5), ("passport", 0.45), ("uk_national", 0.05)), strip=0.3,
               typo=0.05, swap=0.03, nick=0.04, birth_missing=0.05, year_only=0.04,
               placeholder=0.03, daymonth=0.03, phone=0.7, doc=0.45, locality=0.5, street=0.0,
               phone_styles=(("national", 0.4), ("intl", 0.35), ("e164", 0.15), ("00", 0.1))),
        war_boost=True, fmt="xlsx", export_name="pl-ngo.xlsx",
        id_format=lambda i, d, r: f"PL/{d.year}/{i:04d}",
    ),
    Spec(
        "de-police", "DEU", "police", "law_enforcement", 0.18, 0.83,
        {"DEU": 0.18, "ROU": 0.22, "NGA": 0.11, "UKR": 0.10, "POL": 0.07, "SYR": 0.06,
         "IRQ": 0.03, "VNM": 0.05, "MAR": 0.03, "MDA": 0.05, "RUS": 0.02, "SDN": 0.02,
         "IND": 0.02, "EGY": 0.02, "PAK": 0.02},
        {"sexual": 0.55, "labour": 0.19, "criminal": 0.18, "begging": 0.03, "marriage": 0.02,
         "mixed": 0.02, "other": 0.01},
        SECTORS_DE, AGE_GENERAL, None,
        {"possible": 0.4, "actual": 0.6},
        Policy(translit=(("passport", 0.55), ("de_duden", 0.40), ("ru_bgn_pcgn", 0.05)),
               encoding_fold="cp1252", strip=0.2, typo=0.05, swap=0.04, nick=0.02,
               birth_missing=0.03, year_only=0.03, placeholder=0.05, daymonth=0.03, phone=0.6,
               doc=0.7, locality=0.6, street=0.4, arabic_passport=0.6,
               phone_styles=(("national", 0.3), ("intl", 0.3), ("e164", 0.2),
                             ("national_compact", 0.2))),
        fmt="csv_cp1252", export_name="de-police.csv",
        id_format=lambda i, d, r: f"{d.year}-{i:07d}",
    ),
    Spec(
        "it-labour", "ITA", "labour_inspectorate", "labour_inspection", 0.16, 0.36,
        {"ROU": 0.18, "IND": 0.18, "PAK": 0.10, "BGD": 0.08, "MAR": 0.12, "NGA": 0.12,
         "UKR": 0.07, "EGY": 0.05, "SDN": 0.03, "ITA": 0.04, "MDA": 0.03},
        {"sexual": 0.06, "labour": 0.85, "criminal": 0.05, "mixed": 0.03, "other": 0.01},
        SECTORS_IT, AGE_LABOUR, None,
        {"possible": 0.5, "actual": 0.5},
        Policy(translit=(("passport", 0.75), ("ru_bgn_pcgn", 0.15), ("fr", 0.10)), strip=0.5,
               typo=0.07, swap=0.08, nick=0.02, birth_missing=0.04, year_only=0.06,
               placeholder=0.06, daymonth=0.04, phone=0.65, doc=0.55, locality=0.8, street=0.3,
               local_residence=0.8, arabic_passport=0.5,
               phone_styles=(("national", 0.4), ("intl", 0.3), ("e164", 0.2), ("00", 0.1))),
        fmt="jsonl", export_name="it-labour.jsonl",
        id_format=lambda i, d, r: f"INL-{d.year}-{i:05d}",
    ),
    Spec(
        "ng-ngo", "NGA", "ngo", "case_management", 0.16, 0.86,
        {"NGA": 0.96, "NER": 0.04},
        {"sexual": 0.50, "labour": 0.28, "criminal": 0.04, "begging": 0.06, "marriage": 0.05,
         "mixed": 0.03, "organ": 0.01, "other": 0.03},
        SECTORS_NG, AGE_NIGERIA,
        {"NGA": 0.35, "LBY": 0.14, "ITA": 0.12, "GHA": 0.06, "MLI": 0.06, "SAU": 0.06,
         "LBN": 0.05, "ESP": 0.04, "DEU": 0.04, "FRA": 0.04, "RUS": 0.04},
        {"possible": 0.3, "actual": 0.7},
        Policy(typo=0.06, swap=0.06, nick=0.05, birth_missing=0.12, year_only=0.10,
               placeholder=0.06, daymonth=0.06, phone=0.8, doc=0.2, locality=0.75, street=0.4,
               phone_styles=(("e164", 0.6), ("national", 0.25), ("national_compact", 0.15))),
        fmt="parquet", export_name="ng-ngo.parquet",
        id_format=lambda i, d, r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    ),
    Spec(
        "ro-ngo", "ROU", "ngo", "case_management", 0.09, 0.72,
        {"ROU": 0.85, "MDA": 0.15},
        {"sexual": 0.45, "labour": 0.30, "criminal": 0.12, "begging": 0.08, "mixed": 0.03,
         "other": 0.02},
        SECTORS_GENERAL, AGE_GENERAL,
        {"ROU": 0.25, "ITA": 0.18, "DEU": 0.18, "ESP": 0.10, "GBR": 0.12, "FRA": 0.06,
         "AUT": 0.05, "NLD": 0.06},
        {"possible": 0.2, "actual": 0.8},
        Policy(translit=(("passport", 0.6), ("ru_bgn_pcgn", 0.2), ("scholarly", 0.2)),
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
