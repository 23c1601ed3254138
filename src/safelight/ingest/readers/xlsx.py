"""XLSX workbooks (openpyxl, streamed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        self._raw = self._handles[0]  # openpyxl reads the sheet through it: bytes_read() moves
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

    def _chunks(self) -> Iterator[Chunk]:
        ncols = len(self.columns)
        chunk_rows = min(self.options.chunk_rows, CHUNK_ROWS)
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
            if len(rows) >= chunk_rows:
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

    def chunks(self) -> Iterator[Chunk]:
        return guard_decoder(self.path, "workbook", self._chunks())
