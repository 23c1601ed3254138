"""How an ingest streams: CSV blocks gathered into chunks, chunks into row-group parts, parts into
DuckDB. None of it may change what is stored, and memory must not grow with the file.

The pipeline hands DuckDB in-memory Arrow parts of exactly ``PART_ROWS`` rows, the CSV reader
gathers clean blocks into chunks of ``chunk_rows`` rows, and duplicate ids are found by one
aggregate. These tests shrink the part, block and chunk sizes so that a small nasty file crosses
every boundary, and compare the hub's content with an ingest of the same file in one piece.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time

import pytest
from ingest_support import HEADER, good_row

import safelight.ingest.pipeline as pipeline
import safelight.ingest.readers.delimited as delimited
from safelight.ingest import ingest_file
from safelight.ingest.convert import ChunkConverter
from safelight.ingest.readers import duplicated_headers, open_reader
from safelight.store import open_hub


def _nasty_file(path, n: int, *, broken: bool = True):
    """``n`` rows of the test profile with faults: unknown codes, impossible dates, repeated ids,
    and (``broken``) lines with a wrong field count and blank lines in the second half only, so
    that small blocks of the first half take the fast path and later ones the careful path."""
    rows = [HEADER]
    for i in range(1, n + 1):
        r = good_row(i)
        if i % 97 == 0:
            r[2] = "X"  # unknown code
        if i % 89 == 0:
            r[10] = "31.02.1990"  # impossible date
        if i % 83 == 0:
            r[0] = str(i - 40)  # a repeated record id
        rows.append(r)
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    lines = buf.getvalue().splitlines(keepends=True)
    if broken:
        for at in range(len(lines) - 1, len(lines) // 2, -211):
            lines.insert(at, "1;2;3\n" if at % 2 else "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _content(hub) -> dict[str, list[tuple]]:
    con = hub.con
    return {
        "cases": con.execute("SELECT * EXCLUDE (contribution_id) FROM cases ORDER BY source_row").fetchall(),
        "identities": con.execute(
            "SELECT * EXCLUDE (contribution_id) FROM identities ORDER BY source_row").fetchall(),
        "quarantine": con.execute(
            "SELECT source_row, rules, reasons, raw FROM quarantine ORDER BY source_row, reasons").fetchall(),
    }


def _small(profile, chunk_rows: int):
    return dataclasses.replace(profile, read=dataclasses.replace(profile.read, chunk_rows=chunk_rows))


def test_part_block_and_chunk_sizes_do_not_change_what_is_stored(tmp_path, profile, monkeypatch):
    path = _nasty_file(tmp_path / "nasty.csv", 3_000)
    with open_hub(tmp_path / "whole.duckdb", create=True) as hub:
        whole = ingest_file(hub, path, contributor="ua", profile=profile)
        expected = _content(hub)
    assert whole.rows_quarantined > 60 and whole.rows_accepted > 2_500
    assert any("duplicate_record_id" in r[1] for r in expected["quarantine"])
    assert any("wrong_field_count" in r[1] for r in expected["quarantine"])

    monkeypatch.setattr(pipeline, "PART_ROWS", 500)
    monkeypatch.setattr(delimited, "TEXT_BLOCK_CHARS", 4_096)
    inserted: list[pipeline._Part] = []
    real_insert = pipeline._insert_cases

    def spy(con, part, contributor, cid):
        inserted.append(part)
        real_insert(con, part, contributor, cid)

    monkeypatch.setattr(pipeline, "_insert_cases", spy)
    with open_hub(tmp_path / "parts.duckdb", create=True) as hub:
        split = ingest_file(hub, path, contributor="ua", profile=_small(profile, 100))
        got = _content(hub)
    assert (split.rows_read, split.rows_accepted, split.rows_quarantined) == (
        whole.rows_read, whole.rows_accepted, whole.rows_quarantined)
    assert got == expected
    # every part but the last is exactly one row group of the (shrunk) size, each column in
    # one piece: DuckDB writes it straight to disk and scans it in one go
    sizes = [p.main.num_rows for p in inserted]
    assert len(sizes) >= 5 and all(s == 500 for s in sizes[:-1]) and 0 < sizes[-1] <= 500
    assert all(p.identities.num_rows == p.main.num_rows for p in inserted)
    assert all(c.num_chunks == 1 for p in inserted for c in p.main.columns)


def test_the_reader_runs_at_most_two_parts_ahead_of_the_inserts(tmp_path, profile, monkeypatch):
    """Memory stays flat: while DuckDB inserts part k, the reader fills part k+1 and waits."""
    monkeypatch.setattr(pipeline, "PART_ROWS", 300)
    profile = _small(profile, 50)
    rows = [HEADER] + [good_row(i) for i in range(1, 3_001)]  # every row accepted: parts fill evenly
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    path = tmp_path / "clean.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    reader = open_reader(path, profile.read)
    converter = ChunkConverter(profile, reader.columns, path=str(path), file_sha256="0" * 64,
                               duplicated=duplicated_headers(reader.columns))
    result = pipeline.IngestResult(1, "ua", str(path), profile.ref, profile.target)
    parts = 0
    for k, _part in enumerate(pipeline._parts(reader, converter, 1, result, None)):
        # a slow insert (the first one very slow): an unbounded reader would read the whole file
        time.sleep(1.5 if k == 0 else 0.05)
        assert result.rows_read <= (k + 2) * 300 + 50, f"the reader ran ahead while part {k} was inserted"
        parts += 1
    assert parts >= 9 and result.rows_read == 3_000


def test_a_file_of_bad_rows_is_handed_over_in_bounded_parts(tmp_path, profile, monkeypatch):
    monkeypatch.setattr(pipeline, "PART_ROWS", 400)
    rows = [HEADER] + [[str(i), "2021", "X", *good_row(i)[3:]] for i in range(1, 2_001)]
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    path = tmp_path / "bad.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    handed: list[int] = []
    real_insert = pipeline._insert

    def spy(con, table, select, rows, params=None):
        if table == "quarantine":
            handed.append(rows.num_rows)
        real_insert(con, table, select, rows, params)

    monkeypatch.setattr(pipeline, "_insert", spy)
    with open_hub(tmp_path / "hub.duckdb", create=True) as hub:
        result = ingest_file(hub, path, contributor="ua", profile=_small(profile, 100))
    assert result.rows_read == result.rows_quarantined == 2_000 and result.rows_accepted == 0
    assert sum(handed) == 2_000 and len(handed) >= 5 and max(handed) <= 400 + 100


@pytest.mark.parametrize("broken", [False, True])
def test_csv_chunks_gather_blocks_in_file_order(tmp_path, profile, monkeypatch, broken):
    path = _nasty_file(tmp_path / "f.csv", 2_000, broken=broken)

    def read(block_chars: int, chunk_rows: int):
        monkeypatch.setattr(delimited, "TEXT_BLOCK_CHARS", block_chars)
        reader = open_reader(path, _small(profile, chunk_rows).read)
        chunks = list(reader.chunks())
        rows = [r for c in chunks for r in c.table.to_pylist()]
        bad = [(b.row, b.rule) for c in chunks for b in c.bad]
        return chunks, rows, bad

    _, whole_rows, whole_bad = read(1 << 24, 1_000_000)
    chunks, rows, bad = read(4_096, 100)
    assert rows == whole_rows and bad == whole_bad
    numbers = [r[pipeline.ROW] for r in rows]
    assert numbers == sorted(numbers)
    sizes = [c.table.num_rows for c in chunks]
    if not broken:  # clean blocks of ~60 rows gathered into chunks of exactly 100
        assert all(s == 100 for s in sizes[:-1]) and len(sizes) == 20
