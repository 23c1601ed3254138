"""Map and validate a chunk of raw rows into canonical columns, vectorised.

Every field is converted by mapping the chunk's *distinct* raw values once (Arrow dictionary
encoding) and spreading the result back with a ``take`` — so a million rows with a few hundred
distinct codes cost a few hundred Python calls, not a million.

Contract: :meth:`ChunkConverter.convert` returns, for a chunk of ``n`` rows, ``n`` rows split
between ``cases`` (+ aligned ``identities``) and ``rejected``; no row is lost. A rejected row carries
every reason found (column, rule, value, message), not only the first, so one round of fixes
is enough.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from safelight.errors import InputFileError
from safelight.ingest.profile import FieldMap, Profile
from safelight.ingest.readers import ROW
from safelight.ingest.values import (
    MISSING,
    NUMERIC_DATE_FORMATS,
    ParseResult,
    code_lookup,
    count_parser,
    date_regex,
    int_parser,
    make_date_parser,
)
from safelight.standard import geography
from safelight.standard.codelists import codelist
from safelight.standard.crosswalk import normalise_key
from safelight.standard.schema import (
    CASE_FIELDS,
    IDENTITY_FIELDS,
    SERIES_FIELDS,
    Field,
    Group,
    Kind,
    has_raw,
    raw_column,
)
from safelight.standard.sex import sex_code

# Raw source values, stored next to the mapped ones: dictionary-encoded text.
RAW_TYPE = pa.dictionary(pa.int32(), pa.string())

# Used when neither the source nor the profile says: privacy by default — no linkage without
# recorded consent, but the case may count in (disclosure-controlled) statistics.
SYSTEM_DEFAULTS = {"consent": "statistics_only"}


@dataclass(frozen=True)
class Reason:
    column: str
    rule: str
    value: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "rule": self.rule, "value": self.value, "message": self.message}


@dataclass
class Rejected:
    row: int
    reasons: list[Reason]
    raw: str  # the row as JSON (column → raw value), or the raw line for structural faults


@dataclass
class Converted:
    main: pa.Table  # cases or series rows (with ROW)
    identities: pa.Table | None
    rejected: list[Rejected]


# --------------------------------------------------------------------------- converter


def _bits_to_lists(masks: np.ndarray, codes: list[str]) -> pa.Array:
    """Per-row code bitmasks → list<string> in code-list order; a zero mask is null.

    Rows share few distinct combinations, so the lists are built once per distinct mask and
    taken per row.
    """
    distinct, inverse = np.unique(masks, return_inverse=True)
    if len(distinct) * 2 > len(masks):
        return _distinct_bits_to_lists(masks, codes)
    return _distinct_bits_to_lists(distinct, codes).take(pa.array(inverse.ravel().astype(np.int64)))


def _distinct_bits_to_lists(masks: np.ndarray, codes: list[str]) -> pa.Array:
    n = len(masks)
    k = len(codes)
    matrix = ((masks[:, None] >> np.arange(k, dtype=np.int64)[None, :]) & 1).astype(bool)
    counts = matrix.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    _, cols = np.nonzero(matrix)
    values = pa.array(codes, type=pa.string()).take(pa.array(cols, type=pa.int64()))
    # a row without any code is null: mark it invalid in the list array itself
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(counts == 0)) if n else \
        pa.ListArray.from_arrays(pa.array(offsets), values)


def _clean_text(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Free text: trimmed (inner spacing kept as written); an empty value is null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    text = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def dictionary_positions(encoded: pa.DictionaryArray) -> np.ndarray:
    """Each row's index into the dictionary as int64, -1 for a null (also when all are null)."""
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _join_labelled(parts: list[tuple[str | None, pa.Array]], n: int) -> pa.DictionaryArray:
    """Join several raw columns into one text per row: ``value; flag=value; ...``.

    Flag columns hold few distinct values, so rows are grouped by their combination of values
    (mixed-radix code over the dictionary indices) and each distinct combination is written once;
    the result is a dictionary array over those texts.
    """
    codes = np.zeros(n, dtype=np.int64)
    radix = 1
    dictionaries = []
    for _, values in parts:
        enc = values if isinstance(values, pa.DictionaryArray) else pc.dictionary_encode(values)
        idx = dictionary_positions(enc)
        size = len(enc.dictionary) + 1  # slot 0: null
        codes += (idx + 1) * radix
        radix *= size
        dictionaries.append(enc.dictionary.to_pylist())
        if radix > 2**40:  # too many combinations to enumerate: fall back to row-wise joining
            break
    else:
        uniques, inverse = np.unique(codes, return_inverse=True)
        texts = []
        for code in uniques.tolist():
            items = []
            for (label, _), dictionary in zip(parts, dictionaries, strict=True):
                size = len(dictionary) + 1
                slot, code = code % size, code // size
                value = dictionary[slot - 1].strip() if slot else ""
                if value:
                    items.append(f"{label}={value}" if label else value)
            texts.append("; ".join(items) or None)
        empty = np.array([t is None for t in texts], dtype=bool)
        inverse = inverse.ravel()
        return pa.DictionaryArray.from_arrays(
            pa.array(inverse.astype(np.int32), mask=empty[inverse]),
            pa.array([t or "" for t in texts], pa.string()))
    joined: pa.Array | None = None
    for label, values in parts:
        if isinstance(values, pa.DictionaryArray):
            values = values.dictionary_decode()
        value = pc.utf8_trim_whitespace(values)
        value = pc.if_else(pc.fill_null(pc.equal(value, ""), True), pa.scalar(None, pa.string()),
                           pc.binary_join_element_wise(f"{label}=", value, "") if label else value)
        if joined is None:
            joined = value
        else:  # Arrow's null_handling="skip" would drop all-null rows, so join by hand
            both = pc.binary_join_element_wise(joined, value, "; ")
            joined = pc.if_else(pc.is_null(joined), value, pc.if_else(pc.is_null(value), joined, both))
    return pc.dictionary_encode(joined)


def _majority(ages: np.ndarray, known: np.ndarray) -> pa.Array:
    """Ages (float, NaN = unknown) → 'minor' / 'adult', null where not ``known``."""
    with np.errstate(invalid="ignore"):
        index = np.where(ages < 18, 0, 1)
    return pa.array(["minor", "adult"], pa.string()).take(pa.array(index, mask=~known))


def _band_lookup(listname: str, values: pa.Array) -> pa.Array:
    """Exact numbers → band codes of ``listname`` (codes carrying min/max), vectorised."""
    cl = codelist(listname)
    bands = [(c.attributes["min"], c.attributes["max"], c.code) for c in cl.codes.values()
             if c.attributes.get("min") is not None]
    v = values.to_numpy(zero_copy_only=False).astype(float)  # nulls → nan
    index = np.full(len(v), -1, dtype=np.int64)
    for i, (lo, hi, _) in enumerate(bands):
        index[(v >= lo) & (v <= hi)] = i
    names = pa.array([code for _, _, code in bands], pa.string())
    return names.take(pa.array(index, mask=index < 0))


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Rows whose every source cell is null or blank text (the row number column aside)."""
    blank = np.ones(table.num_rows, dtype=bool)
    for name in table.column_names:
        if name == ROW:
            continue
        col = table[name]
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            empty = pc.equal(pc.utf8_trim_whitespace(col), "")
            empty = pc.fill_null(empty, True)
        else:
            empty = pc.is_null(col)
        blank &= empty.to_numpy(zero_copy_only=False)
        if not blank.any():
            break
    return blank


def header_shown(columns: list[str], known: set[str], what: str = "profile") -> str:
    """How an error names a file's header: its column names when it is surely a header — one
    of its cells at least is a column the ``what`` (profile, map) knows (``known``: its
    columns and aliases) and no two hold dates or numbers. Otherwise it may be a person's
    record (a file without a header row: a name, a date of birth, a phone number), which an
    error would print to the console, a log or the web page: only its size is said."""
    data_like = sum(1 for c in columns if _DATA_CELL.search(c))
    if data_like < 2 and any(c in known for c in columns):
        return f"its header is: {', '.join(columns[:40])}"
    return (f"its first row is not shown ({len(columns)} cells, none a column of the {what} "
            "or several dates or numbers: without a header row they are a person's data) — is "
            f"it the {what} made for this file, and does the file have a header row?")


#: a cell that reads as data, not a column name: a date, or a run of three digits or more
_DATA_CELL = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{3,}")


class ChunkConverter:
    """Converts raw chunks of one file under one profile.

    ``columns`` is the file's cleaned header. Construction checks that every column the profile
    needs is present (file-level error otherwise, naming the missing columns and what the header
    holds). Aliases rename a header only when the file lacks the target name; raw values are kept
    under the file's own header names.
    """

    def __init__(self, profile: Profile, columns: list[str], *, path: str, file_sha256: str,
                 duplicated: set[str] | None = None) -> None:
        self.profile = profile
        self.path = path
        self.today = dt.date.today()  # dates after it are in the future (per ingest, not per import)
        self.file_sha256 = file_sha256
        own = set(columns)
        self.rename = {c: profile.aliases[c] for c in columns
                       if c in profile.aliases and profile.aliases[c] not in own}
        self.raw_name = {v: k for k, v in self.rename.items()}
        self.columns = [self.rename.get(c, c) for c in columns]
        present = set(self.columns)
        missing = list(dict.fromkeys(
            c for c in profile.source_columns(required_only=True) if c not in present))
        if missing:
            hint = ""
            if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
                hint = " — the whole header is one column: the delimiter is probably wrong (set read.delimiter or leave it 'auto')"
            fix = ("choose the profile made for this file (-p: a built-in name or your YAML "
                   "profile; `safelight standard profiles` lists the built-in ones)"
                   if profile.origin.startswith("builtin:") else
                   "fix the profile's column names or mark the field optional: true")
            raise InputFileError(
                path, f"column(s) {', '.join(map(repr, missing))} required by profile {profile.ref} "
                f"are not in the file; "
                f"{header_shown(columns, {*profile.source_columns(), *profile.aliases})}{hint}",
                fix)
        ambiguous = sorted((duplicated or set()) & set(profile.source_columns()))
        if ambiguous:
            raise InputFileError(path, f"column(s) {', '.join(ambiguous)} used by the profile appear "
                                 "more than once in the header", "rename the duplicate columns")
        # an optional field is read from whichever of its columns exist
        self.fields = {n: fm for n, fm in profile.fields.items()
                       if not fm.optional or any(c in present for c in fm.columns)}
        self.schema = SERIES_FIELDS if profile.target == "series" else {
            f.name: f for f in CASE_FIELDS + IDENTITY_FIELDS}
        self._parsers = {name: self._make_parser(fm) for name, fm in self.fields.items()}
        self._chunk_encoded: dict[str, pa.DictionaryArray] = {}

    # ---- per-field parsers over distinct values

    def _make_parser(self, fm: FieldMap) -> Callable[[str], ParseResult]:
        f = fm.field
        missing = self.profile.missing_values
        if f.kind in (Kind.CODE, Kind.BOOLEAN):
            lookup = code_lookup(fm)

            def parse_code(raw: str) -> ParseResult:
                key = normalise_key(raw)
                value = lookup(key)
                if value is MISSING:
                    if key in missing:
                        return None, None
                    if f.codelist == "sex" and (word := sex_code(raw)) is not None:
                        return word, None  # F, жін., w: the vocabulary linkage reads too
                    if f.kind is Kind.BOOLEAN:
                        if key in fm.true_values:
                            return True, None
                        if key in fm.false_values:
                            return False, None
                        return None, ("invalid_boolean", f"{raw!r} is not yes/no")
                    known = ", ".join(list(codelist(f.codelist).codes)[:12]) if f.codelist else ""
                    return None, ("unknown_code", f"{raw!r} is not a known value of {f.name} ({known}); "
                                  f"add it to the profile's values.{f.name}")
                if isinstance(value, list):
                    value = value[0] if value else None
                return value, None
            return parse_code
        if f.kind is Kind.CODES:
            lookup = code_lookup(fm)
            bit = {c: 1 << i for i, c in enumerate(codelist(f.codelist).codes)}
            splitter = (re.compile("|".join(re.escape(x) for x in fm.separators)).split
                        if len(fm.separators) > 1 else lambda text: text.split(fm.separators[0]))

            def parse_codes(raw: str) -> ParseResult:
                if normalise_key(raw) in missing:
                    return 0, None
                mask = 0
                for part in splitter(raw):
                    key = normalise_key(part)
                    if not key:
                        continue
                    value = lookup(key)
                    if value is MISSING:
                        if key in missing:
                            continue
                        return None, ("unknown_code", f"{part.strip()!r} is not a known value of {f.name}; "
                                      f"add it to the profile's values.{f.name}")
                    for code in value if isinstance(value, list) else ([value] if value else []):
                        mask |= bit[code]
                return mask, None
            return parse_codes
        if f.kind is Kind.COUNTRY:
            overrides = fm.values

            def parse_country(raw: str) -> ParseResult:
                key = normalise_key(raw)
                if key in overrides:
                    return overrides[key], None
                code = geography.resolve_country(raw)
                if code is None:
                    if key in missing:
                        return None, None
                    return None, ("unknown_country", f"{raw!r} is not a country code or name known to "
                                  f"safelight; map it in the profile's values.{f.name}")
                return code, None
            return parse_country
        if f.kind is Kind.INTEGER:
            int_parse = int_parser(f)

            def parse_int(raw: str) -> ParseResult:
                key = normalise_key(raw)
                if key in fm.values:
                    return fm.values[key], None
                if key in missing:
                    return None, None
                return int_parse(raw)
            return parse_int
        if f.kind is Kind.DATE:
            date_parse = make_date_parser(fm.date_formats, past_only=True)

            def parse_date(raw: str) -> ParseResult:
                if normalise_key(raw) in missing:
                    return None, None
                return date_parse(raw)
            return parse_date
        if f.kind is Kind.COUNT:
            def parse_count(raw: str) -> ParseResult:
                if normalise_key(raw) in missing:
                    return None, None
                return count_parser(raw)
            return parse_count
        def parse_string(raw: str) -> ParseResult:
            s = " ".join(raw.split())
            return (s or None), None
        return parse_string

    # ---- conversion

    def _encoded(self, table: pa.Table, col: str) -> pa.DictionaryArray:
        """Column ``col`` of the chunk being converted, dictionary-encoded once: fields that read
        the same column, and the column's raw values, share the encoding."""
        enc = self._chunk_encoded.get(col)
        if enc is None:
            arr = table[col]
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            enc = self._chunk_encoded[col] = pc.dictionary_encode(arr)
        return enc

    def _distinct(self, arr: pa.ChunkedArray | pa.Array, name: str
                  ) -> tuple[np.ndarray, list[Any], list[tuple[str, str] | None], list[Any]]:
        """Parse each distinct value of ``arr`` (dictionary-encoded here unless it already is).
        Returns (indices, outs, errs, uniques)."""
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        enc = arr if isinstance(arr, pa.DictionaryArray) else pc.dictionary_encode(arr)
        uniques = enc.dictionary.to_pylist()
        parser = self._parsers[name]
        outs: list[Any] = []
        errs: list[tuple[str, str] | None] = []
        for u in uniques:
            out, err = parser(u) if u is not None else (None, None)
            outs.append(out)
            errs.append(err)
        return dictionary_positions(enc), outs, errs, uniques

    @staticmethod
    def _note_errors(idx: np.ndarray, errs: list, uniques: list, column: str,
                     reasons: dict[int, list[Reason]]) -> None:
        err_u = np.array([e is not None for e in errs], dtype=bool)
        if not err_u.any():
            return
        for pos in np.nonzero((idx >= 0) & err_u[np.maximum(idx, 0)])[0].tolist():
            rule, msg = errs[idx[pos]]
            reasons.setdefault(pos, []).append(Reason(column, rule, uniques[idx[pos]], msg))

    def convert(self, table: pa.Table) -> Converted:
        """Map and validate one chunk (see the module docstring for the contract)."""
        if self.rename:
            table = table.rename_columns([self.rename.get(c, c) for c in table.column_names])
        for col in self.profile.source_columns():
            if col not in table.column_names:  # JSON records may lack a key in a whole chunk
                table = table.append_column(col, pa.nulls(table.num_rows, pa.string()))
        self._chunk_encoded = {}
        try:
            return self._convert(table)
        finally:
            self._chunk_encoded = {}  # the chunk's encodings live no longer than the chunk

    def _convert(self, table: pa.Table) -> Converted:
        reasons: dict[int, list[Reason]] = {}
        out_cols: dict[str, Any] = {}
        for name, fm in self.fields.items():
            if fm.field.kind is Kind.CODES:
                out_cols[name] = self._convert_codes(table, fm, reasons)
                continue
            col = fm.column
            if col not in table.column_names:  # optional and absent in this chunk (JSON)
                out_cols[name] = None
                continue
            if fm.field.kind is Kind.STRING:
                out_cols[name] = _clean_text(table[col])  # free text, often all distinct: vectorised
                continue
            if fm.field.kind is Kind.DATE:
                out_cols[name] = self._convert_dates(self._encoded(table, col), name,
                                                     self.raw_name.get(col, col), reasons)
                continue
            idx, outs, errs, uniques = self._distinct(self._encoded(table, col), name)
            self._note_errors(idx, errs, uniques, self.raw_name.get(col, col), reasons)
            out_cols[name] = self._spread(fm.field, outs, idx)
        if self.profile.target == "series":
            return self._assemble_series(table, out_cols, reasons)
        return self._assemble(table, out_cols, reasons)

    def _spread(self, f: Field, outs: list[Any], idx: np.ndarray) -> Any:
        """Distinct results → per-row arrays (COUNT gives a tuple: value, low, high)."""
        take = pa.array(np.where(idx >= 0, idx, 0)).cast(pa.int64())
        mask = pa.array(idx < 0)

        def spread(values: list[Any], typ: pa.DataType) -> pa.Array:
            arr = pa.array(values if values else [None], type=typ)
            return pc.if_else(mask, pa.scalar(None, typ), arr.take(take))

        if f.kind is Kind.COUNT:
            parts = [o if o is not None else (None, None, None) for o in outs]
            return tuple(spread([p[i] for p in parts], pa.float64()) for i in range(3))
        typ = {Kind.INTEGER: pa.int32(), Kind.BOOLEAN: pa.bool_()}.get(f.kind, pa.string())
        return spread(outs, typ)

    def _convert_dates(self, encoded: pa.DictionaryArray, name: str, column: str,
                       reasons: dict[int, list[Reason]]) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
        """Dates (the raw column, dictionary-encoded) → (year, month, day, date) arrays.

        A chunk holds far fewer distinct dates than rows (birth and registration dates repeat),
        so :meth:`_convert_date_values` parses the trimmed dictionary, and the results and
        reasons are spread back to the rows.
        """
        indices = encoded.indices
        value_reasons: dict[int, list[Reason]] = {}
        parsed = self._convert_date_values(pc.utf8_trim_whitespace(encoded.dictionary), name, column,
                                           value_reasons)
        if value_reasons:
            idx = indices.to_numpy(zero_copy_only=False)
            bad = np.zeros(len(encoded.dictionary), dtype=bool)
            bad[list(value_reasons)] = True
            valid = indices.is_valid().to_numpy(zero_copy_only=False)
            for pos in np.nonzero(valid & bad[np.where(valid, idx, 0).astype(np.int64)])[0].tolist():
                reasons.setdefault(pos, []).extend(value_reasons[int(idx[pos])])
        return tuple(p.take(indices) for p in parsed)  # type: ignore[return-value]

    def _convert_date_values(self, arr: pa.Array, name: str, column: str,
                             reasons: dict[int, list[Reason]]) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
        """Date strings → (year, month, day, date) arrays, vectorised for the numeric formats.

        Each numeric format (``%d``, ``%m``, ``%Y`` and separators) becomes a regular expression
        whose groups Arrow extracts for the whole chunk; the calendar (month lengths, leap years),
        plausibility and "not in the future" are checked with NumPy. Values no format matches,
        or that fail a check, go through the per-value parser, which also gives the reasons.
        """
        text = arr
        n = len(text)
        done = np.zeros(n, dtype=bool)
        year = np.full(n, -1, dtype=np.int64)
        month = np.full(n, -1, dtype=np.int64)
        day = np.full(n, -1, dtype=np.int64)
        for fmt in self.fields[name].date_formats or NUMERIC_DATE_FORMATS:
            pattern = date_regex(fmt)
            if pattern is None:
                continue
            parts = pc.extract_regex(text, pattern)
            matched = parts.is_valid().to_numpy(zero_copy_only=False) & ~done
            if not matched.any():
                continue
            comp = {}
            for key in ("Y", "m", "d"):
                if key in fmt:
                    comp[key] = np.where(matched, pc.cast(pc.fill_null(pc.struct_field(parts, key), "0"), pa.int64())
                                         .to_numpy(zero_copy_only=False), -1)
            y = comp["Y"]
            m = comp.get("m", np.full(n, -1))
            d = comp.get("d", np.full(n, -1))
            ok = matched & (y >= 1800) & (y <= 2200)
            if "m" in comp:
                ok &= (m >= 1) & (m <= 12)
            if "d" in comp:
                leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
                month_len = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)]
                ok &= (d >= 1) & (d <= month_len + ((m == 2) & leap))
            key = y * 10_000 + np.maximum(m, 1) * 100 + np.maximum(d, 1)  # earliest day the value allows
            ok &= key <= self.today.year * 10_000 + self.today.month * 100 + self.today.day
            year = np.where(ok, y, year)
            month = np.where(ok, m, month)
            day = np.where(ok, d, day)
            done |= ok
        rest = ~done & text.is_valid().to_numpy(zero_copy_only=False)
        if rest.any():
            positions = np.nonzero(rest)[0]
            idx, outs, errs, uniques = self._distinct(text.take(pa.array(positions)), name)
            sub_reasons: dict[int, list[Reason]] = {}
            self._note_errors(idx, errs, uniques, column, sub_reasons)
            for local, rs in sub_reasons.items():
                reasons.setdefault(int(positions[local]), []).extend(rs)
            for local, u in enumerate(idx.tolist()):
                out = outs[u] if u >= 0 else None
                if out is not None:
                    pos = positions[local]
                    year[pos], month[pos], day[pos] = out[0], out[1] or -1, out[2] or -1
        y_arr = pa.array(year, mask=year < 0).cast(pa.int16())
        m_arr = pa.array(month, mask=month < 0).cast(pa.int8())
        d_arr = pa.array(day, mask=day < 0).cast(pa.int8())
        full = (year > 0) & (month > 0) & (day > 0)
        stamps = np.zeros(n, dtype="datetime64[D]")
        if full.any():
            stamps[full] = (np.array(year[full] - 1970, dtype="datetime64[Y]")
                            + np.array(month[full] - 1, dtype="timedelta64[M]")).astype("datetime64[D]") \
                + np.array(day[full] - 1, dtype="timedelta64[D]")
        date = pa.array(stamps, mask=~full).cast(pa.date32())
        return y_arr, m_arr, d_arr, date

    def _convert_codes(self, table: pa.Table, fm: FieldMap, reasons: dict[int, list[Reason]]) -> pa.Array:
        """A multi-valued field: the union of its list column and its flag columns, as code bitmasks."""
        n = table.num_rows
        codes = list(codelist(fm.field.codelist).codes)
        bit = {c: 1 << i for i, c in enumerate(codes)}
        masks = np.zeros(n, dtype=np.int64)
        if fm.column and fm.column in table.column_names:
            idx, outs, errs, uniques = self._distinct(self._encoded(table, fm.column), fm.field.name)
            self._note_errors(idx, errs, uniques, self.raw_name.get(fm.column, fm.column), reasons)
            per_unique = np.array([o or 0 for o in outs] or [0], dtype=np.int64)
            masks |= np.where(idx >= 0, per_unique[np.maximum(idx, 0)], 0)
        for col, code in (fm.flags or {}).items():
            if col not in table.column_names:
                continue
            enc = self._encoded(table, col)
            uniques = enc.dictionary.to_pylist()
            state = []  # 1 present, 0 absent, -1 invalid
            for u in uniques:
                key = normalise_key(u)
                state.append(1 if key in fm.true_values else
                             0 if key in fm.false_values or key in self.profile.missing_values else -1)
            st = np.array(state or [0], dtype=np.int8)
            idx = dictionary_positions(enc)
            per_row = np.where(idx >= 0, st[np.maximum(idx, 0)], 0)
            raw_col = self.raw_name.get(col, col)
            for pos in np.nonzero(per_row < 0)[0].tolist():
                value = uniques[idx[pos]]
                reasons.setdefault(pos, []).append(Reason(
                    raw_col, "invalid_flag", value,
                    f"{value!r} is not a flag value of this profile (yes: "
                    f"{', '.join(sorted(fm.true_values)) or '-'}; no: "
                    f"{', '.join(sorted(fm.false_values)) or 'empty'})"))
            flag_bits = 0
            for c in code if isinstance(code, list) else [code]:
                flag_bits |= bit[c]
            masks |= np.where(per_row > 0, flag_bits, 0)
        return _bits_to_lists(masks, codes)

    # ---- assembly

    def _assemble(self, table: pa.Table, cols: dict[str, Any], reasons: dict[int, list[Reason]]) -> Converted:
        n = table.num_rows
        rows = table[ROW].combine_chunks()
        # a row of blank cells (a spreadsheet's trailing ";;;;" lines) is nobody: with generated
        # ids it became a case of empty fields and inflated every count
        blank = _blank_rows(table)
        for pos in np.nonzero(blank)[0].tolist():
            reasons.setdefault(pos, []).append(Reason(None, "empty_row", None,
                                                      "every cell of the row is blank"))
        if self.profile.generate_record_ids:
            record_id = pc.binary_join_element_wise(pa.scalar(self.file_sha256[:12]),
                                                    pc.cast(rows, pa.string()), "-")
        else:
            rid_col = self.profile.record_id_column
            record_id = pc.utf8_trim_whitespace(table[rid_col].combine_chunks())
            empty = pc.fill_null(pc.equal(record_id, ""), True).to_numpy(zero_copy_only=False)
            for pos in np.nonzero(empty & ~blank)[0].tolist():
                reasons.setdefault(pos, []).append(Reason(self.raw_name.get(rid_col, rid_col),
                                                          "missing_record_id", None, "the record has no id"))
        out: dict[str, pa.Array] = {"record_id": record_id}
        for f in CASE_FIELDS[1:]:
            out[f.name] = self._field_array(f, cols, n)
        if cols.get("registration_date") is not None:
            year = cols["registration_date"][0]
            out["year_of_registration"] = pc.coalesce(out["year_of_registration"], pc.cast(year, pa.int32()))
        if cols.get("birth_date") is not None:
            self._age_from_birth_date(out, cols)
        self._derive_bands(out, reasons)
        cl = codelist("consent")
        consent = out["consent"]
        for flag in ("linkage", "statistics"):
            allowed = [c.code for c in cl.codes.values() if c.attributes.get(flag)]
            out[f"consent_{flag}"] = pc.fill_null(pc.is_in(consent, pa.array(allowed)), False)
        out.update(self._raw_values(table, Group.CASE))
        out[ROW] = rows

        ident = None
        if any(fm.field.group is Group.IDENTITY for fm in self.fields.values()):
            idc: dict[str, pa.Array] = {"record_id": record_id}
            for f in IDENTITY_FIELDS:
                if f.kind is Kind.DATE:
                    parts = cols.get(f.name) or (pa.nulls(n, pa.int16()), pa.nulls(n, pa.int8()),
                                                 pa.nulls(n, pa.int8()), pa.nulls(n, pa.date32()))
                    idc["birth_year"], idc["birth_month"], idc["birth_day"], idc["birth_date"] = parts
                else:
                    idc[f.name] = self._field_array(f, cols, n)
            if cols.get("birth_date") is not None:
                self._check_birth_before_registration(table, idc, out, reasons)
            idc.update(self._raw_values(table, Group.IDENTITY))
            ident = pa.table(idc)
        return self._split(table, pa.table(out), ident, reasons)

    def _age_from_birth_date(self, out: dict[str, pa.Array], cols: dict[str, Any]) -> None:
        """Fill age at registration from the birth date where the source gives no age.

        The exact age needs both full dates. With only years known, the age is one of two values;
        the age band (and minor/adult) is filled only when both fall in the same band, so nothing
        is guessed. Only the coarse result reaches the case; the birth date stays an identity field.
        """
        by, bm, bd, _ = (a.to_numpy(zero_copy_only=False).astype(float) for a in cols["birth_date"])
        ry = out["year_of_registration"].to_numpy(zero_copy_only=False).astype(float)
        reg = out["registration_date"]
        rm = pc.month(reg).to_numpy(zero_copy_only=False).astype(float)
        rd = pc.day(reg).to_numpy(zero_copy_only=False).astype(float)
        with np.errstate(invalid="ignore"):
            exact = ~np.isnan(by + bm + bd + rm + rd + ry)
            had_birthday = (rm > bm) | ((rm == bm) & (rd >= bd))
            age = ry - by - np.where(had_birthday, 0, 1)
            age_ok = exact & (age >= 0) & (age <= 120)
        given = out["age_years"].to_numpy(zero_copy_only=False).astype(float)
        fill = np.isnan(given) & age_ok
        if fill.any():
            merged = np.where(fill, age, given)
            out["age_years"] = pa.array(merged, mask=np.isnan(merged)).cast(pa.int32())
        # years only: the band when both possible ages agree
        with np.errstate(invalid="ignore"):
            low, high = ry - by - 1, ry - by
        unknown = np.isnan(out["age_years"].to_numpy(zero_copy_only=False).astype(float)) & ~np.isnan(low)
        if unknown.any():
            band_low = _band_lookup("age_band", pa.array(np.where(unknown, low, np.nan), mask=~unknown))
            band_high = _band_lookup("age_band", pa.array(np.where(unknown, high, np.nan), mask=~unknown))
            agree = pc.fill_null(pc.equal(band_low, band_high), False)
            derived = pc.if_else(agree, band_low, pa.scalar(None, pa.string()))
            out["age_band"] = pc.coalesce(out["age_band"], derived)
            agree = unknown & ((low < 18) == (high < 18))
            out["majority_status"] = pc.coalesce(out["majority_status"], _majority(low, agree))

    def _check_birth_before_registration(self, table, idc, out, reasons) -> None:
        by = idc["birth_year"].to_numpy(zero_copy_only=False).astype(float)
        ry = out["year_of_registration"].to_numpy(zero_copy_only=False).astype(float)
        after = np.nan_to_num(by, nan=-1) > np.nan_to_num(ry, nan=1e9)
        if not after.any():
            return
        col = self.fields["birth_date"].column
        raw = table[col].to_pylist()
        for pos in np.nonzero(after)[0].tolist():
            reasons.setdefault(pos, []).append(Reason(self.raw_name.get(col, col), "birth_after_registration",
                                                      raw[pos], "the birth date is after the year of registration"))

    def _field_array(self, f: Field, cols: dict[str, Any], n: int) -> pa.Array:
        typ = {Kind.INTEGER: pa.int32(), Kind.CODES: pa.list_(pa.string()), Kind.BOOLEAN: pa.bool_(),
               Kind.DATE: pa.date32()}.get(f.kind, pa.string())
        arr = cols.get(f.name)
        if isinstance(arr, tuple):  # DATE: (year, month, day, date)
            arr = arr[3]
        if arr is None:
            arr = pa.nulls(n, typ)
        elif arr.type != typ:
            arr = arr.cast(typ)
        default = self.profile.defaults.get(f.name, SYSTEM_DEFAULTS.get(f.name))
        if default is not None:
            arr = pc.fill_null(arr, pa.scalar(default if f.kind is not Kind.CODES else [default], typ))
        return arr

    def _derive_bands(self, out: dict[str, pa.Array], reasons: dict[int, list[Reason]]) -> None:
        """Fill bands and minor/adult from exact values; flag contradictions with given ones."""
        checks = [("age_years", "age_band", "age_band", "inconsistent_age"),
                  ("months_trafficked", "months_trafficked_band", "months_trafficked_band",
                   "inconsistent_duration")]
        for exact, band_field, listname, rule in checks:
            values = out[exact]
            if values.null_count == len(values):
                continue
            self._reconcile(out, reasons, band_field, _band_lookup(listname, values), rule, exact)
            if exact == "age_years":
                years = values.to_numpy(zero_copy_only=False).astype(float)
                self._reconcile(out, reasons, "majority_status", _majority(years, ~np.isnan(years)), rule, exact)
        minors = pc.is_in(out["age_band"], pa.array(["0-8", "9-17"]))
        from_band = pc.if_else(pc.is_null(out["age_band"]), pa.scalar(None, pa.string()),
                               pc.if_else(minors, "minor", "adult"))
        out["majority_status"] = pc.coalesce(out["majority_status"], from_band)

    @staticmethod
    def _reconcile(out, reasons, field_name: str, derived: pa.Array, rule: str, exact: str) -> None:
        given = out[field_name]
        clash = pc.fill_null(pc.not_equal(given, derived), False).to_numpy(zero_copy_only=False)
        if clash.any():
            g, d, e = given.to_pylist(), derived.to_pylist(), out[exact].to_pylist()
            for pos in np.nonzero(clash)[0].tolist():
                reasons.setdefault(pos, []).append(Reason(
                    field_name, rule, g[pos], f"{field_name} {g[pos]!r} contradicts {exact} {e[pos]} ({d[pos]})"))
        out[field_name] = pc.coalesce(given, derived)

    def _raw_values(self, table: pa.Table, group: Group) -> dict[str, pa.Array]:
        """``<field>_raw`` columns: the raw source value(s) of each mapped field of ``group``.

        One column per canonical field keeps the raw value next to the mapped one; raw codes
        repeat a lot, so they store compactly. A field read from flag columns keeps them as
        ``column=value; ...`` (empty cells left out). Free text is stored as written and needs
        no raw copy. Raw values repeat, so each column is a dictionary array (the chunk's own
        encoding of the source column): a tenth of the memory, and DuckDB stores it faster.
        """
        n = table.num_rows
        fields = IDENTITY_FIELDS if group is Group.IDENTITY else CASE_FIELDS[1:]
        out: dict[str, pa.Array] = {}
        for f in fields:
            if not has_raw(f.kind):
                continue
            fm = self.fields.get(f.name)
            labelled: list[tuple[str | None, pa.Array]] = []  # (flag label or None, values)
            if fm is not None:
                if fm.column and fm.column in table.column_names:
                    labelled.append((None, self._encoded(table, fm.column)))
                for col in fm.flags or ():
                    if col in table.column_names:
                        labelled.append((self.raw_name.get(col, col), self._encoded(table, col)))
            if not labelled:
                out[raw_column(f.name)] = pa.nulls(n, RAW_TYPE)
            elif len(labelled) == 1 and labelled[0][0] is None:
                out[raw_column(f.name)] = labelled[0][1]
            else:
                out[raw_column(f.name)] = _join_labelled(labelled, n)
        return out

    def _source_struct(self, table: pa.Table, group: Group) -> pa.Array:
        """Raw values of all columns feeding ``group``'s fields, as a struct (series rows)."""
        cols: list[str] = []
        for fm in self.fields.values():
            if fm.field.group is group:
                cols += [c for c in fm.columns if c in self.columns]
        cols = list(dict.fromkeys(cols))  # every chunk gets the same fields, absent ones null
        n = table.num_rows
        if not cols:
            return pa.nulls(n, pa.struct([("_", pa.string())]))
        return pa.StructArray.from_arrays(
            [table[c].combine_chunks() if c in table.column_names else pa.nulls(n, pa.string()) for c in cols],
            names=[self.raw_name.get(c, c) for c in cols])

    def _assemble_series(self, table: pa.Table, cols: dict[str, Any], reasons: dict[int, list[Reason]]) -> Converted:
        n = table.num_rows
        out: dict[str, pa.Array] = {}
        for name, f in self.schema.items():
            if f.kind is Kind.COUNT:
                v, lo, hi = cols.get(name) or (pa.nulls(n, pa.float64()),) * 3
                out["value"], out["value_low"], out["value_high"] = v, lo, hi
            elif name != "category_code":
                out[name] = self._field_array(f, cols, n)
        for name, f in self.schema.items():
            if f.required:
                fm = self.fields.get(name)
                col = self.raw_name.get(fm.column, fm.column) if fm and fm.column else name
                vals = out["value_low"] if name == "value" else out[name]
                for pos in np.nonzero(vals.is_null().to_numpy(zero_copy_only=False))[0].tolist():
                    if not any(r.column == col for r in reasons.get(pos, [])):
                        reasons.setdefault(pos, []).append(Reason(col, "missing_value", None, f"{name} is required"))
        # the crosswalk names categories it knows (totals, forms, "nationals"); country labels of a
        # citizenship / repatriation breakdown resolve to a country instead
        known = self.fields["category"].values if "category" in self.fields else {}
        cats = out["category"].to_pylist()
        dims = out["dimension"].to_pylist()
        codes = [known.get(normalise_key(c)) if c else None for c in cats]
        by_country = ("citizenship", "country_of_repatriation")
        distinct = {c for c, d, k in zip(cats, dims, codes, strict=True) if c and d in by_country and k is None}
        resolved = geography.resolve_countries(distinct)
        out["category_code"] = pa.array(codes, pa.string())
        out["category_iso3"] = pa.array(
            [resolved.get(c) if d in by_country and c and k is None else None
             for c, d, k in zip(cats, dims, codes, strict=True)], pa.string())
        out["source_row"] = self._source_struct(table, Group.SERIES)
        out[ROW] = table[ROW].combine_chunks()
        return self._split(table, pa.table(out), None, reasons)

    def _split(self, table: pa.Table, main: pa.Table, ident: pa.Table | None,
               reasons: dict[int, list[Reason]]) -> Converted:
        if not reasons:
            return Converted(main, ident, [])
        bad = np.zeros(table.num_rows, dtype=bool)
        bad[list(reasons)] = True
        keep = pa.array(~bad)
        # the row as read, limited to the columns the profile maps: a column no field asks for
        # (a free-text note, an unmapped name) never enters the hub, not even by the quarantine
        mapped = set(self.profile.source_columns())
        raw_cols = [c for c in table.column_names if c != ROW and c in mapped]
        rows = table[ROW].to_pylist()
        bad_positions = sorted(reasons)
        raw_table = table.take(pa.array(bad_positions)).select(raw_cols).to_pylist()
        rejected = [Rejected(rows[p], reasons[p], json.dumps(
            {self.raw_name.get(k, k): v for k, v in r.items()}, ensure_ascii=False))
            for p, r in zip(bad_positions, raw_table, strict=True)]
        return Converted(main.filter(keep), ident.filter(keep) if ident is not None else None, rejected)
