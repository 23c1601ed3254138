"""Successive releases of a growing table: the differencing audit against the ledger.

The attack
----------
A hub publishes k-aggregates of its cases, then again a few weeks (or rows) later. An attacker
holding both subtracts them: for a combination ``C`` with interval ``[lo1, hi1]`` in the earlier
release and ``[lo2, hi2]`` in the new one, the people added in between who hold ``C`` number
``D = n2 - n1`` in ``[lo2 - hi1, hi2 - lo1]`` (an absent combination counts as ``[0, k - 1]``;
the table only grows, so ``D >= 0``). The differences are margins of one table too (the table
of added rows), so the attacker chains them by bounds propagation, exactly as within one
release (:func:`safelight.release.intervals.propagate`). If ``D``'s lower bound reaches 1 while
fewer than ``k`` added people may hold ``C``, the pair of releases states that a small group of
newcomers holds ``C`` — e.g. "the 3 people added this week include one from country X".

The audit (:class:`DifferenceAudit`)
------------------------------------
Against every earlier release of the same dataset recorded in the ledger
(:class:`PublishedIntervals`, stored with the release by
:meth:`safelight.release.ledger.Ledger.record_aggregates`):

* a combination hidden by an earlier release (under k there) that now has ``>= k`` people can
  never be published without ``D >= 1`` (its new low end is ``>= k``), unless at least ``k``
  newcomers certainly hold it. It is **deferred** — withheld from this release, the high end
  of its count's grid interval kept in the ledger (never in the file) — until it has grown by
  ``k``; or the release is refused (``on_difference="refuse"``);
* every other exposure is removed by widening the new release's intervals (the same widening
  as within a release) until no difference bound shows a small group of newcomers; if some
  stay exposed when no widening reaches them (or after 24 rounds), the release is refused
  with :class:`DifferencingError` (wait for more records, or use a coarser grid).

"Fewer than k newcomers hold C" is decided **exactly** when the ledger kept the earlier
release's true counts (:attr:`PublishedIntervals.true_counts`, recorded by
:func:`published_intervals` since this version — hub-internal, as sensitive as the data, never
shown): the newcomers holding ``C`` are ``n2 - n1`` with both counts true. Only combinations
whose newcomer count is ``1..k-1`` are protected; a combination that ``>= k`` newcomers hold may
be shown to have gained people (that statement describes ``>= k`` people, like any published
count). For an earlier release recorded without true counts (an older ledger entry) the
decision falls back to the bound: the earlier count is at most the earlier interval's high end
(or the held count of a deferred combination), so ``n2 - that`` is a floor for the newcomers —
safe but conservative (on ``bench_ctdc10.csv`` prefixes it refused a release 100 rows on).

The guarantee, exactly: for every earlier release ``E`` of the dataset in the ledger, and
every combination ``C`` of the new release's scope whose true newcomer count ``n2(C) - n1(C)``
is in ``1..k-1``, the attacker's bounds on ``n2(C) - n1(C)`` — from the two files, the public
rule, the margins of the added rows chained to a fixpoint — keep 0 possible, and are not
contradictory.

Records that change
-------------------
A record whose released value changes (a correction, a new status) leaves one combination and
joins another, so the table does not only grow. Where the ledger kept the earlier true counts
and some combination has fewer people than then (:func:`_lost_records`), the audit against that
release is *signed* (:meth:`DifferenceAudit._signed`): the attacker's bounds on each
combination's change, ``[lo2 - hi1, hi2 - lo1]`` without the floor at 0, chained through the
margins, must keep 0 possible wherever the true change is 1..k-1 either way — "the records
that left C since the last release number fewer than k" is protected as newcomers are. A
combination shown before that now has fewer than k people after losing 1..k-1 is shown to have
fallen by its absence alone (an absent combination holds fewer than k, and the release says how
many it withheld or deferred): no widening hides that, so the release is refused unless the
operator accepts the risk (``accept_falls``; ``release hub --accept-falls``). Where the
earlier true counts were not kept (older ledger entries) the growth model is applied as before.

What it does not guarantee: the attacker model is the one of :mod:`safelight.release.intervals`
(bounds propagation, not linear or integer programming), applied to each earlier release in
turn (not to three releases at once); the same counts published in tables of another shape
are :mod:`safelight.release.reshaped`'s (here nothing changed, so nothing is checked);
releases made outside the ledger are not covered; and
the records that leave *all* combinations (withdrawn consent) are not audited here: a total
that fell tells that persons left, so releases from a hub are refused after any removal
(:func:`safelight.release.hub.check_no_records_left`) unless the operator accepts the risk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from safelight.errors import RefusedError
from safelight.release.combos import CombinationCounts, Subset, decode_keys
from safelight.release.errors import ReleaseError
from safelight.release.intervals import (
    Bounds,
    Equations,
    WideningSearch,
    grid_interval,
    propagate,
)
from safelight.release.suppression import CellSystem
from safelight.release.table import CategoricalTable

if TYPE_CHECKING:
    from safelight.release.aggregates import AggregateRelease

log = logging.getLogger("safelight.release.successive")

Combination = tuple[tuple[str, str], ...]
"""A combination by column names and values, sorted by column name (``()`` = the total)."""


class DifferencingError(ReleaseError, RefusedError):
    """A release would expose a small group of added records by differencing an earlier one.

    ``combinations`` are the combinations concerned, ``newcomers`` how many of the added
    records hold each (exact where the ledger kept the earlier true counts, else ``None``;
    where records changed values, the net change of each: negative for records lost),
    ``earlier_release`` the ledger id of the earlier release (or its 1-based position). The
    message says what the operator can do. Hub-internal, like the ledger's true counts."""

    exit_code = RefusedError.exit_code  # the rule at work: refused by policy

    def __init__(self, message: str, combinations: Sequence[Combination] = (),
                 newcomers: Sequence[int | None] = (),
                 earlier_release: int | None = None) -> None:
        super().__init__(message)
        self.combinations = list(combinations)
        self.newcomers = list(newcomers)
        self.earlier_release = earlier_release


@dataclass
class PublishedIntervals:
    """What one k-aggregates release showed: each released combination's interval, its k,
    length and columns; and (``held``, hub-internal) for each combination it deferred, the high
    end of the grid interval of its count (an upper bound, coarsened like a published count)."""

    k: int
    length: int
    columns: tuple[str, ...]
    cells: dict[Combination, tuple[int, int]]
    held: dict[Combination, int] = field(default_factory=dict)
    release_id: int | None = None
    true_counts: dict[Combination, int] | None = None
    """Hub-internal: the true count of every combination of the release's scope with at least
    one person (absent = 0; ``()`` = the row count) at the time of the release; ``None`` for
    ledger entries recorded before these were kept."""

    def to_json(self) -> str:
        d: dict[str, Any] = {
            "k": self.k, "length": self.length, "columns": list(self.columns),
            "cells": [[[list(p) for p in c], lo, hi] for c, (lo, hi) in self.cells.items()],
            "held": [[[list(p) for p in c], n] for c, n in self.held.items()]}
        if self.true_counts is not None:
            d["true"] = [[[list(p) for p in c], n] for c, n in self.true_counts.items()]
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | dict[str, Any], release_id: int | None = None,
                  ) -> PublishedIntervals:
        d = json.loads(text) if isinstance(text, str) else text
        true = d.get("true")
        return cls(int(d["k"]), int(d["length"]), tuple(d["columns"]),
                   {tuple(tuple(p) for p in c): (int(lo), int(hi)) for c, lo, hi in d["cells"]},
                   {tuple(tuple(p) for p in c): int(n) for c, n in d.get("held", [])},
                   release_id,
                   None if true is None else {tuple(tuple(p) for p in c): int(n)
                                              for c, n in true})

    def public(self) -> PublishedIntervals:
        """What the release file states: the intervals only (no held bounds, no true counts)."""
        return PublishedIntervals(self.k, self.length, self.columns, dict(self.cells),
                                  release_id=self.release_id)


def _combination(table: CategoricalTable, subset: Subset, codes: np.ndarray) -> Combination:
    return tuple(sorted((table.columns[j], table.values[j][int(c) - 1])
                        for j, c in zip(subset, codes, strict=True)))


def cell_combinations(table: CategoricalTable, system: CellSystem
                      ) -> list[Combination | None]:
    """Each cell's combination of ``system`` (over ``table``), the key the ledger's intervals
    and true counts use; ``None`` for a cell with a missing value."""
    out: list[Combination | None] = [()] + [None] * (system.n_cells - 1)
    for si, s in enumerate(system.subsets[1:], start=1):
        a, b = system.subset_start[si], system.subset_start[si + 1]
        for i, row in enumerate(decode_keys(system.cell_key[a:b], table.radix, s)):
            if not system.cell_missing[a + i]:
                out[a + i] = _combination(table, s, row)
    return out


def published_intervals(release: AggregateRelease) -> PublishedIntervals:
    """The ledger's record of an interval release (see :class:`PublishedIntervals`)."""
    if release.intervals is None:
        raise ReleaseError("only interval k-aggregates can be recorded for the successive-"
                           "release audit (method 'intervals')")
    t = release.table
    cells: dict[Combination, tuple[int, int]] = {}
    if release.total_interval is not None:
        cells[()] = release.total_interval
    for s, (lo, hi) in release.intervals.items():
        keys = release.counts.tables[s][0]
        for codes, a, b in zip(decode_keys(keys, t.radix, s), lo.tolist(), hi.tolist(),
                               strict=True):
            cells[_combination(t, s, codes)] = (a, b)
    held: dict[Combination, int] = {}
    for s, (keys, counts) in (release.held or {}).items():
        _, top = grid_interval(counts, release.k, release.rounding_base)
        for codes, n in zip(decode_keys(keys, t.radix, s), top.tolist(), strict=True):
            held[_combination(t, s, codes)] = int(n)
    true: dict[Combination, int] = {(): int(t.n_rows)}
    for s, (keys, counts) in CombinationCounts.of(t, release.length).tables.items():
        for codes, n in zip(decode_keys(keys, t.radix, s), counts.tolist(), strict=True):
            true[_combination(t, s, codes)] = int(n)
    return PublishedIntervals(release.k, release.length, tuple(t.columns), cells, held,
                              true_counts=true)


class DifferenceAudit:
    """The new release's cells seen through each earlier release (see the module docstring)."""

    def __init__(self, table: CategoricalTable, system: CellSystem, eqs: Equations, k: int,
                 base: int, earlier: Sequence[PublishedIntervals],
                 on_difference: str = "adjust", accept_falls: bool = False) -> None:
        if on_difference not in ("adjust", "refuse"):
            raise ReleaseError(f"on_difference must be 'adjust' or 'refuse' "
                               f"(got {on_difference!r})")
        self.system, self.eqs, self.k, self.base = system, eqs, k, base
        self.on_difference = on_difference
        self.accept_falls = accept_falls  # see _signed
        n = system.n_cells
        cap = int(system.cell_count[0]) * 2 + 10 * k
        combos = cell_combinations(table, system)
        self.count = system.cell_count
        self.combos = combos
        self.before: list[np.ndarray] = []  # per earlier release: true counts then (-1: unknown)
        # per earlier release: some combination lost records since (a value changed, a record
        # left), so the table did not only grow and differences are signed (:meth:`_signed`)
        self.changed: list[bool] = []
        self.old: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.exact = 0  # earlier releases whose true counts the ledger kept
        for e in earlier:
            lo = np.zeros(n, np.int64)
            hi = np.full(n, cap, np.int64)
            hidden = np.zeros(n, bool)  # in e's scope and absent from it
            upper = np.full(n, cap, np.int64)  # the earlier true count is at most this
            before = np.full(n, -1, np.int64)  # the earlier true count (-1: not known)
            cols = set(e.columns)
            for c, combo in enumerate(combos):
                if combo is None or len(combo) > e.length or any(
                        name not in cols for name, _ in combo):
                    continue
                if combo in e.cells:
                    lo[c], hi[c] = e.cells[combo]
                else:
                    hi[c] = e.k - 1
                    hidden[c] = combo != ()
                upper[c] = e.held.get(combo, hi[c])
                if e.true_counts is not None:
                    before[c] = e.true_counts.get(combo, 0)
            self.exact += e.true_counts is not None
            self.before.append(before)
            self.changed.append(e.true_counts is not None and _lost_records(
                e.true_counts, before, self.count, set(combos), table.columns,
                min(e.length, max(len(x) for x in system.subsets))))
            # at least k newcomers hold the combination: exactly where the true earlier count
            # is known, else from its upper bound (conservative)
            certain = np.where(before >= 0, self.count - before, self.count - upper) >= k
            self.old.append((lo, hi, hidden, certain))
        if any(self.changed):
            log.info("records changed a released value or left since %d earlier release(s): "
                     "their differences are audited signed", sum(self.changed))
        self.rounds = 0
        self.seen: dict[int, int] = {}
        self.patience = 12
        self.stuck: list[int] = []
        self.ids = [e.release_id for e in earlier]
        self.released = ~system.cell_missing & (self.count >= k)

    def crossed(self) -> np.ndarray:
        """Combinations with ``>= k`` people now that an earlier release hid and that fewer
        than k newcomers may hold: to be deferred (or, with ``refuse``, the release refused)."""
        out = np.zeros(self.system.n_cells, bool)
        now = ~self.system.cell_missing & (self.count >= self.k)
        for i, (_, _, hidden, certain) in enumerate(self.old):
            crossing = now & hidden & ~certain
            crossing[0] = False
            if crossing.any() and self.on_difference == "refuse":
                raise self._refusal(
                    np.flatnonzero(crossing), i,
                    "were hidden by that release and now reach k: publishing them would show "
                    "that a small group of the added records holds them",
                    "release with on_difference='adjust' (they are then deferred)")
            out |= crossing
        return out

    def _refusal(self, cells: np.ndarray, i: int, why: str, also: str, *,
                 fell: bool = False, moved: bool = False) -> DifferencingError:
        """The refusal for ``cells`` exposed against earlier release ``i``: what is exposed,
        that the rule requires the refusal, and what the operator can do. ``fell``: the cells
        lost records since (:meth:`_signed`; their ``newcomers`` are then negative: minus the
        records lost); ``moved``: they gained records in a table whose records also changed
        values (the gain is net, not only added records)."""
        ref = f"#{self.ids[i]}" if self.ids[i] is not None else str(i + 1)
        combos = [c for c in (self.combos[x] for x in cells.tolist()) if c is not None]
        known = self.before[i][cells] >= 0
        if fell:
            lost = sorted({int(x) for x in (self.before[i][cells] - self.count[cells]).tolist()})
            return DifferencingError(
                f"{len(combos)} combination{'s' if len(combos) > 1 else ''} lost exactly "
                f"{' or '.join(map(str, lost))} of {'their' if len(combos) > 1 else 'its'} "
                f"records since earlier release {ref} (records that changed a released value "
                f"or left) — fewer than k = {self.k}, so the rule protects them — and {why}. "
                "Refused: nothing is published (the rule at work, not a fault). The operator "
                f"can {also}. The audit checks any new release again.",
                combos, [int(x) for x in (self.count[cells] - self.before[i][cells]).tolist()],
                self.ids[i] if self.ids[i] is not None else i + 1)
        d = np.where(known, self.count[cells] - self.before[i][cells], -1)
        newcomers = [int(x) if x >= 0 else None for x in d.tolist()]
        exact = sorted({x for x in newcomers if x is not None})
        held = ("exactly " + " or ".join(map(str, exact)) if exact and known.all()
                else f"fewer than {self.k}")
        if moved:
            return DifferencingError(
                f"{len(combos)} combination{'s' if len(combos) > 1 else ''} gained {held} "
                f"record{'s' if exact != [1] else ''} since earlier release {ref} (records "
                f"added, or that changed a released value) — fewer than k = {self.k}, so the "
                f"rule protects them — and {why}. Refused: nothing is published (the rule at "
                f"work, not a fault). The operator can {also}. The audit checks any new "
                "release again.", combos, newcomers,
                self.ids[i] if self.ids[i] is not None else i + 1)
        options = ["wait until more records are added: a combination may be shown to have "
                   f"gained people once {self.k} or more of the added records hold it"
                   + (f" ({self.k - exact[0]} more for each of these)" if len(exact) == 1
                      else f" ({self.k - exact[-1]} to {self.k - exact[0]} more for each of "
                      "these)" if exact else "")]
        options.append(also)
        return DifferencingError(
            f"{len(combos)} combination{'s are each' if len(combos) > 1 else ' is'} held by "
            f"{held} of the records added since "
            f"earlier release {ref} — fewer than k = {self.k}, so the rule protects them — and "
            f"{why}. Refused: nothing is published (the rule at work, not a fault). The "
            "operator can "
            + "; or ".join(options) + ". The audit checks any new release again.",
            combos, newcomers, self.ids[i] if self.ids[i] is not None else i + 1)

    def bind(self, released: np.ndarray) -> None:
        """The cells the new release publishes (after deferral); only those are widened."""
        self.released = released

    def widenings(self, lo: np.ndarray, hi: np.ndarray,
                  released: np.ndarray | None = None) -> set[tuple[int, str]]:
        """Widenings of the new release (attacker intervals ``lo``, ``hi``; ``released``
        cells) needed so that no difference against an earlier release shows a small group of
        added records (empty when none is)."""
        self.rounds += 1
        released = self.released if released is None else released
        todo: set[tuple[int, str]] = set()
        weight = self.count.astype(float)
        exposed_total = 0
        for i, (o_lo, o_hi, hidden, certain) in enumerate(self.old):
            if self.changed[i]:
                more, n_exposed = self._signed(i, lo, hi, released, weight, todo)
                todo |= more
                exposed_total += n_exposed
                continue
            d_lo = np.maximum(lo - o_hi, 0)
            d_hi = np.maximum(hi - o_lo, 0)
            # the attacker knows the table grew: a cell published before and absent now was
            # withheld, not emptied; and no cell gained more records than the table did
            gone = ~released & ~self.system.cell_missing & ~hidden & (o_lo > 0)
            gone[0] = False
            d_lo[gone] = 0
            d_hi[gone] = d_hi[0]
            d_hi = np.minimum(d_hi, d_hi[0])
            b = propagate(self.eqs, d_lo, d_hi)
            bad = ~self.system.cell_missing & ((b.lo >= 1) | (b.lo > b.hi)) \
                & ~certain & (self.count > 0)
            bad[0] = False
            idx = np.flatnonzero(bad)
            exposed_total += len(idx)
            if len(idx) and self.on_difference == "refuse":
                raise self._refusal(idx, i, "differencing the two releases would show that "
                                    "some of the added records hold them",
                                    "release with on_difference='adjust' (intervals are "
                                    "then widened)")
            can_lo = released & (lo > self.k) & (lo - o_hi > 0)
            todo |= self._targets(idx, "lo", b, can_lo, released, weight, i, todo)
        if exposed_total:
            log.info("successive audit round %d: %d exposed differences, %d widenings",
                     self.rounds, exposed_total, len(todo))
        return todo


    def _signed(self, i: int, lo: np.ndarray, hi: np.ndarray, released: np.ndarray,
                weight: np.ndarray, todo: set[tuple[int, str]]
                ) -> tuple[set[tuple[int, str]], int]:
        """The audit against earlier release ``i`` when records changed a released value (a
        correction, a new status) or left since, so the table did not only grow: widenings
        that keep every combination whose count rose *or fell* by 1..k-1 from showing it, and
        the number of such combinations exposed; ``todo``: the widenings this round has found
        already (against other earlier releases).

        The differences are signed: the attacker's bounds ``[lo2 - hi1, hi2 - lo1]`` on each
        combination's change, chained through the margins (:func:`propagate`), must keep 0
        possible where the true change (the ledger's earlier true count against today's) is
        1..k-1 either way. The attacker's view of the new release is the usual one (an absent
        combination ``[0, k - 1]``, a withheld one ``[k, …]``), so a combination that release
        ``i`` showed and that now has fewer than k people after losing 1..k-1 is shown to have
        fallen by its absence alone, which no widening hides: the release is refused
        (:class:`DifferencingError`) unless ``accept_falls`` (``release hub --accept-falls``:
        the operator accepts the risk, e.g. the earlier release was never published); then that
        combination counts as ``[0, the total]`` and is not chained further, and so does one
        that a release newer than ``i`` left out already (the fall was shown, and accepted,
        then: it does not block every later release). A fall of the total is refused before any release
        (:func:`safelight.release.hub.check_no_records_left`)."""
        o_lo, o_hi, hidden, _ = self.old[i]
        net = self.count - self.before[i]
        small = ~self.system.cell_missing & (np.abs(net) >= 1) & (np.abs(net) < self.k)
        small[0] = False
        gone = ~released & ~self.system.cell_missing & ~hidden & (o_lo > 0)
        shown_gone = self._absent_after(i)
        # absent now (under this k) below a low end shown then; a later earlier release that
        # left it out showed that fall already (accepted then), this one adds nothing to it
        below = small & gone & (net < 0) & (self.count < self.k) & (o_lo >= self.k) \
            & ~shown_gone
        n_lo, n_hi = lo, hi
        if below.any():
            if not self.accept_falls:
                raise self._refusal(
                    np.flatnonzero(below), i, "each was shown by that release and now has fewer "
                    "than k people, so its absence from this release shows the fall, which no "
                    "widening hides", "release with --accept-falls if the earlier release was "
                    "never published or the risk is accepted (the ledger records it)",
                    fell=True)
        accepted = below | (gone & shown_gone)
        if accepted.any():
            n_lo, n_hi = lo.copy(), hi.copy()
            n_lo[accepted], n_hi[accepted] = 0, max(int(hi[0]), int(self.count[0]))
            small &= ~accepted
        b = propagate(self.eqs, n_lo - o_hi, n_hi - o_lo)
        rose = np.flatnonzero(small & (net > 0) & (b.lo >= 1))
        fell = np.flatnonzero(small & (net < 0) & (b.hi <= -1))
        if self.on_difference == "refuse" and (len(rose) or len(fell)):
            raise (self._refusal(fell, i, "differencing the two releases would show that "
                                 "some of the records holding them changed a value or left",
                                 "release with on_difference='adjust' (intervals are then "
                                 "widened)", fell=True) if len(fell) else
                   self._refusal(rose, i, "differencing the two releases would show that "
                                 "some of the records holding them were added or changed a "
                                 "value", "release with on_difference='adjust' (intervals "
                                 "are then widened)", moved=True))
        found: set[tuple[int, str]] = set()
        can_lo = released & (lo > self.k)
        for cells, end in ((rose, "lo"), (fell, "hi")):
            found |= self._targets(cells, end, b, can_lo, released, weight, i, todo | found)
        return found, len(rose) + len(fell)

    def _absent_after(self, i: int) -> np.ndarray:
        """Cells that an earlier release newer than release ``i`` left out (absent in its
        scope): a fall they show against ``i`` was shown, and accepted, by that release."""
        out = np.zeros(self.system.n_cells, bool)
        for _, _, hidden, _ in self.old[i + 1:]:
            out |= hidden
        return out

    def _targets(self, cells: np.ndarray, end: str, b: Bounds, can_lo: np.ndarray,
                 can_hi: np.ndarray, weight: np.ndarray, i: int,
                 todo: set[tuple[int, str]]) -> set[tuple[int, str]]:
        """The widenings that loosen bound ``end`` (``'lo'``: a gain shown, ``'hi'``: a loss
        shown) of each exposed cell of ``cells`` against earlier release ``i``; ``todo``: the
        widenings found so far this round. A cell that no widening reaches, or that keeps
        coming back, is refused once nothing else is left to try."""
        found: set[tuple[int, str]] = set()
        stuck: list[int] = []
        search = WideningSearch(self.eqs, b, can_lo, can_hi, weight) if len(cells) else None
        for c in cells.tolist():
            self.seen[c] = self.seen.get(c, 0) + 1
            t = None
            if self.seen[c] <= self.patience and search is not None:
                t = search.target(c, end)
            if t is None:
                stuck.append(c)
            else:
                found.add(t)
        if stuck and (not (todo | found)
                      or max(self.seen[c] for c in stuck) > 2 * self.patience):
            self.stuck = stuck
            raise self._refusal(
                np.array(stuck, np.int64), i,
                "differencing the two releases would show that some of the "
                + ("records holding them changed a value or left" if end == "hi"
                   else "records holding them were added or changed a value"
                   if self.changed[i] else "added records hold them") + ", through margins that widening the new "
                "release's intervals one at a time does not cut",
                "release fewer columns or a shorter --length (from a file, also a coarser "
                "grid: a larger --rounding-base)", fell=end == "hi",
                moved=self.changed[i])
        return found


def _lost_records(true_counts: dict[Combination, int], before: np.ndarray, count: np.ndarray,
                  present: set[Combination | None], columns: Sequence[str], length: int
                  ) -> bool:
    """Whether some combination lost records between an earlier release (its ``true_counts``;
    ``before``: those counts per cell of the new release) and now (``count``): a cell whose
    count fell, or a combination of the earlier release, within the new release's columns and
    ``length``, that no one holds any more."""
    known = before >= 0
    if (count[known] < before[known]).any():
        return True
    cols = set(columns)
    return any(n > 0 and c not in present and len(c) <= length
               and all(name in cols for name, _ in c) for c, n in true_counts.items())


def difference_bounds(new: PublishedIntervals, old: PublishedIntervals,
                      combos: Sequence[Combination]) -> dict[Combination, tuple[int, int]]:
    """The per-combination differencing attack on two published releases (no chaining): the
    bounds ``[lo2 - hi1, hi2 - lo1]`` (floored at 0) on the added records holding each
    combination. For tests and for operators checking a pair of files."""
    out: dict[Combination, tuple[int, int]] = {}
    for c in combos:
        lo2, hi2 = new.cells.get(c, (0, new.k - 1))
        lo1, hi1 = old.cells.get(c, (0, old.k - 1))
        out[c] = (max(lo2 - hi1, 0), max(hi2 - lo1, 0))
    return out


__all__ = ["Combination", "DifferenceAudit", "DifferencingError", "PublishedIntervals",
           "cell_combinations", "difference_bounds", "published_intervals"]
