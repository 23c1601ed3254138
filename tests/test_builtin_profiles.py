"""The built-in profiles load and map their formats (small hand-written files in each format)."""

from __future__ import annotations

import csv

import pytest

from safelight.ingest import builtin_profiles, ingest_file, load_profile


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize("name", builtin_profiles())
def test_every_builtin_profile_loads(name):
    profile = load_profile(name)
    assert profile.name == name and profile.fields


def test_ctdc_2024_merged_means_become_group_codes(tmp_path, hub):
    header = ["yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation",
              "traffickMonths", "meansDebtBondageEarnings", "meansThreats", "meansAbusePsyPhySex",
              "meansFalsePromises", "meansDrugsAlcohol", "meansDenyBasicNeeds", "meansExcessiveWorkHours",
              "meansWithholdDocs", "isForcedLabour", "isSexualExploit", "isOtherExploit",
              "typeOfLabourAgriculture", "typeOfLabourConstruction", "typeOfLabourDomesticWork",
              "typeOfLabourHospitality", "typeOfSexProstitution", "typeOfSexPornography",
              "recruiterRelationIntimatePartner", "recruiterRelationFriend", "recruiterRelationFamily",
              "recruiterRelationOther"]
    row = ["2021", "Woman", "18—20", "UKR", "POL", "0—12", "1", "", "1", "", "", "", "", "1", "1", "", "1",
           "1", "", "", "", "", "", "", "", "", "1"]
    ingest_file(hub, write(tmp_path / "a.csv", [header, row]), contributor="ctdc", profile=load_profile("ctdc-2024"))
    got = hub.con.execute("""SELECT gender, age_band, citizenship, country_of_exploitation, months_trafficked_band,
        means_of_control, types_of_exploitation, labour_sectors, recruiter_relationship, consent FROM cases""").fetchone()
    assert got == ("female", "18-20", "UKR", "POL", "0-12",
                   ["withholds_documents", "debt_or_earnings", "abuse_any"],
                   ["forced_labour", "other_purposes"], ["agriculture"], ["other"], "statistics_only")


def test_htcds_xlsform_names_and_system_values(tmp_path, hub):
    header = ["prs_First_Name", "prs_Second_Name", "prs_Gender", "prs_Birth_Date", "prs_Citizenship",
              "vic_Trafficking_Status", "vic_Methods_of_Control", "vic_Type_of_Exploitation",
              "vic_RelationshipToTrafficker", "con_Consent"]
    row = ["Amina", "Bello", "Feminine", "1999-04-02", "NG", "ActualVictimOfTrafficking",
           "DebtBondage WithholdsDocuments", "SexualExploitation", "Unaquainted", "TRUE"]
    ingest_file(hub, write(tmp_path / "a.csv", [header, row]), contributor="ngo", profile=load_profile("htcds-2.0"))
    case = hub.con.execute("""SELECT gender, citizenship, trafficking_status, means_of_control,
        types_of_exploitation, recruiter_relationship, consent FROM cases""").fetchone()
    assert case == ("female", "NGA", "actual", ["debt_bondage", "withholds_documents"],
                    ["sexual_exploitation"], ["other"], "statistics_only")
    ident = hub.con.execute("SELECT given_name, family_name, birth_date FROM identities").fetchone()
    assert ident[:2] == ("Amina", "Bello") and str(ident[2]) == "1999-04-02"


def test_the_safelight_profile_reads_sex_as_linkage_does(tmp_path, hub):
    """Clustering trial (2026-12-01): the built-in profile quarantined F, жін. and w, which
    linkage maps read as female (one vocabulary now: safelight.standard.sex)."""
    from safelight.ingest import check_file

    path = write(tmp_path / "t.csv", [
        ["record_id", "consent", "given_name", "sex"],
        ["x1", "full", "Олена", "жін."], ["x2", "full", "Olena", "F"],
        ["x3", "full", "Anna", "w"], ["x4", "full", "Ivan", "чол"],
        ["x5", "full", "Ira", "невідомо"], ["x6", "full", "Ola", "zebra"]])
    result = check_file(path, load_profile("safelight"))
    assert result["rows_read"] == 6 and result["rules"] == {"unknown_code": 1}
    (bad,) = result["examples"]
    assert bad["row"] == 7 and bad["reasons"][0]["value"] == "zebra"  # as before
    ingest_file(hub, path, contributor="ngo", profile=load_profile("safelight"))
    got = dict(hub.con.execute("SELECT record_id, sex FROM identities").fetchall())
    assert got == {"x1": "female", "x2": "female", "x3": "female", "x4": "male",
                   "x5": "unknown"}
