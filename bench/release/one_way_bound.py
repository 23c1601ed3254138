"""How much of the privacy budget would the 1-way error target need? A bench-side yardstick.

Issue 7 asks DP synthetic data at ε = 1 for a mean relative 1-way error ≤ 0.10 (over values
held by ≥ k people) next to 2-way ≤ 0.30 and 3-way ≤ 0.45. This script asks what the 1-way
figure alone would cost, under the most favourable assumptions for it:

* each column's 1-way histogram is measured on its own with the Gaussian mechanism (L2
  sensitivity 1 under adding or removing a person), every column at once costing the sum of
  their zCDP budgets — the plan the release uses for its 1-way marginals;
* the budget is split over the columns by an **oracle** that knows the true counts (ρ_c ∝
  A_c^(2/3), A_c = Σ 1/count over the column's values held by ≥ k people, which minimises
  the expected error to first order) — no DP release could read these counts;
* each value's estimate is its own noisy count, clipped at 0 (no model, no rows: nothing else
  adds error), and, for the figure *with the k floor*, a value whose estimate is under k is not
  shown (relative error 1), as the release's floor does for 1- and 2-way combinations.

ρ is the release's own (OpenDP's privacy map of the adaptive plan at the given (ε, δ)). The
share of ρ spent on the 1-way marginals is varied; the script prints the mean relative error
for each share and the smallest share that reaches the target (bisection on simulated errors
with common random numbers). A release shares its budget with the 2- and 3-way measurements,
so a share near 1 means the 1-way target cannot be met next to the others. Biased estimators
(a model that shrinks rare values, or borrows them from 2-way marginals) could do better than
this per-value estimate, but they trade variance for bias on exactly the rare values; the
figure is a yardstick, not a proof. Bench side: it reads the true counts; nothing here is a
release.

    PYTHONPATH=src python bench/release/one_way_bound.py ../shared/data/ctdc/bench_ctdc10.csv \\
        [--epsilon 1 4] [--delta 1e-6] [--k 11] [--target 0.10]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import numpy as np

from safelight.release.domain import restrict, standard_domain
from safelight.release.dp import measure_for_model
from safelight.release.table import CategoricalTable, read_table

SHARES = (1.0, 0.75, 0.5, 0.3, 0.13)
DRAWS = 4000


@dataclass(frozen=True)
class OneWay:
    """The true counts of every value held by ≥ k people, by column (bench side)."""

    counts: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, table: CategoricalTable, k: int) -> OneWay:
        out = []
        for j in range(table.n_columns):
            codes = table.codes[:, j]
            c = np.bincount(codes[codes > 0]).astype(float)
            out.append(c[c >= k])
        return cls(tuple(out))

    def oracle_split(self) -> np.ndarray:
        """Each column's share of the 1-way budget (sums to 1): ∝ (Σ 1/count)^(2/3)."""
        a = np.array([np.sum(1.0 / c) if len(c) else 0.0 for c in self.counts]) ** (2 / 3)
        return a / a.sum()


def simulated_error(one_way: OneWay, sigmas: np.ndarray, *, k: int, floor: bool,
                    seed: int = 0) -> float:
    """Expected mean relative error over every value held by ≥ k people when column ``j``'s
    1-way histogram has Gaussian noise of s.d. ``sigmas[j]``; ``floor`` hides an estimate under
    ``k`` (error 1). Simulated with ``DRAWS`` draws per value; the same ``seed`` gives the same
    standard-normal draws whatever the scales (common random numbers)."""
    rng = np.random.default_rng(seed)
    errors = []
    for c, sigma in zip(one_way.counts, sigmas, strict=True):
        if not len(c):
            continue
        est = np.maximum(c + sigma * rng.standard_normal((DRAWS, len(c))), 0.0)
        if floor:
            est = np.where(est < k, 0.0, est)
        errors.append(np.mean(np.abs(est - c) / c, axis=0))
    return float(np.mean(np.concatenate(errors)))


def mean_error(one_way: OneWay, rho: float, *, k: int, floor: bool) -> float:
    """:func:`simulated_error` when the 1-way marginals get ``rho`` (zCDP) in all, split over
    the columns by :meth:`OneWay.oracle_split`."""
    sigmas = 1.0 / np.sqrt(2.0 * rho * np.maximum(one_way.oracle_split(), 1e-300))
    return simulated_error(one_way, sigmas, k=k, floor=floor)


def share_needed(one_way: OneWay, rho: float, target: float, *, k: int, floor: bool) -> float | None:
    """The smallest share of ``rho`` on the 1-way marginals whose :func:`mean_error` is
    ≤ ``target`` (to 0.5%), or ``None`` when even all of it is not enough."""
    if mean_error(one_way, rho, k=k, floor=floor) > target:
        return None
    lo, hi = 0.0, 1.0
    while hi - lo > 0.005:
        mid = (lo + hi) / 2
        if mean_error(one_way, rho * mid, k=k, floor=floor) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def report(path: str, epsilons: list[float], delta: float, k: int, target: float) -> dict:
    table = read_table(path)
    public = restrict(table, standard_domain(table.columns))[0]
    one_way = OneWay.of(public, k)
    out: dict = {"table": path, "k": k, "target": target,
                 "values": int(sum(len(c) for c in one_way.counts)), "by_epsilon": {}}
    for eps in epsilons:
        meas = measure_for_model(public, eps, delta)  # the release's plan at (ε, δ)
        rho = meas.rho
        plan_sigmas = np.array([meas.sigma_of((j,)) for j in range(public.n_columns)])
        row = {"rho": round(rho, 6),
               "plan_one_way_sd": [round(float(x), 2) for x in plan_sigmas],
               "plan_one_way_error_with_floor": round(
                   simulated_error(one_way, plan_sigmas, k=k, floor=True), 4)}
        for floor in (False, True):
            name = "with_floor" if floor else "no_floor"
            row[name] = {str(s): round(mean_error(one_way, rho * s, k=k, floor=floor), 4)
                         for s in SHARES}
            need = share_needed(one_way, rho, target, k=k, floor=floor)
            row[name + "_share_needed"] = None if need is None else round(need, 3)
        out["by_epsilon"][str(eps)] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table")
    ap.add_argument("--epsilon", type=float, nargs="+", default=[1.0, 4.0])
    ap.add_argument("--delta", type=float, default=1e-6)
    ap.add_argument("--k", type=int, default=11)
    ap.add_argument("--target", type=float, default=None,
                    help="1-way error target (default 0.10 at eps <= 1, 0.05 above)")
    args = ap.parse_args()
    for eps in args.epsilon:
        target = args.target if args.target is not None else (0.10 if eps <= 1 else 0.05)
        print(json.dumps(report(args.table, [eps], args.delta, args.k, target), indent=1))


if __name__ == "__main__":
    main()
