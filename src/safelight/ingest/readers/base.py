"""Shared shapes of the readers: chunks, bad rows, options, header cleaning, cell text."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from safelight.errors import InputFileError

log = logging.getLogger("safelight.ingest")

ROW = "__row__"
DEFAULT_CHUNK_ROWS = 50_000
# A quoted CSV value may legitimately span lines (notes); one that runs on for this many lines is
# an unterminated quote, and its first line is quarantined so the rest of the file survives.
MAX_LINES_PER_RECORD = 200
MAX_FIELD_CHARS = 1_000_000
SNIFF_BYTES = 256 * 1024
DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class BadRow:
    """A row that could not become a record; ``rule`` names the fault, ``raw`` keeps its text."""

    row: int
    rule: str
    message: str
    raw: str


@dataclass
class Chunk:
    table: pa.Table
    bad: list[BadRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.bad)


@dataclass(frozen=True)
class ReadOptions:
    """Reader settings from a profile's ``read:`` block (``None`` = detect)."""

    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    header_row: int = 1
    records_path: str | None = None
    #: a workbook's header may be looked for below ``header_row`` (not given by the profile)
    find_header: bool = True
    chunk_rows: int = DEFAULT_CHUNK_ROWS


class Reader:
    """Base class: ``columns`` is the cleaned header, ``chunks()`` streams the rows."""

    format_name = "?"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.columns: list[str] = []
        self.notes: list[str] = []  # non-fatal observations (renamed headers, detected encoding)
        self._raw: BinaryIO | None = None  # the handle rows are read through, if the reader has one

    def bytes_read(self) -> int:
        """How far into the file the reader is (for progress bars): the position of the handle
        rows are read through (the file's size once that handle is closed: it was read to the
        end), 0 for a reader without one."""
        try:
            if self._raw is None:
                return 0
            return self.path.stat().st_size if self._raw.closed else self._raw.tell()
        except (OSError, ValueError):
            return 0

    def chunks(self) -> Iterator[Chunk]:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"format": self.format_name, "columns": self.columns, "notes": self.notes}


# --------------------------------------------------------------------------- helpers


def clean_header(names: list[str | None], path: Path) -> tuple[list[str], list[str]]:
    """Trim header names, name blank ones ``column_N`` and suffix duplicates ``__2``.

    Returns the names and notes describing every change, so a profile can still be written
    against the file and the user learns what happened.
    """
    notes: list[str] = []
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(names, start=1):
        name = (raw or "").replace("\ufeff", "").strip()
        if not name:
            name = f"column_{i}"
            notes.append(f"header of column {i} is empty; named it {name!r}")
        if name in seen:
            seen[name] += 1
            new = f"{name}__{seen[name]}"
            notes.append(f"header {name!r} appears more than once; column {i} renamed {new!r}")
            name = new
        else:
            seen[name] = 1
        out.append(name)
    if not any(n for n in out):
        raise InputFileError(path, "the header row is empty", "check read.header_row")
    return out, notes


def duplicated_headers(names: list[str]) -> set[str]:
    """Original names that occurred more than once (their copies carry a ``__N`` suffix)."""
    return {n.split("__")[0] for n in names if "__" in n and n.rsplit("__", 1)[1].isdigit()}


def _to_table(columns: list[str], rows: list[list[str | None]], row_numbers: list[int]) -> pa.Table:
    arrays = [pa.array(col, type=pa.string()) for col in zip(*rows, strict=True)] if rows else [
        pa.array([], type=pa.string()) for _ in columns
    ]
    arrays.append(pa.array(row_numbers, type=pa.int64()))
    return pa.Table.from_arrays(arrays, names=[*columns, ROW])


def _has_surrogate(value: str | None) -> bool:
    if not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _emit(columns: list[str], rows: list[list[str | None]], numbers: list[int],
          bad: list[BadRow], raw_of) -> Chunk:
    """Build a chunk; rows holding undecodable bytes (surrogate escapes) move to ``bad``."""
    try:
        return Chunk(_to_table(columns, rows, numbers), bad)
    except (UnicodeEncodeError, pa.ArrowInvalid):
        keep_rows, keep_numbers = [], []
        for row, number in zip(rows, numbers, strict=True):
            broken = [columns[i] for i, v in enumerate(row) if _has_surrogate(v)]
            if broken:
                bad.append(BadRow(number, "invalid_encoding",
                                  f"bytes that are not valid text in the file's encoding in column(s) {', '.join(broken)}",
                                  raw_of(row)))
            else:
                keep_rows.append(row)
                keep_numbers.append(number)
        return Chunk(_to_table(columns, keep_rows, keep_numbers), bad)


def _printable(row: list[str | None]) -> str:
    text = json.dumps(row, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def cell_text(value: Any) -> str | None:
    """A spreadsheet or Parquet cell as text, the way a person reads it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(t for t in (cell_text(v) for v in value) if t)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def guard_decoder(path: Path, what: str, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """Pass ``chunks`` through; a third-party decoder failing on damaged input (bad
    compression, broken XML or pages — it may raise anything) becomes one
    :class:`~safelight.errors.InputFileError`, so the ingest writes nothing and says why."""
    rows = 0
    try:
        for chunk in chunks:
            rows += chunk.rows_read
            yield chunk
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a damaged file
        raise InputFileError(path, f"the {what} is damaged and cannot be read after {rows} rows "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
                             "export the file again") from None
