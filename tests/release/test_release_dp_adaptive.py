"""The adaptive plan of the model-based DP releases (safelight.release.dp.measure_adaptive):
the row histogram's share of rho is set from a first, noisy measurement of the total only, and
OpenDP's map of the whole adaptive composition stays within (epsilon, delta)."""

from __future__ import annotations

import math

import numpy as np
import opendp.mod
import pytest
from helpers_release import random_table

from safelight.release import dp as dpmod
from safelight.release.domain import Domain, restrict
from safelight.release.dp import (
    MIN_SHARE_FACTOR,
    ROWS_PER_THRESHOLD,
    TOTAL_SHARE,
    adaptive_row_share,
    measure_for_model,
    model_one_way,
    model_row_share,
)


def _table(seed: int, n: int, cards: tuple[int, ...] = (3, 4, 2, 5)):
    raw = random_table(seed, n=n, cards=cards, skew=0.8)
    dom = Domain({c: raw.values[j] + ("absent",) for j, c in enumerate(raw.columns)}, "test")
    return restrict(raw, dom)[0]


def _plan(meas) -> tuple:
    """Everything the second step's plan fixed: shares, scales, threshold."""
    acc = meas.accounting
    return (acc["row_share"], acc["reference_threshold"], meas.row_threshold, meas.sigma_rows,
            tuple(sorted((s, round(v, 12)) for s, v in meas.sigmas.items())))


def test_the_row_share_follows_the_total_against_the_threshold() -> None:
    ref = model_row_share(1.0)
    assert adaptive_row_share(1.0, 0.0, 44) == pytest.approx(ref * MIN_SHARE_FACTOR)
    assert adaptive_row_share(1.0, 10 * ROWS_PER_THRESHOLD * 44, 44) == pytest.approx(ref)
    mid = adaptive_row_share(1.0, 0.5 * ROWS_PER_THRESHOLD * 44, 44)
    assert mid == pytest.approx(0.5 * ref)
    # a higher threshold (less budget) at the same total: less on the row histogram
    assert adaptive_row_share(1.0, 0.5 * ROWS_PER_THRESHOLD * 44, 60) < mid


def test_the_plan_is_a_function_of_the_noisy_total_only(monkeypatch) -> None:
    """Two tables with different rows (and sizes), the first OpenDP answer (the noisy total)
    replaced by the same figure: the same plan. A different figure: a different plan."""
    original = opendp.mod.Queryable.__call__
    forced = {"total": 3000.0}
    asked = [0]

    def forced_total(self, query):
        answer = original(self, query)
        asked[0] += 1
        return [forced["total"]] if asked[0] % 2 == 1 else answer  # the total comes first

    monkeypatch.setattr(opendp.mod.Queryable, "__call__", forced_total)
    # at epsilon 4 (threshold 9) their true sizes would give shares 1/3 and 0.9 of the
    # reference: only the forced total can make the plans equal
    a, b = _table(1, 2000), _table(2, 8000)
    assert a.values == b.values
    ma, mb = measure_for_model(a, 4.0, 1e-6), measure_for_model(b, 4.0, 1e-6)
    assert ma.total == mb.total == 3000.0
    assert _plan(ma) == _plan(mb)
    # the same size and domain, one distinct row instead of ~100: still the same plan
    one = a.with_codes(np.repeat(a.codes[:1], a.n_rows, axis=0))
    assert _plan(measure_for_model(one, 4.0, 1e-6)) == _plan(ma)
    assert ma.accounting["row_share"] < model_row_share(4.0)
    forced["total"] = 10 * ROWS_PER_THRESHOLD * ma.accounting["reference_threshold"]
    mc = measure_for_model(a, 4.0, 1e-6)
    assert mc.accounting["row_share"] == pytest.approx(model_row_share(4.0))
    assert _plan(mc) != _plan(ma)


def test_the_one_way_weight_grows_from_two_at_epsilon_one_to_four_at_four() -> None:
    assert model_one_way(0.5) == model_one_way(1.0) == 2.0
    assert model_one_way(2.0) == pytest.approx(3.0)
    assert model_one_way(4.0) == model_one_way(16.0) == 4.0


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 4.0])
def test_the_whole_stays_within_epsilon_delta(epsilon: float) -> None:
    t = _table(3, 4000)
    meas = measure_for_model(t, epsilon, 1e-6)
    # OpenDP's map of the adaptive composition, as recorded, and close to the budget
    assert 0.99 * epsilon <= meas.epsilon <= epsilon and meas.delta <= 1e-6
    assert "make_adaptive_composition" in meas.accounting["mechanisms"]
    # the 1-way weight of the plan at this epsilon is the one used and recorded
    assert meas.accounting["one_way_weight"] == pytest.approx(model_one_way(epsilon))
    # the record counts the marginals alone (4 one-way, 6 two-way), not the total
    assert meas.accounting["marginals"] == 10 == len([s for s in meas.sigmas if s])
    # the scales spend what the compositor allowed each step: the total TOTAL_SHARE of rho,
    # the marginals and the row histogram the rest
    first = 1 / (2 * meas.sigmas[()] ** 2)
    rest = sum(1 / (2 * s ** 2) for k, s in meas.sigmas.items() if k) \
        + 1 / (2 * meas.sigma_rows ** 2)
    assert first <= TOTAL_SHARE * meas.rho and first == pytest.approx(TOTAL_SHARE * meas.rho)
    assert rest <= (1 - TOTAL_SHARE) * meas.rho
    assert rest == pytest.approx((1 - TOTAL_SHARE) * meas.rho)


def test_the_compositor_refuses_a_second_step_over_its_share() -> None:
    dp = dpmod._opendp()
    dom = dpmod._code_matrix(dp)
    rho = 0.05
    whole = dpmod._adaptive_whole(dp, dom, rho, 1e-6)
    radix = np.array([4, 5])
    codes = np.ones((100, 2), np.int32)
    queries = whole(codes)
    first = dp.c.make_approximate(dpmod._marginal_transformation(dp, dom, radix, [()])
                                  >> dp.m.then_gaussian(1 / math.sqrt(2 * rho * TOTAL_SHARE)))
    queries(first)
    too_much = dp.c.make_approximate(dpmod._marginal_transformation(dp, dom, radix, [(0,)])
                                     >> dp.m.then_gaussian(1 / math.sqrt(2 * rho)))
    with pytest.raises(opendp.mod.OpenDPException):
        queries(too_much)
