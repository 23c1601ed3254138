"""Encoded identities at the hub: read contribution packages, compare Bloom filters.

Contract
--------
:func:`read_packages` reads one or more contribution packages written by
:func:`safelight.identity.encode.write_package`, checks that they were made with the same key
(fingerprint) and settings, keeps only the records whose consent allows linkage and returns
:class:`EncodedRecords`: per field a ``(n, bits/64)`` uint64 matrix of packed filters and a
presence mask, per blocking rule an int64 key array (with a presence mask), and the
contributor and record id of each row. Nothing here sees or can compute a clear value.
Packages of format :data:`OLDEST_READABLE_VERSION` up to the current one are read (a rule an
older package lacks is absent for its records; beside a package of :data:`CODES_VERSION` or
later, the sex and nationality of an older package, encoded from other text, are absent for
its records); older or unknown formats are refused with a message saying how to fix it. Every
package read is checked against its manifest (records' SHA-256 and count) first.

:func:`compare_encoded` turns record pairs into the comparison levels of
:data:`ENCODED_FIELDS`, which the same Fellegi–Sunter/EM machinery as the clear linkage
(:mod:`safelight.link.model`) scores. Similarities are Dice coefficients on the packed filters,
computed with ``np.bitwise_count`` over whole pair arrays (chunked), and corrected for the
public BLIP flip probability ``f`` (see :func:`dice`), so identical values score ≈ 1 whatever
the noise. When a pair's names agree better crosswise (given ↔ family), the crossed
similarities are used and ``swapped`` is set, as in clear.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safelight.identity.encode import (
    BLOCKING_RULES,
    FORMAT_VERSION,
    MANIFEST,
    RECORDS,
    EncodingError,
    EncodingSettings,
    fingerprints_in,
)
from safelight.link import kernels
from safelight.link.compare import Comparisons, address_open, address_select
from safelight.link.model import TF_PSEUDO_RECORDS

__all__ = [
    "CODES_VERSION",
    "ADDRESS_PARTS",
    "ENCODED_FIELDS",
    "OLDEST_READABLE_VERSION",
    "WITHDRAWN_VERSIONS",
    "EncodedRecords",
    "check_format",
    "check_manifest_counts",
    "compare_encoded",
    "dice",
    "filter_matrix",
    "from_parts",
    "name_frequencies",
    "read_manifest",
    "read_package",
    "read_packages",
]

log = logging.getLogger("safelight.link.encoded")

#: field → level names (1..k); level 0 is "missing". Thresholds are on noise-corrected Dice.
ENCODED_FIELDS: dict[str, tuple[str, ...]] = {
    "given_name": ("dice_0.92", "same_name_group", "dice_0.75", "dice_0.55", "different"),
    "family_name": ("dice_0.92", "dice_0.75", "dice_0.55", "different"),
    "birth_date": ("dice_0.92", "dice_0.92_partial", "dice_0.55", "dice_0.45", "dice_0.33",
                   "different"),
    "sex": ("same", "different"),
    "nationality": ("same", "different"),
    "phone": ("dice_0.92", "dice_0.70", "different"),
    "document": ("dice_0.92", "dice_0.70", "different"),
    "locality": ("dice_0.92", "dice_0.70", "different"),
    "address": ("same_address", "two_parts_same", "same_postcode", "same_street",
                "same_number_similar", "similar", "different"),
    "region": ("same", "different"),
    "contributor": ("same", "different"),
}  # fmt: skip

#: the address's parts: each is its own filter in a package, and the hub compares them as one
#: field, ``address`` (:func:`_address_levels`), with the clear comparison's levels. A person
#: moves, or a household shares, street line, house number and postcode together; scored as
#: three fields they counted one shared home three times (1,500 × 1,500 registers with nobody in
#: common: a sister of another sex, birth date and given name linked on +26 bits of address).
ADDRESS_PARTS = ("street_number", "address_line", "postcode")

#: the key whose presence marks a full real birth date (year, month and day; a 1 January
#: placeholder counts as missing, as a year alone or a year and month do). The hub sees which
#: records hold it — every package carries it for blocking — and the birth date's level reads
#: it: :func:`_birth_date_levels`; :func:`safelight.link.compare.full_dates` is the clear side's.
FULL_DATE_KEY = "birth_date"

#: level thresholds of each Dice-levelled field, from the strongest (level 1) down
_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "family_name": (0.92, 0.75, 0.55),
    "birth_date": (0.92, 0.55, 0.45, 0.33),
    "sex": (0.5,),
    "nationality": (0.5,),
    "phone": (0.92, 0.70),
    "document": (0.92, 0.70),
    "locality": (0.92, 0.70),
    "street_number": (0.92,),  # the house number has no "similar" level in ``address``
    "address_line": (0.92, 0.70),
    "postcode": (0.92, 0.50),
    "region": (0.5,),
}
_GIVEN_THRESHOLDS = (0.92, 0.75, 0.55)
_GROUP_THRESHOLD = 0.5
_SWAP_MARGIN = 0.5
_CHUNK = 65_536
_THREADS = max(1, min(2, os.cpu_count() or 1))


@dataclass
class EncodedRecords:
    """Encoded identities, one row per record with consent to linkage."""

    contributor: np.ndarray  # object (str)
    record_id: np.ndarray  # object (str)
    filters: dict[str, np.ndarray]  # field → (n, words) uint64
    present: dict[str, np.ndarray]  # field → bool (n,)
    blocking: dict[str, np.ndarray]  # rule → int64 (n,), valid where blocking_present
    blocking_present: dict[str, np.ndarray]
    settings: EncodingSettings
    key_fingerprint: str
    weights: dict[str, np.ndarray] = field(init=False)  # field → observed Hamming weights
    contributor_code: np.ndarray = field(init=False)  # int code of each row's contributor

    def __post_init__(self) -> None:
        self.weights = {f: np.bitwise_count(m).sum(axis=1, dtype=np.int32)
                        for f, m in self.filters.items()}
        self.contributor_code = np.unique(self.contributor, return_inverse=True)[1].reshape(-1)

    def __len__(self) -> int:
        return len(self.record_id)


def filter_matrix(col: pa.Array, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-size binary column of filters as ``(n, bits/64)`` uint64 rows (zeros where
    null) and its presence mask."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(col)
    present = col.is_valid().to_numpy(zero_copy_only=False)
    width = bits // 8
    data = col.buffers()[1]
    raw = np.frombuffer(data, dtype=np.uint8, count=(col.offset + n) * width,
                        offset=0)[col.offset * width:]
    mat = raw.reshape(n, width).copy()
    mat[~present] = 0
    return mat.view("<u8"), present


#: the oldest package format the hub still links (v3 holds the same blocking keys as v5);
#: v1 and v2 keys are not the ones the hub joins and are refused
OLDEST_READABLE_VERSION = 3
#: formats the hub refuses although they are in the readable range, and why
WITHDRAWN_VERSIONS: dict[int, str] = {
    4: "its two {day, month} keys in any year let the hub order birth years (a privacy "
       "review rebuilt exact birth years of 37% of a 10k package from them)",
}


#: the first format whose sex and nationality filters encode the standard's codes
#: (``female``, ISO alpha-3); an older package's filters of those fields encoded the
#: upper-cased text ("F", "UA"), which never agrees with a code, so beside a newer package they
#: are treated as absent (the fields carry no weight either way for its records)
CODES_VERSION = 6
_CODED_FIELDS = ("sex", "nationality")


def check_format(manifest: dict[str, Any], where: str) -> None:
    """Refuse a manifest of another package format or of a version the hub cannot link
    (older than :data:`OLDEST_READABLE_VERSION`, withdrawn — :data:`WITHDRAWN_VERSIONS` — or
    newer than this software), saying how to fix it."""
    version = int(manifest.get("format_version", -1))
    if manifest.get("format") != "safelight-pprl-package" or version > FORMAT_VERSION:
        raise EncodingError(f"{where}: unknown package format "
                            f"{manifest.get('format')} v{manifest.get('format_version')} — "
                            "upgrade safelight or re-encode with this version")
    if version < OLDEST_READABLE_VERSION:
        raise EncodingError(f"{where}: package format v{version} is older than this hub's "
                            f"v{FORMAT_VERSION}, which links v{OLDEST_READABLE_VERSION} and "
                            "later (its blocking keys are not the ones the hub joins) — ask "
                            "the contributor to re-encode with `safelight identity encode` "
                            "from this version")
    if version in WITHDRAWN_VERSIONS:
        raise EncodingError(f"{where}: package format v{version} is withdrawn: "
                            f"{WITHDRAWN_VERSIONS[version]} — ask the contributor to delete "
                            "it and re-encode with `safelight identity encode` from this "
                            f"version (v{FORMAT_VERSION})")


#: manifest keys the hub reads; a manifest without one of them is damaged
_REQUIRED_KEYS = ("key_fingerprint", "settings", "blocking_rules", "records", "records_sha256")


#: the type of each manifest key the hub reads (a hand-edited value was a traceback)
_KEY_TYPES: dict[str, type] = {
    "format": str, "format_version": int, "key_fingerprint": str, "settings": dict,
    "blocking_rules": list, "records": int, "records_sha256": str}


def _damaged(where: Path | str, what: str) -> EncodingError:
    return EncodingError(f"{where}: {what} — ask the contributor to send the package again")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the package directory ``path``, after a format check; a manifest that
    is not JSON, not an object or lacks a key the hub reads is refused as damaged."""
    man_path = Path(path) / MANIFEST
    try:
        manifest = json.loads(man_path.read_text("utf-8"))
    except OSError as exc:
        raise EncodingError(f"{man_path}: cannot be read ({exc.strerror})") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise _damaged(path, f"{MANIFEST} is damaged (not valid JSON)") from exc
    if not isinstance(manifest, dict):
        raise _damaged(path, f"{MANIFEST} is damaged (not a JSON object)")
    missing = [k for k in ("format", "format_version", *_REQUIRED_KEYS) if k not in manifest]
    if missing:
        raise _damaged(path, f"{MANIFEST} is damaged (it lacks {', '.join(missing)})")
    wrong = [k for k, kind in _KEY_TYPES.items()
             if k in manifest and not (isinstance(manifest[k], kind)
                                       and not isinstance(manifest[k], bool))]
    if manifest.get("contributor") is not None and not isinstance(manifest["contributor"], str):
        wrong.append("contributor")
    if wrong:
        raise _damaged(path, f"{MANIFEST} is damaged ({', '.join(wrong)} of the wrong type)")
    _check_settings(path, manifest)
    check_format(manifest, str(man_path))
    return manifest


def _check_settings(path: Path | str, manifest: dict[str, Any]) -> None:
    """Refuse a manifest whose encoding settings or per-field counts cannot be read (values
    edited by hand were tracebacks further on)."""
    try:
        settings = EncodingSettings.from_dict(manifest["settings"])
        for spec in settings.fields:
            if not (isinstance(spec.name, str) and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in (spec.bits, spec.k))):
                raise TypeError(f"field {spec.name!r}")
        present = manifest.get("fields_present", {})
        if not isinstance(present, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in present.values()):
            raise TypeError("fields_present")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _damaged(path, f"{MANIFEST} is damaged (its settings cannot be read: "
                             f"{type(exc).__name__} {exc})") from None


def _check_digest(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse ``records.parquet`` unless its SHA-256 is the one its manifest states (a damaged
    file, or the manifest of another package beside it). Hashing streams the file (bounded
    memory; ~1 GB of filters at 1M records)."""
    with open(path / RECORDS, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != manifest["records_sha256"]:
        raise _damaged(path, f"{RECORDS} does not match the SHA-256 in {MANIFEST} — the "
                             "package was damaged or altered, or its files come from two "
                             "packages")


def read_package(path: Path, *, lazy: bool = False
                 ) -> tuple[dict[str, Any], pa.Table | pq.ParquetFile]:
    """(manifest, records table) of one package directory, after a format check
    (:func:`read_manifest`) and a check of the records against the manifest: SHA-256
    (:func:`_check_digest`) and number of records; with ``lazy`` the open Parquet file instead
    of the table, for :func:`from_parts` to read one column at a time (a 1M-record package
    holds ~1 GB of filters)."""
    path = Path(path)
    if path.is_file():
        zipped = path.suffix.lower() in {".zip", ".gz", ".tgz", ".tar", ".7z"}
        raise EncodingError(f"{path}: a file, not a contribution package — a package is a "
                            f"folder holding {MANIFEST} and {RECORDS}"
                            + ("; unpack the archive first and give its folder" if zipped
                               else ""))
    man_path = path / MANIFEST
    if not man_path.is_file() or not (path / RECORDS).is_file():
        raise EncodingError(f"{path}: not a contribution package (needs {MANIFEST} and "
                            f"{RECORDS}) — make one with `safelight identity encode`")
    manifest = read_manifest(path)
    try:
        _check_digest(path, manifest)
        source: pa.Table | pq.ParquetFile = pq.ParquetFile(path / RECORDS)
        rows = source.metadata.num_rows
        if not lazy:
            source = source.read()
    except (pa.ArrowException, OSError) as exc:
        raise _damaged(path / RECORDS, f"cannot be read as Parquet ({exc}) — the package is "
                                       "damaged") from exc
    if rows != manifest["records"]:
        raise _damaged(path, f"{RECORDS} holds {rows:,} records, {MANIFEST} says "
                             f"{manifest['records']} — the manifest was altered")
    _check_columns(path, manifest, source)
    _check_nothing_beside(path, manifest)
    return manifest, source


def check_manifest_counts(path: Path, manifest: dict[str, Any],
                          source: pa.Table | pq.ParquetFile) -> None:
    """Refuse a package whose manifest's counts — ``records_with_consent_to_linkage`` and
    ``fields_present`` — are not those of its records (the manifest was altered: the SHA-256
    covers the records only). Reads the consent column and one filter column at a time."""
    names = set(source.schema_arrow.names if isinstance(source, pq.ParquetFile)
                else source.column_names)

    def column(name: str) -> pa.ChunkedArray | pa.Array:
        if isinstance(source, pq.ParquetFile):
            return source.read(columns=[name]).column(0)
        return source.column(name)

    wrong = []
    consent = column("consent_linkage")
    held = int(pc.sum(pc.fill_null(consent, False)).as_py() or 0)
    said = manifest.get("records_with_consent_to_linkage")
    if said is not None and said != held:
        wrong.append(f"records_with_consent_to_linkage {said} (the records: {held})")
    for name, said in (manifest.get("fields_present") or {}).items():
        if f"bf_{name}" not in names:
            wrong.append(f"fields_present.{name} {said} (the records hold no such field)")
            continue
        col = column(f"bf_{name}")
        held = len(col) - col.null_count
        if said != held:
            wrong.append(f"fields_present.{name} {said} (the records: {held})")
    if wrong:
        raise _damaged(path, f"{MANIFEST} says {', '.join(wrong[:4])} — the manifest was "
                             "altered")


#: files beside a package's two that are looked into for the key (a key file is ~65 bytes)
_KEY_FILE_MAX_BYTES = 4096


def _check_nothing_beside(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse a package folder that holds the key it was encoded with (any small file whose
    bytes, read as a key file, give the manifest's key fingerprint): whoever received the
    package can reverse every encoding in it. Warn of other files beside the package's two:
    they are not read, and a package is sent as those two files only."""
    others = sorted(p for p in path.iterdir() if p.name not in (MANIFEST, RECORDS))
    for other in others:
        try:
            small = other.is_file() and other.stat().st_size <= _KEY_FILE_MAX_BYTES
            raw = other.read_bytes() if small else b""
        except OSError:
            continue
        if raw and manifest.get("key_fingerprint") in fingerprints_in(raw):
            raise EncodingError(
                f"{path}: {other.name} in the package folder is the key the package was "
                "encoded with — whoever received this package can reverse every encoding in "
                "it. Nothing was read. Delete the package wherever it was sent, make a new key "
                "(`safelight identity keygen`), share it with the other contributors only (never "
                "with the hub) and encode again")
    if others:
        log.warning("%s: the package folder also holds %s — not read (a package is %s and %s "
                    "only; send nothing else with it)", path,
                    ", ".join(p.name for p in others[:5]) + (" …" if len(others) > 5 else ""),
                    MANIFEST, RECORDS)


def _check_columns(path: Path, manifest: dict[str, Any],
                   source: pa.Table | pq.ParquetFile) -> None:
    """Refuse records without a column the manifest implies (a filter per encoded field, a
    key per blocking rule, ``record_id``, ``consent_linkage``), or whose record ids are
    missing or repeated (every output row names one record)."""
    names = set(source.schema_arrow.names if isinstance(source, pq.ParquetFile)
                else source.column_names)
    fields = manifest["settings"].get("fields") or []
    need = ["record_id", "consent_linkage",
            *(f"bf_{f['name']}" for f in fields if isinstance(f, dict) and "name" in f),
            *(f"bk_{r}" for r in manifest["blocking_rules"])]
    missing = [c for c in need if c not in names]
    if missing:
        raise _damaged(path, f"{RECORDS} lacks column(s) {', '.join(missing[:5])} that "
                             f"{MANIFEST} implies — the package is incomplete")
    ids = _column(source, "record_id", str(path))
    if ids.null_count:
        raise _damaged(path, f"{ids.null_count:,} record(s) of {RECORDS} have no record id")
    if pc.count_distinct(ids).as_py() != len(ids):
        raise _damaged(path, f"record ids of {RECORDS} repeat — each record must have its own")


def contributor_name(manifest: dict[str, Any], position: int) -> str:
    """The contributor a package's records are labelled with: its manifest's, or
    ``package<position>`` for a package without one."""
    return manifest.get("contributor") or f"package{position}"


def _warn_missing_fields(paths: list[str], present: dict[str, np.ndarray],
                         starts: np.ndarray, excused: list[bool]) -> None:
    """Warn, per package, of the identity fields none of its records holds while another
    package's records do: its contributor's map did not name them (or the column was empty),
    so its records meet the others on fewer fields and link less (a package of names alone
    linked 6 of 250 true pairs in a new-user trial, without a word). A package whose
    ``excused`` is true (of an older format: its coded fields were left out, and said so)
    is not warned about those fields again."""
    if len(paths) < 2:
        return
    held = {name: [bool(ok[a:b].any()) for a, b in zip(starts[:-1], starts[1:], strict=True)]
            for name, ok in present.items()}
    lacking: dict[str, list[str]] = {}  # one warning per set of missing fields
    for i, path in enumerate(paths):
        if starts[i + 1] == starts[i]:
            continue  # no record with consent to linkage: nothing to compare
        missing = [name for name, per in held.items()
                   if not per[i] and any(per[:i] + per[i + 1:])
                   and not (excused[i] and name in _CODED_FIELDS)]
        if missing:
            lacking.setdefault(", ".join(missing), []).append(path)
    for missing, where in lacking.items():
        log.warning("%s: no record holds %s, which the other package(s) hold — %s "
                    "names fewer identity fields (or the export lacks them), so %s records are "
                    "compared on fewer and link less; if the export holds them, encode it again "
                    "with them mapped", ", ".join(where), missing,
                    "its map" if len(where) == 1 else "their maps",
                    "its" if len(where) == 1 else "their")


def read_packages(paths: list[Path]) -> EncodedRecords:
    """Read and concatenate contribution packages (see the module docstring)."""
    if not paths:
        raise EncodingError("no contribution packages given")
    return from_parts([read_package(p, lazy=True) for p in paths], [str(p) for p in paths])


def _column(source: pa.Table | pq.ParquetFile, name: str, where: str) -> pa.Array:
    """One column of a package's records, as one array."""
    try:
        if isinstance(source, pq.ParquetFile):
            col = source.read(columns=[name]).column(name)
        else:
            col = source.column(name)
    except (pa.ArrowException, KeyError, OSError) as exc:
        raise EncodingError(f"{where}: column {name} cannot be read ({exc}) — the package is "
                            "damaged or incomplete; ask the contributor to send it again"
                            ) from exc
    return col.combine_chunks()


def from_parts(parts: list[tuple[dict[str, Any], pa.Table | pq.ParquetFile]], where: list[str]
               ) -> EncodedRecords:
    """:class:`EncodedRecords` from (manifest, records) pairs — packages read from disk or
    from the hub store, as tables or open Parquet files; ``where`` names each for error
    messages. Columns are read one at a time into preallocated arrays (bounded memory)."""
    if not parts:
        raise EncodingError("no contribution packages given")
    paths = where
    first = parts[0][0]
    for p, (man, _) in zip(paths, parts, strict=True):
        check_format(man, p)
        if man["key_fingerprint"] != first["key_fingerprint"]:
            raise EncodingError(f"{p}: encoded with another key (fingerprint "
                                f"{man['key_fingerprint']} ≠ {first['key_fingerprint']}) — "
                                "all contributors must use the same key file")
        differ = [k for k in ("fields", "flip_probability", "name_salt")
                  if man["settings"].get(k) != first["settings"].get(k)]
        if differ:
            said = "; ".join(f"{k} {man['settings'].get(k)!r} against {first['settings'].get(k)!r}"
                             for k in differ if k != "fields")
            raise EncodingError(f"{p}: encoded with other settings than {paths[0]} "
                                f"({', '.join(differ)} differ{': ' + said if said else ''}) — "
                                "re-encode all contributions with the same settings (--flip, "
                                "--name-salt and the same safelight version)")
    settings = EncodingSettings.from_dict(first["settings"])
    keeps = [_column(src, "consent_linkage", w).fill_null(False).to_numpy(zero_copy_only=False)
             for (_, src), w in zip(parts, paths, strict=True)]
    starts = np.cumsum([0] + [int(k.sum()) for k in keeps])
    n = int(starts[-1])

    def gather(name: str, optional: bool = False) -> list[pa.Array | None]:
        """A column of every package (``optional``: a blocking rule, ``bk_`` + ``name``,
        None for a package whose manifest does not list it)."""
        out: list[pa.Array | None] = []
        for (man, src), w, keep in zip(parts, paths, keeps, strict=True):
            if optional and name not in man["blocking_rules"]:
                out.append(None)
                continue
            col = _column(src, f"bk_{name}" if optional else name, w)
            out.append(col if keep.all() else col.filter(pa.array(keep)))
        return out

    versions = [int(man["format_version"]) for man, _ in parts]
    # beside a package that encodes codes, an older package's sex/nationality text is absent
    uncoded = [v < CODES_VERSION <= max(versions) for v in versions]
    filters, present = {}, {}
    for spec in settings.fields:
        filters[spec.name] = np.empty((n, spec.bits // 64), dtype=np.uint64)
        present[spec.name] = np.empty(n, dtype=bool)
        for i, col in enumerate(gather(f"bf_{spec.name}")):
            try:
                mat, ok = filter_matrix(col, spec.bits)
            except ValueError as exc:  # filters cut short or of another length
                raise _damaged(paths[i], f"the filters of {spec.name} are not "
                                         f"{spec.bits} bits long ({exc})") from exc
            if uncoded[i] and spec.name in _CODED_FIELDS:
                mat[:] = 0
                ok[:] = False
            filters[spec.name][starts[i]:starts[i + 1]] = mat
            present[spec.name][starts[i]:starts[i + 1]] = ok
    if any(uncoded):
        log.warning("%s: package(s) of format < v%d: their %s are left out of the comparison "
                    "(encoded from other text than the newer packages'); re-encode them with "
                    "this version to use them", ", ".join(p for p, u in zip(paths, uncoded,
                                                                             strict=True) if u),
                    CODES_VERSION, " and ".join(_CODED_FIELDS))
    older = [p for p, v in zip(paths, versions, strict=True) if CODES_VERSION <= v < max(versions)]
    if older:
        # v7 beside v8 (and v6 beside v7): linked, but the names and values whose normalisation
        # changed between them (docs/pprl.md) encode differently and compare as different
        log.warning("%s: package(s) of an older format than v%d are linked beside newer ones; "
                    "the names and values whose normalisation changed since (docs/pprl.md) "
                    "compare as different — ask their contributors to re-encode with this "
                    "version", ", ".join(older), max(versions))
    _warn_missing_fields(paths, present, starts, uncoded)
    blocking, bpresent = {}, {}
    # every rule any package holds; a package of an older readable format lacks the newer
    # keys, which are then absent for its records (they meet on the keys they have)
    # (only the rules this software defines: a column under another name is never joined)
    rules = list(dict.fromkeys(r for man, _ in parts for r in man["blocking_rules"]
                               if r in BLOCKING_RULES))
    for rule in rules:
        cols = [col if rule in man["blocking_rules"] else pa.nulls(int(keep.sum()), pa.int64())
                for col, (man, _), keep in zip(gather(rule, optional=True), parts, keeps,
                                               strict=True)]
        bpresent[rule] = np.concatenate([c.is_valid().to_numpy(zero_copy_only=False)
                                         for c in cols])
        blocking[rule] = np.concatenate([c.fill_null(0).to_numpy(zero_copy_only=False)
                                         for c in cols]).astype(np.int64)
    contributors = []
    for i, (man, _) in enumerate(parts):
        contributors.extend([contributor_name(man, i)] * int(starts[i + 1] - starts[i]))
    record_id = np.array([r for c in gather("record_id") for r in c.to_pylist()], dtype=object)
    log.info("read %d packages: %d records with consent to linkage", len(paths), n)
    return EncodedRecords(
        contributor=np.array(contributors, dtype=object),
        record_id=record_id,
        filters=filters, present=present, blocking=blocking, blocking_present=bpresent,
        settings=settings, key_fingerprint=first["key_fingerprint"],
    )


def dice(fa: np.ndarray, fb: np.ndarray, a: np.ndarray, b: np.ndarray, bits: int,
         flip: float, wa: np.ndarray | None = None, wb: np.ndarray | None = None) -> np.ndarray:
    """Noise-corrected Dice of filters ``fa[a[i]]`` and ``fb[b[i]]`` (packed uint64 rows).

    Observed: weights ``w'`` and intersection ``I``. Under independent flips with probability
    ``f`` of a clean pair of ``L``-bit filters with weights ``w`` and ``c`` common bits,
    ``E[w'] = w(1-2f) + Lf`` and ``E[I] = c(1-f)² + (w_a+w_b-2c) f(1-f) + (L-w_a-w_b+c) f²
    = c(1-2f)² + (w_a+w_b) f(1-f) + (L-w_a-w_b) f²``. Solving for ``w`` and ``c`` gives the
    estimate ``2c / (w_a + w_b)``, clipped to [0, 1]. With ``f = 0`` this is the plain Dice.
    ``wa``/``wb`` are the observed weights of all rows (computed when not given)."""
    out = np.empty(len(a), dtype=np.float64)
    if wa is None:
        wa = np.bitwise_count(fa).sum(axis=1, dtype=np.int32)
    if wb is None:
        wb = np.bitwise_count(fb).sum(axis=1, dtype=np.int32)
    for s in range(0, len(a), _CHUNK):
        ia, ib = a[s:s + _CHUNK], b[s:s + _CHUNK]
        inter = np.bitwise_count(fa[ia] & fb[ib]).sum(axis=1, dtype=np.int32).astype(np.float64)
        out[s:s + _CHUNK] = _corrected(inter, wa[ia], wb[ib], bits, flip)
    return out


def _corrected(inter: np.ndarray, wa: np.ndarray, wb: np.ndarray, bits: int, flip: float
               ) -> np.ndarray:
    """Noise-corrected Dice from intersections and observed weights (see :func:`dice`);
    ``wa``/``wb`` broadcast against ``inter``."""
    q = 1.0 - 2.0 * flip
    xa = (wa - bits * flip) / q
    xb = (wb - bits * flip) / q
    c = (inter - flip * (1 - flip) * (xa + xb) - flip * flip * (bits - xa - xb)) / (q * q)
    return np.clip(2.0 * c / np.maximum(xa + xb, 1e-9), 0.0, 1.0)


def _bits_at(mat: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """float32 (n, len(positions)) matrix of the bits at ``positions`` of packed uint64 rows."""
    shifts = (positions % 64).astype(np.uint64)
    return ((mat[:, positions // 64] >> shifts) & np.uint64(1)).astype(np.float32)


def _at_least(inter: np.ndarray, wa: np.ndarray, wb: np.ndarray, bits: int, flip: float,
              t: float) -> np.ndarray:
    """Whether the noise-corrected Dice (:func:`_corrected`) of intersections ``inter`` with
    observed weights ``wa`` (column) and ``wb`` (row) is ≥ ``t``, without computing it:
    ``2c ≥ t(x_a+x_b)`` is linear in the intersection, so it is one comparison with a
    threshold ``A(x_a+x_b) + f²L`` (``A = t(1-2f)²/2 + f(1-f) - f²``)."""
    q = 1.0 - 2.0 * flip
    a = t * q * q / 2.0 + flip * (1.0 - flip) - flip * flip
    xa = (np.asarray(wa, dtype=np.float32) - bits * flip) / q
    xb = (np.asarray(wb, dtype=np.float32) - bits * flip) / q
    return inter >= (a * xa)[:, None] + (a * xb + flip * flip * bits)[None, :]


def name_frequencies(er: EncodedRecords, toward: dict[str, float], *, sample: int = 1000,
                     seed: int = 0, positions: int = 256, chunk: int = 8192,
                     rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Estimated frequency of each record's name among records of its nationality, for the
    term-frequency adjustment — from the encodings alone, for each field of ``toward`` (e.g.
    ``given_name`` and ``family_name``, each mapped to its ``u`` of the exact level): the share
    of a random reference sample of ``sample`` records whose filter has corrected Dice ≥ 0.92
    with the record's, among the sampled records whose nationality filter agrees (all of them
    when the nationality is missing), *the record itself left out*: ``(hits + ½) /
    (compatriots + 1)``. Where the sample is the whole input (up to ``sample`` records) the
    counts are exact, as in clear, and are shrunk toward the field's ``u`` as clear's are
    (:func:`safelight.link.model.tf_from_counts`): ``(hits + TF_PSEUDO_RECORDS · u) /
    (compatriots + TF_PSEUDO_RECORDS)`` — a record counted itself there, and a register of a
    few people made any name look common (4 × 4 trials of ``bench/linkage/small.py``). Unlike
    clear, the pair's other record stays counted (a frequency here is the record's, not the
    pair's; :func:`safelight.link.pprl.name_tf` says what leaving it out cost). From a
    sample, no hit among a few hundred compatriots does not make a name rarer than one in a few
    hundred, so the ½ stays (shrinking toward ``u`` there too raised the false links between
    registers that share nobody, 10,000 a side, three seeds: 69, 40, 58 → 91, 47, 63). To keep
    this linear and cheap,
    name filters are compared on
    ``positions`` bit positions drawn at random (the Dice estimate of a random subset of bits
    is unbiased); intersections are one float32 matrix product per chunk, compared with the
    threshold's linear form (:func:`_at_least`). With ``rows``, only those records' frequencies
    are estimated (NaN elsewhere): the term-frequency adjustment of a pair reads its first
    record's."""
    fields = tuple(toward)
    n = len(er)
    rng = np.random.default_rng([seed, 0x7F])
    ref = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    # each record's place in the reference sample (-1: not in it), to leave it out
    place = np.full(n, -1, dtype=np.int64)
    place[ref] = np.arange(len(ref))
    exact = len(ref) == n  # the sample is every record: exact counts, shrunk as clear's are
    pseudo = TF_PSEUDO_RECORDS if exact else 1.0
    flip = er.settings.flip_probability
    bits = {s.name: s.bits for s in er.settings.fields}
    subset = {f: np.sort(rng.choice(bits[f], size=min(positions, bits[f]), replace=False))
              for f in fields}
    subset["nationality"] = np.arange(bits["nationality"])

    def sampled(f: str, rows: np.ndarray) -> np.ndarray:
        return _bits_at(er.filters[f][rows], subset[f])

    nat_ref = sampled("nationality", ref)
    nat_ok_ref = er.present["nationality"][ref]
    out = {f: np.full(n, np.nan) for f in fields}
    todo = np.arange(n) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    refs = {}
    for f in fields:
        r = sampled(f, ref)
        refs[f] = (r.T.copy(), r.sum(axis=1), er.present[f][ref])
    nat_ref_t, nat_w_ref = nat_ref.T.copy(), er.weights["nationality"][ref]
    for s in range(0, len(todo), chunk):
        rows = todo[s:s + chunk]
        same = _at_least(sampled("nationality", rows) @ nat_ref_t,
                         er.weights["nationality"][rows], nat_w_ref, bits["nationality"], flip,
                         _THRESHOLDS["nationality"][0])
        same &= nat_ok_ref[None, :]
        same |= ~er.present["nationality"][rows][:, None]
        own = np.flatnonzero(place[rows] >= 0)
        same[own, place[rows[own]]] = False  # the record itself
        denominator = same.sum(axis=1) + pseudo
        for f in fields:
            r_bits_t, r_w, r_ok = refs[f]
            x = sampled(f, rows)
            hit = _at_least(x @ r_bits_t, x.sum(axis=1), r_w, len(subset[f]), flip,
                            _GIVEN_THRESHOLDS[0])
            hit &= same
            hit &= r_ok[None, :]
            out[f][rows] = (hit.sum(axis=1) + (pseudo * toward[f] if exact else 0.5)) / denominator
    return out


def _levels(sim: np.ndarray, thresholds: tuple[float, ...], missing: np.ndarray) -> np.ndarray:
    out = np.full(len(sim), len(thresholds) + 1, dtype=np.int8)
    for lvl in range(len(thresholds), 0, -1):
        out[sim >= thresholds[lvl - 1]] = lvl
    out[missing] = 0
    return out


def _birth_date_levels(sim: np.ndarray, missing: np.ndarray, full: np.ndarray
                       ) -> np.ndarray:
    """Levels of :data:`ENCODED_FIELDS` ``birth_date`` from the noise-corrected Dice ``sim``:
    the Dice levels, with the top one split by whether both dates are full (``full``: both
    records hold :data:`FULL_DATE_KEY`). Two equal partial dates — a year alone, a year and
    month, or a 1 January placeholder — are no full date in common, and far likelier between
    two people (1M × 1M generated problem: of the candidate pairs at the top level, 0.57% of
    those on a partial date are true against 2.5% on a full one); one level for both gave a
    shared full date too little weight and a shared year too much."""
    out = _levels(sim, _THRESHOLDS["birth_date"], missing)
    out[out > 1] += 1
    out[(out == 1) & ~full] = 2
    return out


def _address_levels(sim: dict[str, np.ndarray], present: dict[str, np.ndarray]) -> np.ndarray:
    """Levels of :data:`ENCODED_FIELDS` ``address`` from its parts' noise-corrected Dice
    (``sim``) and whether each part is on both sides (``present``): same_address (all three at
    ≥ 0.92) / two_parts_same / same_postcode / same_street / same_number_similar (house number
    the same, street line or postcode at its lower threshold) / similar / different; missing
    when no part is on both sides. The clear comparison's levels, with Dice for Jaro–Winkler."""
    num, line, post = ((sim[f] >= _THRESHOLDS[f][0]) & present[f] for f in ADDRESS_PARTS)
    similar = address_open(num, line, post) & (
        ((sim["address_line"] >= _THRESHOLDS["address_line"][1]) & present["address_line"])
        | ((sim["postcode"] >= _THRESHOLDS["postcode"][1]) & present["postcode"]))
    return address_select(num, line, post, similar,
                          ~(present["street_number"] | present["address_line"]
                            | present["postcode"]))


def _popcount_and(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Set bits of ``x & y`` per row, as float64."""
    return np.bitwise_count(x & y).sum(axis=1, dtype=np.int32).astype(np.float64)


def _intersections(er: EncodedRecords, a: np.ndarray, b: np.ndarray
                   ) -> dict[tuple[str, str], np.ndarray]:
    """Common set bits (float64) of the filters of ``a[i]`` and ``b[i]`` for every term the
    comparison reads: each field with itself, and the two names crosswise. Compiled where
    numba is (:func:`safelight.link.kernels.and_counts`: the rows read in place), else the
    rows gathered and counted in NumPy — the same counts."""
    fields = [f for f in (*ENCODED_FIELDS, *ADDRESS_PARTS) if f in er.filters]
    terms = [("given_name", "family_name"), ("family_name", "given_name"),
             ("given_group", "given_group"), *((f, f) for f in fields)]
    if kernels.and_counts is not None:
        counts = kernels.and_counts(tuple(er.filters[x] for x, _ in terms),
                                    tuple(er.filters[y] for _, y in terms), a, b)
        return {t: counts[:, j].astype(np.float64) for j, t in enumerate(terms)}
    rows_a = {f: er.filters[f][a] for f in {x for x, _ in terms}}
    rows_b = {f: er.filters[f][b] for f in {y for _, y in terms}}
    return {(x, y): _popcount_and(rows_a[x], rows_b[y]) for x, y in terms}


def _compare_chunk(er: EncodedRecords, a: np.ndarray, b: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Levels (len(a), fields) of one chunk of pairs (the name terms serve the direct and
    the crosswise similarities)."""
    pr, w, flip = er.present, er.weights, er.settings.flip_probability
    bits = {sp.name: sp.bits for sp in er.settings.fields}
    inter = _intersections(er, a, b)

    def corrected(fa: str, fb: str) -> np.ndarray:
        return _corrected(inter[fa, fb], w[fa][a], w[fb][b], bits[fa], flip)

    gg = corrected("given_name", "given_name")
    ff = corrected("family_name", "family_name")
    gf = corrected("given_name", "family_name")
    fg = corrected("family_name", "given_name")
    both = pr["given_name"][a] & pr["family_name"][a] & pr["given_name"][b] & pr[
        "family_name"][b]
    swapped = both & (gf + fg > gg + ff + _SWAP_MARGIN)
    g_sim = np.where(swapped, gf, gg)
    f_sim = np.where(swapped, fg, ff)
    g_missing = ~pr["given_name"][a] | ~np.where(swapped, pr["family_name"][b],
                                                 pr["given_name"][b])
    f_missing = ~pr["family_name"][a] | ~np.where(swapped, pr["given_name"][b],
                                                  pr["family_name"][b])
    group = corrected("given_group", "given_group")
    group = (group >= _GROUP_THRESHOLD) & pr["given_group"][a] & pr["given_group"][b] & ~swapped
    given = np.full(len(a), 5, dtype=np.int8)
    given[g_sim >= _GIVEN_THRESHOLDS[2]] = 4
    given[g_sim >= _GIVEN_THRESHOLDS[1]] = 3
    given[group] = 2
    given[g_sim >= _GIVEN_THRESHOLDS[0]] = 1
    given[g_missing] = 0
    out = np.empty((len(a), len(ENCODED_FIELDS)), dtype=np.int8)
    out[:, 0] = given
    out[:, 1] = _levels(f_sim, _THRESHOLDS["family_name"], f_missing)
    for j, name in enumerate(list(ENCODED_FIELDS)[2:-1], start=2):
        if name == "address":
            parts = [f for f in ADDRESS_PARTS if f in er.filters]
            out[:, j] = _address_levels(
                {f: corrected(f, f) if f in parts else np.zeros(len(a)) for f in ADDRESS_PARTS},
                {f: pr[f][a] & pr[f][b] if f in parts else np.zeros(len(a), dtype=bool)
                 for f in ADDRESS_PARTS})
            continue
        missing = ~pr[name][a] | ~pr[name][b]
        if name == "birth_date":
            full = er.blocking_present.get(FULL_DATE_KEY)
            out[:, j] = _birth_date_levels(
                corrected(name, name), missing,
                full[a] & full[b] if full is not None else np.ones(len(a), dtype=bool))
            continue
        out[:, j] = _levels(corrected(name, name), _THRESHOLDS[name], missing)
    out[:, -1] = np.where(er.contributor_code[a] == er.contributor_code[b], 1, 2)
    return out, swapped


def compare_encoded(er: EncodedRecords, a: np.ndarray, b: np.ndarray) -> Comparisons:
    """Comparison levels of the pairs ``(a[i], b[i])`` over :data:`ENCODED_FIELDS`, computed
    in chunks of pairs (bounded memory) on up to two threads (NumPy's kernels release the
    GIL; each chunk writes its own rows)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    levels = np.empty((len(a), len(ENCODED_FIELDS)), dtype=np.int8)
    swapped = np.zeros(len(a), dtype=bool)

    def run(s: int) -> None:
        levels[s:s + _CHUNK], swapped[s:s + _CHUNK] = _compare_chunk(
            er, a[s:s + _CHUNK], b[s:s + _CHUNK])

    starts = range(0, len(a), _CHUNK)
    if len(starts) < 2:
        for s in starts:
            run(s)
    else:
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(starts))) as pool:
            list(pool.map(run, starts))
    return Comparisons(a, b, levels, swapped)
