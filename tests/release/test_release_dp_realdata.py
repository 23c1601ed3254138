"""DP synthesis on CTDC's bench_ctdc10.csv (../shared/data, read in place): the rows carry the
floored aggregate counts, so they are about as accurate as DP aggregates."""

from __future__ import annotations

import pytest

from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.table import read_table

pytestmark = [pytest.mark.realdata, pytest.mark.slow]  # ~15 CPU-s


def test_dp_synthetic_eps4_on_ctdc10(shared_data) -> None:
    from safelight.release.domain import restrict, standard_domain
    from safelight.release.dp_synthetic import synthesize_dp
    from safelight.release.microdata import evaluation_view

    t = read_table(shared_data / "ctdc" / "bench_ctdc10.csv")
    pub, _ = restrict(t, standard_domain(t.columns))
    syn, _, meas = synthesize_dp(pub, 4.0, 1e-6, 11)
    assert meas.epsilon <= 4.0 and meas.delta <= 1e-6
    rows = evaluation_view(syn, t)
    ev = evaluate(t, counts_of_rows(rows, 3), 11, 3, released_rows=rows)
    # three runs on 2026-11-30: 0.061-0.070 / 0.169-0.170 / 0.237-0.243, 9.1-9.8% lost, 0.7%
    # fabricated, 61-86 leaked combinations; blanking values in the model instead (the
    # previous design) gave 0.133 / 0.251 / 0.301 with 16.8% lost. DP noise is not seeded:
    # the bounds leave room for it
    e1, e2, e3 = ev.errors()
    assert e1 < 0.10 and e2 < 0.21 and e3 < 0.28, ev.errors()
    assert ev.lost_share() < 0.13
    assert ev.total("fabricated") < 0.03 * ev.total("released")
    assert ev.leaked_records_share < 0.035
