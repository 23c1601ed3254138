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

THRESHOLD = 0.5
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

    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru0.ru_utime + ru0.ru_stime
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"CREATE TABLE src AS SELECT * FROM read_parquet('{inp}')")
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM src ORDER BY 1").fetchall()]
    comparisons = [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.ExactMatch("sex"),
        cl.ExactMatch("phone"),
        cl.ExactMatch("document"),
    ]
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
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), record_sample_proportion=1.0)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("phone"), record_sample_proportion=1.0)
    pred = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=THRESHOLD)
    n_pred = con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchall()[0][0]
    con.sql(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").write_parquet(out)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"candidate_pairs_above_0.01": n_pred,
                      "cpu_s": round(ru.ru_utime + ru.ru_stime - cpu0, 2),
                      "inner_wall_s": round(time.perf_counter() - t0, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           / 1024, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--address" in sys.argv[3:])
