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

Algorithm (level by level, greedy, then an exact audit)
-------------------------------------------------------
1. Primary suppression: every non-missing cell with ``0 < count < k``.
2. For ``l = 1..L``: use the equations between levels ``l - 1`` and ``l`` (and all shorter
   ones) and run the *propagation attack*: repeatedly solve every equation that has exactly one
   unknown (chained: a derived cell becomes known and unlocks further equations), to a fixpoint.
   For each suppressed cell it recovers, take the equation that recovered it and withhold the
   released level-``l`` member that completes the most single-unknown equations, opens the
   fewest fully-known ones and is not pinned by a released parent, then the smallest count
   (walking back along the equations that derived the other members if needed). Repeat until
   nothing suppressed is recovered. Complements are taken at the current level whenever one
   exists (a shorter combination only as a last resort, e.g. when a complement is pinned by
   its parent); every suppressed cell is kept unrecoverable, except complements of the longest
   length (they feed no longer combination, and a recovered complement is >= k) — which
   withholds a quarter less on CTDC's 10-column table.
3. *Linear audit*: the exact linear attack — a cell is determined iff it is 0 on every vector
   of the null space of the unknowns' equations. Per connected component: a dense SVD up to
   ``max_audit_unknowns`` unknowns, beyond that random null-space probes (CGLS projections; a
   cell non-zero in any probe is certainly not determined, and a non-converged component is
   reported as unaudited, never as safe). It catches what chains of single-unknown equations
   miss (e.g. a cell that is a bridge between two suppressed cycles; it finds such cells on
   CTDC's 10-column table at length 3). Each determined primary cell gets one more complement
   (nearest equations first); a cell found determined again gets a *certificate* — released
   cells whose withholding provably leaves it undetermined (:mod:`certificates`: hypercube and
   row-pair null vectors, or a small linear programme) — until none is determined.

What it does not guarantee: interval (bounds) attacks using non-negativity may narrow a suppressed
cell to a range (never to a point, since it is not determined); rounding is not modelled here; and
successive releases of overlapping data must go through the release ledger.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from safelight.release.certificates import CellLookup, certificate
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
    cell_level: np.ndarray = field(init=False)
    eq_level: np.ndarray = field(init=False)
    cell_eqs: np.ndarray = field(init=False)
    cell_ptr: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.cell_level = np.array([len(s) for s in self.subsets], np.int32)[self.cell_subset]
        self.eq_level = np.zeros(self.n_eq, np.int32)
        child = self.member_coef < 0
        self.eq_level[self.member_eq[child]] = self.cell_level[self.member_cell[child]]
        order = np.argsort(self.member_eq, kind="stable")
        self.eq_members = self.member_cell[order]
        corder = np.argsort(self.member_cell, kind="stable")
        self.cell_eqs = self.member_eq[corder]
        self.cell_ptr = np.concatenate(
            ([0], np.cumsum(np.bincount(self.member_cell, minlength=len(self.cell_count))))
        ).astype(np.int64)
        self.eq_ptr = np.concatenate(
            ([0], np.cumsum(np.bincount(self.member_eq, minlength=self.n_eq)))).astype(np.int64)

    @property
    def n_cells(self) -> int:
        return len(self.cell_count)

    def members(self, eq: int) -> np.ndarray:
        return self.eq_members[self.eq_ptr[eq]:self.eq_ptr[eq + 1]]

    def equations_of(self, cell: int) -> np.ndarray:
        return self.cell_eqs[self.cell_ptr[cell]:self.cell_ptr[cell + 1]]


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


def propagation_attack(system: CellSystem, known: np.ndarray,
                       active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Solve equations with one unknown until nothing changes.

    :param known: mask of cells the attacker starts with (released cells and the total).
    :param active: mask of equations to use (all by default).
    :return: ``(known_after, revealed_by)``; ``revealed_by[c]`` is the equation that revealed
        cell ``c`` (``-1`` if it was known from the start or never revealed).
    """
    known = known.copy()
    revealed_by = np.full(system.n_cells, -1, np.int64)
    while True:
        unk = ~known[system.member_cell]
        n_unk = np.bincount(system.member_eq, weights=unk, minlength=system.n_eq)
        solvable = n_unk == 1
        if active is not None:
            solvable &= active
        if not solvable.any():
            return known, revealed_by
        sel = solvable[system.member_eq] & unk
        cells, first = np.unique(system.member_cell[sel], return_index=True)
        known[cells] = True
        revealed_by[cells] = system.member_eq[sel][first]


def _components(system: CellSystem, unknown: np.ndarray, eqs: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of unknown cells linked by ``eqs`` (label propagation); returns
    the labels and the (equation, cell, coefficient) of the unknown members."""
    sel = np.isin(system.member_eq, eqs) & unknown[system.member_cell]
    me, mc, mw = system.member_eq[sel], system.member_cell[sel], system.member_coef[sel]
    label = np.arange(system.n_cells)
    while True:
        eq_min = np.full(system.n_eq, np.iinfo(np.int64).max)
        np.minimum.at(eq_min, me, label[mc])
        new = label.copy()
        np.minimum.at(new, mc, eq_min[me])
        if np.array_equal(new, label):
            return label, me, mc, mw
        label = new[new]


@dataclass
class LinearAudit:
    """Result of :func:`linear_attack`."""

    determined: np.ndarray
    values: np.ndarray
    unaudited_cells: int
    largest_component: int


def linear_attack(system: CellSystem, known: np.ndarray,
                  max_audit_unknowns: int = 2500,
                  targets: np.ndarray | None = None) -> LinearAudit:
    """The exact linear differencing attack: which unknown cells are determined by the known
    ones, and their recomputed values (NaN where not determined).

    :param targets: only solve connected components that contain one of these cells (all by
        default); the others are skipped, not counted as unaudited.
    """
    unknown = ~known
    n_unk_eq = np.bincount(system.member_eq, weights=unknown[system.member_cell],
                           minlength=system.n_eq)
    eqs = np.flatnonzero(n_unk_eq > 0)
    label, me, mc, mw = _components(system, unknown, eqs)
    determined = np.zeros(system.n_cells, bool)
    values = np.full(system.n_cells, np.nan)
    # right-hand side: minus the known part of each equation
    kn = known[system.member_cell]
    rhs = np.bincount(system.member_eq[kn], weights=-(system.member_coef[kn]
                      * system.cell_count[system.member_cell[kn]]), minlength=system.n_eq)
    comp_of_member = label[mc]
    order = np.argsort(comp_of_member, kind="stable")
    bounds = np.flatnonzero(np.diff(comp_of_member[order])) + 1
    unaudited = 0
    largest = 0
    for grp in np.split(order, bounds):
        if len(grp) == 0:
            continue
        cells = np.unique(mc[grp])
        if targets is not None and not targets[cells].any():
            continue
        eq_ids = np.unique(me[grp])
        largest = max(largest, len(cells))
        if len(cells) > max_audit_unknowns:
            det_big = _probe_determined(me[grp], mc[grp], mw[grp], cells, eq_ids)
            if det_big is None:
                unaudited += len(cells)
            else:
                determined[cells[det_big]] = True
            continue
        a = np.zeros((len(eq_ids), len(cells)))
        a[np.searchsorted(eq_ids, me[grp]), np.searchsorted(cells, mc[grp])] = mw[grp]
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


def _probe_determined(me: np.ndarray, mc: np.ndarray, mw: np.ndarray, cells: np.ndarray,
                      eq_ids: np.ndarray, probes: int = 4, max_iter: int = 5000,
                      seed: int = 0) -> np.ndarray | None:
    """Determined cells of a component too large for a dense SVD, by random null-space probes.

    A cell is determined iff every vector of the null space of the equations is 0 there. Random
    vectors are projected onto the null space with CGLS (``min ||A^T w - y||``; the residual is
    the projection); a cell that is non-zero in any probe is certainly not determined. The
    probes run as one block (a sparse matrix times ``probes`` columns, each column its own CGLS
    recurrence): on a 1,000,000-row table with small cells the probes one at a time, products
    by ``bincount``, took over 15 minutes. Returns ``None`` if CGLS does not converge (the
    caller then reports the component as unaudited).
    """
    from scipy import sparse

    ei = np.searchsorted(eq_ids, me)
    ci = np.searchsorted(cells, mc)
    n_e, n_c = len(eq_ids), len(cells)
    a = sparse.csr_matrix((mw.astype(np.float64), (ei, ci)), shape=(n_e, n_c))
    # scaled to unit rows, then unit columns: the null space keeps its zero pattern (a
    # diagonal scaling of rows or columns), and CGLS converges in fewer steps
    a = sparse.diags(1.0 / np.sqrt(np.maximum(np.asarray(a.multiply(a).sum(axis=1)).ravel(),
                                              1e-300))) @ a
    a = (a @ sparse.diags(1.0 / np.sqrt(np.maximum(np.asarray(a.multiply(a).sum(axis=0))
                                                   .ravel(), 1e-300)))).tocsr()
    at = a.T.tocsr()
    y = np.random.default_rng(seed).standard_normal((n_c, probes))
    r = y.copy()
    sv = a @ r
    p = sv.copy()
    gamma = np.einsum("ij,ij->j", sv, sv)
    tol = 1e-22 * np.einsum("ij,ij->j", y, y)
    converged = gamma <= tol
    for _ in range(max_iter):
        if converged.all():
            break
        q = at @ p
        qq = np.einsum("ij,ij->j", q, q)
        alpha = np.where(converged, 0.0, gamma / np.where(qq > 0, qq, 1.0))
        r -= q * alpha
        sv = a @ r
        g_new = np.einsum("ij,ij->j", sv, sv)
        beta = np.where(converged, 0.0, g_new / np.where(gamma > 0, gamma, 1.0))
        p = sv + p * beta
        gamma = np.where(converged, gamma, g_new)
        converged |= g_new <= tol
    if not converged.all():
        return None
    scale = 1e-6 * np.sqrt(np.einsum("ij,ij->j", y, y) / n_c)
    return ~np.any(np.abs(r) > scale, axis=1)


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


class _Chooser:
    """Picks complements: among the candidates, the one that completes the most equations that
    have exactly one unknown and opens the fewest equations that have none (each of those would
    need a complement of its own), then the smallest count (least information lost)."""

    def __init__(self, system: CellSystem, released: np.ndarray, active: np.ndarray,
                 level: int) -> None:
        self.system = system
        self.active = active
        self.released = released
        self.level = level
        unknown = ~released[system.member_cell]
        self.n_unk = np.bincount(system.member_eq, weights=unknown,
                                 minlength=system.n_eq).astype(np.int64)

    def score(self, cell: int) -> tuple[int, int, int]:
        sy = self.system
        eqs = sy.equations_of(cell)
        eqs = eqs[self.active[eqs]]
        n = self.n_unk[eqs]
        pinned = 0
        for e in eqs[n == 0].tolist():
            mem = sy.members(e)
            if not np.any(self.released[mem] & (sy.cell_level[mem] == self.level)
                          & (mem != cell)):
                pinned += 1
        return (pinned, int(np.sum(n == 0)) - int(np.sum(n == 1)), int(sy.cell_count[cell]))

    def best(self, cands: np.ndarray) -> int:
        return int(min(cands.tolist(), key=self.score))

    def take(self, cell: int) -> None:
        np.add.at(self.n_unk, self.system.equations_of(cell), 1)


def _complement(system: CellSystem, cell: int, eq: int, released: np.ndarray,
                revealed_by: np.ndarray, chosen: set[int], level: int,
                chooser: _Chooser) -> int | None:
    """A released cell of ``level`` whose suppression breaks the equation that revealed
    ``cell``, walking back along the equations that derived its other members if needed."""
    queue = deque([eq])
    seen = {eq}
    fallback: int | None = None
    while queue:
        e = queue.popleft()
        mem = system.members(e)
        mem = mem[mem != cell]
        if any(int(m) in chosen for m in mem):
            return None
        cand = mem[released[mem] & (system.cell_level[mem] == level)]
        if len(cand):
            return chooser.best(cand)
        other = mem[released[mem] & (mem != 0)]
        if fallback is None and len(other):
            top = other[system.cell_level[other] == system.cell_level[other].max()]
            fallback = chooser.best(top)
        if fallback is None and released[0] and np.any(mem == 0):
            fallback = 0  # withhold the total, as a last resort
        for m in mem.tolist():
            r = int(revealed_by[m])
            if r >= 0 and r not in seen:
                seen.add(r)
                queue.append(r)
    return fallback


def _audit_complement(system: CellSystem, cell: int, released: np.ndarray,
                      chosen: set[int], n_unknown: np.ndarray) -> int | None:
    """A released cell in the nearest equations around ``cell`` (breadth first through
    unknown cells): of the highest level, then leaving fewest equations with it as their only
    unknown (such a complement is recomputed at once and frees nothing), then the smallest
    count. ``n_unknown`` counts each equation's unknown members."""
    seen_eq: set[int] = set()
    seen_cell = {cell}
    frontier = [cell]
    while frontier:
        best: int | None = None
        best_key: tuple[int, int, int] | None = None
        nxt: list[int] = []
        for c0 in frontier:
            for e in system.equations_of(c0).tolist():
                if e in seen_eq:
                    continue
                seen_eq.add(e)
                mem = system.members(e)
                if any(int(m) in chosen for m in mem):
                    return None
                for c in mem[released[mem] & (mem != 0)].tolist():
                    opened = int(np.count_nonzero(n_unknown[system.equations_of(c)] == 0))
                    key = (-int(system.cell_level[c]), opened, int(system.cell_count[c]))
                    if best_key is None or key < best_key:
                        best, best_key = c, key
                for m in mem[~released[mem]].tolist():
                    if m not in seen_cell:
                        seen_cell.add(m)
                        nxt.append(m)
        if best is not None:
            return best
        frontier = nxt
    return 0 if released[0] and 0 not in chosen else None  # the total, as a last resort


class _AuditComplements:
    """The linear audit's complements, round after round. A cell found determined for the
    first time gets the nearest complement (:func:`_audit_complement`: one cell, and usually
    enough); found again, a certificate (:mod:`certificates`: released cells whose withholding
    provably leaves it undetermined), else the nearest complement again. On a 1,000,000-row
    table with rare values the nearest complements alone freed almost nothing after the first
    round: 87 audit rounds of about 4 s each, where certificates need 3."""

    def __init__(self, system: CellSystem, table: CategoricalTable, length: int) -> None:
        self.system = system
        self.length = length
        self.lookup = CellLookup(system, table.radix, table.codes)
        self.times_found: dict[int, int] = {}
        self.no_certificate: set[int] = set()

    def choose(self, found: np.ndarray, released: np.ndarray) -> np.ndarray:
        """The cells to withhold for the determined cells ``found``."""
        sy = self.system
        released = released.copy()
        n_unknown = np.bincount(sy.member_eq, weights=~released[sy.member_cell],
                                minlength=sy.n_eq).astype(np.int64)
        chosen: set[int] = set()

        def take(cells: list[int]) -> None:
            for c in cells:
                if c not in chosen:
                    chosen.add(c)
                    released[c] = False
                    np.add.at(n_unknown, sy.equations_of(c), 1)

        for cell in found.tolist():
            times = self.times_found[cell] = self.times_found.get(cell, 0) + 1
            if times >= 2 and cell not in self.no_certificate:
                cert = certificate(self.lookup, cell, released, self.length)
                if cert is not None:  # empty: this round's complements already free it
                    take(cert.tolist())
                    continue
                self.no_certificate.add(cell)
            pick = _audit_complement(sy, cell, released, chosen, n_unknown)
            if pick is not None:
                take([pick])
        return np.fromiter(chosen, np.int64, len(chosen))


def suppress(table: CategoricalTable, k: int, length: int, *, audit: bool = True,
             max_audit_unknowns: int = 2500, max_rounds: int = 100_000) -> Suppression:
    """Primary and complementary suppression of all combination counts of up to ``length``
    columns (see the module docstring for the model).

    Levels are protected in order ``1..length``: at level ``l`` only the equations between
    levels ``l - 1`` and ``l`` are added and complements are chosen among level-``l`` cells, so
    short combinations are withheld only as a last resort. Every primary cell
    and every complement shorter than ``length`` is kept unrecoverable; cells with a missing
    value may be recovered (they are not statements about the non-missing values).
    """
    if k < 2:
        raise ReleaseError(f"k must be at least 2 (got {k})")
    system = build_system(table, length)
    primary = ~system.cell_missing & (system.cell_count < k)
    primary[0] = False
    released = ~system.cell_missing & ~primary
    rounds = 0
    for level in range(1, length + 1):
        active = system.eq_level <= level
        while True:
            rounds += 1
            if rounds > max_rounds:
                raise ReleaseError("complementary suppression did not converge; lower --length")
            known, revealed_by = propagation_attack(system, released, active)
            suppressed = ~released & ~system.cell_missing
            if level == length:
                # complements of the longest combinations feed no longer ones: they need no
                # protection of their own (a recovered complement is >= k)
                suppressed &= primary | (system.cell_level < length)
            bad = np.flatnonzero(suppressed & known)
            # the command's stage line shows the latest of these (a 1M-row table with small
            # cells runs for minutes: a trial saw nothing move for 15)
            log.info("suppression: combinations of %d values, round %d: %d withheld cells "
                     "recomputable", level, rounds, len(bad))
            chosen: set[int] = set()
            chooser = _Chooser(system, released, active, level)
            for c in bad.tolist():
                pick = _complement(system, c, int(revealed_by[c]), released, revealed_by,
                                   chosen, level, chooser)
                if pick is not None and pick not in chosen:
                    chosen.add(pick)
                    chooser.take(pick)
            if len(bad) and not chosen:
                raise ReleaseError("a suppressed cell can be recomputed and no released cell can "
                                   "protect it; lower --length")
            if not chosen:
                break
            released[np.fromiter(chosen, np.int64)] = False
    unaudited = largest = 0
    complements = _AuditComplements(system, table, length)
    while audit:
        rounds += 1
        if rounds > max_rounds:
            raise ReleaseError("complementary suppression did not converge; lower --length")
        la = linear_attack(system, released, max_audit_unknowns, targets=primary)
        unaudited, largest = la.unaudited_cells, la.largest_component
        found = np.flatnonzero(primary & la.determined)
        log.info("suppression: linear audit, round %d: %d small cells recomputable", rounds,
                 len(found))
        if len(found) == 0:
            break
        withhold = complements.choose(found, released)
        if not len(withhold):
            raise ReleaseError("the linear audit found a recomputable cell it cannot protect")
        released[withhold] = False
    secondary = ~released & ~system.cell_missing & ~primary
    secondary[0] = False
    log.info("suppression: %d primary, %d secondary cells in %d rounds",
             int(primary.sum()), int(secondary.sum()), rounds)
    return Suppression(system, k, primary, secondary, released, rounds, unaudited, largest)


__all__ = ["CellSystem", "LinearAudit", "Suppression", "build_system", "linear_attack",
           "propagation_attack", "suppress"]
