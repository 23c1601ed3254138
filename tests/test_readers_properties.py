"""Property-based tests and a fuzz run over the readers: no crash, no lost row."""

from __future__ import annotations

import csv
import io
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.errors import InputFileError
from safelight.ingest.readers import ROW, ReadOptions, open_reader

cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read(path, **opts):
    reader = open_reader(path, ReadOptions(chunk_rows=7, **opts))
    rows, bad = [], []
    for chunk in reader.chunks():
        rows += chunk.table.to_pylist()
        bad += chunk.bad
    return reader, rows, bad


@FAST
@given(ncols=st.integers(1, 6), data=st.data(), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_csv_roundtrip_loses_nothing(tmp_path_factory, ncols, data, delimiter):
    header = [f"col{i}" for i in range(ncols)]
    rows = data.draw(st.lists(st.lists(cell, min_size=ncols, max_size=ncols), min_size=1, max_size=30))
    # a row of only empty cells is a blank line in CSV, which is not a record
    rows = [r for r in rows if any(r) or ncols > 1]
    if not rows:
        return
    path = tmp_path_factory.mktemp("p") / "a.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter, quoting=csv.QUOTE_ALL).writerows([header, *rows])
    _, got, bad = _read(path, delimiter=delimiter)
    assert not bad
    assert [[r[c] for c in header] for r in got] == rows
    assert all(r[ROW] >= 2 for r in got)


@FAST
@given(ncols=st.integers(2, 5), data=st.data())
def test_csv_with_damaged_rows_accounts_for_every_record(tmp_path_factory, ncols, data):
    header = [f"c{i}" for i in range(ncols)]
    n = data.draw(st.integers(1, 25))
    lines = []
    expected_records = 0
    for i in range(n):
        kind = data.draw(st.sampled_from(["ok", "ok", "ok", "short", "long", "quote", "badbytes"]))
        values = [f"v{i}_{j}" for j in range(ncols)]
        if kind == "short":
            values = values[:-1]
        elif kind == "long":
            values = values + ["extra"]
        line = ",".join(values)
        if kind == "quote":
            line = '"' + line  # never closed
        raw = line.encode()
        if kind == "badbytes":
            raw = raw.replace(b"v", b"\xff", 1)
        lines.append(raw)
        expected_records += 1
    path = tmp_path_factory.mktemp("p") / "a.csv"
    body = b"\n".join(lines) + (b"\n" if data.draw(st.booleans()) else b"")
    path.write_bytes(",".join(header).encode() + b"\n" + body)
    try:
        _, got, bad = _read(path, delimiter=",", encoding="utf-8")
    except InputFileError:
        return
    assert len(got) + len(bad) == expected_records
    assert sorted([r[ROW] for r in got] + [b.row for b in bad]) == list(range(2, 2 + expected_records))


@FAST
@given(records=st.lists(st.one_of(
    st.dictionaries(st.sampled_from(["id", "name", "age", "tags"]),
                    st.one_of(st.none(), st.integers(), cell, st.lists(cell, max_size=3), st.booleans()),
                    max_size=4),
    st.integers(), cell), min_size=1, max_size=20))
def test_json_list_accounts_for_every_element(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("p") / "a.json"
    path.write_text(json.dumps(records), "utf-8")
    _, got, bad = _read(path)
    assert len(got) + len(bad) == len(records)
    assert sorted([r[ROW] for r in got] + [b.row for b in bad]) == list(range(1, len(records) + 1))


def _mutations(seed: int, base: bytes) -> bytes:
    rnd = random.Random(seed)
    data = bytearray(base)
    for _ in range(rnd.randint(1, 12)):
        op = rnd.random()
        pos = rnd.randrange(len(data) + 1)
        if op < 0.4 and data:
            data[min(pos, len(data) - 1)] = rnd.randrange(256)
        elif op < 0.7:
            data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        else:
            del data[pos:pos + rnd.randint(1, 20)]
    return bytes(data)


def _seed_files() -> dict[str, bytes]:
    import openpyxl

    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.append(["id", "name"])
    wb.active.append([1, "Anna"])
    wb.save(buf)
    return {
        "a.csv": 'id;name;dob\n1;"Олена";01.02.1990\n2;Ivan;1990\n'.encode(),
        "a.json": json.dumps([{"id": 1, "name": "Anna"}, {"id": 2}]).encode(),
        "a.jsonl": b'{"id": 1}\n{"id": 2, "n": "x"}\n',
        "a.xlsx": buf.getvalue(),
    }


def test_fuzz_readers_never_crash(tmp_path):
    """2,000 mutated files: each is refused with InputFileError or read with every row accounted."""
    seeds = _seed_files()
    for i in range(2000):
        name = list(seeds)[i % len(seeds)]
        path = tmp_path / f"{i}_{name}"
        path.write_bytes(_mutations(i, seeds[name]))
        try:
            reader = open_reader(path, ReadOptions())
            for chunk in reader.chunks():
                assert chunk.table.num_rows + len(chunk.bad) == chunk.rows_read
            if hasattr(reader, "close"):
                reader.close()
        except InputFileError:
            pass
