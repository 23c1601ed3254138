"""The canonical case schema: one identified (or presumed) victim case per record.

Two groups of fields are kept apart on purpose:

* **case fields** describe the situation (year, gender, age, citizenship, exploitation, ...) and
  are what statistics and releases are made of;
* **identity fields** (names, birth date, phone, document number, address) exist only to find
  the same person across contributors. They are stored in a separate table, are never part of a
  release, and in privacy-preserving mode never reach the hub in clear.

The schema is versioned (``SCHEMA_VERSION``); a change of meaning bumps it and the store records
which version wrote each contribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SCHEMA_VERSION = "1.0"

#: spellings of a yes/no (``Kind.BOOLEAN``) value in contributors' files: ingest profiles'
#: default ``true_values`` / ``false_values``, and the yes/no words of the consent vocabulary
TRUE_WORDS = ("1", "1.0", "true", "yes", "y", "x", "t")
FALSE_WORDS = ("0", "0.0", "false", "no", "n", "f", "-99", "-99.0")


class Kind(StrEnum):
    """How a field's values are typed and validated."""

    STRING = "string"  # free text
    INTEGER = "integer"  # whole number within [minimum, maximum]
    DATE = "date"  # calendar date; partial dates are split into year/month/day by the parser
    CODE = "code"  # one code from `codelist`
    CODES = "codes"  # zero or more codes from `codelist` (multi-valued)
    COUNTRY = "country"  # ISO 3166-1 alpha-3 (resolved from alpha-2, numeric, names)
    BOOLEAN = "boolean"
    COUNT = "count"  # non-negative count, or a censored count such as "<5" (kept as bounds)


class Group(StrEnum):
    CASE = "case"
    IDENTITY = "identity"
    SERIES = "series"


@dataclass(frozen=True)
class Field:
    """One field of the canonical schema.

    ``minimum``/``maximum`` bound INTEGER fields (inclusive); ``codelist`` names the list in
    ``codelists.yaml`` for CODE and CODES fields.
    """

    name: str
    kind: Kind
    group: Group
    description: str
    codelist: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False


def _case(name: str, kind: Kind, description: str, **kw) -> Field:
    return Field(name, kind, Group.CASE, description, **kw)


def _identity(name: str, kind: Kind, description: str, **kw) -> Field:
    return Field(name, kind, Group.IDENTITY, description, **kw)


CASE_FIELDS: tuple[Field, ...] = (
    _case("record_id", Kind.STRING, "The contributor's own identifier of the case; unique per contributor.", required=True),
    _case("year_of_registration", Kind.INTEGER, "Year the person was identified, assisted, referred or reported (CTDC yearOfRegistration).", minimum=1990, maximum=2100),
    _case("registration_date", Kind.DATE, "Date of identification or registration, when known."),
    _case("data_source_type", Kind.CODE, "Kind of organisation or channel that registered the case.", codelist="data_source_type"),
    _case("trafficking_status", Kind.CODE, "Possible, identified or not a victim (HTCDS vic_TraffickingStatus).", codelist="trafficking_status"),
    _case("gender", Kind.CODE, "Gender as recorded.", codelist="gender"),
    _case("age_years", Kind.INTEGER, "Exact age in years at registration, when known.", minimum=0, maximum=120),
    _case("age_band", Kind.CODE, "Age band at registration (derived from age_years when that is known).", codelist="age_band"),
    _case("majority_status", Kind.CODE, "Minor or adult at registration (derived from age when known).", codelist="majority_status"),
    _case("majority_status_at_exploitation", Kind.CODE, "Minor or adult when exploitation began.", codelist="majority_status"),
    _case("citizenship", Kind.COUNTRY, "Citizenship (ISO 3166-1 alpha-3); some contributors record country of origin as a proxy."),
    _case("country_of_exploitation", Kind.COUNTRY, "Country where the exploitation took place (ISO 3166-1 alpha-3)."),
    _case("months_trafficked", Kind.INTEGER, "Duration of the trafficking situation in months, when known.", minimum=0, maximum=1200),
    _case("months_trafficked_band", Kind.CODE, "Duration band (derived from months_trafficked when known).", codelist="months_trafficked_band"),
    _case("means_of_control", Kind.CODES, "Means used to control the person.", codelist="means_of_control"),
    _case("types_of_exploitation", Kind.CODES, "Forms of exploitation.", codelist="type_of_exploitation"),
    _case("labour_sectors", Kind.CODES, "Sectors of forced labour.", codelist="labour_sector"),
    _case("types_of_sexual_exploitation", Kind.CODES, "Kinds of sexual exploitation.", codelist="type_of_sexual_exploitation"),
    _case("recruiter_relationship", Kind.CODES, "Relationship of the recruiter to the person.", codelist="recruiter_relationship"),
    _case("is_abduction", Kind.BOOLEAN, "The person was abducted."),
    _case("consent", Kind.CODE, "What the person consented to; governs linkage and releases.", codelist="consent"),
)

IDENTITY_FIELDS: tuple[Field, ...] = (
    _identity("given_name", Kind.STRING, "Given name(s) as written by the contributor, in any script."),
    _identity("family_name", Kind.STRING, "Family name(s) as written by the contributor, in any script."),
    _identity("full_name", Kind.STRING, "Full name when the contributor does not split it."),
    _identity("birth_date", Kind.DATE, "Date of birth; partial dates keep what is known."),
    _identity("sex", Kind.CODE, "Sex as on identity documents.", codelist="sex"),
    _identity("nationality", Kind.COUNTRY, "Nationality on identity documents (ISO 3166-1 alpha-3)."),
    _identity("street", Kind.STRING, "Street name and house number, or an address line."),
    _identity("locality", Kind.STRING, "City, town or village."),
    _identity("postcode", Kind.STRING, "Postal code."),
    _identity("region", Kind.STRING, "State, province or region."),
    _identity("address_country", Kind.COUNTRY, "Country of the address (ISO 3166-1 alpha-3)."),
    _identity("phone", Kind.STRING, "Phone number as recorded."),
    _identity("email", Kind.STRING, "E-mail address."),
    _identity("document_number", Kind.STRING, "Passport, ID card or other document number."),
    _identity("document_type", Kind.STRING, "Kind of document (passport, national ID, ...)."),
)

FIELDS: dict[str, Field] = {f.name: f for f in CASE_FIELDS + IDENTITY_FIELDS}


def _series(name: str, kind: Kind, description: str, **kw) -> Field:
    return Field(name, kind, Group.SERIES, description, **kw)


# Aggregate statistics (e.g. the UNODC GLOTIP portal export): one published number per row.
SERIES_FIELDS: dict[str, Field] = {f.name: f for f in (
    _series("country_iso3", Kind.COUNTRY, "Reporting country (ISO 3166-1 alpha-3); empty for regional aggregates."),
    _series("country", Kind.STRING, "Country or area name as published."),
    _series("region", Kind.STRING, "Region as published."),
    _series("subregion", Kind.STRING, "Sub-region as published."),
    _series("indicator", Kind.CODE, "What is counted.", codelist="series_indicator", required=True),
    _series("dimension", Kind.CODE, "How the count is broken down.", codelist="series_dimension"),
    _series("category", Kind.STRING, "The breakdown's category as published (e.g. a form of exploitation or a citizenship label)."),
    _series("category_code", Kind.STRING, "The category translated by the crosswalk (total, sexual_exploitation, nationals, ...); country labels resolve to category_iso3 instead."),
    _series("sex", Kind.CODE, "Sex of the persons counted.", codelist="series_sex"),
    _series("age", Kind.CODE, "Age group of the persons counted.", codelist="series_age"),
    _series("year", Kind.INTEGER, "Reference year.", minimum=1990, maximum=2100, required=True),
    _series("unit", Kind.STRING, "Unit of measurement as published."),
    _series("value", Kind.COUNT, "The published number; '<5' style values are kept as bounds.", required=True),
    _series("source", Kind.STRING, "Source as published."),
)}


def raw_column(field_name: str) -> str:
    """The column keeping a mapped field's raw source value(s), next to the mapped one."""
    return f"{field_name}_raw"


def has_raw(kind: Kind) -> bool:
    """Mapped kinds keep their raw value; free text is stored as written, so it needs none."""
    return kind is not Kind.STRING


def field(name: str) -> Field:
    """Return the field called ``name``; raises KeyError naming the known fields otherwise."""
    try:
        return FIELDS[name]
    except KeyError:
        raise KeyError(f"unknown field {name!r}; known fields: {', '.join(FIELDS)}") from None
