"""bench/release/one_way_bound.py: the 1-way error a share of the budget could reach."""

from __future__ import annotations

import numpy as np
import pytest

from tests.bench_scripts import bench_module


def _one_way(mod):
    return mod.OneWay((np.array([12.0, 30.0, 400.0]), np.array([5000.0, 9000.0])))


def test_error_falls_with_the_budget_and_the_floor_only_adds() -> None:
    with bench_module("bench/release/one_way_bound.py") as mod:
        ow = _one_way(mod)
        errs = [mod.mean_error(ow, rho, k=11, floor=False) for rho in (0.01, 0.1, 1.0, 100.0)]
        assert errs == sorted(errs, reverse=True) and errs[-1] < 0.01
        for rho in (0.01, 1.0):
            assert mod.mean_error(ow, rho, k=11, floor=True) >= mod.mean_error(
                ow, rho, k=11, floor=False)
        # a value of 12 people under noise of s.d. 10: hidden by the floor 46% of the time
        # (error 1), otherwise off by |noise| / 12 — about 0.79 in all (0.62 without the floor)
        one = mod.OneWay((np.array([12.0]),))
        assert mod.simulated_error(one, np.array([10.0]), k=11, floor=True) == pytest.approx(
            0.79, abs=0.03)
        assert mod.simulated_error(one, np.array([10.0]), k=11, floor=False) == pytest.approx(
            0.62, abs=0.03)


def test_oracle_split_favours_the_column_with_rare_values() -> None:
    with bench_module("bench/release/one_way_bound.py") as mod:
        split = _one_way(mod).oracle_split()
        assert split.sum() == pytest.approx(1.0) and split[0] > 0.8


def test_share_needed_reaches_the_target_and_says_when_nothing_does() -> None:
    with bench_module("bench/release/one_way_bound.py") as mod:
        ow = _one_way(mod)
        need = mod.share_needed(ow, 1.0, 0.05, k=11, floor=True)
        assert need is not None and 0 < need <= 1
        assert mod.mean_error(ow, need, k=11, floor=True) <= 0.05
        assert mod.mean_error(ow, need - 0.01, k=11, floor=True) > 0.05
        assert mod.share_needed(ow, 1e-4, 0.05, k=11, floor=True) is None
