"""Successive k-aggregate releases of a growing table: which later sizes pass, and at what cost.

Releases prefixes of a CSV table (k = 11, length 3 by default) one after another against the
earlier ones, as a hub's ledger would, then releases each of the ``--then`` sizes against those
same earlier releases and prints, per size, whether it passed (its grid, deferred and
withheld combinations) or was refused (how many combinations), and its CPU seconds. Bench
side: it reads the sensitive table; nothing is written.

    PYTHONPATH=src python bench/release/successive_sizes.py ../shared/data/ctdc/bench_ctdc10.csv \\
        --first 13800 13810 13900 13905 --then 13915 13930 13945 13955 13956 13957 13960
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from safelight.release.aggregates import release_aggregates
from safelight.release.successive import DifferencingError, published_intervals
from safelight.release.table import read_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table", type=Path)
    ap.add_argument("--first", type=int, nargs="+", required=True,
                    help="sizes of the earlier releases, in order")
    ap.add_argument("--then", type=int, nargs="+", required=True,
                    help="sizes each released against all the earlier ones")
    ap.add_argument("--k", type=int, default=11)
    ap.add_argument("--length", type=int, default=3)
    a = ap.parse_args()
    full = read_table(a.table)
    earlier = []
    for m in a.first:
        part = full.with_codes(full.codes[:m])
        earlier.append(published_intervals(release_aggregates(part, a.k, a.length,
                                                              earlier=earlier)))
    for m in a.then:
        part = full.with_codes(full.codes[:m])
        t0 = time.process_time()
        try:
            r = release_aggregates(part, a.k, a.length, earlier=earlier)
            row = {"rows": m, "outcome": "passed", "grid": r.rounding_base,
                   "deferred": r.audit.deferred, "withheld": r.audit.withheld}
        except DifferencingError as e:
            row = {"rows": m, "outcome": "refused", "combinations": len(e.combinations)}
        row["cpu_s"] = round(time.process_time() - t0, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
