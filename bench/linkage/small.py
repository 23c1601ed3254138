"""Small registers: precision and recall of linkage on generated problems of a few hundred
records, where EM has too few pairs to estimate m (docs/linkage.md, "Small registers").

For each size N and seed, :func:`safelight.demo.linkage_pairs.generate_linkage_pairs` writes an
N × N problem (half of the persons in both sources). safelight links it with default settings
as two registers (``two_source``, one-to-one), as one file (dedupe of both sources), and, with
``--pprl``, as two encoded packages (a fresh key per problem). Scores are pairwise against the
truth; the medians over the seeds are printed with every seed's figure.

    PYTHONPATH=src python bench/linkage/small.py [--sizes 20 50 100 200 400] [--seeds 5] \
        [--long-tail] [--pprl] [--year-only SHARE] [--json out.json]

``--year-only SHARE`` blanks the month and day in that share of each source's records (a
register whose dates are mostly a year alone).

Run it with an older checkout on ``PYTHONPATH`` to compare (the figures in docs/linkage.md
were taken so, before and after the change).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from safelight.demo.linkage_pairs import PairsProblem, generate_linkage_pairs
from safelight.link.pipeline import LinkSettings, link_records


def _scores(linked: np.ndarray, a: np.ndarray, b: np.ndarray, person: np.ndarray,
            true_pairs: int) -> tuple[float, float]:
    tp = int((linked & (person[a] == person[b])).sum())
    return tp / max(int(linked.sum()), 1), tp / max(true_pairs, 1)


def problem(n: int, seed: int, tail: bool, year_only: float = 0.0) -> PairsProblem:
    """The generated N × N problem, with the month and day blanked in ``year_only`` of each
    source's records (a register whose dates are mostly a year alone)."""
    p = generate_linkage_pairs(n, n, seed=seed, surname_tail=tail)
    if not year_only:
        return p
    rng = np.random.default_rng(seed)

    def blank(table: pa.Table) -> pa.Table:
        drop = pa.array(rng.random(len(table)) < year_only)
        for c in ("birth_month", "birth_day"):
            col = table.column(c)
            table = table.set_column(table.schema.get_field_index(c), c,
                                     pc.if_else(drop, pa.nulls(len(table), col.type), col))
        return table

    return dataclasses.replace(p, left=blank(p.left), right=blank(p.right))


def clear(n: int, seed: int, tail: bool, two_source: bool, year_only: float = 0.0
          ) -> tuple[float, float]:
    """(precision, recall) of clear-mode linkage of one generated N × N problem."""
    p = problem(n, seed, tail, year_only)
    table, person = p.combined()
    res = link_records(table, LinkSettings(two_source=two_source))
    c = res.comparisons
    return _scores(res.linked, c.a, c.b, person, p.true_pairs)


def pprl(n: int, seed: int, tail: bool, year_only: float = 0.0) -> tuple[float, float]:
    """(precision, recall) of two encoded packages of one generated N × N problem."""
    from safelight.identity.encode import encode_table, load_key, new_key
    from safelight.link.encoded import from_parts
    from safelight.link.pprl import PPRLSettings, link_encoded

    p = problem(n, seed, tail, year_only)
    with tempfile.TemporaryDirectory(prefix="safelight-small-key-") as kd:
        new_key(Path(kd) / "key")
        key = load_key(Path(kd) / "key")
    parts = [encode_table(t, key, contributor=name)
             for name, t in (("left", p.left), ("right", p.right))]
    er = from_parts([(pkg.manifest, pkg.table) for pkg in parts], ["left", "right"])
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    person = np.concatenate([p.left_person, p.right_person])
    c = res.comparisons
    linked = res.labels[c.a] == res.labels[c.b]
    return _scores(linked, c.a, c.b, person, p.true_pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100, 200, 400])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--long-tail", action="store_true", help="long-tailed family names")
    ap.add_argument("--pprl", action="store_true", help="also two encoded packages")
    ap.add_argument("--year-only", type=float, default=0.0, metavar="SHARE",
                    help="blank the month and day in this share of each source's records")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the small sessions' warnings are the point here
    y = args.year_only
    modes = {"two files": lambda n, s: clear(n, s, args.long_tail, True, y),
             "one file": lambda n, s: clear(n, s, args.long_tail, False, y)}
    if args.pprl:
        modes["pprl"] = lambda n, s: pprl(n, s, args.long_tail, y)
    out = []
    for n in args.sizes:
        for mode, run in modes.items():
            got = [run(n, seed) for seed in range(1, args.seeds + 1)]
            prec, rec = (np.array(x) for x in zip(*got, strict=True))
            out.append({"n": n, "mode": mode, "precision": prec.round(3).tolist(),
                        "recall": rec.round(3).tolist()})
            print(f"N={n:<5} {mode:<9} median P {np.median(prec):.3f} R {np.median(rec):.3f}  "
                  f"(P {prec.round(3).tolist()}, R {rec.round(3).tolist()})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
