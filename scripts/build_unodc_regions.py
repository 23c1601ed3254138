"""Regenerate ``src/safelight/standard/data/unodc_regions.csv`` from ``countries.csv``.

The table assigns every country of ``countries.csv`` to one of the ten analytical regions of the
UNODC Global Report on Trafficking in Persons (GLOTIP, 2020 and 2022 editions). GLOTIP regions are
not UN M49 regions, so the table is derived in two reviewable steps:

1. a default per M49 sub-region (or, inside Latin America and the Caribbean, per M49 intermediate
   region) - ``M49_DEFAULT`` below;
2. explicit per-country exceptions with their reason - ``EXCEPTIONS`` below.

An optional ``unodc_subregion`` (finer breakdown used in some GLOTIP charts, derived from M49
names, not an official UNODC list) comes from ``SUBREGION``.

Usage::

    python scripts/build_unodc_regions.py           # rewrites unodc_regions.csv
    python scripts/build_unodc_regions.py --check   # exit 1 if the shipped CSV is out of date

A deployment that groups countries differently ships its own CSV with the same columns and loads
it with ``safelight.standard.geography.load_unodc_regions(path)``.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "safelight" / "standard" / "data"
COUNTRIES = DATA / "countries.csv"
OUT = DATA / "unodc_regions.csv"

NA = "North America"
CAC = "Central America and the Caribbean"
SA = "South America"
WSE = "Western and Southern Europe"
CSEE = "Central and South-Eastern Europe"
EECA = "Eastern Europe and Central Asia"
NAME = "North Africa and the Middle East"
SSA = "Sub-Saharan Africa"
SAS = "South Asia"
EAP = "East Asia and the Pacific"
REGIONS = (NA, CAC, SA, WSE, CSEE, EECA, NAME, SSA, SAS, EAP)

# Step 1: default GLOTIP region per M49 sub-region / intermediate region name.
M49_DEFAULT = {
    "Northern America": NA,
    "Central America": CAC,  # intermediate region of Latin America and the Caribbean
    "Caribbean": CAC,  # intermediate region of Latin America and the Caribbean
    "South America": SA,  # intermediate region of Latin America and the Caribbean
    "Northern Europe": WSE,
    "Western Europe": WSE,
    "Southern Europe": WSE,
    "Eastern Europe": EECA,
    "Central Asia": EECA,
    "Northern Africa": NAME,
    "Western Asia": NAME,
    "Sub-Saharan Africa": SSA,
    "Southern Asia": SAS,
    "Eastern Asia": EAP,
    "South-eastern Asia": EAP,
    "Australia and New Zealand": EAP,
    "Melanesia": EAP,
    "Micronesia": EAP,
    "Polynesia": EAP,
}

# Step 2: per-country exceptions to the M49 default: alpha3 -> (region, reason).
# An empty region means "no GLOTIP region" (the country is listed with a blank region).
EXCEPTIONS: dict[str, tuple[str, str]] = {
    "MEX": (NA, "GLOTIP groups Mexico with Canada and the USA (M49: Central America)"),
    # Baltic states (M49 Northern Europe)
    "EST": (CSEE, "Baltic state"),
    "LVA": (CSEE, "Baltic state"),
    "LTU": (CSEE, "Baltic state"),
    # Central European EU members (M49 Eastern Europe)
    "POL": (CSEE, "Central Europe"),
    "CZE": (CSEE, "Central Europe"),
    "SVK": (CSEE, "Central Europe"),
    "HUN": (CSEE, "Central Europe"),
    "ROU": (CSEE, "South-Eastern Europe"),
    "BGR": (CSEE, "South-Eastern Europe"),
    # Balkan states (M49 Southern Europe)
    "ALB": (CSEE, "Balkans"),
    "BIH": (CSEE, "Balkans"),
    "HRV": (CSEE, "Balkans"),
    "MNE": (CSEE, "Balkans"),
    "MKD": (CSEE, "Balkans"),
    "SRB": (CSEE, "Balkans"),
    "SVN": (CSEE, "Balkans"),
    "XKX": (CSEE, "Balkans (Kosovo under UNSCR 1244)"),
    # South Caucasus (M49 Western Asia)
    "ARM": (EECA, "South Caucasus, grouped with the former Soviet republics"),
    "AZE": (EECA, "South Caucasus, grouped with the former Soviet republics"),
    "GEO": (EECA, "South Caucasus, grouped with the former Soviet republics"),
    # Western Asia members grouped with Europe
    "CYP": (WSE, "EU member (M49: Western Asia)"),
    "TUR": (WSE, "GLOTIP lists Türkiye in Western and Southern Europe (M49: Western Asia)"),
    # No region
    "ATA": ("", "Antarctica: no M49 region, no GLOTIP region"),
}

# Choices that follow the M49 default and are recorded here so that they are reviewed, not
# forgotten. They produce no change to the table.
DOCUMENTED_DEFAULTS: dict[str, tuple[str, str]] = {
    "AFG": (SAS, "Afghanistan stays in South Asia (M49 Southern Asia; GLOTIP South Asia chapter)"),
    "IRN": (SAS, "Iran stays in South Asia (M49 Southern Asia); a deployment may move it to NAME"),
    "SDN": (NAME, "Sudan stays in North Africa and the Middle East (M49 Northern Africa)"),
    "ESH": (NAME, "Western Sahara stays in North Africa and the Middle East (M49 Northern Africa)"),
    "ISR": (NAME, "Israel stays in North Africa and the Middle East (M49 Western Asia)"),
}

# Optional finer breakdown: (region, M49 sub-region or intermediate region) -> unodc_subregion.
SUBREGION = {
    (CAC, "Central America"): "Central America",
    (CAC, "Caribbean"): "Caribbean",
    (NAME, "Northern Africa"): "North Africa",
    (NAME, "Western Asia"): "Middle East",
    (EECA, "Eastern Europe"): "Eastern Europe",
    (EECA, "Central Asia"): "Central Asia",
    (EECA, "Western Asia"): "South Caucasus",
    (SSA, "Western Africa"): "West Africa",
    (SSA, "Middle Africa"): "Central Africa",
    (SSA, "Eastern Africa"): "East Africa",
    (SSA, "Southern Africa"): "Southern Africa",
    (EAP, "Eastern Asia"): "East Asia",
    (EAP, "South-eastern Asia"): "South-East Asia",
    (EAP, "Australia and New Zealand"): "Pacific",
    (EAP, "Melanesia"): "Pacific",
    (EAP, "Micronesia"): "Pacific",
    (EAP, "Polynesia"): "Pacific",
}

COLUMNS = ["alpha3", "unodc_region", "unodc_subregion", "rule"]


def assign(country: dict[str, str]) -> dict[str, str]:
    """Region, sub-region and the rule that produced them, for one countries.csv row."""
    alpha3 = country["alpha3"]
    m49_keys = [country["m49_intermediate"], country["m49_subregion"]]
    if alpha3 in EXCEPTIONS:
        region, reason = EXCEPTIONS[alpha3]
        rule = f"exception: {reason}"
    else:
        key = next((k for k in m49_keys if k in M49_DEFAULT), None)
        if key is None:
            raise SystemExit(
                f"{COUNTRIES}: {alpha3} has M49 sub-region {country['m49_subregion']!r} and "
                f"intermediate region {country['m49_intermediate']!r}, neither in M49_DEFAULT; "
                "add a default or an exception"
            )
        region = M49_DEFAULT[key]
        rule = f"M49 {key}"
    subregion = next((SUBREGION[(region, k)] for k in m49_keys if (region, k) in SUBREGION), "")
    return {"alpha3": alpha3, "unodc_region": region, "unodc_subregion": subregion, "rule": rule}


def build_rows() -> list[dict[str, str]]:
    with COUNTRIES.open(encoding="utf-8", newline="") as f:
        countries = list(csv.DictReader(f))
    known = {c["alpha3"] for c in countries}
    for alpha3 in [*EXCEPTIONS, *DOCUMENTED_DEFAULTS]:
        if alpha3 not in known:
            raise SystemExit(f"{alpha3} is listed in this script but not in {COUNTRIES}")
    rows = [assign(c) for c in countries]
    by_code = {r["alpha3"]: r for r in rows}
    for alpha3, (region, reason) in DOCUMENTED_DEFAULTS.items():
        if by_code[alpha3]["unodc_region"] != region:
            raise SystemExit(f"{alpha3}: documented default {region!r} ({reason}) no longer holds")
    unused = set(REGIONS) - {r["unodc_region"] for r in rows}
    if unused:
        raise SystemExit(f"regions without any country: {sorted(unused)}")
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
    text = render(build_rows())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run python scripts/build_unodc_regions.py")
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
