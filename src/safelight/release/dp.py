"""Differentially private measurements of a categorical table, built on OpenDP.

Contract: :func:`measure` (and its two-step form :func:`measure_adaptive`) is the **only**
place where safelight's differentially private releases touch the sensitive rows. It returns
noisy counts; everything made from them
(:mod:`~safelight.release.dp_aggregates`, :mod:`~safelight.release.dp_synthetic`) is
post-processing and costs no further privacy. The stated guarantee is (ε, δ)-DP under
*add/remove one person* (one row; unbounded DP, OpenDP's ``symmetric_distance`` of 1), with
the category lists taken from a public :class:`~safelight.release.domain.Domain`, never from
the data. The number of rows is not published exactly: it is a noisy measurement too.

What is measured, and why these mechanisms
------------------------------------------
1. **Every 1..L-way marginal and the total** (``L`` = :data:`MEASURED_LENGTH` = 2 unless the
   caller asks otherwise; longer combinations are estimated from these, as post-processing,
   by :func:`safelight.release.dp_aggregates.estimate`), dense over the public domain (zero cells
   included, so the presence of a category is not revealed), with OpenDP's **discrete Gaussian
   mechanism** (``make_gaussian`` on an integer vector, zCDP, [CKS20]). Sensitivity: one person
   adds 1 to exactly one cell of each marginal in which all their values are present, and to
   the total — at most ``M`` cells (``M`` = number of marginals incl. the total) change by 1, so
   the L2 sensitivity is ``sqrt(M)`` (stated in the stability map of the transformation below;
   the 1-way marginals with the total, and the longer marginals, are two such measurements,
   of sensitivity ``sqrt(M_1)`` and ``sqrt(M_2)``, so that the 1-way ones can get less noise,
   :func:`one_way_weight`;
   the L1 sensitivity ``M`` would make Laplace noise ``sqrt(M)`` times larger, which is why the
   Gaussian is used). Integer noise: no floating-point side channel.
   Marginals of more than ``SPARSE_CELLS`` cells (e.g. country x country x year: millions of
   cells, mostly empty) are measured instead with OpenDP's **Gaussian threshold mechanism** on
   their non-empty cells only (same noise scale; one person touches one key in each of the
   ``M_big`` such marginals: L0 = M_big, L2 = sqrt(M_big), L∞ = 1): noising millions of empty
   cells costs minutes, and a cell of such a marginal must clear a threshold (about 5 noise
   s.d.) to be released at all; below it the estimate falls back on the row histogram.
   **Per-marginal plan** (``measure(power=p)``, used by the model-based releases through
   :func:`measure_for_model`): each dense marginal (and the total) is its own discrete
   Gaussian measurement, L2 sensitivity 1, with s.d. ``σ_s = c · cells_s^-p`` (1-way ones and
   the total divided by the 1-way weight; :func:`cell_sigmas`), ``c`` chosen so that
   ``Σ_s 1/(2σ_s²)`` is the marginals' share of ρ. Cell counts come from the public domain.
2. **The histogram of whole rows**, only the rows that occur, with OpenDP's **Gaussian
   threshold mechanism** (``make_gaussian_threshold``, propose-test-release over an unknown key
   set, [Rogers23]): a row pattern is released only if its noisy count clears a threshold
   chosen so that the chance of releasing a pattern held by a single person is inside δ. One
   person changes one key by 1 (L0 = L2 = L∞ = 1). CTDC-style tables are highly concentrated
   (on ``bench_ctdc10.csv`` 1,434 distinct rows for 14,299 people), so this measures the bulk
   of the table with a noise of about one person per pattern.

Both are composed by OpenDP (``make_composition``; for the model-based releases in two
adaptive steps, see below; zCDP adds up: ρ = Σ_s 1/(2σ_s²) for the
Gaussian measurements of sensitivity 1 — or ``M/(2σ²)`` for a group of ``M`` marginals at one
scale — plus ``1/(2σ_r²)`` for the row histogram, whose threshold adds its δ share),
converted to (ε, δ) (``make_zCDP_to_approxDP`` + ``make_fix_delta``); the scales are found by
bisection on ρ so that OpenDP's own privacy map of the composed measurement is
``<= (ε, δ)``. That map — not a formula of ours — is what :class:`Measurements` records
(``epsilon``, ``delta``, ``rho``).

The adaptive plan (the model-based releases, :func:`measure_adaptive`)
--------------------------------------------------------------------
How much of ρ the row histogram is worth depends on how many row patterns clear its threshold,
which depends on how many people the table holds (``bench_ctdc10.csv``, 14,299 people, is
better served by a small share at ε = 1, ``bench_ctdc7.csv``, 48,773, by a larger one:
:func:`model_row_share`). So the model-based releases measure in two steps, composed by
OpenDP's **adaptive composition** (``make_adaptive_composition``: an interactive
compositor whose per-query budgets are fixed up front, ``d_mids``; OpenDP cites [LW22]):

1. the total, with the discrete Gaussian mechanism (L2 sensitivity 1), at
   ``TOTAL_SHARE`` (2%) of ρ: noise s.d. 33 people at ε = 1, 9 at ε = 4 (δ = 1e-6);
2. the 1- and 2-way marginals and the row histogram, as in the fixed plan, at the rest of ρ
   and the thresholds' share of δ; the row histogram's share of it is
   :func:`adaptive_row_share` of the *noisy* total from step 1 and of ε and δ —
   post-processing of step 1's output (the marginals' scales come, as before, from the public
   domain's cell counts).

Why the stated (ε, δ) holds: the compositor admits a query only if OpenDP's map of that
query is within its ``d_mid`` (``(TOTAL_SHARE · ρ, 0)`` and ``((1 − TOTAL_SHARE) · ρ,
THRESHOLD_DELTA_SHARE · δ)``; it refuses anything more, and a third query), whatever the
query is and however it was chosen from earlier answers; zCDP (and approximate zCDP)
composes additively under such adaptive choice (Bun & Steinke 2016), so the compositor's own
privacy map is the sum of the ``d_mids``, converted to (ε, δ) by ``make_zCDP_to_approxDP`` +
``make_fix_delta`` — OpenDP's map of the whole, found by the same bisection on ρ, is what
:class:`Measurements` records.
The plan's choice reads nothing but the noisy total (a test replaces the total's answer
and checks that two different tables get the same plan). ``accounting`` records the chosen
``row_share`` with ``total_share``, ``reference_row_share`` and ``reference_threshold``.

OpenDP features enabled: ``contrib`` (OpenDP's Gaussian, threshold and composition
constructors are in its contrib tier: proofs written, not yet through its vetting process) and
``honest-but-curious`` (the two transformations from a code matrix to counts are ours, as
``make_user_transformation`` with the stability maps argued above; OpenDP trusts, not checks,
them). Noise comes from OpenDP's samplers (OS randomness): a DP release is not reproducible by
seed, by design.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safelight.interrupts import deferred_interrupts
from safelight.release.combos import Subset, complete_rows, multipliers, subsets
from safelight.release.errors import PlanningError, ReleaseError
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.dp")

#: Share of ρ spent on the whole-row histogram (the rest on the marginals).
ROW_SHARE = 0.55


def one_way_weight(epsilon: float) -> float:
    """How many times less noise (s.d.) the 1-way marginals and the total get than the longer
    marginals (their own Gaussian measurement, composed with the others), by default: 1 (the
    same noise). Measured on ``bench_ctdc10.csv`` / ``bench_ctdc7.csv``: at ε = 4 weight 2
    takes the 1-way error of DP aggregates from 0.10 to 0.07 but the 2-/3-way from 0.24 / 0.32
    to 0.27 / 0.35; at ε = 1 DP synthesis's 1-way error falls 0.44 -> 0.38 (ctdc10) while the
    2-/3-way errors rise on ctdc7 (0.53 / 0.65 -> 0.58 / 0.70). ``measure(one_way=...)``
    sets it per release."""
    del epsilon  # the same at every epsilon measured so far
    return 1.0
#: Share of δ the threshold of the row histogram may use (the rest is the zCDP conversion's).
THRESHOLD_DELTA_SHARE = 0.5
MAX_CELLS = 20_000_000
#: Marginals with more cells than this are measured sparsely (see the module docstring).
SPARSE_CELLS = 250_000


#: Longest marginal measured by default; longer combinations are estimated from them
#: (:func:`safelight.release.dp_aggregates.estimate`).
MEASURED_LENGTH = 2


#: The plan of the model-based releases (:mod:`safelight.release.pgm`): share of ρ on the row
#: histogram at ε <= 1 and at ε >= 4 (log-linear between; :func:`model_row_share`), 1-way
#: weight at ε <= 1 and at ε >= 4 (:func:`model_one_way`) and cell power (:func:`cell_sigmas`).
MODEL_ROW_SHARE = (0.3, 0.7)
MODEL_ONE_WAY = (2.0, 4.0)
MODEL_POWER = 1.0 / 3.0


def _log_between(epsilon: float, ends: tuple[float, float]) -> float:
    """``ends[0]`` at ε <= 1, ``ends[1]`` at ε >= 4, linear in log ε between."""
    x = min(max(math.log(epsilon) / math.log(4.0), 0.0), 1.0)
    return ends[0] + (ends[1] - ends[0]) * x


def model_one_way(epsilon: float) -> float:
    """How many times less noise (s.d.) the 1-way marginals and the total get than
    :func:`cell_sigmas`' power law alone would give them, in the model-based releases: 2 at
    ε <= 1, 4 at ε >= 4, log-linear between. With the k floor a value whose count is near k
    comes out short or is lost when its 1-way count is noisy, and at ε = 4 the 2- and 3-way
    targets leave room to spend on it; at ε = 1 they do not. Measured on ``bench_ctdc10.csv``
    (2026-11-30 23:00–23:35, unpaired runs in one session, load 2–7; 1/2/3-way error, lost
    share): DP synthetic ε = 4, weight 2 -> 4 (15 and 13 runs): 0.052 / 0.173 / 0.243, 9.8%
    -> 0.048 / 0.171 / 0.244, 9.4% (1-way runs 0.041–0.066 -> 0.037–0.064; citizenship's part
    of the 1-way error 0.026 -> 0.018 in eight runs each); DP aggregates ε = 4 (five runs each): 0.045 /
    0.127 / 0.206, 9.6% -> 0.037 / 0.138 / 0.214, 9.5%; ``bench_ctdc7.csv`` DP synthetic ε = 4
    (three runs each): 0.037 / 0.084 / 0.111, 5.4% -> 0.044 / 0.078 / 0.102, 4.7%. At ε = 1
    (six runs each) weight 4 gave 0.129 / 0.324 / 0.425, 19.3% and 9.9% fabricated against
    weight 2's 0.137 / 0.311 / 0.414, 18.4% and 8.4%: the 2-way error is what ε = 1 lacks, so
    it keeps 2."""
    return _log_between(epsilon, MODEL_ONE_WAY)


def model_row_share(epsilon: float) -> float:
    """Share of ρ on the row histogram for the model-based releases: 0.3 at ε <= 1, 0.7 at
    ε >= 4, log-linear between. Measured on ``bench_ctdc10.csv`` (synthetic, k floor; raw
    model error 1/2/3-way): at ε = 1 shares 0.3 / 0.55 / 0.7 gave 0.12 / 0.30 / 0.38,
    0.15 / 0.32 / 0.41, 0.18 / 0.36 / 0.43; at ε = 4 0.3 / 0.55 / 0.7 gave 0.05 / 0.14 / 0.20,
    0.04 / 0.14 / 0.20, 0.05 / 0.13 / 0.17 (and on ``bench_ctdc7.csv`` 0.55 beat 0.3: 0.04 /
    0.07 / 0.08 against 0.11 / 0.15 / 0.18): the more budget, the more row patterns clear the
    threshold and the more the histogram is worth. Re-measured with the converged fit
    (:data:`safelight.release.pgm.ITERATIONS`; medians of three measurements each, floored
    DP aggregates, 1/2/3-way error and lost share): at ε = 4 shares 0.55 / 0.7 / 0.85 gave
    0.034 / 0.141 / 0.213 (10.9%), 0.035 / 0.136 / 0.208 (9.7%), 0.056 / 0.154 / 0.214
    (9.9%); at ε = 1 shares 0.15 / 0.3 / 0.45 gave 0.131 / 0.300 / 0.411 (21.7%), 0.131 /
    0.309 / 0.427 (22.3%), 0.123 / 0.341 / 0.465 (23.7%), and a 1-way weight of 4 instead of
    2 0.135 / 0.337 / 0.454 (24.0%) — no change clear of the run-to-run spread, so the plan
    stays. Re-measured at ε = 1 with 1-/2-way combinations floored at their model count
    (2026-11-30; floored DP aggregates, medians of three measurements each): on
    ``bench_ctdc10.csv`` shares 0.3 / 0.15 / 0.1 / 0.05 / 0 gave 0.123 / 0.304 / 0.426 (22.0%),
    0.121 / 0.293 / 0.416 (21.7%), 0.112 / 0.282 / 0.411 (20.6%), 0.122 / 0.279 / 0.411
    (20.8%), 0.126 / 0.283 / 0.409 (20.3%) — less is better there (its threshold of 43 releases
    only ~60 patterns) — but on ``bench_ctdc7.csv`` (one measurement each; 231 patterns clear
    the threshold at 0.3) 0.3 / 0.05 / 0 gave 0.215 / 0.383 / 0.531 (31.6%, 14% fabricated),
    0.207 / 0.429 / 0.587 (30.4%, 17%), 0.206 / 0.430 / 0.613 (30.3%, 17%). The better share
    depends on how many people the table holds; a plan that measured the total first and set
    the share from the noisy total would be needed to take both. That plan is
    :func:`measure_adaptive`: this share is now its *reference*, which
    :func:`adaptive_row_share` lowers for tables with few people per unit of threshold."""
    return _log_between(epsilon, MODEL_ROW_SHARE)


#: The adaptive plan (:func:`measure_adaptive`): share of ρ spent first on the noisy total;
#: noisy total per person of the reference threshold at which the row histogram gets its
#: whole reference share; least fraction of that share (:func:`adaptive_row_share`).
TOTAL_SHARE = 0.02
ROWS_PER_THRESHOLD = 1000.0
MIN_SHARE_FACTOR = 1.0 / 3.0


def adaptive_row_share(epsilon: float, total: float, threshold: int) -> float:
    """Share of ρ (after the total's) on the row histogram in the adaptive plan: the reference
    share :func:`model_row_share` times ``total / (ROWS_PER_THRESHOLD · threshold)``, clipped
    to ``[MIN_SHARE_FACTOR, 1]``. ``total`` is the noisy total, ``threshold`` the row
    histogram's threshold at the reference share (a function of ρ and δ only): at most
    ``total / threshold`` row patterns can clear it, and when that is small the histogram
    releases few patterns and its ρ is worth more on the marginals. A function of the noisy
    total and public quantities only — post-processing.

    The constants keep the shares measured best on both tables (:func:`model_row_share`; δ =
    1e-6): at ε = 1 the reference threshold is 44, so ``bench_ctdc10.csv`` (14,299 people,
    ratio ~325) gets 0.1 and ``bench_ctdc7.csv`` (48,773, ratio ~1,108) keeps 0.3; at ε = 4 it
    is 9 (ratios ~1,589 and ~5,419): both keep 0.7. Two tables fix the constants, not a
    curve: a table between them gets a share between them. Measured (2026-11-30,
    ``bench/release/run.py``, the fixed plan and this one in the same session, unpaired
    medians of five runs; 1/2/3-way error, lost share): ``bench_ctdc10.csv`` at ε = 1 (share
    0.3 -> 0.1), DP synthetic 0.149 / 0.334 / 0.435, 20.3% -> 0.148 / 0.306 / 0.417, 19.1%
    (2-way runs 0.329–0.348 -> 0.302–0.332; fabricated 9.0% -> 8.9%); at ε = 4 (share 0.7
    both) DP synthetic 0.048 / 0.174 / 0.244, 10.1% -> 0.055 / 0.173 / 0.241, 9.6% and DP
    aggregates 0.035 / 0.132 / 0.216, 9.7% -> 0.043 / 0.132 / 0.211, 9.9% (1-way runs
    0.029–0.069 either way: noise); ``bench_ctdc7.csv`` at ε = 1 (0.3 both) 0.235 / 0.409 /
    0.541, 31.2% -> 0.222 / 0.410 / 0.544, 31.2%, at ε = 4 (two runs) synthetic 0.039 /
    0.086 / 0.108, 5.5% -> 0.038 / 0.078 / 0.106, 4.9%. A share above the reference does
    not pay: 0.55 on ``bench_ctdc7.csv`` at ε = 1 gave 0.272 / 0.418 / 0.534, 33.3% (two
    runs), so the factor stops at 1."""
    factor = min(max(total / (ROWS_PER_THRESHOLD * threshold), MIN_SHARE_FACTOR), 1.0)
    return model_row_share(epsilon) * factor


def default_plan(epsilon: float) -> tuple[int, float]:
    """(measured length, row share) used when the caller gives none. Measured on
    ``bench_ctdc10.csv`` (and in simulation at ε = 1 and 4): measuring the 1- and 2-way
    marginals and *estimating* 3-way counts from them beats measuring the 3-way marginals,
    whose noise (√176 · σ at 10 columns) drowns the 11–40 people most common 3-way
    combinations hold. With the model (:mod:`~safelight.release.pgm`): the row histogram
    gets :func:`model_row_share`, the marginals the rest, one by one (noise s.d. ∝
    cells^-1/3, the 1-way ones at a half (ε <= 1) to a quarter (ε >= 4) of that:
    :data:`MODEL_POWER`, :func:`model_one_way`; ε = 1, no
    floor: 1/2/3-way error 0.43 / 0.49 / 0.50 with one noise scale for all marginals, 0.13 /
    0.28 / 0.37 with this plan)."""
    return MEASURED_LENGTH, model_row_share(epsilon)


def measure_for_model(table: CategoricalTable, epsilon: float, delta: float) -> Measurements:
    """The plan of the model-based releases (:func:`default_plan`), the row share set from the
    noisy total (:func:`measure_adaptive`)."""
    length, _ = default_plan(epsilon)
    return measure_adaptive(table, epsilon, delta, length, one_way=model_one_way(epsilon),
                            power=MODEL_POWER)


def _calling_opendp() -> Any:
    """Hold Ctrl-C and SIGTERM back while OpenDP runs: it calls back into Python (the user
    transformations' functions and stability maps, the code matrix's domain check), and a
    :class:`KeyboardInterrupt` raised in such a callback unwinds into OpenDP's Rust, which
    aborts the process (a trial: exit 134 or a segmentation fault, with no clean-up — the
    release's folder left behind, an earlier release of ``--force`` left aside). The stop is
    raised in Python when OpenDP returns (about 2 s on 14,000 rows), where the release's
    clean-up runs and a ledger charges the measurement."""
    return deferred_interrupts()


def _opendp() -> Any:
    try:
        import opendp.prelude as dp
    except ImportError as exc:  # pragma: no cover - opendp is a declared dependency
        raise ReleaseError("differentially private releases need OpenDP "
                           "(pip install opendp)") from exc
    dp.enable_features("contrib", "honest-but-curious")
    return dp


@dataclass
class Measurements:
    """Noisy counts of one table and what they cost.

    ``like`` is the table's shape (columns and public value lists) with no rows. ``noisy[s]``
    is the dense noisy marginal of subset ``s`` over its non-missing cells (see
    :func:`cell_keys` for the combination key of each cell); ``rows``/``row_counts`` the
    released row patterns (codes, ``0`` = missing) and their noisy counts.
    """

    like: CategoricalTable
    length: int
    noisy: dict[Subset, np.ndarray]
    sigma_marginals: float
    total: float
    rows: np.ndarray
    row_counts: np.ndarray
    sigma_rows: float
    row_threshold: int
    epsilon: float
    delta: float
    rho: float
    accounting: dict[str, Any] = field(default_factory=dict)
    #: noise s.d. of the 1-way marginals and the total (``sigma_marginals / one_way_weight``)
    sigma_one_way: float | None = None
    #: noise s.d. per marginal when each was measured on its own (``measure(power=...)``)
    sigmas: dict[Subset, float] = field(default_factory=dict)

    def release_params(self) -> dict[str, Any]:
        """What a release's settings and ledger entry record of these measurements: the
        privacy cost, the noise scales and threshold, and every choice in :attr:`accounting`
        (mechanisms, the plan's shares, the floor's and the candidates' rules) — the same for
        a release from a file (``safelight release``) and from a hub. ``sigma_by_marginal``
        gives each marginal's own noise s.d. (columns joined by ``+``) when the plan scaled
        them one by one (``(total)``: the row count's)."""
        by_marginal = {("+".join(self.like.columns[j] for j in sub) or "(total)"):
                       round(float(v), 4) for sub, v in sorted(self.sigmas.items())}
        return {"epsilon": self.epsilon, "delta": self.delta, "rho_zcdp": round(self.rho, 6),
                "sigma_marginals": round(self.sigma_marginals, 4),
                **({"sigma_by_marginal": by_marginal} if by_marginal else {}),
                "sigma_rows": round(self.sigma_rows, 4), "row_threshold": self.row_threshold,
                "measured_length": self.length, **self.accounting}

    def sigma_of(self, s: Subset) -> float:
        """Noise s.d. of the marginal of ``s``."""
        if s in self.sigmas:
            return self.sigmas[s]
        if len(s) <= 1 and self.sigma_one_way is not None:
            return self.sigma_one_way
        return self.sigma_marginals


def _sizes(radix: np.ndarray, s: Subset) -> np.ndarray:
    return radix[list(s)].astype(np.int64) - 1


def cell_keys(radix: np.ndarray, s: Subset) -> np.ndarray:
    """Combination key (see :mod:`~safelight.release.combos`) of every dense cell of ``s``."""
    sizes = _sizes(radix, s)
    idx = np.arange(int(np.prod(sizes.astype(float))), dtype=np.int64)
    codes = np.empty((len(idx), len(s)), np.int64)
    for i, m in enumerate(sizes):
        codes[:, i] = idx % m + 1
        idx //= m
    return codes @ multipliers(radix, s)


def _marginal_plan(like: CategoricalTable, length: int) -> list[Subset]:
    plan = [(), *subsets(like.n_columns, length)]
    cells = sum(int(np.prod(_sizes(like.radix, s).astype(float))) for s in plan)
    if cells > MAX_CELLS:
        raise ReleaseError(f"the {length}-way marginals over the public domain have {cells:,} "
                           f"cells (limit {MAX_CELLS:,}); lower --length or use fewer columns")
    return plan


def _n_cells(radix: np.ndarray, s: Subset) -> int:
    return 1 if not s else int(np.prod(_sizes(radix, s).astype(float)))


def _dense_index(codes: np.ndarray, radix: np.ndarray, s: Subset) -> np.ndarray:
    """Dense cell index (see :func:`cell_keys`) of every row complete on ``s``."""
    sizes = _sizes(radix, s)
    sub = codes[complete_rows(codes, s)][:, list(s)].astype(np.int64) - 1
    return sub @ np.concatenate(([1], np.cumprod(sizes)[:-1]))


def _marginal_vector(codes: np.ndarray, radix: np.ndarray, plan: list[Subset]) -> np.ndarray:
    parts = []
    for s in plan:
        if not s:
            parts.append(np.array([len(codes)], np.int64))
            continue
        parts.append(np.bincount(_dense_index(codes, radix, s),
                                 minlength=_n_cells(radix, s)).astype(np.int64))
    return np.concatenate(parts)


def _sparse_marginals(codes: np.ndarray, radix: np.ndarray,
                      plan: list[Subset]) -> dict[int, int]:
    """Non-empty cells of the ``plan`` marginals, keyed by offset + dense index."""
    out: dict[int, int] = {}
    offset = 0
    for s in plan:
        u, c = np.unique(_dense_index(codes, radix, s), return_counts=True)
        out.update(zip((u + offset).tolist(), c.tolist(), strict=True))
        offset += _n_cells(radix, s)
    return out


def _threshold(dp: Any, trans: Any, sigma: float, budget: float, d_in: int = 1) -> int:
    """Smallest integer threshold of the Gaussian threshold mechanism after ``trans`` whose
    delta is within ``budget`` (bisection; delta falls as the threshold rises)."""
    lo_t, hi_t = 1, 2 + int(math.ceil(sigma * 60))
    while hi_t - lo_t > 1:
        mid = (lo_t + hi_t) // 2
        if (trans >> dp.m.then_gaussian_threshold(sigma, threshold=mid)).map(d_in)[1] <= budget:
            hi_t = mid
        else:
            lo_t = mid
    return hi_t


def _row_histogram(codes: np.ndarray, radix: np.ndarray) -> dict[int, int]:
    full = tuple(range(codes.shape[1]))
    keys = codes.astype(np.int64) @ multipliers(radix, full)
    u, c = np.unique(keys, return_counts=True)
    return dict(zip(u.tolist(), c.tolist(), strict=True))


def _split(radix: np.ndarray, plan: list[Subset]) -> tuple[list[Subset], list[Subset]]:
    dense = [s for s in plan if _n_cells(radix, s) <= SPARSE_CELLS]
    return dense, [s for s in plan if _n_cells(radix, s) > SPARSE_CELLS]


def cell_sigmas(radix: np.ndarray, plan: list[Subset], rho: float, weight: float,
                power: float) -> dict[Subset, float]:
    """Noise s.d. of each dense marginal measured on its own (``power > 0``): ``σ_s = c ·
    cells_s^-power`` (divided by ``weight`` for the 1-way marginals and the total, which
    counts as the widest 1-way marginal), with ``c``
    such that the zCDP cost ``Σ 1 / (2 σ_s²)`` (sensitivity 1 each) is ``rho``. The cell counts
    come from the public domain, never from the data: the allocation is data-independent."""
    widest = max((_n_cells(radix, s) for s in plan if len(s) == 1), default=1)
    raw = {s: float(_n_cells(radix, s) if s else widest) ** -power
           * (1.0 / weight if len(s) <= 1 else 1.0) for s in plan}
    c = math.sqrt(sum(1.0 / r ** 2 for r in raw.values()) / (2 * rho))
    return {s: c * r for s, r in raw.items()}


def _code_matrix(dp: Any) -> Any:
    """OpenDP's domain of the sensitive input: a code matrix (one row per person)."""
    return dp.user_domain("SafelightCodeMatrix", member=lambda x: isinstance(x, np.ndarray))


def _row_transformation(dp: Any, dom: Any, radix: np.ndarray) -> Any:
    """Code matrix -> histogram of whole rows; one person changes one row pattern's count by
    one: (L0, L2, L∞) = (1, 1, 1)."""
    return dp.t.make_user_transformation(
        dom, dp.symmetric_distance(), dp.map_domain(dp.atom_domain(T=dp.i64),
                                                    dp.atom_domain(T=dp.i64)),
        dp.l02inf_distance(dp.absolute_distance(T=dp.i64)),
        function=lambda x: _row_histogram(x, radix),
        stability_map=lambda d_in: (int(d_in), int(d_in), int(d_in)))


def _marginal_transformation(dp: Any, dom: Any, radix: np.ndarray, group: list[Subset]) -> Any:
    """Code matrix -> the dense marginals of ``group`` in one vector (``()``: the row count);
    one person changes at most one cell of each marginal by one: L2 <= sqrt(len(group))."""
    return dp.t.make_user_transformation(
        dom, dp.symmetric_distance(), dp.vector_domain(dp.atom_domain(T=dp.i64)),
        dp.l2_distance(T=dp.f64),
        function=lambda x: _marginal_vector(x, radix, group).tolist(),
        stability_map=lambda d_in: float(d_in) * math.sqrt(len(group)))


def _approx(dp: Any, meas: Any, delta: float) -> Any:
    """An approximate-zCDP measurement stated as (ε, δ)-DP at ``delta`` (OpenDP's maps)."""
    return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(meas), delta)


def _build(dp: Any, radix: np.ndarray, plan: list[Subset], rho: float, row_share: float,
           delta: float, weight: float = 1.0, power: float = 0.0,
           ) -> tuple[Any, float, float, int, int, dict[Subset, float]]:
    """The composed OpenDP measurement for a total zCDP budget ``rho``, as (ε, δ)-DP."""
    comp, *rest = _compose(dp, _code_matrix(dp), radix, plan, rho, row_share,
                           delta * THRESHOLD_DELTA_SHARE, weight, power)
    return (_approx(dp, comp, delta), *rest)


def _compose(dp: Any, dom: Any, radix: np.ndarray, plan: list[Subset], rho: float,
             row_share: float, delta_thresholds: float, weight: float = 1.0, power: float = 0.0,
             ) -> tuple[Any, float, float, int, int, dict[Subset, float]]:
    """The composition (approximate zCDP: ``rho`` and at most ``delta_thresholds``) of the
    marginals of ``plan`` and, with ``row_share > 0``, the row histogram."""
    m = len(plan)
    dense, sparse = _split(radix, plan)
    sym = dp.symmetric_distance()
    hmap = dp.map_domain(dp.atom_domain(T=dp.i64), dp.atom_domain(T=dp.i64))
    l02inf = dp.l02inf_distance(dp.absolute_distance(T=dp.i64))
    sigma_m = math.sqrt(m) / math.sqrt(2 * rho * (1 - row_share))
    sigma_1 = sigma_m / weight
    meas = []
    per_cell: dict[Subset, float] = {}
    groups = [([s for s in dense if len(s) <= 1], sigma_1),
              ([s for s in dense if len(s) > 1], sigma_m)]
    if power > 0 and not sparse:
        # one Gaussian measurement per marginal (sensitivity 1), scales by cell count
        per_cell = cell_sigmas(radix, dense, rho * (1 - row_share), weight, power)
        groups = [([s], per_cell[s]) for s in dense]
        sigma_m = max(per_cell.values())
    for group, sigma in groups:
        if not group:
            continue
        meas.append(dp.c.make_approximate(_marginal_transformation(dp, dom, radix, group)
                                          >> dp.m.then_gaussian(sigma)))
    n_thr = (1 if sparse else 0) + (1 if row_share > 0 else 0)
    thr_sparse = 0
    if sparse:
        # one key in each sparse marginal changes by one: (L0, L2, Linf) = (b, b, 1) with
        # L2 = sqrt(b) rounded up to an integer (OpenDP's integer metric): conservative
        b = len(sparse)
        t_sp = dp.t.make_user_transformation(
            dom, sym, hmap, l02inf, function=lambda x: _sparse_marginals(x, radix, sparse),
            stability_map=lambda d_in: (int(d_in) * b, int(math.ceil(d_in * math.sqrt(b))),
                                        int(d_in)))
        thr_sparse = _threshold(dp, t_sp, sigma_m, delta_thresholds / n_thr)
        meas.append(t_sp >> dp.m.then_gaussian_threshold(sigma_m, threshold=thr_sparse))
    sigma_r, thr = 0.0, 0
    if row_share > 0:
        t_rows = _row_transformation(dp, dom, radix)
        sigma_r = 1.0 / math.sqrt(2 * rho * row_share)
        thr = _threshold(dp, t_rows, sigma_r, delta_thresholds / n_thr)
        meas.append(t_rows >> dp.m.then_gaussian_threshold(sigma_r, threshold=thr))
    return dp.c.make_composition(meas), sigma_m, sigma_r, thr, thr_sparse, per_cell


def _mechanisms(per_cell: bool, adaptive: bool = False) -> str:
    marg = ("OpenDP make_gaussian per marginal (L2 sensitivity 1 each)" if per_cell else
            "OpenDP make_gaussian (1-way and longer marginals, L2 sensitivity sqrt(M))")
    if adaptive:
        return ("OpenDP make_gaussian (the total, first), then, planned from it, " + marg
                + " + make_gaussian_threshold (row histogram); make_adaptive_composition "
                "(zCDP) -> (epsilon, delta)")
    return (f"{marg} + make_gaussian_threshold (row histogram), zCDP composition -> "
            "(epsilon, delta)")


#: Above this ε a release is warned about: the guarantee bounds how much one person can change
#: the odds of anything an attacker concludes by e^ε — over 22,000 at ε = 10 — and at large
#: ε the noise vanishes (at ε = 1e9 the release publishes the exact counts).
EPSILON_WARN = 10.0


def _check_budget(epsilon: float, delta: float) -> None:
    """:raises PlanningError: ε not a finite number > 0, or δ not in (0, 1)."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        why = ("an infinite epsilon is no privacy at all" if math.isinf(epsilon) and epsilon > 0
               else "it is the privacy loss a release may cost, e.g. 1.0")
        raise PlanningError(f"--epsilon must be a finite number > 0 (got {epsilon}); {why}")
    if not (math.isfinite(delta) and 0 < delta < 1):
        raise PlanningError(f"--delta must be in (0, 1) (got {delta}); a δ well under "
                            "1/rows is usual, e.g. 1e-6")


def check_request(epsilon: float, delta: float) -> None:
    """Check the (ε, δ) a release asks for before anything else (budget, data), and warn when
    ε is over :data:`EPSILON_WARN`.

    :raises PlanningError: ε or δ out of range (see :func:`_check_budget`).
    """
    _check_budget(epsilon, delta)
    if epsilon > EPSILON_WARN:
        log.warning("epsilon %g is over %g: the privacy guarantee is nearly void (the "
                    "counts are the model's estimates from nearly exact measurements); use "
                    "epsilon <= %g", epsilon, EPSILON_WARN, EPSILON_WARN)


def warn_large_delta(delta: float, rows: int) -> None:
    """Warn when δ is over 1/``rows``: the chance of some one person's row pattern being
    released outright is then no longer small (δ is the probability the ε bound fails)."""
    if rows and delta > 1 / rows:
        log.warning("delta %g is over 1/rows (1/%d = %.2g): the guarantee may fail for some "
                    "person with a probability that is not small; use delta well under 1/rows",
                    delta, rows, 1 / rows)


def _largest_rho(make: Callable[[float], tuple[Any, ...]], epsilon: float,
                 delta: float) -> tuple[float, tuple[Any, ...]]:
    """The largest zCDP budget ρ (bisection, to 0.1%) for which OpenDP's privacy map of the
    measurement ``make(ρ)[0]`` is within ``epsilon`` (its δ is fixed by construction), with
    what ``make`` built for it."""
    from opendp.mod import OpenDPException

    lo, hi = 1e-6, max(epsilon, 1.0)
    best = None
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        try:
            built = make(mid)
            fits = built[0].map(1)[0] <= epsilon
        except OpenDPException:  # raised when delta cannot be met at this rho
            fits = False
        if fits:
            lo, best = mid, built
        else:
            hi = mid
        if hi / lo < 1.001:
            break
    if best is None:
        raise PlanningError(f"(ε, δ) = ({epsilon}, {delta}) is too small to measure "
                            "anything; raise epsilon or delta")
    return lo, best


def _unpack(released: list, radix: np.ndarray, dense: list[Subset], sparse: list[Subset],
            per_cell: bool) -> tuple[dict[Subset, np.ndarray], float | None, dict[int, Any]]:
    """OpenDP's answers of one composition (see :func:`_compose`) as noisy marginals, the
    noisy total (``None`` when ``dense`` lacks it) and the released row histogram."""
    noisy: dict[Subset, np.ndarray] = {}
    total = None
    groups = ([[s] for s in dense] if per_cell else
              [[s for s in dense if len(s) <= 1], [s for s in dense if len(s) > 1]])
    for group in groups:
        if not group:
            continue
        vec = np.asarray(released.pop(0), dtype=float)
        pos = 0
        for s in group:
            size = _n_cells(radix, s)
            if s:
                noisy[s] = vec[pos:pos + size]
            else:
                total = float(vec[pos])
            pos += size
    if sparse:
        cells = released.pop(0)
        keys_sp = np.array(list(cells), np.int64)
        vals_sp = np.array([cells[x] for x in keys_sp.tolist()], float)
        offset = 0
        for s in sparse:
            size = _n_cells(radix, s)
            arr = np.full(size, np.nan)  # not released: below the threshold (or empty)
            sel = (keys_sp >= offset) & (keys_sp < offset + size)
            arr[keys_sp[sel] - offset] = vals_sp[sel]
            noisy[s] = arr
            offset += size
    return noisy, total, (released.pop(0) if released else {})


def _row_patterns(hist: dict[int, Any], radix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The released row patterns (codes) and their noisy counts, by key."""
    keys = np.array(sorted(hist), np.int64)
    counts = np.array([hist[k] for k in keys.tolist()], float)
    rows = np.zeros((len(keys), len(radix)), np.int32)
    rest = keys.copy()
    for j in range(len(radix)):
        rows[:, j] = rest % radix[j]
        rest //= radix[j]
    return rows, counts


def measure(table: CategoricalTable, epsilon: float, delta: float, length: int = 3, *,
            row_share: float = ROW_SHARE, one_way: float | None = None,
            power: float = 0.0) -> Measurements:
    """Measure ``table`` (already restricted to a public domain) under (ε, δ)-DP.

    :param length: longest marginal measured (1..length-way, and the total).
    :param row_share: share of the zCDP budget for the whole-row histogram (0 = none).
    :param one_way: noise of the longer marginals over that of the 1-way ones (default
        :func:`one_way_weight`).
    :param power: 0 (default): one Gaussian measurement per group (1-way, longer) at one noise
        scale; ``> 0``: one per marginal, noise s.d. proportional to ``cells^-power``
        (:func:`cell_sigmas`; dense plans only).
    :raises PlanningError: ε or δ out of range, or too small to measure anything (raised
        before the rows are read: nothing to charge).
    """
    _check_budget(epsilon, delta)
    if not 0 <= row_share < 1:
        raise PlanningError(f"row share must be in [0, 1) (got {row_share})")
    weight = one_way_weight(epsilon) if one_way is None else one_way
    if not weight > 0:
        raise PlanningError(f"one-way weight must be > 0 (got {weight})")
    dp = _opendp()
    radix = table.radix
    plan = _marginal_plan(table, length)
    if row_share and float(np.prod(radix.astype(float))) >= 2.0**62:
        log.warning("rows have too many value combinations for a 64-bit key: no row "
                    "histogram, the whole budget goes to the marginals")
        row_share = 0.0
    with _calling_opendp():
        rho, best = _largest_rho(lambda r: _build(dp, radix, plan, r, row_share, delta,
                                                  weight, power), epsilon, delta)
        meas, sigma_m, sigma_r, thr, thr_sparse, per_cell = best
        eps_used, delta_used = meas.map(1)
        released = list(meas(np.ascontiguousarray(table.codes)))  # the one call seeing the rows
    dense, sparse = _split(radix, plan)
    noisy, total, hist = _unpack(released, radix, dense, sparse, bool(per_cell))
    rows, counts = _row_patterns(hist, radix)
    log.info("DP measurement: eps %.4f delta %.2e rho %.4f sigma marginals %.2f rows %.2f "
             "threshold %d, %d row patterns released", eps_used, delta_used, rho, sigma_m,
             sigma_r, thr, len(rows))
    return Measurements(table.with_codes(np.zeros((0, table.n_columns), np.int32)), length,
                        noisy, sigma_m, float(total or 0.0), rows, counts, sigma_r, thr,
                        float(eps_used), float(delta_used), rho,
                        {"marginals": sum(1 for s in plan if s), "row_share": row_share,
                         "sparse_marginals": len(sparse), "sparse_threshold": thr_sparse,
                         "row_patterns_released": len(rows), "one_way_weight": weight,
                         "cell_power": power if per_cell else 0.0,
                         "mechanisms": _mechanisms(bool(per_cell))},
                        sigma_m / weight, per_cell)


def _adaptive_whole(dp: Any, dom: Any, rho: float, delta: float) -> Any:
    """OpenDP's adaptive composition of the two steps of :func:`measure_adaptive` — the
    total at ``TOTAL_SHARE · rho``, then the rest at ``(1 - TOTAL_SHARE) · rho`` and at most
    ``THRESHOLD_DELTA_SHARE · delta`` — as (ε, δ)-DP."""
    d_mids = [(rho * TOTAL_SHARE, 0.0),
              (rho * (1 - TOTAL_SHARE), delta * THRESHOLD_DELTA_SHARE)]
    comp = dp.c.make_adaptive_composition(
        dom, dp.symmetric_distance(), dp.approximate(dp.zero_concentrated_divergence()), 1,
        d_mids)
    return _approx(dp, comp, delta)


def measure_adaptive(table: CategoricalTable, epsilon: float, delta: float, length: int, *,
                     one_way: float, power: float) -> Measurements:
    """:func:`measure` with ``power > 0``, the row histogram's share of ρ chosen from a first
    measurement of the total (:func:`adaptive_row_share`), under OpenDP's adaptive
    composition (see "The adaptive plan" in the module docstring). Tables whose plan
    :func:`measure` would not measure marginal by marginal (sparse marginals, rows beyond a
    64-bit key) get the fixed plan, share :func:`model_row_share`."""
    _check_budget(epsilon, delta)
    radix = table.radix
    plan = _marginal_plan(table, length)
    dense, sparse = _split(radix, plan)
    if sparse or float(np.prod(radix.astype(float))) >= 2.0**62 or not power > 0:
        return measure(table, epsilon, delta, length, row_share=model_row_share(epsilon),
                       one_way=one_way, power=power)
    dp = _opendp()
    dom = _code_matrix(dp)
    with _calling_opendp():
        rho, (whole,) = _largest_rho(lambda r: (_adaptive_whole(dp, dom, r, delta),),
                                     epsilon, delta)
        eps_used, delta_used = whole.map(1)
        rest = rho * (1 - TOTAL_SHARE) * (1 - 1e-9)  # within OpenDP's check of the 2nd step
        budget = delta * THRESHOLD_DELTA_SHARE
        sigma_0 = 1.0 / math.sqrt(2 * rho * TOTAL_SHARE * (1 - 1e-9))
        reference = _threshold(dp, _row_transformation(dp, dom, radix),
                               1.0 / math.sqrt(2 * rest * model_row_share(epsilon)), budget)
        first = dp.c.make_approximate(_marginal_transformation(dp, dom, radix, [()])
                                      >> dp.m.then_gaussian(sigma_0))
        queries = whole(np.ascontiguousarray(table.codes))  # the one call seeing the rows
        total = float(queries(first)[0])
        share = adaptive_row_share(epsilon, total, reference)  # post-processing of the total
        second, sigma_m, sigma_r, thr, _, per_cell = _compose(
            dp, dom, radix, [s for s in dense if s], rest, share, budget, one_way, power)
        released = list(queries(second))
    noisy, _, hist = _unpack(released, radix, [s for s in dense if s], [], True)
    rows, counts = _row_patterns(hist, radix)
    log.info("DP measurement (adaptive): eps %.4f delta %.2e rho %.4f, noisy total %.0f -> "
             "row share %.3f, threshold %d, %d row patterns released", eps_used, delta_used,
             rho, total, share, thr, len(rows))
    return Measurements(table.with_codes(np.zeros((0, table.n_columns), np.int32)), length,
                        noisy, sigma_m, total, rows, counts, sigma_r, thr, float(eps_used),
                        float(delta_used), rho,
                        {"marginals": sum(1 for s in plan if s), "row_share": round(share, 6),
                         "total_share": TOTAL_SHARE, "reference_row_share":
                         round(model_row_share(epsilon), 6), "reference_threshold": reference,
                         "sparse_marginals": 0, "sparse_threshold": 0,
                         "row_patterns_released": len(rows), "one_way_weight": one_way,
                         "cell_power": power, "mechanisms": _mechanisms(True, True)},
                        sigma_m / one_way, {**per_cell, (): sigma_0})


__all__ = ["EPSILON_WARN", "MEASURED_LENGTH", "ROW_SHARE", "TOTAL_SHARE", "Measurements",
           "adaptive_row_share", "cell_keys", "cell_sigmas", "check_request", "default_plan",
           "measure", "measure_adaptive", "measure_for_model", "model_row_share",
           "one_way_weight", "warn_large_delta"]
