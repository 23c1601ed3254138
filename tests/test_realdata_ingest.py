"""Ingest of the real CTDC and GLOTIP files in ../shared/data with the built-in profiles.

Marked ``realdata``: skipped with a message when the folder is absent. The figures asserted here
are the ones reported in docs/ingest.md.
"""

from __future__ import annotations

import pytest

from safelight.ingest import ingest_file, load_profile

pytestmark = pytest.mark.realdata


def _ingest(hub, path, contributor, profile):
    result = ingest_file(hub, path, contributor=contributor, profile=load_profile(profile))
    assert result.rows_accepted + result.rows_quarantined == result.rows_read
    return result


def test_ctdc_legacy_dados_app(hub, shared_data):
    r = _ingest(hub, shared_data / "ctdc/upstream/dados_app.csv", "ctdc", "ctdc-legacy")
    assert r.rows_read == 48_773 and r.rows_quarantined == 0
    con = hub.con
    # CTDC's "0" means unknown (8,858 rows); 278 cells are empty upstream ("NA" read as missing
    # by the script that made the file, or -99): both are missing, never a wrong country
    unknown = dict(con.execute("""SELECT citizenship_raw, count(*) FROM cases
                                  WHERE citizenship IS NULL GROUP BY 1""").fetchall())
    assert unknown == {"0": 8_858, "": 278}
    genders = dict(con.execute("SELECT gender, count(*) FROM cases GROUP BY 1").fetchall())
    assert genders["female"] > genders["male"] > 0
    bands = {b for (b,) in con.execute("SELECT DISTINCT age_band FROM cases").fetchall()}
    assert bands <= {None, "0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38", "39-47", "48+"}
    forms = dict(con.execute(
        "SELECT t, count(*) FROM (SELECT unnest(types_of_exploitation) t FROM cases) GROUP BY 1").fetchall())
    assert forms["sexual_exploitation"] > 0 and forms["forced_labour"] > 0
    # the raw value is kept next to the mapped one
    raw = con.execute("SELECT gender_raw, age_band_raw, citizenship_raw, types_of_exploitation_raw "
                      "FROM cases WHERE source_row = 2").fetchone()
    assert raw == ("Female", "18--20", "CO", "isForcedLabour=0.0; isSexualExploit=1.0")


def test_ctdc_legacy_cleaned_subset(hub, shared_data):
    r = _ingest(hub, shared_data / "ctdc/upstream/trafficking_cleaned.csv", "ctdc-clean", "ctdc-legacy")
    assert r.rows_read == 14_299
    assert r.rows_quarantined == 0
    sources = dict(hub.con.execute("SELECT data_source_type, count(*) FROM cases GROUP BY 1").fetchall())
    assert set(sources) <= {"case_management", "hotline", None}


def test_glotip_portal_export(hub, shared_data):
    r = _ingest(hub, shared_data / "glotip/data_glotip.xlsx", "unodc", "glotip")
    assert r.rows_read == 46_556
    assert r.rows_quarantined == 1  # "Aruba/Curacao": two countries in one code
    con = hub.con
    censored = con.execute("SELECT count(*) FROM series WHERE value IS NULL").fetchone()[0]
    assert censored == 23_075  # every "<5" kept as bounds 1..4 (the 23,076th is the quarantined row)
    assert con.execute("SELECT min(value_low), max(value_high) FROM series WHERE value IS NULL").fetchone() == (1, 4)
    forms = {c for (c,) in con.execute(
        "SELECT DISTINCT category_code FROM series WHERE dimension = 'form_of_exploitation'").fetchall()}
    assert forms == {"sexual_exploitation", "forced_labour", "other_purposes"}
    resolved, total = con.execute("""SELECT count(category_iso3), count(*) FROM series
        WHERE dimension IN ('citizenship', 'country_of_repatriation') AND category_code IS NULL""").fetchone()
    assert resolved / total > 0.98
    # Namibia's rows are Namibia's
    assert con.execute("SELECT count(*) FROM series WHERE country_iso3 = 'NAM'").fetchone()[0] > 0
