"""Mapping profiles: how one contributor's columns and values map onto the case standard.

The YAML format is documented in ``docs/profiles.md``. :func:`load_profile` accepts a built-in
name (``ctdc-legacy``, ``ctdc-2024``, ``htcds-2.0``, ``glotip``, ``safelight``) or a path, and
checks the profile against the schema before any row is read, so a profile mistake is reported
once, with its place, instead of as a million row errors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from safelight.errors import ProfileError
from safelight.ingest.readers import ReadOptions
from safelight.standard.codelists import codelist
from safelight.standard.crosswalk import Crosswalk, load_crosswalk, normalise_key
from safelight.standard.schema import FALSE_WORDS, FIELDS, SERIES_FIELDS, TRUE_WORDS, Field, Kind

DEFAULT_TRUE = TRUE_WORDS
DEFAULT_FALSE = FALSE_WORDS
# "NA" is deliberately absent: it is Namibia's ISO code.
DEFAULT_MISSING = ("", "null", "none", "n/a", "#n/a", "-", "nan", "not specified", "unknown", "?")
TARGETS = ("cases", "series")


@dataclass(frozen=True)
class FieldMap:
    """How one canonical field is filled from the source."""

    field: Field
    column: str | None = None
    flags: dict[str, str | list[str]] | None = None  # source column → code(s) (multi-valued fields)
    true_values: frozenset[str] = frozenset(DEFAULT_TRUE)
    false_values: frozenset[str] = frozenset(DEFAULT_FALSE)
    separators: tuple[str, ...] = (";",)
    values: dict[str, Any] = field(default_factory=dict)  # normalised raw → canonical
    date_formats: tuple[str, ...] = ()
    optional: bool = False

    @property
    def columns(self) -> list[str]:
        return ([self.column] if self.column else []) + list(self.flags or ())


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    description: str
    target: str
    read: ReadOptions
    fields: dict[str, FieldMap]
    record_id_column: str | None
    generate_record_ids: bool
    defaults: dict[str, Any]
    aliases: dict[str, str]
    missing_values: frozenset[str]
    crosswalk: Crosswalk | None
    sha256: str
    origin: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def source_columns(self, *, required_only: bool = False) -> list[str]:
        cols = [self.record_id_column] if self.record_id_column else []
        for fm in self.fields.values():
            if required_only and fm.optional:
                continue
            cols += fm.columns
        return cols


def builtin_profiles() -> list[str]:
    root = resources.files("safelight.ingest").joinpath("profiles")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load and check a profile (built-in name or YAML path)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ProfileError(f"profile file {path} not found")
        return parse_profile(path.read_text("utf-8"), str(path))
    res = resources.files("safelight.ingest").joinpath(f"profiles/{name_or_path}.yaml")
    if not res.is_file():
        raise ProfileError(
            f"unknown profile {str(name_or_path)!r}; built-in profiles: {', '.join(builtin_profiles())}"
            " — or give the path of a YAML profile")
    return parse_profile(res.read_text("utf-8"), f"builtin:{name_or_path}")


def _err(origin: str, where: str, problem: str) -> ProfileError:
    return ProfileError(f"profile {origin}, {where}: {problem}")


def _norm_values(origin: str, where: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _err(origin, where, "values must be a mapping of raw value → canonical value")
    return {normalise_key(str(k)): v for k, v in raw.items()}


def _check_code(origin: str, where: str, fdef: Field, value: Any) -> None:
    if fdef.codelist and value is not None and str(value) not in codelist(fdef.codelist):
        known = ", ".join(codelist(fdef.codelist).codes)
        raise _err(origin, where, f"{value!r} is not a code of {fdef.codelist} ({known})")


def parse_profile(text: str, origin: str) -> Profile:
    """Parse profile YAML ``text``; ``origin`` names it in error messages."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {origin}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise ProfileError(f"profile {origin}: must be a mapping with 'profile' and 'fields'")
    known_keys = {"profile", "version", "description", "target", "crosswalk", "read", "record_id",
                  "defaults", "fields", "values", "aliases", "missing_values"}
    unknown = set(doc) - known_keys
    if unknown:
        raise _err(origin, "top level", f"unknown key(s) {', '.join(sorted(unknown))}; "
                   f"allowed: {', '.join(sorted(known_keys))}")
    for key in ("profile", "fields"):
        if key not in doc:
            raise _err(origin, "top level", f"missing key {key!r}")
    target = doc.get("target", "cases")
    if target not in TARGETS:
        raise _err(origin, "target", f"{target!r} is not one of {', '.join(TARGETS)}")
    schema = FIELDS if target == "cases" else SERIES_FIELDS

    crosswalk = load_crosswalk(str(doc["crosswalk"])) if doc.get("crosswalk") else None

    read = doc.get("read") or {}
    if not isinstance(read, dict):
        raise _err(origin, "read", "must be a mapping")
    bad_read = set(read) - {"delimiter", "encoding", "sheet", "header_row", "records_path"}
    if bad_read:
        raise _err(origin, "read", f"unknown option(s) {', '.join(sorted(bad_read))}")
    delimiter = read.get("delimiter")
    encoding = read.get("encoding")
    header_row = read.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        raise _err(origin, "read.header_row", "must be a whole number ≥ 1")
    options = ReadOptions(
        delimiter=None if delimiter in (None, "auto") else str(delimiter),
        encoding=None if encoding in (None, "auto") else str(encoding),
        sheet=read.get("sheet"),
        header_row=header_row,
        records_path=read.get("records_path"),
        find_header="header_row" not in read,
    )

    extra_values = doc.get("values") or {}
    fields: dict[str, FieldMap] = {}
    for name, spec in (doc.get("fields") or {}).items():
        where = f"fields.{name}"
        if name not in schema:
            raise _err(origin, where, f"{name!r} is not a field of the {target} schema; fields: "
                       f"{', '.join(schema)}")
        if name == "record_id":
            raise _err(origin, where, "use the top-level 'record_id' key for the id column")
        fdef = schema[name]
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict):
            raise _err(origin, where, "must be a column name or a mapping")
        allowed = {"column", "flags", "true_values", "false_values", "separator", "values",
                   "date_formats", "optional"}
        if set(spec) - allowed:
            raise _err(origin, where, f"unknown key(s) {', '.join(sorted(set(spec) - allowed))}")
        if not spec.get("column") and not spec.get("flags"):
            raise _err(origin, where, "give 'column', 'flags' or both (their union)")
        flags = spec.get("flags")
        if flags is not None:
            if fdef.kind is not Kind.CODES:
                raise _err(origin, where, "'flags' only fits multi-valued (codes) fields")
            if not isinstance(flags, dict):
                raise _err(origin, where + ".flags", "must map source column → code")
            for col, code in flags.items():
                for part in code if isinstance(code, list) else [code]:
                    _check_code(origin, f"{where}.flags.{col}", fdef, part)
        values = {**(crosswalk.lookup(name) if crosswalk else {}),
                  **_norm_values(origin, f"values.{name}", extra_values.get(name)),
                  **_norm_values(origin, f"{where}.values", spec.get("values"))}
        if fdef.kind in (Kind.CODE, Kind.CODES):
            for raw, code in values.items():
                for part in code if isinstance(code, list) else [code]:
                    _check_code(origin, f"{where} value {raw!r}", fdef, part)
        fields[name] = FieldMap(
            field=fdef,
            column=str(spec["column"]).strip() if spec.get("column") else None,
            flags={str(k).strip(): ([str(x) for x in v] if isinstance(v, list) else str(v))
                   for k, v in flags.items()} if flags else None,
            true_values=frozenset(normalise_key(str(v)) for v in spec.get("true_values", DEFAULT_TRUE)),
            false_values=frozenset(normalise_key(str(v)) for v in spec.get("false_values", DEFAULT_FALSE)),
            separators=tuple(str(x) for x in sep) if isinstance(sep := spec.get("separator", ";"), list)
            else (str(sep),),
            values=values,
            date_formats=tuple(spec.get("date_formats") or ()),
            optional=bool(spec.get("optional", False)),
        )

    record_id = doc.get("record_id")
    generate = False
    rid_col = None
    if target == "cases":
        if isinstance(record_id, dict) and record_id.get("generate"):
            generate = True
        elif isinstance(record_id, str) and record_id.strip():
            rid_col = record_id.strip()
        else:
            raise _err(origin, "record_id", "name the id column, or write {generate: true}")

    defaults = dict(doc.get("defaults") or {})
    for name, value in defaults.items():
        if name not in schema:
            raise _err(origin, f"defaults.{name}", "not a field of the schema")
        _check_code(origin, f"defaults.{name}", schema[name], value)

    aliases = {str(k).strip(): str(v).strip() for k, v in (doc.get("aliases") or {}).items()}
    missing = frozenset(normalise_key(str(v)) for v in doc.get("missing_values", DEFAULT_MISSING))
    if "na" in missing:
        raise _err(origin, "missing_values", "'NA' is Namibia's country code; do not list it as missing")
    return Profile(
        name=str(doc["profile"]),
        version=str(doc.get("version", "1")),
        description=" ".join(str(doc.get("description", "")).split()),
        target=target,
        read=options,
        fields=fields,
        record_id_column=rid_col,
        generate_record_ids=generate,
        defaults=defaults,
        aliases=aliases,
        missing_values=missing,
        crosswalk=crosswalk,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        origin=origin,
    )
