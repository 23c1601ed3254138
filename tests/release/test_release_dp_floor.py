"""The k floor of the model-based DP releases: the weighting of the extrapolated part of a
count (DP aggregates), and synthetic rows that carry only the floored counts (DP synthetic)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import CombinationCounts, subsets
from safelight.release.domain import Domain, restrict
from safelight.release.dp import Measurements, measure_for_model
from safelight.release.dp_aggregates import model_estimate
from safelight.release.dp_synthetic import check_rows, reportable_from, synthesize_dp
from safelight.release.errors import ReleaseError, ReleaseUsageError
from safelight.release.pgm import Model


def _table(seed: int = 0, n: int = 5000, cards: tuple[int, ...] = (3, 4, 2, 5)):
    raw = random_table(seed, n=n, cards=cards, skew=0.8)
    dom = Domain({c: raw.values[j] + ("absent",) for j, c in enumerate(raw.columns)}, "test")
    return restrict(raw, dom)[0]


def _kept(est, s, codes_row, radix) -> bool:
    from safelight.release.combos import keys_of

    key = int(keys_of(np.array([codes_row]), radix, s)[0])
    return key in set(est.counts[s][0].tolist())


def test_extrapolated_part_of_a_count_is_weighted() -> None:
    """Two rows of 14 people each; the row histogram released one of them (shown = 14) and
    not the other (shown = 0). At weight 0.75 the shown one is kept, the other needs 14.7."""
    t = _table()
    like = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    codes = np.array([[1, 1, 1, 1], [2, 2, 1, 1]], np.int32)
    model = Model(like, codes, np.array([14.0, 14.0]))
    meas = Measurements(like, 2, {}, 1.0, 28.0, codes[:1], np.array([14.0]), 1.0, 9, 4.0,
                        1e-6, 0.3)
    est = model_estimate(model, meas, 2, 11.0)
    radix = like.radix
    assert _kept(est, (0, 1), codes[0], radix) and not _kept(est, (0, 1), codes[1], radix)
    # (col2=1, col3=1) is carried by both rows: shown 14 of 28, kept
    assert _kept(est, (2, 3), codes[0], radix)
    # a weight of 1 keeps every model count >= k; a weight of 0.5 needs 22 unshown people
    assert _kept(model_estimate(model, meas, 2, 11.0, 1.0), (0, 1), codes[1], radix)
    model.weights[:] = [14.0, 21.0]
    assert not _kept(model_estimate(model, meas, 2, 11.0, 0.5), (0, 1), codes[1], radix)
    model.weights[:] = [14.0, 22.5]
    assert _kept(model_estimate(model, meas, 2, 11.0, 0.5), (0, 1), codes[1], radix)
    # no floor: everything the model carries
    assert _kept(model_estimate(model, meas, 2, None, 0.5), (0, 1), codes[1], radix)
    with pytest.raises(ReleaseUsageError):
        model_estimate(model, meas, 2, 11.0, 0.0)


def test_a_measured_combination_needs_no_margin() -> None:
    """A combination whose own marginal was measured has nothing extrapolated: 12 unshown
    people keep it at the default weights, while a combination of the same model count over an
    unmeasured subset needs 14.7 (0.75 · 14.7 = 11)."""
    t = _table()
    like = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    codes = np.array([[1, 1, 1, 1], [2, 2, 2, 2]], np.int32)
    model = Model(like, codes, np.array([12.0, 200.0]))
    radix = like.radix
    noisy = {(0, 1): np.zeros(int((radix[0] - 1) * (radix[1] - 1)))}
    meas = Measurements(like, 2, noisy, 1.0, 212.0, codes[1:], np.array([200.0]), 1.0, 9, 4.0,
                        1e-6, 0.3)
    est = model_estimate(model, meas, 2, 11.0)
    assert _kept(est, (0, 1), codes[0], radix)  # measured: 12 >= 11
    assert not _kept(est, (2, 3), codes[0], radix)  # not measured: 0.75 · 12 < 11
    assert not _kept(model_estimate(model, meas, 2, 11.0, measured_weight=0.75), (0, 1),
                     codes[0], radix)
    model.weights[0] = 10.0
    assert not _kept(model_estimate(model, meas, 2, 11.0), (0, 1), codes[0], radix)
    with pytest.raises(ReleaseUsageError, match="measured_weight"):
        model_estimate(model, meas, 2, 11.0, measured_weight=1.5)


def test_a_count_under_the_floor_is_never_kept_however_often_the_patterns_show_it() -> None:
    """The released patterns show (1,1,1,·) 20 times but the model counts 10.6 (under k = 11):
    neither DP aggregates nor the synthetic rows' reportable set may keep it."""
    from safelight.release.combos import keys_of
    from safelight.release.dp_aggregates import release_from_estimate

    t = _table()
    like = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    radix = like.radix
    codes = np.array([[1, 1, 1, 1], [1, 1, 2, 1], [1, 2, 1, 1], [2, 1, 1, 1]], np.int32)
    model = Model(like, codes, np.array([10.6, 5.0, 5.0, 5.0]))
    noisy = {s: np.zeros(int(np.prod(radix[list(s)] - 1))) for s in subsets(t.n_columns, 2)}
    meas = Measurements(like, 2, noisy, 1.0, 25.6, codes[:1], np.array([20.0]), 1.0, 9, 4.0,
                        1e-6, 0.3)
    est = model_estimate(model, meas, 3, 11.0)
    s = (0, 1, 2)
    assert not _kept(est, s, codes[0], radix)
    key = int(keys_of(codes[:1], radix, s)[0])
    assert key not in reportable_from(est, 11.0).tables[s][0].tolist()
    assert key not in release_from_estimate(est, 11).counts.tables[s][0].tolist()
    for _keys, e, _ in est.counts.values():
        assert (e >= 11.0).all()


def test_dp_synthetic_rows_carry_only_floored_counts(monkeypatch) -> None:
    import safelight.release.dp_synthetic as dps

    seen = []
    original = dps.check_rows

    def spy(rows, R):
        seen.append(R)
        return original(rows, R)

    monkeypatch.setattr(dps, "check_rows", spy)
    t = _table(1, n=6000)
    syn, rep, meas = synthesize_dp(t, 4.0, 1e-6, 11, seed=0, iterations=3)
    assert abs(syn.n_rows - meas.total) <= 1 and syn.values == t.values
    assert len(seen) == 1 and rep.reportable_combinations == seen[0].n_combinations() > 0
    R = seen[0]
    got = CombinationCounts.of(syn, 3)
    for s in subsets(t.n_columns, 3):
        keys, counts = R.tables[s]
        assert np.all(counts >= 11), s  # the floored counts
        assert np.all(np.isin(got.tables[s][0], keys)), s  # the rows carry nothing else
    blank, _, _ = synthesize_dp(t, 4.0, 1e-6, 11, seed=0, estimator="model-blank")
    assert blank.n_rows > 0 and len(seen) == 1  # the blanking path has its own check
    with pytest.raises(ReleaseUsageError, match="model-blank"):
        synthesize_dp(t, 4.0, 1e-6, 11, estimator="model-sampler")


def test_check_rows_refuses_a_combination_outside_the_floored_counts() -> None:
    t = _table(2, n=4000)
    meas = measure_for_model(t, 4.0, 1e-6)
    from safelight.release.pgm import fit_model

    model = fit_model(meas, iterations=100)
    R = reportable_from(model_estimate(model, meas, 2, 11.0), 11.0)
    ok_rows = []
    for key in R.tables[(0, 1)][0][:3]:
        row = np.zeros(t.n_columns, np.int32)
        row[0], row[1] = key % t.radix[0], key // t.radix[0]
        ok_rows.append(row)
    check_rows(t.with_codes(np.array(ok_rows)), R)
    # a value of col0 outside R (the domain's "absent" value, unless the noise carried it over
    # the floor: DP noise is not seeded), else a pair of values of col0 and col1 outside R
    bad = np.zeros((1, t.n_columns), np.int32)
    unreportable = sorted(set(range(1, int(t.radix[0]))) - set(R.tables[(0,)][0].tolist()))
    if unreportable:
        bad[0, 0] = unreportable[0]
    else:
        pairs = {int(k) for k in R.tables[(0, 1)][0].tolist()}
        ones = [R.tables[(j,)][0].tolist() for j in (0, 1)]  # each value reportable alone
        key = next(a + b * int(t.radix[0]) for b in ones[1] for a in ones[0]
                   if a + b * int(t.radix[0]) not in pairs)
        bad[0, 0], bad[0, 1] = key % t.radix[0], key // t.radix[0]
    with pytest.raises(ReleaseError, match="col0"):
        check_rows(t.with_codes(bad), R)


@pytest.mark.parametrize("estimator", ["model", "model-blank"])
def test_dp_synthetic_rows_are_a_function_of_the_measurements_alone(monkeypatch,
                                                                    estimator) -> None:
    """Post-processing: with the noisy measurements fixed, swapping the sensitive table for a
    very different one (300 of its rows instead of 6,000) gives byte-identical synthetic rows.
    A sampler or refinement that read the sensitive rows would make them differ."""
    import safelight.release.dp_synthetic as dp_synthetic

    a = _table(1, 6000)
    b = a.with_codes(a.codes[:300])
    meas = measure_for_model(a, 4.0, 1e-6)
    monkeypatch.setattr(dp_synthetic, "measure_for_model", lambda table, e, d: meas)
    out_a, _, _ = synthesize_dp(a, 4.0, 1e-6, 11, seed=0, iterations=3, estimator=estimator)
    out_b, _, _ = synthesize_dp(b, 4.0, 1e-6, 11, seed=0, iterations=3, estimator=estimator)
    assert out_a.values == out_b.values
    assert np.array_equal(out_a.codes, out_b.codes)
