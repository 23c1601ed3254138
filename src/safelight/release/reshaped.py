"""k-aggregates beside earlier releases of the same counts in tables of another shape.

The attack
----------
A hub publishes k-aggregates of its cases at length 3, and later — no case added, changed or
gone — at length 1, or of other columns. Each release alone keeps every small combination
(1..k-1 people) to at least ``min_width + 1`` possible values (:mod:`.intervals`). But an
attacker holding both knows the same counts twice: a combination in both takes the
intersection of its two intervals, and the margins of the one release constrain the cells of
the other through the equations that link them (a 1-way count of the length-1 release bounds
the 2- and 3-way cells of the length-3 one). A trial of three such releases of an unchanged
demo hub narrowed 152 small cells below the rule (one child's cell to [1, 5]). The
successive-release audit (:mod:`.successive`) does not see it: it protects the records added,
changed or gone between two releases, and here there are none.

The audit (:class:`ReshapedAudit`)
----------------------------------
The earlier interval releases of the dataset whose **true counts are the hub's counts today**
on their whole scope (the ledger keeps them; a release recorded without them, or one since
which any count of its scope changed, is left to the successive-release audit) are seen
together with the new one in one cell system: every cell of every subset of up to the longest
length over the union of their columns (:func:`~.suppression.build_system` of the hub's cases
over those columns). A cell starts at the intersection of what each release states of it —
its published interval; ``[0, k - 1]`` when the release's scope holds it and the release does
not (``[0, N]`` for a combination the release deferred, which is not under k); nothing for a
cell of no release's scope — and bounds propagation (:func:`~.intervals.propagate`) runs over
all their equations at once. Every combination of 1..k-1 people must keep ``min_width + 1``
values, as within one release (the *value* rule; the *existence* rule is not extended across
releases) — with the smallest k and width of the releases whose scope holds it: a combination
one of them published (it reached that release's k) is public, and a release at a larger k
cannot widen what an earlier one published. Exposed cells are fixed as within a release, by widening the
new release's intervals — only where the new release's interval is the one that binds; where
an earlier release's interval binds, widening the new one cannot help, and where nothing can be
widened the release is refused (:class:`~.successive.DifferencingError`): release the shape of
the earlier release, or wait for the data to change.

What it does not cover: earlier releases whose counts changed since (left to the
successive-release audit, which audits the difference, not this intersection of shapes);
row-level releases (k-synthetic data, k-anonymous microdata) beside aggregates, which carry a
warning instead (:func:`safelight.release.hub.release_warnings`); releases outside the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from safelight.release.combos import decode_keys
from safelight.release.intervals import Equations, WideningSearch, propagate
from safelight.release.successive import (
    Combination,
    DifferencingError,
    PublishedIntervals,
    _combination,
)
from safelight.release.suppression import CellSystem, build_system
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.reshaped")


def _combos(table: CategoricalTable, system: CellSystem) -> list[Combination | None]:
    """Each cell's combination (``None`` for a cell with a missing value)."""
    out: list[Combination | None] = [()] + [None] * (system.n_cells - 1)
    for si, s in enumerate(system.subsets[1:], start=1):
        a, b = system.subset_start[si], system.subset_start[si + 1]
        for i, row in enumerate(decode_keys(system.cell_key[a:b], table.radix, s)):
            if not system.cell_missing[a + i]:
                out[a + i] = _combination(table, s, row)
    return out


def _in_scope(combos: list[Combination | None], columns: Sequence[str],
              length: int) -> np.ndarray:
    """Cells a release over ``columns`` up to ``length`` states something of."""
    cols = set(columns)
    return np.array([c is not None and len(c) <= length and all(n in cols for n, _ in c)
                     for c in combos], bool)


class ReshapedAudit:
    """The new release's cells beside the earlier releases of the same counts (see the module
    docstring). ``wide``: the hub's cases over the union of the new release's columns and the
    earlier releases'; ``length``: the new release's length."""

    def __init__(self, wide: CategoricalTable, earlier: Sequence[PublishedIntervals], k: int,
                 length: int) -> None:
        self.k = k
        self.used: list[int | None] = []
        unchanged = [e for e in earlier if e.true_counts is not None]
        self.active = bool(unchanged)
        if not self.active:
            return
        self.wide = wide
        self.system = build_system(wide, min(max([length] + [e.length for e in unchanged]),
                                             wide.n_columns))
        self.eqs = Equations(self.system)
        self.combos = _combos(wide, self.system)
        count = self.system.cell_count
        n = self.system.n_cells
        self.cap = int(count[0]) * 2 + 10 * k
        self.base_lo = np.zeros(n, np.int64)
        self.base_hi = np.full(n, self.cap, np.int64)
        # per cell, the smallest k and value-rule width of the releases whose scope holds it:
        # a combination one of them published (it reached that release's k) is public, and
        # each cell is held to the weakest rule that holds it (a release at a larger k cannot
        # make an earlier one's intervals wider)
        self.min_k = np.full(n, 0, np.int64)  # 0: in no release's scope (never protected)
        self.need = np.full(n, np.iinfo(np.int64).max, np.int64)
        present = {c for c in self.combos if c is not None}
        for e in unchanged:
            scope = _in_scope(self.combos, e.columns, e.length)
            true = e.true_counts or {}
            same = all(count[c] == true.get(self.combos[c], 0)
                       for c in np.flatnonzero(scope).tolist()) and all(
                combo in present for combo, v in true.items() if v > 0)
            if not same:  # counts changed since: the successive-release audit's
                continue
            for c in np.flatnonzero(scope).tolist():
                combo = self.combos[c]
                if combo in e.cells:
                    lo, hi = e.cells[combo]
                elif combo in e.held:
                    lo, hi = 0, self.cap  # deferred, not under k
                else:
                    lo, hi = 0, e.k - 1
                self.base_lo[c] = max(self.base_lo[c], lo)
                self.base_hi[c] = min(self.base_hi[c], hi)
            self.min_k[scope] = np.where(self.min_k[scope] > 0,
                                         np.minimum(self.min_k[scope], e.k), e.k)
            self.need[scope] = np.minimum(self.need[scope], max(1, (e.k - 1) // 2))
            self.used.append(e.release_id)
        self.active = bool(self.used)
        if self.active:
            log.info("the release is audited beside %d earlier release(s) of the same counts "
                     "in other shapes (%s)", len(self.used),
                     ", ".join(f"#{r}" for r in self.used if r is not None))

    def attach(self, table: CategoricalTable, system: CellSystem, min_width: int) -> None:
        """The new release's cell system (its cells mapped onto the wide one's) and the value
        rule's width."""
        self.min_width = min_width
        if not self.active:
            return
        index = {c: i for i, c in enumerate(self.combos) if c is not None}
        own = _combos(table, system)
        self.to_wide = np.array([-1 if c is None else index.get(c, -1) for c in own], np.int64)
        self.from_wide = np.full(self.system.n_cells, -1, np.int64)
        mapped = self.to_wide >= 0
        self.from_wide[self.to_wide[mapped]] = np.flatnonzero(mapped)
        scope = _in_scope(self.combos, table.columns, max(len(s) for s in system.subsets))
        min_k = np.where(scope, np.where(self.min_k > 0, np.minimum(self.min_k, self.k),
                                         self.k), self.min_k)
        self.need_now = np.where(scope, np.minimum(self.need, min_width), self.need)
        count = self.system.cell_count
        self.protected_now = (count >= 1) & (count < min_k)

    def widenings(self, lo: np.ndarray, hi: np.ndarray,
                  released: np.ndarray) -> set[tuple[int, str]]:
        """Widenings of the new release (its attacker intervals ``lo``, ``hi``, its
        ``released`` cells, in its own cell system) that the value rule needs across the
        releases; empty when none. An extra check of :func:`~.intervals.protect`.

        :raises DifferencingError: a small combination is narrowed below the rule and no
            interval of the new release binds it.
        """
        if not self.active:
            return set()
        mapped = self.to_wide >= 0
        idx = self.to_wide[mapped]
        w_lo, w_hi = self.base_lo.copy(), self.base_hi.copy()
        w_lo[idx] = np.maximum(w_lo[idx], lo[mapped])
        w_hi[idx] = np.minimum(w_hi[idx], hi[mapped])
        b = propagate(self.eqs, w_lo, w_hi)
        bad = np.flatnonzero(self.protected_now & ((b.hi - b.lo < self.need_now)
                                                   | b.contradictions()))
        if not len(bad):
            return set()
        # the new release's interval binds where it is narrower than the earlier ones'
        can_lo = np.zeros(self.system.n_cells, bool)
        can_hi = np.zeros(self.system.n_cells, bool)
        rel = mapped & released
        can_lo[self.to_wide[rel & (lo > self.k)]] = True
        can_hi[self.to_wide[rel]] = True
        can_lo &= w_lo > self.base_lo
        can_hi &= w_hi < self.base_hi
        search = WideningSearch(self.eqs, b, can_lo, can_hi,
                                self.system.cell_count.astype(float))
        todo: set[tuple[int, str]] = set()
        stuck: list[int] = []
        for c in bad.tolist():
            t = search.target(c, "lo") if b.lo[c] >= 1 else None
            t = t or search.target(c, "hi")
            if t is None:
                stuck.append(c)
            else:
                todo.add((int(self.from_wide[t[0]]), t[1]))
        if stuck and not todo:
            shown = [self.combos[c] for c in stuck[:10]]
            ids = ", ".join(f"#{r}" for r in self.used if r is not None) or "earlier ones"
            raise DifferencingError(
                f"beside release(s) {ids} — the same counts in tables of another length or "
                f"other columns — this release would narrow {len(stuck)} combination(s) of "
                f"fewer than k people to fewer than {self.min_width + 1} possible values, and "
                "no interval of this release can be widened to prevent it. Release the length "
                "and columns of the earlier release (the same counts then give the same "
                "intervals), or wait until the data has changed",
                [c for c in shown if c is not None])
        log.info("reshaped audit: %d exposed small cells, %d widenings", len(bad), len(todo))
        return todo


__all__ = ["ReshapedAudit"]
