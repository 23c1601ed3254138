"""bench/release/run.py --repeat: medians of repeated (unseeded) DP runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "release" / "run.py"


def _bench():
    spec = importlib.util.spec_from_file_location("release_bench_dp", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(err: list[float], lost: float, leaked: int, seconds: float) -> dict:
    return {"method": "m", "table": "t.csv", "rows": 100, "released_rows": None, "error": err,
            "lost_share": lost, "leaked": leaked, "seconds": seconds, "delta": 1e-6,
            "fabricated": 1, "fabricated_share": 0.01, "leaked_records_share": 0.02,
            "cpu_seconds": seconds, "peak_rss_mb": 100.0}


def test_median_of_takes_each_figure_median_and_keeps_the_runs() -> None:
    bench = _bench()
    runs = [_run([0.1, 0.3, 0.5], 0.12, 70, 3.0), _run([0.2, 0.1, 0.4], 0.08, 50, 9.0),
            _run([0.3, 0.2, 0.6], 0.10, 90, 4.0)]
    med = bench.median_of(runs)
    assert med["error"] == [0.2, 0.2, 0.5]  # per length, not one run's triple
    assert med["lost_share"] == 0.10 and med["leaked"] == 70 and med["seconds"] == 4.0
    assert isinstance(med["leaked"], int) and med["rows"] == 100 and med["delta"] == 1e-6
    assert [r["lost_share"] for r in med["runs"]] == [0.12, 0.08, 0.10]
    assert bench.median_of(runs[:1]) == runs[0]
    skipped = {"method": "m", "table": "t.csv", "skipped": "boom"}
    assert bench.median_of([skipped]) == skipped
    assert "| t.csv | m |" in bench._markdown([med])
