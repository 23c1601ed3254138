"""Countries of the demo scenario, their phone numbering and identity-document numbers.

Contract
--------
:func:`load_countries` reads ``demo/data/countries.yaml`` into :class:`Country` records keyed by
ISO 3166-1 alpha-3 code (a new dict on every call). :func:`format_phone` writes a number in one
of the styles contributors use; :func:`doc_number` fills a passport-number pattern;
:func:`romanian_cnp` makes a valid-looking Romanian personal code. All randomness comes from the
caller's ``random.Random``, so a seed fixes every result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from safelight.demo.names import load_yaml

__all__ = ["Country", "doc_number", "format_phone", "load_countries", "romanian_cnp"]


@dataclass(frozen=True)
class Country:
    """A country as the demo needs it (see ``countries.yaml`` for the fields)."""

    alpha3: str
    alpha2: str
    numeric: str
    names: dict[str, str]  # language (en, uk, de, ro) -> the country's name
    phone: dict[str, Any] | None  # cc, nsn, trunk, mobile prefixes
    doc: tuple[str, ...]  # passport-number patterns: L letter, # digit, A digit or letter
    localities: tuple[str, ...]


def load_countries() -> dict[str, Country]:
    """alpha-3 code -> :class:`Country`, in the order of ``countries.yaml``."""
    doc = load_yaml("safelight.demo", "countries.yaml")
    out = {}
    for a3, c in doc.items():
        names = {k: str(c[k]) for k in ("en", "uk", "de", "ro")}
        out[a3] = Country(
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


def doc_number(rng: random.Random, pattern: str) -> str:
    """A document number following ``pattern`` (L letter, # digit, A digit or letter)."""
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
