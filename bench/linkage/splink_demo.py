"""splink on the demo records (run by run_demo.py with an interpreter that has splink 5).

    python splink_demo.py IN.parquet OUT.parquet

IN has the cleaned columns written by run_demo.py. A competent configuration: name comparisons
with Jaro-Winkler levels and term frequencies, a date-of-birth comparison, exact matches on sex,
phone and document; blocking on (surname, birth year), (first name, surname), date of birth,
phone, document; u by random sampling, the prior from a deterministic rule, m by EM on two
blocking rules (all records, no sampling); the default threshold 0.5 for clusters.

Choices measured on the seed-2023 demo (F1): adding exact nationality and locality comparisons
0.61 (names and nationality are not independent: splink counts both); training the second EM
session on (first name, surname) instead of phone 0.49 (EM then takes "same name" for "same
person" and learns almost nothing about dates); this configuration 0.76. Prints one JSON line with timings and counts; writes
(unique_id, cluster_id).
"""

from __future__ import annotations

import json
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

THRESHOLD = 0.5


def name_date_comparisons() -> list:
    """Jaro-Winkler names with term frequencies, date of birth, exact sex, phone and document."""
    return [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.ExactMatch("sex"),
        cl.ExactMatch("phone"),
        cl.ExactMatch("document"),
    ]


def train_predict_cluster(linker: Linker, con: duckdb.DuckDBPyConnection, out: str, *,
                          max_pairs: float) -> int:
    """Prior from a deterministic rule, u by random sampling, m by EM on birth date then phone
    (all records); clusters at :data:`THRESHOLD` written to ``out``. Returns the number of
    pairs scored above 0.01."""
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), record_sample_proportion=1.0)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("phone"), record_sample_proportion=1.0)
    pred = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=THRESHOLD)
    con.sql(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").write_parquet(out)
    return con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchall()[0][0]


def main(inp: str, out: str) -> None:
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    df = con.sql(f"SELECT * FROM read_parquet('{inp}')")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=name_date_comparisons(),
        blocking_rules_to_generate_predictions=[
            block_on("surname", "birth_year"),
            block_on("first_name", "surname"),
            block_on("dob"),
            block_on("phone"),
            block_on("document"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register(df), settings)
    n_pred = train_predict_cluster(linker, con, out, max_pairs=2e6)
    print(json.dumps({"candidate_pairs_above_0.01": n_pred,
                      "inner_wall_s": round(time.perf_counter() - t0, 2)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
