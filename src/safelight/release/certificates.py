"""Complements that provably free a determined cell (used by the suppression's linear audit).

A withheld cell ``c`` is *determined* by the released counts iff every vector ``z`` of the null
space of the marginal equations, restricted to the unknown cells, has ``z[c] = 0``. Conversely,
a vector ``z`` with ``A z = 0`` over **all** cells (the equations of :mod:`suppression`; a cell
outside the system has count 0, is known to everyone and so must carry ``z = 0``) and
``z[c] != 0`` is a *certificate*: once every released cell of its support is withheld, ``c`` is
no longer determined — whatever else is released or withheld, since withholding more only adds
unknowns. The audit's nearest-cell complements carry no such guarantee; on a 1,000,000-row
table with rare values most of them freed nothing and the audit ran for 87 rounds.

Three constructions; the cheapest vector found is used:

* **Product vectors** (the hypercube method's null vectors, with missing as a category). For a
  set ``S`` of columns with values ``a`` and alternatives ``a'``, and one value ``v_j`` for each
  other column, ``z(x) = [S ⊆ T] · Π_{j∈S} (δ_{a_j} − δ_{a'_j})(x_j) · Π_{j∈T∖S} δ_{v_j}(x_j)``
  for a cell ``x`` of column subset ``T``. Every marginal equation then holds: summing a child
  over a column of ``S`` gives ``δ_a − δ_a'`` summed, 0, as is the parent (which lacks ``S``);
  over another column, ``Σ δ_v = 1`` reproduces the parent. ``S`` is the cell's own column set
  (for the longest and next-longest combinations, where the values ``v_j`` can be chosen one
  column at a time), or, for a longest combination, the set without one column whose value is
  then forced to the cell's. All ``2^|S|`` corners and their extensions must have positive
  counts; a cell with a missing value is unknown already and costs nothing.
* **Row pairs**: two rows of the table that differ in one column ``j`` of the cell only; ``z``
  is +1 on the first row's combinations that contain ``j`` and -1 on the second's (the margins
  of the difference of two records). Every such cell has a positive count, being a row's; for
  a rare value most of them are small cells, withheld already.
* **A linear programme**, when neither applies, over a neighbourhood of the cell (the cells of
  the column subsets that contain the cell's columns, or all but one of them, with those
  columns restricted to values that occur next to the cell): minimise the withholding cost of
  the support of ``z`` (a small weight for cells unknown already) subject to every equation
  touching the neighbourhood and ``z[c] = 1``; cells outside it carry 0. The solution is checked
  against the equations before it is used.

Cells tied to ``c`` by an equation with only two members (a parent with one child) must carry
the same value of ``z``; each of them is tried as the anchor of the first two constructions.
A cell's withholding cost is its level's weight — the number of longest combinations over the
number of its own level's, so a 1-way count costs as much as the 3-way ones it is outnumbered
by in the evaluation — plus a tie-break on its count.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from safelight.release.combos import decode_keys, multipliers

if TYPE_CHECKING:
    from safelight.release.suppression import CellSystem

_MAX_COMBOS = 5000  # alternatives tried per product construction, and first rows per row pair
_MAX_ELEMENTS = 2_000_000  # cells looked up at once by a product construction's extensions
_MAX_LP_CELLS = 20_000  # the programme's neighbourhood
_MAX_TIED = 50


class CellLookup:
    """Cells of a :class:`~safelight.release.suppression.CellSystem` by their values, and the
    table's rows (``codes``) for the row-pair construction."""

    def __init__(self, system: CellSystem, radix: np.ndarray, codes: np.ndarray) -> None:
        self.system = system
        self.radix = radix
        self.codes = codes
        self._subset_index = {s: i for i, s in enumerate(system.subsets)}
        # what withholding a cell costs: shorter combinations are fewer, and each weighs that
        # much more in their level's error (a 1-way count of 250 against thousands of
        # 3-way ones); the count breaks ties (smaller counts carry less)
        per_level = np.bincount(system.cell_level[~system.cell_missing],
                                minlength=int(system.cell_level.max()) + 1)
        level_weight = per_level[per_level > 0][-1] / np.maximum(per_level, 1) \
            if per_level.any() else np.ones(len(per_level))
        self.cost = level_weight[system.cell_level] + 1e-9 * system.cell_count
        self._rows_without: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._rows_by: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def rows_with(self, cols: tuple[int, ...], values: np.ndarray) -> np.ndarray:
        """Rows carrying ``values`` on ``cols`` (found through the rarest of the values)."""
        spans = []
        for col, v in zip(cols, values.tolist(), strict=True):
            if col not in self._rows_by:
                order = np.argsort(self.codes[:, col], kind="stable").astype(np.int32)
                self._rows_by[col] = (self.codes[order, col], order)
            sorted_codes, order = self._rows_by[col]
            spans.append((np.searchsorted(sorted_codes, v, side="right")
                          - np.searchsorted(sorted_codes, v), col, v))
        _, col, v = min(spans)
        sorted_codes, order = self._rows_by[col]
        rows = np.sort(order[np.searchsorted(sorted_codes, v):
                             np.searchsorted(sorted_codes, v, side="right")])
        return rows[np.all(self.codes[np.ix_(rows, list(cols))] == values, axis=1)]

    def rows_agreeing(self, row: int, col: int) -> np.ndarray:
        """Rows equal to ``row`` on every column but ``col``. Rows are grouped by a hash of
        their other values (wrapping 64-bit arithmetic: a wide table's exact mixed-radix key
        would overflow); the hash's matches are then compared value by value."""
        others = [j for j in range(self.codes.shape[1]) if j != col]
        mult = np.random.default_rng(col).integers(1, 2**62, len(others)) | 1
        if col not in self._rows_without:
            keys = np.zeros(len(self.codes), np.int64)
            for j, m in zip(others, mult.tolist(), strict=True):  # no rows × columns copy
                keys += self.codes[:, j].astype(np.int64) * m
            order = np.argsort(keys, kind="stable").astype(np.int32)
            self._rows_without[col] = (keys[order], order)
        keys, order = self._rows_without[col]
        key = self.codes[row, others].astype(np.int64) @ mult
        rows = order[np.searchsorted(keys, key):np.searchsorted(keys, key, side="right")]
        return rows[np.all(self.codes[np.ix_(rows, others)] == self.codes[row, others], axis=1)]

    def values(self, cell: int) -> tuple[tuple[int, ...], np.ndarray]:
        """The cell's column subset and its codes on those columns."""
        sy = self.system
        subset = sy.subsets[int(sy.cell_subset[cell])]
        return subset, decode_keys(sy.cell_key[cell:cell + 1], self.radix, subset)[0].astype(
            np.int64)

    def find(self, subset: tuple[int, ...], codes: np.ndarray) -> np.ndarray:
        """Cell ids of ``codes`` (rows over the sorted ``subset``); -1 where the count is 0."""
        sy = self.system
        si = self._subset_index[subset]
        lo, hi = int(sy.subset_start[si]), int(sy.subset_start[si + 1])
        keys = np.asarray(codes, np.int64).reshape(-1, len(subset)) @ multipliers(self.radix,
                                                                                   subset)
        seg = sy.cell_key[lo:hi]
        pos = np.minimum(np.searchsorted(seg, keys), len(seg) - 1)
        return np.where(seg[pos] == keys, lo + pos, -1)

    def siblings(self, subset: tuple[int, ...], codes: np.ndarray, pos: int) -> np.ndarray:
        """Values of column ``subset[pos]`` that occur with the other values of ``codes``."""
        col = subset[pos]
        rows = np.repeat(codes[None, :], int(self.radix[col]), axis=0)
        rows[:, pos] = np.arange(int(self.radix[col]))
        return np.flatnonzero(self.find(subset, rows) >= 0)


def certificate(lookup: CellLookup, cell: int, released: np.ndarray,
                length: int) -> np.ndarray | None:
    """Released cells whose withholding provably leaves ``cell`` undetermined, the cheapest
    found (module docstring: level-weighted); empty if the cells already withheld do it;
    ``None`` if no construction applies."""
    best: np.ndarray | None = None
    best_cost = None
    for anchor in tied_cells(lookup.system, cell):
        found = [_product(lookup, anchor, released, length, None)]
        if lookup.system.cell_level[anchor] == length and length >= 2:
            found += [_product(lookup, anchor, released, length, drop)
                      for drop in range(length)]
        if best_cost is None or best_cost > 2.5:  # more than two longest combinations
            found += _row_pairs(lookup, anchor, released)
        for support in found:
            if support is None:
                continue
            cost = _cost(lookup, support[released[support]])
            if best_cost is None or cost < best_cost:
                best, best_cost = support[released[support]], cost
        if best_cost is not None and best_cost < 1.5:
            break  # one longest combination: no construction withholds less
    if best is None:
        support = _programme(lookup, cell, released)
        if support is not None:
            return support[released[support]]
    return best


def tied_cells(system: CellSystem, cell: int) -> list[int]:
    """``cell`` and the cells forced equal to it by equations with two members, shortest
    first (the total excluded)."""
    size = np.diff(system.eq_ptr)
    seen = {cell}
    todo = [cell]
    while todo and len(seen) < _MAX_TIED:
        x = todo.pop()
        for e in system.equations_of(x).tolist():
            if size[e] == 2:
                for m in system.members(e).tolist():
                    if m != 0 and m not in seen:
                        seen.add(m)
                        todo.append(m)
    return sorted(seen, key=lambda m: (int(system.cell_level[m]), m))


def _cost(lookup: CellLookup, cells: np.ndarray) -> float:
    return float(lookup.cost[cells].sum())


def _costs(lookup: CellLookup, ids: np.ndarray, released: np.ndarray) -> np.ndarray:
    """Cost of withholding the released cells of each row of ids (last axis; -1 = absent)."""
    safe = np.maximum(ids, 0)
    return np.where(released[safe] & (ids >= 0), lookup.cost[safe], 0.0).sum(axis=-1)


def _product(lookup: CellLookup, cell: int, released: np.ndarray, length: int,
             drop: int | None) -> np.ndarray | None:
    """Support of the cheapest product vector through ``cell`` (module docstring); with
    ``drop``, that column is left out of ``S`` and forced to the cell's value."""
    radix = lookup.radix
    cols, a = lookup.values(cell)
    forced: dict[int, int] = {}
    if drop is not None:
        forced = {cols[drop]: int(a[drop])}
        cols, a = cols[:drop] + cols[drop + 1:], np.delete(a, drop)
    s = len(cols)
    if s == 0 or s < length - 1:
        return None  # the extensions' values would have to be chosen jointly
    alternatives = []
    for pos in range(s):
        alt = lookup.siblings(cols, a, pos)
        alt = alt[alt != a[pos]]
        if not len(alt):
            return None
        # cheapest siblings first: past _MAX_COMBOS the product below stops early
        rows = np.repeat(a[None, :], len(alt), axis=0)
        rows[:, pos] = alt
        alternatives.append(alt[np.argsort(_costs(lookup, lookup.find(cols, rows)[:, None],
                                                  released), kind="stable")])
    combos = np.array(list(itertools.islice(itertools.product(*alternatives), _MAX_COMBOS)),
                      np.int64)
    pattern = np.array(list(itertools.product((False, True), repeat=s)))
    corners = np.where(pattern[None], combos[:, None, :], a[None, None, :])  # (n, 2^s, s)
    base = lookup.find(cols, corners.reshape(-1, s)).reshape(len(combos), -1)
    ok = (base >= 0).all(axis=1)
    corners, base = corners[ok], base[ok]
    if not len(base):
        return None
    total = _costs(lookup, base, released)
    if s == length - 1:
        others = [c for c in range(len(radix)) if c not in cols]
        widest = max(1 if c in forced else int(radix[c]) for c in others)
        step = max(1, _MAX_ELEMENTS // (len(pattern) * widest * (s + 1)))
        best: tuple[float, np.ndarray] | None = None
        for lo in range(0, len(base), step):
            found = _extended(lookup, cols, corners[lo:lo + step], others, forced, released)
            if found is None:
                continue
            extra_cost, extra, at = found
            j = int(np.argmin(total[lo:lo + step][at] + extra_cost))
            cost = float(total[lo + at[j]] + extra_cost[j])
            if best is None or cost < best[0]:
                best = (cost, np.concatenate([base[lo + at[j]], extra[j]]))
        return None if best is None else np.unique(best[1])
    return np.unique(base[int(np.argmin(total))])


def _extended(lookup: CellLookup, cols: tuple[int, ...], corners: np.ndarray,
              others: list[int], forced: dict[int, int], released: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """For product vectors whose ``corners`` (n, 2^s, s) exist: one value per other column,
    the cheapest whose extended corners all exist. Returns the extensions' cost, cells
    (n', 2^s · len(others)) and the indices of the corners that have a value in every column;
    ``None`` if none has."""
    s = len(cols)
    n = np.arange(len(corners))
    ok = np.ones(len(corners), bool)
    total = np.zeros(len(corners))
    cells = []
    for col in others:
        sub = tuple(sorted((*cols, col)))
        at = sub.index(col)
        vals = np.array([forced[col]]) if col in forced else np.arange(int(lookup.radix[col]))
        rows = np.empty((len(corners), corners.shape[1], len(vals), s + 1), np.int64)
        rows[..., [j for j in range(s + 1) if j != at]] = corners[:, :, None, :]
        rows[..., at] = vals
        ids = lookup.find(sub, rows.reshape(-1, s + 1)).reshape(
            len(corners), corners.shape[1], len(vals))
        exists = (ids >= 0).all(axis=1)  # (n, values)
        cost = np.where(exists, _costs(lookup, ids.transpose(0, 2, 1), released), np.inf)
        pick = cost.argmin(axis=1)
        ok &= exists.any(axis=1)
        total += np.where(ok, cost[n, pick], 0.0)
        cells.append(ids[n, :, pick])
    if not ok.any():
        return None
    at = np.flatnonzero(ok)
    return total[at], np.concatenate(cells, axis=1)[at], at


def _row_pairs(lookup: CellLookup, cell: int, released: np.ndarray) -> list[np.ndarray]:
    """Supports of row-pair vectors through ``cell``: two rows of the table that differ in one
    column ``j`` of the cell only; ``z`` is +1 on the first row's combinations that contain
    ``j`` and -1 on the second's (a parent without ``j`` sees both, summing to 0; a parent
    with ``j`` sees one child of its own row). Every such cell has a positive count, being a
    row's. One support per column of the cell, the cheapest second row (at most
    ``_MAX_COMBOS`` first rows)."""
    sy, codes = lookup.system, lookup.codes
    cols, a = lookup.values(cell)
    firsts = lookup.rows_with(cols, a)
    _, keep = np.unique(codes[firsts], axis=0, return_index=True)  # one row per pattern
    firsts = firsts[np.sort(keep)][:_MAX_COMBOS]
    out = []
    for col in cols:
        pairs = []
        for r1 in firsts.tolist():
            mates = lookup.rows_agreeing(r1, col)
            values, first_of = np.unique(codes[mates, col], return_index=True)
            pairs += [(r1, r2) for r2 in mates[first_of[values != codes[r1, col]]].tolist()]
        if not pairs:
            continue
        r1s, r2s = np.array(pairs).T
        ids = np.concatenate(
            [np.stack([lookup.find(s, codes[r1s][:, list(s)]),
                       lookup.find(s, codes[r2s][:, list(s)])], axis=1)
             for s in sy.subsets if col in s], axis=1)
        out.append(np.unique(ids[int(np.argmin(_costs(lookup, ids, released)))]))
    return out


def _programme(lookup: CellLookup, cell: int, released: np.ndarray) -> np.ndarray | None:
    """Support of a null vector with ``z[cell] = 1`` found by linear programming over a
    neighbourhood (module docstring), or ``None``."""
    from scipy import sparse
    from scipy.optimize import linprog

    sy, radix = lookup.system, lookup.radix
    cols, a = lookup.values(cell)
    bases = [(cols, a)]
    if len(cols) >= 2:
        bases += [(cols[:i] + cols[i + 1:], np.delete(a, i)) for i in range(len(cols))]
    parts = []
    for base_cols, base_vals in bases:
        allowed = []
        for pos, col in enumerate(base_cols):
            ok = np.zeros(int(radix[col]), bool)
            ok[lookup.siblings(base_cols, base_vals, pos)] = True
            allowed.append(ok)
        for si, sub in enumerate(sy.subsets):
            if not set(base_cols) <= set(sub):
                continue
            lo, hi = int(sy.subset_start[si]), int(sy.subset_start[si + 1])
            codes = decode_keys(sy.cell_key[lo:hi], radix, sub)
            keep = np.ones(hi - lo, bool)
            for pos, col in enumerate(base_cols):
                keep &= allowed[pos][codes[:, sub.index(col)]]
            parts.append(np.arange(lo, hi)[keep])
    q = np.unique(np.concatenate(parts))
    if len(q) > _MAX_LP_CELLS:
        return None
    local = np.full(sy.n_cells, -1, np.int64)
    local[q] = np.arange(len(q))
    in_q = local[sy.member_cell] >= 0
    eqs = np.unique(sy.member_eq[in_q])
    sel = in_q & np.isin(sy.member_eq, eqs)
    a_q = sparse.csr_matrix((sy.member_coef[sel], (np.searchsorted(eqs, sy.member_eq[sel]),
                                                   local[sy.member_cell[sel]])),
                            shape=(len(eqs), len(q)))
    unit = sparse.csr_matrix(([1.0], ([0], [local[cell]])), shape=(1, len(q)))
    # z = p - n with p, n >= 0: withheld or missing cells cost almost nothing, a released one
    # its withholding cost
    w = np.where(released[q], lookup.cost[q], 1e-3)
    a_eq = sparse.vstack([sparse.hstack([a_q, -a_q]), sparse.hstack([unit, -unit])]).tocsr()
    b_eq = np.zeros(a_eq.shape[0])
    b_eq[-1] = 1.0
    res = linprog(np.concatenate([w, w]), A_eq=a_eq, b_eq=b_eq, bounds=(0, None),
                  method="highs")
    if res.status != 0:
        return None
    z = res.x[:len(q)] - res.x[len(q):]
    z[np.abs(z) < 1e-9] = 0.0
    if np.abs(a_q @ z).max(initial=0.0) > 1e-7 or abs(z[local[cell]] - 1.0) > 1e-7:
        return None
    return q[z != 0]


__all__ = ["CellLookup", "certificate", "tied_cells"]
