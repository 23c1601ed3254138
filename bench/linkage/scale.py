"""Clear-mode linkage at scale: safelight vs splink on generated two-source problems.

For each size N, :func:`safelight.demo.linkage_pairs.generate_linkage_pairs` writes an N × N
problem (seed ``--seed``; half of each source's persons are in the other one; Cyrillic names
in several transliterations, Arabic romanisations, typos, nicknames, swaps, placeholder and
missing birth dates, moved addresses, households). Both tools link the same records, each in
its own child process (so wall time and peak memory are the tool's own):

* safelight: :func:`safelight.link.link_records` with default settings (threshold 0.5, no
  oracle), on both sources as one table (``contributor`` tells them apart). Wall time is
  measured inside the child around ``link_records`` (normalisation, blocking, EM, scoring,
  clustering).
* splink 5 (``--splink PYTHON``, an interpreter with splink installed): ``splink_scale.py``,
  ``link_type="link_only"``, on the cleaned columns of ``run_demo._splink_input``. Its inner
  wall time (after interpreter start and import) is compared.

Scores are pairwise against the truth over all records (a link inside one source is a false
positive). Blocking recall is the share of true pairs among candidate pairs; for splink it is
computed afterwards from its blocking rules (``splink_scale.BLOCKING``) in DuckDB.

``--two-source`` adds a row ``safelight-2src``: ``LinkSettings(two_source=True)``, the mode for
linking two duplicate-free files (pairs only across the sources, one-to-one links);
``--only-two-source`` runs that row alone. ``--cache DIR`` keeps the generated problems (records,
truth and generator statistics) in DIR and reuses them (generating 1M × 1M takes about five CPU
minutes). ``--population long-tail`` draws family names from the long-tailed pools
(``generate_linkage_pairs(surname_tail=True)``: tens of thousands of family names per large
culture, so the namesakes per person stay realistic as N grows) instead of the demo's head
lists (``demo``, the default and every earlier figure); keep each population in its own
``--cache`` directory (a cached problem of the other population is refused).

    PYTHONPATH=src python bench/linkage/scale.py --sizes 10000 100000 \
        --splink /tmp/vsplink/bin/python [--two-source | --only-two-source] [--repeat 1] \
        [--seed 1] [--cache DIR] [--json out.json]

CPU time (user + system, all threads, with safelight's forked workers) is reported next to wall
time: on a shared machine it is the steadier measure of work. safelight's stages are printed
with their wall and CPU seconds (``"<stage> workers"``: the CPU of the forked workers that
ended in that stage; ``estimate`` runs in a worker beside blocking); ``--workers 1`` runs
safelight in one process. Timings are noisy there: with ``--repeat R`` every tool runs R times per size
and the median wall time is reported (quality does not change between repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# -- child: safelight ---------------------------------------------------------------------------


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def safelight_worker(inp: Path, truth: Path, out: Path, variant: str, workers: int = 0
                     ) -> None:
    """Link ``inp``; write labels to ``out`` and print one JSON line. ``variant`` "default":
    :func:`link_records` with default settings; "two_source": ``LinkSettings(two_source=True)``
    (pairs only across the two sources, one-to-one links). ``workers`` > 0 sets
    ``LinkSettings.workers`` (0: its default)."""
    from safelight.link import LinkSettings, link_records

    table = pq.read_table(inp)
    extra = {"workers": workers} if workers > 0 else {}
    cpu0 = _cpu_s() + _children_cpu_s()
    t0 = time.perf_counter()
    res = link_records(table, LinkSettings(two_source=variant == "two_source", **extra))
    wall = time.perf_counter() - t0
    cpu = _cpu_s() + _children_cpu_s() - cpu0  # with the forked workers' CPU
    pid = np.load(truth)
    c = res.comparisons
    cross = res.records.contributor[c.a] != res.records.contributor[c.b]
    np.save(out, res.labels)
    print(json.dumps({
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(_peak_mb(), 1),
        "peak_rss_largest_worker_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "candidate_pairs": int(len(c.a)), "cross_source_candidates": int(cross.sum()),
        "true_pairs_in_candidates": int((pid[c.a] == pid[c.b]).sum()),
        "timings": {k: round(v, 2) for k, v in res.timings.items()},
        "cpu_stages": {k: round(v, 2) for k, v in res.cpu.items()},
        "workers": res.settings.workers,
        "prior": float(res.em.model.prior),
        # EM's training sessions: a match share that falls with the input is the first sign
        # of a model that goes wrong at scale (docs/linkage.md, "What 1M can recover")
        "em_sessions": [{k: x[k] for k in ("session", "pairs", "match_share", "iterations")}
                        for x in res.em.sessions],
    }))


# -- parent ---------------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``; empty where it does not exist)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def _pss_mb(pids: list[int]) -> float:
    """Summed proportional set size of ``pids`` (shared pages counted once in all), MB."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1024


def _child(cmd: list[str]) -> tuple[dict, float]:
    """Run ``cmd`` and return its last JSON line (with ``tree_peak_pss_mb``: the peak of the
    summed PSS of the child and its forked workers, sampled every 0.2 s from here, so that
    no thread runs in the child) and its wall seconds."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _pss_mb(_tree(proc.pid)))
            time.sleep(0.2)
        outer = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[1]} failed:\n{stderr[-3000:]}")
    info = json.loads(stdout.strip().splitlines()[-1])
    info["tree_peak_pss_mb"] = round(peak, 1)
    return info, outer


def _splink_input(table: pa.Table, path: Path) -> None:
    """run_demo's cleaned splink columns, plus the postcode (for ``--splink-address``)."""
    from run_demo import _splink_input as cleaned

    from safelight.identity.normalise import digits_key, map_distinct

    cleaned(table, path)
    t = pq.read_table(path)
    post = map_distinct(table.column("postcode").combine_chunks(), digits_key)
    pq.write_table(t.append_column("postcode", pa.array(post.tolist(), pa.string())), path)


def splink_blocking(path: Path, pid: np.ndarray) -> dict:
    """Candidate pairs of splink's blocking rules (cross-source, de-duplicated) and how many
    true pairs they hold."""
    import duckdb
    from splink_scale import BLOCKING

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
    con.register("truth", pa.table({"unique_id": np.arange(len(pid)), "pid": pid}))
    selects = [
        "SELECT l.unique_id AS a, r.unique_id AS b FROM t l JOIN t r ON "
        + " AND ".join(f"l.{c} = r.{c}" for c in cols)
        + " AND l.source < r.source" for cols in BLOCKING
    ]
    n, found = con.execute(
        "WITH c AS (SELECT DISTINCT a, b FROM (" + " UNION ALL ".join(selects) + ")) "
        "SELECT count(*), sum(CASE WHEN ta.pid = tb.pid THEN 1 ELSE 0 END) FROM c "
        "JOIN truth ta ON ta.unique_id = c.a JOIN truth tb ON tb.unique_id = c.b").fetchone()
    return {"candidate_pairs": int(n), "true_pairs_in_candidates": int(found or 0)}


def _problem(n: int, args: argparse.Namespace, work: Path) -> tuple[Path, Path, dict]:
    """The N × N problem's records and truth files, generated or, with ``--cache DIR``, read
    from DIR when an earlier run left them there (1M takes several CPU minutes to generate)."""
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    where = args.cache or work
    where.mkdir(parents=True, exist_ok=True)
    stem = f"{n}_seed{args.seed}"
    inp, truth, meta = (where / f"records_{stem}.parquet", where / f"truth_{stem}.npy",
                        where / f"problem_{stem}.json")
    tail = args.population == "long-tail"
    if args.cache and inp.exists() and truth.exists() and meta.exists():
        info = json.loads(meta.read_text("utf-8"))
        if bool(info.get("surname_tail", False)) != tail:
            sys.exit(f"{meta} holds the {'long-tail' if not tail else 'demo'} population, not "
                     f"--population {args.population}: give each population its own --cache")
        return inp, truth, info
    t0 = time.perf_counter()
    problem = generate_linkage_pairs(n, n, seed=args.seed, surname_tail=tail)
    table, pid = problem.combined()
    info = {**problem.stats, "true_pairs": problem.true_pairs,
            "generate_s": round(time.perf_counter() - t0, 1)}
    pq.write_table(table, inp)
    np.save(truth, pid)
    meta.write_text(json.dumps(info), "utf-8")
    return inp, truth, info


def run_size(n: int, args: argparse.Namespace, work: Path) -> list[dict]:
    from safelight.link import pairwise_scores

    inp, truth, stats = _problem(n, args, work)
    table, pid = pq.read_table(inp), np.load(truth)
    gen_s = stats["generate_s"]
    true_pairs = stats["true_pairs"]
    print(f"\n== {n:,} x {n:,}: {true_pairs:,} true pairs, {stats['households']:,} "
          f"households ({stats['household_members']:,} persons), generated in "
          f"{gen_s:.0f} s", flush=True)
    results = []
    variants = ("default", "two_source") if args.two_source else ("default",)
    for variant in ("two_source",) if args.only_two_source else variants:
        walls, info = [], {}
        for _ in range(args.repeat):
            info, _outer = _child([sys.executable, __file__, "--worker", str(inp), str(truth),
                                   str(work / "labels.npy"), variant, str(args.workers)])
            walls.append(info["wall_s"])
        labels = np.load(work / "labels.npy")
        x = {"tool": "safelight" if variant == "default" else "safelight-2src", "size": n,
             **pairwise_scores(labels, pid), **info,
             "wall_s": statistics.median(walls),  # after **info: its wall_s is the last run's
             "wall_runs": walls,
             "blocking_recall": info["true_pairs_in_candidates"] / true_pairs}
        x["stages"] = x.pop("timings")
        results.append(x)
        _show(x)
        print(f"  stages, wall s: {x['stages']}\n  stages, CPU s: {x['cpu_stages']} "
              f"(workers={x['workers']})\n  prior {x['prior']:.3g}, EM sessions (pairs, match "
              f"share): " + ", ".join(f"{e['session']} {e['pairs']:,} {e['match_share']:.4f}"
                                      for e in x["em_sessions"]), flush=True)
    if args.splink:
        sp_in, sp_out = work / f"splink_{n}.parquet", work / f"splink_{n}_out.parquet"
        _splink_input(table, sp_in)
        walls, outers = [], []
        for _ in range(args.repeat):
            cmd = [args.splink, str(HERE / "splink_scale.py"), str(sp_in), str(sp_out)]
            if args.splink_address:
                cmd.append("--address")
            try:
                info, outer = _child(cmd)
            except RuntimeError as e:
                results.append({"tool": "splink", "size": n, "error": str(e)[-1500:]})
                print(f"splink failed: {str(e)[-800:]}")
                break
            walls.append(info["inner_wall_s"])
            outers.append(round(outer, 2))
        else:
            clusters = pq.read_table(sp_out).to_pydict()
            sp_labels = np.empty(table.num_rows, dtype=np.int64)
            sp_labels[np.array(clusters["unique_id"])] = np.unique(
                np.array(clusters["cluster_id"], dtype=object).astype(str),
                return_inverse=True)[1]
            blk = splink_blocking(sp_in, pid)
            s = {"tool": "splink", "size": n, **pairwise_scores(sp_labels, pid),
                 "wall_s": statistics.median(walls), "wall_runs": walls,
                 "outer_wall_s": statistics.median(outers), "cpu_s": info.get("cpu_s"),
                 "peak_rss_mb": info["peak_rss_mb"],
                 "tree_peak_pss_mb": info.get("tree_peak_pss_mb"),
                 "candidate_pairs": blk["candidate_pairs"],
                 "true_pairs_in_candidates": blk["true_pairs_in_candidates"],
                 "blocking_recall": blk["true_pairs_in_candidates"] / true_pairs,
                 "predictions_above_0.01": info["candidate_pairs_above_0.01"]}
            results.append(s)
            _show(s)
            for r in results[:-1]:  # each safelight variant against the same splink run
                print(f"{r['tool']} vs splink at {n:,}: F1 {r['f1'] - s['f1']:+.4f}, wall time "
                      f"{r['wall_s'] / s['wall_s']:.2f}x splink's, CPU time "
                      f"{r['cpu_s'] / s['cpu_s']:.2f}x", flush=True)
    for x in results:
        x["generate_s"] = round(gen_s, 1)
        x["true_pairs_generated"] = true_pairs
    return results


def _show(r: dict) -> None:
    print(f"{r['tool']:<14} P {r['precision']:.4f}  R {r['recall']:.4f}  F1 {r['f1']:.4f}  "
          f"blocking recall {r['blocking_recall']:.4f}  candidates {r['candidate_pairs']:,}  "
          f"wall {r['wall_s']:.1f} s  CPU {r['cpu_s']:.1f} s  peak {r['peak_rss_mb']:,.0f} MB "
          f"(process tree, PSS: {r.get('tree_peak_pss_mb', 0):,.0f} MB)", flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        safelight_worker(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5],
                         int(sys.argv[6]) if len(sys.argv) > 6 else 0)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--splink", help="python interpreter with splink installed")
    ap.add_argument("--splink-address", action="store_true",
                    help="add postcode and locality comparisons to splink's model")
    ap.add_argument("--two-source", action="store_true",
                    help="also run safelight-2src (information, not default settings): blocking "
                    "across sources only and the one-to-one constraint")
    ap.add_argument("--only-two-source", action="store_true",
                    help="run safelight-2src only (not the default clustering; e.g. at 1M)")
    ap.add_argument("--cache", type=Path,
                    help="keep the generated problems here and reuse them in later runs")
    ap.add_argument("--population", choices=("demo", "long-tail"), default="demo",
                    help="family names from the demo's head lists (default) or the long-tailed "
                    "pools (realistic namesake counts at 1M)")
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    ap.add_argument("--workers", type=int, default=0,
                    help="safelight's LinkSettings.workers (default: its own, the CPUs up to 2; "
                    "1 runs it in one process)")
    args = ap.parse_args()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="safelight-bench-scale-") as tmp:
        for n in args.sizes:
            results += run_size(n, args, Path(tmp))
            if args.json:
                args.json.write_text(json.dumps(results, indent=2, default=str), "utf-8")
    print("\nsize       tool            precision  recall      F1  block.rec  candidates   wall s"
          "    CPU s  peak MB")
    for r in results:
        if "error" in r:
            print(f"{r['size']:<10,} {r['tool']:<14} failed")
            continue
        print(f"{r['size']:<10,} {r['tool']:<14} {r['precision']:>9.4f} {r['recall']:>7.4f} "
              f"{r['f1']:>7.4f} {r['blocking_recall']:>10.4f} {r['candidate_pairs']:>11,} "
              f"{r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_rss_mb']:>8,.0f}")


if __name__ == "__main__":
    main()
