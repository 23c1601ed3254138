"""Tests of safelight.standard.geography: country resolution, regions, region tables."""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import string
import time
from importlib import resources
from pathlib import Path

import pytest

from safelight.errors import InputFileError
from safelight.standard import geography as geo
from safelight.standard.geography import (
    Country,
    country,
    is_cross_border,
    load_unodc_regions,
    normalise_name,
    region_of,
    resolve_countries,
    resolve_country,
)

GLOTIP_REGIONS = {
    "North America",
    "Central America and the Caribbean",
    "South America",
    "Western and Southern Europe",
    "Central and South-Eastern Europe",
    "Eastern Europe and Central Asia",
    "North Africa and the Middle East",
    "Sub-Saharan Africa",
    "South Asia",
    "East Asia and the Pacific",
}


def _data_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("safelight.standard").joinpath(f"data/{name}").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


COUNTRY_ROWS = _data_csv("countries.csv")


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NA", "na", "Na", " NA ", "NAM", "nam", "516", "Namibia"])
def test_namibia_is_never_missing(value: str) -> None:
    assert resolve_country(value) == "NAM"


@pytest.mark.parametrize("value", ["4", "004", "04", "4.0", "4.", 4, 4.0])
def test_numeric_codes(value: object) -> None:
    assert resolve_country(value) == "AFG"  # type: ignore[arg-type]


def test_numeric_code_keeps_leading_zeros_meaningless_and_rejects_non_codes() -> None:
    assert resolve_country("840") == "USA"
    assert resolve_country("0") is None
    assert resolve_country("999") is None
    assert resolve_country("4.5") is None
    assert resolve_country("-99") is None


@pytest.mark.parametrize("row", COUNTRY_ROWS, ids=lambda r: r["alpha3"])
def test_every_code_in_the_table_resolves_to_itself(row: dict[str, str]) -> None:
    expected = row["alpha3"]
    assert resolve_country(row["alpha3"]) == expected
    assert resolve_country(row["alpha3"].lower()) == expected
    assert resolve_country(row["alpha2"]) == expected
    assert resolve_country(row["alpha2"].lower()) == expected
    if row["numeric"]:
        assert resolve_country(row["numeric"]) == expected


@pytest.mark.parametrize("row", COUNTRY_ROWS, ids=lambda r: r["alpha3"])
def test_every_un_name_in_the_table_resolves_to_its_country(row: dict[str, str]) -> None:
    for column in ("name_en", "name_fr", "name_es", "name_ru", "name_zh", "name_ar"):
        if row[column]:
            assert resolve_country(row[column]) == row["alpha3"], (column, row[column])


def test_table_shape() -> None:
    codes = [r["alpha3"] for r in COUNTRY_ROWS]
    assert len(codes) == len(set(codes)) == 251
    assert all(len(r["numeric"]) == 3 for r in COUNTRY_ROWS if r["numeric"])
    kosovo = next(r for r in COUNTRY_ROWS if r["alpha3"] == "XKX")
    assert kosovo["alpha2"] == "XK" and kosovo["numeric"] == ""
    assert {r["alpha3"] for r in COUNTRY_ROWS if r["deprecated"] == "Y"} == {"ANT"}


# --- Kosovo ----------------------------------------------------------------------------------


KOSOVO_LABELS = [
    "XK",
    "xk",
    "XKX",
    "Kosovo",
    "Kosovo (under UNSCR 1244)",
    "Kosovo under UNSCR 1244",
    "Kosovo (under UNSC res. 1244)",
    "Kosovar",
]


@pytest.mark.parametrize("value", KOSOVO_LABELS)
def test_kosovo_default_is_xkx(value: str) -> None:
    assert resolve_country(value) == "XKX"


@pytest.mark.parametrize("value", KOSOVO_LABELS)
def test_kosovo_folded_into_serbia(value: str) -> None:
    assert resolve_country(value, kosovo="SRB") == "SRB"


def test_kosovo_fold_does_not_touch_other_countries() -> None:
    assert resolve_country("Serbia", kosovo="SRB") == "SRB"
    assert resolve_country("Albania", kosovo="SRB") == "ALB"
    assert resolve_countries(["XK", "RS", None], kosovo="SRB") == {"XK": "SRB", "RS": "SRB"}


def test_bad_kosovo_argument_is_rejected() -> None:
    with pytest.raises(ValueError, match="kosovo"):
        resolve_country("XK", kosovo="Serbia")


def test_kosovo_country_and_regions() -> None:
    k = country("XKX")
    assert k.name == "Kosovo" and k.numeric is None and not k.historical
    assert region_of("XKX") == "Central and South-Eastern Europe"
    assert region_of("XKX", "m49_subregion") == "Southern Europe"


# --- historical codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ZR", "COD"),
        ("ZAR", "COD"),
        ("Zaire", "COD"),
        ("BU", "MMR"),
        ("BUR", "MMR"),
        ("TP", "TLS"),
        ("TMP", "TLS"),
        ("East Timor", "TLS"),
        ("DD", "DEU"),
        ("DDR", "DEU"),
        ("German Democratic Republic", "DEU"),
        ("SU", "SUN"),
        ("SUN", "SUN"),
        ("810", "SUN"),
        ("USSR", "SUN"),
        ("Soviet Union", "SUN"),
        ("YU", "YUG"),
        ("YUG", "YUG"),
        ("Former Yugoslavia", "YUG"),
        ("CS", "SCG"),  # alpha-2 reused: the latest holder (Serbia and Montenegro) wins
        ("SCG", "SCG"),
        ("Serbia and Montenegro", "SCG"),
        ("CSK", "CSK"),
        ("Former Czechoslovakia", "CSK"),
        ("AN", "ANT"),
        ("ANT", "ANT"),
        ("The former Netherlands Antilles", "ANT"),
        ("SUHH", "SUN"),
    ],
)
def test_historical_codes(value: str, expected: str) -> None:
    assert resolve_country(value) == expected


def test_current_codes_win_over_reused_historical_ones() -> None:
    assert resolve_country("AI") == "AIA"  # Anguilla, not the French Afars and Issas
    assert resolve_country("GE") == "GEO"  # Georgia, not the Gilbert and Ellice Islands
    assert resolve_country("BY") == "BLR"
    assert resolve_country("ATF") == "ATF"


@pytest.mark.parametrize("code", ["SUN", "YUG", "SCG", "CSK", "ANT"])
def test_historical_country_records(code: str) -> None:
    c = country(code)
    assert c.historical is True
    assert c.alpha3 == code


def test_historical_regions_are_those_their_successors_share() -> None:
    assert region_of("YUG") == "Central and South-Eastern Europe"
    assert region_of("CSK") == "Central and South-Eastern Europe"
    assert region_of("CSK", "m49_subregion") == "Eastern Europe"
    assert region_of("SUN") is None  # Baltic states and Central Asia do not share a region
    assert region_of("SUN", "m49_region") is None
    assert region_of("ANT") == "Central America and the Caribbean"
    assert country("ZAR").historical is True and country("ZAR").unodc_region == "Sub-Saharan Africa"
    assert country("COD").historical is False


# --- names and messy labels -----------------------------------------------------------------

MESSY_LABELS = {
    "Brazilian": "BRA",
    "Brasilero": "BRA",
    "BRASIL": "BRA",
    "BARSIL": "BRA",  # one swapped pair
    "brésilien": "BRA",
    "Czech Rep": "CZE",
    "REPÚBLICA CHECA": "CZE",
    "Ivorian": "CIV",
    "Côte d'Ivoire": "CIV",
    "Cote d'ivoire": "CIV",
    "CÃ´te d'Ivoire": "CIV",  # UTF-8 read as cp1252
    "C\ufffdte d\ufffdIvoire": "CIV",  # characters lost in decoding
    "Viet Nam": "VNM",
    "VIETNAM": "VNM",
    "vietnamese": "VNM",
    "Republic of Moldova": "MDA",
    "République de Moldavie": "MDA",
    "United Kingdom of Great Britain and Northern Ireland": "GBR",
    "UK": "GBR",
    "GRAN BRETA\ufffdA": "GBR",
    "Dem. Rep. of the Congo": "COD",
    "Congo, Democratic Republic of the": "COD",
    "Congo": "COG",
    "Lao PDR": "LAO",
    "Lao People's Dem. Republic": "LAO",
    "Syrian Arab Republic": "SYR",
    "Syriah": "SYR",
    "Türkiye": "TUR",
    "TÃ¼rkiye": "TUR",
    "T\ufffdrkiye": "TUR",
    "Turkey": "TUR",
    "Turkish": "TUR",
    "Bolivia (Plurinational State of)": "BOL",
    "Iran (Islamic Republic of)": "IRN",
    "Islamic Republic of Iran": "IRN",
    "Venezuela (Bolivarian Republic of)": "VEN",
    "Venezolana": "VEN",
    "China, Hong Kong SAR": "HKG",
    "China, Taiwan Province of China": "TWN",
    "Swaziland": "SWZ",
    "Eswatini": "SWZ",
    "Burma": "MMR",
    "Burmese": "MMR",
    "Myanmar": "MMR",
    "Domestic (Myanmar)": "MMR",
    "Ukrainian": "UKR",
    "Україна": "UKR",
    "Украина": "UKR",
    "ukrainien": "UKR",
    "The Ukraine": "UKR",
    "Nigerian": "NGA",
    "Nigerien": "NER",
    "Niger Rep": "NER",
    "Romanian": "ROU",
    "Roumanie": "ROU",
    "ESPA\ufffdA": "ESP",
    "Spania": "ESP",
    "EMIRATOS \ufffdRABES UNIDOS": "ARE",
    "ESTADOS UNIDOS DE AM\ufffdRICA": "USA",
    "Tanzania, United Republic of": "TZA",
    "Bosnia Erzegovina": "BIH",
    "B & H": "BIH",
    "Sweeden": "SWE",
    "Kazahstan": "KAZ",
    "Bhuatnese": "BTN",
    "Angolans": "AGO",
    "97 albanian": "ALB",
    "2 maliens": "MLI",
    "Guatemaltecos": "GTM",
    "Hondure\ufffdo": "HND",
    "R.Dominicana": "DOM",
    "REP\ufffdBLICA DOMINICANA": "DOM",
    "Guinea Conakry": "GIN",
    "Netherlands (Kingdom of the)": "NLD",
    "Netherlands (own country)": "NLD",
    "pays-bas": "NLD",
    "Mumbai, India": "IND",
    "St Vincent and the Grenadines": "VCT",
    "The former Yugoslav Republic of Macedonia": "MKD",
    "KIRGUIZSTÁN": "KGZ",
    "Deutschland": "DEU",
    "Polska": "POL",
    "Österreich": "AUT",
}


@pytest.mark.parametrize(("label", "expected"), sorted(MESSY_LABELS.items()))
def test_messy_glotip_style_labels(label: str, expected: str) -> None:
    assert resolve_country(label) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "zz",
        "ZZ",
        "XYZ",
        "Unknown",
        "unknown",
        "Other",
        "Others",
        "Stateless",
        "N/A",
        "n/a",
        "None",
        "Desconocido",
        "Inconnue",
        "own country",
        "Congolese",  # COG or COD: do not guess
        "Korean",  # KOR or PRK
        "Rohingya",
        "Central Africa",  # a region, not the Central African Republic
        "Caribbean (Trinidad and Tobago, Barbados, etc)",
        "Europe others",
        "TOTAL",
        "qwertyuiop",
        "Personnes de nationalit\ufffd \ufffdtrang\ufffdre",
        float("nan"),
    ],
)
def test_unknown_values_resolve_to_none(value: object) -> None:
    assert resolve_country(value) is None  # type: ignore[arg-type]


def test_normalise_name() -> None:
    assert normalise_name("The Republic of Côte d'Ivoire") == "cote ivoire"
    assert normalise_name("Bosnia & Herzegovina") == normalise_name("Bosnia and Herzegovina")
    assert normalise_name("St. Lucia") == "saint lucia"


def test_resolve_countries_maps_distinct_values() -> None:
    values = ["Brazil", "BRA", None, "Brazil", "Unknown", "NA", "004"]
    assert resolve_countries(values) == {
        "Brazil": "BRA",
        "BRA": "BRA",
        "Unknown": None,
        "NA": "NAM",
        "004": "AFG",
    }


# --- alias table -----------------------------------------------------------------------------


def test_alias_table_is_valid_and_consistent() -> None:
    rows = _data_csv("country_aliases.csv")
    assert len(rows) >= 150
    known = {r["alpha3"] for r in COUNTRY_ROWS} | set(geo.HISTORICAL_COUNTRIES)
    keys: dict[str, str] = {}
    for r in rows:
        assert r["alpha3"] == "" or r["alpha3"] in known, r
        assert r["note"], r
        key = normalise_name(r["alias"])
        assert key, r
        assert keys.setdefault(key, r["alpha3"]) == r["alpha3"], f"conflicting alias {r}"


def test_every_alias_resolves_as_declared() -> None:
    for r in _data_csv("country_aliases.csv"):
        code = r["alpha3"] or None
        if code in geo.HISTORICAL_COUNTRIES:
            successors = geo.HISTORICAL_COUNTRIES[code][1]
            code = successors[0] if len(successors) == 1 else code
        assert resolve_country(r["alias"]) == code, r


# --- regions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "scheme", "expected"),
    [
        ("MEX", "unodc", "North America"),
        ("MEX", "m49_intermediate", "Central America"),
        ("MEX", "m49_region", "Americas"),
        ("TUR", "unodc", "Western and Southern Europe"),
        ("TUR", "m49_subregion", "Western Asia"),
        ("POL", "unodc", "Central and South-Eastern Europe"),
        ("POL", "m49_subregion", "Eastern Europe"),
        ("EST", "unodc", "Central and South-Eastern Europe"),
        ("UKR", "unodc", "Eastern Europe and Central Asia"),
        ("GEO", "unodc", "Eastern Europe and Central Asia"),
        ("AFG", "unodc", "South Asia"),
        ("IRN", "unodc", "South Asia"),
        ("NGA", "unodc", "Sub-Saharan Africa"),
        ("NGA", "m49_subregion", "Sub-Saharan Africa"),
        ("NGA", "m49_intermediate", "Western Africa"),
        ("NGA", "unodc_subregion", "West Africa"),
        ("EGY", "unodc", "North Africa and the Middle East"),
        ("SAU", "unodc_subregion", "Middle East"),
        ("BRA", "unodc", "South America"),
        ("THA", "unodc", "East Asia and the Pacific"),
        ("FJI", "unodc", "East Asia and the Pacific"),
        ("IND", "m49_intermediate", None),
        ("ATA", "unodc", None),
        ("ATA", "m49_region", None),
    ],
)
def test_region_of(code: str, scheme: str, expected: str | None) -> None:
    assert region_of(code, scheme) == expected


def test_region_of_edge_cases() -> None:
    assert region_of(None) is None
    assert region_of("nam") == "Sub-Saharan Africa"
    with pytest.raises(ValueError, match="scheme"):
        region_of("NAM", "continent")
    with pytest.raises(KeyError, match="NAM"):
        region_of("NA")  # an alpha-2 code: the message points to resolve_country


def test_country_record() -> None:
    c = country("NAM")
    assert c == Country(
        alpha2="NA",
        alpha3="NAM",
        numeric="516",
        name="Namibia",
        m49_region="Africa",
        m49_subregion="Sub-Saharan Africa",
        m49_intermediate="Southern Africa",
        unodc_region="Sub-Saharan Africa",
        historical=False,
        unodc_subregion="Southern Africa",
    )
    with pytest.raises(KeyError, match="resolve_country"):
        country("Namibia")
    assert len(geo.countries()) == 250
    assert len(geo.countries(include_historical=True)) == 250 + len(geo.HISTORICAL_COUNTRIES)


def test_shipped_unodc_table_covers_every_country() -> None:
    table = load_unodc_regions()
    assert set(table.regions) == {r["alpha3"] for r in COUNTRY_ROWS}
    assert set(table.names) == GLOTIP_REGIONS
    assert [c for c, region in table.regions.items() if not region] == ["ATA"]
    assert {c for c, r in table.regions.items() if r == "North America"} >= {"CAN", "MEX", "USA"}
    assert len(table.fingerprint) == 16


def test_shipped_unodc_table_is_what_the_build_script_produces() -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "build_unodc_regions.py"
    if not script.exists():
        pytest.skip("scripts/ not available (installed package)")
    spec = importlib.util.spec_from_file_location("build_unodc_regions", script)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    expected = build.render(build.build_rows())
    shipped = resources.files("safelight.standard").joinpath("data/unodc_regions.csv")
    assert shipped.read_text("utf-8") == expected


def test_deployment_region_table(tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_text("alpha3,unodc_region\nIRN,North Africa and the Middle East\nNAM,Southern\n")
    table = load_unodc_regions(path)
    assert region_of("IRN", table=table) == "North Africa and the Middle East"
    assert region_of("IRN") == "South Asia"  # the shipped table is untouched
    assert region_of("NAM", table=table) == "Southern"
    assert region_of("BRA", table=table) is None  # not in the deployment table
    assert region_of("BRA", "m49_region", table=table) == "Americas"
    assert country("IRN", table=table).unodc_region == "North Africa and the Middle East"
    assert table.source == str(path)
    assert table.fingerprint != load_unodc_regions().fingerprint
    # a spreadsheet's export with ';' (a new-user trial read "found: alpha3;unodc_region")
    path.write_text("alpha3;unodc_region\nIRN;North Africa and the Middle East\n")
    assert region_of("IRN", table=load_unodc_regions(path)) == "North Africa and the Middle East"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("alpha3,region\nNAM,X\n", "missing column"),
        ("alpha3,unodc_region\nNAM,X\nZZZ,Y\n", "row 3, column alpha3"),
        ("alpha3,unodc_region\nNAM,X\nNAM,Y\n", "appears twice"),
    ],
)
def test_invalid_region_tables_say_where(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=problem) as info:
        load_unodc_regions(path)
    assert str(path) in str(info.value)


def test_missing_region_table_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        load_unodc_regions(tmp_path / "nope.csv")


# --- cross-border ----------------------------------------------------------------------------


def test_is_cross_border() -> None:
    assert is_cross_border("Brazilian", "ESP") is True
    assert is_cross_border("NA", "Namibia") is False
    assert is_cross_border("UKR", "Україна") is False
    assert is_cross_border(None, "ESP") is None
    assert is_cross_border("Unknown", "ESP") is None
    assert is_cross_border("SUN", "RUS") is None  # cannot tell
    assert is_cross_border("SUN", "ESP") is True
    assert is_cross_border("YUG", "Kosovo") is None
    assert is_cross_border("Kosovo", "Serbia") is True
    assert is_cross_border("Kosovo", "Serbia", kosovo="SRB") is False


# --- speed -----------------------------------------------------------------------------------


def test_resolving_20000_distinct_strings_is_fast() -> None:
    rng = random.Random(20240601)
    names = [c.name for c in geo.countries()]
    values: set[str] = set()
    while len(values) < 20_000:
        name = rng.choice(names)
        kind = rng.random()
        if kind < 0.3:
            value = name.upper() if rng.random() < 0.5 else f"{name.lower()}  "
        elif kind < 0.5:  # a typo
            i = rng.randrange(len(name))
            value = name[:i] + rng.choice(string.ascii_lowercase) + name[i + 1 :]
        elif kind < 0.7:
            value = f"{name} ({rng.randint(0, 99_999)})"
        else:  # junk that falls through every step
            alphabet = string.ascii_letters + "  "
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 30)))
        values.add(value)
    resolve_countries(["warm up", "Bhuatnese", "ESPA\ufffdA", "xx kosovo"])  # build the indexes
    start = time.perf_counter()
    result = resolve_countries(values)
    elapsed = time.perf_counter() - start
    assert len(result) == 20_000
    assert sum(code is not None for code in result.values()) > 8_000
    assert elapsed < 2.0, f"resolving 20,000 distinct strings took {elapsed:.2f} s"


# --- real data -------------------------------------------------------------------------------

GLOTIP_XLSX = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "glotip" / "data_glotip.xlsx"
)


@pytest.mark.realdata
def test_glotip_country_names_resolve_to_their_iso3_codes() -> None:
    if not GLOTIP_XLSX.exists():
        pytest.skip(f"{GLOTIP_XLSX} not found (real data lives in ../shared/data)")
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(GLOTIP_XLSX, read_only=True)
    try:
        sheet = book.active
        rows = sheet.iter_rows(min_row=3, values_only=True)
        header = list(next(rows))
        iso_col, name_col = header.index("Iso3_code"), header.index("Country")
        dim_col, cat_col = header.index("Dimension"), header.index("Category")
        pairs, categories = set(), set()
        for row in rows:
            pairs.add((row[iso_col], row[name_col]))
            if row[dim_col] == "by citizenship":
                categories.add(row[cat_col])
    finally:
        book.close()
    countries_only = {(iso, name) for iso, name in pairs if iso in geo._known_codes()}
    assert len(countries_only) > 190
    wrong = {(iso, name) for iso, name in countries_only if resolve_country(name) != iso}
    assert not wrong
    resolved = sum(resolve_country(str(c)) is not None for c in categories)
    assert resolved / len(categories) > 0.85


def test_colloquial_cyrillic_names_and_abbreviations_resolve() -> None:
    """A trial's nationality `РФ` stayed unresolved (and so never agreed with `Росія`), as
    did the everyday `Великобританія` and `ОАЕ`."""
    from safelight.standard.geography import resolve_country

    got = {x: resolve_country(x) for x in ("РФ", "рф", "Великобританія", "Великобритания",
                                           "Англія", "ОАЕ", "ОАЭ")}
    assert got == {"РФ": "RUS", "рф": "RUS", "Великобританія": "GBR", "Великобритания": "GBR",
                   "Англія": "GBR", "ОАЕ": "ARE", "ОАЭ": "ARE"}
