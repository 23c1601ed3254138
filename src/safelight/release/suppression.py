"""Small-cell suppression with complementary (secondary) suppression, and the differencing
attacks it is checked against.

The model
---------
The released family is every combination count of length ``1..L`` plus the total ``N``. An
attacker who wants a suppressed count uses the fact that all of them are margins of one table.
For every column subset ``S`` with ``|S| <= L`` we take the full contingency table of ``S`` with
*missing as a category*; its cells are the unknowns and knowns of a linear system:

* a cell is **known** if it is released (no missing value, count ``>= k``, not suppressed) or if
  its count is 0 — we grant the attacker every structural zero, which is conservative;
* every other cell is **unknown**: primary-suppressed cells (count ``1..k-1``),
  secondary-suppressed cells, and cells involving a missing value (never released);
* equations: for each cell ``c`` of ``S`` and each column ``j`` outside ``S`` with
  ``|S| + 1 <= L``: ``count(c) = sum over v (incl. missing) of count(c, j = v)``; for ``S = {}``,
  ``c`` is the total. Over real numbers these marginal relations are *all* the linear relations
  among the released family (margins of one table agree on their intersections).

Algorithm (iterative, greedy, cheapest complement first)
--------------------------------------------------------
1. Primary suppression: every non-missing cell with ``0 < count < k``.
2. Run the *propagation attack*: repeatedly solve every equation that has exactly one unknown
   (chained: a derived cell becomes known and can unlock further equations), to a fixpoint.
3. For each primary cell the attack recovered, take the equation that recovered it and suppress
   its smallest released member (the total only as last resort); if that equation has no released
   member (all of them were themselves derived), walk back along the equations that derived them.
4. Repeat 2–3 until no primary cell is recovered. Each round suppresses at least one more cell,
   so it terminates.
5. *Linear audit*: the exact linear attack (a cell is determined iff it is constant on the null
   space of the unknowns' equations, per connected component, by SVD) catches patterns chains of
   single-unknown equations miss (e.g. a suppressed cell that is a bridge between two suppressed
   cycles). Each determined primary cell gets one more complement, then back to 2. Components too
   large for a dense SVD (over ``max_audit_unknowns``) are reported as not audited.

What it does not guarantee: interval (bounds) attacks using non-negativity may narrow a suppressed
cell to a range (never to a point, since it is not determined); rounding is not modelled here; and
successive releases of overlapping data must go through the release ledger.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from safelight.release.combos import Subset, count_subset, decode_keys, multipliers, subsets
from safelight.release.errors import ReleaseError
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.suppression")


@dataclass
class CellSystem:
    """Cells of all contingency tables of up to ``L`` columns (missing as a category) and the
    marginal equations among them. Cell 0 is the total."""

    subsets: list[Subset]
    cell_subset: np.ndarray
    cell_key: np.ndarray
    cell_count: np.ndarray
    cell_missing: np.ndarray
    subset_start: np.ndarray
    member_eq: np.ndarray
    member_cell: np.ndarray
    member_coef: np.ndarray
    n_eq: int
    eq_ptr: np.ndarray = field(init=False)
    eq_members: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.member_eq, kind="stable")
        self.eq_members = self.member_cell[order]
        self.eq_ptr = np.concatenate(
            ([0], np.cumsum(np.bincount(self.member_eq, minlength=self.n_eq)))).astype(np.int64)

    @property
    def n_cells(self) -> int:
        return len(self.cell_count)

    def members(self, eq: int) -> np.ndarray:
        return self.eq_members[self.eq_ptr[eq]:self.eq_ptr[eq + 1]]


def build_system(table: CategoricalTable, length: int) -> CellSystem:
    """All cells (count > 0, missing included) of every subset of up to ``length`` columns."""
    radix = table.radix
    subs: list[Subset] = [(), *subsets(table.n_columns, length)]
    index = {s: i for i, s in enumerate(subs)}
    keys_l = [np.zeros(1, np.int64)]
    counts_l = [np.array([table.n_rows], np.int64)]
    missing_l = [np.zeros(1, bool)]
    codes_l: list[np.ndarray] = [np.zeros((1, 0), np.int32)]
    for s in subs[1:]:
        keys, counts = count_subset(table.codes, radix, s, include_missing=True)
        codes = decode_keys(keys, radix, s)
        keys_l.append(keys)
        counts_l.append(counts)
        missing_l.append((codes == 0).any(axis=1))
        codes_l.append(codes)
    sizes = np.array([len(k) for k in keys_l])
    start = np.concatenate(([0], np.cumsum(sizes)))
    m_eq: list[np.ndarray] = []
    m_cell: list[np.ndarray] = []
    m_coef: list[np.ndarray] = []
    eq_off = 0
    for si, s in enumerate(subs[1:], start=1):
        child_ids = np.arange(start[si], start[si + 1])
        for pos in range(len(s)):
            parent = s[:pos] + s[pos + 1:]
            pi = index[parent]
            if parent:
                pk = codes_l[si][:, [q for q in range(len(s)) if q != pos]].astype(np.int64) \
                    @ multipliers(radix, parent)
                local = np.searchsorted(keys_l[pi], pk)
            else:
                local = np.zeros(len(child_ids), np.int64)
            n_par = sizes[pi]
            m_eq += [eq_off + local, eq_off + np.arange(n_par)]
            m_cell += [child_ids, np.arange(start[pi], start[pi + 1])]
            m_coef += [-np.ones(len(child_ids)), np.ones(n_par)]
            eq_off += int(n_par)
    cell_subset = np.repeat(np.arange(len(subs)), sizes).astype(np.int32)
    return CellSystem(subs, cell_subset, np.concatenate(keys_l), np.concatenate(counts_l),
                      np.concatenate(missing_l), start, np.concatenate(m_eq).astype(np.int64),
                      np.concatenate(m_cell).astype(np.int64), np.concatenate(m_coef), eq_off)


def propagation_attack(system: CellSystem, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve equations with one unknown until nothing changes.

    :param known: mask of cells the attacker starts with (released cells and the total).
    :return: ``(known_after, revealed_by)``; ``revealed_by[c]`` is the equation that revealed
        cell ``c`` (``-1`` if it was known from the start or never revealed).
    """
    known = known.copy()
    revealed_by = np.full(system.n_cells, -1, np.int64)
    while True:
        unk = ~known[system.member_cell]
        n_unk = np.bincount(system.member_eq, weights=unk, minlength=system.n_eq)
        solvable = n_unk == 1
        if not solvable.any():
            return known, revealed_by
        sel = solvable[system.member_eq] & unk
        cells, first = np.unique(system.member_cell[sel], return_index=True)
        known[cells] = True
        revealed_by[cells] = system.member_eq[sel][first]


def _components(system: CellSystem, unknown: np.ndarray, eqs: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of unknown cells linked by ``eqs`` (label propagation)."""
    sel = np.isin(system.member_eq, eqs) & unknown[system.member_cell]
    me, mc = system.member_eq[sel], system.member_cell[sel]
    label = np.arange(system.n_cells)
    while True:
        eq_min = np.full(system.n_eq, np.iinfo(np.int64).max)
        np.minimum.at(eq_min, me, label[mc])
        new = label.copy()
        np.minimum.at(new, mc, eq_min[me])
        if np.array_equal(new, label):
            return label, me, mc
        label = new[new]


@dataclass
class LinearAudit:
    """Result of :func:`linear_attack`."""

    determined: np.ndarray
    values: np.ndarray
    unaudited_cells: int
    largest_component: int


def linear_attack(system: CellSystem, known: np.ndarray,
                  max_audit_unknowns: int = 2500) -> LinearAudit:
    """The exact linear differencing attack: which unknown cells are determined by the known
    ones, and their recomputed values (NaN where not determined)."""
    unknown = ~known
    n_unk_eq = np.bincount(system.member_eq, weights=unknown[system.member_cell],
                           minlength=system.n_eq)
    eqs = np.flatnonzero(n_unk_eq > 0)
    label, me, mc = _components(system, unknown, eqs)
    determined = np.zeros(system.n_cells, bool)
    values = np.full(system.n_cells, np.nan)
    # right-hand side: minus the known part of each equation
    kn = known[system.member_cell]
    rhs = np.bincount(system.member_eq[kn], weights=-(system.member_coef[kn]
                      * system.cell_count[system.member_cell[kn]]), minlength=system.n_eq)
    coef_lookup = {}
    sel = unknown[system.member_cell]
    for e, c, w in zip(system.member_eq[sel].tolist(), system.member_cell[sel].tolist(),
                       system.member_coef[sel].tolist(), strict=True):
        coef_lookup[(e, c)] = coef_lookup.get((e, c), 0.0) + w
    comp_of_member = label[mc]
    order = np.argsort(comp_of_member, kind="stable")
    bounds = np.flatnonzero(np.diff(comp_of_member[order])) + 1
    unaudited = 0
    largest = 0
    for grp in np.split(order, bounds):
        if len(grp) == 0:
            continue
        cells = np.unique(mc[grp])
        eq_ids = np.unique(me[grp])
        largest = max(largest, len(cells))
        if len(cells) > max_audit_unknowns:
            unaudited += len(cells)
            continue
        ci = {c: i for i, c in enumerate(cells.tolist())}
        ei = {e: i for i, e in enumerate(eq_ids.tolist())}
        a = np.zeros((len(eq_ids), len(cells)))
        for m in grp.tolist():
            a[ei[int(me[m])], ci[int(mc[m])]] = coef_lookup[(int(me[m]), int(mc[m]))]
        b = rhs[eq_ids]
        x, *_ = np.linalg.lstsq(a, b, rcond=None)
        _, sv, vt = np.linalg.svd(a, full_matrices=True)
        tol = max(a.shape) * np.finfo(float).eps * (sv[0] if len(sv) else 0.0) * 10
        rank = int(np.sum(sv > tol))
        null = vt[rank:]
        det = np.all(np.abs(null) < 1e-8, axis=0) if len(null) else np.ones(len(cells), bool)
        determined[cells[det]] = True
        values[cells[det]] = x[det]
    return LinearAudit(determined, values, unaudited, largest)


@dataclass
class Suppression:
    """Outcome of :func:`suppress`: which cells are released and why the others are not."""

    system: CellSystem
    k: int
    primary: np.ndarray
    secondary: np.ndarray
    released: np.ndarray
    rounds: int
    audit_unaudited_cells: int
    audit_largest_component: int


def _complement(system: CellSystem, cell: int, eq: int, released: np.ndarray,
                revealed_by: np.ndarray, chosen: set[int]) -> int | None:
    """A released cell whose suppression breaks the equation that revealed ``cell``."""
    queue = deque([eq])
    seen = {eq}
    while queue:
        e = queue.popleft()
        mem = system.members(e)
        mem = mem[mem != cell]
        if any(int(m) in chosen for m in mem):
            return None
        cand = mem[released[mem]]
        if len(cand):
            non_total = cand[cand != 0]
            pool = non_total if len(non_total) else cand
            return int(pool[np.argmin(system.cell_count[pool])])
        for m in mem.tolist():
            r = int(revealed_by[m])
            if r >= 0 and r not in seen:
                seen.add(r)
                queue.append(r)
    return None


def _audit_complement(system: CellSystem, cell: int, released: np.ndarray,
                      chosen: set[int]) -> int | None:
    """Smallest released cell sharing an equation with ``cell``."""
    eqs = np.unique(system.member_eq[system.member_cell == cell])
    best: int | None = None
    for e in eqs.tolist():
        mem = system.members(e)
        if any(int(m) in chosen for m in mem):
            return None
        cand = mem[released[mem] & (mem != 0)]
        if len(cand):
            c = int(cand[np.argmin(system.cell_count[cand])])
            if best is None or system.cell_count[c] < system.cell_count[best]:
                best = c
    return best


def suppress(table: CategoricalTable, k: int, length: int, *, audit: bool = True,
             max_audit_unknowns: int = 2500, max_rounds: int = 10_000) -> Suppression:
    """Primary and complementary suppression of all combination counts of up to ``length``
    columns (see the module docstring for the model and the algorithm)."""
    system = build_system(table, length)
    primary = ~system.cell_missing & (system.cell_count < k)
    primary[0] = False
    released = ~system.cell_missing & ~primary
    secondary = np.zeros(system.n_cells, bool)
    rounds = 0
    unaudited = largest = 0
    while True:
        rounds += 1
        if rounds > max_rounds:
            raise ReleaseError("complementary suppression did not converge; lower --length")
        known, revealed_by = propagation_attack(system, released)
        bad = np.flatnonzero(primary & known)
        chosen: set[int] = set()
        if len(bad) == 0 and audit:
            la = linear_attack(system, released, max_audit_unknowns)
            unaudited, largest = la.unaudited_cells, la.largest_component
            for c in np.flatnonzero(primary & la.determined).tolist():
                pick = _audit_complement(system, c, released, chosen)
                if pick is not None:
                    chosen.add(pick)
            if not chosen and (primary & la.determined).any():
                raise ReleaseError("linear audit found a recomputable cell it cannot protect")
        for c in bad.tolist():
            pick = _complement(system, c, int(revealed_by[c]), released, revealed_by, chosen)
            if pick is not None:
                chosen.add(pick)
        if len(bad) and not chosen:
            raise ReleaseError("a suppressed cell can be recomputed and no released cell can "
                               "protect it; lower --length or raise the data's coarseness")
        if not chosen:
            break
        idx = np.fromiter(chosen, np.int64)
        released[idx] = False
        secondary[idx] = True
    log.info("suppression: %d primary, %d secondary cells in %d rounds",
             int(primary.sum()), int(secondary.sum()), rounds)
    return Suppression(system, k, primary, secondary, released, rounds, unaudited, largest)


__all__ = ["CellSystem", "LinearAudit", "Suppression", "build_system", "linear_attack",
           "propagation_attack", "suppress"]
