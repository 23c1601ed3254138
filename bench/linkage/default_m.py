"""Regenerate ``src/safelight/link/default_m.json``: the m that EM learns on the generated
100,000 × 100,000 two-source problem with long-tailed family names (seed 1), used by
:func:`safelight.link.default_m.default_m` where an input is too small for EM.

    PYTHONPATH=src python bench/linkage/default_m.py [--size 100000] [--seed 1] \
        [--records CACHED.parquet] [--out src/safelight/link/default_m.json]

``--records`` reads a problem ``scale.py --population long-tail --cache DIR`` kept
(``DIR/records_N_seedS.parquet``) instead of generating it (~40 s at 100k). Run it again when
a comparison level is added or renamed (a test checks that the stored levels match
``safelight.link.compare.FIELDS``).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.link.compare import FIELDS
from safelight.link.pipeline import LinkSettings, link_records

REPO = Path(__file__).resolve().parents[2]


def learned_m(table: pa.Table) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """m per field and level (without "missing") that EM learns on ``table`` linked as two
    sources with default settings, and the training sessions' report."""
    res = link_records(table, LinkSettings(two_source=True))
    m = {name: {lv: round(float(p), 6) for lv, p in zip(levels, res.em.model.m[j][1:],
                                                        strict=True)}
         for j, (name, levels) in enumerate(FIELDS.items())}
    return m, res.em.sessions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--records", type=Path, help="a cached long-tail problem of that size")
    ap.add_argument("--out", type=Path, default=REPO / "src/safelight/link/default_m.json")
    args = ap.parse_args()
    if args.records:
        table = pq.read_table(args.records)
    else:
        p = generate_linkage_pairs(args.size, args.size, seed=args.seed, surname_tail=True)
        table = p.combined()[0]
    m, sessions = learned_m(table)
    doc = {
        "about": "m learned by EM on safelight's generated two-source problem (see "
                 "safelight.link.default_m); regenerate with bench/linkage/default_m.py",
        "problem": {"size": args.size, "seed": args.seed, "population": "long-tail",
                    "records": table.num_rows},
        "generated": date.today().isoformat(),
        "sessions": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.items()}
                     for s in sessions],
        "m": m,
    }
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({sum(len(v) for v in m.values())} levels over {len(m)} fields; "
          f"contributor's m is stored but never used)")


if __name__ == "__main__":
    main()
