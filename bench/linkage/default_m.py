"""Regenerate ``src/safelight/link/default_m.json``: the m that EM learns on the generated
100,000 × 100,000 two-source problem with long-tailed family names (seed 1), in clear and
encoded (PPRL), used by :func:`safelight.link.default_m.default_m` where an input is too small
for EM or its fit is no record-linkage model.

    PYTHONPATH=src python bench/linkage/default_m.py [--size 100000] [--seed 1] \
        [--records CACHED.parquet] [--part both|clear|encoded] \
        [--out src/safelight/link/default_m.json]

``--records`` reads a problem ``scale.py --population long-tail --cache DIR`` kept
(``DIR/records_N_seedS.parquet``) instead of generating it (~40 s at 100k). ``--part`` redoes
one of the two tables and keeps the other as stored. The encoded one encodes both sources
under a fresh key (~25 CPU-s at 100k) and links them at a hub. Run it again when a
comparison level is added or renamed (a test checks that the stored levels match
``safelight.link.compare.FIELDS`` and ``safelight.link.encoded.ENCODED_FIELDS``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.identity.encode import encode_table, load_key, new_key
from safelight.link.compare import FIELDS
from safelight.link.encoded import ENCODED_FIELDS, from_parts
from safelight.link.pipeline import LinkSettings, link_records
from safelight.link.pprl import PPRLSettings, link_encoded

REPO = Path(__file__).resolve().parents[2]


def learned_m(table: pa.Table) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """m per field and level (without "missing") that EM learns on ``table`` linked as two
    sources with default settings, and the training sessions' report."""
    res = link_records(table, LinkSettings(two_source=True))
    return _seen_m(res.em.model.m, res.comparisons.levels, FIELDS), res.em.sessions


def _seen_m(m: list, levels: object, fields: dict[str, tuple[str, ...]]
            ) -> dict[str, dict[str, float]]:
    """m per field and level, for the fields some compared pair has (a field no pair has,
    such as ``region`` here, keeps EM's starting guess: no table is stored for it)."""
    seen = (levels > 0).any(axis=0)  # type: ignore[operator]
    return {name: {lv: round(float(p), 6) for lv, p in zip(levels_, m[j][1:], strict=True)}
            for j, (name, levels_) in enumerate(fields.items()) if seen[j]}


def learned_encoded_m(table: pa.Table) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """The same for the encoded levels: each contributor of ``table`` encodes its records under
    one fresh key, and the hub links the packages as two sources with default settings."""
    with tempfile.TemporaryDirectory(prefix="safelight-default-m-") as tmp:
        new_key(Path(tmp) / "key")
        key = load_key(Path(tmp) / "key")
    names = sorted(set(table.column("contributor").to_pylist()))
    parts = [encode_table(table.filter(pc.equal(table.column("contributor"), name)), key,
                          contributor=name) for name in names]
    er = from_parts([(pkg.manifest, pkg.table) for pkg in parts], names)
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    return _seen_m(res.em.model.m, res.comparisons.levels, ENCODED_FIELDS), res.em.sessions


def _rounded(sessions: list[dict]) -> list[dict]:
    return [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.items()}
            for s in sessions]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--records", type=Path, help="a cached long-tail problem of that size")
    ap.add_argument("--part", choices=("both", "clear", "encoded"), default="both",
                    help="which table to learn again (the other is kept as stored)")
    ap.add_argument("--out", type=Path, default=REPO / "src/safelight/link/default_m.json")
    args = ap.parse_args()
    if args.records:
        table = pq.read_table(args.records)
    else:
        p = generate_linkage_pairs(args.size, args.size, seed=args.seed, surname_tail=True)
        table = p.combined()[0]
    doc = (json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists()
           and args.part != "both" else {})
    problem = {"size": args.size, "seed": args.seed, "population": "long-tail",
               "records": table.num_rows}
    doc["about"] = ("m learned by EM on safelight's generated two-source problem, in clear (m) "
                    "and encoded (encoded.m); see safelight.link.default_m; regenerate with "
                    "bench/linkage/default_m.py")
    if args.part in ("both", "clear"):
        m, sessions = learned_m(table)
        doc.update({"problem": problem, "generated": date.today().isoformat(),
                    "sessions": _rounded(sessions), "m": m})
    if args.part in ("both", "encoded"):
        # the hub falls back to the stored encoded table only for a field it cannot fit, and
        # the 100k problem fits every field it holds: the table is learned afresh
        m, sessions = learned_encoded_m(table)
        doc["encoded"] = {"problem": problem, "generated": date.today().isoformat(),
                          "sessions": _rounded(sessions), "m": m}
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.part}; contributor's m is stored but never used)")


if __name__ == "__main__":
    main()
