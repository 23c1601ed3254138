"""The issue's targets on CTDC's bench_ctdc10.csv (../shared/data, read in place): k-anonymous
microdata by local recoding, and DP aggregates with fitted 3-way counts."""

from __future__ import annotations

import pytest

from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.table import read_table

pytestmark = pytest.mark.realdata


def test_recoded_microdata_meets_the_targets(shared_data) -> None:
    from safelight.release.microdata import anonymize, evaluation_view

    t = read_table(shared_data / "ctdc" / "bench_ctdc10.csv")
    an = anonymize(t, 11)
    view = evaluation_view(an.table, t)
    ev = evaluate(t, counts_of_rows(view, 3), 11, 3, released_rows=view)
    assert ev.total("leaked") == 0 and ev.total("fabricated") == 0
    e1, e2, e3 = ev.errors()
    # target <= 0.30 / 0.35 / 0.40 with <= 20% suppressed; measured 0.053 / 0.172 / 0.247, 5.9%
    assert e1 < 0.08 and e2 < 0.20 and e3 < 0.28, ev.errors()
    assert ev.lost_share() < 0.08


def test_dp_aggregates_with_fitted_three_way_counts(shared_data) -> None:
    from safelight.release.domain import restrict, standard_domain, translate
    from safelight.release.dp_aggregates import release_dp_aggregates

    t = read_table(shared_data / "ctdc" / "bench_ctdc10.csv")
    pub, _ = restrict(t, standard_domain(t.columns))
    rel, meas = release_dp_aggregates(pub, 4.0, 1e-6, 3, 11)
    assert meas.length == 2 and meas.epsilon <= 4.0 and meas.delta <= 1e-6
    ev = evaluate(t, translate(rel.counts, pub, t), 11, 3)
    # the model estimate, five runs on 2026-11-30: 0.042-0.060 / 0.157-0.171 / 0.229-0.247,
    # 11-13% lost, 0.8-1.7% fabricated, 60-92 leaked combinations (1.3-2.0% of records); the
    # earlier IPF estimate gave 0.09-0.13 / 0.23-0.24 / 0.30-0.34. DP noise is not seeded, so
    # the bounds leave room for it
    e1, e2, e3 = ev.errors()
    assert e1 < 0.10 and e2 < 0.22 and e3 < 0.30, ev.errors()
    assert ev.lost_share() < 0.20
    assert ev.total("fabricated") < 0.05 * ev.total("released")
    assert ev.total("leaked") < 150 and ev.leaked_records_share < 0.035
