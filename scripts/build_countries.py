"""Regenerate ``src/safelight/standard/data/countries.csv`` from the OCHA C&T taxonomy.

Source: the OCHA "Countries & Territories Taxonomy" (UN M49 codes and regions, ISO 3166-1 codes,
UN short names in the six official languages, name regexes) as shipped inside the MIT-licensed PyPI
package ``hdx-python-country`` (file ``hdx/location/Countries & Territories Taxonomy MVP - C&T
Taxonomy.csv``). This script is a maintainer tool: the package never imports it and never needs
``hdx-python-country`` at run time.

Usage::

    pip install hdx-python-country pycountry
    python scripts/build_countries.py            # writes the CSV next to the package data
    python scripts/build_countries.py --check    # exit 1 if the shipped CSV is out of date

Rows kept: every row with an ISO 3166-1 alpha-3 code, plus Kosovo (user-assigned XK/XKX, no M49
code) and the deprecated Netherlands Antilles (AN/ANT, kept so that old data still resolves).
Dropped: rows without an ISO or user-assigned country code (Azores, Canary Islands, Channel
Islands, Galapagos, Sark) - they are parts of countries or M49 groupings, not countries.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "safelight" / "standard" / "data" / "countries.csv"
TAXONOMY = "hdx/location/Countries & Territories Taxonomy MVP - C&T Taxonomy.csv"

COLUMNS = [
    "alpha2",
    "alpha3",
    "numeric",
    "name_en",
    "name_fr",
    "name_es",
    "name_ru",
    "name_zh",
    "name_ar",
    "m49_region_code",
    "m49_region",
    "m49_subregion_code",
    "m49_subregion",
    "m49_intermediate_code",
    "m49_intermediate",
    "regex",
    "independent",
    "deprecated",
    "alt_names_en",
]

# Documented corrections of the taxonomy's preferred English term (alpha3 -> name_en).
NAME_EN_FIXES = {
    # The taxonomy's preferred term is the endonym "Naoero"; UN M49 and ISO 3166 say "Nauru".
    "NRU": "Nauru",
    # "Netherlands Antilles (The Netherlands)": the parenthesis names the former sovereign.
    "ANT": "Netherlands Antilles",
}

# Other English terms of the taxonomy that become extra searchable names (alt_names_en).
ALT_NAME_COLUMNS = [
    "English Short",
    "English Formal",
    "M49 English",
    "ISO Alt Term",
    "RW Short Name",
    "RW API Alt Term",
    "DGACM Alt Term",
    "HPC Tools Alt Term",
]

LANGUAGES = {"fr": "French", "es": "Spanish", "ru": "Russian", "zh": "Chinese", "ar": "Arabic"}


def taxonomy_path() -> Path:
    """Locate the taxonomy CSV inside the installed hdx-python-country distribution."""
    dist = metadata.distribution("hdx-python-country")
    path = Path(str(dist.locate_file(TAXONOMY)))
    if not path.is_file():
        sys.exit(f"{path}: not found - is hdx-python-country installed (pip install it)?")
    return path


def code3(value: str) -> str:
    """M49 codes as 3-digit zero-padded strings ('' stays '')."""
    value = value.strip()
    return f"{int(value):03d}" if value else ""


def build_rows(source: Path) -> list[dict[str, str]]:
    import pycountry  # only for the numeric code of the deprecated Netherlands Antilles

    with source.open(encoding="utf-8", newline="") as f:
        taxonomy = list(csv.DictReader(f))
    rows: list[dict[str, str]] = []
    for t in taxonomy:
        alpha3 = t["ISO 3166-1 Alpha 3-Codes"].strip() or t["x Alpha3 codes"].strip()
        alpha2 = t["ISO 3166-1 Alpha 2-Codes"].strip() or t["x Alpha2 codes"].strip()
        if not alpha3 or not alpha2:
            continue  # Azores, Canary Islands, Channel Islands, Galapagos, Sark
        numeric = code3(t["m49 numerical code"])
        if not numeric and t["Deprecated"] == "Y":
            historic = pycountry.historic_countries.get(alpha_3=alpha3)
            numeric = historic.numeric if historic is not None else ""
        name_en = NAME_EN_FIXES.get(alpha3, t["Preferred Term"].strip())
        row = {
            "alpha2": alpha2,
            "alpha3": alpha3,
            "numeric": numeric,
            "name_en": name_en,
        }
        for lang, label in LANGUAGES.items():
            row[f"name_{lang}"] = t[f"{label} Short"].strip() or t[f"M49 {label}"].strip()
        row.update(
            {
                "m49_region_code": code3(t["Region Code"]),
                "m49_region": t["Region Name"].strip(),
                "m49_subregion_code": code3(t["Sub-region Code"]),
                "m49_subregion": t["Sub-region Name"].strip(),
                "m49_intermediate_code": code3(t["Intermediate Region Code"]),
                "m49_intermediate": t["Intermediate Region Name"].strip(),
                "regex": t["Regex"].strip(),
                "independent": "Y" if t["Independent"] == "Y" else "N",
                "deprecated": "Y" if t["Deprecated"] == "Y" else "N",
            }
        )
        alts: list[str] = []
        for column in ALT_NAME_COLUMNS:
            alt = t[column].strip()
            if alt.lower().startswith("the "):
                alt = alt[4:]
            if alt and alt != name_en and alt not in alts:
                alts.append(alt)
        row["alt_names_en"] = "|".join(alts)
        rows.append(row)
    rows.sort(key=lambda r: r["alpha3"])
    return rows


def render(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the shipped CSV")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    source = taxonomy_path()
    text = render(build_rows(source))
    version = metadata.version("hdx-python-country")
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date with hdx-python-country {version}; rebuild it")
            return 1
        print(f"{args.out} is up to date (hdx-python-country {version})")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10)) - 1} rows) from hdx-python-country {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
