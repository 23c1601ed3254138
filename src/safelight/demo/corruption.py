"""What a contributor writes down about a person, and the rows it gets wrong.

Contract
--------
:class:`Observer` turns a registration into an :class:`Observation`: the person's truth as one
contributor records it, spoiled according to the contributor's
:class:`~safelight.demo.contributors.Policy`. :func:`inject_bad_rows` then spoils about
:data:`BAD_ROW_SHARE` of a contributor's rows on purpose and lists them (``scenario.json``'s
``bad_rows``). Both draw from the caller's ``random.Random`` in a fixed order, so a seed fixes
every spelling and every bad row.

Corruption model
----------------
Between registrations of one person: Cyrillic vs Latin, passport spellings (KMU 55, ICAO 9303)
vs the receiving country's transcription (Polish, German Duden, French, BGN/PCGN, scholarly);
Russian forms of Ukrainian names; Arabic names in several romanisations and article forms;
diacritics dropped (and folded to cp1252 for the German police system); 1–2 character typos
(:func:`typo`); given and family name swapped; nicknames; day/month swaps; year-only and 01/01
placeholder birth dates; missing fields; new phone numbers and other phone formats. About 0.5% of
each contributor's rows are deliberately bad (an impossible date, a birth date in the future, an
unknown code, a duplicated record id). Households, the near-matches that must not be linked,
are drawn with the registrations (:mod:`safelight.demo.registrations`).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any

from safelight.demo.contributors import Spec
from safelight.demo.countries import format_phone
from safelight.demo.export_rows import columns, row_id
from safelight.demo.names import arabic_family_forms, nicknames
from safelight.demo.population import (
    Person,
    PersonFactory,
    Registration,
    age_at,
    pick_weighted,
    ranked,
)
from safelight.demo.vocabulary import SEX_OF_GENDER
from safelight.identity.transliterate import transliterate

__all__ = [
    "BAD",
    "BAD_ORDER",
    "BAD_ROW_SHARE",
    "BadKinds",
    "Observation",
    "Observer",
    "fold_to_encoding",
    "inject_bad_rows",
    "strip_diacritics",
    "typo",
]

BAD_ROW_SHARE = 0.005

# Language of the nickname list for a name culture (safelight.identity nicknames.yaml).
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
# Spelling


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
# Observation: what a contributor writes down


@dataclass
class Observation:
    """One registration's person as the contributor writes it (None: not recorded)."""

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


class Observer:
    """Records registrations as the contributors do (see the module docstring).

    ``main_rng`` is the scenario's main stream (the one the registrations were drawn from); it
    decides whether a place name loses its diacritics. Every other draw uses the ``rng`` passed
    to :meth:`observe`, the contributor's own stream.
    """

    def __init__(self, factory: PersonFactory, main_rng: random.Random) -> None:
        self.factory = factory
        self.pools = factory.pools
        self.countries = factory.countries
        self.main_rng = main_rng

    def observe(self, rng: random.Random, reg: Registration, spec: Spec) -> Observation:
        """What ``spec``'s contributor writes about ``reg``'s person on that day."""
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
                    p.local_phones[spec.country] = self.factory.new_phone(rng, spec.country)
                cc, nsn = p.local_phones[spec.country]
            home_cc = (
                str(self.countries[spec.country].phone["cc"])
                if self.countries[spec.country].phone
                else ""
            )
            styles = [
                s for s in pol.phone_styles if cc == home_cc or not s[0].startswith("national")
            ]
            style = pick_weighted(rng, styles or (("intl", 1.0),))
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
        obs = Observation(
            given,
            given2,
            fam,
            patr,
            birth,
            SEX_OF_GENDER[p.gender] if p.gender != "trans_nonconforming" else p.sex,
            p.gender,
            p.nationality,
            age_at(p.birth, reg.day),
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
        self, text: str | None, p: Person, spec: Spec, system: str | None
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
        if spec.policy.strip and self.main_rng.random() < spec.policy.strip:
            return strip_diacritics(text)
        return text

    def _render_name(
        self, rng: random.Random, p: Person, spec: Spec
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
                system = pick_weighted(rng, pol.translit)
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
                given = ranked(rng, opts)
                family = pick_weighted(rng, arabic_family_forms(name.ar_family, style))
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
# Deliberately bad rows


@dataclass(frozen=True)
class BadKinds:
    """A contributor's deliberately bad values and the columns they are written to."""

    birth_col: str | int
    impossible: str
    future: str
    code_col: str | int
    unknown: str


BAD = {
    "ua-hotline": BadKinds(
        "Дата народження", "31.02.1990", "14.03.2034", "Вид експлуатації", "трудова експлоатація"
    ),
    "pl-ngo": BadKinds(
        "Data urodzenia", "1991-02-30", "2035-06-01", "Forma wyzysku", "prca przymusowa"
    ),
    "de-police": BadKinds(
        "Geburtsdatum", "31.04.1988", "01.09.2036", "Ausbeutungsform", "Arbeitsausbeutng"
    ),
    "it-labour": BadKinds(
        "data_nascita", "30/02/1993", "12/12/2033", "forme_sfruttamento", "lavoro forzatto"
    ),
    "ng-ngo": BadKinds(
        "prs_Birthdate", "02/30/1995", "07/04/2037", "vic_TypeOfExploitation", "ForcedLabor"
    ),
    "ro-ngo": BadKinds(
        "Data nașterii", "29.02.1990", "05.05.2038", "Formă de exploatare", "munca fortat"
    ),
}
BAD_ORDER = ("invalid_date", "future_birth_date", "unknown_code", "duplicate_record_id")


def inject_bad_rows(
    rng: random.Random, spec: Spec, rows: list[Any], owners: list[str], regs: list[Registration]
) -> tuple[list[Any], list[str], list[dict[str, Any]]]:
    """Spoil ~0.5% of rows (one kind after the other) and return them with their listing."""
    n_bad = max(len(BAD_ORDER), round(BAD_ROW_SHARE * len(rows)))
    cols = columns(spec)
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
                "record_id": row_id(spec, rows[pos]),
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
                "record_id": row_id(spec, rows[pos]),
                "kind": "duplicate_record_id",
                "column": id_col,
                "value": row_id(spec, rows[pos]),
            }
        )
    out.sort(key=lambda x: x["row"])
    return rows, owners, out
