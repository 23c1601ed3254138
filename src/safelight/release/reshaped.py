"""k-aggregates beside earlier releases of the same cases in tables of another shape.

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
changed or gone between two releases, and here there are none; and where a few cases came
in between, the attacker still intersects, each earlier interval raised by what the total
grew (a review: 6 to 24 small cells narrowed after one case added).

The audit (:class:`ReshapedAudit`)
----------------------------------
The earlier interval releases of the dataset whose true counts the ledger kept are seen
together with the new one in one cell system: every cell of every subset of up to the longest
length over the union of their columns (:func:`~.suppression.build_system` of the hub's cases
over those columns). A cell starts at the intersection of what each release states of it —
its published interval, ``[0, k - 1]`` when the release's scope holds it and the release does
not (``[0, N]`` for a combination it deferred, which is not under k), nothing for a cell of no
release's scope — each earlier statement **shifted by the cell's exact change since** (the
ledger's true counts then against today's): the attacker is given every change outright, more
than any attacker knows (the files show how much the total grew, at most), so a hub that grew
between the releases is audited as one that did not. Bounds propagation
(:func:`~.intervals.propagate`) then runs over all their equations at once. Every combination
of 1..k-1 people must keep ``min_width + 1`` values, as within one release (the *value* rule;
the *existence* rule is not extended across releases) — with the smallest k (and its width) of
the releases audited together: once one of them published combinations of its k or more
people, a release at a larger k cannot widen what it said. A cell the earlier releases narrow **without** the new one (propagated alone, once) is not the new
release's doing — a ledger from before this audit, or the structural zeros the union's longer
combinations grant — and only narrowing beyond that is held against it. Exposed cells are fixed
as within a release, by widening the new release's intervals — only where the new release's
interval is the one that binds; where an earlier release's binds, widening the new one cannot
help, and where nothing can be widened the release is refused
(:class:`~.successive.DifferencingError`).

What it does not cover: earlier releases recorded without their true counts; row-level
releases (k-synthetic data, k-anonymous microdata) beside aggregates, which carry a warning
instead (:func:`safelight.release.hub.release_warnings`); releases outside the ledger; and the
differences themselves (the records added, changed or gone), which are
:mod:`.successive`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from safelight.release.intervals import Equations, WideningSearch, propagate
from safelight.release.successive import (
    DifferencingError,
    PublishedIntervals,
    cell_combinations,
)
from safelight.release.suppression import CellSystem, build_system
from safelight.release.table import CategoricalTable

log = logging.getLogger("safelight.release.reshaped")


def _in_scope(system: CellSystem, table: CategoricalTable, columns: Sequence[str],
              length: int) -> np.ndarray:
    """Cells of ``system`` (over ``table``'s columns) that a release over ``columns`` up to
    ``length`` states something of: those of its subsets without a missing value."""
    cols = set(columns)
    ok = np.array([len(s) <= length and all(table.columns[j] in cols for j in s)
                   for s in system.subsets], bool)
    return ok[system.cell_subset] & ~system.cell_missing


class ReshapedAudit:
    """The new release's cells beside the earlier releases of the dataset (see the module
    docstring). ``wide``: the hub's cases over the union of the new release's columns and the
    earlier releases'; ``length``: the new release's length."""

    def __init__(self, wide: CategoricalTable, earlier: Sequence[PublishedIntervals], k: int,
                 length: int) -> None:
        self.k = k
        usable = [e for e in earlier if e.true_counts is not None]
        self.used: list[int | None] = [e.release_id for e in usable]
        self.active = bool(usable)
        if not self.active:
            return
        self.wide = wide
        self.system = build_system(wide, min(max([length] + [e.length for e in usable]),
                                             wide.n_columns))
        self.eqs = Equations(self.system)
        self.combos = cell_combinations(wide, self.system)
        count = self.system.cell_count
        n = self.system.n_cells
        self.cap = int(count[0]) * 2 + 10 * k
        self.base_lo = np.zeros(n, np.int64)
        self.base_hi = np.full(n, self.cap, np.int64)
        # the releases audited together are held to the weakest rule among them: once one
        # published combinations of k_min or more people (at its grid), a later release at a
        # larger k cannot make that statement wider (a review: a k = 11 release after a
        # k = 5 one was refused for 225 cells the first had narrowed to its grid)
        self.k_min = min([k] + [e.k for e in usable])
        self.in_scope = np.zeros(n, bool)
        for e in usable:
            scope = _in_scope(self.system, wide, e.columns, e.length)
            true = e.true_counts or {}
            for c in np.flatnonzero(scope).tolist():
                combo = self.combos[c]
                if combo in e.cells:
                    lo, hi = e.cells[combo]
                elif combo in e.held:
                    lo, hi = 0, self.cap  # deferred, not under k
                else:
                    lo, hi = 0, e.k - 1
                # the attacker is given the cell's exact change since that release (stronger
                # than any attacker: the files show the total's growth at most)
                change = int(count[c]) - true.get(combo, 0)
                self.base_lo[c] = max(self.base_lo[c], lo + change, 0)
                self.base_hi[c] = min(self.base_hi[c], hi + change)
            self.in_scope |= scope
        # what the earlier releases narrow without the new one: not the new release's doing
        # (a ledger from before this audit, or structural zeros the longer table grants)
        b = propagate(self.eqs, self.base_lo, self.base_hi)
        self.width_before = b.hi - b.lo
        log.info("the release is audited beside %d earlier release(s) (%s)", len(self.used),
                 ", ".join(f"#{r}" for r in self.used if r is not None))

    def attach(self, table: CategoricalTable, system: CellSystem, min_width: int) -> None:
        """The new release's cell system (its cells mapped onto the wide one's) and the value
        rule's width."""
        if not self.active:
            return
        index = {c: i for i, c in enumerate(self.combos) if c is not None}
        own = cell_combinations(table, system)
        self.to_wide = np.array([-1 if c is None else index.get(c, -1) for c in own], np.int64)
        self.from_wide = np.full(self.system.n_cells, -1, np.int64)
        mapped = self.to_wide >= 0
        self.from_wide[self.to_wide[mapped]] = np.flatnonzero(mapped)
        scope = self.in_scope | _in_scope(self.system, self.wide, table.columns,
                                          max(len(s) for s in system.subsets))
        self.need_now = min(min_width, max(1, (self.k_min - 1) // 2))
        count = self.system.cell_count
        self.protected_now = scope & (count >= 1) & (count < self.k_min)

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
        width = b.hi - b.lo
        bad = np.flatnonzero(self.protected_now & ((width < self.need_now) | (b.lo > b.hi))
                             & (width < self.width_before))
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
                f"beside release(s) {ids} of the same cases, this release would narrow "
                f"{len(stuck)} combination(s) of fewer than {self.k_min} people below the "
                f"rule ({self.need_now + 1} possible values) further than those releases do, and "
                "no interval of this release can be widened to prevent it (an earlier "
                "release's interval binds). Release fewer columns or a shorter --length, or "
                "the length and columns of an earlier release",
                [c for c in shown if c is not None])
        log.info("reshaped audit: %d exposed small cells, %d widenings", len(bad), len(todo))
        return todo


__all__ = ["ReshapedAudit"]
