"""Linkage benchmark on the generated demo scenario: safelight (and splink, side by side).

Generates the demo scenario (seed 2023, 20,000 records by default), ingests it into a fresh hub,
links every record with consent to linkage, and scores the persons against the generator's
truth: pairwise precision, recall and F1, clusters vs true persons, blocking recall, candidate
pairs, wall time and peak memory. The default threshold is used (no oracle); a sensitivity
table shows other thresholds for information only.

With ``--pprl``, the same records are also linked privacy-preserving: each contributor's records
are encoded on their own (:mod:`safelight.identity.encode`, one shared key) into a contribution
package, and the packages alone are linked (:func:`safelight.link.pprl.link_encoded`).

With ``--splink PYTHON`` (an interpreter that has ``splink`` installed, kept out of safelight's
environment), the same records — with the same basic cleaning a competent user would do
(Unicode folding, Cyrillic → Latin, E.164 phones) — are linked by splink in a subprocess
(``splink_demo.py``) and scored the same way, and ratios are reported.

    PYTHONPATH=src python bench/linkage/run_demo.py [--records 20000] [--seed 2023]
        [--pprl] [--splink /path/to/python] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_safelight(table: pa.Table, pid: np.ndarray) -> dict:
    from safelight.link import LinkSettings, link_records, pairwise_scores

    t0 = time.perf_counter()
    res = link_records(table, LinkSettings())
    wall = time.perf_counter() - t0
    scores = pairwise_scores(res.labels, pid)
    c = res.comparisons
    found = int((pid[c.a] == pid[c.b]).sum())
    out = {
        "tool": "safelight",
        **scores,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(_peak_mb(), 1),
        "candidate_pairs": len(c.a),
        "blocking_recall": found / scores["true_pairs"],
        "timings": {k: round(v, 2) for k, v in res.timings.items()},
        "em_sessions": res.em.sessions,
        "prior": res.em.model.prior,
    }
    sens = {}
    for th in (0.3, 0.7, 0.9):
        r2 = link_records(table, LinkSettings(threshold=th))
        s2 = pairwise_scores(r2.labels, pid)
        sens[str(th)] = {k: round(s2[k], 4) for k in ("precision", "recall", "f1")}
    out["threshold_sensitivity_for_information"] = sens
    return out


def run_pprl(table: pa.Table, pid: np.ndarray, work: Path) -> dict:
    import pyarrow.compute as pc

    from safelight.demo.linkage_pairs import persons_by_record
    from safelight.identity.encode import encode_table, load_key, new_key, write_package
    from safelight.link import pairwise_scores
    from safelight.link.encoded import read_packages
    from safelight.link.pprl import link_encoded

    new_key(work / "pprl.key")
    key = load_key(work / "pprl.key")
    t0 = time.perf_counter()
    paths, sources = [], {}
    contributors = table.column("contributor")
    for name in sorted(set(contributors.to_pylist())):
        mask = pc.equal(contributors, name)
        part = table.filter(mask)
        sources[name] = (part.column("record_id").to_pylist(),
                         pid[mask.to_numpy(zero_copy_only=False)])
        paths.append(write_package(encode_table(part, key, contributor=name),
                                   work / f"{name}.enc"))
    t_enc = time.perf_counter() - t0
    t1 = time.perf_counter()
    er = read_packages(paths)
    res = link_encoded(er)
    wall = time.perf_counter() - t1
    # a package holds its records in a random order: the truth follows the record ids
    pid_enc = persons_by_record(er.contributor, er.record_id, sources)
    scores = pairwise_scores(res.labels, pid_enc)
    c = res.comparisons
    found = int((pid_enc[c.a] == pid_enc[c.b]).sum())
    return {"tool": "safelight-pprl", **scores, "wall_s": round(wall, 2),
            "encode_s": round(t_enc, 2), "peak_rss_mb": round(_peak_mb(), 1),
            "candidate_pairs": len(c.a), "blocking_recall": found / scores["true_pairs"],
            "timings": {k: round(v, 2) for k, v in res.timings.items()}}


def _splink_input(table: pa.Table, path: Path) -> None:
    """The records with basic cleaning (what a competent splink user would do first)."""
    from safelight.identity.normalise import document_key, fold, locality_key, map_distinct
    from safelight.link.prepare import _phones

    def col(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    y, m, d = (col(x).to_pylist() for x in ("birth_year", "birth_month", "birth_day"))
    dob = [f"{a:04d}-{b:02d}-{c:02d}" if a and b and c else None
           for a, b, c in zip(y, m, d, strict=True)]
    pq.write_table(pa.table({
        "unique_id": pa.array(np.arange(table.num_rows)),
        "source": col("contributor"),
        "first_name": pa.array(map_distinct(col("given_name"), fold).tolist(), pa.string()),
        "surname": pa.array(map_distinct(col("family_name"), fold).tolist(), pa.string()),
        "dob": pa.array(dob, pa.string()),
        "birth_year": col("birth_year").cast(pa.int32()),
        "sex": col("sex"),
        "nationality": col("nationality"),
        "phone": pa.array(_phones(table).tolist(), pa.string()),
        "document": pa.array(map_distinct(col("document_number"), document_key).tolist(),
                             pa.string()),
        "locality": pa.array(map_distinct(col("locality"), locality_key).tolist(), pa.string()),
    }), path)  # fmt: skip


def run_splink(python: str, table: pa.Table, pid: np.ndarray, work: Path) -> dict:
    from safelight.link import pairwise_scores

    inp, out = work / "splink_in.parquet", work / "splink_clusters.parquet"
    _splink_input(table, inp)
    t0 = time.perf_counter()
    proc = subprocess.run([python, str(HERE / "splink_demo.py"), str(inp), str(out)],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"tool": "splink", "error": proc.stderr[-2000:]}
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    clusters = pq.read_table(out).to_pydict()
    labels = np.empty(table.num_rows, dtype=np.int64)
    labels[np.array(clusters["unique_id"])] = np.unique(
        np.array(clusters["cluster_id"], dtype=object).astype(str), return_inverse=True)[1]
    return {"tool": "splink", **pairwise_scores(labels, pid), "wall_s": round(wall, 2), **info}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--splink", help="python interpreter with splink installed")
    ap.add_argument("--pprl", action="store_true", help="also link privacy-preserving")
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    args = ap.parse_args()

    from safelight.demo import read_truth
    from safelight.demo.run import run_demo
    from safelight.link import load_identities
    from safelight.store import open_hub

    with tempfile.TemporaryDirectory(prefix="safelight-bench-link-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        run_demo(work, seed=args.seed, n_records=args.records)
        print(f"scenario: seed {args.seed}, {args.records:,} records generated and ingested "
              f"in {time.perf_counter() - t0:.1f} s")
        truth = read_truth(work / "scenario" / "truth.csv")
        with open_hub(work / "hub.duckdb", read_only=True) as hub:
            table = load_identities(hub)
        keys = zip(table.column("contributor").to_pylist(),
                   table.column("record_id").to_pylist(), strict=True)
        pid = np.array([truth[k] for k in keys])
        print(f"{table.num_rows:,} records with consent to linkage, "
              f"{len(set(pid.tolist())):,} true persons")
        results = [run_safelight(table, pid)]
        if args.pprl:
            results.append(run_pprl(table, pid, work))
        if args.splink:
            results.append(run_splink(args.splink, table, pid, work))
    print(f"\n{'tool':<15} {'precision':>9} {'recall':>7} {'F1':>6} {'clusters':>9} "
          f"{'persons':>8} {'wall s':>7}")
    for r in results:
        if "error" in r:
            print(f"{r['tool']:<15} failed: {r['error']}")
            continue
        print(f"{r['tool']:<15} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>6.4f} "
              f"{r['clusters']:>9,} {r['persons']:>8,} {r['wall_s']:>7.2f}")
    s = results[0]
    print(f"\nsafelight: {s['candidate_pairs']:,} candidate pairs, blocking recall "
          f"{s['blocking_recall']:.4f}, peak RSS {s['peak_rss_mb']:.0f} MB, stages {s['timings']}")
    print(f"threshold sensitivity (information only, default 0.5): "
          f"{s['threshold_sensitivity_for_information']}")
    for r in results[1:]:
        if r["tool"] == "safelight-pprl":
            print(f"safelight-pprl: {r['candidate_pairs']:,} candidate pairs, blocking recall "
                  f"{r['blocking_recall']:.4f}, encoding {r['encode_s']:.1f} s (all "
                  f"contributors), stages {r['timings']}")
    sp = next((r for r in results if r["tool"] == "splink"), None)
    if sp is not None and "error" not in sp:
        print(f"ratios safelight/splink: F1 {s['f1'] - sp['f1']:+.4f} (difference), "
              f"wall time {s['wall_s'] / sp['wall_s']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), "utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
