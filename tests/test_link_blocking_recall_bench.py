"""bench/linkage/blocking_recall.py prints missed pairs in clear on request, never into --json."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

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
    names = {v for c in ("given_name", "family_name") for v in table.column(c).to_pylist()
             if v and len(v) > 3}
    # a tiny cap misses pairs, so examples were shown ... and none of their names was written
    assert any(name in printed for name in names)
    assert not [name for name in names if name in written]
