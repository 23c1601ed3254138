"""k-aggregates: all combination counts of up to ``length`` columns under small-cell suppression.

Contract: :func:`release_aggregates` returns only combinations whose true count is ``>= k``
(primary suppression), withholds further cells so that no withheld count can be recomputed
exactly from the released ones and the total (complementary suppression, see
:mod:`safelight.release.suppression`), and optionally rounds released counts. A combination that
is absent from ``aggregates.csv`` is zero, suppressed or withheld — the file never says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from safelight.release.combos import CombinationCounts, Subset, decode_keys
from safelight.release.errors import ReleaseUsageError
from safelight.release.suppression import Suppression, suppress
from safelight.release.table import CategoricalTable

ROUNDING_MODES = ("none", "down", "nearest")


@dataclass
class AggregateRelease:
    """Released combination counts and how they were protected.

    ``total`` is the released row count (``None`` if it had to be withheld).
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

    def summary(self) -> dict[str, int | str | None]:
        return {"released_combinations": self.counts.n_combinations(), "total": self.total,
                "primary_suppressed": self.primary, "secondary_suppressed": self.secondary,
                "rounding": self.rounding, "rounding_base": self.rounding_base}


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


def release_aggregates(table: CategoricalTable, k: int = 11, length: int = 3, *,
                       rounding: str = "none", rounding_base: int | None = None,
                       complementary: bool = True, audit: bool = True) -> AggregateRelease:
    """All 1..``length``-way combination counts with count ``>= k``, protected.

    :param rounding: ``none``, ``down`` or ``nearest`` to multiples of ``rounding_base``
        (default ``k``).
    :param complementary: withhold complementary cells (default). ``False`` gives primary
        suppression only — then withheld cells can be recomputed by differencing; only for
        comparisons.
    :param audit: run the exact linear differencing audit after the greedy protection.
    """
    if k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    if length < 1:
        raise ReleaseUsageError(f"--length must be at least 1 (got {length})")
    if rounding not in ROUNDING_MODES:
        raise ReleaseUsageError(f"unknown rounding {rounding!r}; use one of "
                                f"{', '.join(ROUNDING_MODES)}")
    base = int(rounding_base or k)
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


def aggregates_arrow(release: AggregateRelease) -> pa.Table:
    """One row per released combination: every column (empty = not part of it), ``length``,
    ``count``. The first row is the total (the empty combination) when it is released."""
    t = release.table
    cols: list[list[str]] = [[] for _ in t.columns]
    lengths: list[int] = []
    counts: list[int] = []
    if release.total is not None:
        for c in cols:
            c.append("")
        lengths.append(0)
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
    data = {name: pa.array(cols[j], pa.string()) for j, name in enumerate(t.columns)}
    data["length"] = pa.array(lengths, pa.int32())
    data["count"] = pa.array(counts, pa.int64())
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


__all__ = ["ROUNDING_MODES", "AggregateRelease", "aggregates_arrow", "read_aggregates",
           "release_aggregates", "round_counts", "write_aggregates"]
