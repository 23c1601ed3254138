"""The mapping profile that reads each contributor's export (format: ``docs/profiles.md``).

Contract
--------
:func:`build_profile` returns the profile of a contributor as a plain dict (key order is the
order written); :func:`write_profile` writes it as ``<export>.profile.yaml`` with a two-line
header, UTF-8, LF line ends. Value maps are the contributor's vocabulary inverted
(:func:`safelight.demo.vocabulary.inverse`) and country names from ``countries.yaml``, so a
profile reads exactly what :mod:`safelight.demo.export_rows` wrote. The same inputs give the same
bytes (a table used twice in one profile is written once with a YAML anchor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from safelight.demo.contributors import Spec
from safelight.demo.countries import Country
from safelight.demo.vocabulary import DE, HT, IT, PL, RO, SEX_OF_GENDER, UA, inverse

__all__ = ["build_profile", "write_profile"]


def _values_country(lang: str, countries: dict[str, Country]) -> dict[str, str]:
    """Country name in ``lang`` -> alpha-3 code."""
    return {c.names[lang]: a3 for a3, c in countries.items()}


def build_profile(spec: Spec, countries: dict[str, Country]) -> dict[str, Any]:
    """The mapping profile (docs/profiles.md) that reads ``spec``'s export."""
    head: dict[str, Any] = {"profile": spec.name, "version": 1}
    desc = {
        "ua-hotline": "Export of a Ukrainian counter-trafficking hotline's case register "
        "(semicolon CSV, UTF-8 with BOM, Ukrainian headers). Demo data.",
        "pl-ngo": "Case register of a Polish NGO assisting trafficked persons (XLSX, sheet "
        "'Rejestr'; sheet 'Uwagi' holds notes). Demo data.",
        "de-police": "Export of a German police unit's trafficking cases (comma CSV, cp1252). "
        "Demo data.",
        "it-labour": "Inspection findings of an Italian labour inspectorate (JSON Lines, numeric "
        "ISO 3166 country codes). Demo data.",
        "ng-ngo": "Case-management export of a Nigerian NGO using HTCDS 2.0 field names and "
        "system values (Parquet; dates as US MM/DD/YYYY text). Demo data.",
        "ro-ngo": "Case register of a Romanian NGO (tab-separated, UTF-8, Romanian headers, "
        "CNP personal codes). Demo data.",
    }[spec.name]
    head["description"] = desc
    head["target"] = "cases"
    if spec.name == "ng-ngo":
        head["crosswalk"] = "htcds-2.0"
    defaults: dict[str, Any] = {"data_source_type": spec.source_type}
    if spec.cex is None:
        defaults["country_of_exploitation"] = spec.country
    if spec.name == "ua-hotline":
        g = {v: k for k, v in UA.gender.items()}
        s = {v: SEX_OF_GENDER[k] for k, v in UA.gender.items()}
        uk_c = _values_country("uk", countries)
        head["read"] = {"delimiter": ";", "encoding": "utf-8", "header_row": 1}
        head["record_id"] = "№ звернення"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Дата звернення", "date_formats": ["%d.%m.%Y"]},
            "family_name": "Прізвище",
            "given_name": "Ім'я",
            "birth_date": {
                "column": "Дата народження",
                "date_formats": ["%d.%m.%Y", "%Y"],
            },
            "age_years": "Вік",
            "gender": {"column": "Стать", "values": g},
            "sex": {"column": "Стать", "values": s},
            "citizenship": {"column": "Громадянство", "values": uk_c},
            "nationality": {"column": "Громадянство", "values": uk_c},
            "phone": "Телефон",
            "locality": "Населений пункт",
            "street": "Адреса",
            "types_of_exploitation": {
                "column": "Вид експлуатації",
                "separator": ", ",
                "values": inverse(UA.forms),
            },
            "labour_sectors": {
                "column": "Сфера праці",
                "separator": ", ",
                "values": inverse(UA.sectors),
            },
            "country_of_exploitation": {"column": "Країна експлуатації", "values": uk_c},
            "means_of_control": {
                "flags": dict(UA.flags),
                "true_values": ["так"],
                "false_values": ["ні"],
            },
            "recruiter_relationship": {
                "column": "Хто вербував",
                "separator": ", ",
                "values": inverse(UA.recruiter),
            },
            "trafficking_status": {"column": "Статус", "values": inverse(UA.status)},
            "consent": {"column": "Згода", "values": inverse(UA.consent)},
        }
    elif spec.name == "pl-ngo":
        head["read"] = {"sheet": "Rejestr", "header_row": 1}
        head["record_id"] = "Nr sprawy"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Data przyjęcia", "date_formats": ["%Y-%m-%d"]},
            "given_name": "Imię",
            "family_name": "Nazwisko",
            "birth_date": {"column": "Data urodzenia", "date_formats": ["%Y-%m-%d", "%Y"]},
            "gender": {"column": "Płeć", "values": {v: k for k, v in PL.gender.items()}},
            "sex": {
                "column": "Płeć",
                "values": {v: SEX_OF_GENDER[k] for k, v in PL.gender.items()},
            },
            "citizenship": "Obywatelstwo",
            "nationality": "Obywatelstwo",
            "phone": "Telefon",
            "locality": "Miejscowość",
            "document_number": "Nr dokumentu",
            "types_of_exploitation": {
                "column": "Forma wyzysku",
                "separator": ";",
                "values": inverse(PL.forms),
            },
            "labour_sectors": {
                "column": "Branża",
                "separator": ";",
                "values": inverse(PL.sectors),
            },
            "country_of_exploitation": "Kraj wyzysku",
            "means_of_control": {
                "column": "Środki kontroli",
                "separator": ";",
                "values": inverse(PL.means),
            },
            "recruiter_relationship": {
                "column": "Relacja z werbownikiem",
                "separator": ";",
                "values": inverse(PL.recruiter),
            },
            "trafficking_status": {"column": "Status", "values": inverse(PL.status)},
            "consent": {"column": "Zgoda", "values": inverse(PL.consent)},
        }
    elif spec.name == "de-police":
        de_c = _values_country("de", countries)
        head["read"] = {"delimiter": ",", "encoding": "cp1252", "header_row": 1}
        head["record_id"] = "Vorgangsnummer"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Datum Feststellung", "date_formats": ["%d.%m.%Y"]},
            "family_name": "Familienname",
            "given_name": "Vorname",
            "birth_date": {
                "column": "Geburtsdatum",
                "date_formats": ["%d.%m.%Y", "%Y"],
            },
            "age_years": "Alter",
            "gender": {"column": "Geschlecht", "values": {v: k for k, v in DE.gender.items()}},
            "sex": {
                "column": "Geschlecht",
                "values": {v: SEX_OF_GENDER[k] for k, v in DE.gender.items()},
            },
            "citizenship": {"column": "Staatsangehörigkeit", "values": de_c},
            "nationality": {"column": "Staatsangehörigkeit", "values": de_c},
            "phone": "Telefon",
            "locality": "Wohnort",
            "street": "Straße",
            "document_number": "Ausweisnummer",
            "document_type": "Ausweisart",
            "types_of_exploitation": {
                "column": "Ausbeutungsform",
                "separator": " / ",
                "values": inverse(DE.forms),
            },
            "labour_sectors": {
                "column": "Branche",
                "separator": " / ",
                "values": inverse(DE.sectors),
            },
            "means_of_control": {
                "column": "Kontrollmittel",
                "separator": ";",
                "values": inverse(DE.means),
            },
            "recruiter_relationship": {
                "column": "Beziehung zum Täter",
                "separator": ";",
                "values": inverse(DE.recruiter),
            },
            "trafficking_status": {"column": "Opferstatus", "values": inverse(DE.status)},
            "consent": {"column": "Einwilligung", "values": inverse(DE.consent)},
        }
    elif spec.name == "it-labour":
        head["read"] = {"encoding": "utf-8"}
        head["record_id"] = "id_pratica"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "data_accertamento", "date_formats": ["%d/%m/%Y"]},
            "family_name": "cognome",
            "given_name": "nome",
            "birth_date": {
                "column": "data_nascita",
                "date_formats": ["%d/%m/%Y", "%Y"],
            },
            "age_years": "eta",
            "gender": {"column": "sesso", "values": {v: k for k, v in IT.gender.items()}},
            "sex": {
                "column": "sesso",
                "values": {v: SEX_OF_GENDER[k] for k, v in IT.gender.items()},
            },
            "citizenship": "cittadinanza",
            "nationality": "cittadinanza",
            "phone": "telefono",
            "locality": "comune_domicilio",
            "street": "indirizzo",
            "document_number": "documento",
            "document_type": "tipo_documento",
            "labour_sectors": {
                "column": "settore",
                "separator": ";",
                "values": inverse(IT.sectors),
            },
            "types_of_exploitation": {
                "column": "forme_sfruttamento",
                "separator": ";",
                "values": inverse(IT.forms, IT.form_synonyms),
            },
            "means_of_control": {
                "column": "indicatori",
                "separator": ";",
                "values": inverse(IT.means),
            },
            "recruiter_relationship": {
                "column": "reclutatore",
                "separator": ";",
                "values": inverse(IT.recruiter),
            },
            "months_trafficked": "mesi_sfruttamento",
            "trafficking_status": {"column": "status_vittima", "values": inverse(IT.status)},
            "consent": {"column": "consenso", "values": inverse(IT.consent)},
        }
    elif spec.name == "ng-ngo":
        head["record_id"] = "cas_CaseId"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "cas_DateOpened", "date_formats": ["%m/%d/%Y"]},
            "given_name": "prs_FirstName",
            "family_name": "prs_LastName",
            "birth_date": {
                "column": "prs_Birthdate",
                "date_formats": ["%m/%d/%Y", "%Y"],
            },
            "gender": {"column": "prs_Gender", "values": {v: k for k, v in HT.gender.items()}},
            "sex": {
                "column": "prs_Gender",
                "values": {v: SEX_OF_GENDER[k] for k, v in HT.gender.items()},
            },
            "citizenship": "prs_Citizenship",
            "nationality": "prs_Citizenship",
            "phone": "prs_MobilePhone",
            "locality": "prs_MailingCity",
            "street": "prs_MailingStreet",
            "document_number": "prs_IdentityNumber",
            "trafficking_status": {
                "column": "vic_TraffickingStatus",
                "values": inverse(HT.status),
            },
            "types_of_exploitation": {
                "column": "vic_TypeOfExploitation",
                "separator": ";",
                "values": inverse(HT.forms, {"Other": "other"}),
            },
            "labour_sectors": {
                "column": "vic_ForcedLabourIndustry",
                "separator": ";",
                "values": inverse(HT.sectors),
            },
            "types_of_sexual_exploitation": {
                "column": "vic_TypeOfSexExploitation",
                "separator": ";",
                "values": inverse(HT.sex_types),
            },
            "means_of_control": {
                "column": "vic_MethodsOfControl",
                "separator": ";",
                "values": inverse(HT.means, {"Other": "other"}),
            },
            "recruiter_relationship": {
                "column": "vic_RelationshipToTrafficker",
                "separator": ";",
                "values": inverse(HT.recruiter),
            },
            "country_of_exploitation": "hte_Country",
            "consent": {"column": "con_ConsentScope", "values": inverse(HT.consent)},
        }
    elif spec.name == "ro-ngo":
        head["read"] = {"delimiter": "\t", "encoding": "utf-8", "header_row": 1}
        head["record_id"] = "Cod caz"
        head["defaults"] = defaults
        head["fields"] = {
            "registration_date": {"column": "Data înregistrării", "date_formats": ["%d.%m.%Y"]},
            "family_name": "Nume",
            "given_name": "Prenume",
            "document_number": "CNP",
            "birth_date": {
                "column": "Data nașterii",
                "date_formats": ["%d.%m.%Y", "%Y"],
            },
            "gender": {"column": "Sex", "values": {v: k for k, v in RO.gender.items()}},
            "sex": {"column": "Sex", "values": {v: SEX_OF_GENDER[k] for k, v in RO.gender.items()}},
            "citizenship": "Cetățenie",
            "nationality": "Cetățenie",
            "phone": "Telefon",
            "locality": "Localitate",
            "street": "Adresă",
            "types_of_exploitation": {
                "column": "Formă de exploatare",
                "separator": ", ",
                "values": inverse(RO.forms),
            },
            "labour_sectors": {
                "column": "Domeniu",
                "separator": ", ",
                "values": inverse(RO.sectors),
            },
            "country_of_exploitation": {
                "column": "Țara exploatării",
                "values": _values_country("ro", countries),
            },
            "recruiter_relationship": {
                "column": "Relația cu recrutorul",
                "separator": ", ",
                "values": inverse(RO.recruiter),
            },
            "consent": {"column": "Acord", "values": inverse(RO.consent)},
        }
    return head


def write_profile(path: Path, profile: dict[str, Any]) -> None:
    """Write ``profile`` to ``path`` as YAML under a generated-file header."""
    header = (
        f"# Mapping profile for the demo contributor {profile['profile']!r} "
        "(format: docs/profiles.md).\n# Generated by safelight.demo; edit the generator, "
        "not this file.\n"
    )
    text = yaml.safe_dump(
        profile, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    path.write_text(header + text, encoding="utf-8", newline="\n")
