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
inside the process from the loaded corpus to the written output files (``write_outputs``:
clusters.csv, networks.csv, templates.csv with every cluster's template and slots, leads.csv,
leads.html, ...; the machine is shared, so CPU seconds of the main process and of the worker
processes are reported too). Memory: the peak, sampled every ``--memory-every`` seconds
(0.5; it was 0.2 until 2026-11-30), of the whole process tree's proportional set size (PSS:
pages shared by the forked workers and the main process count once) and of its resident set
sum, besides the main process's own maxrss; the same sampling records each process's CPU
seconds (``cpu_per_process_s``: main process, cluster and background workers). The sampler is
a thread of the main process and its CPU counts there: each sample makes the kernel walk the
page tables of every process of the tree (about 30 ms for a 3 GB process), which at 1M ads and
0.2 s took 190 of the main process's ~300 CPU-s at load 8–10; ``cpu_sampler_s`` reports it.

Corpora are generated once per (size, regime, seed) in a separate process and cached as Parquet
(``--cache``, default ``/tmp/safelight_detect_corpora``): at a million ads the generator takes
minutes.

    python bench/detect/run.py                          # 10k and 100k, easy and hard
    python bench/detect/run.py --sizes 10000 --regimes hard
    python bench/detect/run.py --sizes 1000000 --regimes hard --workers 2 --no-baseline
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REGIMES = {
    # edits per word; boilerplate per ad; share of operators copying another's template
    "easy": {"edit_rate": 0.01, "max_boilerplate": 1, "copy_share": 0.05},
    "medium": {"edit_rate": 0.05, "max_boilerplate": 2, "copy_share": 0.15},
    "hard": {"edit_rate": 0.13, "max_boilerplate": 3, "copy_share": 0.15},
}
HERE = Path(__file__).resolve().parent
COLUMNS = ("ad_id", "text", "site", "city", "posted_at", "region", "operator")


def corpus_path(cache: Path, size: int, regime: str, seed: int) -> Path:
    return cache / f"corpus_{size}_{regime}_{seed}.parquet"


def make_corpus(path: Path, size: int, regime: str, seed: int) -> None:
    """Generate a corpus and write it as Parquet (run in a process of its own)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from safelight.detect.corpus import CorpusSettings, generate_corpus

    corpus = generate_corpus(CorpusSettings(n_ads=size, seed=seed, **REGIMES[regime]))
    table = pa.table({c: getattr(corpus, c) for c in COLUMNS})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_memory(pid: int, cpu: dict[int, tuple[str, float]] | None = None) -> tuple[int, int]:
    """(PSS, RSS) in bytes of process ``pid`` and all its descendants (Linux /proc); with
    ``cpu``, each process's CPU seconds so far (user + system) and nice value are recorded in
    it by pid."""
    pss = rss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if cpu is not None:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                cpu[p] = (f"nice {fields[16]}", (int(fields[11]) + int(fields[12])) / _TICK)
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return pss, rss


class PeakMemory:
    """Samples the process tree's PSS and RSS every ``every`` seconds in a thread."""

    def __init__(self, every: float = 0.5) -> None:
        self.peak_pss = self.peak_rss = 0
        self.t0 = time.perf_counter()
        self.timeline: list[tuple[float, float]] = []  # (seconds, tree PSS in MB), every ~1 s
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (nice, CPU s when last seen)
        # the sampler's own CPU seconds: they count in the main process's (reading a 3 GB
        # process's smaps_rollup takes the kernel about 30 ms), not in the pipeline's
        self.own_cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            pss, rss = _tree_memory(os.getpid(), self.cpu)
            self.own_cpu = time.thread_time()
            self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)
            now = time.perf_counter() - self.t0
            if not self.timeline or now - self.timeline[-1][0] >= 1.0:
                self.timeline.append((round(now, 1), round(pss / 2**20, 1)))
            self._stop.wait(every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def child(size: int, regime: str, workers: int, seed: int, cache: Path,
          baseline: bool = True, memory_every: float = 0.5) -> dict[str, object]:
    """One run, inside the child process."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from safelight.detect.columns import TextColumn
    from safelight.detect.metrics import adjusted_rand_index, pairwise_scores
    from safelight.detect.networks import contact_networks
    from safelight.detect.pipeline import AdTable, analyse, write_outputs
    from safelight.detect.templates import ClusterSettings, cluster_ads

    memory = PeakMemory(memory_every)
    t = time.perf_counter()
    table = pq.read_table(corpus_path(cache, size, regime, seed))
    # what read_ads gives: compact columns (Arrow strings), not Python lists; the truth as codes
    cols = {c: TextColumn(table.column(c)) for c in COLUMNS if c != "operator"}
    truth = table.column("operator").to_numpy()
    del table
    # Arrow's allocator keeps the Parquet decoding buffers (about 0.6 GB at a million ads)
    pa.default_memory_pool().release_unused()
    load_s = time.perf_counter() - t
    ads = AdTable(cols["ad_id"], cols["text"], cols["site"], cols["city"], cols["posted_at"],
                  cols["region"])
    cpu0 = time.process_time()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    analysis = analyse(ads, ClusterSettings(), workers)
    t_out = time.perf_counter()
    marks = {"analyse_start": round(t - memory.t0, 1), "write_start": round(t_out - memory.t0, 1)}
    with tempfile.TemporaryDirectory(prefix="detect_bench_") as out_dir:
        write_outputs(analysis, out_dir)
        outputs = sorted(p.name for p in Path(out_dir).iterdir())
    wall = time.perf_counter() - t
    write_s = time.perf_counter() - t_out
    cpu = time.process_time() - cpu0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    memory.stop()
    cpu_workers = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    ours = pairwise_scores(analysis.clusters.labels, truth)
    ours["ari"] = adjusted_rand_index(analysis.clusters.labels, truth)

    base: dict[str, float] = {}
    plain_s = 0.0
    if baseline:
        t = time.perf_counter()
        plain = cluster_ads(ads.text, ClusterSettings(boilerplate_min_df=10**12, relative=0.0,
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
        "load_s": round(load_s, 2), "wall_s": round(wall, 2), "write_s": round(write_s, 2),
        "outputs": outputs, "cpu_s": round(cpu, 2),
        # the memory sampler's CPU seconds (a thread of the main process, so within cpu_s and
        # the main process's cpu_per_process_s; not the pipeline's)
        "cpu_sampler_s": round(memory.own_cpu, 2), "memory_every_s": memory_every,
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
        "indicator_hit_ads": analysis.n_with_hits(),
        "indicator_flagged_ads": analysis.n_flagged(),
        "safelight": {k: round(float(v), 4) for k, v in ours.items()},
        "plain_minhash": ({**{k: round(float(v), 4) for k, v in base.items()},
                           "wall_s": round(plain_s, 2)} if base else {}),
        "networks_naive": {k: round(float(v), 4) for k, v in net_naive.items()},
        "networks_hub_aware": {k: round(float(v), 4) for k, v in net_ours.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_tree_pss_mb": round(memory.peak_pss / 2**20, 1),
        "peak_tree_rss_mb": round(memory.peak_rss / 2**20, 1),
        "memory_timeline": {"marks": marks, "tree_pss_mb": memory.timeline},
        # CPU seconds of every process of the tree as last sampled (the workers: the cluster
        # pool at the run's nice, the background pool 4 higher)
        "cpu_per_process_s": {str(p): [n, round(c, 1)] for p, (n, c) in memory.cpu.items()},
        "load_average": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--regimes", nargs="+", default=["easy", "hard"], choices=list(REGIMES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/safelight_detect_corpora"),
                    help="folder for the generated corpora (Parquet, made once)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the plain MinHash baseline (it doubles the time at 1M ads)")
    ap.add_argument("--memory-every", type=float, default=0.5,
                    help="seconds between samples of the process tree's memory (each costs "
                         "the kernel tens of ms of CPU at 1M ads; the CPU is reported)")
    ap.add_argument("--child", nargs=2, metavar=("SIZE", "REGIME"), help=argparse.SUPPRESS)
    ap.add_argument("--make-corpus", nargs=2, metavar=("SIZE", "REGIME"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_corpus:
        size, regime = int(args.make_corpus[0]), args.make_corpus[1]
        make_corpus(corpus_path(args.cache, size, regime, args.seed), size, regime, args.seed)
        return
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.workers, args.seed,
                               args.cache, not args.no_baseline,
                               args.memory_every)))
        return
    results = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    for size in args.sizes:
        for regime in args.regimes:
            common = ["--seed", str(args.seed), "--cache", str(args.cache),
                      "--memory-every", str(args.memory_every)]
            if not corpus_path(args.cache, size, regime, args.seed).exists():
                t = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--make-corpus", str(size), regime,
                                *common], env=env, check=True)
                print(f"generated {size:,} {regime} ads in {time.perf_counter() - t:.0f} s",
                      flush=True)
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(size), regime, "--workers",
                 str(args.workers), *common, *(["--no-baseline"] if args.no_baseline else [])],
                capture_output=True, text=True, env=env, check=False)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(f"run {size} {regime} failed")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(res)
            s, b = res["safelight"], res["plain_minhash"]
            nn, nh = res["networks_naive"], res["networks_hub_aware"]
            plain = (f"plain MinHash F1={b['f1']:.3f} P={b['precision']:.3f}" if b
                     else "plain MinHash not run")
            print(f"{size:>9,} {regime:<6} safelight P={s['precision']:.3f} R={s['recall']:.3f} "
                  f"F1={s['f1']:.3f} ARI={s['ari']:.3f} | {plain} | phone links P "
                  f"naive={nn['precision']:.3f} hub-aware={nh['precision']:.3f} | "
                  f"{res['wall_s']:.1f}s ({res['ads_per_s']:.0f} ads/s; CPU {res['cpu_s']:.0f}s "
                  f"+ workers {res['cpu_workers_s']:.0f}s, memory sampler "
                  f"{res['cpu_sampler_s']:.0f}s of the main's; load {res['load_average'][0]:.1f}), "
                  f"peak tree PSS {res['peak_tree_pss_mb']:.0f} MB (RSS sum "
                  f"{res['peak_tree_rss_mb']:.0f} MB)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv), "results": results},
                                   indent=2), "utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
