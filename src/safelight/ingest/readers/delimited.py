"""CSV and other delimited text: encoding and delimiter detection, fast and careful parsing."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from safelight.errors import InputFileError
from safelight.ingest.readers.base import (
    DELIMITERS,
    MAX_FIELD_CHARS,
    MAX_LINES_PER_RECORD,
    ROW,
    SNIFF_BYTES,
    BadRow,
    Chunk,
    Reader,
    ReadOptions,
    _emit,
    _has_surrogate,
    _printable,
    clean_header,
)

#: decoding error handler: every byte that is not text becomes a lone surrogate, which marks its
#: row ``invalid_encoding`` (:func:`~safelight.ingest.readers.base._emit`). ``surrogateescape``
#: does this for bytes from 0x80 only and raises for the others, so an invalid UTF-16 code unit
#: (an unpaired surrogate ``00 D8``, a last code unit cut in half) stopped the whole reader.
ESCAPE_BYTES = "safelight-escape-bytes"


def _escape_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(ESCAPE_BYTES, _escape_bytes)


#: the first bytes of formats that are no text, and what to say of each
_MAGIC = ((b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Word file",
           "save it as .xlsx or CSV"),
          (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)",
           "give it its .xlsx name, or unpack it"),
          (b"%PDF", "a PDF document", "export the data as CSV, XLSX, JSON or Parquet"),
          (b"\x1f\x8b", "gzip-compressed data", "unpack it first (gunzip)"),
          (b"\x7fELF", "a program (ELF)", "give the exported data file"))


def _plausible_text(data: bytes, encoding: str) -> bool:
    """Whether ``data`` decodes in ``encoding`` to text: at least 90% printable characters
    or whitespace (an ELF program has NUL bytes at every other place often enough to pass
    for UTF-16)."""
    text = data[:4096 - len(data[:4096]) % 2].decode(encoding, errors="replace")
    good = sum(c.isprintable() or c in "\r\n\t" for c in text)
    return good >= 0.9 * max(len(text), 1)


def _sniff_encoding(path: Path, head: bytes) -> tuple[str, int, list[str]]:
    """Return (encoding, BOM length, notes). Samples the head, middle and tail of the file."""
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            raise InputFileError(path, f"is {what}, not a text table", fix)
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            body = head[len(bom):4096]
            try:  # a binary file may start with the two bytes of a UTF-16 mark (a hub file)
                if enc != "utf-8":  # (UTF-8 text with bad bytes is read; its rows quarantined)
                    body.decode(enc)
            except UnicodeDecodeError as exc:
                if exc.start < len(body) - 4:  # not a character cut at the sample's end
                    raise InputFileError(path, f"starts with a {enc} byte-order mark but is not "
                                         f"{enc} text: it looks like a binary file",
                                         "export the data as CSV, XLSX, JSON or Parquet"
                                         ) from None
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
        if (head[1:4096:2].count(0) > len(head[1:4096:2]) * 0.4
                and _plausible_text(head, "utf-16-le")):
            return "utf-16-le", 0, ["encoding: utf-16-le (no BOM)"]
        if (head[0:4096:2].count(0) > len(head[0:4096:2]) * 0.4
                and _plausible_text(head, "utf-16-be")):
            return "utf-16-be", 0, ["encoding: utf-16-be (no BOM)"]
        raise InputFileError(path, "looks like a binary file, not text (it contains NUL bytes)",
                             "export the data as CSV, XLSX, JSON or Parquet")
    if _is_utf8(samples, whole_file=size <= SNIFF_BYTES):
        return "utf-8", 0, []
    if _mostly_utf8(sample):
        return "utf-8", 0, ["mostly UTF-8 with some invalid bytes: rows holding them are quarantined"]
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise InputFileError(path, "looks like a binary file, not text",
                             "export the data as CSV, XLSX, JSON or Parquet")
    # code pages whose text is as clean as the best's (charset_normalizer groups those that
    # decode alike); its language coherence is not used to choose among them: on names and
    # short files it follows a few letters' frequencies (Lefèvre ×30 scored cp1250 higher)
    tied = {enc for m in matches if m.chaos <= best.chaos + 0.01
            for enc in m.could_be_from_charset}
    if best.encoding in ("cp1250", "cp1252") and "cp1252" in tied:
        return _western_or_central(sample, "cp1250" in tied)
    enc = best.encoding
    if "cp1252" in tied:  # another code page as clean: its pick among them is arbitrary
        theirs, western = _not_letters(sample, enc), _not_letters(sample, "cp1252")
        if western < theirs:  # Icelandic Þ read as cp1258's combining tilde
            return _western_or_central(sample, "cp1250" in tied)
        if western == theirs and sample.decode(enc, "replace") != sample.decode("cp1252",
                                                                              "replace"):
            return enc, 0, [f"{ENCODING_UNCERTAIN}: read as {enc}, but cp1252 reads the file "
                            "as letters too; if names look wrong, state the encoding — "
                            "encoding: in a link/identity MAP.yaml, read.encoding: in an "
                            "ingest profile"]
    return enc, 0, [f"encoding detected: {enc}"]


def _not_letters(sample: bytes, enc: str) -> int:
    """How many of ``sample``'s bytes of 0x80 and above read as no letter in the single-byte
    code page ``enc`` (a symbol, a combining mark, undefined): the fewer, the likelier the code
    page of a table of names."""
    return sum(sample.count(bytes([b])) for b in set(sample)
               if b >= 0x80 and not bytes([b]).decode(enc, "replace").isalpha())


#: a note of :func:`_sniff_encoding` that starts so says the code page is a guess: readers that
#: log rather than print notes show it as a warning
ENCODING_UNCERTAIN = "encoding uncertain"
_SLAVIC_ALIKE = (0x8A, 0x8E, 0x9A, 0x9E)  # Š Ž š ž in cp1250 and cp1252 alike


def _western_or_central(sample: bytes, cp1250_fits: bool) -> tuple[str, int, list[str]]:
    """Western (cp1252) or Central European (cp1250), for a sample that charset_normalizer
    finds as plausible in cp1252 as in other single-byte code pages (it scores them alike and
    picked the first by name, cp1250, for French or German files: ``Lefèvre`` read ``Lefčvre``).

    Only the bytes that the two code pages decode differently count. Decisive: such bytes read
    as letters in one and as symbols or undefined in the other (Polish ``ł ą ż ś`` are ``³ ¹ ¿
    œ`` in cp1252; Slovak ``ľ`` is ``¾``; Czech ``ť`` is undefined) — the letters win. Otherwise
    cp1252, the more common, unless ``š ž`` (the same bytes in both) are at least half as
    frequent as the differing bytes (Czech, Croatian, Slovene text). When both read the
    differing bytes as letters (French ``è ê ù`` are Czech/Polish ``č ę ů``) the choice is a
    guess, and the note says so (starting with :data:`ENCODING_UNCERTAIN`) and names the
    settings that fix it: Hungarian ``ő ű`` read as ``õ û`` then, for one."""
    differ = [b for b in set(sample) if b >= 0x80
              and bytes([b]).decode("cp1250", "replace") != bytes([b]).decode("cp1252", "replace")]
    if not differ or not cp1250_fits:
        return "cp1252", 0, ["encoding detected: cp1252"]
    counts = {b: sample.count(bytes([b])) for b in differ}

    def not_letters(enc: str) -> int:  # occurrences of differing bytes that are not letters
        return sum(n for b, n in counts.items()
                   if not bytes([b]).decode(enc, "replace").isalpha())

    west, central = not_letters("cp1252"), not_letters("cp1250")
    if west and not central:
        return "cp1250", 0, ["encoding detected: cp1250 (letters in cp1250 that cp1252 reads "
                             "as symbols)"]
    if central and not west:
        return "cp1252", 0, ["encoding detected: cp1252 (letters in cp1252 that cp1250 reads "
                             "as symbols)"]
    # both read letters: Central European text also writes š ž Š Ž (bytes alike in both code
    # pages, rare in Western languages) — more than one for every two letters that differ in Czech
    # and Croatian; a Western register with a few Slavic names has far fewer
    slavic = sum(sample.count(bytes([b])) for b in _SLAVIC_ALIKE)
    enc, other = (("cp1250", "cp1252") if slavic * 2 >= sum(counts.values())
                  else ("cp1252", "cp1250"))
    common = sorted(differ, key=lambda b: -counts[b])[:4]
    seen = ", ".join(f"{bytes([b]).decode(enc)} (in {other}: {bytes([b]).decode(other)})"
                     for b in common)
    return enc, 0, [f"{ENCODING_UNCERTAIN}: read as {enc}, but {other} reads the file as letters "
                    f"too ({seen}); if names look wrong, state the encoding — encoding: in a "
                    f"link/identity MAP.yaml, read.encoding: in an ingest profile"]


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
    """Pick the delimiter giving the most consistent field count (> 1) over the first lines.
    Fields as long as the rows may hold count (csv's default limit, 131,072 characters, made
    the right delimiter fail on a long note, and ',' won by default)."""
    csv.field_size_limit(MAX_FIELD_CHARS)
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

    __slots__ = ("data", "_text", "_lines")

    def __init__(self, data: bytes | None = None, text: str | None = None) -> None:
        self.data = data
        self._text = text
        self._lines: int | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode("utf-8", errors="surrogateescape")  # type: ignore[union-attr]
        return self._text

    def line_count(self) -> int:
        """Line breaks in the block (\n, \r\n or \r), as the csv module counts lines."""
        if self._lines is None:
            if self.data is not None:
                d = self.data
                if b"\r" not in d:  # the common case: one pass
                    self._lines = d.count(b"\n")
                else:  # a CR ends a line unless an LF follows it (vectorised: 3x faster than bytes.count)
                    b = np.frombuffer(d, dtype=np.uint8)
                    cr = b == 13
                    self._lines = d.count(b"\n") + int(np.count_nonzero(cr)) - int(
                        np.count_nonzero(cr[:-1] & (b[1:] == 10)))
            else:
                self._lines = _count_lines(self.text)
        return self._lines

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

    def _open_text(self) -> io.TextIOWrapper:
        fh = open(self.path, "rb")  # noqa: SIM115 - closed by the wrapper
        fh.seek(self.bom)
        self._raw = fh
        return io.TextIOWrapper(fh, encoding=self.encoding, errors=ESCAPE_BYTES, newline="")

    def _read_header(self) -> None:
        csv.field_size_limit(MAX_FIELD_CHARS)  # as the rows are read
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

        data = block.data  # raw UTF-8: Arrow checks it (invalid bytes → ArrowInvalid → careful path)
        if data is None:
            try:
                data = block.text.encode("utf-8")
            except UnicodeEncodeError:
                return None  # undecodable bytes: the careful path quarantines those rows
        n_lines = block.line_count() + (0 if block.ends_with_break() else 1)
        expected = n_lines - skip
        if expected <= 0:
            return None
        try:  # no invalid-row handler: the first faulty row raises and the block goes the careful way
            table = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=self.columns, skip_rows=skip,
                                               block_size=1 << 22),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=False,
                                                 ignore_empty_lines=True),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in self.columns},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowException):
            return None
        if table.num_rows != expected or table.num_columns != len(self.columns):
            return None
        first = line_base + skip + 1
        return table.append_column(ROW, pa.array(np.arange(first, first + expected, dtype=np.int64)))

    def chunks(self) -> Iterator[Chunk]:
        """Parse decoded blocks: clean blocks with Arrow's parser (:meth:`_fast_block`), others
        with the C csv module, where Python only touches faulty rows.

        A record whose quote is never closed, or that spans several lines with the wrong number
        of fields, costs only its first line: the lines after it are parsed again on their own.
        Clean blocks are gathered into chunks of ``chunk_rows`` rows: a few large chunks cost the
        converter less than many small ones, while a faulty block stays small.
        """
        ncols = len(self.columns)
        held = _Held(self.options.chunk_rows)
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
                        yield from held.add(fast)
                        consumed = block.line_count()
                        line_base += consumed
                        skip = max(0, skip - consumed)
                        block = nxt
                        continue
                yield from held.flush()  # keep the file's order
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
        yield from held.flush()
        if rows or bad:
            yield _emit(self.columns, rows, numbers, bad, _printable)


class _Held:
    """Tables parsed from clean blocks, handed on in chunks of ``chunk_rows`` rows."""

    def __init__(self, chunk_rows: int) -> None:
        self.chunk_rows = chunk_rows
        self.tables: list[pa.Table] = []
        self.rows = 0

    def add(self, table: pa.Table) -> Iterator[Chunk]:
        self.tables.append(table)
        self.rows += table.num_rows
        while self.rows >= self.chunk_rows:
            whole = pa.concat_tables(self.tables) if len(self.tables) > 1 else self.tables[0]
            yield Chunk(whole.slice(0, self.chunk_rows))
            rest = whole.slice(self.chunk_rows)
            self.tables = [rest] if rest.num_rows else []
            self.rows = rest.num_rows

    def flush(self) -> Iterator[Chunk]:
        if self.tables:
            whole = pa.concat_tables(self.tables) if len(self.tables) > 1 else self.tables[0]
            self.tables, self.rows = [], 0
            yield Chunk(whole)


def _count_lines(block: str) -> int:
    """Number of lines in a block, counted the way csv counts them."""
    return block.count("\n") + block.count("\r") - block.count("\r\n")
