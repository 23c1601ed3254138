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
        [--cache /tmp/safelight-pprl-cache] [--packages /tmp/pprl-packages] [--json out.json]
        [--population demo|long-tail]

``--population long-tail`` draws family names from the long-tailed pools
(``generate_linkage_pairs(surname_tail=True)``, as ``scale.py --population long-tail``); its
problems and packages are kept apart (``pprl_N_sS_tail``).

Timings are noisy on a shared machine: CPU seconds (all threads of the process, DuckDB's
included) and the load average are reported next to wall times.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def _stem(n: int, seed: int, tail: bool) -> str:
    return f"pprl_{n}_s{seed}" + ("_tail" if tail else "")


def problem(n: int, seed: int, cache: Path | None, tail: bool = False
            ) -> tuple[pa.Table, pa.Table, np.ndarray, int]:
    """(left, right, true person of every left then right record, true pairs) of the N × N
    problem (``tail``: the long-tail population); with ``cache``, read from (or written once
    to) ``cache/pprl_{n}_s{seed}[_tail]/``."""
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    where = cache / _stem(n, seed, tail) if cache else None
    if where is not None and (where / "true_pairs").is_file():
        left, right = (pq.read_table(where / f"{side}.parquet") for side in ("left", "right"))
        pid = np.load(where / "person.npy")
        return left, right, pid, int((where / "true_pairs").read_text())
    p = generate_linkage_pairs(n, n, seed=seed, surname_tail=tail)
    pid = np.concatenate([p.left_person, p.right_person])
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
        pq.write_table(p.left, where / "left.parquet")
        pq.write_table(p.right, where / "right.parquet")
        np.save(where / "person.npy", pid)
        (where / "true_pairs").write_text(str(p.true_pairs))
    return p.left, p.right, pid, p.true_pairs


def package_persons(er, left: pa.Table | pa.ChunkedArray, right: pa.Table | pa.ChunkedArray,
                    pid: np.ndarray) -> np.ndarray:
    """The true person of each record of ``er`` (read from the packages of ``left`` and
    ``right`` — the tables, or their ``record_id`` columns —, whose records a package holds in
    a random order), by contributor and record id; ``pid`` is aligned with the left rows, then
    the right ones."""
    from safelight.demo.linkage_pairs import persons_by_record

    ids = [t.column("record_id") if isinstance(t, pa.Table) else t for t in (left, right)]
    n_left = len(ids[0])
    return persons_by_record(er.contributor, er.record_id, {
        "left": (ids[0].to_pylist(), pid[:n_left]), "right": (ids[1].to_pylist(), pid[n_left:])})


def encode(left: pa.Table, right: pa.Table, work: Path) -> tuple[list[Path], dict]:
    """Encode both sources under a new key in ``work`` (each contributor timed on its own);
    when ``work`` already holds them (``--packages``), reuse them and their timings."""
    from safelight.identity.encode import encode_table, load_key, new_key, write_package

    done = work / "encoding.json"
    paths = [work / "left.enc", work / "right.enc"]
    if done.is_file():
        return paths, json.loads(done.read_text())
    work.mkdir(parents=True, exist_ok=True)
    # the contributors' key: never kept beside the packages (the hub never holds it, and a
    # re-run with --packages needs only the packages)
    with tempfile.TemporaryDirectory(prefix="safelight-pprl-key-") as kd:
        new_key(Path(kd) / "key")
        key = load_key(Path(kd) / "key")
    timing: dict = {"encode_s": 0.0, "encode_cpu_s": 0.0, "encode_cpu_s_per_contributor": []}
    for name, t in (("left", left), ("right", right)):
        t0, c0 = time.perf_counter(), time.process_time()
        write_package(encode_table(t, key, contributor=name), work / f"{name}.enc")
        cpu = time.process_time() - c0
        timing["encode_s"] = round(timing["encode_s"] + time.perf_counter() - t0, 1)
        timing["encode_cpu_s"] = round(timing["encode_cpu_s"] + cpu, 1)
        timing["encode_cpu_s_per_contributor"].append(round(cpu, 1))
    done.write_text(json.dumps(timing))
    return paths, timing


class PeakRSS(threading.Thread):
    """The peak resident memory of this process from now on (sampled every 0.2 s): the hub's
    own peak, without what encoding held before it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.running = 0, True

    def run(self) -> None:
        while self.running:
            with open("/proc/self/statm", encoding="ascii") as fh:
                rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            self.peak = max(self.peak, rss)
            time.sleep(0.2)


def worker(n: int, seed: int, cache: Path | None, packages: Path | None, tail: bool = False
           ) -> dict:
    from safelight.link import pairwise_scores
    from safelight.link.encoded import read_packages
    from safelight.link.pprl import PPRLSettings, link_encoded

    left, right, pid, true_pairs = problem(n, seed, cache, tail)
    with tempfile.TemporaryDirectory(prefix="safelight-pprl-scale-") as tmp:
        work = packages / _stem(n, seed, tail) if packages else Path(tmp)
        paths, timing = encode(left, right, work)
        ids = (left.column("record_id"), right.column("record_id"))  # the truth's key
        del left, right  # the hub holds no clear table
        sampler = PeakRSS()
        sampler.start()
        t1, c1 = time.perf_counter(), time.process_time()
        er = read_packages(paths)
        res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
        wall, cpu = time.perf_counter() - t1, time.process_time() - c1
        sampler.running = False
        sampler.join()
        pid = package_persons(er, *ids, pid)
    scores = pairwise_scores(res.labels, pid)
    c = res.comparisons
    found = int((pid[c.a] == pid[c.b]).sum())
    return {"n": n, **scores, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            **timing,
            "candidate_pairs": len(c.a), "blocking_recall": found / true_pairs,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "hub_peak_rss_mb": round(sampler.peak / 2**20),
            "load_average": round(os.getloadavg()[0], 1),
            "timings": {k: round(v, 1) for k, v in res.timings.items()}}


def answer_as_worker(result: Callable[[], dict]) -> None:
    """The child's side of a one-process-per-size run: the log on stderr, ``result()`` as one
    JSON line on stdout (the line the parent reads)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    print(json.dumps(result()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, help="generate each problem once and keep it here "
                    "(e.g. /tmp/safelight-pprl-cache): 1M × 1M takes minutes to generate")
    ap.add_argument("--packages", type=Path, help="keep the encoded packages (and their key) "
                    "here and reuse them in later runs: re-runs then time the hub alone")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--population", choices=("demo", "long-tail"), default="demo",
                    help="family names from the demo's head lists (default) or the long-tailed "
                    "pools")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        answer_as_worker(lambda: worker(args.worker, args.seed, args.cache, args.packages,
                                        args.population == "long-tail"))
        return
    results = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--worker", str(n), "--seed", str(args.seed),
               "--population", args.population]
        if args.cache:
            cmd += ["--cache", str(args.cache)]
        if args.packages:
            cmd += ["--packages", str(args.packages)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{n:>9,}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        print(proc.stderr.strip(), file=sys.stderr, flush=True)  # the hub's log
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{n:>9,} x {n:,}: P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f}  "
              f"hub {r['wall_s']} s, {r['cpu_s']} CPU-s (+ encode {r['encode_s']} s, "
              f"{r['encode_cpu_s']} CPU-s)  peak {r['peak_rss_mb']} MB (hub {r['hub_peak_rss_mb']} MB)  load {r['load_average']}  "
              f"candidates {r['candidate_pairs']:,}  blocking recall "
              f"{r['blocking_recall']:.4f}  {r['timings']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
