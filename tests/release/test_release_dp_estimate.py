"""DP estimate: longer combinations fitted to the measured residual margins."""

from __future__ import annotations

import numpy as np
from helpers_release import categorical_tables, random_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.release.combos import CombinationCounts, decode_keys, multipliers
from safelight.release.domain import Domain, restrict
from safelight.release.dp import default_plan, measure
from safelight.release.dp_aggregates import (
    estimate,
    fit_table,
    release_dp_aggregates,
    release_from_estimate,
)
from safelight.release.evaluate import evaluate


def test_fit_table_matches_its_margins() -> None:
    rng = np.random.default_rng(0)
    truth = rng.poisson(3.0, (4, 5, 3)).astype(float)
    margins = {(0, 1): truth.sum(2), (0, 2): truth.sum(1), (1, 2): truth.sum(0)}
    x = fit_table(truth.shape, margins, iterations=200)
    for axes, m in margins.items():
        other = tuple(a for a in range(3) if a not in axes)
        assert np.allclose(x.sum(axis=other), m, atol=1e-3)
    assert np.all(fit_table((2, 2), {(0,): np.zeros(2), (1,): np.zeros(2)}) == 0)


def _table():
    raw = random_table(5, n=8000, cards=(3, 4, 2, 3), skew=0.8)
    dom = Domain({c: raw.values[j] + ("absent",) for j, c in enumerate(raw.columns)}, "test")
    return restrict(raw, dom)[0]


def test_three_way_counts_are_estimated_from_two_way_measurements() -> None:
    t = _table()
    measured, _ = default_plan(4.0)
    assert measured == 2
    meas = measure(t, 8.0, 1e-6, 2)
    assert max(len(s) for s in meas.noisy) == 2  # nothing 3-way was measured
    est = estimate(meas, 3)
    assert any(len(s) == 3 for s in est.counts)
    rel = release_from_estimate(est, 11)
    for s, (_keys, counts) in rel.counts.tables.items():
        assert np.all(counts >= 11), s
    ev = evaluate(t, rel.counts, 11, 3, true_counts=CombinationCounts.of(t, 3))
    e1, e2, e3 = ev.errors()
    assert e3 < 0.2, ev.errors()  # the fit is close on a table this size
    assert ev.total("fabricated") <= 0.02 * max(ev.total("released"), 1)


def test_release_length_three_costs_the_same_budget() -> None:
    t = _table()
    rel, meas = release_dp_aggregates(t, 2.0, 1e-6, length=3, k=11)
    assert meas.length == 2 and meas.epsilon <= 2.0 and meas.delta <= 1e-6
    assert rel.length == 3 and any(len(s) == 3 for s in rel.counts.tables)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=categorical_tables(cols=(3, 4), rows=(30, 300), max_card=4, zero=False), k=st.integers(2, 12),
       eps=st.sampled_from([0.5, 4.0, 50.0]))
def test_fitted_three_way_counts_respect_the_floor(t, k, eps) -> None:
    """With 3-way counts fitted rather than measured, no released count is under k, and every
    released combination's sub-combinations are estimated present (only those are fitted)."""
    dom = Domain({c: t.values[j] + ("absent",) for j, c in enumerate(t.columns)}, "test")
    pub, _ = restrict(t, dom)
    est = estimate(measure(pub, eps, 1e-6, 2), 3)
    rel = release_from_estimate(est, k)
    for s, (keys, counts) in rel.counts.tables.items():
        assert len(s) <= 3 and np.all(counts >= k), s
        if len(s) < 2:
            continue
        codes = decode_keys(keys, pub.radix, s).astype(np.int64)
        for i in range(len(s)):
            sub = s[:i] + s[i + 1:]
            sub_keys = np.delete(codes, i, axis=1) @ multipliers(pub.radix, sub)
            assert np.all(np.isin(sub_keys, est.counts[sub][0])), (s, sub)


def test_one_way_marginals_can_get_less_noise_within_the_same_budget() -> None:
    from safelight.release.dp import one_way_weight

    t = _table()
    m = measure(t, 1.0, 1e-6, 2, one_way=2.0)  # half the noise on the 1-way marginals
    assert one_way_weight(1.0) == one_way_weight(4.0) == 1.0  # the default: the same noise
    assert m.epsilon <= 1.0 and m.delta <= 1e-6
    assert m.sigma_one_way is not None
    assert abs(m.sigma_of((0,)) * 2 - m.sigma_of((0, 1))) < 1e-9
    even = measure(t, 1.0, 1e-6, 2)
    # OpenDP's map decides the scales: the budget moved to the 1-way measurement leaves the
    # 2-way marginals noisier than with equal noise, and the 1-way ones less noisy
    assert even.sigma_of((0,)) == even.sigma_of((0, 1)) < m.sigma_of((0, 1))
    assert m.sigma_of((0,)) < even.sigma_of((0,))
