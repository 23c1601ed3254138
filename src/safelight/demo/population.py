"""Who the demo's persons are: published distributions, their sources, and the person factory.

Contract
--------
This module holds every distribution the scenario draws persons and case facts from, each next
to the figure it follows, and :class:`PersonFactory`, which draws one :class:`Person` (name,
birth date, documents, phone, address, case facts) with a caller's ``random.Random``. The same
sequence of calls with the same generator state gives the same persons; the factory numbers
persons ``P000001``, ``P000002``, ... in creation order and keeps them in ``persons``. What the
contributors later write down about a person is :mod:`safelight.demo.corruption`'s business;
who registers whom is :mod:`safelight.demo.registrations`'.

Distributions (sources numbered as in ``DOMAIN.md`` §8)
-------------------------------------------------------
* Sex: about 74% of registered victims female, 43% aged 18–29, 24% children — CTDC data story
  on the Global Synthetic Dataset [23]. Per-contributor shares differ (the labour inspectorate
  registers mostly men, the Nigerian NGO mostly women; see :mod:`safelight.demo.contributors`);
  the overall share is measured and written to ``scenario.json``.
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
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from safelight.demo.countries import Country, doc_number, romanian_cnp
from safelight.demo.names import NamePools, PersonName, arabic_family_forms
from safelight.identity.transliterate import transliterate

__all__ = [
    "AGE_GENERAL",
    "AGE_LABOUR",
    "AGE_NIGERIA",
    "CONSENT",
    "FIRST_DAY",
    "FORMS",
    "LAST_DAY",
    "MALE_PHYSICAL_ABUSE_FACTOR",
    "MEANS",
    "MULTI_SHARE",
    "NAT_CULTURE",
    "RECRUITER_OTHER",
    "RECRUITER_SEXUAL",
    "SECTORS_DE",
    "SECTORS_GENERAL",
    "SECTORS_IT",
    "SECTORS_NG",
    "WAR_BOOST",
    "YEAR_WEIGHTS",
    "AgeBands",
    "Person",
    "PersonFactory",
    "Registration",
    "age_at",
    "pick",
    "pick_weighted",
    "random_day",
    "ranked",
]

FIRST_DAY = date(2017, 1, 1)
LAST_DAY = date(2023, 12, 31)
MULTI_SHARE = 0.15  # about 15% of persons are registered more than once

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

# Form keys of the contributors' form mixes -> canonical forms of exploitation. The mixes (in
# safelight.demo.contributors) follow GLOTIP 2022 [42]: sexual and labour ~39% each overall,
# forced criminal activity ~10% (2020).
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

# Probability of each means of control: (sexual exploitation, other forms). Illustrative
# weights over the CTDC / HTCDS categories [4][16][24].
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

# Recruiter relationship (illustrative): partners and friends more often for sexual exploitation.
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
# Forced-labour sectors (illustrative): in general, at the Italian inspectorate, the German
# police and the Nigerian NGO.
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

# Nationality -> name culture (a pool of safelight.demo.names) and its share.
NAT_CULTURE: dict[str, dict[str, float]] = {
    "UKR": {"uk": 1.0}, "RUS": {"ru": 1.0}, "BLR": {"ru": 1.0}, "MDA": {"ro": 0.7, "ru": 0.3},
    "POL": {"pl": 1.0}, "DEU": {"de": 1.0}, "ITA": {"it": 1.0}, "ROU": {"ro": 1.0},
    "NGA": {"ng:edo": 0.35, "ng:yoruba": 0.22, "ng:igbo": 0.28, "ng:hausa": 0.15},
    "NER": {"ng:hausa": 1.0}, "SYR": {"ar": 1.0}, "IRQ": {"ar": 1.0}, "MAR": {"ar": 1.0},
    "SDN": {"ar": 1.0}, "EGY": {"ar": 1.0}, "IND": {"sa:punjabi_sikh": 0.6, "sa:indian": 0.4},
    "PAK": {"sa:pakistani": 1.0}, "BGD": {"sa:bangladeshi": 1.0}, "VNM": {"vi": 1.0},
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Drawing from the distributions


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    """One key of ``weights``, drawn with the given weights."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def pick_weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    """One value of ``(value, weight)`` pairs."""
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def ranked(rng: random.Random, options: Sequence[str]) -> str:
    """One of ``options``, the option of rank *r* (1-based) drawn with weight ``1 / r``."""
    return rng.choices(list(options), weights=[1.0 / (i + 1) for i in range(len(options))])[0]


def _age_in_band(rng: random.Random, bands: AgeBands) -> int:
    lo, hi, _ = rng.choices(bands, weights=[b[2] for b in bands])[0]
    return rng.randint(lo, hi)


def age_at(birth: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def random_day(rng: random.Random, year_weights: dict[int, float]) -> date:
    """A day of a year drawn with ``year_weights``, uniform within the year."""
    year = rng.choices(list(year_weights), weights=list(year_weights.values()))[0]
    start = date(year, 1, 1)
    return start + timedelta(days=rng.randrange((date(year, 12, 31) - start).days + 1))


# --------------------------------------------------------------------------------------------
# Persons and registrations


@dataclass
class Person:
    """The truth about one invented person (what no contributor sees in full)."""

    pid: str
    nationality: str
    sex: str
    gender: str
    birth: date
    name: PersonName
    passport: tuple[str, str] | None  # (given, family) as in the passport, Latin script
    phone: tuple[str, str] | None  # (country code, national significant number)
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
class Registration:
    """One registration of a person by a contributor (one exported row)."""

    person: Person
    contributor: str
    day: date
    cex: str | None = None  # country of exploitation, alpha-3
    record_id: str = ""
    consent: str = "full"


class PersonFactory:
    """Draws persons with the caller's generator and keeps them, numbered, in ``persons``."""

    def __init__(self, pools: NamePools, countries: dict[str, Country]) -> None:
        self.pools = pools
        self.countries = countries
        self.persons: list[Person] = []

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
    ) -> Person:
        """A new person first registered on ``first_day`` (``name``/``age`` fixed if given)."""
        culture = pick(rng, NAT_CULTURE[nationality])
        if name is not None:
            culture = name.culture
        if age is None:
            age = _age_in_band(rng, ages)
        birth = first_day - timedelta(days=int(age * 365.25) + rng.randrange(1, 365))
        if age_at(birth, first_day) != age:  # keep the drawn age exact
            birth = date(first_day.year - age - 1, first_day.month, 1) + timedelta(
                days=rng.randrange(1, 28)
            )
            if age_at(birth, first_day) != age:
                birth = date(first_day.year - age, 1, 1)
                if birth > first_day or age_at(birth, first_day) != age:
                    birth = date(first_day.year - age - 1, 12, 31)
        gender = "trans_nonconforming" if rng.random() < 0.003 else sex
        if name is None:
            name = self.pools.person_name(rng, culture, sex)
        passport = self._passport(rng, name, culture, nationality)
        country = self.countries[nationality]
        phone = None
        if country.phone and rng.random() < 0.9:
            phone = self.new_phone(rng, nationality)
        doc = (
            doc_number(rng, rng.choice(country.doc))
            if country.doc and rng.random() < 0.75
            else None
        )
        national_id = None
        if nationality == "ROU":
            national_id = romanian_cnp(rng, birth, sex)
        elif nationality == "MDA":
            national_id = "2" + "".join(str(rng.randrange(10)) for _ in range(12))
        locality, street = self._address(rng, culture, nationality)
        facts = _case_facts(rng, form_key, sex, sector_mix, age)
        pid = f"P{len(self.persons) + 1:06d}"
        person = Person(
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

    def relative(self, rng: random.Random, base: Person, kind: str, nationality: str,
                 ages: Any, form: str, sectors: Any, day: date) -> Person:
        """Another member of ``base``'s household: a sibling (same family name, an age a few
        years apart, often the same sex), a twin (same birth date) or, for ``parent_child``, a
        child of 3–14; shares ``base``'s phone half the time."""
        sex = base.sex if rng.random() < 0.7 else ("male" if base.sex == "female" else "female")
        name = self.pools.sibling_name(rng, base.name, sex)
        if kind == "parent_child":
            age = rng.randint(3, 14)
        elif kind == "twins":
            age = age_at(base.birth, day)
        else:
            age = max(0, age_at(base.birth, day) + rng.choice((-3, -2, -1, 1, 2, 3)))
        member = self.new_person(rng, nationality, sex, ages, form, sectors, day, name=name, age=age)
        if kind == "twins":
            member.birth = base.birth
        if base.phone and rng.random() < 0.5:
            member.phone = base.phone
        return member

    def new_phone(self, rng: random.Random, country: str) -> tuple[str, str]:
        """A mobile number of ``country``: (country code, national significant number)."""
        ph = self.countries[country].phone
        assert ph is not None
        prefix = rng.choice(ph["mobile"])
        rest = "".join(str(rng.randrange(10)) for _ in range(int(ph["nsn"]) - len(prefix)))
        return str(ph["cc"]), prefix + rest

    def _passport(
        self, rng: random.Random, name: PersonName, culture: str, nationality: str
    ) -> tuple[str, str] | None:
        """The passport spelling of a Cyrillic or Arabic name (KMU 55, ICAO 9303, BGN/PCGN)."""
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
            return (
                transliterate(g, system, lang=lang),
                transliterate(name.family, system, lang=culture),
            )
        if culture == "ar":
            style = "fr" if nationality == "MAR" else "en"
            assert name.ar_given is not None and name.ar_family is not None
            g_opts = (
                name.ar_given.fr if style == "fr" and name.ar_given.fr else name.ar_given.variants
            )
            return (
                ranked(rng, g_opts),
                pick_weighted(rng, arabic_family_forms(name.ar_family, style)),
            )
        return None

    def _address(
        self, rng: random.Random, culture: str, nationality: str
    ) -> tuple[str | None, str | None]:
        """(locality, street line) at home, written in the home country's style."""
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


def _case_facts(
    rng: random.Random, form_key: str, sex: str, sector_mix: dict[str, float], age: int
) -> dict[str, Any]:
    """Forms, sectors, kinds of sexual exploitation, means of control, recruiter, months."""
    forms = FORMS[form_key]
    if age < 18 and "forced_labour" in forms and rng.random() < 0.4:
        forms = (*forms, "child_labour")
    sexual = "sexual_exploitation" in forms
    sectors: tuple[str, ...] = ()
    if "forced_labour" in forms:
        first = pick(rng, sector_mix)
        sectors = (first,)
        if rng.random() < 0.12:
            second = pick(rng, sector_mix)
            if second != first:
                sectors = (first, second)
    sex_types: tuple[str, ...] = ()
    if sexual:
        sex_types = (
            pick(
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
    recruiter = (pick(rng, rel),)
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
