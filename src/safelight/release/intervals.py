"""Interval rounding of combination counts, and the interval (bounds) differencing audit.

The method
----------
Every combination with ``count >= k`` is released as an *interval* that contains its count,
with a point estimate inside it. The intervals lie on a grid ``[k + j*b, k + (j+1)*b - 1]``
(with ``b = k`` it is the grid SDS's rule implies: SDS rounds down to a multiple of ``k``, so a
published 22 means a count in 22..32; :func:`safelight.release.aggregates.release_aggregates`
uses ``b = ceil(k / 2)`` by default, since it is the audit below, not the grid, that protects
small cells). The point estimate is not the interval's bottom: it is the value that minimises
the interval's mean *relative* error (the ``1/c``-weighted median), which on SDS's grid cuts
SDS's error by about a third at the same disclosure. The rule and the intervals are public (the
file states each interval), so nothing rests on the attacker not knowing how counts were
rounded.

The attack
----------
Intervals of margins of one table constrain each other. The attacker's model is the cell system
of :mod:`safelight.release.suppression` (every contingency table of up to ``L`` columns with
missing as a category, and the marginal equations ``parent = sum of children``), with:

* a released cell in its published interval;
* an unreleased cell with no missing value in ``[0, k - 1]`` (that is what its absence says);
* a cell with a missing value in ``[0, N_high]`` (never released);
* every cell of the full table that is empty granted as a known 0 (conservative: the attacker
  is given all structural zeros, as in the suppression audit).

:func:`propagate` runs *bounds propagation* on the equations (for ``p = sum c_i``:
``p in [sum lo, sum hi]``, ``c_i >= lo_p - sum_{j != i} hi_j``, ``c_i <= hi_p - sum_{j != i}
lo_j``), chained to a fixpoint — the interval version of differencing (e.g. a parent in
``[990, 1000]`` and one released sibling in ``[970, 980]`` put the other child in
``[10, 30]``, and its absence in ``[0, 10]``: it is 10). It is sound: the true counts always lie
inside the bounds it returns.

The protection (:func:`protect`)
--------------------------------
A *protected* cell (an unreleased combination that holds 1..k-1 people, or one withheld for
another reason) is **exposed** when its lower bound reaches 1: the attacker then knows that
the combination exists (and, when both bounds meet, how many people hold it). Exposed cells are
fixed by *widening*: following the equations that produced the bound back to a released cell,
that cell's interval is widened by one step (its low end down, never below ``k``, or its high
end up, as the derivation needs), preferring the largest count (least relative error). Two
rules, checked after every round until neither fires:

* **value** (always): no protected cell keeps fewer than ``min_width + 1`` possible values
  (``release_aggregates``: ``min_width = (k - 1) // 2``, so never pinned to one value);
* **existence** (where possible): no protected cell has a lower bound above 0. Where no
  widening can do it — a released count whose other children are all unreleased shows that
  its unreleased children hold at least ``count - (others) * (k - 1)`` people, inherent to
  publishing that count — the cell is counted (``small_cells_shown_nonempty``), not hidden.

Every combination with ``>= k`` people stays in the release, except as a last resort: when no
widening can satisfy the value rule (tiny tables, where the structural zeros granted to the
attacker determine nearly everything), the nearest released cell is withheld (counted in
``withheld_last_resort``; none on the CTDC tables).

What it does not guarantee: bounds propagation is weaker than linear programming over the same
equations and than integer programming over the full table (an attacker who solves those may
narrow a cell further, though never below what the published intervals allow for its parent
equations one by one); and an attacker who re-runs the widening rule itself on candidate tables
may infer why a cell was widened. Successive releases are audited by
:mod:`safelight.release.successive`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from safelight.release.errors import ReleaseError, ReleaseUsageError
from safelight.release.suppression import CellSystem

log = logging.getLogger("safelight.release.intervals")


def grid_interval(counts: np.ndarray, k: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """The grid interval ``[k + j*base, k + (j+1)*base - 1]`` holding each count ``>= k``."""
    counts = np.asarray(counts, np.int64)
    if np.any(counts < k):
        raise ReleaseError("grid_interval: a count under k has no published interval")
    lo = k + ((counts - k) // base) * base
    return lo, lo + base - 1


def representative(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The published point of each interval: the ``1/c``-weighted median of ``lo..hi``, which
    minimises the mean relative error of a count spread evenly over the interval. A function of
    the interval alone (so it tells nothing the interval does not)."""
    lo = np.asarray(lo, np.int64)
    hi = np.asarray(hi, np.int64)
    out = np.empty(len(lo), np.int64)
    pairs, inv = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
    inv = inv.ravel()
    for i, (a, b) in enumerate(pairs.tolist()):
        if a >= b:
            out[inv == i] = a
            continue
        c = np.arange(max(a, 1), b + 1, dtype=float)
        w = np.cumsum(1.0 / c)
        out[inv == i] = int(c[np.searchsorted(w, w[-1] / 2)])
    return out


@dataclass
class Bounds:
    """Result of :func:`propagate`: the attacker's bounds and, per cell, the equation that last
    raised its lower bound / lowered its upper bound (``-1``: the bound is the given one)."""

    lo: np.ndarray
    hi: np.ndarray
    lo_reason: np.ndarray
    hi_reason: np.ndarray
    iterations: int

    def contradictions(self) -> np.ndarray:
        """Cells whose bounds crossed (only if a given interval excluded the truth)."""
        return self.lo > self.hi


class Equations:
    """The marginal equations of a :class:`CellSystem` in the form propagation needs."""

    def __init__(self, system: CellSystem) -> None:
        self.system = system
        par = system.member_coef > 0
        self.parent_of = np.zeros(system.n_eq, np.int64)
        self.parent_of[system.member_eq[par]] = system.member_cell[par]
        self.child_eq = system.member_eq[~par]
        self.child_cell = system.member_cell[~par]
        self._eq_ids = np.arange(system.n_eq, dtype=np.int64)
        self._lists: tuple[list[int], list[list[int]]] | None = None

    def child_lists(self) -> tuple[list[int], list[list[int]]]:
        """Each equation's parent and children as Python ints (built once, for the searches
        of :class:`WideningSearch`, which walk them one cell at a time)."""
        if self._lists is None:
            order = np.argsort(self.child_eq, kind="stable")
            cells = self.child_cell[order].tolist()
            ptr = np.concatenate(([0], np.cumsum(np.bincount(
                self.child_eq, minlength=self.system.n_eq)))).tolist()
            self._lists = (self.parent_of.tolist(),
                           [cells[ptr[e]:ptr[e + 1]] for e in range(self.system.n_eq)])
        return self._lists


def propagate(eqs: Equations, lo: np.ndarray, hi: np.ndarray,
              max_iterations: int = 100_000) -> Bounds:
    """Bounds propagation over the marginal equations to a fixpoint (see the module docstring).

    :raises ReleaseError: if no fixpoint is reached within ``max_iterations`` (bounds of an
        unfinished propagation could be wider than the attacker's, so they are never used).
    """
    n = eqs.system.n_cells
    lo = np.asarray(lo, np.int64).copy()
    hi = np.asarray(hi, np.int64).copy()
    lo_reason = np.full(n, -1, np.int64)
    hi_reason = np.full(n, -1, np.int64)
    ce, cc, po = eqs.child_eq, eqs.child_cell, eqs.parent_of
    cells = np.concatenate([po, cc])
    eq_of = np.concatenate([eqs._eq_ids, ce])
    n_eq = eqs.system.n_eq
    for it in range(1, max_iterations + 1):
        slo = np.bincount(ce, weights=lo[cc], minlength=n_eq).astype(np.int64)
        shi = np.bincount(ce, weights=hi[cc], minlength=n_eq).astype(np.int64)
        v_lo = np.concatenate([slo, lo[po][ce] - (shi[ce] - hi[cc])])
        v_hi = np.concatenate([shi, hi[po][ce] - (slo[ce] - lo[cc])])
        nlo = lo.copy()
        nhi = hi.copy()
        np.maximum.at(nlo, cells, v_lo)
        np.minimum.at(nhi, cells, v_hi)
        up = (v_lo > lo[cells]) & (v_lo == nlo[cells])
        down = (v_hi < hi[cells]) & (v_hi == nhi[cells])
        if not up.any() and not down.any():
            return Bounds(lo, hi, lo_reason, hi_reason, it)
        lo_reason[cells[up]] = eq_of[up]
        hi_reason[cells[down]] = eq_of[down]
        lo, hi = nlo, nhi
        if np.any(lo > hi + eqs.system.n_cells):  # diverging contradiction: stop, report it
            return Bounds(lo, hi, lo_reason, hi_reason, it)
    raise ReleaseError(f"interval audit: bounds propagation did not settle in {max_iterations} "
                       "rounds; lower --length")


def widen_target(eqs: Equations, b: Bounds, cell: int, end0: str, widenable_lo: np.ndarray,
                  widenable_hi: np.ndarray, weight: np.ndarray,
                  max_depth: int = 6) -> tuple[int, str] | None:
    """The released cell (and end, ``'lo'`` or ``'hi'``) whose widening loosens ``cell``'s bound
    ``end0`` (``'lo'``: its lower bound, ``'hi'``: its upper bound): breadth first along the
    equations that derived it; at the first depth with any widenable cell, the one with the
    largest ``weight`` (the first found among equals). For many cells against the same bounds,
    use one :class:`WideningSearch`."""
    return WideningSearch(eqs, b, widenable_lo, widenable_hi, weight).target(cell, end0,
                                                                              max_depth)


class WideningSearch:
    """:func:`widen_target` for any number of cells against one :class:`Bounds` and one set of
    widenable cells: the arrays are read into Python lists once, so each search walks plain
    lists (a round of the audit searches from thousands of cells)."""

    _END = {"lo": 0, "hi": 1}

    def __init__(self, eqs: Equations, b: Bounds, widenable_lo: np.ndarray,
                 widenable_hi: np.ndarray, weight: np.ndarray) -> None:
        self.parent, self.kids = eqs.child_lists()
        self.reason = (b.lo_reason.tolist(), b.hi_reason.tolist())
        self.widenable = (np.asarray(widenable_lo, bool).tolist(),
                          np.asarray(widenable_hi, bool).tolist())
        self.weight = np.asarray(weight, float).tolist()

    def target(self, cell: int, end0: str, max_depth: int = 6) -> tuple[int, str] | None:
        """See :func:`widen_target`."""
        reason, widenable, parent, kids = self.reason, self.widenable, self.parent, self.kids
        start = (cell, self._END[end0])
        frontier = [start]
        seen = {start}
        for _ in range(max_depth):
            found: list[tuple[int, int]] = []
            nxt: list[tuple[int, int]] = []
            for c, end in frontier:
                r = reason[end][c]
                if r < 0:
                    if widenable[end][c]:
                        found.append((c, end))
                    continue
                p = parent[r]
                if c == p:  # a parent's bound is the sum of its children's same-end bounds
                    steps = [(x, end) for x in kids[r]]
                else:  # a child's lo comes from parent lo and siblings' hi (and vice versa)
                    flip = 1 - end
                    steps = [(p, end)] + [(x, flip) for x in kids[r] if x != c]
                for st in steps:
                    if st not in seen:
                        seen.add(st)
                        nxt.append(st)
            if found:
                c, end = max(found, key=lambda ce: self.weight[ce[0]])
                return c, ("lo", "hi")[end]
            frontier = nxt
            if not frontier:
                break
        return None


@dataclass
class Protection:
    """Outcome of :func:`protect`: the widened intervals, the attacker's final bounds, the
    protected cells still shown non-empty because no widening can hide them (``inherent``), and
    the released cells withheld as a last resort (``withheld``)."""

    lo: np.ndarray
    hi: np.ndarray
    bounds: Bounds
    rounds: int
    widened: int
    inherent: np.ndarray
    withheld: np.ndarray


def exposed(b: Bounds, protected: np.ndarray, min_width: int = 1) -> np.ndarray:
    """Protected cells the attacker narrows to fewer than ``min_width + 1`` values (or whose
    bounds contradict): the *value* rule, always enforced."""
    return protected & ((b.hi - b.lo < min_width) | b.contradictions())


def shown_nonempty(b: Bounds, protected: np.ndarray) -> np.ndarray:
    """Protected cells the attacker's bounds show to hold at least one person (the *existence*
    rule, enforced where a widening can do it)."""
    return protected & (b.lo >= 1)


def _withhold_target(eqs: Equations, cell: int, released: np.ndarray) -> int | None:
    """The released cell nearest to ``cell`` through the equations (smallest count first)."""
    sy = eqs.system
    seen = {cell}
    frontier = [cell]
    while frontier:
        cands: set[int] = set()
        nxt: list[int] = []
        for c in frontier:
            for e in sy.equations_of(c).tolist():
                for m in sy.members(e).tolist():
                    if m in seen:
                        continue
                    seen.add(m)
                    if released[m]:
                        cands.add(m)
                    nxt.append(m)
        if cands:
            return min(cands, key=lambda m: (int(sy.cell_count[m]), m))
        frontier = nxt
    return None


class WithholdingRunaway(ReleaseError):
    """:func:`protect` withheld a large share of what reaches k to protect the small cells (see
    :data:`MAX_WITHHELD_CELLS`); a coarser grid usually avoids it."""


#: :func:`protect` gives up once its last-resort withholding passes both: a release that must
#: withhold a large share of what reaches k to protect its small cells is of little use (on 2,000 CTDC rows at
#: length 4 it went on for 400 rounds and 141 s and withheld 80% of the common combinations,
#: the 1-way counts among them); a tiny table's few withheld cells stay a last resort
MAX_WITHHELD_CELLS = 200
MAX_WITHHELD_SHARE = 0.25


def protect(eqs: Equations, lo: np.ndarray, hi: np.ndarray, released: np.ndarray,
            protected: np.ndarray, k: int, base: int, *, min_width: int = 1,
            existence: bool = True, max_rounds: int = 500,
            extra_check: Callable[[np.ndarray, np.ndarray, np.ndarray], set[tuple[int, str]]]
            | None = None) -> Protection:
    """Widen released intervals until every protected cell keeps at least ``min_width + 1``
    possible values and (``existence``) until no protected cell is shown non-empty where a
    widening can prevent it.

    When no widening can keep a protected cell wide enough (tiny tables, where the structural
    zeros granted to the attacker determine almost everything), the nearest released cell is
    *withheld* as a last resort: absent from the release, and granted to the attacker as
    "withheld, so ``>= k``" (``[k, N_high]``), which is true.

    :param lo, hi: the given intervals (released cells: published; others: what the attacker
        knows of them); not modified.
    :param released: cells whose interval may be widened (a low end never below ``k``); not
        modified (see :attr:`Protection.withheld`).
    :param extra_check: optional ``f(lo, hi, released) -> {(cell, end)}`` of further
        widenings needed (``end`` may also be ``'withhold'``), used by the successive-release
        audit; the loop ends when it returns nothing too.
    :raises ReleaseError: if the rules cannot be met.
    """
    lo = np.asarray(lo, np.int64).copy()
    hi = np.asarray(hi, np.int64).copy()
    released = released.copy()
    protected = protected.copy()
    weight = eqs.system.cell_count.astype(float)
    cap = int(hi.max())
    widened = np.zeros(len(lo), bool)
    withheld = np.zeros(len(lo), bool)
    inherent = np.zeros(len(lo), bool)
    for rnd in range(1, max_rounds + 1):
        b = propagate(eqs, lo, hi)
        can_lo = released & (lo > k)
        can_hi = released.copy()
        todo: set[tuple[int, str]] = set()
        stuck: list[int] = []
        search = WideningSearch(eqs, b, can_lo, can_hi, weight)
        for c in np.flatnonzero(exposed(b, protected, min_width)).tolist():
            t = None
            if b.lo[c] >= 1:
                t = search.target(c, "lo")
            if t is None:
                t = search.target(c, "hi")
            if t is None:
                stuck.append(c)
            else:
                todo.add(t)
        if stuck and not todo:
            drop = {w for w in (_withhold_target(eqs, c, released) for c in stuck)
                    if w is not None}
            if not drop:
                raise ReleaseError(f"interval audit: {len(stuck)} small cells can be narrowed "
                                   f"to fewer than {min_width + 1} values and nothing released "
                                   "can be widened or withheld to prevent it")
            idx = np.fromiter(drop, np.int64)
            released[idx] = False
            withheld[idx] = True
            lo[idx], hi[idx] = k, cap
            if withheld.sum() >= MAX_WITHHELD_CELLS and withheld.sum() > \
                    MAX_WITHHELD_SHARE * (released.sum() + withheld.sum()):
                raise WithholdingRunaway(
                    f"interval audit: protecting the small combinations has withheld "
                    f"{int(withheld.sum()):,} of the {int(released.sum() + withheld.sum()):,} "
                    "combinations that reach k, and more each round: the table is too small "
                    "for this length. Release a shorter --length, or use a coarser "
                    "--rounding-base")
            continue
        inherent[:] = False
        if existence:
            for c in np.flatnonzero(shown_nonempty(b, protected)).tolist():
                t = search.target(c, "lo")
                if t is None:
                    inherent[c] = True
                else:
                    todo.add(t)
        if extra_check is not None:
            for c, end in extra_check(lo, hi, released):
                if end == "withhold":
                    c = c if released[c] else _withhold_target(eqs, c, released)
                    if c is None:
                        raise ReleaseError("interval audit: an exposed cell has nothing "
                                           "released near it to withhold")
                    todo.add((c, end))
                elif released[c]:
                    todo.add((c, end))
        log.info("interval audit round %d: %d widenings", rnd, len(todo))
        if not todo:
            log.info("interval audit: settled after %d rounds, %d intervals widened, %d "
                     "withheld, %d small cells shown non-empty by their released parents", rnd,
                     int(widened.sum()), int(withheld.sum()), int(inherent.sum()))
            return Protection(lo, hi, b, rnd, int(widened.sum()), inherent, withheld)
        for c, end in todo:
            if end == "withhold":
                released[c] = False
                withheld[c] = True
                lo[c], hi[c] = k, cap
                continue
            if end == "lo":
                lo[c] = max(k, lo[c] - base)
            else:
                hi[c] += base
            widened[c] = True
    raise ReleaseUsageError(
        f"interval audit: not settled after {max_rounds} rounds of widening — the small "
        "combinations are too many and too close together for this k and length (ctdc10 at "
        "k = 3, length 3). Release a shorter --length or a larger --k, or, from a file, use "
        "--method suppress (exact counts with complementary suppression)")


def attacker_intervals(system: CellSystem, released: np.ndarray, lo: np.ndarray,
                       hi: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's starting intervals: released cells as given, unreleased cells without a
    missing value ``[0, k - 1]``, cells with a missing value ``[0, high end of the total]``."""
    a_lo = np.where(released, lo, 0).astype(np.int64)
    cap = int(hi[0]) if released[0] else int(system.cell_count[0]) * 2 + k
    a_hi = np.where(released, hi, np.where(system.cell_missing, cap, k - 1)).astype(np.int64)
    return a_lo, a_hi


__all__ = ["Bounds", "Equations", "Protection", "WithholdingRunaway", "attacker_intervals",
           "WideningSearch", "exposed", "shown_nonempty", "widen_target",
           "grid_interval", "propagate", "protect", "representative"]
