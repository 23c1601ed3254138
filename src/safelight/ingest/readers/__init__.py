"""Readers: turn a contributor's file into a stream of string-typed Arrow batches.

Contract
--------
* Every reader yields :class:`Chunk` objects. A chunk holds a table whose columns are the file's
  header names (all ``string``; an empty cell is ``""``, a missing key/cell is null) plus the
  column ``ROW`` — the row's position as a person would look it up: the line number in a
  CSV/JSONL file (header = line 1), the spreadsheet row number in an XLSX sheet, the 1-based
  record number in a JSON array or Parquet file.
* Rows that cannot be turned into a record (wrong number of fields, undecodable bytes, an
  unterminated quote, a JSON element that is not an object) are yielded as :class:`BadRow` in the
  chunk's ``bad`` list, with their raw text. Nothing is dropped silently: every record read is
  either in a table or in ``bad``.
* File-level faults (empty file, no header, binary content, a JSON document that is not a list of
  records, an unknown sheet) raise :class:`~safelight.errors.InputFileError` before any chunk.
* Memory is bounded by the chunk size, never by the file size.
"""

from __future__ import annotations

from pathlib import Path

from safelight.errors import InputFileError
from safelight.ingest.readers.base import (
    ROW,
    BadRow,
    Chunk,
    Reader,
    ReadOptions,
    cell_text,
    clean_header,
    duplicated_headers,
)
from safelight.ingest.readers.delimited import CsvReader
from safelight.ingest.readers.parquet import ParquetReader
from safelight.ingest.readers.records import JsonLinesReader, JsonReader
from safelight.ingest.readers.xlsx import XlsxReader

__all__ = ["ROW", "BadRow", "Chunk", "CsvReader", "JsonLinesReader", "JsonReader", "ParquetReader",
           "ReadOptions", "Reader", "XlsxReader", "cell_text", "clean_header", "detect_format",
           "duplicated_headers", "open_reader"]


#: files that are surely no table, by their first bytes and by their name
_NOT_TABLES = ((b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"),
               (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"))
_NOT_TABLE_SUFFIXES = {".pdf": "a PDF document", ".doc": "a Word document",
                       ".docx": "a Word document", ".odt": "a text document",
                       ".rtf": "a text document", ".png": "a PNG image",
                       ".jpg": "a JPEG image", ".jpeg": "a JPEG image", ".zip": "a ZIP archive",
                       ".7z": "an archive", ".rar": "an archive"}


def detect_format(path: Path) -> str:
    """Guess the file format from its first bytes, falling back to the extension.

    Content wins over the name: a ZIP (XLSX) or Parquet file named ``.csv`` is read as what it
    is; a file whose bytes look like neither text nor a known container is refused.
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
    kind = next((k for magic, k in _NOT_TABLES if head.startswith(magic)), None) \
        or _NOT_TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is not None:  # read as CSV it failed on "missing columns", which misled
        raise InputFileError(path, f"is {kind}, not a table",
                             "export the data as CSV, XLSX, JSON or Parquet")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    suffix = path.suffix.lower()
    if suffix in (".json",):
        return "json"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".xlsx", ".xlsm"):
        raise InputFileError(path, "has an .xlsx name but is not an XLSX workbook (no ZIP header)",
                             "export it again from the spreadsheet program")
    if suffix == ".parquet":
        raise InputFileError(path, "has a .parquet name but is not a Parquet file")
    if suffix == ".xls":
        raise InputFileError(path, "is a legacy .xls workbook", "save it as .xlsx or CSV")
    return "csv"


def open_reader(path: str | Path, options: ReadOptions | None = None) -> Reader:
    """The reader for ``path`` (format detected from content, then extension)."""
    path = Path(path)
    options = options or ReadOptions()
    if not path.exists():
        raise InputFileError(path, "file not found")
    if path.is_dir():
        raise InputFileError(path, "is a directory, not a file")
    if path.stat().st_size == 0:
        raise InputFileError(path, "the file is empty", "export the data again")
    fmt = detect_format(path)
    cls = {"csv": CsvReader, "xlsx": XlsxReader, "json": JsonReader, "jsonl": JsonLinesReader,
           "parquet": ParquetReader}[fmt]
    return cls(path, options)
