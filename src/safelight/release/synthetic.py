"""k-synthetic microdata: synthetic rows in which every attribute combination of up to
``length`` values occurs at least ``k`` times in the sensitive data.

What the synthesiser sees
-------------------------
Only the *reportable set* ``R``: the counts of all combinations of ``1..length`` non-missing
values whose count is ``>= k``, and the row count ``N`` (the facts a primary-suppressed aggregate
table states). The synthetic table is a function of ``R``, ``N`` and a seed: no fact about a
combination of fewer than ``k`` people, and no record as a whole, can enter it.

How it samples (constrained autoregressive "product of experts", calibrated)
----------------------------------------------------------------------------
Columns are visited in a fixed order (most values first). For a row whose earlier columns are
fixed, column ``j`` takes value ``v`` with a log-probability that is the **mean**, over every
context ``T`` of ``t = min(length - 1, earlier non-missing values)`` earlier values, of
``log P(v | T) + corr(T, v)`` with ``P(v | T) = count(T + v) / count(T)`` from ``R`` — and only
among values for which **every** combination ``T + v`` with ``|T| <= length - 1`` is in ``R``
("missing" is always allowed). That constraint is the k-synthetic guarantee, by construction.

The corrections start at 0 and are calibrated (like iterative proportional fitting, on the
conditionals): after each pass ``corr(T, v) += step * (log(n(T+v)/n(T)) - log(s(T+v)/s(T)))``
with ``n`` the released and ``s`` the synthetic counts, plus a per-value bias that matches the
1-way counts (and the missing count, ``N`` minus the released 1-way counts). Averaging the experts
(rather than summing log-linear terms) keeps the update stable: a correction shared by all
contexts moves the conditional by exactly that correction.

Sampling noise is kept small by *systematic* sampling: rows are sorted by their earlier values
(in a random column order per step) and each value is chosen for rows at the points
``u, u + 1, u + 2, ...`` of the running sum of its conditional probabilities, so counts within
any run of similar rows match their expectation to within one. Rows with the same earlier
values share one distribution, computed once.

No row is drawn on its own: the sample is held as *row patterns* (distinct rows and their
counts, :mod:`safelight.release.patterns`). Each column splits every pattern into one pattern
per value it is given, with the counts systematic sampling gives a block of identical rows —
the per-row draw's counts, exactly. Calibration, seeding, refinement and the final check run
on patterns; the rows are expanded (and shuffled) once, at the end. The cost grows with the
number of distinct rows, not of rows (a million rows of ``bench_ctdc7.csv`` resampled: about
4,000 synthetic patterns, 17,000 refinement candidates).

Seeded partial rows
-------------------
Some reportable combinations occur only in sensitive rows that also carry a rare combination;
then no *complete* row carrying them has all its combinations reportable (on CTDC's 10-column
table: 10% of the common 1-3-way combinations, each checked by exhaustive search), and the
sampler above never produces them. For those (the calibrated sample has none of them) rows are
*seeded* with the combination, their other columns filled with values that keep every
combination reportable or left missing where none does — at most ``max_seeded`` of the rows.
The complete rows are then re-calibrated to the counts the seeds leave, and the seeded version
is kept only if it fits the reportable counts better (a comparison on ``R`` alone).

Refinement by row swaps (``fit_sample`` only)
---------------------------------------------
The calibrated sampler leaves most short combinations *under*-represented (on CTDC's 10-column
table 70-90% of the 2- and 3-way ones, at every size): its corrections act on conditionals
averaged over contexts, and the reportable-set constraint blocks many rows. A final local
search (:mod:`safelight.release.refine`) swaps rows for other rows that satisfy the same
constraint — the distinct rows sampled, and each of them with one value blanked (a
sub-combination of a reportable combination is reportable) — while that lowers the mean
relative error over the reportable 1..3-way counts (3-way weighted twice). It reads only
``R``; it never removes the last row showing a combination. ``sample_counts`` (noisy counts)
refines only when asked (``refine=True``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from safelight.release.combos import (
    CombinationCounts,
    Subset,
    decode_keys,
    multipliers,
    subsets,
)
from safelight.release.errors import ReleaseUsageError, check_rows_for_k
from safelight.release.patterns import (
    count_patterns,
    expand,
    merge,
    systematic_counts,
    unique_rows,
    weighted_counts,
)
from safelight.release.refine import refine_counts
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.synthetic")

_NEG = -1e9
LOST_WEIGHT = 3.0
"""In the refinement a lost common combination costs this many times its error weight."""
CONVERGED_GAIN = 0.01
CONVERGED_PASSES = 2
"""Calibration stops early once ``CONVERGED_PASSES`` passes in a row improve the best fit by
less than ``CONVERGED_GAIN`` (relative): later passes only re-draw rows (on ctdc10 the fit is
flat after about four passes)."""


@dataclass
class _Link:
    """How combinations of ``subset`` (earlier columns ``context`` + column ``j``) enter the
    sampling of ``j``: per reportable combination, its context's row and its value."""

    subset: Subset
    context: Subset
    context_pos: np.ndarray
    value: np.ndarray
    n_context: int
    context_keys: np.ndarray
    lcond: np.ndarray
    corr: np.ndarray


@dataclass
class SynthesisReport:
    """How the synthesis went (written into the settings)."""

    iterations: int
    reportable_combinations: int
    column_order: list[str]
    calibration_error: list[float] = field(default_factory=list)
    seeded_rows: int = 0
    refine_swaps: int = 0
    refine_fit: tuple[float, float] | None = None


def reportable(table: CategoricalTable, k: int, length: int) -> CombinationCounts:
    """The reportable set ``R``: combinations of up to ``length`` values with count ``>= k``
    (counted over the table's distinct rows)."""
    rows, weights = merge(table.codes, np.ones(table.n_rows, np.int64))
    out = {}
    for s in subsets(table.n_columns, length):
        keys, counts = count_patterns(rows, weights, table.radix, s)
        keep = counts >= k
        out[s] = (keys[keep], counts[keep])
    return CombinationCounts(table.radix, length, out)


class KSynthesizer:
    """The k-synthetic generator (see the module docstring).

    :param k: threshold; every released combination of up to ``length`` values describes at
        least ``k`` people in the sensitive data.
    :param length: reporting length (default 4).
    :param iterations: most calibration passes (default 8; as many again after seeding);
        fewer once the fit stops improving (:data:`CONVERGED_GAIN`).
    :param step: calibration step in log space (default 0.7).
    :param expert_length: longest combination whose conditional acts as an expert (default
        ``min(length, 3)``: contexts of up to 2 earlier values; longer ones are still enforced
        as constraints). Measured on CTDC: 3 is better than 4 (4-way counts near k are noisy).
    :param seeded: add seeded partial rows for reportable combinations that no complete row
        can carry (default on; see the module docstring).
    :param max_seeded: at most this share of the rows is seeded (default 0.08).
    :param refine: swap rows toward the reportable 1..3-way counts after sampling (default on;
        :meth:`fit_sample` only, see the module docstring).
    :param seed: random seed (the result is reproducible for a given seed).
    """

    def __init__(self, k: int = 11, length: int = 4, *, iterations: int = 8, step: float = 0.7,
                 expert_length: int | None = None, seeded: bool = True,
                 max_seeded: float = 0.08, refine: bool = True, seed: int = 0) -> None:
        if k < 2:
            raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
        if length < 1:
            raise ReleaseUsageError(f"--length must be at least 1 (got {length})")
        if iterations < 0:
            raise ReleaseUsageError(f"iterations must be >= 0 (got {iterations})")
        self.k, self.length, self.iterations = k, length, iterations
        self.step, self.seed = step, seed
        self.expert_length = expert_length or min(length, 3)
        self.seeded, self.max_seeded = seeded, max_seeded
        self.refine = refine
        self.min_seeded = 0.005  # fewer lost rows than this are not worth a second calibration

    # ------------------------------------------------------------------ model structure

    def _prepare(self, table: CategoricalTable) -> None:
        self._prepare_counts(table, reportable(table, self.k, min(self.length, table.n_columns)),
                             table.n_rows)

    def _prepare_counts(self, table: CategoricalTable, R: CombinationCounts, n: int) -> None:
        """Set up the model from a reportable set ``R`` (hereditary: every sub-combination of
        a combination in ``R`` is in ``R``) and a row count; ``table`` gives only the shape."""
        self.table = table
        self.radix = table.radix
        self.n = n
        self.R = R
        card = [len(v) for v in table.values]
        self.order = sorted(range(table.n_columns), key=lambda j: (-card[j], j))
        position = {j: p for p, j in enumerate(self.order)}
        self.links: dict[int, list[_Link]] = {j: [] for j in self.order}
        for s in subsets(table.n_columns, self.R.max_length):
            keys, counts = self.R.tables[s]
            codes = decode_keys(keys, self.radix, s)
            last = max(s, key=lambda c: position[c])
            context = tuple(c for c in s if c != last)
            value = codes[:, s.index(last)].astype(np.int64)
            if context:
                ctx_keys, ctx_counts = self.R.tables[context]
                sub = codes[:, [s.index(c) for c in context]].astype(np.int64)
                pos = np.searchsorted(ctx_keys, sub @ multipliers(self.radix, context))
                denom = ctx_counts[pos].astype(float)
            else:
                ctx_keys = np.zeros(1, np.int64)
                pos = np.zeros(len(keys), np.int64)
                denom = np.full(len(keys), float(self.n))
            lcond = np.log(counts.astype(float)) - np.log(denom)
            self.links[last].append(_Link(s, context, pos, value, len(ctx_keys), ctx_keys,
                                          lcond, np.zeros(len(keys))))
        self.targets = {s: c.astype(float) for s, (_, c) in self.R.tables.items()}
        self.n_main = self.n
        self._set_missing_target()
        self.bias = [np.zeros(len(v) + 1) for v in table.values]
        for j in range(table.n_columns):
            self.bias[j][0] = np.log((self.miss_target[j] + 0.5) / self.n)

    def _set_missing_target(self) -> None:
        one_way = {s[0]: float(self.targets[s].sum()) for s in self.targets if len(s) == 1}
        self.miss_target = np.array(
            [max(self.n_main - one_way.get(j, 0.0), 0.0) for j in range(self.table.n_columns)])

    # ------------------------------------------------------------------ sampling

    def _sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One autoregressive pass over the ``n_main`` complete rows, as row patterns and
        their counts (see :mod:`safelight.release.patterns`)."""
        return self._pass(self.n_main, rng)

    def _pass(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One autoregressive pass over ``n`` new rows. Rows with the same earlier values share
        their distribution, so the pass runs on the distinct prefixes and their counts: each
        prefix splits into one pattern per value it is given (systematic counts over the
        prefixes sorted by their earlier values), never drawing rows one by one."""
        rows = np.zeros((1, self.table.n_columns), np.int32)
        weights = np.array([n], np.int64)
        top = min(self.R.max_length, self.expert_length) - 1
        done: list[int] = []
        for j in self.order:
            m = len(self.table.values[j])
            nu = len(rows)
            blocked = np.zeros((nu, m + 1), bool)
            sums = [np.zeros((nu, m + 1), np.float32) for _ in range(top + 1)]
            cnt = [np.zeros((nu, m + 1), np.float32) for _ in range(top + 1)]
            for link in self.links[j]:
                # table rows: one per reportable context, then "context incomplete" (neutral),
                # then "context not reportable" (only missing allowed: a safety net).
                # state: 0 = value blocked, 1 = allowed (no information), 2 = allowed, informs
                state = np.zeros((link.n_context + 2, m + 1), np.int8)
                state[:, 0] = 1
                state[link.n_context, :] = 1
                state[link.context_pos, link.value] = 2
                idx, _ = _context_index(rows, link, self.radix)
                g = state[idx]
                blocked |= g == 0
                t = len(link.context)
                if t > top:
                    continue
                est = np.zeros((link.n_context + 2, m + 1), np.float32)
                est[link.context_pos, link.value] = link.lcond + link.corr
                sums[t] += est[idx]
                cnt[t] += g == 2
            logits = np.zeros((nu, m + 1))
            have = np.zeros((nu, m + 1), bool)
            for t in range(top, -1, -1):
                use = (cnt[t] > 0) & ~have
                logits[use] = sums[t][use] / cnt[t][use]
                have |= use
            logits[:, 0] = 0.0
            logits += self.bias[j]
            logits[blocked] = _NEG
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p[blocked] = 0.0
            p /= p.sum(axis=1, keepdims=True)
            order = _row_order(rows, done, rng)
            rows, weights = _split(rows[order], weights[order], j,
                                   systematic_counts(p.astype(np.float32)[order], weights[order],
                                                     rng))
            done.append(j)
        return rows, weights

    # ------------------------------------------------------------------ calibration

    def _calibrate(self, rows: np.ndarray, weights: np.ndarray) -> float:
        syn = {s: weighted_counts(rows, weights, self.radix, s, keys)
               for s, (keys, _) in self.R.tables.items()}
        err_sum, err_n = 0.0, 0
        lr: dict[Subset, np.ndarray] = {}
        for s, target in self.targets.items():
            lr[s] = np.log(target + 0.5) - np.log(syn[s] + 0.5)
            err_sum += float(np.sum(np.abs(syn[s] - target) / np.maximum(target, 1.0)))
            err_n += len(target)
        for j, links in self.links.items():
            for link in links:
                g = lr[link.subset]
                if link.context:
                    g = g - lr[link.context][link.context_pos]
                link.corr += self.step * np.clip(g, -2.0, 2.0)
            keys1 = self.R.tables[(j,)][0] if (j,) in self.R.tables else np.empty(0, np.int64)
            if len(keys1):
                self.bias[j][keys1] += self.step * np.clip(lr[(j,)], -2.0, 2.0)
            miss = float(weights[rows[:, j] == 0].sum())
            self.bias[j][0] += self.step * float(np.clip(
                np.log(self.miss_target[j] + 0.5) - np.log(miss + 0.5), -2.0, 2.0))
        return err_sum / max(err_n, 1)

    def _calibrated(self, rng: np.random.Generator, iterations: int,
                    report: SynthesisReport) -> tuple[np.ndarray, np.ndarray]:
        codes = self._sample(rng)
        best, best_err = codes, np.inf
        stale = 0
        for _ in range(iterations):
            err = self._calibrate(*codes)
            report.calibration_error.append(err)
            # converged: CONVERGED_PASSES passes in a row without a gain of CONVERGED_GAIN
            stale = 0 if err < best_err * (1 - CONVERGED_GAIN) else stale + 1
            if err < best_err:
                best, best_err = codes, err
            if stale >= CONVERGED_PASSES:
                return best
            codes = self._sample(rng)
            report.iterations += 1
        if iterations:
            err = self._calibrate(*codes)
            report.calibration_error.append(err)
            if err < best_err:
                best = codes
        return best

    def _fit_error(self, rows: np.ndarray, weights: np.ndarray) -> float:
        """Mean relative error of the weighted rows over the reportable set (what the
        synthesiser may know), each length weighted equally."""
        per_len: dict[int, list[float]] = {}
        for s_, (keys, target) in self.R.tables.items():
            got = weighted_counts(rows, weights, self.radix, s_, keys)
            per_len.setdefault(len(s_), []).extend((np.abs(got - target) / target).tolist())
        return float(np.mean([np.mean(v) for v in per_len.values() if v]))

    def fit_sample(self, table: CategoricalTable) -> tuple[CategoricalTable, SynthesisReport]:
        """Synthesise ``table.n_rows`` k-synthetic rows from ``table``.

        :raises ReleaseUsageError: fewer than k rows (their number would be published).
        """
        check_rows_for_k(table, self.k)
        self._prepare(table)
        return self._run(table, refine=self.refine)

    def sample_counts(self, like: CategoricalTable, R: CombinationCounts, n: int, *,
                      refine: bool = False) -> tuple[CategoricalTable, SynthesisReport]:
        """Synthesise ``n`` rows from released counts alone (e.g. differentially private
        ones): every combination of up to ``R.max_length`` values in the rows is in ``R``.
        ``like`` gives the columns and value lists (its rows are not read). With ``refine``
        the rows are then swapped toward ``R``'s 1..3-way counts (the refinement reads only
        ``R``, so the result stays a function of the released counts)."""
        if n < 1:
            raise ReleaseUsageError(f"cannot synthesise {n} rows")
        self._prepare_counts(like, R, n)
        return self._run(like, refine=refine)

    def _run(self, table: CategoricalTable,
             refine: bool) -> tuple[CategoricalTable, SynthesisReport]:
        rng = np.random.default_rng(self.seed)
        report = SynthesisReport(0, self.R.n_combinations(),
                                 [table.columns[j] for j in self.order])
        rows, weights = self._calibrated(rng, self.iterations, report)
        if self.seeded and self.iterations:
            seeds, seed_w = self._seed_rows(rows, weights, rng)
            if seed_w.sum() >= self.min_seeded * self.n:
                report.seeded_rows = int(seed_w.sum())
                for s_, (keys, _) in self.R.tables.items():
                    self.targets[s_] = np.maximum(
                        self.R.tables[s_][1]
                        - weighted_counts(seeds, seed_w, self.radix, s_, keys), 0.0)
                self.n_main = self.n - report.seeded_rows
                self._set_missing_target()
                main, main_w = self._calibrated(rng, self.iterations, report)
                mixed = merge(np.concatenate([main, seeds]), np.concatenate([main_w, seed_w]))
                # keep the seeded version only if it fits the released counts better
                if self._fit_error(*mixed) < self._fit_error(rows, weights):
                    rows, weights = mixed
                else:
                    report.seeded_rows = 0
        if refine and self.iterations:
            rows, weights = self._refine(rows, weights, rng, report)
        rows, weights = merge(_enforce(rows, self.R), weights)
        log.info("k-synthesis: %d rows (%d distinct), calibration error %s", self.n, len(rows),
                 [round(e, 3) for e in report.calibration_error])
        return table.with_codes(expand(rows, weights, rng)), report

    def _refine(self, rows: np.ndarray, weights: np.ndarray, rng: np.random.Generator,
                report: SynthesisReport) -> tuple[np.ndarray, np.ndarray]:
        """Row swaps toward the reportable 1..3-way counts (see the module docstring); the
        pool is every distinct row with each one value blanked, so every pool row satisfies
        the reportable-set constraint whenever the sampled rows do."""
        # rows for the combinations the sample lost (filled like seeds), as candidates
        lost, _ = self._seed_rows(rows, weights, rng)
        distinct = unique_rows(np.concatenate([rows, lost]))[0]
        blanked = []
        for j in range(distinct.shape[1]):
            b = distinct.copy()
            b[:, j] = 0
            blanked.append(b)
        pool = unique_rows(np.concatenate(blanked))[0]
        out, out_w, rr = refine_counts(rows, weights, pool, self.R,
                                       fit_length=min(3, self.R.max_length),
                                       length_weight={3: 2.0}, lost_weight=LOST_WEIGHT)
        report.refine_swaps = rr.swaps
        report.refine_fit = (rr.objective_before, rr.objective_after)
        return out, out_w

    # ------------------------------------------------------------------ seeded partial rows

    def _seed_rows(self, rows: np.ndarray, weights: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Partial rows (patterns and counts) for reportable combinations that complete rows
        cannot carry.

        A combination the calibrated complete rows never produce (on CTDC's table: every one
        of them has no complete row whose combinations are all reportable) gets as many rows
        seeded with it as its count; the other columns are filled with values that keep every
        combination reportable, or left missing when none does. Seeds are at most
        ``max_seeded`` of the rows (drawn at random); the complete rows are then re-calibrated
        to the counts the seeds leave."""
        budget = int(self.max_seeded * self.n)
        seeds: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for s_ in sorted(self.R.tables, key=len, reverse=True):
            if len(s_) < 2:
                continue
            keys, target = self.R.tables[s_]
            got = weighted_counts(rows, weights, self.radix, s_, keys)
            under = got == 0
            if not under.any():
                continue
            seed = np.zeros((int(under.sum()), self.table.n_columns), np.int32)
            seed[:, list(s_)] = decode_keys(keys[under], self.radix, s_)
            seeds.append(seed)
            counts.append((target[under] - got[under]).astype(np.int64))
        if not seeds:
            return np.zeros((0, self.table.n_columns), np.int32), np.zeros(0, np.int64)
        seed_rows, seed_w = np.concatenate(seeds), np.concatenate(counts)
        if seed_w.sum() > budget:
            seed_w = rng.multivariate_hypergeometric(seed_w, budget)
        return self._fill(*merge(seed_rows, seed_w), rng)

    def _fill(self, rows: np.ndarray, weights: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Fill the missing columns of the weighted rows (column by column, checking every
        reportable combination against *all* present values of the row; blocked -> stays
        missing)."""
        if not hasattr(self, "_links_any"):
            self._links_any = _links_any(self.R, self.radix, self.n, self.table.n_columns)
        top = min(self.R.max_length, self.expert_length) - 1
        for j in self.order:
            todo = rows[:, j] == 0
            if not todo.any():
                continue
            keep_rows, keep_w = rows[~todo], weights[~todo]
            rows, weights = rows[todo], weights[todo]
            n = len(rows)
            m = len(self.table.values[j])
            blocked = np.zeros((n, m + 1), bool)
            sums = np.zeros((n, m + 1))
            cnt = np.zeros((n, m + 1))
            for link in self._links_any[j]:
                ok = np.zeros((link.n_context + 2, m + 1), bool)
                ok[:, 0] = True
                ok[link.n_context, :] = True
                ok[link.context_pos, link.value] = True
                idx, complete = _context_index(rows, link, self.radix)
                blk = ~ok[idx]
                blocked |= blk
                if len(link.context) <= top and len(link.context) > 0:
                    est = np.zeros((link.n_context + 2, m + 1))
                    est[link.context_pos, link.value] = link.lcond
                    use = complete[:, None] & ~blk
                    sums += est[idx] * use
                    cnt += use
            logits = np.where(cnt > 0, sums / np.maximum(cnt, 1), 0.0) + self.bias[j]
            logits[:, 0] = self.bias[j][0]
            logits[blocked] = _NEG
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p[blocked] = 0.0
            p /= p.sum(axis=1, keepdims=True)
            filled, filled_w = _split(rows, weights, j, systematic_counts(p, weights, rng))
            rows = np.concatenate([keep_rows, filled])
            weights = np.concatenate([keep_w, filled_w])
        return merge(rows, weights)


def _split(rows: np.ndarray, weights: np.ndarray, j: int,
           counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pattern of ``rows`` (column ``j`` not yet set) split by the value column ``j``
    takes: ``counts[g, v]`` rows of pattern ``g`` get value ``v`` (0 = missing)."""
    g, v = np.nonzero(counts)
    out = rows[g].copy()
    out[:, j] = v
    return out, counts[g, v].astype(np.int64)


def _context_index(codes: np.ndarray, link: _Link,
                   radix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the row of ``link``'s tables for its context (see :meth:`KSynthesizer._pass`)."""
    n = len(codes)
    if not link.context:
        return np.zeros(n, np.int64), np.ones(n, bool)
    sub = codes[:, list(link.context)]
    complete = np.all(sub != 0, axis=1)
    rk = sub.astype(np.int64) @ multipliers(radix, link.context)
    idx = np.minimum(np.searchsorted(link.context_keys, rk), max(link.n_context - 1, 0))
    found = link.context_keys[idx] == rk if link.n_context else complete & False
    return np.where(complete, np.where(found, idx, link.n_context + 1), link.n_context), complete


def _links_any(R: CombinationCounts, radix: np.ndarray, n: int,
               n_columns: int) -> dict[int, list[_Link]]:
    """Links of every reportable combination to *each* of its columns."""
    out: dict[int, list[_Link]] = {j: [] for j in range(n_columns)}
    for s, (keys, counts) in R.tables.items():
        codes = decode_keys(keys, radix, s)
        for j in s:
            context = tuple(c for c in s if c != j)
            value = codes[:, s.index(j)].astype(np.int64)
            if context:
                ctx_keys, ctx_counts = R.tables[context]
                sub = codes[:, [s.index(c) for c in context]].astype(np.int64)
                pos = np.searchsorted(ctx_keys, sub @ multipliers(radix, context))
                denom = ctx_counts[pos].astype(float)
            else:
                ctx_keys = np.zeros(1, np.int64)
                pos = np.zeros(len(keys), np.int64)
                denom = np.full(len(keys), float(n))
            lcond = np.log(counts.astype(float)) - np.log(denom)
            out[j].append(_Link(s, context, pos, value, len(ctx_keys), ctx_keys, lcond,
                                np.zeros(len(keys))))
    return out


def _enforce(codes: np.ndarray, R: CombinationCounts) -> np.ndarray:
    """Safety net: blank values until every combination of up to ``R.max_length`` values of
    every row is in ``R`` (a no-op for the samplers above, which never break the rule).
    ``codes`` may be row patterns: the rule is per row."""
    codes = codes.copy()
    changed = True
    while changed:
        changed = False
        for s, (keys, _) in R.tables.items():
            rk = codes[:, list(s)].astype(np.int64) @ multipliers(R.radix, s)
            complete = np.all(codes[:, list(s)] != 0, axis=1)
            bad = complete & ~np.isin(rk, keys)
            if bad.any():
                log.warning("k-synthesis safety net blanked values in %d row patterns",
                            int(bad.sum()))
                codes[bad, s[-1]] = 0
                changed = True
    return codes


def _row_order(codes: np.ndarray, done: list[int], rng: np.random.Generator) -> np.ndarray:
    tie = rng.permutation(len(codes))
    if not done:
        return tie
    cols = [done[i] for i in rng.permutation(len(done))]
    return np.lexsort([tie] + [codes[:, c] for c in reversed(cols)])


def synthesize(table: CategoricalTable, k: int = 11, length: int = 4, *, iterations: int = 8,
               seed: int = 0) -> tuple[CategoricalTable, SynthesisReport]:
    """k-synthetic rows for ``table`` (see :class:`KSynthesizer`)."""
    return KSynthesizer(k, length, iterations=iterations, seed=seed).fit_sample(table)


__all__ = ["KSynthesizer", "SynthesisReport", "reportable", "synthesize"]
