"""DP releases estimated by one model (safelight.release.pgm): the fit, the k floor, the
per-marginal noise scales, and that every release is post-processing of OpenDP's output."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers_release import exact_two_way, random_table

from safelight.release.combos import CombinationCounts, subsets
from safelight.release.domain import Domain, restrict
from safelight.release.dp import Measurements, cell_sigmas, measure, measure_for_model
from safelight.release.dp_aggregates import release_dp_aggregates
from safelight.release.dp_synthetic import synthesize_dp
from safelight.release.errors import ReleaseUsageError
from safelight.release.evaluate import counts_of_rows
from safelight.release.pgm import apply_floor, fit_model, sample_rows


def _table(seed: int = 0, n: int = 5000, cards: tuple[int, ...] = (3, 4, 2, 5)):
    raw = random_table(seed, n=n, cards=cards, skew=0.8)
    dom = Domain({c: raw.values[j] + ("absent",) for j, c in enumerate(raw.columns)}, "test")
    return restrict(raw, dom)[0]


def _exact(t) -> Measurements:
    """'Measurements' without noise (the true marginals and rows): for testing the fit only."""
    noisy = exact_two_way(t)
    rows, counts = np.unique(t.codes, axis=0, return_counts=True)
    big = counts >= 20
    like = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    return Measurements(like, 2, noisy, 1.0, float(t.n_rows), rows[big], counts[big].astype(float),
                        1.0, 20, 1.0, 1e-6, 1.0)


def _model_counts(model, s, keys) -> np.ndarray:
    mk, mc = model.counts(s)
    pos = np.minimum(np.searchsorted(mk, keys), len(mk) - 1)
    return np.where(mk[pos] == keys, mc[pos], 0.0)


def test_fit_reproduces_exact_marginals() -> None:
    t = _table()
    model = fit_model(_exact(t), iterations=400)
    assert abs(model.weights.sum() - t.n_rows) < 1e-6 * t.n_rows
    truth = CombinationCounts.of(t, 2)
    for s, (keys, counts) in truth.tables.items():
        got = _model_counts(model, s, keys)
        big = counts >= 50
        rel = np.abs(got[big] - counts[big]) / counts[big]
        assert rel.mean() < 0.05, (s, rel.mean())


def test_floor_holds_exactly_in_the_model_and_in_sampled_rows() -> None:
    t = _table(1)
    meas = measure_for_model(t, 2.0, 1e-6)
    model = apply_floor(fit_model(meas), 11.0, 3, meas.total)
    for s in subsets(t.n_columns, 3):
        _, counts = model.counts(s)
        assert np.all(counts >= 11.0 - 1e-9), s
    n = int(round(meas.total))
    rows = sample_rows(model, n, np.random.default_rng(0))
    assert len(rows) == n
    got = counts_of_rows(t.with_codes(rows), 3)
    for s, (keys, _) in got.tables.items():
        assert np.all(_model_counts(model, s, keys) >= 11.0 - 1e-9), s
    # systematic rounding: each candidate row appears within one of its expected count
    uniq, mult = np.unique(rows, axis=0, return_counts=True)
    expect = {r.tobytes(): 0.0 for r in uniq}
    for r, w in zip(model.codes, model.weights / model.weights.sum() * n, strict=True):
        if r.tobytes() in expect:
            expect[r.tobytes()] += w
    assert all(abs(m - expect[r.tobytes()]) <= 1.0 + 1e-9 * n
               for r, m in zip(uniq, mult, strict=True) if (model.codes == r).all(1).sum() == 1)


def test_cell_sigmas_spend_exactly_rho_and_favour_wide_marginals() -> None:
    radix = np.array([3, 6, 21])
    plan = [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]
    sig = cell_sigmas(radix, plan, 0.05, 2.0, 1 / 3)
    assert math.isclose(sum(1 / (2 * s ** 2) for s in sig.values()), 0.05, rel_tol=1e-9)
    assert sig[(2,)] < sig[(1,)] < sig[(0,)]  # more cells, less noise
    assert sig[(1, 2)] < sig[(0, 1)]
    assert sig[()] == sig[(2,)]  # the total counts as the widest 1-way marginal
    t = _table(2)
    m = measure(t, 1.0, 1e-6, 2, row_share=0.3, one_way=2.0, power=1 / 3)
    assert 0.99 <= m.epsilon <= 1.0 and m.delta <= 1e-6  # OpenDP's map of the composition
    assert m.accounting["cell_power"] == pytest.approx(1 / 3)
    assert set(m.sigmas) >= {s for s in m.noisy}
    assert m.sigma_of((3,)) < m.sigma_of((2,))  # 6 cells vs 3


def test_releases_are_post_processing_of_opendp_output(monkeypatch) -> None:
    """Replay one OpenDP release for a second, different table: every output must be the same,
    so nothing in them comes from the rows except through OpenDP's measurement."""
    import opendp.mod

    a, b = _table(3), _table(4, n=4200)
    assert a.values == b.values and not np.array_equal(a.codes, b.codes)
    original = opendp.mod.Measurement.__call__
    original_query = opendp.mod.Queryable.__call__
    recorded: list = []
    answers: list = []
    asked = [0]

    def replay(self, arg):
        if not recorded:
            recorded.append(original(self, arg))
        return recorded[0]

    def replay_query(self, query):
        # the adaptive plan asks its compositor two questions per release: the total, then
        # the rest (planned from the total); the first release's answers serve every release
        i = asked[0] % 2
        asked[0] += 1
        if len(answers) <= i:
            answers.append(original_query(self, query))
        return answers[i]

    # hand-rolled noise would differ between the two runs; numpy's legacy samplers are barred
    def forbidden(*_a, **_k):
        raise AssertionError("noise outside OpenDP")

    monkeypatch.setattr(opendp.mod.Measurement, "__call__", replay)
    monkeypatch.setattr(opendp.mod.Queryable, "__call__", replay_query)
    outs = []
    for t in (a, b):
        with monkeypatch.context() as m:
            m.setattr(np.random, "normal", forbidden)
            m.setattr(np.random, "laplace", forbidden)
            rel, _ = release_dp_aggregates(t, 2.0, 1e-6, 3, 11)
        syn, _, _ = synthesize_dp(t, 2.0, 1e-6, 11, seed=1)
        outs.append((rel.counts.tables, rel.total, syn.codes))
    (ta, tot_a, sa), (tb, tot_b, sb) = outs
    assert tot_a == tot_b and np.array_equal(sa, sb)
    assert ta.keys() == tb.keys()
    for s in ta:
        assert np.array_equal(ta[s][0], tb[s][0]) and np.array_equal(ta[s][1], tb[s][1])


def test_model_releases_respect_the_floor_and_beat_no_information() -> None:
    t = _table(5, n=8000)
    rel, meas = release_dp_aggregates(t, 4.0, 1e-6, 3, 11)
    assert meas.epsilon <= 4.0 and meas.accounting["cell_power"] > 0
    assert all(np.all(c >= 11) for _, c in rel.counts.tables.values())
    truth = CombinationCounts.of(t, 1)
    for s, (keys, counts) in truth.tables.items():
        big = counts >= 200
        got = rel.counts.lookup(s, keys[big])
        assert np.mean(np.abs(got - counts[big]) / counts[big]) < 0.15, s
    plain, _, _ = synthesize_dp(t, 4.0, 1e-6, None, seed=0)
    assert abs(plain.n_rows - t.n_rows) < 0.05 * t.n_rows
    with pytest.raises(ReleaseUsageError):
        synthesize_dp(t, 4.0, 1e-6, 11, estimator="magic")
    with pytest.raises(ReleaseUsageError):
        release_dp_aggregates(t, 4.0, 1e-6, 3, 11, estimator="magic")
    old, _, m_old = synthesize_dp(t, 4.0, 1e-6, 11, estimator="ipf", iterations=2)
    assert m_old.accounting["cell_power"] == 0.0 and old.n_rows > 0
