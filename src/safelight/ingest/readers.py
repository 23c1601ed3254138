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

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
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
    chunk_rows: int = DEFAULT_CHUNK_ROWS


class Reader:
    """Base class: ``columns`` is the cleaned header, ``chunks()`` streams the rows."""

    format_name = "?"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.columns: list[str] = []
        self.notes: list[str] = []  # non-fatal observations (renamed headers, detected encoding)

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


def detect_format(path: Path) -> str:
    """Guess the file format from its first bytes, falling back to the extension.

    Content wins over the name: a ZIP (XLSX) or Parquet file named ``.csv`` is read as what it
    is; a file whose bytes look like neither text nor a known container is refused.
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
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


# --------------------------------------------------------------------------- CSV


def _sniff_encoding(path: Path, head: bytes) -> tuple[str, int, list[str]]:
    """Return (encoding, BOM length, notes). Samples the head, middle and tail of the file."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return enc, len(bom), [f"byte-order mark: {enc}"]
    size = path.stat().st_size
    samples = [head]
    if size > 3 * SNIFF_BYTES:
        with open(path, "rb") as fh:
            for pos in (size // 2, size - SNIFF_BYTES):
                fh.seek(pos)
                samples.append(fh.read(SNIFF_BYTES))
    sample = b"\n".join(samples)
    if b"\x00" in head[:4096]:
        # UTF-16 without BOM shows as every other byte NUL; anything else is binary.
        if head[1:4096:2].count(0) > len(head[1:4096:2]) * 0.4:
            return "utf-16-le", 0, ["encoding: utf-16-le (no BOM)"]
        if head[0:4096:2].count(0) > len(head[0:4096:2]) * 0.4:
            return "utf-16-be", 0, ["encoding: utf-16-be (no BOM)"]
        raise InputFileError(path, "looks like a binary file, not text (it contains NUL bytes)",
                             "export the data as CSV, XLSX, JSON or Parquet")
    if _is_utf8(samples, whole_file=size <= SNIFF_BYTES):
        return "utf-8", 0, []
    if _mostly_utf8(sample):
        return "utf-8", 0, ["mostly UTF-8 with some invalid bytes: rows holding them are quarantined"]
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise InputFileError(path, "looks like a binary file, not text",
                             "export the data as CSV, XLSX, JSON or Parquet")
    enc = best.encoding
    return enc, 0, [f"encoding detected: {enc}"]


def _mostly_utf8(sample: bytes) -> bool:
    """Valid multi-byte UTF-8 sequences outnumber invalid bytes ten to one (a mixed file)."""
    text = sample.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid_multibyte = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    return valid_multibyte >= 10 * max(invalid, 1)


def _is_utf8(samples: list[bytes], *, whole_file: bool) -> bool:
    """True when every sample decodes as UTF-8, ignoring characters cut at sample edges."""
    for i, s in enumerate(samples):
        if i > 0:  # a sample from the middle may start inside a character
            s = s.lstrip(bytes(range(0x80, 0xC0)))
        if not (whole_file and i == 0):
            try:
                s.decode("utf-8")
                continue
            except UnicodeDecodeError as exc:
                if exc.start < len(s) - 4:
                    return False
                s = s[:exc.start]
        try:
            s.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter giving the most consistent field count (> 1) over the first lines."""
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        counts = []
        try:
            for row in csv.reader(lines, delimiter=delim):
                if row:
                    counts.append(len(row))
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        mode = max(set(counts), key=counts.count)
        consistency = counts.count(mode) / len(counts)
        score = consistency * 10 + min(mode, 50) / 50
        if mode > 1 and score > best_score:
            best, best_score = delim, score
    return best


TEXT_BLOCK_CHARS = 4 * 1024 * 1024


def _text_blocks(text: io.TextIOBase) -> Iterator[str]:
    """Decoded text in blocks of whole lines (a block ends right after a line break)."""
    carry = ""
    while True:
        block = text.read(TEXT_BLOCK_CHARS)
        if not block:
            if carry:
                yield carry
            return
        block = carry + block
        cut = max(block.rfind("\n"), block.rfind("\r"))
        if cut < 0 or (block[cut] == "\r" and cut == len(block) - 1):
            carry = block  # no complete line yet (or a \r that may start \r\n)
            continue
        carry = block[cut + 1:]
        yield block[:cut + 1]


class _Block:
    """A block of whole lines: raw UTF-8 bytes when available (fast path), text on demand."""

    __slots__ = ("data", "_text")

    def __init__(self, data: bytes | None = None, text: str | None = None) -> None:
        self.data = data
        self._text = text

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode("utf-8", errors="surrogateescape")  # type: ignore[union-attr]
        return self._text

    def line_count(self) -> int:
        """Line breaks in the block (\n, \r\n or \r), as the csv module counts lines."""
        if self.data is not None:
            d = self.data
            return d.count(b"\n") + d.count(b"\r") - d.count(b"\r\n")
        return _count_lines(self.text)

    def ends_with_break(self) -> bool:
        return self.data.endswith((b"\n", b"\r")) if self.data is not None else self.text.endswith(("\n", "\r"))


def _utf8_blocks(raw: io.BufferedReader) -> Iterator[_Block]:
    """UTF-8 bytes in blocks of whole lines (cut after a line break never splits a character)."""
    carry = b""
    while True:
        chunk = raw.read(TEXT_BLOCK_CHARS)
        if not chunk:
            if carry:
                yield _Block(data=carry)
            return
        chunk = carry + chunk
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if cut < 0 or (chunk[cut:cut + 1] == b"\r" and cut == len(chunk) - 1):
            carry = chunk
            continue
        carry = chunk[cut + 1:]
        yield _Block(data=chunk[:cut + 1])


def _split_lines(block: str) -> list[str]:
    """Lines as the csv module sees them (\n, \r\n or \r ends a line; endings kept)."""
    return list(io.StringIO(block, newline=""))


class CsvReader(Reader):
    format_name = "csv"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if options.encoding:
            self.encoding, self.bom = options.encoding, 0
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise InputFileError(path, f"unknown encoding {self.encoding!r} in the profile",
                                     "use a Python codec name such as utf-8, cp1251, latin-1") from None
            if self.encoding.replace("_", "-").lower() in ("utf-8", "utf8") and head.startswith(codecs.BOM_UTF8):
                self.bom = 3
        else:
            self.encoding, self.bom, notes = _sniff_encoding(path, head)
            self.notes += notes
        text_head = head[self.bom:].decode(self.encoding, errors="replace")
        first_lines = text_head.splitlines()[options.header_row - 1: options.header_row + 49]
        if not any(line.strip() for line in first_lines):
            raise InputFileError(path, "has no header row (the file is blank)",
                                 "export the data again with a header row")
        if options.delimiter:
            self.delimiter = "\t" if options.delimiter in ("\\t", "tab") else options.delimiter
        else:
            self.delimiter = _sniff_delimiter(first_lines)
            self.notes.append(f"delimiter detected: {self.delimiter!r}")
        self._header_raw: list[str] | None = None
        self._read_header()

    def bytes_read(self) -> int:
        """How far into the file the reader is (for progress bars)."""
        raw = getattr(self, "_raw", None)
        try:
            return raw.tell() if raw is not None and not raw.closed else 0
        except (OSError, ValueError):
            return 0

    def _open_text(self) -> io.TextIOWrapper:
        fh = open(self.path, "rb")  # noqa: SIM115 - closed by the wrapper
        fh.seek(self.bom)
        self._raw = fh
        return io.TextIOWrapper(fh, encoding=self.encoding, errors="surrogateescape", newline="")

    def _read_header(self) -> None:
        with self._open_text() as text:
            head = text.read(SNIFF_BYTES * 4)
        lines = _split_lines(head)
        self._header_lines = 0
        header: list[str] | None = None
        try:
            reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            for row in reader:
                if reader.line_num >= self.options.header_row and row:
                    header = row
                    self._header_lines = reader.line_num
                    break
        except csv.Error as exc:
            raise InputFileError(self.path, f"the header row cannot be parsed ({exc})") from None
        if header is None:
            raise InputFileError(self.path, "has no header row")
        if any(_has_surrogate(h) for h in header):
            raise InputFileError(self.path, f"the header is not valid {self.encoding} text",
                                 "set read.encoding in the profile (e.g. cp1251, latin-1)")
        self._header_raw = header
        self.columns, notes = clean_header(header, self.path)
        self.notes += notes

    def _fast_block(self, block: _Block, skip: int, line_base: int, last_block: bool) -> pa.Table | None:
        """Parse a clean block with Arrow's multi-threaded CSV parser, or return None.

        Clean means: valid text, one record per line (no line breaks inside quotes, no blank
        lines) and every record with the header's number of fields — then the line number of
        record *i* is known without looking at it. Anything else falls back to the careful path.
        """
        import pyarrow.csv as pacsv

        data = block.data
        if data is not None:
            try:  # Arrow's UTF-8 check is vectorised; an invalid block takes the careful path
                pa.array([data], type=pa.large_binary()).cast(pa.large_string())
            except pa.ArrowInvalid:
                return None
        else:
            try:
                data = block.text.encode("utf-8")
            except UnicodeEncodeError:
                return None  # undecodable bytes: the careful path quarantines those rows
        n_lines = block.line_count() + (0 if block.ends_with_break() else 1)
        expected = n_lines - skip
        if expected <= 0:
            return None
        faults: list[Any] = []

        def on_invalid(row: Any) -> str:
            faults.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=self.columns, skip_rows=skip,
                                               block_size=1 << 22),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=False,
                                                 ignore_empty_lines=True, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in self.columns},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowException):
            return None
        if faults or table.num_rows != expected or table.num_columns != len(self.columns):
            return None
        first = line_base + skip + 1
        return table.append_column(ROW, pa.array(np.arange(first, first + expected, dtype=np.int64)))

    def chunks(self) -> Iterator[Chunk]:
        """Parse decoded blocks: clean blocks with Arrow's parser (:meth:`_fast_block`), others
        with the C csv module, where Python only touches faulty rows.

        A record whose quote is never closed, or that spans several lines with the wrong number
        of fields, costs only its first line: the lines after it are parsed again on their own.
        """
        ncols = len(self.columns)
        csv.field_size_limit(MAX_FIELD_CHARS)
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        bad: list[BadRow] = []
        line_base = 0  # lines before the current block
        pending: list[str] = []  # lines of a record cut by the end of a block
        skip = self._header_lines
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        with self._open_text() as text:
            if utf8:  # raw bytes: Arrow validates UTF-8 itself; only faulty blocks are decoded
                blocks: Iterator[_Block] = _utf8_blocks(self._raw)
            else:
                blocks = (_Block(text=t) for t in _text_blocks(text))
            block = next(blocks, None)
            while block is not None:
                nxt = next(blocks, None)
                last_block = nxt is None
                if not pending:
                    fast = self._fast_block(block, skip, line_base, last_block)
                    if fast is not None:
                        if rows or bad:
                            yield _emit(self.columns, rows, numbers, bad, _printable)
                            rows, numbers, bad = [], [], []
                        for start in range(0, fast.num_rows, self.options.chunk_rows):
                            yield Chunk(fast.slice(start, self.options.chunk_rows))
                        consumed = block.line_count()
                        line_base += consumed
                        skip = max(0, skip - consumed)
                        block = nxt
                        continue
                lines: list[str] | None = None
                if pending:
                    lines = pending + _split_lines(block.text)
                    source: Any = lines
                    pending = []
                else:
                    source = io.StringIO(block.text, newline="")
                offset = 0  # index of the first line the current csv reader sees
                reader = csv.reader(source, delimiter=self.delimiter, strict=True)
                while True:
                    first = offset + reader.line_num  # index in this block of the record's first line
                    try:
                        row = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        if lines is None:
                            lines = _split_lines(block.text)
                        msg = str(exc)
                        if "end of data" in msg and not last_block and len(lines) - first <= MAX_LINES_PER_RECORD:
                            pending = lines[first:]  # the record goes on in the next block
                            break
                        if "end of data" in msg or "field larger" in msg:
                            rule, text_ = "unterminated_quote", (
                                "a quoted value opened on this line is never closed; the line was set "
                                "aside and reading resumed on the next line")
                        else:
                            rule, text_ = "malformed_csv", (f"cannot parse the row ({msg}); a quote inside "
                                                             'a value must be doubled ("")')
                        if first >= len(lines):
                            break
                        bad.append(BadRow(line_base + first + 1, rule, text_, lines[first].rstrip("\r\n")))
                        offset = first + 1
                        reader = csv.reader(itertools.islice(lines, offset, None), delimiter=self.delimiter,
                                            strict=True)
                        continue
                    if skip:  # header (and banner) lines of the first block
                        if offset + reader.line_num <= skip:
                            continue
                    span = offset + reader.line_num - first
                    if not row or (len(row) == 1 and row[0] == "" and ncols > 1):
                        continue  # blank line: not a record
                    if len(row) != ncols:
                        if lines is None:
                            lines = _split_lines(block.text)
                        number = line_base + first + 1
                        if span > 1:
                            # a quote opened on the first line swallowed the next lines: set the
                            # first line aside and read the others again as records of their own
                            bad.append(BadRow(number, "unterminated_quote",
                                              f"a quoted value opened on this line is not closed (expected "
                                              f"{ncols} fields, the quote swallowed {span - 1} more line(s), "
                                              "which were read again on their own)",
                                              lines[first].rstrip("\r\n")))
                            offset = first + 1
                            reader = csv.reader(itertools.islice(lines, offset, None),
                                                delimiter=self.delimiter, strict=True)
                            continue
                        raw = lines[first]
                        truncated = last_block and first == len(lines) - 1 and not raw.endswith(("\n", "\r"))
                        hint = (" — the last line looks truncated" if truncated and len(row) < ncols
                                else " — a value may contain the delimiter without quotes" if len(row) > ncols
                                else "")
                        bad.append(BadRow(number, "wrong_field_count",
                                          f"expected {ncols} fields, found {len(row)}{hint}", raw.rstrip("\r\n")))
                        continue
                    rows.append(row)
                    numbers.append(line_base + first + 1)
                    if len(rows) >= self.options.chunk_rows:
                        yield _emit(self.columns, rows, numbers, bad, _printable)
                        rows, numbers, bad = [], [], []
                consumed = (len(lines) if lines is not None else block.line_count()) - len(pending)
                line_base += consumed
                if skip:
                    skip = max(0, skip - consumed)
                block = nxt
                if pending and block is None:  # cannot happen: the last block never leaves pending
                    break
        if rows or bad:
            yield _emit(self.columns, rows, numbers, bad, _printable)


def _count_lines(block: str) -> int:
    """Number of lines in a block, counted the way csv counts them."""
    return block.count("\n") + block.count("\r") - block.count("\r\n")


# --------------------------------------------------------------------------- XLSX


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


_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_VALUE = re.compile(rb"<v(?:\s[^>]*)?>[^<]+</v>")


def _formula_gaps(path: Path, worksheet_path: str) -> dict[int, list[int]]:
    """Row → column numbers of formula cells that have no stored result, read from the sheet XML.

    A workbook written by a program (not saved by a spreadsheet) keeps formulas without their
    results; openpyxl then reads those cells as empty, which would silently lose values.
    """
    import zipfile

    from openpyxl.utils.cell import column_index_from_string

    gaps: dict[int, list[int]] = {}
    try:
        with zipfile.ZipFile(path) as zf, zf.open(worksheet_path) as fh:
            xml = fh.read()
    except (KeyError, OSError, zipfile.BadZipFile):
        return gaps
    if b"<f>" not in xml and b"<f " not in xml:
        return gaps
    for m in _CELL.finditer(xml):
        body = m.group(3) or b""
        if (b"<f>" in body or b"<f " in body) and not _VALUE.search(body):
            gaps.setdefault(int(m.group(2)), []).append(column_index_from_string(m.group(1).decode()))
    return gaps


class XlsxReader(Reader):
    """XLSX via openpyxl.

    Formulas are read as their cached results; a formula whose result was never computed (the
    file was written by a program, not saved by a spreadsheet) quarantines its row instead of
    being read as empty. Sheets are streamed (openpyxl read-only mode); merged ranges and
    formulas without results are read from the sheet's XML. Merged cells in data rows are filled with the merged range's value and
    noted. With several sheets the profile's ``read.sheet`` wins, otherwise the first sheet whose
    header holds the most of the profile's columns (see :meth:`choose_sheet`).
    """

    format_name = "xlsx"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        # file objects, not paths: openpyxl judges a path by its extension, we by content
        self._handles = [open(path, "rb")]  # noqa: SIM115 - closed in close()
        try:
            self._wb = openpyxl.load_workbook(self._handles[0], read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise InputFileError(path, f"is not a readable XLSX workbook ({exc})") from None
        except Exception as exc:  # zipfile.BadZipFile and friends
            raise InputFileError(path, f"is not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
        self.sheet_names = list(self._wb.sheetnames)
        self.sheet: str | None = None
        self.choose_sheet(None)

    def _header_of(self, name: str) -> list[str | None]:
        ws = self._wb[name]
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if i == self.options.header_row:
                return [cell_text(v) for v in row]
        return []

    def choose_sheet(self, wanted_columns: set[str] | None) -> None:
        """Select the sheet: ``read.sheet``, else the best header match, else the first non-empty."""
        if self.options.sheet:
            if self.options.sheet not in self.sheet_names:
                raise InputFileError(self.path, f"has no sheet {self.options.sheet!r}",
                                     f"its sheets are: {', '.join(self.sheet_names)}")
            chosen = self.options.sheet
        else:
            scored = []
            for idx, name in enumerate(self.sheet_names):
                header = [h.strip() for h in self._header_of(name) if h]
                if not header:
                    continue
                overlap = len(wanted_columns & set(header)) if wanted_columns else 0
                scored.append((-overlap, idx, name))
            if not scored:
                raise InputFileError(self.path, "every sheet is empty (no header row found)",
                                     "check read.header_row")
            chosen = min(scored)[2]
            if len(self.sheet_names) > 1:
                self.notes = [n for n in self.notes if not n.startswith("sheet ")]
                self.notes.append(f"sheet {chosen!r} chosen of {', '.join(self.sheet_names)}")
        self.sheet = chosen
        header = self._header_of(chosen)
        while header and not (header[-1] or "").strip():
            header.pop()  # trailing empty header cells of a formatted sheet
        self.columns, notes = clean_header(header, self.path)
        self.notes += notes

    def _merged_fill(self) -> dict[int, list[tuple[int, Any]]]:
        """Row number → [(column index, value)] for data cells inside merged ranges.

        Read-only worksheets do not expose merged ranges, so they are read from the sheet's XML;
        the top-left value of each range is then looked up in one pass.
        """
        import zipfile

        from openpyxl.utils.cell import get_column_letter, range_boundaries

        ws = self._wb[self.sheet]
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(ws._worksheet_path) as fh:
                xml = fh.read()
        except (KeyError, OSError, zipfile.BadZipFile, AttributeError):
            return {}
        ranges = [range_boundaries(m.decode()) for m in re.findall(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml)]
        ranges = [r for r in ranges if r[3] > self.options.header_row]  # (min_col, min_row, max_col, max_row)
        if not ranges:
            return {}
        anchors = {(r[1], r[0]) for r in ranges}
        values: dict[tuple[int, int], Any] = {}
        for i, row in enumerate(ws.iter_rows(min_row=min(r[1] for r in ranges),
                                             max_row=max(r[1] for r in ranges), values_only=True)):
            number = min(r[1] for r in ranges) + i
            for col, value in enumerate(row, start=1):
                if (number, col) in anchors:
                    values[(number, col)] = value
        fill: dict[int, list[tuple[int, Any]]] = {}
        for min_col, min_row, max_col, max_row in ranges:
            value = values.get((min_row, min_col))
            self.notes.append(f"merged cells {get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}"
                              f"{max_row} filled with their top-left value")
            for r in range(min_row, max_row + 1):
                for c in range(min_col, max_col + 1):
                    fill.setdefault(r, []).append((c - 1, value))
        return fill

    def chunks(self) -> Iterator[Chunk]:
        ncols = len(self.columns)
        fill = self._merged_fill()
        values_ws = self._wb[self.sheet]
        gaps = _formula_gaps(self.path, values_ws._worksheet_path)
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        bad: list[BadRow] = []
        start = self.options.header_row + 1
        for number, vals in enumerate(values_ws.iter_rows(min_row=start, values_only=True), start=start):
            vals = list(vals[:ncols]) + [None] * max(0, ncols - len(vals))
            for c, v in fill.get(number, ()):
                if c < ncols:
                    vals[c] = v
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
                continue  # empty spreadsheet row: not a record
            text = [cell_text(v) for v in vals]
            missing_results = [self.columns[c - 1] for c in gaps.get(number, ()) if c <= ncols]
            if missing_results:
                bad.append(BadRow(number, "formula_without_value",
                                  f"formula in column(s) {', '.join(missing_results)} has no stored result; "
                                  "open and save the workbook in a spreadsheet program", _printable(text)))
                continue
            extra = [v for v in vals[ncols:] if v is not None]
            if extra:
                bad.append(BadRow(number, "wrong_field_count",
                                  "values beyond the last header column", _printable(text)))
                continue
            rows.append([t if t is not None else "" for t in text])
            numbers.append(number)
            if len(rows) >= self.options.chunk_rows:
                yield _emit(self.columns, rows, numbers, bad, _printable)
                rows, numbers, bad = [], [], []
        if rows or bad:
            yield _emit(self.columns, rows, numbers, bad, _printable)

    def close(self) -> None:
        close = getattr(self._wb, "close", None)
        if close:
            close()
        for fh in self._handles:
            fh.close()

    def __del__(self) -> None:
        for fh in getattr(self, "_handles", ()):
            fh.close()


# --------------------------------------------------------------------------- JSON


def _record_chunk(records: list[tuple[int, Any]], path: Path) -> Chunk:
    """Records (number, parsed JSON value) → chunk; non-objects become bad rows."""
    bad: list[BadRow] = []
    good: list[tuple[int, dict]] = []
    for number, rec in records:
        if isinstance(rec, dict):
            good.append((number, rec))
        else:
            bad.append(BadRow(number, "not_an_object",
                              f"expected an object with named fields, found {type(rec).__name__}",
                              json.dumps(rec, ensure_ascii=False, default=str)[:10_000]))
    keys: dict[str, None] = {}
    for _, rec in good:
        keys.update(dict.fromkeys(rec))
    # names must be valid text even when the bytes were not
    columns = [str(k).strip().encode("utf-8", "backslashreplace").decode("utf-8") for k in keys]
    rows = [[cell_text(rec.get(k)) if k in rec else None for k in keys] for _, rec in good]
    return _emit(columns, rows, [n for n, _ in good], bad, _printable)


class JsonReader(Reader):
    """A JSON document holding a list of records (objects), streamed with ijson.

    ``read.records_path`` names the key holding the list when the document is an object
    (e.g. ``records`` for ``{"records": [...]}``). Columns are the union of the keys seen; a key
    absent from a record is a missing value.
    """

    format_name = "json"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
        if not stripped:
            raise InputFileError(path, "the file is blank")
        if b"\x00" in head[:4096]:
            raise InputFileError(path, "looks like a binary file, not JSON")
        first = stripped[:1]
        self._prefix = "item"
        if options.records_path:
            self._prefix = f"{options.records_path}.item"
            if first != b"{":
                raise InputFileError(path, f"read.records_path is {options.records_path!r} but "
                                     "the document is not an object")
        elif first == b"{":
            parts = stripped.split(b"\n", 2)
            try:
                json.loads(parts[0])
                if len(parts) > 1 and parts[1].lstrip().startswith(b"{"):
                    raise InputFileError(path, "holds one JSON object per line (JSON Lines), not a list",
                                         "name it .jsonl or .ndjson")
            except json.JSONDecodeError:
                pass
            keys = self._top_level_keys()
            raise InputFileError(
                path, f"the document is an object (keys: {', '.join(keys[:10])}), not a list of records",
                "if the records are under one key, set read.records_path to it")
        elif first != b"[":
            raise InputFileError(path, "is not JSON: it must be a list of records like [{...}, {...}]")
        self.columns = self._peek_columns()

    def _top_level_keys(self) -> list[str]:
        import ijson

        keys = []
        try:
            with open(self.path, "rb") as fh:
                for prefix, event, value in ijson.parse(fh):
                    if prefix == "" and event == "map_key":
                        keys.append(value)
        except ijson.JSONError:
            pass
        return keys

    _backend = "yajl2_c"

    def _items(self, skip: int = 0) -> Iterator[Any]:
        import ijson

        try:
            backend = ijson.get_backend(self._backend)
        except ImportError:
            backend = ijson.get_backend("python")
        with open(self.path, "rb") as fh:
            yield from itertools.islice(backend.items(fh, self._prefix, use_float=True), skip, None)

    def _records(self) -> Iterator[Any]:
        """The records; the C parser is used unless a number overflows it (then pure Python)."""
        import ijson

        emitted = 0
        while True:
            try:
                for rec in self._items(skip=emitted):
                    emitted += 1
                    yield rec
                return
            except ijson.JSONError as exc:
                if "overflow" in str(exc) and self._backend != "python":
                    self._backend = "python"  # big integers: the C parser gives up, Python does not
                    continue
                raise

    def _peek_columns(self) -> list[str]:
        import ijson

        keys: dict[str, None] = {}
        seen = 0
        try:
            for rec in itertools.islice(self._records(), 1000):
                seen += 1
                if isinstance(rec, dict):
                    keys.update(dict.fromkeys(str(k).strip() for k in rec))
        except ijson.JSONError as exc:
            if not seen:  # broken before the first record: nothing to salvage
                raise InputFileError(self.path, f"is not valid JSON ({' '.join(str(exc).split())})") from None
        return list(keys)

    def chunks(self) -> Iterator[Chunk]:
        import ijson

        batch: list[tuple[int, Any]] = []
        number = 0
        try:
            for number, rec in enumerate(self._records(), start=1):
                batch.append((number, rec))
                if len(batch) >= self.options.chunk_rows:
                    yield _record_chunk(batch, self.path)
                    batch = []
        except ijson.JSONError as exc:
            if batch:
                yield _record_chunk(batch, self.path)
                batch = []
            yield Chunk(_to_table([], [], []),
                        [BadRow(number + 1, "malformed_json",
                                f"the JSON is broken after record {number} ({exc}); the rest of the "
                                "file cannot be read", "")])
        if batch:
            yield _record_chunk(batch, self.path)


class JsonLinesReader(Reader):
    """JSON Lines: one object per line; a line that does not parse is a bad row."""

    format_name = "jsonl"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        keys: dict[str, None] = {}
        with open(path, "rb") as fh:
            if b"\x00" in fh.read(4096):
                raise InputFileError(path, "looks like a binary file, not JSON Lines")
        for _, rec in itertools.islice(self._records(), 1000):
            if isinstance(rec, dict):
                keys.update(dict.fromkeys(str(k).strip() for k in rec))
        if not keys:
            raise InputFileError(path, "has no JSON object in its first lines",
                                 "each line must be an object like {\"id\": 1, ...}")
        self.columns = list(keys)

    def _records(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, encoding="utf-8-sig", errors="surrogateescape") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, _Unparsed(line.rstrip("\n"), str(exc))

    def chunks(self) -> Iterator[Chunk]:
        batch: list[tuple[int, Any]] = []
        pending_bad: list[BadRow] = []
        for number, rec in self._records():
            if isinstance(rec, _Unparsed):
                pending_bad.append(BadRow(number, "malformed_json", f"the line is not valid JSON ({rec.error})",
                                          rec.text.encode("utf-8", "backslashreplace").decode()))
                continue
            batch.append((number, rec))
            if len(batch) >= self.options.chunk_rows:
                chunk = _record_chunk(batch, self.path)
                chunk.bad.extend(pending_bad)
                yield chunk
                batch, pending_bad = [], []
        if batch or pending_bad:
            chunk = _record_chunk(batch, self.path)
            chunk.bad.extend(pending_bad)
            yield chunk


@dataclass
class _Unparsed:
    text: str
    error: str


# --------------------------------------------------------------------------- Parquet


class ParquetReader(Reader):
    """Parquet, streamed by row batch; every column is cast to text (lists joined with ``;``)."""

    format_name = "parquet"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFileError(path, f"is not a readable Parquet file ({exc})") from None
        self.columns, notes = clean_header(list(self._file.schema_arrow.names), path)
        self.notes += notes

    def chunks(self) -> Iterator[Chunk]:
        import pyarrow.compute as pc

        start = 1
        for batch in self._file.iter_batches(batch_size=self.options.chunk_rows):
            arrays = []
            for col in batch.columns:
                t = col.type
                if pa.types.is_string(t) or pa.types.is_large_string(t):
                    arrays.append(col.cast(pa.string()))
                elif (pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_date(t)
                      or pa.types.is_decimal(t)):
                    arrays.append(pc.cast(col, pa.string()))
                else:
                    arrays.append(pa.array([cell_text(v) for v in col.to_pylist()], type=pa.string()))
            n = batch.num_rows
            arrays.append(pa.array(range(start, start + n), type=pa.int64()))
            start += n
            yield Chunk(pa.Table.from_arrays(arrays, names=[*self.columns, ROW]))
