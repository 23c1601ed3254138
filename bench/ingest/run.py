"""Ingest benchmark: throughput and peak memory of `safelight ingest` as the file grows.

For each size (default 100k, 1M, 5M rows) it generates one contributor export in the demo's
`ua-hotline` format (Cyrillic names, `;`-separated, BOM, Ukrainian codes; about 25 columns) with
the project's own generator, then runs, each in a fresh process:

* `safelight ingest` into a new hub (read → map → validate → quarantine → store, one transaction);
* the reference: DuckDB's own `read_csv(all_varchar)` into a table — parsing and storing only,
  no mapping, no validation, no quarantine — to show what the validation costs.

It reports wall time (inside the process, from start of ingest to commit and close), rows/s,
CPU seconds (user + system, all threads) and peak resident memory (the kernel's maxrss of the
child process), repeating each run and taking the median, and the ratio of safelight to the
reference. CPU seconds are the robust figure on a shared machine; wall time is what a user
waits. The machine's load average while the runs went is recorded next to each figure: with
other jobs on the cores, wall time says little and the CPU seconds and ratios are what to
compare.

    python bench/ingest/run.py                 # 100k, 1M, 5M rows, 3 repeats
    python bench/ingest/run.py --sizes 100000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SAFELIGHT_RUN = textwrap.dedent("""
    import sys, time
    from safelight.ingest import ingest_file, load_profile
    from safelight.store import open_hub
    hub = open_hub(sys.argv[1], create=True)
    t = time.perf_counter()
    r = ingest_file(hub, sys.argv[2], contributor="ua-hotline", profile=load_profile(sys.argv[3]))
    hub.close()
    print(r.rows_read, r.rows_accepted, r.rows_quarantined, time.perf_counter() - t)
""")

DUCKDB_RUN = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], config={"threads": 2, "memory_limit": "768MB"})
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    con.execute("CREATE TABLE raw AS SELECT * FROM read_csv(?, all_varchar=true, delim=';', header=true)",
                [sys.argv[2]])
    n = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    print(n, n, 0, time.perf_counter() - t)
""")


def measure(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; its wall time, CPU time and peak RSS (from wait4)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().split()
    if proc.returncode != 0 or len(out) < 4:
        raise SystemExit(f"benchmark run failed ({proc.returncode}): {' '.join(out)}")
    read, accepted, quarantined, seconds = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    return {"rows": read, "accepted": accepted, "quarantined": quarantined, "seconds": seconds,
            "rows_per_s": read / seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,5000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated files")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    from safelight.demo.generator import write_large_export

    work = args.work or Path(tempfile.mkdtemp(prefix="safelight-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = work / f"ua-hotline-{size}.csv"
        if not path.exists():
            t = time.perf_counter()
            write_large_export(path, size, seed=1)
            print(f"generated {size:,} rows ({path.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - t:.0f} s",
                  flush=True)
        profile = Path(f"{path}.profile.yaml")
        for tool, code in (("safelight", SAFELIGHT_RUN), ("duckdb read_csv (no validation)", DUCKDB_RUN)):
            runs = []
            load = [os.getloadavg()[0]]
            for i in range(args.repeats):
                hub = work / f"hub-{size}-{i}.duckdb"
                hub.unlink(missing_ok=True)
                runs.append(measure(code, str(hub), str(path), str(profile)))
                hub.unlink(missing_ok=True)
                Path(f"{hub}.wal").unlink(missing_ok=True)
                load.append(os.getloadavg()[0])
            row = {"tool": tool, "size": size, "file_mb": round(path.stat().st_size / 2**20, 1),
                   "seconds": statistics.median(r["seconds"] for r in runs),
                   "rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
                   "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
                   "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
                   "accepted": runs[0]["accepted"], "quarantined": runs[0]["quarantined"],
                   "repeats": len(runs), "load_average": round(statistics.median(load), 2)}
            results.append(row)
            print(f"{tool:<34} {size:>10,} rows  {row['seconds']:7.1f} s  {row['rows_per_s']:>9,.0f} rows/s  "
                  f"cpu {row['cpu_seconds']:6.1f} s  peak {row['peak_rss_mb']:6.0f} MB  (accepted {row['accepted']:,}, "
                  f"quarantined {row['quarantined']:,}; load average {row['load_average']:.1f})",
                  flush=True)
        ours, ref = results[-2], results[-1]
        print(f"{'':<34} {size:>10,} rows  safelight / reference: wall x{ours['seconds'] / ref['seconds']:.2f}, "
              f"CPU x{ours['cpu_seconds'] / ref['cpu_seconds']:.2f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
