"""Property test: no k-method ever releases a combination that describes 1..k-1 people."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.release.aggregates import release_aggregates
from safelight.release.combos import CombinationCounts, subsets
from safelight.release.evaluate import counts_of_rows
from safelight.release.suppression import linear_attack
from safelight.release.synthetic import synthesize
from safelight.release.table import from_columns


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 120))
    cols = {}
    for j in range(n_cols):
        card = draw(st.integers(1, 5))
        values = st.sampled_from([""] + [f"v{i}" for i in range(card)] + ["0"])
        cols[f"c{j}"] = draw(st.lists(values, min_size=n_rows, max_size=n_rows))
    return from_columns(cols)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=tables(), k=st.integers(2, 12), length=st.integers(1, 3))
def test_k_methods_never_release_below_k(t, k, length) -> None:
    truth = CombinationCounts.of(t, length)
    agg = release_aggregates(t, k=k, length=length)
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
