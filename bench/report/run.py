"""Report benchmark: time and peak memory of `safelight report hub` over a large hub.

Builds a hub of N case records (default 1,000,000) once, then, each in a fresh process and
repeated (median taken):

* `safelight report hub` — every indicator, disclosure control, 5 charts (SVG + PNG), CSV, JSON
  and the HTML report;
* the reference: the same hub's core aggregations as bare DuckDB SQL (one GROUP BY per table,
  no geography, no suppression, no output) — the floor any report over this hub costs.

Two ways to build the hub:

* `--build ingest` (default): `safelight.demo.generator.write_large_export` writes a
  `ua-hotline`-format CSV and `safelight.ingest.ingest_file` ingests it — the real path;
* `--build direct`: records are generated inside DuckDB (`range(N)` + hashes), with more
  countries and forms than the hotline export; faster to build, more varied flows.

The hub's DuckDB runs with 2 threads (see `safelight.store.open_hub`); run under
`taskset -c 0,1` to pin to two cores on a bigger machine.

`--persons` writes a synthetic linkage result into the hub (a `link_runs` row and a `persons`
row per record with linkage consent; the ids are hashed into 0.87 × N buckets, so there are
about 40 % fewer persons than records) and times the report counting persons next to the same
hub counted as records (`--unit records`). The linkage quality is not what is measured, only
the cost of counting persons (one window + GROUP BY per person, once per report).

    python bench/report/run.py                      # 1,000,000 records, 3 repeats
    python bench/report/run.py --records 100000 --repeats 1 --build direct
    python bench/report/run.py --build direct --persons
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 30.0

REPORT_RUN = textwrap.dedent("""
    import sys, time
    t = time.perf_counter()
    from safelight.report import ReportSettings, hub_report, hub_source, write_report
    settings = ReportSettings(threshold=11, unit=sys.argv[3])
    with hub_source(sys.argv[1], settings) as src:
        rep = hub_report(src, settings)
    write_report(rep, sys.argv[2])
    n = sum(c.count.mid for c in rep.indicators[0].cells
            if c.key["group"] == "total" and c.key["year"] == "all years" and not c.suppressed)
    print(int(n), time.perf_counter() - t)
""")

DUCKDB_RUN = textwrap.dedent("""
    import sys, time, duckdb
    t = time.perf_counter()
    con = duckdb.connect(sys.argv[1], read_only=True, config={"threads": 2})
    q = con.execute
    n = q("SELECT count(*) FROM cases WHERE consent_statistics").fetchone()[0]
    q("SELECT year_of_registration, gender, majority_status, count(*) FROM cases "
      "WHERE consent_statistics GROUP BY ALL").fetchall()
    q("SELECT f, gender, majority_status, count(*) FROM (SELECT unnest(types_of_exploitation) f, "
      "gender, majority_status FROM cases WHERE consent_statistics) GROUP BY ALL").fetchall()
    q("SELECT citizenship, country_of_exploitation, year_of_registration, count(*) FROM cases "
      "WHERE consent_statistics GROUP BY ALL").fetchall()
    con.close()
    print(n, time.perf_counter() - t)
""")

DIRECT_SQL = """
INSERT INTO cases (contributor, record_id, contribution_id, source_row, year_of_registration,
                   gender, age_years, majority_status, citizenship, country_of_exploitation,
                   types_of_exploitation, consent, consent_linkage, consent_statistics)
SELECT 'bench', 'r' || i, 1, i, 2010 + (hash(i) % 14)::INT,
       ['female', 'female', 'male', 'trans_nonconforming', NULL][1 + (hash(i + 1) % 5)::INT],
       CASE WHEN hash(i + 2) % 10 = 0 THEN NULL ELSE (5 + hash(i + 3) % 60)::INT END,
       NULL,
       ['UKR', 'NGA', 'ROU', 'VNM', 'IND', 'BRA', 'PHL', 'MDA', 'ALB', 'CHN', 'ERI', 'SYR',
        'THA', 'MMR', 'BGD', 'NPL', 'MEX', 'HND', 'COL', 'KHM'][1 + (hash(i + 4) % 20)::INT],
       ['DEU', 'ITA', 'POL', 'USA', 'GBR', 'FRA', 'ESP', 'THA', 'MYS', 'ARE', 'SAU', 'RUS',
        'UKR', 'NGA', 'IND', 'BRA', 'MEX', 'NLD', NULL, 'CHN'][1 + (hash(i + 5) % 20)::INT],
       [['sexual_exploitation'], ['forced_labour'], ['forced_criminal_activity'],
        ['sexual_exploitation', 'forced_labour'], ['forced_begging'], ['forced_marriage'],
        ['forced_labour', 'child_labour'], []][1 + (hash(i + 6) % 8)::INT],
       'full', true, hash(i + 7) % 50 <> 0
FROM range(?) t(i)
"""


PERSONS_SQL = """
INSERT INTO link_runs VALUES ('bench', now(), now(), 'bench', '{}', '{}',
    (SELECT count(*) FROM cases WHERE consent_linkage), 0, 0, 0, 0);
INSERT INTO persons
SELECT contributor, record_id,
       'S' || ((hash(record_id) % (0.87 * (SELECT count(*) FROM cases))::BIGINT))::VARCHAR,
       1, 1, NULL, 'bench'
FROM cases WHERE consent_linkage;
"""


def add_synthetic_linkage(path: Path) -> None:
    """A linkage result of the right shape (not of any quality): see the module docstring."""
    from safelight.store import open_hub

    with open_hub(path) as hub, hub.transaction():
        hub.con.execute(PERSONS_SQL)


def build_hub(path: Path, records: int, mode: str, work: Path) -> float:
    """Create the benchmark hub at ``path``; returns the seconds it took."""
    from safelight.store import open_hub

    t = time.perf_counter()
    if mode == "direct":
        with open_hub(path, create=True) as hub, hub.transaction():
            hub.con.execute(DIRECT_SQL, [records])
    else:
        from safelight.demo.generator import write_large_export
        from safelight.ingest import ingest_file, load_profile

        export = work / f"ua-hotline-{records}.csv"
        if not export.exists():
            write_large_export(export, records, seed=1)
        with open_hub(path, create=True) as hub:
            ingest_file(hub, export, contributor="ua-hotline",
                        profile=load_profile(f"{export}.profile.yaml"), actor="bench")
    return time.perf_counter() - t


def measure(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; wall time as it reports, and sampled peak RSS."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    out = proc.stdout.read().split()
    if proc.returncode != 0 or len(out) < 2:
        raise SystemExit(f"benchmark run failed ({proc.returncode}): {' '.join(out)}")
    return {"records": int(out[0]), "seconds": float(out[1]), "peak_rss_mb": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build", choices=["ingest", "direct"], default="ingest")
    parser.add_argument("--work", type=Path, default=None, help="folder for the hub and outputs")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--persons", action="store_true",
                        help="add a synthetic linkage result and time counting persons too")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="safelight-bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    suffix = "-persons" if args.persons else ""
    hub = work / f"hub-{args.build}-{args.records}{suffix}.duckdb"
    if not hub.exists():
        secs = build_hub(hub, args.records, args.build, work)
        if args.persons:
            add_synthetic_linkage(hub)
        print(f"built a hub of {args.records:,} records ({args.build}) in {secs:.0f} s", flush=True)
    results = []
    tools = [("safelight report hub", REPORT_RUN, "records"),
             ("duckdb core GROUP BYs (no output)", DUCKDB_RUN, "")]
    if args.persons:
        tools.insert(0, ("safelight report hub (persons)", REPORT_RUN, "persons"))
    for tool, code, unit in tools:
        runs = [measure(code, str(hub), str(work / f"report-{i}"), unit)
                for i in range(args.repeats)]
        row = {"tool": tool, "records": runs[0]["records"], "build": args.build,
               "seconds": statistics.median(r["seconds"] for r in runs),
               "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
               "repeats": len(runs)}
        results.append(row)
        print(f"{tool:<36} {row['records']:>10,} records counted  {row['seconds']:6.2f} s  "
              f"peak {row['peak_rss_mb']:5.0f} MB", flush=True)
    ratio = results[-2]["seconds"] / results[-1]["seconds"]
    ok = all(r["seconds"] < TARGET_SECONDS for r in results[:-1])
    if args.persons:
        print(f"persons / records = {results[0]['seconds'] / results[1]['seconds']:.2f}x; "
              f"{results[0]['records']:,} persons counted from {results[1]['records']:,} records")
    print(f"report / bare SQL = {ratio:.1f}x; target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if ok else 'MISSED'} (cpu_count={psutil.cpu_count()})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cpu_count": psutil.cpu_count(), "target_seconds":
                                    TARGET_SECONDS, "ratio_to_sql": ratio, "results": results},
                                   indent=2))
    print(f"results: {args.out}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
