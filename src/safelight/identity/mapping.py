"""``MAP.yaml``: which column of a contributor's file holds which identity field.

Contract: :func:`load_map` reads a map file and :func:`read_identities` reads a file (CSV,
XLSX, JSON, Parquet — :mod:`safelight.ingest.readers`) into an Arrow table with the identity
columns of :mod:`safelight.identity.encode` (``record_id`` plus the mapped fields; a mapped
``birth_date`` is parsed into ``birth_year``/``birth_month``/``birth_day`` with the map's
``date_formats``; an unparseable date becomes missing and is counted). Rows the reader cannot
turn into a record are counted, never silently dropped: :class:`IdentityFile` reports them.

A map::

    id: rec_id                  # the record id column (required)
    contributor: ngo-a          # optional: the contributor's name, written to the package
    phone_region: UA            # optional: country for national phone numbers
    date_formats: ["%Y%m%d"]    # optional: default the numeric formats of safelight.ingest
    consent: consent_linkage    # optional: a true/false column; default every record consents
    fields:                     # identity field: column (a flat map without "fields" works too)
      given_name: given_name
      family_name: surname
      birth_date: date_of_birth
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from safelight.errors import ProfileError
from safelight.ingest.readers import open_reader
from safelight.ingest.values import NUMERIC_DATE_FORMATS, make_date_parser

__all__ = ["IDENTITY_FIELDS", "IdentityFile", "IdentityMap", "load_map", "read_identities"]

IDENTITY_FIELDS: frozenset[str] = frozenset({
    "given_name", "family_name", "full_name", "birth_date", "birth_year", "birth_month",
    "birth_day", "sex", "nationality", "phone", "document_number", "locality", "street_number",
    "address_line", "postcode", "region",
})  # fmt: skip
_RESERVED = {"id", "contributor", "phone_region", "date_formats", "consent", "fields"}
_TRUE = {"1", "true", "yes", "y", "t", "ja", "так", "да"}


@dataclass(frozen=True)
class IdentityMap:
    """A parsed ``MAP.yaml``."""

    id_column: str
    fields: dict[str, str]  # identity field → source column
    contributor: str = ""
    phone_region: str | None = None
    date_formats: tuple[str, ...] = NUMERIC_DATE_FORMATS
    consent: str | None = None


def load_map(path: Path) -> IdentityMap:
    """Read and check a map file (see the module docstring)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read the map ({exc}) — give a YAML file with "
                           "'id:' and identity field: column pairs") from exc
    if not isinstance(data, dict) or not data.get("id"):
        raise ProfileError(f"{path}: the map needs 'id: <record id column>'")
    fields = data.get("fields") or {k: v for k, v in data.items() if k not in _RESERVED}
    unknown = sorted(set(fields) - IDENTITY_FIELDS)
    if unknown:
        raise ProfileError(f"{path}: unknown identity field(s) {', '.join(unknown)} — use "
                           f"{', '.join(sorted(IDENTITY_FIELDS))}")
    if not fields:
        raise ProfileError(f"{path}: the map names no identity field")
    formats = data.get("date_formats") or NUMERIC_DATE_FORMATS
    return IdentityMap(str(data["id"]), {str(k): str(v) for k, v in fields.items()},
                       str(data.get("contributor") or ""), data.get("phone_region"),
                       tuple(str(f) for f in formats), data.get("consent"))


@dataclass
class IdentityFile:
    """Identity records read from a file: ``table`` plus what could not be used."""

    table: pa.Table
    rows_read: int
    unreadable_rows: list[int] = field(default_factory=list)  # reader's row numbers
    unparsed_dates: int = 0


def read_identities(path: Path, mapping: IdentityMap) -> IdentityFile:
    """Read ``path`` and map its columns (see the module docstring)."""
    reader = open_reader(path)
    tables, bad = [], []
    for chunk in reader.chunks():
        tables.append(chunk.table)
        bad.extend(b.row for b in chunk.bad)
    src = pa.concat_tables(tables) if tables else pa.table({})
    needed = {mapping.id_column, *mapping.fields.values()} | (
        {mapping.consent} if mapping.consent else set())
    missing = sorted(needed - set(src.column_names))
    if missing:
        raise ProfileError(f"{path}: column(s) {', '.join(missing)} named in the map are not in "
                           f"the file (it has {', '.join(src.column_names[:20])})")
    n = src.num_rows
    cols: dict[str, Any] = {"record_id": src.column(mapping.id_column).cast(pa.string())}

    def text(col: str) -> list[str | None]:
        return [v if v is None or v.strip() else None
                for v in src.column(col).cast(pa.string()).to_pylist()]

    unparsed = 0
    for fname, col in mapping.fields.items():
        if fname == "birth_date":
            parse = make_date_parser(mapping.date_formats, past_only=True)
            none: tuple[int | None, int | None, int | None] = (None, None, None)
            cache: dict[str | None, tuple[int | None, int | None, int | None]] = {None: none}
            parts = []
            for v in text(col):
                if v not in cache:
                    out, err = parse(v)
                    cache[v] = (out[0], out[1], out[2]) if out and not err else none
                    unparsed += int(err is not None)
                parts.append(cache[v])
            for k, name in enumerate(("birth_year", "birth_month", "birth_day")):
                cols[name] = pa.array([p[k] for p in parts], pa.int16())
        elif fname in ("birth_year", "birth_month", "birth_day"):
            cols[fname] = pa.array([int(v) if v and v.strip().isdigit() else None
                                    for v in text(col)], pa.int16())
        else:
            cols[fname] = pa.array(text(col), pa.string())
    if mapping.phone_region:
        cols["phone_region"] = pa.array([mapping.phone_region] * n, pa.string())
    if mapping.consent:
        cols["consent_linkage"] = pa.array([bool(v) and v.strip().lower() in _TRUE
                                            for v in text(mapping.consent)], pa.bool_())
    return IdentityFile(pa.table(cols), n + len(bad), bad, unparsed)
