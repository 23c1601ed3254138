"""Replay saved OpenDP measurements through DP-synthesis variants: paired comparisons.

A DP release cannot be reproduced by seed (the noise comes from OpenDP's samplers), so
comparing two post-processing variants on fresh measurements mixes their difference with the
noise's. This saves ``--measure N`` measurements of ``bench_ctdc10.csv`` once (pickles in
``--dir``; they hold noisy counts only) and replays every saved one through each variant. For
each it prints the evaluation's 1/2/3-way error and lost share of the synthetic rows *and* of
the floored counts the rows are drawn to (so the sampler's own loss shows), and the
fabricated share. Variants (``+`` joins several):

* ``base`` — the release as shipped;
* ``w1=X`` / ``w2=X`` — the value refinement counts the 1-way / 2-way part X times;
* ``p=N`` — N refinement passes instead of :data:`safelight.release.cellrefine.PASSES`;
* ``sd=X`` / ``psd=X`` — candidate values drawn over X noise s.d. of their own / pooled count
  (:data:`safelight.release.pgm.SAMPLE_SD`, :data:`~safelight.release.pgm.POOLED_SD`).

    PYTHONPATH=src python bench/release/dp_replay.py --measure 8 --epsilon 1 --dir /tmp/dpexp
    PYTHONPATH=src python bench/release/dp_replay.py --epsilon 1 --dir /tmp/dpexp \\
        --variants base,w2=2,p=5,sd=1.5,sd=2
"""

from __future__ import annotations

import argparse
import copy
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import run as bench  # noqa: E402  (the sibling script: loading, the public domain, K, DELTA)

from safelight.release import cellrefine, pgm  # noqa: E402
from safelight.release import dp_synthetic as ds  # noqa: E402
from safelight.release.domain import translate  # noqa: E402
from safelight.release.dp import measure_for_model  # noqa: E402
from safelight.release.dp_aggregates import floored_estimate  # noqa: E402
from safelight.release.evaluate import counts_of_rows, evaluate  # noqa: E402
from safelight.release.patterns import expand, merge  # noqa: E402

TABLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "ctdc" / "bench_ctdc10.csv"


def _settings(variant: str, epsilon: float) -> dict:
    out = {"w1": ds.refine_one_way_weight(epsilon), "w2": None, "p": cellrefine.PASSES,
           "sd": 1.0, "psd": 2.0}
    for part in variant.split("+"):
        if part != "base":
            name, value = part.split("=")
            out[name] = float(value) if name != "p" else int(value)
    return out


def replay(meas, variant: str, epsilon: float, table, public):
    """(rows' evaluation, floored counts' evaluation) of one variant on one measurement."""
    s = _settings(variant, epsilon)
    pgm.SAMPLE_SD, pgm.POOLED_SD = s["sd"], s["psd"]
    try:
        meas = copy.deepcopy(meas)
        model = pgm.fit_model(meas, seed=0)
        reportable = ds.reportable_from(floored_estimate(model, meas, 3, float(bench.K)),
                                        float(bench.K))
        weights = {1: s["w1"], **({2: s["w2"]} if s["w2"] else {})}
        # the steps of dp_synthetic.sample_floored, with the refinement's settings exposed
        rows, _ = ds.sample_floored(meas.like, reportable, max(int(round(meas.total)), 1),
                                    bench.K, 3, 8, 0, cells=False)
        pats, w = merge(rows.codes, np.ones(rows.n_rows, np.int64))
        rng = np.random.default_rng(0)
        pats, w = cellrefine.refine_cells(pats, w, reportable, 3, rng, passes=s["p"],
                                          length_weights=weights)
        rows = rows.with_codes(expand(pats, w, rng))
        ds.check_rows(rows, reportable)
        back = bench._back(rows, table)
        ev_rows = evaluate(table, counts_of_rows(back, 3), bench.K, 3, released_rows=back)
        ev_counts = evaluate(table, translate(reportable, public, table), bench.K, 3)
        return ev_rows, ev_counts
    finally:
        pgm.SAMPLE_SD, pgm.POOLED_SD = 1.0, 2.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--measure", type=int, default=0, help="save this many new measurements")
    ap.add_argument("--variants", default="base")
    ap.add_argument("--table", type=Path, default=TABLE)
    args = ap.parse_args()
    table = bench._load(args.table, False)
    public = bench._public(table)
    args.dir.mkdir(parents=True, exist_ok=True)
    for i in range(args.measure):
        with open(args.dir / f"meas_e{args.epsilon:g}_{time.time_ns()}_{i}.pkl", "wb") as fh:
            pickle.dump(measure_for_model(public, args.epsilon, bench.DELTA), fh)
    files = sorted(args.dir.glob(f"meas_e{args.epsilon:g}_*.pkl"))
    if not files:
        raise SystemExit(f"no saved measurements in {args.dir}: run with --measure N first")
    for variant in args.variants.split(","):
        rows, counts, fab, lost = [], [], [], []
        for f in files:
            with open(f, "rb") as fh:
                ev_rows, ev_counts = replay(pickle.load(fh), variant, args.epsilon, table, public)
            rows.append(ev_rows.errors())
            counts.append(ev_counts.errors())
            lost.append((ev_rows.lost_share(), ev_counts.lost_share()))
            fab.append(ev_rows.total("fabricated") / max(ev_rows.total("released"), 1))
        print(f"{variant:>16}: rows {np.median(rows, 0).round(4)} lost {np.median(lost, 0)[0]:.4f}"
              f" fabricated {np.median(fab):.4f} | floored counts "
              f"{np.median(counts, 0).round(4)} lost {np.median(lost, 0)[1]:.4f} "
              f"(medians of {len(files)})", flush=True)


if __name__ == "__main__":
    main()
