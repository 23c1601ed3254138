"""Privacy-preserving linkage at scale on the generated two-source problem.

For each size N, :func:`safelight.demo.linkage_pairs.generate_linkage_pairs` writes an N × N
problem (the one ``scale.py`` uses for clear mode: transliterations, typos, nicknames, swaps,
placeholder and missing dates, moved addresses, households). Each source is encoded on its own
into a contribution package with one shared key (:mod:`safelight.identity.encode`, default
settings); the hub links the two packages (:func:`safelight.link.pprl.link_encoded`, two-source:
cross pairs only, one-to-one, threshold 0.5 — no oracle). Each size runs in a child process so
wall time and peak memory are its own. Encoding time (both contributors) is reported apart
from the hub's linkage time. Scores are pairwise against the truth; blocking recall is the
share of true pairs among the candidate pairs.

    PYTHONPATH=src python bench/linkage/pprl_scale.py --sizes 10000 100000 [--seed 1]
        [--json out.json]

Timings are noisy on a shared machine.
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


def worker(n: int, seed: int) -> dict:
    from safelight.demo.linkage_pairs import generate_linkage_pairs
    from safelight.identity.encode import encode_table, load_key, new_key, write_package
    from safelight.link import pairwise_scores
    from safelight.link.encoded import read_packages
    from safelight.link.pprl import PPRLSettings, link_encoded

    problem = generate_linkage_pairs(n, n, seed=seed)
    pid = np.concatenate([problem.left_person, problem.right_person])
    with tempfile.TemporaryDirectory(prefix="safelight-pprl-scale-") as tmp:
        work = Path(tmp)
        new_key(work / "key")
        key = load_key(work / "key")
        t0 = time.perf_counter()
        paths = [write_package(encode_table(t, key, contributor=name), work / f"{name}.enc")
                 for name, t in (("left", problem.left), ("right", problem.right))]
        enc_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        er = read_packages(paths)
        res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
        wall = time.perf_counter() - t1
    scores = pairwise_scores(res.labels, pid)
    c = res.comparisons
    found = int((pid[c.a] == pid[c.b]).sum())
    return {"n": n, **scores, "wall_s": round(wall, 1), "encode_s": round(enc_s, 1),
            "candidate_pairs": len(c.a), "blocking_recall": found / problem.true_pairs,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "timings": {k: round(v, 1) for k, v in res.timings.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.seed)))
        return
    results = []
    for n in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--worker", str(n), "--seed",
                               str(args.seed)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{n:>9,}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{n:>9,} x {n:,}: P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f}  "
              f"hub {r['wall_s']} s (+ encode {r['encode_s']} s)  peak {r['peak_rss_mb']} MB  "
              f"candidates {r['candidate_pairs']:,}  blocking recall "
              f"{r['blocking_recall']:.4f}  {r['timings']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
