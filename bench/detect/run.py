"""Detect benchmark: cluster quality, throughput and memory on generated templated ads.

For each size (default 10k and 100k ads) and regime it generates a corpus with the project's
own generator (`safelight.detect.corpus`: operators with templates, paraphrase, slot changes,
word edits, boilerplate shared across operators, copied templates, obfuscated phones, mixed
languages, hub phone numbers) and runs, each size/regime in a fresh process so that peak memory
is its own:

* **safelight** — the whole `detect` pipeline end to end (contact extraction, template
  clustering with boilerplate down-weighting and contact veto, template/slot output for every
  cluster, contact networks, leads);
* **plain MinHash-LSH** — the same MinHash/LSH/verification code with boilerplate handling,
  local scaling, triangle support and contacts switched off (a near-duplicate baseline);
* the **indicator lexicon** runs inside the pipeline (its time is the ``indicators`` step);
* **naive phone linking** vs **hub-aware networks** — ads linked by any shared contact point,
  against the same with hub contact points set aside.

Quality is pairwise precision/recall/F1 and ARI against the operator truth. Time is wall time
inside the process (the machine is shared; CPU seconds are reported too); memory is the child
process's peak resident set (maxrss).

    python bench/detect/run.py                          # 10k and 100k, easy and hard
    python bench/detect/run.py --sizes 10000 --regimes hard
    python bench/detect/run.py --sizes 1000000 --regimes hard --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REGIMES = {
    # edits per word; boilerplate per ad; share of operators copying another's template
    "easy": {"edit_rate": 0.01, "max_boilerplate": 1, "copy_share": 0.05},
    "medium": {"edit_rate": 0.05, "max_boilerplate": 2, "copy_share": 0.15},
    "hard": {"edit_rate": 0.13, "max_boilerplate": 3, "copy_share": 0.15},
}
HERE = Path(__file__).resolve().parent


def child(size: int, regime: str, workers: int, seed: int) -> dict[str, object]:
    """One run, inside the child process."""
    from safelight.detect.corpus import CorpusSettings, generate_corpus
    from safelight.detect.metrics import adjusted_rand_index, pairwise_scores
    from safelight.detect.networks import contact_networks
    from safelight.detect.pipeline import AdTable, analyse
    from safelight.detect.templates import ClusterSettings, cluster_ads

    t = time.perf_counter()
    corpus = generate_corpus(CorpusSettings(n_ads=size, seed=seed, **REGIMES[regime]))
    gen_s = time.perf_counter() - t
    ads = AdTable(corpus.ad_id, corpus.text, corpus.site, corpus.city, corpus.posted_at,
                  corpus.region)
    cpu0 = time.process_time()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    analysis = analyse(ads, ClusterSettings(), workers)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_workers = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    truth = corpus.operator
    ours = pairwise_scores(analysis.clusters.labels, truth)
    ours["ari"] = adjusted_rand_index(analysis.clusters.labels, truth)

    t = time.perf_counter()
    plain = cluster_ads(corpus.text, ClusterSettings(boilerplate_min_df=10**12, relative=0.0,
                                                      support_below=0.0, threshold=0.5,
                                                      refine_rounds=0))
    plain_s = time.perf_counter() - t
    base = pairwise_scores(plain.labels, truth)
    base["ari"] = adjusted_rand_index(plain.labels, truth)

    naive = contact_networks(analysis.contacts, hub_min=10**12)
    net_naive = pairwise_scores(naive.labels, truth)
    net_ours = pairwise_scores(analysis.networks.labels, truth)
    return {
        "size": size, "regime": regime, "settings": REGIMES[regime], "workers": workers,
        "generate_s": round(gen_s, 2), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "cpu_workers_s": round(cpu_workers, 2), "ads_per_s": round(size / wall, 1),
        "ads_per_cpu_s": round(size / (cpu + cpu_workers), 1),
        "steps_s": {k: round(v, 2) for k, v in analysis.timings.items()},
        "cluster_steps_s": {k: round(v, 2) for k, v in analysis.clusters.timings.items()},
        "clusters_2plus": len(analysis.cluster_summaries), "leads": len(analysis.leads),
        "candidates": analysis.clusters.n_candidates,
        "lsh_neighbours": analysis.clusters.lsh_neighbours,
        "refine": {"attached": analysis.clusters.refine.attached,
                   "merged": analysis.clusters.refine.merged},
        "hubs": len(analysis.networks.hubs),
        "indicator_hit_ads": sum(1 for x in analysis.indicators if x.indicators),
        "indicator_flagged_ads": sum(1 for x in analysis.indicators if x.flagged),
        "safelight": {k: round(float(v), 4) for k, v in ours.items()},
        "plain_minhash": {**{k: round(float(v), 4) for k, v in base.items()},
                          "wall_s": round(plain_s, 2)},
        "networks_naive": {k: round(float(v), 4) for k, v in net_naive.items()},
        "networks_hub_aware": {k: round(float(v), 4) for k, v in net_ours.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--regimes", nargs="+", default=["easy", "hard"], choices=list(REGIMES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--child", nargs=2, metavar=("SIZE", "REGIME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.workers, args.seed)))
        return
    results = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    for size in args.sizes:
        for regime in args.regimes:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(size), regime, "--workers",
                 str(args.workers), "--seed", str(args.seed)],
                capture_output=True, text=True, env=env, check=False)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(f"run {size} {regime} failed")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(res)
            s, b = res["safelight"], res["plain_minhash"]
            nn, nh = res["networks_naive"], res["networks_hub_aware"]
            print(f"{size:>9,} {regime:<6} safelight P={s['precision']:.3f} R={s['recall']:.3f} "
                  f"F1={s['f1']:.3f} ARI={s['ari']:.3f} | plain MinHash F1={b['f1']:.3f} "
                  f"P={b['precision']:.3f} | phone links P naive={nn['precision']:.3f} "
                  f"hub-aware={nh['precision']:.3f} | {res['wall_s']:.1f}s "
                  f"({res['ads_per_s']:.0f} ads/s; CPU {res['cpu_s']:.0f}s + workers "
                  f"{res['cpu_workers_s']:.0f}s), {res['peak_rss_mb']:.0f} MB", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv), "results": results},
                                   indent=2), "utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
