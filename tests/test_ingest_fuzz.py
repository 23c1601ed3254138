"""Fuzz the whole ingest (reader → converter → store) with damaged files.

Every mutated file either is refused with a one-line InputFileError (nothing written) or is
ingested with rows read = accepted + quarantined. Any other exception is a bug.
"""

from __future__ import annotations

import csv
import io
import json
import random

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
from ingest_support import HEADER, good_row

from safelight.errors import InputFileError
from safelight.ingest import ingest_file


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 10)):
        pos = rnd.randrange(len(out) + 1)
        op = rnd.random()
        if op < 0.35 and out:
            out[min(pos, len(out) - 1)] = rnd.choice(b';,"\n\r\x00\xff\xc3' + bytes([rnd.randrange(256)]))
        elif op < 0.7:
            out[pos:pos] = rnd.choice([b";", b'"', b"\n", b"\r\n", b"31.02.1990", b"\xd0", b"NA", b";;;", b"-99"])
        else:
            del out[pos:pos + rnd.randint(1, 30)]
    return bytes(out)


def _seeds() -> dict[str, bytes]:
    rows = [HEADER] + [good_row(i) for i in range(1, 40)]
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)
    records = [dict(zip(HEADER, r, strict=True)) for r in rows[1:]]
    xlsx = io.BytesIO()
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(xlsx)
    parquet = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), parquet)
    return {
        "a.csv": buf.getvalue().encode("utf-8"),
        "a.json": json.dumps(records, ensure_ascii=False).encode("utf-8"),
        "a.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8"),
        "a.xlsx": xlsx.getvalue(),
        "a.parquet": parquet.getvalue(),
    }


def test_fuzz_ingest_accounts_for_every_row_or_refuses_the_file(tmp_path, hub, profile):
    seeds = _seeds()
    rnd = random.Random(20231)
    ingested = refused = 0
    for i in range(250):
        name = list(seeds)[i % len(seeds)]
        path = tmp_path / f"{i}-{name}"
        path.write_bytes(_mutate(rnd, seeds[name]))
        before = hub.con.execute("SELECT count(*) FROM contributions").fetchone()[0]
        try:
            result = ingest_file(hub, path, contributor=f"c{i}", profile=profile)
        except InputFileError:
            refused += 1
            assert hub.con.execute("SELECT count(*) FROM contributions").fetchone()[0] == before
            continue
        ingested += 1
        assert result.rows_read == result.rows_accepted + result.rows_quarantined
    assert ingested > 100 and refused > 0  # the fuzz reached both outcomes
    # the hub stays consistent: every contribution's counts match its rows
    mismatches = hub.con.execute("""
        SELECT count(*) FROM contributions k
        WHERE rows_quarantined <> (SELECT count(*) FROM quarantine q WHERE q.contribution_id = k.contribution_id)
    """).fetchone()[0]
    assert mismatches == 0
    assert hub.verify_audit()[0]
