"""XLSX workbooks (openpyxl, streamed)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from safelight.errors import InputFileError
from safelight.ingest.readers.base import (
    BadRow,
    Chunk,
    Reader,
    ReadOptions,
    _emit,
    _printable,
    cell_text,
    clean_header,
    guard_decoder,
)

#: rows per chunk at most: openpyxl reads a few thousand rows a second, so progress (reported per
#: chunk) stood still for seconds with the default chunk of 50,000 rows (the whole of GLOTIP's
#: 46,556); the converter's work per chunk is negligible next to openpyxl's (same CPU time measured)
CHUNK_ROWS = 5_000
#: How many rows of a sheet are searched for the header when the header row holds none of the
#: wanted columns (:meth:`XlsxReader.choose_sheet`)
HEADER_SEARCH_ROWS = 10

_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_VALUE = re.compile(rb"<v(?:\s[^>]*)?>[^<]+</v>")
_FORMULA = re.compile(rb"<f[ >]")
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')

#: bytes of sheet XML read at a time by :func:`scan_sheet`
SCAN_BLOCK = 1 << 20


def _cell_end(buf: bytes, start: int) -> int:
    """End of the cell element starting at ``start``, or -1 if ``buf`` stops inside it."""
    gt = buf.find(b">", start)
    if gt < 0:
        return -1
    if buf[gt - 1:gt] == b"/":
        return gt + 1
    close = buf.find(b"</c>", gt)
    return close + 4 if close >= 0 else -1


def _scan_region(region: bytes, gaps: dict[int, list[int]], merged: list[str]) -> None:
    """Formula cells without a stored result and merged ranges in ``region`` (whole elements)."""
    from openpyxl.utils.cell import column_index_from_string

    merged.extend(m.decode() for m in _MERGE.findall(region))
    done = -1  # end of the last cell examined: a cell holding two <f> is looked at once
    for f in _FORMULA.finditer(region):
        if f.start() < done:
            continue
        cell = _CELL.match(region, max(region.rfind(b"<c ", 0, f.start()), 0))
        if cell is None or cell.end() <= f.start():
            continue  # not inside a cell this scan understands (as the whole-sheet regex did)
        done = cell.end()
        body = cell.group(3) or b""
        if (b"<f>" in body or b"<f " in body) and not _VALUE.search(body):
            gaps.setdefault(int(cell.group(2)), []).append(column_index_from_string(cell.group(1).decode()))


def scan_sheet(stream: BinaryIO, block: int = SCAN_BLOCK) -> tuple[dict[int, list[int]], list[str]]:
    """One streaming pass over a sheet's XML: row → column numbers of formula cells that have no
    stored result, and the merged ranges (``"B2:B3"``, in the order of the file).

    A workbook written by a program (not saved by a spreadsheet) keeps formulas without their
    results; openpyxl then reads those cells as empty, which would silently lose values. Merged
    ranges are listed in ``<mergeCells>`` after the rows, so the whole sheet is scanned before the
    first row is read; it is read ``block`` bytes at a time, and only one block, the cell or tag
    cut at its end and what is found are held (memory does not grow with the sheet). Scanning
    the bytes costs little more than inflating them (0.2 s for GLOTIP's 22 MB of sheet XML, where
    ElementTree's iterparse took 1.9 s).
    """
    gaps: dict[int, list[int]] = {}
    merged: list[str] = []
    carry = b""
    while True:
        data = stream.read(block)
        buf = carry + data if carry else data
        if not data:
            _scan_region(buf, gaps, merged)
            return gaps, merged
        # keep the last cell for the next block if the block cut it, else the last tag (which may
        # be cut): everything before is whole elements
        cut = buf.rfind(b"<c ")
        end = _cell_end(buf, cut) if cut >= 0 else 0
        if end >= 0:
            cut = buf.rfind(b"<", end)
            if cut < 0:
                cut = len(buf)
        _scan_region(buf[:cut], gaps, merged)
        carry = buf[cut:]


class XlsxReader(Reader):
    """XLSX via openpyxl.

    Formulas are read as their cached results; a formula whose result was never computed (the
    file was written by a program, not saved by a spreadsheet) quarantines its row instead of
    being read as empty. Sheets are streamed (openpyxl read-only mode); merged ranges and
    formulas without results are found in one streaming pass over the sheet's XML
    (:func:`scan_sheet`). Merged cells in data rows are filled with the merged range's top-left
    value and noted. With several sheets the profile's ``read.sheet`` wins, otherwise the first sheet whose
    header holds the most of the profile's columns (see :meth:`choose_sheet`).
    """

    format_name = "xlsx"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        # file objects, not paths: openpyxl judges a path by its extension, we by content
        self._handles = [open(path, "rb")]  # noqa: SIM115 - closed in close()
        self._raw = self._handles[0]  # openpyxl reads the sheet through it: bytes_read() moves
        try:
            self._wb = openpyxl.load_workbook(self._handles[0], read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise InputFileError(path, f"is not a readable XLSX workbook ({exc})") from None
        except Exception as exc:  # zipfile.BadZipFile and friends
            raise InputFileError(path, f"is not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
        self.sheet_names = list(self._wb.sheetnames)
        self.sheet: str | None = None
        self._before_choice = (list(self.notes), self.options)
        self.choose_sheet(None)

    def _header_of(self, name: str, row: int | None = None) -> list[str | None]:
        """The cells of row ``row`` (default: ``read.header_row``) of sheet ``name``."""
        row = row or self.options.header_row
        for i, cells in enumerate(self._wb[name].iter_rows(values_only=True, max_row=row),
                                  start=1):
            if i == row:
                return [cell_text(v) for v in cells]
        return []

    def _fit(self, name: str, wanted: set[str]) -> tuple[int, int]:
        """How many of ``wanted`` a header of sheet ``name`` holds, and on which row: the
        header row's, or — when it holds none and the profile did not name the row
        (``find_header``) — the first of the :data:`HEADER_SEARCH_ROWS` rows that holds the
        most (a title or an export note above the header)."""
        rows = [[(cell_text(v) or "").strip() for v in cells] for cells in
                self._wb[name].iter_rows(values_only=True, max_row=HEADER_SEARCH_ROWS)]
        at = self.options.header_row
        fits = [len(wanted & set(r)) for r in rows]
        if not self.options.find_header:  # the profile named the row
            return len(wanted & set(h.strip() for h in self._header_of(name) if h)), at
        if at <= len(fits) and fits[at - 1]:
            return fits[at - 1], at
        best = max(fits, default=0)
        return best, (fits.index(best) + 1 if best else at)

    def choose_sheet(self, wanted_columns: set[str] | None) -> None:
        """Select the sheet (its notes replace an earlier choice's): ``read.sheet``, else the
        one whose header holds the most of
        ``wanted_columns`` — looked for below ``read.header_row`` too, in the first
        :data:`HEADER_SEARCH_ROWS` rows, when that row holds none of them (a title above the
        header; the header row found is noted) — else the first non-empty one."""
        notes, self.options = self._before_choice
        self.notes = list(notes)
        if self.options.sheet:
            if self.options.sheet not in self.sheet_names:
                raise InputFileError(self.path, f"has no sheet {self.options.sheet!r}",
                                     f"its sheets are: {', '.join(self.sheet_names)}")
            chosen = self.options.sheet
        else:
            scored = []
            for idx, name in enumerate(self.sheet_names):
                header = [h.strip() for h in self._header_of(name) if h]
                overlap, row = self._fit(name, wanted_columns) if wanted_columns else (0, 0)
                if not header and not overlap:
                    continue
                scored.append((-overlap, idx, name, row))
            if not scored:
                raise InputFileError(self.path, "every sheet is empty (no header row found)",
                                     "check read.header_row")
            overlap, _, chosen, row = min(scored)
            if overlap and row != self.options.header_row:  # the header stands lower
                self.options = dataclasses.replace(self.options, header_row=row)
                self.notes.append(f"header read on row {row} of sheet {chosen!r} (the rows "
                                  "above it are no header)")
            if len(self.sheet_names) > 1:
                self.notes.append(f"sheet {chosen!r} chosen of {', '.join(self.sheet_names)}")
        self.sheet = chosen
        header = self._header_of(chosen)
        while header and not (header[-1] or "").strip():
            header.pop()  # trailing empty header cells of a formatted sheet
        self.columns, notes = clean_header(header, self.path)
        self.notes += notes

    def _scan(self) -> tuple[dict[int, list[int]], list[tuple[int, int, int, int]]]:
        """Formula gaps and the merged ranges that reach below the header, from the sheet's XML
        (read-only worksheets do not expose merged ranges); each range is noted."""
        import zipfile

        from openpyxl.utils.cell import get_column_letter, range_boundaries

        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self._wb[self.sheet]._worksheet_path) as fh:
                gaps, refs = scan_sheet(fh)
        except (KeyError, OSError, zipfile.BadZipFile, AttributeError):
            return {}, []
        ranges = [range_boundaries(ref) for ref in refs]
        ranges = [r for r in ranges if r[3] > self.options.header_row]  # (min_col, min_row, max_col, max_row)
        for min_col, min_row, max_col, max_row in ranges:
            self.notes.append(f"merged cells {get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}"
                              f"{max_row} filled with their top-left value")
        return gaps, ranges

    def _chunks(self) -> Iterator[Chunk]:
        ncols = len(self.columns)
        chunk_rows = min(self.options.chunk_rows, CHUNK_ROWS)
        gaps, ranges = self._scan()
        values_ws = self._wb[self.sheet]
        start = self.options.header_row + 1
        # merged cells take their range's top-left value; a top-left cell in the data rows is met
        # before the rest of its range, one above them is read here (rows up to the header)
        anchors: dict[int, list[int]] = {}  # anchor row → indices of the ranges it starts
        for i, (_, min_row, _, _) in enumerate(ranges):
            anchors.setdefault(min_row, []).append(i)
        anchor_values: list[Any] = [None] * len(ranges)
        above = [r for r in anchors if r < start]
        if above:
            for number, vals in enumerate(values_ws.iter_rows(min_row=min(above), max_row=start - 1,
                                                              values_only=True), start=min(above)):
                self._take_anchors(anchors.get(number, ()), ranges, vals, anchor_values)
        by_start = sorted(range(len(ranges)), key=lambda i: ranges[i][1])
        waiting = 0  # by_start[waiting:] have not begun yet
        active: list[int] = []  # ranges covering the current row, in the file's order
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        bad: list[BadRow] = []
        beyond_rows, beyond_columns = 0, set()
        for number, vals in enumerate(values_ws.iter_rows(min_row=start, values_only=True), start=start):
            if ranges:
                self._take_anchors(anchors.get(number, ()), ranges, vals, anchor_values)
                while waiting < len(by_start) and ranges[by_start[waiting]][1] <= number:
                    active.append(by_start[waiting])
                    waiting += 1
                active = sorted(i for i in active if ranges[i][3] >= number)
            stray = [c for c, v in enumerate(vals[ncols:], start=ncols + 1)
                     if v is not None and not (isinstance(v, str) and not v.strip())]
            if stray:  # a value in a column without a header name: noted, not read
                beyond_rows += 1
                beyond_columns.update(stray)
            vals = list(vals[:ncols]) + [None] * max(0, ncols - len(vals))
            for i in active:
                for c in range(ranges[i][0] - 1, min(ranges[i][2], ncols)):
                    vals[c] = anchor_values[i]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
                continue  # empty spreadsheet row: not a record
            text = [cell_text(v) for v in vals]
            missing_results = [self.columns[c - 1] for c in gaps.get(number, ()) if c <= ncols]
            if missing_results:
                bad.append(BadRow(number, "formula_without_value",
                                  f"formula in column(s) {', '.join(missing_results)} has no stored result; "
                                  "open and save the workbook in a spreadsheet program", _printable(text)))
                continue
            rows.append([t if t is not None else "" for t in text])
            numbers.append(number)
            if len(rows) >= chunk_rows:
                yield _emit(self.columns, rows, numbers, bad, _printable)
                rows, numbers, bad = [], [], []
        if beyond_rows:  # before the last chunk: the pipeline reads the notes after it
            from openpyxl.utils.cell import get_column_letter

            self.notes.append(
                f"{beyond_rows} row(s) hold values in column(s) "
                f"{', '.join(get_column_letter(c) for c in sorted(beyond_columns))}, beyond the "
                "last header column: those cells have no column name and were not read; give "
                "the column a header to read it")
        if rows or bad:
            yield _emit(self.columns, rows, numbers, bad, _printable)

    @staticmethod
    def _take_anchors(starting: Iterable[int], ranges: list[tuple[int, int, int, int]], vals: tuple[Any, ...],
                      anchor_values: list[Any]) -> None:
        for i in starting:
            col = ranges[i][0]
            anchor_values[i] = vals[col - 1] if col <= len(vals) else None

    def close(self) -> None:
        close = getattr(self._wb, "close", None)
        if close:
            close()
        for fh in self._handles:
            fh.close()

    def __del__(self) -> None:
        for fh in getattr(self, "_handles", ()):
            fh.close()

    def chunks(self) -> Iterator[Chunk]:
        return guard_decoder(self.path, "workbook", self._chunks())
