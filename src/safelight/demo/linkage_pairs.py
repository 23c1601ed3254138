"""A generated two-source linkage problem of any size, with its truth (for the scale benchmark).

Contract
--------
:func:`generate_linkage_pairs` ``(n_left, n_right, seed=...)`` returns a :class:`PairsProblem`:
two Arrow tables in the hub's identity columns (``contributor``, ``record_id``, ``given_name``,
``family_name``, ``birth_year``/``month``/``day``, ``sex``, ``nationality``, ``phone``,
``phone_region``, ``document_number``, ``locality``, ``street_number``, ``address_line``,
``postcode``) with exactly ``n_left`` and ``n_right`` rows, and the true person of every row.
No source holds the same person twice, so every true pair joins a left and a right record.
The same arguments give the same tables (everything is drawn from ``random.Random`` streams
seeded by ``seed``).

How the records are written
---------------------------
Persons are drawn by the demo's :class:`~safelight.demo.population.PersonFactory` (names in
their own script, :data:`NATIONALITY_MIX` of nationalities). Each record is written by one of
the demo contributors' :class:`~safelight.demo.corruption.Observer` policies (left: the
Ukrainian hotline, which keeps Cyrillic, or the Polish NGO; right: the German police or the
Italian labour inspectorate), so a pair sees the demo's corruption model: Cyrillic against
Latin, passport spellings (KMU 55, ICAO 9303, BGN/PCGN), Polish, German Duden, French and
scholarly transcriptions, Russian forms of Ukrainian names, Arabic romanisations and article
forms, typos, nicknames, swapped given and family names, day/month swaps, year-only and
01/01 placeholder birth dates, missing values, other phone formats and local phone numbers.
This module adds:

* *informal* English-by-ear spellings of Cyrillic names (:func:`informal_latin`: Olexandr,
  Alexey, Yuliya) on :data:`INFORMAL_SHARE` of the Latin records of Ukrainian/Russian persons;
* a structured address (locality, street, number, postcode) per person; a person has *moved*
  between the two sources with probability :data:`MOVED_SHARE` (new address and often a new
  phone);
* *households*: :data:`HOUSEHOLD_SHARE` of the units drawn are 2–3 different persons (siblings,
  twins, a mother and child) sharing family name, address and often phone
  (names from :meth:`~safelight.demo.names.NamePools.sibling_name`). They are placed in the
  sources like everyone else, so a household member is often the only near-match of a person
  in the other source: the non-matches that wreck address-heavy models.

With ``surname_tail=True`` family names come from the long-tailed pools (``NamePools(
surname_tail=True)``): tens of thousands of family names per large culture instead of its
20–90 most common ones, so the number of namesakes per person stays near what real registers
show as the problem grows.
"""

from __future__ import annotations

import logging
import random
import re
import zlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from safelight.demo.contributors import SPEC_BY_NAME, Spec
from safelight.demo.corruption import Observer
from safelight.demo.countries import load_countries
from safelight.demo.names import NamePools
from safelight.demo.population import (
    AGE_GENERAL,
    SECTORS_GENERAL,
    Person,
    PersonFactory,
    Registration,
    pick,
    pick_weighted,
)
from safelight.errors import SafelightError
from safelight.identity.transliterate import transliterate

__all__ = [
    "COLUMNS",
    "HOUSEHOLD_SHARE",
    "INFORMAL_SHARE",
    "LEFT_WRITERS",
    "MOVED_SHARE",
    "NATIONALITY_MIX",
    "RIGHT_WRITERS",
    "PairsProblem",
    "generate_linkage_pairs",
    "informal_latin",
    "persons_by_record",
]

log = logging.getLogger("safelight.demo.linkage_pairs")

# Nationalities of the persons (illustrative): Cyrillic-script names are about half.
NATIONALITY_MIX: dict[str, float] = {
    "UKR": 0.34, "RUS": 0.07, "BLR": 0.04, "MDA": 0.04, "ROU": 0.10, "POL": 0.05,
    "NGA": 0.12, "SYR": 0.04, "IRQ": 0.03, "MAR": 0.03, "EGY": 0.02, "SDN": 0.01,
    "VNM": 0.04, "IND": 0.03, "PAK": 0.02, "DEU": 0.02,
}  # fmt: skip
# Which contributor's policy writes a record, per source (weights).
LEFT_WRITERS: tuple[tuple[str, float], ...] = (("ua-hotline", 0.4), ("pl-ngo", 0.6))
RIGHT_WRITERS: tuple[tuple[str, float], ...] = (("de-police", 0.6), ("it-labour", 0.4))
INFORMAL_SHARE = 0.15
MOVED_SHARE = 0.3
HOUSEHOLD_SHARE = 0.05
OVERLAP = 0.5  # default share of each source's records whose person is also in the other

COLUMNS: tuple[str, ...] = (
    "contributor", "record_id", "given_name", "family_name", "birth_year", "birth_month",
    "birth_day", "sex", "nationality", "phone", "phone_region", "document_number", "locality",
    "street_number", "address_line", "postcode",
)  # fmt: skip
_INT_COLUMNS = frozenset({"birth_year", "birth_month", "birth_day"})
_CYRILLIC = re.compile("[\u0400-\u04ff]")

# English-by-ear respellings applied after a passport-style transliteration (lower case).
_INFORMAL = tuple(
    (re.compile(p), r)
    for p, r in (
        ("shch", "sch"), ("kh", "h"), ("ks", "x"), ("iy$", "y"), ("yi$", "y"), ("ii$", "y"),
        ("iia", "ia"), ("iya", "ia"), ("ii", "i"), ("^ye", "e"), ("iu", "yu"),
        ("ey$", "ei"), ("zh", "j"),
    )
)  # fmt: skip


def informal_latin(text: str, lang: str = "uk", variant: int = 0) -> str:
    """An informal English-style Latin spelling of Cyrillic ``text`` ("by ear", no standard).

    ``variant`` 0 starts from the Ukrainian passport system (``uk``) or BGN/PCGN (``ru``) and
    applies every respelling; variant 1 applies only every other one, so two informal writers
    need not agree. Latin input comes back unchanged.

    >>> informal_latin("Олександр Бойко")
    'Olexandr Boiko'
    >>> informal_latin("Юлія Ткачук")
    'Yulia Tkachuk'
    """
    if not _CYRILLIC.search(text):
        return text
    base = transliterate(text, "uk_national" if lang == "uk" else "ru_bgn_pcgn", lang=lang)
    base = base.replace("’", "").replace("”", "")
    words = []
    for w in base.split(" "):
        s = w.lower()
        for i, (pattern, repl) in enumerate(_INFORMAL):
            if variant == 1 and i % 2:
                continue
            s = pattern.sub(repl, s)
        words.append(s[:1].upper() + s[1:])
    return " ".join(words)


@dataclass
class _Home:
    locality: str | None
    street: str | None
    number: str
    postcode: str


@dataclass
class PairsProblem:
    """Two sources and their truth (``*_person``: true person id per row, aligned)."""

    left: pa.Table
    right: pa.Table
    left_person: np.ndarray
    right_person: np.ndarray
    seed: int
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def true_pairs(self) -> int:
        """Number of (left, right) record pairs of one person (one per shared person)."""
        return len(np.intersect1d(self.left_person, self.right_person))

    def combined(self) -> tuple[pa.Table, np.ndarray]:
        """Both sources in one table (left rows first) and the true person per row."""
        return (pa.concat_tables([self.left, self.right]),
                np.concatenate([self.left_person, self.right_person]))

    def persons_of(self, sides: np.ndarray, record_ids: np.ndarray, *,
                   left: str = "left", right: str = "right") -> np.ndarray:
        """The true person of each record named by its side and record id — for records read
        back in another order (encoded packages hold theirs in a random order)."""
        return persons_by_record(sides, record_ids, {
            left: (self.left.column("record_id").to_pylist(), self.left_person),
            right: (self.right.column("record_id").to_pylist(), self.right_person)})


def persons_by_record(sides: np.ndarray, record_ids: np.ndarray,
                      sources: dict[str, tuple[list, np.ndarray]]) -> np.ndarray:
    """The true person of each record ``(sides[i], record_ids[i])``, from each side's record
    ids and persons (aligned): the truth of records read back in another order than written
    (an encoded package holds its records in a random order)."""
    maps = {side: dict(zip(map(str, ids), persons.tolist(), strict=True))
            for side, (ids, persons) in sources.items()}
    return np.array([maps[str(s)][str(r)] for s, r in
                     zip(sides.tolist(), record_ids.tolist(), strict=True)], dtype=np.int64)


class _Writer:
    """Writes one person as one record of a source (see the module docstring)."""

    def __init__(self, factory: PersonFactory, rng: random.Random) -> None:
        self.factory = factory
        self.observer = Observer(factory, rng)
        self.countries = factory.countries

    def home(self, rng: random.Random, p: Person) -> _Home:
        culture = p.name.culture
        locality = self.factory.pools.locality(rng, culture)
        if locality is None:
            pool = self.countries[p.nationality].localities
            locality = rng.choice(pool) if pool else None
        street = self.factory.pools.street(rng, culture)
        base = zlib.crc32((locality or p.nationality).encode("utf-8")) % 90 + 10
        return _Home(locality, street, str(rng.randint(1, 140)),
                     f"{base:02d}{rng.randrange(1000):03d}")

    def write(self, rng: random.Random, p: Person, home: _Home, spec: Spec, day: date,
              ) -> dict[str, Any]:
        obs = self.observer.observe(rng, Registration(p, spec.name, day), spec)
        given, family = obs.given, obs.family
        culture = p.name.culture
        latin = given is not None and not _CYRILLIC.search(given)
        if culture in ("uk", "ru") and latin and rng.random() < INFORMAL_SHARE:
            variant = rng.randrange(2)
            # an informal writer hears the name (diminutive or not) and writes it their way
            given = informal_latin(p.name.given, culture, variant)
            if family is not None:
                family = informal_latin(p.name.family, culture, variant)
            if rng.random() < spec.policy.swap:
                given, family = family, given
        locality = street = number = postcode = None
        if rng.random() < spec.policy.locality + 0.1:
            locality = home.locality
            if rng.random() < 0.7:
                street, number = home.street, home.number
            if rng.random() < 0.6:
                postcode = home.postcode
                if spec.country == "POL" and rng.random() < 0.5:
                    postcode = f"{postcode[:2]}-{postcode[2:]}"
        if culture in ("uk", "ru") and not spec.policy.cyrillic:
            system = "uk_national" if culture == "uk" else "ru_bgn_pcgn"
            locality = transliterate(locality, system) if locality else locality
            street = transliterate(street, system) if street else street
        birth = obs.birth or (None, None, None)
        return {
            "given_name": given, "family_name": family, "birth_year": birth[0],
            "birth_month": birth[1], "birth_day": birth[2], "sex": obs.sex,
            "nationality": obs.nationality, "phone": obs.phone,
            "phone_region": self.countries[spec.country].alpha2, "document_number": obs.doc,
            "locality": locality, "street_number": number, "address_line": street,
            "postcode": postcode,
        }  # fmt: skip


def _unit(rng: random.Random, factory: PersonFactory, day: date) -> list[Person]:
    """One person, or with probability :data:`HOUSEHOLD_SHARE` a household of 2–3."""
    nationality = pick(rng, NATIONALITY_MIX)
    sex = "female" if rng.random() < 0.7 else "male"
    form = "labour" if rng.random() < 0.5 else "sexual"
    if rng.random() >= HOUSEHOLD_SHARE:
        return [factory.new_person(rng, nationality, sex, AGE_GENERAL, form, SECTORS_GENERAL,
                                   day)]
    kind = pick(rng, {"siblings": 0.6, "twins": 0.15, "parent_child": 0.25})
    if kind == "parent_child":
        base = factory.new_person(rng, nationality, "female", AGE_GENERAL, form,
                                  SECTORS_GENERAL, day, age=rng.randint(28, 45))
        size = 2
    else:
        base = factory.new_person(rng, nationality, sex, AGE_GENERAL, form, SECTORS_GENERAL,
                                  day)
        size = rng.choice((2, 2, 3))
    return [base] + [factory.relative(rng, base, kind, nationality, AGE_GENERAL, form,
                                      SECTORS_GENERAL, day) for _ in range(size - 1)]


def generate_linkage_pairs(
    n_left: int, n_right: int, *, seed: int = 1, overlap: float = OVERLAP,
    surname_tail: bool = False,
) -> PairsProblem:
    """The two sources (see the module docstring); ``overlap`` is the share of the smaller
    source's records whose person is also in the other source. ``surname_tail=True`` draws
    family names from the long-tailed pools (:class:`~safelight.demo.names.NamePools`), so a
    large population is not mostly namesakes of a few dozen family names; the default keeps
    the demo's head lists (every figure before 2026-11-30 12:00 used them)."""
    if n_left < 1 or n_right < 1 or not 0.0 <= overlap <= 1.0:
        raise SafelightError(
            f"generate_linkage_pairs: need n_left, n_right >= 1 and 0 <= overlap <= 1 "
            f"(got {n_left}, {n_right}, {overlap}); pass positive sizes and a share")
    rng = random.Random(f"safelight-linkage-pairs:{seed}")
    factory = PersonFactory(NamePools(surname_tail=surname_tail), load_countries())
    writer = _Writer(factory, random.Random(f"safelight-linkage-pairs-places:{seed}"))
    n_both = round(overlap * min(n_left, n_right))
    places = ["both"] * n_both + ["left"] * (n_left - n_both) + ["right"] * (n_right - n_both)
    rng.shuffle(places)
    specs = {name: SPEC_BY_NAME[name] for name, _ in (*LEFT_WRITERS, *RIGHT_WRITERS)}
    cols: dict[str, dict[str, list[Any]]] = {s: {c: [] for c in COLUMNS[2:]}
                                             for s in ("left", "right")}
    persons: dict[str, list[int]] = {"left": [], "right": []}
    stats = {"persons": 0, "households": 0, "household_members": 0, "moved": 0,
             "informal_share": INFORMAL_SHARE, "surname_tail": surname_tail}
    first, span = date(2018, 1, 1), 4 * 365
    i = 0
    while i < len(places):
        day_left = first + timedelta(days=rng.randrange(span))
        unit = _unit(rng, factory, day_left)
        factory.persons.clear()  # the factory keeps every person; this generator needs none
        unit = unit[: len(places) - i]
        if len(unit) > 1:
            stats["households"] += 1
            stats["household_members"] += len(unit)
        home = writer.home(rng, unit[0])
        moved_home = writer.home(rng, unit[0])  # where those who moved now live
        for p in unit:
            pid = stats["persons"]
            stats["persons"] += 1
            place = places[i]
            i += 1
            day_right = day_left + timedelta(days=rng.randint(30, 900))
            for side in ("left", "right"):
                if place not in (side, "both"):
                    continue
                writers = LEFT_WRITERS if side == "left" else RIGHT_WRITERS
                spec = specs[pick_weighted(rng, writers)]
                h, person, day = home, p, day_left
                if side == "right":
                    day = day_right
                    if rng.random() < MOVED_SHARE:
                        stats["moved"] += 1
                        h = moved_home if len(unit) > 1 and rng.random() < 0.5 else \
                            writer.home(rng, p)
                        if p.phone and rng.random() < 0.5:
                            person = replace(p, phone=factory.new_phone(rng, p.nationality))
                row = writer.write(rng, person, h, spec, day)
                for c, v in row.items():
                    cols[side][c].append(v)
                persons[side].append(pid)
    tables = {}
    pids = {}
    for k, side in enumerate(("left", "right")):
        n = len(persons[side])
        order = np.random.default_rng([seed, k]).permutation(n)
        arrays: dict[str, pa.Array] = {
            "contributor": pa.array([f"source-{'ab'[k]}"] * n, pa.string()),
            "record_id": pa.array([f"{'AB'[k]}{j:08d}" for j in range(n)], pa.string()),
        }
        for c in COLUMNS[2:]:
            typ = pa.int16() if c in _INT_COLUMNS else pa.string()
            arrays[c] = pa.array(cols[side][c], typ).take(pa.array(order))
        tables[side] = pa.table(arrays)
        pids[side] = np.asarray(persons[side], dtype=np.int64)[order]
    problem = PairsProblem(tables["left"], tables["right"], pids["left"], pids["right"], seed,
                           stats)
    problem.stats["true_pairs"] = problem.true_pairs
    log.info("linkage pairs: %d x %d records, %d true pairs, %d households", n_left, n_right,
             problem.stats["true_pairs"], stats["households"])
    return problem
