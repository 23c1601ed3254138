"""Would a per-record cap on candidates make blocking grow linearly? A measurement.

Runs the blocking rules on a cached generated problem (``scale.py --cache``) as
``blocking_recall.py`` does, then keeps, per rule or over the union of the rules, each
record's K best partners by a cheap agreement score (given and family name, birth year, month
and day, phone, document, locality, postcode, sex, nationality: + for agreement, − for a
disagreement where it is evidence) — the way the privacy-preserving blocking caps its large
blocks (``block_top_k``) — and prints candidates and blocking recall for each K.

    PYTHONPATH=src python bench/linkage/blocking_topk.py --size 100000 --cache /tmp/lk/cache \\
        [--per-rule 5 8] [--union 10 20 30]

Needs the pairs of every rule in memory (1M × 1M: ~60M codes, ~6 GB, ~10 CPU-min).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from blocking_recall import _member, true_pair_codes

from safelight.link.blocking import DEFAULT_RULES, pairs_by_rule
from safelight.link.prepare import Records, prepare

#: column, weight of an agreement, weight of a disagreement (both sides present)
SCORE = (("given", 3, 1), ("given_group", 1, 0), ("family", 3, 1), ("birth_year", 2, 1),
         ("birth_month", 1, 1), ("birth_day", 1, 1), ("phone", 4, 0), ("document", 4, 0),
         ("locality", 1, 0), ("sex", 1, 2), ("nationality", 1, 1), ("postcode", 1, 0))


def score(records: Records, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The agreement score of the pairs ``(a, b)`` (vectorised)."""
    s = np.zeros(len(a), np.int16)
    for name, agree, disagree in SCORE:
        v = records.codes.column.get(name)
        v = np.asarray(getattr(records, name) if v is None else v)
        x, y = v[a], v[b]
        missing = (x < 0) | (y < 0)
        if name in ("birth_month", "birth_day"):
            missing |= (x == 0) | (y == 0)
        same = (x == y) & ~missing
        s += (agree * same - disagree * (~same & ~missing)).astype(np.int16)
    return s


def top_k(records: Records, codes: np.ndarray, k: int) -> np.ndarray:
    """The pair codes among ``codes`` that are among the ``k`` best of either record."""
    n = len(records)
    a, b = codes // n, codes % n
    s = score(records, a, b)
    tie = (codes * 2654435761) % 1000003  # a fixed, arbitrary order among equal scores
    keep = np.zeros(len(codes), bool)
    for side in (a, b):
        order = np.lexsort((tie, -s, side))
        ranked = side[order]
        start = np.r_[True, ranked[1:] != ranked[:-1]]
        idx = np.arange(len(order))
        rank = idx - np.maximum.accumulate(np.where(start, idx, 0))
        keep[order[rank < k]] = True
    return codes[keep]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--per-rule", type=int, nargs="*", default=[5, 8])
    ap.add_argument("--union", type=int, nargs="*", default=[10, 20, 30])
    args = ap.parse_args()
    stem = f"{args.size}_seed{args.seed}"
    records = prepare(pq.read_table(args.cache / f"records_{stem}.parquet"))
    contributor = records.codes.column["contributor"]
    truth = true_pair_codes(np.load(args.cache / f"truth_{stem}.npy"), contributor)
    per_rule = pairs_by_rule(records, DEFAULT_RULES, cross_only=True)

    def show(label: str, codes: np.ndarray, t0: float) -> None:
        print(f"{label}: {len(codes):,} candidates, blocking recall "
              f"{_member(truth, codes).mean():.4f} ({time.process_time() - t0:.0f} CPU-s)",
              flush=True)

    union = np.unique(np.concatenate(list(per_rule.values())))
    show(f"{args.size:,} × {args.size:,}, the rules as they are", union, time.process_time())
    for k in args.per_rule:
        t0 = time.process_time()
        show(f"top {k} per record and rule",
             np.unique(np.concatenate([top_k(records, c, k) for c in per_rule.values()])), t0)
    for k in args.union:
        t0 = time.process_time()
        show(f"top {k} per record over all rules", top_k(records, union, k), t0)


if __name__ == "__main__":
    main()
