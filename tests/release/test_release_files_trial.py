"""The k-based release commands on files, found wrong by a data officer trying them as a new
user would (2026-12-01): consent and identifier columns under other names, releases that leak
without a warning, numbers read as ages, a level search that blanked everything, roundings
under k, duplicate columns, list columns and Unicode forms."""

from __future__ import annotations

import csv
import json
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from safelight.release.cli import EXIT_DO_NOT_PUBLISH, release

CTDC10 = "bench_ctdc10.csv"


def _run(*args):
    return CliRunner().invoke(release, [str(a) for a in args])


def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _base_rows(n=300):
    return [[["female", "male"][i % 2], ["UKR", "MDA", "ROU"][i % 3], str(2018 + i % 4)]
            for i in range(n)]


def test_a_consent_column_under_another_name_is_read_and_never_released(tmp_path):
    rows = [r + [["full", "withdrawn", "none", "statistics_only"][i % 4]]
            for i, r in enumerate(_base_rows())]
    f = _write(tmp_path / "t.csv", ["gender", "citizenship", "year", "informed_consent"], rows)
    r = _run("aggregates", f, "--k", "11", "--length", "1", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "o" / "aggregates.csv").read_text("utf-8")
    assert "withdrawn" not in text and "informed_consent" not in text
    settings = (tmp_path / "o" / "settings.json").read_text("utf-8")
    assert '"rows_without_statistics_consent": 150' in settings


@pytest.mark.parametrize("header", [
    "home_address", "father_name", "whatsapp_number", "ssn", "alias", "place_of_birth", "IMEI",
    "victimSurname", "telegram",
    # the second review: a words-only first version let these through
    "address1", "Wohnadresse", "street_name", "son_name", "прізвище_жертви", "ПрізвищеЖертви",
    "imie_i_nazwisko", "Vorname des Opfers", "identification number", "contact_phone",
    "victim_dob", "victim_passport", "trafficker_alias", "FIO",
    # the third review
    "nombre_victima", "Handynummer", "calle_y_numero", "nom_de_la_victime", "telefon_mobil",
    "correo_victima", "Personalausweisnummer", "national_id_number", "victimDoB",
    "data_nasterii_victimei", "miejsce_zamieszkania", "case_name"])
def test_identifier_columns_under_other_names_are_refused(tmp_path, header):
    rows = [r + [f"v{i % 5}"] for i, r in enumerate(_base_rows())]
    f = _write(tmp_path / "t.csv", ["gender", "citizenship", "year", header], rows)
    r = _run("aggregates", f, "--k", "11", "--out", tmp_path / "o")
    assert r.exit_code == 3 and header in r.output, r.output


@pytest.mark.parametrize("header", ["country_name", "destination_country_name", "oblast_name",
                                    "status_name", "type_of_exploitation_name",
                                    "address_region", "needs_addressed", "via_telegram",
                                    "vietnamese", "seguimiento", "pais_de_nacimiento",
                                    "passport_confiscated", "has_phone", "street_children",
                                    "mobile_money", "nombre_de_victimes", "Suriname"])
def test_case_attributes_named_like_identifiers_pass(tmp_path, header):
    """Review: substring rules refused destination_country_name and address_region; a bare
    channel name is a recruitment-channel flag."""
    rows = [r + [["yes", "no"][i % 2]] for i, r in enumerate(_base_rows())]
    f = _write(tmp_path / "t.csv", ["gender", "citizenship", "year", header], rows)
    r = _run("aggregates", f, "--k", "11", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output


def test_consent_columns_by_what_they_say(tmp_path):
    """Review: consent_withdrawn ("yes" = withdrawn) read as a consent released the 50 people
    who withdrew; consent_date made a file unreleasable; consent_linkage is no statistics
    consent."""
    rows = [r + [["yes", "no"][i % 6 == 0]] for i, r in enumerate(_base_rows())]
    f = _write(tmp_path / "w.csv", ["gender", "citizenship", "year", "consent_withdrawn"], rows)
    r = _run("aggregates", f, "--k", "11", "--out", tmp_path / "o")
    assert r.exit_code == 3 and "refusals or withdrawals" in r.output
    rows = [r + ["full", "2024-01-0" + str(1 + i % 9), ["yes", "no"][i % 2]]
            for i, r in enumerate(_base_rows())]
    f = _write(tmp_path / "d.csv", ["gender", "citizenship", "year", "consent", "consent_date",
                                     "consent_linkage"], rows)
    r = _run("aggregates", f, "--k", "11", "--out", tmp_path / "o2")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "o2" / "aggregates.csv").read_text("utf-8")
    assert "consent" not in text and "2024-01" not in text
    # the second review: refusals in other languages, a yes/no header, an "other" column alone
    for header, code in (("відкликана_згода", 3), ("Einwilligung_nein", 3), ("no_consent", 3),
                         ("Consent (yes/no)", 0), ("informedconsent", 0),
                         ("consent_given_by_guardian", 3), ("consent_date", 3),
                         # the third review: other languages, another use, a cedilla
                         ("consentimiento_retirado", 3), ("consentement_retiré", 3),
                         ("consent_to_contact", 3), ("Consimţământ", 0)):
        rows = [r + [["yes", "no"][i % 3 == 0]] for i, r in enumerate(_base_rows())]
        f = _write(tmp_path / "c.csv", ["gender", "citizenship", "year", header], rows)
        r = _run("aggregates", f, "--k", "11", "--out", tmp_path / "oc", "--force")
        assert r.exit_code == code, (header, r.output)
        if code == 0:
            assert '"rows_without_statistics_consent": 100' in (
                tmp_path / "oc" / "settings.json").read_text("utf-8"), header
    pq.write_table(pa.table({"g": ["a", "b"] * 20, "consent": [["yes"]] * 40}),
                   tmp_path / "n.parquet")
    r = _run("aggregates", tmp_path / "n.parquet", "--k", "11", "--out", tmp_path / "on")
    assert r.exit_code == 3 and "consent" in r.output  # a list column, not a traceback


def test_a_k_release_that_leaks_says_do_not_publish(tmp_path, shared_data):
    table = shared_data / "ctdc" / CTDC10
    r = _run("synthetic", table, "--k", "11", "--length", "2", "--out", tmp_path / "s")
    assert r.exit_code == EXIT_DO_NOT_PUBLISH, r.output  # written, and a script is told
    note = (tmp_path / "s" / "PUBLISH.txt").read_text("utf-8")
    assert note.startswith("WARNING: ") and "Do not publish" in note
    # it went on "Publish only the release file of this folder" (a trial)
    assert "Publish only" not in note and "says not to publish it" in note
    r = _run("aggregates", table, "--k", "11", "--no-audit", "--length", "2", "--out",
             tmp_path / "a")
    assert "not audited" in (tmp_path / "a" / "PUBLISH.txt").read_text("utf-8")
    r = _run("synthetic", table, "--k", "11", "--out", tmp_path / "s4")
    note = (tmp_path / "s4" / "PUBLISH.txt").read_text("utf-8")
    assert not note.startswith("WARNING") and "Publish only the release file" in note


def test_microdata_names_the_columns_it_does_not_protect(tmp_path):
    rows = [r + [["pos", "neg"][i % 2]] for i, r in enumerate(_base_rows())]
    f = _write(tmp_path / "t.csv", ["region", "sex", "year", "hiv"], rows)
    r = _run("microdata", f, "--k", "11", "--quasi-identifiers", "region,sex,year", "--out",
             tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert "hiv are not quasi-identifiers" in (tmp_path / "m" / "PUBLISH.txt").read_text("utf-8")


def test_small_numbers_are_ages_only_in_an_age_column_and_plateaus_are_climbed(tmp_path):
    from safelight.release.microdata import hierarchy_for

    values = tuple(str(i) for i in range(91))
    assert hierarchy_for("months_trafficked", values).names == ("value", "blank")
    assert hierarchy_for("victim_age", values).names[0] == "age"
    # 12 minors and 12 adults of 6 exact ages: ages and bands are all under k, minor/adult
    # keeps every row (the search stopped at the first step that did not gain: all blanked)
    f = _write(tmp_path / "a.csv", ["age"], [[a] for a in (0, 5, 17, 18, 40, 90) for _ in range(4)])
    r = _run("microdata", f, "--k", "11", "--out", tmp_path / "m")
    assert r.exit_code == 0 and "'age': 'minor/adult'" in r.output and "0 cells blanked" in r.output


def test_roundings_that_would_publish_a_count_under_k_are_refused(tmp_path, shared_data):
    table = shared_data / "ctdc" / CTDC10
    for extra in (("--rounding", "down", "--rounding-base", "5"),
                  ("--rounding", "down", "--rounding-base", "20"),
                  ("--rounding", "nearest", "--rounding-base", "5"),
                  ("--rounding-base", "5")):
        r = _run("aggregates", table, "--k", "11", "--method", "suppress", *extra, "--out",
                 tmp_path / "o", "--force")
        assert r.exit_code == 2, (extra, r.output)
        assert ("under k = 11" in r.output if "--rounding" in extra
                else "needs --rounding" in r.output), r.output


def test_columns_options_and_column_types(tmp_path):
    f = _write(tmp_path / "t.csv", ["gender", "citizenship", "year"], _base_rows())
    assert _run("aggregates", f, "--k", "11", "--columns", "gender,gender", "--out",
                tmp_path / "o").exit_code == 0
    r = _run("aggregates", f, "--k", "11", "--columns", ",,", "--out", tmp_path / "o2")
    assert r.exit_code == 2 and "names no column" in r.output
    pq.write_table(pa.table({"g": ["a", "b"] * 20, "tags": [["x"], ["y"]] * 20}),
                   tmp_path / "l.parquet")
    r = _run("aggregates", tmp_path / "l.parquet", "--k", "11", "--out", tmp_path / "o3")
    assert r.exit_code == 3 and "tags" in r.output
    r = _run("aggregates", tmp_path / "l.parquet", "--k", "11", "--columns", "g", "--out",
             tmp_path / "o4")
    assert r.exit_code == 0, r.output  # a list column left out is no obstacle


def test_unicode_forms_are_one_value(tmp_path):
    nfc = "Côte d’Ivoire"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    f = _write(tmp_path / "t.csv", ["country"], [[nfc]] * 6 + [[nfd]] * 6 + [["Mali"]] * 12)
    r = _run("aggregates", f, "--k", "11", "--length", "1", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    with open(tmp_path / "o" / "aggregates.csv", encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if row.get("country")]
    assert sorted(row["country"] for row in rows) == sorted(["Mali", nfc])
    # a pandas category column is dictionary-encoded text: the same
    pq.write_table(pa.table({"country": pa.array([nfc] * 6 + [nfd] * 6 + ["Mali"] * 12)
                             .dictionary_encode()}), tmp_path / "d.parquet")
    r = _run("aggregates", tmp_path / "d.parquet", "--k", "11", "--length", "1", "--out",
             tmp_path / "o2")
    assert r.exit_code == 0, r.output
    assert nfc in (tmp_path / "o2" / "aggregates.csv").read_text("utf-8")
    # a header typed with a combining accent is the NFC header (a domain's key, --columns)
    head = unicodedata.normalize("NFD", "région")
    f = _write(tmp_path / "h.csv", [head, "x"], [["Kyiv", "a"]] * 12)
    r = _run("aggregates", f, "--k", "11", "--length", "1", "--columns", "région", "--out",
             tmp_path / "o3")
    assert r.exit_code == 0, r.output
    header = (tmp_path / "o3" / "aggregates.csv").read_text("utf-8").splitlines()[0]
    assert "région" in header and head not in header


def test_a_table_without_consenting_rows_says_so(tmp_path):
    rows = [r + ["none"] for r in _base_rows(50)]
    f = _write(tmp_path / "t.csv", ["gender", "citizenship", "year", "consent"], rows)
    r = _run("aggregates", f, "--k", "11", "--out", tmp_path / "o")
    assert r.exit_code == 3 and "none of its 50 rows has consent" in r.output


def test_age_columns_are_named_by_words():
    from safelight.release.microdata import hierarchy_for

    values = tuple(str(i) for i in range(91))
    for name in ("victimAge", "alter_bei_ausbeutung", "ageCategories"):
        assert hierarchy_for(name, values).names[0] == "age", name
    for name in ("agency", "recruitment_agency"):
        assert hierarchy_for(name, values).names[0] == "value", name


def test_a_hub_release_warns_as_the_file_commands_do(tmp_path):
    """Review: `release hub --method synthetic --length 2` leaked 103 combinations with no
    WARNING in PUBLISH.txt."""
    from safelight.demo.run import run_demo
    from safelight.release.hub import release_hub
    from safelight.store import open_hub

    run_demo(tmp_path / "demo", seed=3, n_records=1500)
    with open_hub(tmp_path / "demo" / "hub.duckdb") as h:
        rel = release_hub(h, "synthetic", tmp_path / "s", k=5, length=2,
                          columns=["gender", "citizenship", "age_band",
                                   "country_of_exploitation", "year_of_registration"])
    note = (rel.folder / "PUBLISH.txt").read_text("utf-8")
    assert rel.evaluation.total("leaked") > 0
    assert note.startswith("WARNING: ") and "Do not publish" in note


def test_combinations_shown_to_exist_are_in_the_evaluation(tmp_path, shared_data):
    """k-release trial (2026-12-01): the console counted small combinations shown to exist
    by the intervals, while evaluation.html said "leaked 0" and nothing else."""
    out = tmp_path / "a"
    r = _run("aggregates", shared_data / "ctdc" / CTDC10, "--k", "11", "--out", out)
    assert r.exit_code == 0, r.output
    shown = json.loads((out / "settings.json").read_text())["params"]["small_cells_shown_nonempty"]
    assert shown > 0
    page = (out / "evaluation.html").read_text("utf-8")
    assert "not released but shown to exist" in page and f": {shown}." in page
