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


def test_one_way_by_column_splits_the_one_way_error_by_column() -> None:
    import numpy as np

    from safelight.release.combos import CombinationCounts
    from safelight.release.evaluate import evaluate
    from safelight.release.table import CategoricalTable

    bench = _bench()
    # column a: values x (20 people) and y (12); column b: z (30), w (2, under k)
    codes = np.array([[1, 2]] * 20 + [[2, 2]] * 10 + [[2, 1]] * 2, np.int32)
    t = CategoricalTable(("a", "b"), (("x", "y"), ("w", "z")), codes)
    # released: x 25 (error 0.25), y missing (lost: 1), z 30 (exact)
    rel = CombinationCounts(t.radix, 1, {(0,): (np.array([1]), np.array([25])),
                                         (1,): (np.array([2]), np.array([30]))})
    parts = bench.one_way_by_column(t, rel, 11)
    assert parts == {"a": round(1.25 / 3, 4), "b": 0.0}
    assert abs(sum(parts.values()) - evaluate(t, rel, 11, 1).errors()[0]) < 1e-3
    assert bench.blank_share(t.with_codes(np.array([[1, 0], [0, 0]], np.int32))) == 0.75
    runs = [dict(_run([0.1], 0.1, 1, 1.0), one_way_by_column={"a": v, "b": 0.0})
            for v in (0.3, 0.1, 0.2)]
    assert bench.median_of(runs)["one_way_by_column"] == {"a": 0.2, "b": 0.0}
