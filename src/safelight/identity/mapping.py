"""``MAP.yaml``: which column of a contributor's file holds which identity field.

Contract: :func:`load_map` reads a map file and :func:`read_identities` reads a file (CSV,
XLSX, JSON, Parquet — :mod:`safelight.ingest.readers`) into an Arrow table with the identity
columns of :mod:`safelight.identity.encode` (``record_id`` plus the mapped fields; a mapped
``birth_date`` is parsed into ``birth_year``/``birth_month``/``birth_day`` with the map's
``date_formats``; an unparseable date becomes missing and is counted, with a warning naming
``date_formats`` when such dates parse month first). Rows the reader cannot
turn into a record are counted, never silently dropped: :class:`IdentityFile` reports them.

A map::

    id: rec_id                  # the record id column (required)
    contributor: ngo-a          # optional: the contributor's name, written to the package
    phone_region: UA            # optional: country for national phone numbers
    date_formats: ["%Y%m%d"]    # optional: default the numeric formats of safelight.ingest
    records_path: cases         # optional: a JSON object's key that holds the list of records
    encoding: cp1252            # optional: a CSV file's code page (as read.encoding of an
                                # ingest profile); default detected, with a warning when unsure
    consent: consent_linkage    # the consent column (see below)
    fields:                     # identity field: column (a flat map without "fields" works too)
      given_name: given_name
      family_name: surname
      birth_date: date_of_birth

Any other top-level key is refused (:class:`~safelight.errors.ProfileError`, with the known key
it most resembles): a misspelt ``Consent:`` must not be dropped silently.

``fields`` maps each identity field to one column name. Consent is private by default: a map
without ``consent:`` takes every record as ``statistics_only`` (the standard's default when a
source says nothing, as in the hub), so no record takes part in linkage and a warning says how
to state it. A file whose every record consents says so explicitly, ``consent: {all: full}``
(any consent code: every record has it). The consent column is read as the
standard's ``consent`` codes (``full`` allows linkage; ``statistics_only``, ``none`` and
``withdrawn`` do not; their labels too, also in the contributors' languages, and the HTCDS
spellings ``NoConsent``/``StatisticsOnly``: :mod:`safelight.standard.consent`) or true/false
words (those of ingest profiles, plus a few languages'). A column with other words says how to
read them, as an ingest profile does::

    consent:
      column: Згода
      values: {повна: full, лише статистика: statistics_only, відсутня: none}
      true_values: [так]          # optional: more words that allow linkage
      false_values: [ні]          # optional: more words that do not

A value read neither way does not allow linkage, and is counted in a warning (how many
records and distinct values, never the values: in a wrongly mapped column they are names; never
record ids). Birth years, months and days given as numbers written as floats
(``1985.0``, from spreadsheet exports) are read as integers. A blank record id (empty or
spaces only) is a missing one; :func:`check_record_ids` refuses a file with a missing or
repeated id, since every output row must name one record.
"""

from __future__ import annotations

import codecs
import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from safelight.errors import InputFileError, ProfileError, UsageError
from safelight.ingest.convert import header_shown
from safelight.ingest.readers import ROW, ReadOptions, open_reader
from safelight.ingest.readers.delimited import ENCODING_UNCERTAIN
from safelight.ingest.values import NUMERIC_DATE_FORMATS, make_date_parser
from safelight.standard.codelists import codelist
from safelight.standard.consent import consent_key, consent_words

__all__ = ["IDENTITY_FIELDS", "IdentityFile", "IdentityMap", "check_id_is_no_identifier",
           "check_record_ids", "load_map", "read_identities"]

IDENTITY_FIELDS: frozenset[str] = frozenset({
    "given_name", "family_name", "full_name", "birth_date", "birth_year", "birth_month",
    "birth_day", "sex", "nationality", "phone", "document_number", "locality", "street_number",
    "address_line", "postcode", "region",
})  # fmt: skip
_RESERVED = {"id", "contributor", "phone_region", "date_formats", "encoding", "records_path",
             "consent", "fields"}
_INTEGER = re.compile(r"\s*(\d+)(?:\.0*)?\s*")  # "1985", "1985.0" (spreadsheet exports)

log = logging.getLogger("safelight.identity.mapping")


@dataclass(frozen=True)
class IdentityMap:
    """A parsed ``MAP.yaml``."""

    id_column: str
    fields: dict[str, str]  # identity field → source column
    contributor: str = ""
    phone_region: str | None = None
    date_formats: tuple[str, ...] = NUMERIC_DATE_FORMATS
    consent: str | None = None  # the consent column
    consent_values: dict[str, bool] = field(default_factory=dict)  # consent_key(word) → linkage
    #: without a consent column: every record's consent code (None: the map does not say, so
    #: ``statistics_only``, the standard's default — no record takes part in linkage)
    consent_all: str | None = None
    encoding: str | None = None  # a delimited file's encoding; None: detected
    #: a JSON file that is an object: the key whose value is the list of records
    records_path: str | None = None


#: the field a common column or field name means (a match by spelling alone took
#: ``surname`` for ``full_name``)
_FIELD_SYNONYMS = {
    "surname": "family_name", "last_name": "family_name", "lastname": "family_name",
    "family": "family_name", "family_names": "family_name", "first_name": "given_name",
    "firstname": "given_name", "forename": "given_name", "given": "given_name",
    "name": "full_name", "dob": "birth_date", "date_of_birth": "birth_date",
    "birthdate": "birth_date", "birthday": "birth_date", "passport": "document_number",
    "passport_number": "document_number", "document": "document_number",
    "id_number": "document_number", "mobile": "phone", "telephone": "phone", "tel": "phone",
    "phone_number": "phone", "gender": "sex", "citizenship": "nationality",
    "country": "nationality", "city": "locality", "town": "locality", "village": "locality",
    "zip": "postcode", "postal_code": "postcode", "zip_code": "postcode",
    "address": "address_line", "street": "address_line", "house_number": "street_number",
    "province": "region", "oblast": "region", "state": "region",
}


def _did_you_mean(key: Any, known: set[str]) -> str:
    """`` (did you mean 'consent'?)`` for the known key ``key`` means or most resembles (by
    :data:`_FIELD_SYNONYMS`, case or spelling), else ''."""
    word = str(key).strip()
    if word in IDENTITY_FIELDS:  # a field beside fields: instead of in it
        return " (an identity field: put it under fields:)"
    by_case = {k.lower(): k for k in known}
    synonym = _FIELD_SYNONYMS.get(word.lower().replace(" ", "_").replace("-", "_"))
    match = (synonym if synonym in known else None) or by_case.get(word.lower()) or next(
        iter(difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)), None)
    return f" (did you mean {match!r}?)" if match else ""


def _unknown(keys: set[Any], known: set[str]) -> str:
    """The unknown ``keys``, each with its did-you-mean."""
    return ", ".join(f"{k}{_did_you_mean(k, known)}" for k in sorted(map(str, keys)))


def _column_name(value: Any) -> str | None:
    """A column name as the map gives it (text, or a number YAML read as one), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip() or None


def _fields(path: Path, data: dict[str, Any]) -> dict[str, str]:
    """The map's identity field → column pairs, checked."""
    if "fields" in data:
        stray = set(data) - _RESERVED
        if stray:
            raise ProfileError(
                f"{path}: unknown key(s) {_unknown(stray, _RESERVED | IDENTITY_FIELDS)} — a map "
                f"has {', '.join(sorted(_RESERVED))}, and identity fields under fields:")
    fields = data["fields"] if "fields" in data else {
        k: v for k, v in data.items() if k not in _RESERVED}
    if not isinstance(fields, dict):
        raise ProfileError(f"{path}: 'fields:' must map each identity field to its column "
                           "(given_name: <column>, one per line), not a "
                           f"{type(fields).__name__}")
    unknown = sorted(str(k) for k in set(fields) - IDENTITY_FIELDS)
    if unknown:
        known = IDENTITY_FIELDS | (set() if "fields" in data else _RESERVED)
        if "fields" not in data and any(
                difflib.get_close_matches(k, sorted(_RESERVED), n=1, cutoff=0.6)
                for k in unknown):  # `feilds:` is a misspelt key of the map, not a field
            raise ProfileError(
                f"{path}: unknown key(s) {_unknown(set(unknown), known)} — a map has "
                f"{', '.join(sorted(_RESERVED))}, and identity fields "
                f"({', '.join(sorted(IDENTITY_FIELDS))}) under fields:")
        raise ProfileError(f"{path}: unknown identity field(s) {_unknown(set(unknown), known)}"
                           f" — use {', '.join(sorted(IDENTITY_FIELDS))}")
    if not fields:
        raise ProfileError(f"{path}: the map names no identity field")
    bad = sorted(str(k) for k, v in fields.items() if _column_name(v) is None)
    if bad:
        raise ProfileError(f"{path}: identity field(s) {', '.join(bad)} need one column name "
                           "each (field: <column>)")
    out = {str(k): str(_column_name(v)) for k, v in fields.items()}
    by_column: dict[str, list[str]] = {}
    for f, col in out.items():
        by_column.setdefault(col, []).append(f)
    twice = {col: fs for col, fs in by_column.items() if len(fs) > 1}
    if twice:  # given and family name from one column made 2,000 people 318 (trial)
        col, fs = next(iter(sorted(twice.items())))
        raise ProfileError(f"{path}: {' and '.join(sorted(fs))} are both mapped to the column "
                           f"{col!r} — each identity field takes its own column (a column of "
                           "whole names is full_name)")
    return out


def _consent(path: Path, spec: Any) -> tuple[str | None, dict[str, bool], str | None]:
    """The consent column and the words that say whether a record allows linkage (see the
    module docstring): the project's consent vocabulary
    (:func:`~safelight.standard.consent.consent_words`) and the map's ``values`` /
    ``true_values`` / ``false_values``, keyed by
    :func:`~safelight.standard.consent.consent_key`. Third: the consent code of
    every record, for ``consent: {all: CODE}`` (no column)."""
    codes = codelist("consent").codes
    if spec is None:
        return None, {}, None
    if isinstance(spec, dict) and set(spec) == {"all"}:
        if str(spec["all"]) not in codes:
            raise ProfileError(f"{path}: consent: all: {spec['all']!r} is not a consent code — "
                               f"use {', '.join(codes)} (all: full when every record consents "
                               "to linkage)")
        return None, {}, str(spec["all"])
    allowed = {"column", "values", "true_values", "false_values"}
    if isinstance(spec, dict) and set(spec) <= allowed and _column_name(spec.get("column")):
        column = str(_column_name(spec["column"]))
    elif _column_name(spec) is not None:
        column, spec = str(_column_name(spec)), {}
    else:
        raise ProfileError(f"{path}: 'consent:' needs a column name, or column: with "
                           f"optional {', '.join(sorted(allowed - {'column'}))}, or "
                           "all: <consent code> for every record of the file")
    words = consent_words("linkage")
    values = spec.get("values") or {}
    lists = [spec.get(k) or [] for k in ("true_values", "false_values")]
    if not isinstance(values, dict) or not all(isinstance(v, list) for v in lists):
        raise ProfileError(f"{path}: consent values: must map words to consent codes, and "
                           "true_values/false_values must be lists of words")
    wrong = sorted({str(c) for c in values.values()} - set(codes))
    if wrong:
        raise ProfileError(f"{path}: consent values: unknown consent code(s) "
                           f"{', '.join(wrong)} — use {', '.join(codes)}")
    words |= {consent_key(w): bool(codes[str(c)].attributes.get("linkage"))
              for w, c in values.items()}
    words |= {consent_key(w): True for w in lists[0]}
    words |= {consent_key(w): False for w in lists[1]}
    return column, words, None


def load_map(path: Path) -> IdentityMap:
    """Read and check a map file (see the module docstring)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read the map ({exc}) — give a YAML file with "
                           "'id:' and identity field: column pairs") from exc
    if not isinstance(data, dict) or _column_name(data.get("id")) is None:
        raise ProfileError(f"{path}: the map needs 'id: <record id column>'")
    fields = _fields(path, data)
    consent, consent_values, consent_all = _consent(path, data.get("consent"))
    formats = data.get("date_formats") or NUMERIC_DATE_FORMATS
    if isinstance(formats, str):  # one format written without brackets: not its characters
        formats = [formats]
    if not isinstance(formats, list | tuple) or not all(isinstance(f, str) for f in formats):
        raise ProfileError(f"{path}: date_formats must be a list of strptime formats, e.g. "
                           "['%d.%m.%Y']")
    encoding = data.get("encoding")
    if encoding in (None, "auto"):
        encoding = None
    else:
        try:
            encoding = codecs.lookup(str(encoding)).name
        except LookupError:
            raise ProfileError(f"{path}: encoding: {encoding!r} is not an encoding — use a "
                               "Python codec name such as utf-8, cp1252, cp1250, cp1251") from None
    records_path = data.get("records_path")
    if records_path is not None and not isinstance(records_path, str):
        raise ProfileError(f"{path}: records_path must be the key of the list of records in a "
                           "JSON object, e.g. records_path: cases")
    return IdentityMap(str(_column_name(data["id"])), fields,
                       str(data.get("contributor") or ""), _phone_region(path, data),
                       tuple(str(f) for f in formats), consent, consent_values, consent_all,
                       encoding, records_path)


def _phone_region(path: Path, data: dict[str, Any]) -> str | None:
    """The map's ``phone_region`` as the ISO alpha-2 code phonenumbers reads (``UA``, ``UKR``
    and ``Ukraine`` all give ``UA``); a value that names no country, or a number (a dialling
    code such as 380, which ISO's numeric codes would read as Italy), is refused — every
    national number would silently be unreadable or read in another country."""
    value = data.get("phone_region")
    if value is False and re.search(r"(?im)^\s*phone_region\s*:\s*['\"]?no['\"]?\s*(#.*)?$",
                                    Path(path).read_text("utf-8", errors="replace")):
        value = "NO"  # YAML reads a bare NO (Norway) as false; "false" or "off" stay refused
    if value is None or not str(value).strip():
        return None
    from safelight.standard.geography import country, resolve_country

    text = str(value).strip().lstrip("+")
    # a number here is a dialling code (380), not the ISO numeric code it would resolve as
    code = None if text.isdigit() else resolve_country(text)
    if code is None:
        raise ProfileError(f"{path}: phone_region: {value!r} is not a country — give the ISO "
                           "code of the country whose national phone numbers the file holds, "
                           "e.g. phone_region: UA")
    return country(code).alpha2


@dataclass
class IdentityFile:
    """Identity records read from a file: ``table`` plus what could not be used."""

    table: pa.Table
    rows_read: int
    unreadable_rows: list[int] = field(default_factory=list)  # reader's row numbers
    unparsed_dates: int = 0
    #: the reader's row number (a CSV line, a spreadsheet row) of each row of ``table``
    row_numbers: np.ndarray | None = None

    def unreadable_where(self, shown: int = 5) -> str:
        """Where the unreadable rows are, for a person: `` (rows 22, 40, … and 3 more)`` — the
        reader's row numbers (a CSV line, a spreadsheet row, a record number); '' if none."""
        rows = sorted(self.unreadable_rows)
        if not rows:
            return ""
        more = f" and {len(rows) - shown:,} more" if len(rows) > shown else ""
        return f" (row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:shown]))}{more})"


def read_identities(path: Path, mapping: IdentityMap) -> IdentityFile:
    """Read ``path`` and map its columns (see the module docstring)."""
    try:
        reader = open_reader(path, ReadOptions(encoding=mapping.encoding,
                                               records_path=mapping.records_path))
        if hasattr(reader, "choose_sheet"):  # a workbook: the sheet whose header fits the map
            reader.choose_sheet({mapping.id_column, *mapping.fields.values()}
                                | ({mapping.consent} if mapping.consent else set()))
    except InputFileError as exc:  # the readers speak of ingest profiles' read: settings
        raise InputFileError(exc.path, exc.problem.replace("read.records_path", "records_path"),
                             exc.fix and exc.fix.replace("set read.records_path to it",
                                                         "give that key in the map: "
                                                         "records_path: KEY")
                             .replace("check read.header_row", "a map reads the header from "
                                      "the first row (in a workbook, from one of its first "
                                      "10 rows): give an export whose first row names the "
                                      "columns")
                             ) from None
    for note in reader.notes:
        if note.startswith(ENCODING_UNCERTAIN):  # a guess changes names: say it
            log.warning("%s: %s", Path(path).name, note)
    tables, bad = [], []
    for chunk in reader.chunks():
        tables.append(chunk.table)
        bad.extend(b.row for b in chunk.bad)
    src = pa.concat_tables(tables) if tables else pa.table({})
    if src.num_rows + len(bad) == 0:
        raise InputFileError(path, "holds no data rows (a header at most)",
                             "check that the export is complete")
    needed = {mapping.id_column, *mapping.fields.values()} | (
        {mapping.consent} if mapping.consent else set())
    missing = sorted(needed - set(src.column_names))
    if missing:
        has = [c for c in src.column_names if c != ROW]
        hint = ""
        if mapping.consent in missing and consent_key(mapping.consent) in consent_words("linkage"):
            hint = (f" (consent: {mapping.consent} names a column; if every record of the file "
                    f"consents so, write consent: {{all: {mapping.consent}}})")
        raise ProfileError(f"{path}: column(s) {', '.join(missing)} named in the map are not in "
                           f"the file{hint}; {header_shown(has, needed, 'map')}")
    if mapping.contributor and mapping.contributor in src.column_names:
        # a trial's combined file (2026-12-01): every record was labelled with the column's name
        log.warning("%s: contributor: %s is the name of one of the file's columns, but "
                    "contributor: takes the contributor's name, not a column: every record "
                    "counts as %s's. To link several agencies' records, give each agency its own "
                    "file (link pairs) or package, or ingest them into a hub (link hub)",
                    Path(path).name, mapping.contributor, mapping.contributor)
    src = _without_empty_rows(path, src)
    if src.num_rows + len(bad) == 0:
        raise InputFileError(path, "holds no data rows (its rows are blank)",
                             "check that the export is complete")
    n = src.num_rows
    ids = src.column(mapping.id_column).cast(pa.string())
    blank = pc.equal(pc.utf8_trim_whitespace(ids), "")  # a blank id is a missing one
    cols: dict[str, Any] = {"record_id": pc.if_else(blank, pa.scalar(None, pa.string()), ids)}

    def text(col: str) -> list[str | None]:
        return [v if v is None or v.strip() else None
                for v in src.column(col).cast(pa.string()).to_pylist()]

    unparsed = 0
    for fname, col in mapping.fields.items():
        if fname == "birth_date":
            parse = birth_date_parser(mapping.date_formats)
            none: tuple[int | None, int | None, int | None] = (None, None, None)
            cache: dict[str | None, tuple[int | None, int | None, int | None]] = {None: none}
            parts = []
            failed: set[str | None] = set()  # values that did not parse
            for v in text(col):
                if v not in cache:
                    out, err = parse(v)
                    cache[v] = (out[0], out[1], out[2]) if out and not err else none
                    if err is not None:
                        failed.add(v)
                unparsed += v in failed  # rows, not distinct values
                parts.append(cache[v])
            for k, name in enumerate(("birth_year", "birth_month", "birth_day")):
                cols[name] = pa.array([p[k] for p in parts], pa.int16())
            _month_first_hint(path, col, mapping.date_formats, failed - {None}, parts)
        elif fname in ("birth_year", "birth_month", "birth_day"):
            cols[fname] = pa.array([_integer(v) for v in text(col)], pa.int16())
        else:
            cols[fname] = pa.array(text(col), pa.string())
    if mapping.phone_region:
        cols["phone_region"] = pa.array([mapping.phone_region] * n, pa.string())
    if mapping.consent:
        cols["consent_linkage"] = _consent_flags(path, mapping, text(mapping.consent))
    else:
        code = mapping.consent_all or "statistics_only"
        allowed = bool(codelist("consent").codes[code].attributes.get("linkage"))
        cols["consent_linkage"] = pa.array([allowed] * n, pa.bool_())
        if mapping.consent_all is None:
            log.warning("%s: the map names no consent column, so its %d records count as "
                        "statistics_only (the default when a source says nothing) and none "
                        "takes part in linkage — name the column (consent: COLUMN), or, if "
                        "every record of the file consents to linkage, say so in the map: "
                        "consent: {all: full}", Path(path).name, n)
    rows = (src.column(ROW).to_numpy(zero_copy_only=False) if ROW in src.column_names
            else None)
    return IdentityFile(pa.table(cols), n + len(bad), bad, unparsed, rows)


#: an ISO date, alone or with a time (the text of a stored date)
_ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?:$|[ T])")
#: a date with zeros for its unknown parts: ``00.00.1972``, ``1990-00-00``, ``00/05/1972``
_ZERO_PARTS = re.compile(r"\s*(\d{1,4})([./ -])(\d{1,4})\2(\d{1,4})\s*")


def birth_date_parser(formats: tuple[str, ...]) -> Any:
    """The map's date parser (:func:`safelight.ingest.values.make_date_parser`, past dates
    only) with four readings of birth dates that it refuses: a year alone (``1990``) and an
    ISO date (``1990-05-17``, with or without a time) whatever the formats — the latter is
    what a Parquet date or a spreadsheet's date cell reads as; neither is ambiguous; zeros
    for the unknown parts keep the year, checked as a year alone (``00.00.1972`` → 1972;
    ``00.05.1972`` → 1972, the order of a lone month being unknown; ``1972-05-00``, ISO
    order, keeps May); and a two-digit year that falls in the future is read a century
    earlier when a ``%y`` format matches (``15.03.55`` → 1955, where Python reads 2055;
    never a four-digit year)."""
    import datetime as dt

    parse = make_date_parser(formats, past_only=True)
    iso = make_date_parser(("%Y-%m-%d",), past_only=True)
    make_year = make_date_parser(("%Y",), past_only=True)
    two_digit = tuple(f for f in formats if "%y" in f)
    # only the formats with a two-digit year: "15.03.2055" matches none of them
    anytime = make_date_parser(two_digit, past_only=False) if two_digit else None

    def parse_birth(raw: str) -> Any:
        out, err = parse(raw)
        if err is None:
            return out, err
        year = raw.strip()
        if len(year) == 4 and year.isdigit():  # a year alone, whatever the formats
            return make_year(year)
        if _ISO_DATE.match(raw):
            iso_out, iso_err = iso(raw)
            if iso_err is None:
                return iso_out, iso_err
            out, err = iso_out, iso_err  # says more than "matches none of the formats"
        m = _ZERO_PARTS.fullmatch(raw)
        if m:
            parts = [m.group(1), m.group(3), m.group(4)]
            years = [x for x in parts if len(x) == 4]
            rest = [x for x in parts if len(x) != 4]
            if len(years) == 1 and len(rest) == 2 and any(int(x) == 0 for x in rest):
                year_out, year_err = make_year(years[0])  # plausible, not in the future
                if year_err is not None:
                    return year_out, year_err
                month = int(parts[1])  # ISO order (1972-05-00): the month is known
                if parts[0] == years[0] and m.group(2) == "-" and 1 <= month <= 12:
                    return (year_out[0], month, None, None), None
                return year_out, None
        if anytime is not None and err[0] == "date_in_future":
            shifted, shift_err = anytime(raw)
            if shift_err is not None:
                return out, err
            y, mo, d, _ = shifted
            try:
                earlier = dt.date(y - 100, mo or 1, d or 1)
            except ValueError:
                return out, err
            return (y - 100, mo, d, earlier if d else None), None
        return out, err
    return parse_birth


def _month_first_hint(path: Path, column: str, formats: tuple[str, ...], failed: set[str],
                      parts: list[tuple[int | None, int | None, int | None]]) -> None:
    """Warn when birth dates that did not parse with ``formats`` parse with day and month
    swapped (``%m/%d/%Y`` where the map, or the default, reads ``%d/%m/%Y``): the file then
    most likely writes dates month first, and the dates that did parse (day and month both 12
    or less) are swapped too — never guessed silently. The warning counts, never shows values."""
    swapped = [f.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m") for f in formats
               if "%d" in f and "%m" in f]
    swapped = [f for f in dict.fromkeys(swapped) if f not in formats]
    if not failed or not swapped:
        return
    best, fits = "", 0
    for fmt in swapped:
        parse = make_date_parser((fmt,), past_only=True)
        n = sum(1 for v in failed if parse(v)[1] is None)
        if n > fits:
            best, fits = fmt, n
    if fits * 2 < len(failed):  # most unparsed dates are not month first: another problem
        return
    both_low = sum(1 for y, m, d in parts if d is not None and m is not None and d <= 12)
    log.warning("%s: %d of the %d distinct birth dates (column %s) that do not parse day first "
                "do parse month first (%s): the file seems to write dates month first, and %d "
                "record(s) whose day and month are both 12 or less were read day first, "
                "perhaps swapped — if so, say it in the map: date_formats: ['%s']",
                Path(path).name, fits, len(failed), column, best, both_low, best)


def _without_empty_rows(path: str | Path, src: pa.Table) -> pa.Table:
    """``src`` without its rows whose every field is blank (``,,,,,,`` — spreadsheets write
    them below the data; an empty line is skipped by the reader already), counted in a note:
    they hold no record, and read as records without an id they refused the whole file."""
    empty = None
    for name in src.column_names:
        if name == ROW:
            continue
        col = src.column(name)
        text = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
        empty = blank if empty is None else pc.and_(empty, blank)
    if empty is None or not pc.any(empty).as_py():
        return src
    log.info("%s: %d row(s) with every field blank left out", Path(path).name,
             int(pc.sum(empty).as_py()))
    return src.filter(pc.invert(empty))


def warn_unread_phones(count: int, where: str = "the input") -> None:
    """Warn that ``count`` phone values were not read as numbers (and are left out): linkage
    loses its strongest evidence for those records, silently otherwise."""
    if count:
        log.warning("%s: %d phone value(s) were not read as phone numbers and count as missing "
                    "(text that is no number, a filler such as 000000, or a number of another "
                    "country without its country code) — write numbers with their country code "
                    "(+380…) or give the country whose national format they are written in "
                    "(a map's phone_region)", where, count)


def check_id_is_no_identifier(path: Path, mapping: IdentityMap) -> None:
    """Refuse (:class:`~safelight.errors.ProfileError`, exit 4) a map for an encoded package
    whose id column is an identity field — mapped as one, or named as one (``passport``,
    ``phone``, ``Паспорт``: :func:`~safelight.standard.identifiers.identifier_of_header`):
    record ids travel in clear in a package, so the passport numbers would too."""
    from safelight.standard.identifiers import identifier_of_header

    mapped = sorted(f for f, c in mapping.fields.items() if c == mapping.id_column)
    named = identifier_of_header(mapping.id_column)
    if mapped or named:
        what = f"mapped as {', '.join(mapped)}" if mapped else f"named like a {named}"
        raise ProfileError(
            f"{path}: the id column {mapping.id_column!r} is {what}: record ids travel in clear "
            "in the package, so that identifier would too — give the map's id: a case number "
            "column that identifies the record only inside your agency")


def check_record_ids(path: Path, table: pa.Table,
                     row_numbers: np.ndarray | None = None) -> None:
    """Refuse (:class:`~safelight.errors.UsageError`, exit 2) a table of :func:`read_identities`
    whose ``record_id`` is missing (or blank) or repeated: every output row — a pair, a
    cluster, a package record — must name one record. The message gives row numbers (the
    file's, ``row_numbers``, when given; up to five for each of three repeated ids), never
    values: a map whose id names the wrong column (a surname, a phone) would print
    identifiers."""
    from safelight.identity.idcheck import rows_named

    ids = table.column("record_id")
    if ids.null_count:
        rows = np.flatnonzero(pc.is_null(ids).to_numpy(zero_copy_only=False))
        raise UsageError(f"{path}: {ids.null_count:,} record(s) have no id "
                         f"({rows_named(rows, row_numbers)}) — every record needs the map's "
                         "id column")
    counts = pc.value_counts(ids)
    repeated = [v.as_py() for v, n in zip(counts.field("values"), counts.field("counts"),
                                          strict=True) if n.as_py() > 1]
    if repeated:
        where = []
        for rid in repeated[:3]:
            rows = np.flatnonzero(pc.equal(ids, rid).to_numpy(zero_copy_only=False))
            where.append(rows_named(rows, row_numbers))
        raise UsageError(f"{path}: {len(repeated):,} record id(s) occur more than once (e.g. "
                         f"{'; '.join(where)} share one; the ids are not shown) — ids must be "
                         "unique so that each output row names one record: is the map's id "
                         "the file's case number column?")


def _integer(value: str | None) -> int | None:
    """A birth year, month or day written as an integer, or as a float with no fraction
    (``"1985.0"``); None otherwise (an out-of-range number too: the column is int16)."""
    m = _INTEGER.fullmatch(value) if value else None
    return int(m.group(1)) if m and int(m.group(1)) < 2**15 else None


def _consent_flags(path: Path, mapping: IdentityMap, values: list[str | None]) -> pa.Array:
    """Whether each record allows linkage, from its consent value (:func:`_consent`'s
    words); values read neither way do not, and are counted in a warning (records, distinct
    values, empty values) that never shows them: when the map names the wrong column as the
    consent column, they are names or other identifiers."""
    flags, unread, distinct, empty = [], 0, set(), 0
    for v in values:
        allowed = mapping.consent_values.get(consent_key(v)) if v else None
        if allowed is None:
            unread += 1
            if v:  # blank values were read as None
                distinct.add(v.strip())
            else:
                empty += 1
        flags.append(bool(allowed))
    if unread:
        log.warning("%s: %d records hold a consent value (column %s) read neither as consent "
                    "to linkage nor as its refusal, so they do not take part (%d distinct "
                    "values, %d records empty; the values are not logged, as they would be "
                    "names if the column were not the consent column) — check the column and "
                    "list its words under consent: values / true_values / false_values in the "
                    "map", Path(path).name, unread, mapping.consent, len(distinct), empty)
    return pa.array(flags, pa.bool_())
