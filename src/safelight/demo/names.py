"""Name pools of the demo scenario: who the generated people are called.

The pools live in YAML files shipped with the package (``demo/data/names_*.yaml`` and
``identity/data/arabic_names.yaml``), written from general knowledge for the demo; a list's order
is a rough frequency rank and a name of rank *r* is drawn with weight ``1 / r ** s`` (a Zipf-like
law, ``s`` = the file's ``zipf_exponent``). Nothing here is a statistic about real people.

A *culture* names one pool: ``uk`` ``ru`` ``pl`` ``ro`` ``de`` ``it`` ``vi`` ``ar`` and the
grouped pools ``ng:yoruba`` ``ng:igbo`` ``ng:edo`` ``ng:hausa`` and ``sa:punjabi_sikh``
``sa:indian`` ``sa:pakistani`` ``sa:bangladeshi``. :class:`NamePools` draws a
:class:`PersonName` for a culture and sex with a caller's ``random.Random`` (so a seed fixes the
result); names are kept in their own script (Cyrillic for ``uk``/``ru``, Arabic script for
``ar`` together with its romanisations).

``NamePools(surname_tail=True)`` adds to most cultures' family names a long tail built from the
culture's own name-forming patterns (``demo/data/surname_tails.yaml``: syllable roots with
surname suffixes, or compound parts), all drawn with one flatter Zipf law over head and tail,
so that a population of a million is not mostly namesakes of a few dozen family names (the
linkage-at-scale benchmark's ``--population long-tail``). The default keeps the head lists
alone, as the demo scenario and every earlier figure used them.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "ArabicName",
    "NameList",
    "NamePools",
    "PersonName",
    "arabic_family_forms",
    "family_name_tail",
    "feminine_family",
    "load_yaml",
    "nicknames",
    "patronymic",
    "zipf_weights",
]

CULTURES: tuple[str, ...] = (
    "uk", "ru", "pl", "ro", "de", "it", "vi", "ar",
    "ng:yoruba", "ng:igbo", "ng:edo", "ng:hausa",
    "sa:punjabi_sikh", "sa:indian", "sa:pakistani", "sa:bangladeshi",
)  # fmt: skip


@cache
def load_yaml(package: str, name: str) -> Any:
    """Parse ``data/<name>`` of ``package`` (e.g. ``("safelight.demo", "names_uk.yaml")``)."""
    text = resources.files(package).joinpath("data", name).read_text("utf-8")
    return yaml.safe_load(text)


def zipf_weights(n: int, exponent: float) -> list[float]:
    """Weights ``1 / r ** exponent`` for ranks ``r = 1..n``."""
    return [1.0 / (r**exponent) for r in range(1, n + 1)]


@dataclass(frozen=True)
class NameList:
    """Names with cumulative weights, drawn by :meth:`sample`."""

    names: tuple[str, ...]
    weights: tuple[float, ...]

    @classmethod
    def ranked(cls, names: list[str], exponent: float) -> NameList:
        """A list whose order is its frequency rank (duplicates add weight to one name)."""
        agg: dict[str, float] = {}
        for name, w in zip(names, zipf_weights(len(names), exponent), strict=True):
            agg[str(name)] = agg.get(str(name), 0.0) + w
        return cls(tuple(agg), tuple(agg.values()))

    @property
    def probabilities(self) -> list[float]:
        total = sum(self.weights)
        return [w / total for w in self.weights]

    def sample(self, rng: random.Random) -> str:
        # cumulative weights once per list: the same draw as ``choices(weights=...)`` (the same
        # additions in the same order), without an O(n) sum per call on long lists
        return rng.choices(self.names, cum_weights=self._cumulative)[0]

    @cached_property
    def _cumulative(self) -> list[float]:
        return list(itertools.accumulate(self.weights))

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class ArabicName:
    """One Arabic name: its Arabic script, and its romanisations (English-style and French-style).

    For family names that take the article, ``article`` is True and the romanisations are the
    bare forms (Shami, Chami); :func:`arabic_family_forms` adds al-/El-/Al .../ash-.
    """

    arabic: str
    variants: tuple[str, ...]
    fr: tuple[str, ...]
    article: bool = False


@dataclass(frozen=True)
class PersonName:
    """A person's name in its own script.

    ``given2`` is a second given name (Nigerian native name beside an English one, a Vietnamese
    middle name); ``patronymic`` is the Ukrainian/Russian father's name; ``clan`` a Sikh clan name
    sometimes used as surname. ``ar_given``/``ar_family`` hold the Arabic entries of ``ar`` names.
    """

    culture: str
    given: str
    family: str
    given2: str | None = None
    patronymic: str | None = None
    clan: str | None = None
    ar_given: ArabicName | None = None
    ar_family: ArabicName | None = None


def feminine_family(name: str, culture: str) -> str:
    """The feminine form of a masculine family name, by the culture's rules.

    Ukrainian: -ський/-цький/-зький → -ська/-цька/-зька, other -ий → -а, -ов/-ев/-ін → -ова/-ева/
    -іна (rare); Russian: -ов/-ев/-ёв/-ин/-ын → +а, -ский/-цкий → -ская/-цкая, -ой/-ый/-ий → -ая;
    Polish: -ski/-cki/-dzki → -ska/-cka/-dzka. Anything else is returned unchanged (Шевченко,
    Nowak, Popescu).
    """
    if culture == "uk":
        for m, f in (("ький", "ька"), ("ий", "а"), ("ов", "ова"), ("ев", "ева"), ("ін", "іна")):
            if name.endswith(m) and len(name) > len(m) + 2:
                return name[: -len(m)] + f
        return name
    if culture == "ru":
        if name == "Толстой":
            return "Толстая"
        for m, f in (("ский", "ская"), ("цкий", "цкая"), ("ой", "ая"), ("ый", "ая"), ("ий", "ая")):
            if name.endswith(m):
                return name[: -len(m)] + f
        if name.endswith(("ов", "ев", "ёв", "ин", "ын")):
            return name + "а"
        return name
    if culture == "pl":
        for m, f in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
            if name.endswith(m):
                return name[: -len(m)] + f
    return name


def patronymic(father: str, sex: str, culture: str) -> str:
    """A Ukrainian or Russian patronymic from the father's given name (common rules only).

    Ukrainian: Олександр → Олександрович / Олександрівна, Андрій → Андрійович / Андріївна,
    Микола → Миколайович / Миколаївна, Петро → Петрович / Петрівна. Russian: Александр →
    Александрович / Александровна, Сергей → Сергеевич / Сергеевна, Никита → Никитич / Никитична,
    Дмитрий → Дмитриевич, Юрий → Юрьевич, Лев → Львович.
    """
    female = sex == "female"
    if culture == "uk":
        if father == "Ілля":
            return "Іллівна" if female else "Ілліч"
        if father.endswith("й"):
            return father[:-1] + ("ївна" if female else "йович")
        if father.endswith("а"):
            return father[:-1] + ("аївна" if female else "айович")
        if father.endswith("о"):  # Петро, Михайло, Дмитро, Павло
            father = father[:-1]
        return father + ("івна" if female else "ович")
    stems = {
        "Дмитрий": "Дмитри",
        "Георгий": "Георги",
        "Лев": "Льв",
        "Пётр": "Петр",
        "Павел": "Павл",
    }
    if father in stems:
        stem = stems[father]
        if stem.endswith("и"):
            return stem + ("евна" if female else "евич")
        return stem + ("овна" if female else "ович")
    if father.endswith("ий"):
        return father[:-2] + ("ьевна" if female else "ьевич")
    if father.endswith(("ей", "ай")):
        return father[:-1] + ("евна" if female else "евич")
    if father.endswith("а"):
        return father[:-1] + ("ична" if female else "ич")
    if father.endswith("ь"):
        return father[:-1] + ("евна" if female else "евич")
    return father + ("овна" if female else "ович")


def arabic_family_forms(entry: ArabicName, style: str) -> list[tuple[str, float]]:
    """Written forms of an Arabic family name with weights, for ``style`` ``"en"`` or ``"fr"``.

    Names with the article yield al-X, Al-X, Al X, El-X, El X, Alx/Elx, assimilated forms before
    sun letters (ash-Shami) and the bare X; French style favours El and the ``fr``-style
    spellings, English style favours al-/Al-.
    """
    if not entry.article:
        spellings = entry.fr if style == "fr" and entry.fr else entry.variants
        return [(s, 1.0 / (i + 1)) for i, s in enumerate(spellings)]
    cfg = load_yaml("safelight.identity", "arabic_names.yaml")["articles"]
    sun = sorted(cfg["sun_letters"], key=len, reverse=True)
    forms: dict[str, float] = {}
    for rank, base in enumerate(entry.variants):
        bw = 1.0 / (rank + 1)
        if style == "fr":
            table = {"El ": 3.0, "El-": 2.0, "El": 1.0, "Al ": 0.5, "al-": 0.3}
        else:
            table = {"al-": 2.0, "Al-": 2.0, "Al ": 1.5, "Al": 0.7, "El-": 0.5, "el-": 0.3}
        for art, w in table.items():
            form = art + (base.lower() if art in ("Al", "El") else base)
            forms[form] = forms.get(form, 0.0) + w * bw
        first = base.lower()
        for s in sun:
            if first.startswith(s):
                forms[f"a{s}-{base}"] = forms.get(f"a{s}-{base}", 0.0) + 0.3 * bw
                break
        forms[base] = forms.get(base, 0.0) + float(cfg["dropped_share"]) * 8 * bw
    return list(forms.items())


@cache
def nicknames(lang: str) -> dict[str, tuple[str, ...]]:
    """Diminutives by full given name for ``lang`` (from identity/data/nicknames.yaml)."""
    doc = load_yaml("safelight.identity", "nicknames.yaml")
    return {str(k): tuple(str(x) for x in v) for k, v in (doc.get(lang) or {}).items()}


_FILES = {
    "uk": "names_uk.yaml", "ru": "names_ru.yaml", "pl": "names_pl.yaml", "ro": "names_ro.yaml",
    "de": "names_de.yaml", "it": "names_it.yaml", "vi": "names_vi.yaml",
}  # fmt: skip


def family_name_tail(
    culture: str, head: list[str] | tuple[str, ...]
) -> tuple[list[str], float] | None:
    """The generated tail of ``culture``'s family names and the Zipf exponent for head + tail.

    ``size`` distinct names drawn by the spec in ``demo/data/surname_tails.yaml``: a generator
    seeded with the culture's name picks a pattern in proportion to its number of combinations
    and each of its parts uniformly (``compounds``: a first and a second part, written as one
    capitalised word), skipping ``head`` names; the same culture gives the same tail, in the
    same order, on every machine. ``None`` when the culture has no spec.
    """
    spec = load_yaml("safelight.demo", "surname_tails.yaml").get(culture)
    if not spec:
        return None
    if "compounds" in spec:
        first, second = spec["compounds"]
        parts, patterns = {"first": first, "second": second}, [["first", "second"]]
    else:
        parts, patterns = spec["parts"], spec["patterns"]
    sizes = [math.prod(len(parts[k]) for k in pattern) for pattern in patterns]
    size = min(int(spec["size"]), sum(sizes) // 2)  # at most half the space: draws stay quick
    rng = random.Random(f"safelight-surname-tail:{culture}")
    taken, names = set(head), []
    while len(names) < size:
        pattern = rng.choices(patterns, weights=sizes)[0]
        name = "".join(str(rng.choice(parts[k])) for k in pattern)
        if "compounds" in spec:
            name = name[:1] + name[1:].lower()  # Stein + berg, Ade + wale
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names, float(spec["exponent"])


class NamePools:
    """All name pools, loaded once; draws names with a caller's ``random.Random``.

    ``surname_tail=True`` extends the family names of the cultures that have a tail spec (see
    :func:`family_name_tail`); otherwise the head lists alone are drawn (the demo's population).
    """

    def __init__(self, *, surname_tail: bool = False) -> None:
        self.surname_tail = surname_tail
        self._masculine_forms: dict[str, dict[str, str]] = {}
        self.given: dict[tuple[str, str], NameList] = {}
        self.family: dict[str, NameList] = {}
        self.localities: dict[str, tuple[str, ...]] = {}
        self.streets: dict[str, tuple[str, ...]] = {}
        self.extra: dict[str, NameList] = {}
        self.russian_forms: dict[str, str] = {}
        for culture, fname in _FILES.items():
            doc = load_yaml("safelight.demo", fname)
            s = float(doc.get("zipf_exponent", 1.0))
            for sex in ("female", "male"):
                self.given[culture, sex] = NameList.ranked(doc[sex], s)
            self.family[culture] = self._family_list(culture, doc["family"], s)
            self.localities[culture] = tuple(doc.get("localities", ()))
            self.streets[culture] = tuple(doc.get("streets", ()))
            if culture == "vi":
                for sex in ("female", "male"):
                    self.extra[f"vi:middle_{sex}"] = NameList.ranked(doc[f"middle_{sex}"], 0.5)
        self.russian_forms = dict(load_yaml("safelight.demo", "names_uk.yaml")["russian_forms"])
        for prefix, fname in (("ng", "names_ng.yaml"), ("sa", "names_south_asia.yaml")):
            doc = load_yaml("safelight.demo", fname)
            s = float(doc.get("zipf_exponent", 1.0))
            for group, spec in doc["groups"].items():
                culture = f"{prefix}:{group}"
                for sex in ("female", "male"):
                    self.given[culture, sex] = NameList.ranked(spec[sex], s)
                if "family" in spec:
                    self.family[culture] = self._family_list(culture, spec["family"], s)
                for key in ("family_male", "family_female", "clan"):
                    if key in spec:
                        self.extra[f"{culture}:{key}"] = NameList.ranked(spec[key], s)
                self.localities[culture] = tuple(doc["localities"].get(group, ()))
                self.streets[culture] = tuple(doc["streets"])
        ar = load_yaml("safelight.identity", "arabic_names.yaml")
        self.arabic_given: dict[str, tuple[list[ArabicName], list[float]]] = {}
        for sex in ("female", "male"):
            entries = [e for e in ar["given"] if e["sex"] == sex]
            self.arabic_given[sex] = (
                [
                    ArabicName(e["arabic"], tuple(e["variants"]), tuple(e.get("fr", ())))
                    for e in entries
                ],
                [float(e["weight"]) for e in entries],
            )
        fam = [
            ArabicName(
                e["arabic"],
                tuple(e["base"] if e.get("article") else e["variants"]),
                tuple(e.get("fr", ())),
                bool(e.get("article", False)),
            )
            for e in ar["family"]
        ]
        self.arabic_family = (fam, [float(e["weight"]) for e in ar["family"]])

    def _family_list(self, culture: str, head: list[str], exponent: float) -> NameList:
        """The head list, or head + generated tail under the tail's exponent."""
        tail = family_name_tail(culture, [str(n) for n in head]) if self.surname_tail else None
        if tail is None:
            return NameList.ranked(head, exponent)
        names, tail_exponent = tail
        return NameList.ranked([*head, *names], tail_exponent)

    # -- drawing ---------------------------------------------------------------------------

    def given_name(self, rng: random.Random, culture: str, sex: str) -> str:
        """A given name of ``culture`` for ``sex`` (``female``/``male``)."""
        return self.given[culture, sex].sample(rng)

    def family_name(self, rng: random.Random, culture: str, sex: str) -> str:
        """A family name of ``culture`` in the form for ``sex``."""
        if culture == "sa:punjabi_sikh":
            return self.extra[f"{culture}:family_{'female' if sex == 'female' else 'male'}"].sample(
                rng
            )
        name = self.family[culture].sample(rng)
        return feminine_family(name, culture) if sex == "female" else name

    def person_name(self, rng: random.Random, culture: str, sex: str) -> PersonName:
        """A full name for a new person of ``culture`` and ``sex``."""
        if sex not in ("female", "male"):
            sex = "female"
        if culture == "ar":
            entries, weights = self.arabic_given[sex]
            g = rng.choices(entries, weights=weights)[0]
            fentries, fweights = self.arabic_family
            f = rng.choices(fentries, weights=fweights)[0]
            return PersonName("ar", g.variants[0], f.variants[0], ar_given=g, ar_family=f)
        family = self.family_name(rng, culture, sex)
        given = self.given_name(rng, culture, sex)
        given2 = patr = clan = None
        if culture in ("uk", "ru"):
            father = self.given_name(rng, culture, "male")
            patr = patronymic(father, sex, culture)
        elif culture == "vi":
            given2 = self.extra[f"vi:middle_{sex}"].sample(rng)
        elif culture.startswith("ng:"):
            if culture != "ng:hausa" and rng.random() < 0.55:
                # an English/Christian first name with the native name as second name
                given2 = given
                given = self.given_name(rng, "ng:english", sex)
        elif culture == "sa:punjabi_sikh" and rng.random() < 0.35:
            clan = self.extra[f"{culture}:clan"].sample(rng)
        return PersonName(culture, given, family, given2=given2, patronymic=patr, clan=clan)

    def sibling_name(self, rng: random.Random, base: PersonName, sex: str) -> PersonName:
        """A sibling of ``base``: its family name (in the form for ``sex``), another given name."""
        other = self.person_name(rng, base.culture, sex)
        if base.culture == "ar":
            return PersonName(
                "ar", other.given, base.family, ar_given=other.ar_given, ar_family=base.ar_family
            )
        family = base.family
        if base.culture in ("uk", "ru", "pl"):
            masc = self._masculine(base.family, base.culture)
            family = feminine_family(masc, base.culture) if sex == "female" else masc
        elif base.culture == "sa:punjabi_sikh":
            family = "Kaur" if sex == "female" else "Singh"
        tries = itertools.count()
        while other.given == base.given and next(tries) < 5:
            other = self.person_name(rng, base.culture, sex)
        return PersonName(
            base.culture,
            other.given,
            family,
            given2=other.given2,
            patronymic=base.patronymic if base.culture in ("uk", "ru") else None,
            clan=base.clan,
        )

    def _masculine(self, name: str, culture: str) -> str:
        """The masculine form in ``culture``'s family names whose feminine form is ``name`` (the
        first such name by rank), ``name`` itself when it is in the list or has none."""
        forms = self._masculine_forms.get(culture)
        if forms is None:
            forms = {}
            for m in self.family[culture].names:
                forms.setdefault(feminine_family(m, culture), m)
            forms.update((m, m) for m in self.family[culture].names)
            self._masculine_forms[culture] = forms
        return forms.get(name, name)

    def locality(self, rng: random.Random, culture: str) -> str | None:
        pool = self.localities.get(culture) or ()
        return rng.choice(pool) if pool else None

    def street(self, rng: random.Random, culture: str) -> str | None:
        pool = self.streets.get(culture) or ()
        return rng.choice(pool) if pool else None
