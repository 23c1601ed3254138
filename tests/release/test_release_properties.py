"""Property test: no k-method ever releases a combination that describes 1..k-1 people."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import categorical_tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.release.aggregates import release_aggregates
from safelight.release.combos import CombinationCounts, subsets
from safelight.release.errors import ReleaseUsageError
from safelight.release.evaluate import counts_of_rows
from safelight.release.suppression import linear_attack
from safelight.release.synthetic import synthesize


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=categorical_tables(), k=st.integers(2, 12), length=st.integers(1, 3))
def test_k_methods_never_release_below_k(t, k, length) -> None:
    truth = CombinationCounts.of(t, length)
    if t.n_rows < k:  # k-synthetic data would publish the row count, the aggregates nothing
        with pytest.raises(ReleaseUsageError, match="fewer rows than k"):
            synthesize(t, k=k, length=length, iterations=2)
        with pytest.raises(ReleaseUsageError, match="fewer rows than k"):
            release_aggregates(t, k=k, length=length, method="suppress")
        return
    agg = release_aggregates(t, k=k, length=length, method="suppress")
    syn, _ = synthesize(t, k=k, length=length, iterations=2)
    syn_counts = counts_of_rows(syn, length)
    for s in subsets(t.n_columns, length):
        keys, counts = agg.counts.tables[s]
        assert np.all(counts >= k)
        assert np.all(truth.lookup(s, keys) >= k)
        skeys, _ = syn_counts.tables[s]
        assert np.all(truth.lookup(s, skeys) >= k)
    # and no withheld cell is determined by the released ones
    sup = agg.suppression
    la = linear_attack(sup.system, sup.released, max_audit_unknowns=5000)
    assert not np.any(la.determined & sup.primary)
    assert syn.n_rows == t.n_rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=categorical_tables(), k=st.integers(2, 12), qi_mask=st.integers(1, 15))
def test_k_anonymous_microdata_never_releases_below_k(t, k, qi_mask) -> None:
    from safelight.release.microdata import anonymize, evaluation_view

    qis = [c for j, c in enumerate(t.columns) if qi_mask >> j & 1] or [t.columns[0]]
    if t.n_rows < k:  # the microdata would publish the row count: refused
        with pytest.raises(ReleaseUsageError, match="fewer rows than k"):
            anonymize(t, k, qis)
        return
    an = anonymize(t, k, qis)
    qi = [t.columns.index(c) for c in qis]
    codes = an.table.codes[:, qi]
    _, inv, cnt = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    assert np.all((cnt[inv.ravel()] >= k) | np.all(codes == 0, axis=1))
    # every combination of QI values the release shows describes >= k people in the data
    view = evaluation_view(an.table, t).select_rows(np.ones(t.n_rows, bool))
    sub = view.with_codes(np.where(np.isin(np.arange(t.n_columns), qi)[None, :],
                                   view.codes, 0))
    truth = CombinationCounts.of(t, 3)
    got = counts_of_rows(sub, 3)
    for s in subsets(t.n_columns, 3):
        keys, counts = got.tables[s]
        assert np.all(counts >= k) and np.all(truth.lookup(s, keys) >= k)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=categorical_tables(), k=st.integers(2, 12), eps=st.sampled_from([0.5, 4.0, 50.0]))
def test_dp_k_floor_never_releases_below_k(t, k, eps) -> None:
    """The DP floor is about released (noisy) counts: none is under k, and DP synthetic rows
    carry only combinations whose estimate clears k."""
    from safelight.release.domain import Domain, restrict
    from safelight.release.dp import measure
    from safelight.release.dp_aggregates import estimate, release_dp_aggregates
    from safelight.release.dp_synthetic import reportable_from
    from safelight.release.errors import NothingReleasedError
    from safelight.release.synthetic import KSynthesizer

    dom = Domain({c: t.values[j] + ("other",) for j, c in enumerate(t.columns)}, "test")
    pub, _ = restrict(t, dom)
    try:
        rel, _ = release_dp_aggregates(pub, eps, 1e-6, length=2, k=k)
    except NothingReleasedError:
        pass  # nothing cleared the floor: nothing is released
    else:
        for _s, (_keys, counts) in rel.counts.tables.items():
            assert np.all(counts >= k)
    meas = measure(pub, eps, 1e-6, 2)
    R = reportable_from(estimate(meas), float(k))
    if R.n_combinations() == 0:
        return  # nothing cleared the floor: nothing is released
    syn, _ = KSynthesizer(k, 2, iterations=1).sample_counts(meas.like, R,
                                                            max(int(meas.total), 1))
    got = counts_of_rows(syn, 2)
    for s in subsets(t.n_columns, 2):
        keys, _ = got.tables[s]
        assert np.all(np.isin(keys, R.tables[s][0]))
        assert np.all(R.lookup(s, keys) >= k)
