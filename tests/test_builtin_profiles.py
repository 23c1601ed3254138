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
