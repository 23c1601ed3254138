"""Disclosure control for every number a report publishes (one small, swappable module).

Rule (documented in ``docs/report.md``):

1. **Primary suppression.** A count cell is *small* when it may lie in ``1 .. threshold-1``:
   for an exact count ``0 < n < threshold``; for a count known within bounds (sums that include
   GLOTIP ``"<5"`` cells) ``high > 0 and low < threshold``. Zeros are published.
2. **Complementary suppression.** Each :class:`~safelight.report.model.Line` says that some
   cells add up to a published total. A line with exactly one hidden cell lets a reader
   recompute it by subtraction, so one more cell of the line is hidden: the smallest non-zero
   published member (ties: first in order), else the total. And when a line's total is
   published, its hidden members add up to the total minus the published members, and a
   reader knows each small one is at least 1 (zeros are published) and each one hidden for
   another reason at least ``threshold``: when that leaves a small member less than its full
   range ``1 .. threshold-1`` (two small cells summing to 2 are 1 and 1; a small cell beside a
   complementary one with a sum of 12 at threshold 11 is 1), one more member is hidden the
   same way, else the total. Repeat until no
   line is left in either state.
3. **Derived values.** A cell's share is hidden together with its count; a value computed from
   hidden counts (e.g. a change between two years) is hidden by the indicator that computes it.

Limits: this is the simple rule the release stage's engine will replace; it blocks recomputation
from one line but does not solve the optimal cell-suppression problem (interval attacks over
several linked tables are not checked). Swap it by replacing :func:`apply_suppression`.
"""

from __future__ import annotations

from collections.abc import Iterable

from safelight.report.model import Cell, Estimate, Indicator, Line

__all__ = ["apply_suppression", "is_small", "protect"]


def is_small(count: Estimate | None, threshold: int) -> bool:
    """Whether ``count`` may be a small cell (``1 .. threshold-1``) — see the module rule 1."""
    if count is None:
        return False
    return count.high > 0 and count.low < threshold


def apply_suppression(cells: list[Cell], lines: Iterable[Line], threshold: int) -> None:
    """Set ``cell.suppressed`` on ``cells`` in place by rules 1-3 of the module docstring."""
    by_key = {c.key_tuple(): c for c in cells}
    for c in cells:
        if c.count is not None and is_small(c.count, threshold):
            c.suppressed = "small"
    lines = [ln for ln in lines if ln.total in by_key]
    changed = True
    while changed:
        changed = False
        for ln in lines:
            members = [by_key[m] for m in ln.members if m in by_key]
            total = by_key[ln.total]
            line_cells = [*members, total]
            hidden = [c for c in line_cells if c.suppressed]
            if len(hidden) != 1 and not _hidden_sum_is_small(members, total, threshold):
                continue
            candidates = [c for c in members if not c.suppressed and c.count is not None
                          and c.count.high > 0]
            if candidates:
                pick = min(candidates, key=lambda c: c.count.mid)  # type: ignore[union-attr]
            elif not total.suppressed:
                pick = total
            else:  # the hidden cell is the total and every member is zero: nothing to recompute
                continue
            pick.suppressed = "complementary"
            changed = True


def _hidden_sum_is_small(members: list[Cell], total: Cell, threshold: int) -> bool:
    """Whether a published ``total`` narrows a small hidden member of its line below the full
    range ``1 .. threshold-1`` — see the module rule 2. The hidden members add up to at most
    ``total.high - Σ published.low``; a reader knows each small one is at least 1 (zeros are
    published) and each hidden for another reason at least ``threshold`` (it was not small),
    so a small member can be at most that sum less the others' lower bounds."""
    hidden = [c for c in members if c.suppressed]
    if (total.suppressed or total.count is None
            or not any(c.suppressed == "small" for c in hidden)):
        return False
    published_low = sum(c.count.low for c in members if not c.suppressed and c.count is not None)
    most = total.count.high - published_low
    lower = sum(1 if c.suppressed == "small" else threshold for c in hidden)
    return most - (lower - 1) < threshold - 1


def protect(indicator: Indicator, threshold: int) -> Indicator:
    """Apply the rule to an indicator's cells and lines; returns the indicator (for chaining)."""
    apply_suppression(indicator.cells, indicator.lines, threshold)
    return indicator
