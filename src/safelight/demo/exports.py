"""File writers: one per contributor format (CSV, XLSX, JSON Lines, Parquet, TSV).

Contract
--------
:func:`write_export` writes a contributor's rows (from :mod:`safelight.demo.export_rows`) to
``path`` in its format: ``ua-hotline`` semicolon CSV, UTF-8 with BOM, CRLF; ``pl-ngo`` XLSX with
a ``Rejestr`` data sheet and an ``Uwagi`` notes sheet; ``de-police`` comma CSV in cp1252, CRLF;
``it-labour`` JSON Lines, UTF-8, LF; ``ng-ngo`` Parquet, every column a string (snappy);
``ro-ngo`` tab-separated UTF-8, LF. Output bytes depend on the rows only: the XLSX carries fixed
creation and modification times (:data:`FIXED_TIMESTAMP`) and fixed zip entry times. The
mapping profiles are written by :mod:`safelight.demo.mapping_profiles`.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from safelight.demo.contributors import Spec
from safelight.demo.export_rows import RowRenderer
from safelight.demo.vocabulary import PL

__all__ = [
    "FIXED_TIMESTAMP",
    "write_csv",
    "write_export",
    "write_jsonl",
    "write_parquet",
    "write_xlsx",
]


FIXED_TIMESTAMP = datetime(2024, 1, 15, 9, 0, 0)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: list[list[Any]],
    *,
    delimiter: str,
    encoding: str,
    bom: bool = False,
    lineterminator: str = "\r\n",
) -> None:
    """Delimited text with a header row, in ``encoding`` (optionally with a UTF-8 BOM)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def write_xlsx(path: Path, header: Sequence[str], rows: list[list[Any]]) -> None:
    """The Polish NGO's workbook: sheet ``Rejestr`` (header + rows), sheet ``Uwagi`` (notes)."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    wb.properties.creator = "Rejestr spraw (demo)"
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    ws = wb.create_sheet("Rejestr")
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    notes = wb.create_sheet("Uwagi")
    for line in PL.notes:
        notes.append([line])
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    # re-pack with fixed entry timestamps so that the bytes depend on the content only
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 15, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    path.write_bytes(out.getvalue())


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """One JSON object per line, non-ASCII characters kept."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_parquet(path: Path, header: Sequence[str], rows: list[list[Any]]) -> None:
    """A Parquet table of string columns (None stays null)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {h: pa.array([r[i] for r in rows], type=pa.string()) for i, h in enumerate(header)}
    pq.write_table(pa.table(cols), path, compression="snappy")


def write_export(spec: Spec, path: Path, rows: list[Any]) -> None:
    """Write ``spec``'s rows to ``path`` in the contributor's own format."""
    if spec.name == "ua-hotline":
        write_csv(path, RowRenderer.UA_COLUMNS, rows, delimiter=";", encoding="utf-8", bom=True)
    elif spec.name == "pl-ngo":
        write_xlsx(path, RowRenderer.PL_COLUMNS, rows)
    elif spec.name == "de-police":
        write_csv(path, RowRenderer.DE_COLUMNS, rows, delimiter=",", encoding="cp1252")
    elif spec.name == "it-labour":
        write_jsonl(path, rows)
    elif spec.name == "ng-ngo":
        write_parquet(path, RowRenderer.NG_COLUMNS, rows)
    elif spec.name == "ro-ngo":
        write_csv(
            path,
            RowRenderer.RO_COLUMNS,
            rows,
            delimiter="\t",
            encoding="utf-8",
            lineterminator="\n",
        )
