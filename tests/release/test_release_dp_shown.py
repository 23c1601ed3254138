"""The k floor's weight of the extrapolated part follows how much of the table the released row
patterns show (``dp_aggregates.extrapolated_weight_for``), and DP synthesis's value refinement
counts the 1-way part of its objective by ε (``dp_synthetic.refine_one_way_weight``): both are
functions of the noisy measurements and public parameters only."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import keys_of
from safelight.release.domain import Domain, restrict
from safelight.release.dp import Measurements, measure_for_model
from safelight.release.dp_aggregates import (
    EXTRAPOLATED_WEIGHT,
    EXTRAPOLATED_WEIGHT_FEW_SHOWN,
    SHOWN_SHARES,
    extrapolated_weight_for,
    floored_estimate,
    model_estimate,
    release_dp_aggregates,
    shown_share,
)
from safelight.release.dp_synthetic import refine_one_way_weight, synthesize_dp
from safelight.release.pgm import Model


def _table(seed: int = 0, n: int = 5000, cards: tuple[int, ...] = (3, 4, 2, 5)):
    raw = random_table(seed, n=n, cards=cards, skew=0.8)
    dom = Domain({c: raw.values[j] + ("absent",) for j, c in enumerate(raw.columns)}, "test")
    return restrict(raw, dom)[0]


def _meas(like, total: float, shown: float) -> Measurements:
    """Measurements whose one released pattern, (1, 1, 1, 1), shows ``shown`` of ``total``."""
    codes = np.array([[1, 1, 1, 1]], np.int32)
    return Measurements(like, 2, {}, 1.0, total, codes, np.array([shown]), 1.0, 9, 4.0, 1e-6,
                        0.3)


def _kept(est, s, row, radix) -> bool:
    key = int(keys_of(np.array([row]), radix, s)[0])
    return key in set(est.counts[s][0].tolist())


def test_the_weight_follows_the_share_the_patterns_show() -> None:
    like = _table().with_codes(np.zeros((0, 4), np.int32))
    lo, hi = SHOWN_SHARES
    assert extrapolated_weight_for(_meas(like, 1000.0, 0.0)) == EXTRAPOLATED_WEIGHT_FEW_SHOWN
    assert extrapolated_weight_for(_meas(like, 1000.0, lo * 1000)) == pytest.approx(
        EXTRAPOLATED_WEIGHT_FEW_SHOWN)
    assert extrapolated_weight_for(_meas(like, 1000.0, hi * 1000)) == pytest.approx(
        EXTRAPOLATED_WEIGHT)
    # noisy counts may add up to more than the noisy total: the share is clipped to 1
    assert shown_share(_meas(like, 1000.0, 1200.0)) == 1.0
    assert extrapolated_weight_for(_meas(like, 1000.0, 1200.0)) == EXTRAPOLATED_WEIGHT
    mid = _meas(like, 1000.0, (lo + hi) / 2 * 1000)
    assert extrapolated_weight_for(mid) == pytest.approx(
        (EXTRAPOLATED_WEIGHT + EXTRAPOLATED_WEIGHT_FEW_SHOWN) / 2)
    shares = np.linspace(0, 1, 21)
    weights = [extrapolated_weight_for(_meas(like, 1000.0, s * 1000)) for s in shares]
    assert all(a >= b for a, b in zip(weights, weights[1:], strict=False))


def test_a_release_applies_and_records_the_weight_of_its_measurements() -> None:
    """Two rows of 14 people; the second is shown by no pattern. Where the patterns show
    little of the table (14 of 28 here, weight 0.9167), 0.9167 · 14 >= 11 keeps it; where they
    show most (25 of 28: weight 0.75), 0.75 · 14 < 11 drops it. The weights used are recorded
    with the measurements (settings.json and the ledger read them from there)."""
    t = _table()
    like = t.with_codes(np.zeros((0, t.n_columns), np.int32))
    radix = like.radix
    codes = np.array([[1, 1, 1, 1], [2, 2, 1, 1]], np.int32)
    model = Model(like, codes, np.array([14.0, 14.0]))
    few = _meas(like, 28.0, 14.0)
    est = floored_estimate(model, few, 2, 11.0)
    assert _kept(est, (0, 1), codes[1], radix)
    assert few.accounting["floor_weights"] == {"measured": 1.0, "extrapolated": 0.9167,
                                               "shown_share": 0.5}
    # the fixed default of model_estimate (0.75) would drop it
    assert not _kept(model_estimate(model, few, 2, 11.0), (0, 1), codes[1], radix)
    most = _meas(like, 28.0, 25.0)
    assert not _kept(floored_estimate(model, most, 2, 11.0), (0, 1), codes[1], radix)
    assert most.accounting["floor_weights"]["extrapolated"] == EXTRAPOLATED_WEIGHT
    # no floor: nothing to record, every combination the model carries
    none = _meas(like, 28.0, 14.0)
    assert _kept(floored_estimate(model, none, 2, None), (0, 1), codes[1], radix)
    assert "floor_weights" not in none.accounting
    # every kept count is >= k whatever the weight
    for _keys, e, _ in est.counts.values():
        assert (e >= 11.0).all()


def test_the_refinement_weight_follows_epsilon() -> None:
    assert refine_one_way_weight(0.5) == refine_one_way_weight(1.0) == 1.0
    assert refine_one_way_weight(4.0) == refine_one_way_weight(8.0) == 3.0
    assert 1.0 < refine_one_way_weight(2.0) < 3.0


@pytest.mark.parametrize("epsilon", [1.0, 4.0])
def test_weights_and_releases_are_functions_of_the_measurements_alone(monkeypatch,
                                                                     epsilon) -> None:
    """Post-processing: with the noisy measurements fixed, a very different sensitive table
    (300 of its rows instead of 6,000) gives identical floor weights, identical DP aggregates
    and byte-identical synthetic rows. A weight read from the sensitive rows (their count,
    their share in released patterns) would make them differ."""
    import safelight.release.dp_aggregates as dp_aggregates
    import safelight.release.dp_synthetic as dp_synthetic

    a = _table(1, 6000)
    b = a.with_codes(a.codes[:300])
    meas = measure_for_model(a, epsilon, 1e-6)
    for mod in (dp_synthetic, dp_aggregates):
        monkeypatch.setattr(mod, "measure_for_model", lambda table, e, d: copy.deepcopy(meas))
    out = []
    for table in (a, b):
        syn, _, m = synthesize_dp(table, epsilon, 1e-6, 11, seed=0, iterations=3)
        rel, m2 = release_dp_aggregates(table, epsilon, 1e-6, 3, 11)
        out.append((syn, m.accounting, rel, m2.accounting))
    (sa, acc_a, ra, agg_a), (sb, acc_b, rb, agg_b) = out
    assert acc_a["floor_weights"] == acc_b["floor_weights"] == agg_a["floor_weights"] \
        == agg_b["floor_weights"]
    assert acc_a["refine_one_way_weight"] == acc_b["refine_one_way_weight"] \
        == refine_one_way_weight(epsilon)
    assert np.array_equal(sa.codes, sb.codes) and sa.values == sb.values
    assert ra.total == rb.total
    for s, (keys, counts) in ra.counts.tables.items():
        assert np.array_equal(keys, rb.counts.tables[s][0])
        assert np.array_equal(counts, rb.counts.tables[s][1])
