"""Release benchmark: safelight's k-synthetic data and k-aggregates side by side with peers.

    python bench/release/run.py                # full run on ../shared/data/ctdc (read in place)
    python bench/release/run.py --fast         # small, quick (used by the tests)

Methods (each run in its own process so time and peak memory are its own):

* ``safelight k-synthetic``  (k = 11, length 4)
* ``safelight k-aggregates`` (k = 11, length 3, primary + complementary suppression + audit)
* ``SDS-style k-aggregates`` — SDS's reporting rule re-implemented (combinations >= k, counts
  rounded down to a multiple of k, no complementary suppression); SDS's Python package
  (pac-synth) ships only its DP synthesiser, not the k-anonymous mode.
* ``pac-synth DP aggregates`` / ``pac-synth DP synthetic`` (epsilon 4, reporting length 3) — from
  PyPI, when installed; a differentially private peer, shown for leakage (it has no k rule).
* ``safelight DP aggregates`` (epsilon 4, delta 1e-6; with the k = 11 floor and without) and
  ``safelight DP synthetic`` (epsilon 1 and 4, k floor) — OpenDP noise, category lists from
  the standard (``safelight.release.domain``), never from the data; estimated by one model
  fitted to every noisy measurement (``safelight.release.pgm``). A method name ending in
  `` ipf`` (e.g. ``safelight DP synthetic eps 1 k-floor ipf``) runs the earlier estimator
  (row histogram + IPF, the k-synthetic sampler) for comparison; ``safelight DP synthetic ...
  k-floor blank`` the model-based synthesis that blanks values to meet the floor (the previous
  default) instead of sampling the floored counts.
* ``safelight k-anonymous microdata`` (k = 11, all columns quasi-identifiers).

smartnoise-synth (AIM, MST) is not run: the issue measured AIM at 466 s and 4 GB at epsilon 1
(1,782 s and 5 GB at epsilon 4), beyond this benchmark's minutes; its figures are cited from
the issue in docs/release.md.

``--million`` times the methods (all but DP synthesis) on 1,000,000 rows: ``bench_ctdc7.csv``
resampled with replacement (seed 0), written to ``results/million.json``.

All are evaluated by :mod:`safelight.release.evaluate` over combinations of up to 3 values
(error and loss over true combinations with >= 11 people). Writes a results JSON and prints a
markdown table. ``--repeat N`` runs every method N times and reports medians (each run's
errors, lost share and leaks are kept in the JSON): DP noise is not seeded, so single DP runs
move by about +-0.02.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from safelight.release.combos import CombinationCounts, multipliers  # noqa: E402
from safelight.release.table import CategoricalTable, read_table  # noqa: E402

SHARED = Path(os.environ.get("SAFELIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
TABLES = ["bench_ctdc10.csv", "bench_ctdc7.csv"]
METHODS = ["safelight k-synthetic", "safelight k-aggregates", "safelight k-aggregates (suppress)",
           "SDS-style k-aggregates",
           "safelight k-anonymous microdata", "safelight DP aggregates eps 4 k-floor",
           "safelight DP aggregates eps 4 no-floor", "safelight DP synthetic eps 1 k-floor",
           "safelight DP synthetic eps 4 k-floor",
           "pac-synth DP synthetic (eps 4)", "pac-synth DP aggregates (eps 4)"]
MILLION_METHODS = ["safelight k-aggregates", "safelight k-synthetic",
                   "safelight k-anonymous microdata", "safelight DP aggregates eps 4 k-floor",
                   "SDS-style k-aggregates"]
MILLION = 1_000_000
DELTA = 1e-6
K = 11
EVAL_LENGTH = 3


def _load(path: Path, fast: bool, million: bool = False) -> CategoricalTable:
    t = read_table(path)
    if fast:
        t = t.select_rows(np.arange(t.n_rows) < 3000)
    if million:
        idx = np.random.default_rng(0).integers(0, t.n_rows, MILLION)
        t = t.with_codes(t.codes[idx])
    return t


def _public(t: CategoricalTable) -> CategoricalTable:
    from safelight.release.domain import restrict, standard_domain

    return restrict(t, standard_domain(t.columns))[0]


def _back(rows: CategoricalTable, like: CategoricalTable) -> CategoricalTable:
    """Released rows in ``like``'s value lists (other values become missing)."""
    from safelight.release.microdata import evaluation_view

    return evaluation_view(rows, like)


def _knowing(t: CategoricalTable, values: dict[str, set[str]]) -> CategoricalTable:
    """``t`` with each column's value list widened by ``values`` (by column name) it does not
    hold — none of its rows has them — so that a released combination with such a value is
    counted as **fabricated** (true count 0) instead of being read as missing and dropped: the
    public domain's values nobody holds, or a peer's invented ones (the command's own
    evaluation counts them; this benchmark did not until 2026-12-02). The same rows, codes
    remapped to the sorted wider lists."""
    from safelight.standard.crosswalk import normalise_key

    cols, codes = [], t.codes.copy()
    for j, name in enumerate(t.columns):
        known = {normalise_key(v) for v in t.values[j]}
        wider = tuple(sorted(set(t.values[j]) | {v for v in values.get(name, ())
                                                  if v and normalise_key(v) not in known}))
        if len(wider) > len(t.values[j]):
            pos = {v: i + 1 for i, v in enumerate(wider)}
            remap = np.array([0] + [pos[v] for v in t.values[j]], np.int32)
            codes[:, j] = remap[t.codes[:, j]]
        cols.append(wider)
    return CategoricalTable(t.columns, tuple(cols), codes)


def _values_of(rows: list[list[str]] | CategoricalTable | dict[str, int]) -> dict[str, set[str]]:
    """The values per column of released rows (a header row and rows, or a table) or of
    released aggregates (pac-synth's ``column:value;...`` keys)."""
    out: dict[str, set[str]] = {}
    if isinstance(rows, CategoricalTable):
        return {c: set(rows.values[j]) for j, c in enumerate(rows.columns)}
    if isinstance(rows, dict):
        for combo in rows:
            for part in (p for p in combo.split(";") if p):
                c, v = part.split(":", 1)
                out.setdefault(c, set()).add(v)
        return out
    header = rows[0]
    for j, c in enumerate(header):
        out[c] = {r[j] for r in rows[1:]}
    return out


def _encode_rows(rows: list[list[str]], like: CategoricalTable) -> CategoricalTable:
    header, body = rows[0], rows[1:]
    pos = [header.index(c) for c in like.columns]
    codes = np.zeros((len(body), like.n_columns), np.int32)
    for j, p in enumerate(pos):
        index = {v: i + 1 for i, v in enumerate(like.values[j])}
        codes[:, j] = [index.get(r[p], 0) for r in body]
    return like.with_codes(codes)


def _encode_aggregates(agg: dict[str, int], like: CategoricalTable) -> CombinationCounts:
    col = {c: j for j, c in enumerate(like.columns)}
    index = [{v: i + 1 for i, v in enumerate(vals)} for vals in like.values]
    tables: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for combo, count in agg.items():
        parts = [p.split(":", 1) for p in combo.split(";") if p]
        items = sorted((col[c], index[col[c]].get(v, 0)) for c, v in parts)
        if any(code == 0 for _, code in items):
            continue
        s = tuple(j for j, _ in items)
        key = int(np.array([code for _, code in items], np.int64) @ multipliers(like.radix, s))
        tables.setdefault(s, []).append((key, int(count)))
    out = {}
    for s, pairs in tables.items():
        arr = np.array(sorted(pairs), np.int64)
        out[s] = (arr[:, 0], arr[:, 1])
    return CombinationCounts(like.radix, EVAL_LENGTH, out)


def one_way_by_column(sensitive: CategoricalTable, released: CombinationCounts,
                      k: int = K) -> dict[str, float]:
    """Each column's part of the 1-way mean relative error (over values with >= ``k`` people;
    the parts add up to the 1-way error the evaluation reports): which column's values the
    error comes from (on ``bench_ctdc10.csv`` at epsilon 1, citizenship's rare values)."""
    true = CombinationCounts.of(sensitive, 1)
    parts: dict[str, float] = {}
    common = 0
    for (j,), (keys, cnt) in true.tables.items():
        m = cnt >= k
        got = released.lookup((j,), keys[m]).astype(float)
        parts[sensitive.columns[j]] = float(np.sum(np.abs(got - cnt[m]) / cnt[m]))
        common += int(m.sum())
    return {c: round(v / max(common, 1), 4) for c, v in parts.items()}


def blank_share(rows: CategoricalTable) -> float:
    """Share of the values of ``rows`` that are missing (a DP synthetic row keeps a blank
    where no reportable value fits: compare with the sensitive table's own share)."""
    return round(float(np.mean(rows.codes == 0)), 4) if rows.codes.size else 0.0


def _estimator(method: str) -> str:
    if method.endswith(" ipf"):
        return "ipf"
    return "model-blank" if method.endswith(" blank") else "model"


def run_one(method: str, table_path: Path, fast: bool, million: bool = False) -> dict:
    """Run one method on one table in this process; returns its figures."""
    from safelight.release.aggregates import release_aggregates
    from safelight.release.evaluate import counts_of_rows, evaluate

    t = _load(table_path, fast, million)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = None
    extra: dict = {}
    if method == "safelight k-synthetic":
        from safelight.release.synthetic import KSynthesizer

        syn, rep = KSynthesizer(K, 4, iterations=3 if fast else 8).fit_sample(t)
        released, rows = counts_of_rows(syn, EVAL_LENGTH), syn
        extra["length"] = 4
    elif method in ("safelight k-aggregates", "safelight k-aggregates (suppress)"):
        rel = release_aggregates(t, K, EVAL_LENGTH,
                                 method="suppress" if method.endswith("(suppress)") else "intervals")
        released = rel.counts
        extra.update(primary=rel.primary, secondary=rel.secondary,
                     unaudited=rel.suppression.audit_unaudited_cells if rel.suppression else 0)
    elif method == "SDS-style k-aggregates":
        released = release_aggregates(t, K, EVAL_LENGTH, complementary=False,
                                      rounding="down").counts
    elif method == "safelight k-anonymous microdata":
        from safelight.release.microdata import anonymize

        an = anonymize(t, K)
        rows = _back(an.table, t)
        released = counts_of_rows(rows, EVAL_LENGTH)
        extra.update(information_loss=round(an.information_loss, 4),
                     suppressed_records=an.suppressed_records, levels=an.levels)
    elif method.startswith("safelight DP aggregates"):
        from safelight.release.domain import translate
        from safelight.release.dp_aggregates import release_dp_aggregates

        pub = _public(t)
        rel, meas = release_dp_aggregates(pub, 4.0, DELTA, EVAL_LENGTH,
                                          None if "no-floor" in method else K,
                                          estimator=_estimator(method))
        t = _knowing(t, _values_of(pub))  # a released value nobody holds: fabricated
        released = translate(rel.counts, pub, t)
        extra.update(epsilon=round(meas.epsilon, 4), delta=meas.delta,
                     noisy_total=rel.total,
                     floor_weights=meas.accounting.get("floor_weights"))
    elif method.startswith("safelight DP synthetic"):
        from safelight.release.dp_synthetic import synthesize_dp

        eps = 1.0 if "eps 1" in method else 4.0
        pub = _public(t)
        syn, _, meas = synthesize_dp(pub, eps, DELTA, K, iterations=3 if fast else 8,
                                     estimator=_estimator(method))
        t = _knowing(t, _values_of(syn))  # a released value nobody holds: fabricated
        rows = _back(syn, t)
        released = counts_of_rows(rows, EVAL_LENGTH)
        from safelight.release.dp_synthetic import synthesis_length

        extra.update(epsilon=round(meas.epsilon, 4), delta=meas.delta,
                     length=synthesis_length(eps), measured_length=meas.length,
                     blank_share=blank_share(rows), table_blank_share=blank_share(t),
                     floor_weights=meas.accounting.get("floor_weights"),
                     refine_one_way_weight=meas.accounting.get("refine_one_way_weight"))
    elif method.startswith("pac-synth"):
        try:
            import pacsynth
        except ImportError:
            return {"method": method, "skipped": "pac-synth is not installed "
                    "(pip install pac-synth)"}
        raw = [list(t.columns)] + [list(r) for r in zip(*[t.decode_column(j)
                                                          for j in range(t.n_columns)],
                                                        strict=True)]
        params = (pacsynth.DpAggregateSeededParametersBuilder().reporting_length(EVAL_LENGTH)
                  .epsilon(4.0).build())
        synth = pacsynth.DpAggregateSeededSynthesizer(params)
        synth.fit(pacsynth.Dataset(raw))
        if "aggregates" in method:
            agg = synth.get_dp_aggregates(";")
            t = _knowing(t, _values_of(agg))  # an invented value: fabricated
            released = _encode_aggregates(agg, t)
        else:
            sample = synth.sample()
            t = _knowing(t, _values_of(sample))
            rows = _encode_rows(sample, t)
            released = counts_of_rows(rows, EVAL_LENGTH)
    else:
        raise SystemExit(f"unknown method {method}")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    ev = evaluate(t, released, K, EVAL_LENGTH, released_rows=rows)
    if method.startswith("safelight DP"):
        extra["one_way_by_column"] = one_way_by_column(t, released)
    return {
        "method": method, "table": table_path.name, "rows": t.n_rows,
        "released_rows": None if rows is None else rows.n_rows,
        "error": [round(e, 4) for e in ev.errors()],
        "lost_share": round(ev.lost_share(), 4),
        "fabricated": ev.total("fabricated"),
        "fabricated_share": round(ev.total("fabricated") / max(ev.total("released"), 1), 4),
        "leaked": ev.total("leaked"),
        "leaked_share": round(ev.total("leaked") / max(ev.total("released"), 1), 4),
        "leaked_records_share": round(ev.leaked_records_share, 4),
        "leaked_release_rows_share": (None if ev.leaked_release_rows_share is None
                                      else round(ev.leaked_release_rows_share, 4)),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **extra,
    }


def median_of(runs: list[dict]) -> dict:
    """One result from repeated runs of a method: the median of every figure (per length for
    the errors), the runs' individual errors and lost shares kept under ``runs``."""
    if len(runs) == 1 or any("skipped" in r for r in runs):
        return runs[0]
    out = dict(runs[0])
    for key, val in runs[0].items():
        if isinstance(val, bool) or key in ("rows", "delta"):
            continue
        if isinstance(val, int | float):
            vals = [r[key] for r in runs if r.get(key) is not None]
            med = float(np.median(vals))
            out[key] = int(round(med)) if isinstance(val, int) else round(med, 4)
        elif key == "error":
            out[key] = [round(float(np.median([r["error"][i] for r in runs])), 4)
                        for i in range(len(val))]
        elif isinstance(val, dict):  # e.g. one_way_by_column: the median per entry
            out[key] = {c: round(float(np.median([r[key][c] for r in runs if key in r])), 4)
                        for c in val}
    out["runs"] = [{"error": r["error"], "lost_share": r["lost_share"], "leaked": r["leaked"]}
                   for r in runs]
    return out


def _markdown(results: list[dict]) -> str:
    lines = ["| table | method | error 1/2/3-way | lost | fabricated | leaked combos "
             "(records) | rows | time s (CPU s) | peak MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r.get('table', '')} | {r['method']} | skipped: {r['skipped']} "
                         "| | | | | | |")
            continue
        err = " / ".join(f"{e:.3f}" for e in r["error"])
        rows = "" if r["released_rows"] is None else f"{r['released_rows'] / r['rows'] - 1:+.1%}"
        lines.append(
            f"| {r['table']} | {r['method']} | {err} | {r['lost_share']:.1%} | "
            f"{r['fabricated']} ({r['fabricated_share']:.1%}) | {r['leaked']} "
            f"({r['leaked_records_share']:.1%}) | {rows} | {r['seconds']} "
            f"({r.get('cpu_seconds', '')}) | {r['peak_rss_mb']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fast", action="store_true", help="3,000 rows, fewer iterations")
    ap.add_argument("--data", type=Path, default=SHARED / "ctdc", help="folder of the tables")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "release" / "results"
                    / "latest.json")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--million", action="store_true",
                    help="1,000,000 rows of bench_ctdc7.csv resampled; all but DP synthesis")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per method and table; figures are the medians (DP noise is not "
                         "seeded: single DP runs move by about +-0.02)")
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "TABLE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], Path(args.one[1]), args.fast, args.million)))
        return 0
    if args.million:
        tables, methods = ["bench_ctdc7.csv"], MILLION_METHODS
        if args.out.name == "latest.json":
            args.out = args.out.with_name("million.json")
    else:
        tables, methods = TABLES, args.methods.split(",")
    results = []
    for name in tables:
        path = args.data / name
        if not path.is_file():
            print(f"{path} is absent; skipping", file=sys.stderr)
            continue
        for method in methods:
            cmd = [sys.executable, __file__, "--one", method, str(path)]
            if args.fast:
                cmd.append("--fast")
            if args.million:
                cmd.append("--million")
            runs = []
            for _ in range(max(args.repeat, 1)):
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    runs = [{"method": method, "table": name,
                             "skipped": proc.stderr.strip().splitlines()[-1:] or "failed"}]
                    break
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            results.append(median_of(runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "k": K, "eval_length": EVAL_LENGTH, "fast": args.fast, "million": args.million,
        "command": "python bench/release/run.py" + (" --fast" if args.fast else "")
                   + (" --million" if args.million else "")
                   + (f" --repeat {args.repeat}" if args.repeat > 1 else ""),
        "repeat": args.repeat,
        "python": platform.python_version(), "machine": platform.machine(),
        "results": results}, indent=2) + "\n", "utf-8")
    print(_markdown(results))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
