"""splink 5 on a two-source problem (run by scale.py and multilingual.py with splink's Python).

    python splink_scale.py IN.parquet OUT.parquet [--address]

IN has the cleaned columns written by ``run_demo._splink_input`` (``source`` tells the two
sources apart). The configuration is the one of ``splink_demo.py`` for two sources
(``link_type="link_only"``): Jaro-Winkler name comparisons with term frequencies, a
date-of-birth comparison, exact sex, phone and document; blocking on :data:`BLOCKING`; the
prior from a deterministic rule, u by random sampling, m by EM on birth date then on phone
(all records); default threshold 0.5 for clusters. ``--address`` adds exact postcode and
locality comparisons. Prints one JSON line (timings, peak memory, counts); writes
``(unique_id, cluster_id)``. :data:`BLOCKING` is importable without splink (scale.py uses it to
measure splink's blocking recall).
"""

from __future__ import annotations

import json
import resource
import sys
import time

BLOCKING: tuple[tuple[str, ...], ...] = (
    ("surname", "birth_year"),
    ("first_name", "surname"),
    ("dob",),
    ("phone",),
    ("document",),
)


def main(inp: str, out: str, address: bool) -> None:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink_demo import name_date_comparisons, train_predict_cluster

    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru0.ru_utime + ru0.ru_stime
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"CREATE TABLE src AS SELECT * FROM read_parquet('{inp}')")
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM src ORDER BY 1").fetchall()]
    comparisons = name_date_comparisons()
    if address:
        comparisons += [cl.ExactMatch("postcode"), cl.ExactMatch("locality")]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in BLOCKING],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI(con)
    tables = [db_api.register(con.sql(f"SELECT * FROM src WHERE source = '{s}'"),
                              dataset_display_name=s.replace("-", "_")) for s in sources]
    linker = Linker(tables, settings)
    n_pred = train_predict_cluster(linker, con, out, max_pairs=5e6)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"candidate_pairs_above_0.01": n_pred,
                      "cpu_s": round(ru.ru_utime + ru.ru_stime - cpu0, 2),
                      "inner_wall_s": round(time.perf_counter() - t0, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           / 1024, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--address" in sys.argv[3:])
