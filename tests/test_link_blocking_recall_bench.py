"""bench/linkage/blocking_recall.py prints missed pairs in clear on request, never into --json."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from leak_search import clear_values, leaked

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "linkage" / "blocking_recall.py"


def test_examples_are_printed_but_never_written_to_json(tmp_path, monkeypatch, capsys):
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    table, pid = generate_linkage_pairs(600, 600, seed=3).combined()
    pq.write_table(table, tmp_path / "records_600_seed3.parquet")
    np.save(tmp_path / "truth_600_seed3.npy", pid)
    spec = importlib.util.spec_from_file_location("blocking_recall", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "result.json"
    monkeypatch.setattr(sys, "argv", ["blocking_recall.py", "--sizes", "600", "--seed", "3",
                                      "--cache", str(tmp_path), "--examples", "2",
                                      "--max-block", "3", "--json", str(out)])
    bench.main()
    printed = capsys.readouterr().out
    written = out.read_text("utf-8")
    assert json.loads(written)[0]["records"] == 1200
    values = clear_values(table)
    # a tiny cap misses pairs, so examples were shown ... and none of their identities
    # (names, phones, documents, addresses, dates; as written or normalised) was written
    assert leaked(values, printed)
    found = leaked(values, written)
    assert not found, found[:5]


def test_names_only_misses_are_counted_with_what_finding_them_would_cost():
    """Two sources: an Olena Melnyk without a birth year whose true pair has one, among
    other Olena Melnyks and a Daria Melnyk; nothing else in common."""
    import pyarrow as pa

    from safelight.link.prepare import prepare

    spec = importlib.util.spec_from_file_location("blocking_recall", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = [("a", "Olena", "Melnyk", None), ("b", "Olena", "Melnyk", 1990),
            ("b", "Olena", "Melnyk", 1971), ("a", "Olena", "Melnyk", 1985),
            ("b", "Daria", "Melnyk", None), ("b", "Melnyk", "Olena", 1986)]
    table = pa.table({"contributor": [r[0] for r in rows],
                      "record_id": [str(i) for i in range(len(rows))],
                      "given_name": [r[1] for r in rows], "family_name": [r[2] for r in rows],
                      "birth_year": [r[3] for r in rows]})
    records = prepare(table)
    contributor = records.codes.column["contributor"]

    def names_only(a: int, b: int) -> dict:
        return bench._names_only(records, np.array([a]), np.array([b]), contributor)

    # the year-less record 0 against the three Olena Melnyks of source b (one swapped);
    # Daria is another name, and has no year: 0 pairs from her
    assert names_only(0, 1) == {"missed": 1, "pairs_to_reach": 3}
    assert names_only(3, 2)["missed"] == 1  # years 14 apart: only the names agree
    assert names_only(3, 5)["missed"] == 0  # swapped names, years one apart: not names alone
    assert names_only(0, 4)["missed"] == 0  # Olena and Daria: the names differ
