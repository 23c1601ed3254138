"""One distribution fitted to every noisy measurement at once (Private-PGM-style estimation).

Contract: everything here is **post-processing** of a :class:`~safelight.release.dp.Measurements`
(the noisy marginals, the noisy total and the thresholded row histogram). No function in this
module sees the sensitive rows, so nothing here costs privacy; the (ε, δ) of a release is the
one :func:`safelight.release.dp.measure` states.

The model (a factored representation of the distribution)
---------------------------------------------------------
The public domain is too large to hold densely (``bench_ctdc10.csv``: 3·10⁹ cells), and with all
2-way marginals measured a junction tree would be the whole table. The distribution is instead a
non-negative weight on each row of a **candidate set** (:func:`candidates`):

* every row pattern the threshold mechanism released;
* rows drawn from a tree model (a maximum spanning tree of the noisy 2-way marginals' mutual
  information, as MST [MMS21] chooses its cliques), and the released patterns with one value
  redrawn from the tree's conditionals — the rare rows around the common ones, which carry the
  combinations of 11–40 people that no released pattern shows. A value is drawn when its own
  noisy count is over one noise s.d. (:data:`SAMPLE_SD`) or its count pooled from every
  marginal that holds it (:func:`pooled_one_way`) is over two (:data:`POOLED_SD`): a value no
  candidate row carries gets no weight, whatever the measurements say.

The weights are fitted (:func:`fit`) by **entropic mirror descent** with a backtracking step (as
Private-PGM [MSM19] estimates its potentials) on the loss

    Σ_s ‖A_s w − y_s‖² / σ_s²  +  Σ_released (w_r − y_r)² / σ_r²  +  Σ_other (w_r − T)₊² / σ_r²

— every measurement weighted by its noise variance: the marginals ``y_s``, the released row
counts ``y_r`` and, for candidate rows the threshold mechanism did **not** release, the fact that
their noisy count was under the threshold ``T``. The total weight is the noisy row count. Started
from the tree model's probabilities, the fit stays close (in KL) to them where the measurements
say nothing: the maximum-entropy reading of the measurements relative to the tree.

The k floor (:func:`apply_floor`): in every candidate row carrying a combination of up to ``L``
values whose *model* count is under ``k``, one value is blanked (set missing) per pass — the
one with the highest ``log(1 + model frequency) + BLAME_WEIGHT · (such combinations it is
in)``, so rare values tend to survive and their common partners go — with a refit after each
of the first passes and plain passes after that until none is left; :func:`check_floor` then
verifies it (a :class:`~safelight.release.errors.ReleaseError` otherwise: a bug, nothing is
released). Every combination of up to ``L`` values in the rows of the result has a model
count ``>= k`` — the same statement, and the same caveat about true counts, as for DP
aggregates. (DP synthesis uses it as ``estimator="model-blank"``; its default samples the
floored aggregate counts instead, :mod:`safelight.release.dp_synthetic`.)

[MSM19] McKenna, Sheldon, Miklau, "Graphical-model based estimation and inference for differential
privacy", ICML 2019. [MMS21] McKenna, Miklau, Sheldon, "Winning the NIST contest: a scalable and
general approach to differentially private synthetic data", JPC 2021.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from safelight.release.combos import Subset, keys_of, subsets
from safelight.release.dp import Measurements
from safelight.release.errors import ReleaseError
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.pgm")

#: Rows drawn from the tree model (before removing duplicates).
TREE_SAMPLES = 40_000
#: Redraws of one value per released row pattern and column.
NEIGHBOURS = 10
#: Least share of the total the candidates that are not released patterns start with.
MIN_REST = 0.05
#: Mirror-descent iterations of the first fit, and after each round of the k floor. Measured
#: on ``bench_ctdc10.csv`` at ε = 4 (the same three measurements; DP aggregates, k floor,
#: 1/2/3-way error and lost share): 300 iterations and 4 redraws 0.049 / 0.166 / 0.240 and
#: 12.3%; 1,000 iterations 0.035 / 0.143 / 0.223 and 11.2%; with 10 redraws 0.035 / 0.143 /
#: 0.220 and 11.1% with fewer leaked combinations (55 against 63); 2,000 iterations or 20
#: redraws changed nothing more (fit 2 -> 7 CPU-s).
ITERATIONS = 1000
FLOOR_ITERATIONS = 80
#: Blanking prefers the most frequent value in a combination under k; each further such
#: combination the value takes part in counts as this much log-frequency.
BLAME_WEIGHT = 1.0
#: Cells of a noisy 2-way marginal below this many noise s.d. are not sampled from.
SAMPLE_SD = 1.0
#: A value whose own noisy count is under ``SAMPLE_SD`` s.d. is still drawn when its count
#: pooled from every marginal that holds it (:func:`pooled_one_way`) is over this many of the
#: pooled count's s.d.
POOLED_SD = 2.0


@dataclass
class Model:
    """Candidate rows (codes, ``0`` = missing) and their fitted weights (expected counts)."""

    like: CategoricalTable
    codes: np.ndarray
    weights: np.ndarray
    loss: _Loss | None = field(default=None, repr=False)

    def counts(self, s: Subset) -> tuple[np.ndarray, np.ndarray]:
        """Sorted keys of the combinations over ``s`` that carry weight, and their counts."""
        ok = np.all(self.codes[:, list(s)] != 0, axis=1) & (self.weights > 0)
        keys = keys_of(self.codes[ok], self.like.radix, s)
        uniq, inv = np.unique(keys, return_inverse=True)
        return uniq, np.bincount(inv, self.weights[ok], minlength=len(uniq))


def _cell_index(codes: np.ndarray, radix: np.ndarray, s: Subset) -> np.ndarray:
    """Dense cell of every row over ``s`` (as :func:`safelight.release.dp.cell_keys`), or the
    sentinel ``n_cells`` for rows missing a value of ``s``."""
    sizes = radix[list(s)].astype(np.int64) - 1
    strides = np.concatenate(([1], np.cumprod(sizes)[:-1]))
    sub = codes[:, list(s)].astype(np.int64)
    idx = (sub - 1) @ strides
    return np.where(np.all(sub != 0, axis=1), idx, int(np.prod(sizes)))


def _clipped(meas: Measurements, s: Subset) -> np.ndarray:
    """The noisy marginal of ``s`` with cells under ``SAMPLE_SD`` s.d. set to 0; for a subset
    not measured, the marginal of the released row patterns."""
    if s not in meas.noisy:
        idx = _cell_index(meas.rows, meas.like.radix, s)
        n = int(np.prod(meas.like.radix[list(s)] - 1))
        return np.bincount(idx, meas.row_counts, minlength=n + 1)[:n]
    y = np.nan_to_num(meas.noisy[s], nan=0.0)
    return np.where(y > SAMPLE_SD * meas.sigma_of(s), y, 0.0)


def _tree(meas: Measurements) -> tuple[list[int], dict[int, int]]:
    """Visiting order and parent of each column: the maximum spanning tree of the mutual
    information of the (clipped) noisy 2-way marginals (Prim's algorithm)."""
    d = meas.like.n_columns
    sizes = meas.like.radix - 1
    mi = np.zeros((d, d))
    for a, b in subsets(d, 2, 2):
        p = _clipped(meas, (a, b)).reshape((sizes[a], sizes[b]), order="F")
        tot = p.sum()
        if tot <= 0:
            continue
        p = p / tot
        pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            mi[a, b] = mi[b, a] = float(np.nansum(np.where(p > 0, p * np.log(p / (pa * pb)), 0)))
    order = [int(np.argmax(sizes))]
    parent: dict[int, int] = {}
    while len(order) < d:
        rest = [j for j in range(d) if j not in order]
        a, b = max(((i, j) for i in order for j in rest), key=lambda ij: mi[ij])
        order.append(b)
        parent[b] = a
    return order, parent


def pooled_one_way(meas: Measurements, j: int) -> tuple[np.ndarray, float] | None:
    """Each value's count in column ``j`` pooled from every dense measurement that holds it,
    and the noise s.d. of that pooled count (``None`` if ``j``'s 1-way marginal was not
    measured). The estimates pooled are the noisy 1-way count (s.d. ``σ_j``) and, for each
    measured 2-way marginal of ``j`` and another column ``o``, the sum of its noisy cells over
    ``o``'s values (s.d. ``σ_jo · sqrt(values of o)``; it counts only the people whose ``o`` is
    not missing), weighted by one over their noise variance. Sparse marginals (cells not
    released) are left out. Post-processing of the measurements only; the noise is
    independent between measurements, so the pooled s.d. is ``(Σ 1/sd²)^-1/2``.

    Why: a value whose own noisy count fell under one noise s.d. was never in a candidate
    row, so the fit could not give it any weight, whatever its 2-way marginals said
    (``bench_ctdc10.csv``, ε = 1, one measurement: citizenship's 1-way s.d. is 21.5; two
    values of 53 and 66 people had noisy counts of 16 and 16 and model counts of 0, pooled
    counts 39 and 65 ± 14; with them drawn, model counts 43 and 57). Drawing values pooled
    over :data:`POOLED_SD` s.d. as well, the same five OpenDP measurements at each ε, DP
    synthetic rows, medians (1/2/3-way error, lost share): ε = 1 0.161 / 0.332 / 0.431,
    20.6% -> 0.145 / 0.329 / 0.431, 19.8% (1-way lower in four of five, by 0.005–0.019;
    fabricated 9.7% -> 10.1%; citizenship values absent from the table with a model count
    >= 11: 7–11 -> 6–12); ε = 4 0.047 / 0.168 / 0.238, 9.5% -> 0.046 / 0.164 / 0.236, 9.4%.
    Over one pooled s.d. instead of two: ε = 1 0.150 / 0.329 / 0.434, ε = 4 1-way 0.050."""
    if (j,) not in meas.noisy:
        return None
    radix = meas.like.radix
    ests = [(np.nan_to_num(meas.noisy[(j,)]), meas.sigma_of((j,)))]
    for o in range(meas.like.n_columns):
        s = (min(j, o), max(j, o))
        if o == j or s not in meas.noisy or np.isnan(meas.noisy[s]).any():
            continue
        shape = (int(radix[s[0]]) - 1, int(radix[s[1]]) - 1)
        cells = meas.noisy[s].reshape(shape, order="F")  # first column varies fastest
        ests.append((cells.sum(1) if s[0] == j else cells.sum(0),
                     meas.sigma_of(s) * math.sqrt(int(radix[o]) - 1)))
    inv = np.array([1.0 / sd ** 2 for _, sd in ests])
    pooled = sum(w * e for w, (e, _) in zip(inv, ests, strict=True)) / inv.sum()
    return np.asarray(pooled, float), float(1.0 / math.sqrt(inv.sum()))


def _one_way(meas: Measurements, j: int) -> tuple[np.ndarray, float]:
    """Column ``j``'s distribution that candidate rows are drawn from — a value is drawn when
    its own noisy count is over ``SAMPLE_SD`` of its noise s.d. or its pooled count
    (:func:`pooled_one_way`) over ``POOLED_SD`` of the pooled s.d., in proportion to the larger
    of the two — and its share of missing values
    (from the noisy 1-way marginal)."""
    pooled = pooled_one_way(meas, j)
    if pooled is None:
        p = np.ones(int(meas.like.radix[j]) - 1)
    else:
        est, sd = pooled
        own = _clipped(meas, (j,))
        p = np.maximum(own, np.where(est > POOLED_SD * sd, est, 0.0))
    present = float(np.nan_to_num(meas.noisy.get((j,), p)).clip(0).sum())
    miss = float(np.clip(1.0 - present / max(meas.total, 1.0), 0.0, 0.95))
    return p / max(p.sum(), 1e-12), miss


def _draw(meas: Measurements, codes: np.ndarray, j: int, parent: int | None,
          rng: np.random.Generator) -> np.ndarray:
    """Values of column ``j`` for ``codes``' rows, from P(j | parent) (or P(j))."""
    sizes = meas.like.radix - 1
    p1, miss = _one_way(meas, j)
    probs = np.tile(p1, (len(codes), 1))
    if parent is not None:
        s = (min(j, parent), max(j, parent))
        if True:
            m = _clipped(meas, s).reshape((sizes[s[0]], sizes[s[1]]), order="F")
            cond = m if s[1] == j else m.T  # rows: parent value, columns: j's value
            pv = codes[:, parent]
            have = pv != 0
            rowsum = cond.sum(1)
            use = have.copy()
            use[have] = rowsum[pv[have] - 1] > 0
            probs[use] = cond[pv[use] - 1] / rowsum[pv[use] - 1, None]
    cum = probs.cumsum(1)
    u = rng.random(len(codes)) * cum[:, -1]
    out = (cum < u[:, None]).sum(1) + 1
    out = np.minimum(out, int(sizes[j])).astype(np.int32)
    return np.where(rng.random(len(codes)) < miss, 0, out).astype(np.int32)


def candidates(meas: Measurements, rng: np.random.Generator, *,
               tree_samples: int = TREE_SAMPLES,
               neighbours: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """Distinct candidate rows and a prior weight for each (see the module docstring). The
    rule that decides which values are drawn is recorded in ``meas.accounting``
    (``candidate_rule``: written to settings.json and the ledger), so releases made under
    different rules can be told apart."""
    meas.accounting["candidate_rule"] = {"sample_sd": SAMPLE_SD, "pooled_sd": POOLED_SD}
    d = meas.like.n_columns
    order, parent = _tree(meas)
    tree = np.zeros((tree_samples, d), np.int32)
    for j in order:
        tree[:, j] = _draw(meas, tree, j, parent.get(j), rng)
    parts = [tree]
    released = meas.rows.astype(np.int32)
    if len(released):
        for _ in range(neighbours):
            for j in range(d):
                near = released.copy()
                near[:, j] = _draw(meas, near, j, parent.get(j), rng)
                parts.append(near)
        parts.append(released)
    allrows = np.concatenate(parts)
    uniq, mult = np.unique(allrows, axis=0, return_counts=True)
    return uniq.astype(np.int32), mult.astype(float)


class _Loss:
    """The noise-weighted squared loss of the module docstring, and its gradient."""

    def __init__(self, meas: Measurements, codes: np.ndarray) -> None:
        self.radix = meas.like.radix
        self.subsets = list(meas.noisy)
        # per marginal: noisy cells (+ a sentinel for rows missing a value), which are
        # measured (a sparse marginal's unreleased cells are not), 1 / noise variance
        self.full = [(np.append(np.nan_to_num(meas.noisy[s], nan=0.0), 0.0),
                      np.append(~np.isnan(meas.noisy[s]), False),
                      1.0 / meas.sigma_of(s) ** 2) for s in self.subsets]
        self._terms(codes)
        pos = {r.tobytes(): i for i, r in enumerate(codes)}
        self.released = np.array([pos[r.tobytes()] for r in meas.rows.astype(np.int32)],
                                 np.int64) if len(meas.rows) else np.empty(0, np.int64)
        self.y_rows = np.asarray(meas.row_counts, float)
        self.patterns = codes[self.released].copy()
        self.other = np.ones(len(codes), bool)
        self.other[self.released] = False
        self.inv_rows = 1.0 / max(meas.sigma_rows, 1e-9) ** 2
        self.threshold = float(meas.row_threshold)

    def copy(self) -> _Loss:
        """A copy whose :meth:`recode` leaves this one as it is."""
        out = object.__new__(_Loss)
        out.__dict__.update(self.__dict__)
        return out

    def recode(self, codes: np.ndarray) -> None:
        """Rows changed in place (values blanked): recompute their cells; a released pattern
        that changed no longer stands for its measured count."""
        self._terms(codes)
        same = np.all(codes[self.released] == self.patterns, axis=1)
        self.released, self.y_rows, self.patterns = (self.released[same], self.y_rows[same],
                                                     self.patterns[same])

    def _terms(self, codes: np.ndarray) -> None:
        """Each marginal restricted to the cells some candidate row falls in; the cells no
        row reaches add a constant (their squared noisy count) to the loss."""
        self.terms = []
        self.const = 0.0
        for s, (y, valid, inv) in zip(self.subsets, self.full, strict=True):
            cells, idx = np.unique(_cell_index(codes, self.radix, s), return_inverse=True)
            rest = valid.copy()
            rest[cells] = False
            self.const += inv * float(y[rest] @ y[rest])
            self.terms.append((idx, y[cells], valid[cells], inv))

    def __call__(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = self.const, np.zeros_like(w)
        for idx, y, valid, inv in self.terms:
            r = np.where(valid, np.bincount(idx, w, minlength=len(y)) - y, 0.0)
            loss += inv * float(r @ r)
            grad += (2 * inv) * r[idx]
        if self.inv_rows < 1e17:
            r = w[self.released] - self.y_rows
            loss += self.inv_rows * float(r @ r)
            grad[self.released] += 2 * self.inv_rows * r
            over = np.where(self.other, np.maximum(w - self.threshold, 0.0), 0.0)
            loss += self.inv_rows * float(over @ over)
            grad += 2 * self.inv_rows * over
        return loss, grad


def fit(loss: _Loss, w: np.ndarray, total: float, iterations: int) -> np.ndarray:
    """Entropic mirror descent of ``loss`` over weights ``>= 0`` summing to ``total``, with a
    backtracking (Armijo) step; zero weights stay zero."""
    live = w > 0
    if not live.any():
        return w
    w = w * (total / w.sum())
    cur, g = loss(w)
    eta = 1.0 / max(float(np.abs(g[live]).max()), 1e-12)
    for _ in range(iterations):
        for _ in range(30):
            with np.errstate(divide="ignore"):  # a weight that underflowed stays zero
                logw = np.log(w[live]) - eta * g[live]
            new = w.copy()
            new[live] = np.exp(logw - logw.max())
            new[live] *= total / max(new[live].sum(), 1e-300)
            val, g_new = loss(new)
            if val <= cur - 0.5 * float(g @ (w - new)):
                break
            eta *= 0.5
        else:
            break
        w, cur, g = new, val, g_new
        eta *= 1.5
    return w


def fit_model(meas: Measurements, *, seed: int = 0, iterations: int = ITERATIONS) -> Model:
    """Candidate rows (:func:`candidates`) weighted to fit every measurement (:func:`fit`)."""
    rng = np.random.default_rng(seed)
    codes, prior = candidates(meas, rng)
    loss = _Loss(meas, codes)
    total = max(meas.total, 1.0)
    # start: released patterns at their noisy counts, the other candidates sharing what the
    # patterns leave of the total (at least MIN_REST of it) in proportion to the tree model
    w0 = prior.copy()
    if len(loss.released):
        w0[loss.released] = np.maximum(loss.y_rows, 1.0)
        rest = max(total - float(w0[loss.released].sum()), MIN_REST * total)
        if loss.other.any():
            w0[loss.other] *= rest / w0[loss.other].sum()
    w = fit(loss, w0, total, iterations)
    log.info("model: %d candidate rows, %d released patterns", len(codes), len(loss.released))
    return Model(meas.like, codes, w, loss)


def _blame(model: Model, k: float, length: int) -> np.ndarray:
    """Per row and column: in how many combinations of up to ``length`` values with model
    count under ``k`` the row's value of that column takes part."""
    blame = np.zeros(model.codes.shape, np.int64)
    radix = model.like.radix
    live = model.weights > 0
    for s in subsets(model.like.n_columns, length):
        ok = np.all(model.codes[:, list(s)] != 0, axis=1) & live
        if not ok.any():
            continue
        _, inv = np.unique(keys_of(model.codes[ok], radix, s), return_inverse=True)
        c = np.bincount(inv, model.weights[ok])
        rows = np.flatnonzero(ok)[c[inv] < k]
        for j in s:
            blame[rows, j] += 1
    return blame


def _blank(model: Model, k: float, length: int) -> int:
    """Blank (set missing) the most-blamed value of every row carrying a combination under
    ``k``; returns the rows changed."""
    blame = _blame(model, k, length)
    bad = np.flatnonzero(blame.max(1) > 0)
    if len(bad):
        # prefer the value that takes part in most such combinations, and among those the
        # most frequent one: a rare value blanked everywhere would itself fall under k
        freq = np.zeros(model.codes.shape)
        for j in range(model.like.n_columns):
            c = np.bincount(model.codes[:, j], model.weights, minlength=int(model.like.radix[j]))
            freq[:, j] = np.log1p(c[model.codes[:, j]])
        score = np.where(blame[bad] > 0, freq[bad] + BLAME_WEIGHT * blame[bad], -1.0)
        model.codes[bad, np.argmax(score, axis=1)] = 0
    return bad


def apply_floor(model: Model, k: float, length: int, total: float, *, rounds: int = 4,
                iterations: int = FLOOR_ITERATIONS) -> Model:
    """The k floor (see the module docstring): values that put a row in a combination of up
    to ``length`` values with model count under ``k`` are blanked, one per row and pass, with
    a refit after each of the first ``rounds`` passes; the last passes do not refit, so that
    the floor holds exactly for the weights returned."""
    loss = model.loss
    if loss is None:
        raise ReleaseError("apply_floor needs a model from fit_model (it carries the loss "
                           "the floor refits)")
    loss = loss.copy()
    out = Model(model.like, model.codes.copy(), model.weights.copy(), loss)
    for r in range(rounds + 3 * model.like.n_columns):
        if not len(_blank(out, k, length)):
            break
        if r < rounds:
            loss.recode(out.codes)
            out.weights = fit(loss, out.weights, total, iterations)
    out.weights[~np.any(out.codes != 0, axis=1)] = 0.0  # rows left with no value: none
    # passes without a refit until none is left: each blanks one value of a row of positive
    # weight, so this ends (blanking can push other combinations under k: it may take more)
    while len(_blank(out, k, length)):
        pass
    out.weights[~np.any(out.codes != 0, axis=1)] = 0.0
    check_floor(out, k, length)
    return out


def floor_violations(model: Model, k: float, length: int) -> dict[Subset, int]:
    """Per column subset of up to ``length`` columns: how many combinations carried by a row
    of positive weight have a model count under ``k`` (empty when the floor holds)."""
    out: dict[Subset, int] = {}
    for s in subsets(model.like.n_columns, length):
        _, counts = model.counts(s)
        bad = int(np.sum(counts < k - 1e-9 * max(k, 1.0)))
        if bad:
            out[s] = bad
    return out


def check_floor(model: Model, k: float, length: int) -> None:
    """The final check of :func:`apply_floor`: every combination of up to ``length`` values in
    a row of positive weight has a model count ``>= k``.

    :raises ReleaseError: some do not (a bug, never a property of the data: nothing is
        released).
    """
    bad = floor_violations(model, k, length)
    if bad:
        names = model.like.columns
        where = "; ".join(f"{'+'.join(names[j] for j in s)}: {n}"
                          for s, n in list(bad.items())[:5])
        raise ReleaseError(f"the k floor (k = {k:g}, length {length}) does not hold for "
                           f"{sum(bad.values())} combination(s) of the fitted model ({where}); "
                           "nothing was released - report this as a bug in "
                           "safelight.release.pgm.apply_floor")


def sample_rows(model: Model, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows whose counts follow the weights to within one (systematic rounding)."""
    p = model.weights / max(model.weights.sum(), 1e-12)
    exp = p * n
    base = np.floor(exp).astype(np.int64)
    frac = exp - base
    left = n - int(base.sum())
    if left > 0:
        order = rng.permutation(len(frac))
        cum = np.cumsum(frac[order])
        u = rng.random() + np.arange(left)
        pick = order[np.minimum(np.searchsorted(cum, u), len(order) - 1)]
        np.add.at(base, pick, 1)
    rows = np.repeat(model.codes, base, axis=0)
    return rows[rng.permutation(len(rows))]


__all__ = ["Model", "apply_floor", "candidates", "check_floor", "fit", "fit_model",
           "floor_violations", "sample_rows"]
