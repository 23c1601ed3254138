"""k-aggregates: all combination counts of up to ``length`` columns, safe against differencing.

Contract: :func:`release_aggregates` returns only combinations whose true count is ``>= k``.
Two methods:

* ``intervals`` (default, :mod:`safelight.release.intervals`): **every** combination with ``>= k``
  people is released, as an interval on a rounding grid (step ``ceil(k / 2)`` by default;
  ``k`` gives SDS's grid) with the point that minimises its relative error; released intervals are widened until the interval (bounds)
  differencing attack narrows no unreleased small cell to fewer than ``min_width + 1`` values
  and, wherever a widening can do it, shows none of them to be non-empty. With ``earlier``
  (the ledger's record of earlier releases of the same growing table), the differences against
  each of them are audited too (:mod:`safelight.release.successive`).
* ``suppress`` (:mod:`safelight.release.suppression`): exact counts, primary suppression and
  complementary suppression against the exact linear attack; withholds many common cells on
  correlated tables.

A combination that is absent from ``aggregates.csv`` is zero, under k or withheld — the file
never says which.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from safelight.release.combos import CombinationCounts, Subset, decode_keys
from safelight.release.errors import ReleaseUsageError, check_rows_for_k
from safelight.release.intervals import (
    Equations,
    WithholdingRunaway,
    attacker_intervals,
    grid_interval,
    protect,
    representative,
    shown_nonempty,
)
from safelight.release.suppression import Suppression, build_system, suppress
from safelight.release.table import CategoricalTable

if TYPE_CHECKING:
    from safelight.release.reshaped import ReshapedAudit
    from safelight.release.successive import PublishedIntervals

ROUNDING_MODES = ("none", "down", "nearest")
METHODS = ("intervals", "suppress")

log = logging.getLogger("safelight.release.aggregates")


@dataclass
class AggregateRelease:
    """Released combination counts and how they were protected.

    ``total`` is the released row count (``None`` if it had to be withheld). With the interval
    method, ``counts`` holds the published points, ``intervals`` the published ``(low, high)``
    per combination, and ``held`` the combinations with ``>= k`` people withheld because an
    earlier release hid them (their true counts: the ledger keeps them, never the file).
    """

    table: CategoricalTable
    k: int
    length: int
    counts: CombinationCounts
    total: int | None
    primary: int
    secondary: int
    rounding: str
    rounding_base: int
    suppression: Suppression | None
    intervals: dict[Subset, tuple[np.ndarray, np.ndarray]] | None = None
    total_interval: tuple[int, int] | None = None
    audit: IntervalAudit | None = None
    held: dict[Subset, tuple[np.ndarray, np.ndarray]] | None = None

    def summary(self) -> dict[str, int | str | None]:
        out: dict[str, int | str | None] = {
            "released_combinations": self.counts.n_combinations(), "total": self.total,
            "primary_suppressed": self.primary, "secondary_suppressed": self.secondary,
            "rounding": self.rounding, "rounding_base": self.rounding_base}
        if self.audit is not None:
            out.update(self.audit.summary())
        return out


@dataclass
class IntervalAudit:
    """What the interval method did: widenings, the attacker's view of the small cells, and
    (with earlier releases) the successive-release audit."""

    min_width: int
    existence: bool
    rounds: int
    widened: int
    small_cells: int
    shown_nonempty: int
    narrowest: int
    deferred: int = 0
    earlier_releases: int = 0
    withheld: int = 0

    def summary(self) -> dict[str, int | str | None]:
        return {"method": "intervals", "interval_min_width": self.min_width,
                "interval_existence_rule": int(self.existence),
                "interval_rounds": self.rounds, "intervals_widened": self.widened,
                "small_cells": self.small_cells,
                "small_cells_shown_nonempty": self.shown_nonempty,
                "small_cells_narrowest_interval": self.narrowest,
                "deferred_by_earlier_releases": self.deferred,
                "withheld_last_resort": self.withheld,
                "earlier_releases_audited": self.earlier_releases}


def _check_rounding(k: int, mode: str, base: int) -> None:
    """Refuse a rounding that would publish a count of k or more people as one under k
    (``down`` to multiples of 5 with k = 11: 11..14 → 10; of 20: 11..19 → 0, dropped).

    :raises ReleaseUsageError: such a rounding, with the first count it lowers under k."""
    counts = np.arange(k, k + base)
    rounded = round_counts(counts, mode, base)
    if (rounded < k).any():
        c = int(counts[rounded < k][0])
        raise ReleaseUsageError(
            f"--rounding {mode} to multiples of {base} would publish {c} people as "
            f"{int(rounded[rounded < k][0])}, under k = {k} (or drop the count); give a base "
            f"that divides k, such as {k}")


def round_counts(counts: np.ndarray, mode: str, base: int) -> np.ndarray:
    """Round to multiples of ``base``: ``down`` (floor, as SDS does with base k) or ``nearest``
    (never below ``base``, so a released count is never rounded to zero)."""
    if mode == "none" or base <= 1:
        return counts
    if mode == "down":
        return (counts // base) * base
    if mode == "nearest":
        return np.maximum(((counts + base // 2) // base) * base, base)
    raise ReleaseUsageError(f"unknown rounding {mode!r}; use one of {', '.join(ROUNDING_MODES)}")


def _check_k_against_earlier(k: int, earlier: Sequence[PublishedIntervals]) -> None:
    """Refuse a k smaller than an earlier release's of the same dataset: that release hid
    every combination of fewer than its k people, and this one would show those of ``k`` or
    more — each of them one the audit must treat as having crossed k since, so it defers
    them by the hundred and its interval audit then ran for minutes (more than 5 on a demo
    hub of 2,922 cases, k = 6 after k = 11) before withholding most of the release."""
    larger = [(i, e) for i, e in enumerate(earlier, start=1) if e.k > k]
    if larger:
        i, e = max(larger, key=lambda ie: ie[1].k)
        ref = f"#{e.release_id}" if e.release_id is not None else str(i)
        raise ReleaseUsageError(
            f"earlier release {ref} of this dataset used k = {e.k}: it hid every combination "
            f"of fewer than {e.k} people, and a release with k = {k} would show those of {k} "
            f"to {e.k - 1}; release with --k {e.k} or more (the dataset's releases keep the "
            "largest k they used)")


def release_aggregates(table: CategoricalTable, k: int = 11, length: int = 3, *,
                       method: str | None = None, rounding: str = "none",
                       rounding_base: int | None = None, complementary: bool = True,
                       audit: bool = True, min_width: int | None = None,
                       existence: bool = True, earlier: Sequence[PublishedIntervals] = (),
                       on_difference: str = "adjust", accept_falls: bool = False,
                       beside: ReshapedAudit | None = None) -> AggregateRelease:
    """All 1..``length``-way combination counts with count ``>= k``, protected.

    :param method: ``intervals`` or ``suppress`` (see the module docstring); by default
        ``intervals``, unless a suppression-only option (``rounding``, ``complementary=False``)
        is given.
    :param rounding: ``suppress`` only: ``none``, ``down`` or ``nearest`` to multiples of
        ``rounding_base``. The interval method always publishes grid intervals.
    :param rounding_base: the grid step: ``suppress`` rounding's base (default ``k``); the
        interval method's grid (default ``ceil(k / 2)``, 6 for k = 11: the audits, not the
        grid, protect the small cells, and a finer grid is more accurate; widenings move
        an interval's end by ``max(base, k)``).
    :param complementary: ``suppress`` only; ``False`` gives primary suppression only (SDS's
        rule with ``rounding="down"``) — then small cells can be recovered by differencing;
        only for comparisons.
    :param audit: ``suppress``: run the exact linear audit; ``intervals``: the interval audit
        (``False`` publishes the plain grid, for comparisons only).
    :param min_width: ``intervals``: no small cell may be narrowed to fewer than
        ``min_width + 1`` values (default ``max(1, (k - 1) // 2)``).
    :param existence: ``intervals``: also widen so that no small cell is shown non-empty,
        where a widening can do it.
    :param earlier: ``intervals``: earlier releases of the same (growing) table, from the
        ledger (:meth:`safelight.release.ledger.Ledger.published`); their differences with
        this release are audited.
    :param on_difference: ``adjust`` (widen, or defer a combination that crossed k) or
        ``refuse`` (raise :class:`~safelight.release.successive.DifferencingError`).
    :param accept_falls: publish although a combination an earlier release showed now has
        fewer than k people after records changed a value or left (its absence shows the
        fall; refused otherwise — :meth:`~safelight.release.successive.DifferenceAudit._signed`).
    :param beside: ``intervals``: the earlier releases of the same counts in tables of another
        shape (:class:`~safelight.release.reshaped.ReshapedAudit`, built by the caller from the
        hub's cases over their columns); the value rule is held across them too.
    :raises ReleaseUsageError: also when an ``earlier`` release used a larger k (see
        :func:`_check_k_against_earlier`), or the table has fewer than ``k`` rows (nothing
        but an empty file could be released; not with ``complementary=False``, which is for
        comparisons only).
    """
    if k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    _check_k_against_earlier(k, earlier or ())
    if length < 1:
        raise ReleaseUsageError(f"--length must be at least 1 (got {length})")
    if complementary:
        check_rows_for_k(table, k, per_row=False)
    if method is None:
        method = "suppress" if rounding != "none" or not complementary else "intervals"
    if method not in METHODS:
        raise ReleaseUsageError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if rounding not in ROUNDING_MODES:
        raise ReleaseUsageError(f"unknown rounding {rounding!r}; use one of "
                                f"{', '.join(ROUNDING_MODES)}")
    if method == "intervals":
        base = int(rounding_base or (k + 1) // 2)
        if k < 3:
            raise ReleaseUsageError(
                "the interval method needs k >= 3 (with k = 2 a released count of 2 whose two "
                "children are unreleased shows each child to hold exactly 1 person); use a "
                "larger k (or, for a file, `release aggregates --method suppress`)")
        if rounding != "none" or not complementary:
            raise ReleaseUsageError("--rounding and primary-only suppression apply to the "
                                    "suppression method; the interval method always rounds to "
                                    "intervals of --rounding-base")
        # the default grid is tried, then coarser ones when protecting the small cells would
        # withhold most of the release (long combinations of a small table); a grid the
        # caller chose is kept
        bases = [base] if rounding_base else [base, 2 * base, 4 * base]
        for i, b in enumerate(bases):
            try:
                return _release_intervals(table, k, length, b, audit,
                                          max(1, (k - 1) // 2) if min_width is None
                                          else min_width, existence, earlier, on_difference,
                                          accept_falls, beside)
            except WithholdingRunaway:
                if i + 1 == len(bases):
                    raise
                log.warning("a grid of %d withheld too many combinations to protect the "
                            "small ones at length %d; trying a grid of %d", b, length,
                            bases[i + 1])
    base = int(rounding_base or k)
    _check_rounding(k, rounding, base)
    radix = table.radix
    tables: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    if complementary:
        sup = suppress(table, k, length, audit=audit)
        sy = sup.system
        total = int(table.n_rows) if sup.released[0] else None
        for si, s in enumerate(sy.subsets[1:], start=1):
            sl = slice(sy.subset_start[si], sy.subset_start[si + 1])
            rel = sup.released[sl]
            tables[s] = (sy.cell_key[sl][rel], round_counts(sy.cell_count[sl][rel], rounding, base))
        primary, secondary = int(sup.primary.sum()), int(sup.secondary.sum())
    else:
        sup = None
        full = CombinationCounts.of(table, length)
        primary = secondary = 0
        for s, (keys, counts) in full.tables.items():
            keep = counts >= k
            primary += int((~keep).sum())
            tables[s] = (keys[keep], round_counts(counts[keep], rounding, base))
        total = table.n_rows
    for s, (keys, counts) in list(tables.items()):
        nz = counts > 0
        tables[s] = (keys[nz], counts[nz])
    return AggregateRelease(table, k, length, CombinationCounts(radix, length, tables), total,
                            primary, secondary, rounding, base, sup)


def _all_of(checks: list) -> Any:
    """One extra check of :func:`~safelight.release.intervals.protect` made of ``checks``: the
    widenings any of them needs."""
    def check(lo: np.ndarray, hi: np.ndarray, released: np.ndarray) -> set[tuple[int, str]]:
        return set().union(*(c(lo, hi, released) for c in checks))
    return check


def _release_intervals(table: CategoricalTable, k: int, length: int, base: int, audit: bool,
                       min_width: int, existence: bool,
                       earlier: Sequence[PublishedIntervals],
                       on_difference: str, accept_falls: bool = False,
                       beside: ReshapedAudit | None = None) -> AggregateRelease:
    from safelight.release.successive import DifferenceAudit

    log.info("counting the 1..%d-way combinations of %d rows, %d columns", length,
             table.n_rows, table.n_columns)
    sy = build_system(table, length)
    cnt = sy.cell_count
    released = ~sy.cell_missing & (cnt >= k)
    released[0] = cnt[0] >= k
    lo = np.zeros(sy.n_cells, np.int64)
    hi = np.zeros(sy.n_cells, np.int64)
    lo[released], hi[released] = grid_interval(np.maximum(cnt[released], k), k, base)
    small = ~sy.cell_missing & ~released
    deferred = np.zeros(sy.n_cells, bool)
    report = IntervalAudit(min_width, existence, 0, 0, int(small.sum()), 0, 0)
    if audit:
        eqs = Equations(sy)
        diff = DifferenceAudit(table, sy, eqs, k, base, earlier, on_difference,
                               accept_falls) if earlier \
            else None
        if diff is not None:
            deferred = diff.crossed()
            released &= ~deferred
            diff.bind(released)
        log.info("interval audit of %d combinations (%d under k)", sy.n_cells,
                 int(small.sum()))
        checks = [] if diff is None else [diff.widenings]
        if beside is not None:
            beside.attach(table, sy, min_width)
            if beside.active:
                checks.append(beside.widenings)
        a_lo, a_hi = attacker_intervals(sy, released, lo, hi, k)
        prot = protect(eqs, a_lo, a_hi, released, small | deferred, k, max(base, k),
                       min_width=min_width, existence=existence,
                       extra_check=_all_of(checks) if checks else None)
        n_deferred = int(deferred.sum())
        deferred |= prot.withheld
        released &= ~prot.withheld
        lo = np.where(released, prot.lo, 0)
        hi = np.where(released, prot.hi, 0)
        b = prot.bounds
        report = IntervalAudit(
            min_width, existence, prot.rounds, prot.widened, int(small.sum()),
            int(shown_nonempty(b, small).sum()),
            int((b.hi - b.lo)[small].min()) if small.any() else k - 1,
            n_deferred, len(earlier), int(prot.withheld.sum()))
    point = np.zeros(sy.n_cells, np.int64)
    point[released] = representative(lo[released], hi[released])
    tables: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    intervals: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    held: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    for si, s in enumerate(sy.subsets[1:], start=1):
        sl = slice(sy.subset_start[si], sy.subset_start[si + 1])
        rel = released[sl]
        tables[s] = (sy.cell_key[sl][rel], point[sl][rel])
        intervals[s] = (lo[sl][rel], hi[sl][rel])
        d = deferred[sl]
        if d.any():
            held[s] = (sy.cell_key[sl][d], cnt[sl][d])
    return AggregateRelease(table, k, length, CombinationCounts(table.radix, length, tables),
                            int(point[0]) if released[0] else None, int(small.sum()),
                            int(deferred.sum()), "interval", base, None, intervals,
                            (int(lo[0]), int(hi[0])) if released[0] else None, report, held)


def aggregates_arrow(release: AggregateRelease) -> pa.Table:
    """One row per released combination: every column (empty = not part of it), ``length``,
    ``count``; with the interval method also ``count_low`` and ``count_high`` (the count lies
    between them). The first row is the total (the empty combination) when it is released."""
    t = release.table
    cols: list[list[str]] = [[] for _ in t.columns]
    lengths: list[int] = []
    counts: list[int] = []
    lows: list[int] = []
    highs: list[int] = []
    if release.total is not None:
        for c in cols:
            c.append("")
        lengths.append(0)
        if release.total_interval is not None:
            counts.append(int(release.total))
            lows.append(release.total_interval[0])
            highs.append(release.total_interval[1])
        else:
            counts.append(int(round_counts(np.array([release.total]), release.rounding,
                                           release.rounding_base)[0]))
    for s, (keys, cnt) in release.counts.tables.items():
        if len(keys) == 0:
            continue
        codes = decode_keys(keys, t.radix, s)
        member = set(s)
        for j in range(t.n_columns):
            if j in member:
                lookup = np.array(("",) + t.values[j], dtype=object)
                cols[j].extend(lookup[codes[:, s.index(j)]].tolist())
            else:
                cols[j].extend([""] * len(keys))
        lengths.extend([len(s)] * len(keys))
        counts.extend(cnt.tolist())
        if release.intervals is not None:
            lows.extend(release.intervals[s][0].tolist())
            highs.extend(release.intervals[s][1].tolist())
    data = {name: pa.array(cols[j], pa.string()) for j, name in enumerate(t.columns)}
    data["length"] = pa.array(lengths, pa.int32())
    data["count"] = pa.array(counts, pa.int64())
    if release.intervals is not None:
        data["count_low"] = pa.array(lows, pa.int64())
        data["count_high"] = pa.array(highs, pa.int64())
    return pa.table(data)


def write_aggregates(release: AggregateRelease, path: str | Path) -> Path:
    """Write ``aggregates.csv`` (see :func:`aggregates_arrow`)."""
    path = Path(path)
    pacsv.write_csv(aggregates_arrow(release), str(path),
                    write_options=pacsv.WriteOptions(quoting_style="needed"))
    return path


def read_aggregates(path: str | Path, like: CategoricalTable) -> CombinationCounts:
    """Read an ``aggregates.csv`` back as combination counts keyed like ``like`` (values absent
    from ``like`` are ignored — they cannot match a true combination)."""
    from safelight.release.combos import multipliers

    tbl = pacsv.read_csv(str(path), convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in like.columns},
        strings_can_be_null=False, quoted_strings_can_be_null=False))
    radix = like.radix
    codes = np.zeros((tbl.num_rows, like.n_columns), np.int64)
    unknown = np.zeros(tbl.num_rows, bool)
    for j, name in enumerate(like.columns):
        index = {v: i + 1 for i, v in enumerate(like.values[j])}
        vals = tbl.column(name).to_pylist()
        col = np.array([index.get(v, -1) if v else 0 for v in vals], np.int64)
        unknown |= col < 0
        codes[:, j] = np.maximum(col, 0)
    count = np.asarray(tbl.column("count").to_numpy(), np.int64)
    present = codes > 0
    tables: dict[Subset, list[tuple[int, int]]] = {}
    max_len = 0
    for i in np.flatnonzero(~unknown & present.any(axis=1)).tolist():
        s = tuple(np.flatnonzero(present[i]).tolist())
        key = int(codes[i, list(s)] @ multipliers(radix, s))
        tables.setdefault(s, []).append((key, int(count[i])))
        max_len = max(max_len, len(s))
    out: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    for s, pairs in tables.items():
        arr = np.array(sorted(pairs), np.int64)
        out[s] = (arr[:, 0], arr[:, 1])
    return CombinationCounts(radix, max_len, out)


__all__ = ["METHODS", "ROUNDING_MODES", "AggregateRelease", "IntervalAudit", "aggregates_arrow", "read_aggregates",
           "release_aggregates", "round_counts", "write_aggregates"]
