"""Differentially private releases: public domains, OpenDP accounting, the k floor, utility."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import CombinationCounts, subsets
from safelight.release.domain import Domain, restrict, standard_domain, translate
from safelight.release.dp import adaptive_row_share, default_plan, measure
from safelight.release.dp_aggregates import estimate, release_dp_aggregates, release_from_estimate
from safelight.release.dp_synthetic import reportable_from, synthesize_dp
from safelight.release.errors import ReleaseUsageError
from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.synthetic import KSynthesizer
from safelight.release.table import from_columns


def _own_domain(t, extra: int = 2) -> Domain:
    """A test domain: the table's values plus values that never occur."""
    return Domain({c: t.values[j] + tuple(f"absent{i}" for i in range(extra))
                   for j, c in enumerate(t.columns)}, "test")


def _big_table(seed: int = 0, n: int = 6000):
    return random_table(seed, n=n, cards=(3, 4, 2), skew=0.8)


def test_standard_domain_is_public_and_covers_ctdc_columns() -> None:
    dom = standard_domain(["gender", "citizenship", "ageBroad", "ageCategories",
                           "yearOfRegistration", "isForcedLabour", "Labor_Type"])
    assert "NA" in dom.values["citizenship"] and "unknown0" in dom.values["citizenship"]
    assert len(dom.values["citizenship"]) > 240  # every ISO country, not the data's few
    assert "0--8" in dom.values["ageBroad"] and "Age 0-8" not in dom.values["ageBroad"]
    assert "Age 48+" in dom.values["ageCategories"]
    assert dom.values["isForcedLabour"] == ("yes", "no")
    assert "2002" in dom.values["yearOfRegistration"]
    with pytest.raises(ReleaseUsageError, match="--domain"):
        standard_domain(["gender", "favourite_colour"])


def test_restrict_uses_domain_spelling_and_drops_unknown_values() -> None:
    t = from_columns({"gender": ["female", "Male", "Alien", ""],
                      "ExploitType": ["Sexual Exploitation", "Forced Labor", "", "Other"]})
    r, dropped = restrict(t, standard_domain(t.columns))
    assert dropped == {"gender": 1}
    assert r.decode_column(0) == ["Female", "Male", "", ""]
    assert r.decode_column(1)[0] == "Sexual exploitation"  # the crosswalk's spelling
    assert "Transgender" in r.values[0]  # a value the data does not have is in the domain
    # and counts map back onto the data's own spelling
    back = translate(CombinationCounts.of(r, 2), r, t)
    assert back.n_combinations() == CombinationCounts.of(t.select_rows(
        np.array([True, True, False, True])), 2).n_combinations()


def test_measure_accounting_is_opendps_and_within_budget() -> None:
    t, _ = restrict(_big_table(), _own_domain(_big_table()))
    m = measure(t, 2.0, 1e-6, 2)
    assert 1.9 < m.epsilon <= 2.0 and m.delta <= 1e-6
    assert m.sigma_marginals > 0 and m.sigma_rows > 0 and m.row_threshold >= 2
    # dense over the public domain: cells of values that never occur are measured too
    assert all(len(v) == np.prod([len(t.values[j]) for j in s]) for s, v in m.noisy.items())
    # noise is there: a tiny epsilon moves the total by much more than at a large one
    lo = [abs(measure(t, 0.05, 1e-6, 1).total - t.n_rows) for _ in range(3)]
    assert max(lo) > 3
    with pytest.raises(ReleaseUsageError):
        measure(t, 0.0, 1e-6)
    with pytest.raises(ReleaseUsageError):
        measure(t, 1.0, 0.0)


def test_dp_aggregates_floor_and_accuracy() -> None:
    raw = _big_table()
    t, _ = restrict(raw, _own_domain(raw))
    rel, meas = release_dp_aggregates(t, 8.0, 1e-6, length=2, k=11)
    for _s, (_keys, counts) in rel.counts.tables.items():
        assert np.all(counts >= 11)
    ev = evaluate(t, rel.counts, 11, 2)
    e1, e2 = ev.errors()
    assert e1 < 0.05 and e2 < 0.15, ev.errors()
    assert ev.total("fabricated") == 0
    assert rel.total is not None and abs(rel.total - t.n_rows) < 50  # noisy, close
    plain, _ = release_dp_aggregates(t, 8.0, 1e-6, length=2, k=None)
    assert plain.counts.n_combinations() >= rel.counts.n_combinations()


def test_dp_synthetic_rows_only_carry_reportable_combinations() -> None:
    raw = _big_table(1)
    t, _ = restrict(raw, _own_domain(raw))
    m = measure(t, 4.0, 1e-6, 2)
    R = reportable_from(estimate(m), 11)
    # hereditary: every 2-way combination's 1-way parts are reportable
    for s in subsets(t.n_columns, 2, 2):
        codes = np.array([[(int(x) // int(np.prod(t.radix[list(s[:i])]))) % t.radix[c]
                           for i, c in enumerate(s)] for x in R.tables[s][0]]).reshape(-1, 2)
        for i, c in enumerate(s):
            assert np.all(np.isin(codes[:, i], R.tables[(c,)][0]))
    syn, _ = KSynthesizer(11, 2, iterations=3).sample_counts(m.like, R, int(m.total))
    got = counts_of_rows(syn, 2)
    for s in subsets(t.n_columns, 2):
        assert np.all(np.isin(got.tables[s][0], R.tables[s][0])), s
    ev = evaluate(t, got, 11, 2, released_rows=syn)
    assert ev.errors()[0] < 0.1 and ev.total("leaked") == 0


def test_dp_synthesis_end_to_end_and_default_plan() -> None:
    raw = _big_table(2, n=3000)
    t, _ = restrict(raw, _own_domain(raw))
    syn, rep, meas = synthesize_dp(t, 1.0, 1e-6, k=11, iterations=2)
    plan = meas.accounting
    assert default_plan(1.0) == (meas.length, plan["reference_row_share"])
    # the row share actually used is set from the noisy total (3,000 rows: below the reference)
    assert plan["row_share"] == round(adaptive_row_share(1.0, meas.total,
                                                         plan["reference_threshold"]), 6)
    assert plan["row_share"] < plan["reference_row_share"]
    assert abs(syn.n_rows - t.n_rows) < 0.1 * t.n_rows
    assert syn.values == t.values  # the public domain, not the data's values
    with pytest.raises(ReleaseUsageError):
        synthesize_dp(t, 1.0, 1e-6, k=1)


def test_large_marginals_are_measured_sparsely(monkeypatch) -> None:
    import safelight.release.dp as dpmod

    raw = _big_table(3)
    t, _ = restrict(raw, _own_domain(raw))
    monkeypatch.setattr(dpmod, "SPARSE_CELLS", 10)  # every 2-way marginal goes sparse
    m = measure(t, 8.0, 1e-6, 2)
    assert m.epsilon <= 8.0 and m.delta <= 1e-6
    assert m.accounting["sparse_marginals"] == 3 and m.accounting["sparse_threshold"] > 1
    for s, y in m.noisy.items():
        if len(s) == 2:
            truth = CombinationCounts.of(t, 2)
            big = truth.tables[s][1] > 4 * m.accounting["sparse_threshold"]
            got = y[~np.isnan(y)]
            assert len(got) >= int(big.sum())  # the large cells clear the threshold
            assert np.isnan(y).any()  # empty cells are never released
    rel = release_from_estimate(estimate(m), 11)
    assert all(np.all(c >= 11) for _, c in rel.counts.tables.values())
