"""Regenerate ``src/safelight/link/default_m.json``: the m that EM learns on the generated
100,000 × 100,000 two-source problem with long-tailed family names (seed 1), in clear and
encoded (PPRL), used by :func:`safelight.link.default_m.default_m` where an input is too small
for EM or its fit is no record-linkage model; and the u it scores with, which
:func:`safelight.link.default_m.default_u` mixes into the u of an input with few record pairs.

    PYTHONPATH=src python bench/linkage/default_m.py [--size 100000] [--seed 1] \
        [--records CACHED.parquet] [--part both|clear|encoded|u] \
        [--out src/safelight/link/default_m.json]

``--records`` reads a problem ``scale.py --population long-tail --cache DIR`` kept
(``DIR/records_N_seedS.parquet``) instead of generating it (~40 s at 100k). ``--part`` redoes
one of the two tables and keeps the other as stored (``u``: both u tables, no m). The encoded one encodes both sources
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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.identity.encode import encode_table, load_key, new_key
from safelight.link.compare import FIELD_NAMES, FIELDS, compare, full_dates
from safelight.link.encoded import ENCODED_FIELDS, FULL_DATE_KEY, compare_encoded, from_parts
from safelight.link.pipeline import LinkSettings, link_records
from safelight.link.pprl import PPRLSettings, link_encoded
from safelight.link.prepare import prepare

REPO = Path(__file__).resolve().parents[2]


def learned_m(table: pa.Table) -> tuple[dict[str, dict[str, float]], list[dict],
                                         dict[str, dict[str, float]]]:
    """m per field and level (without "missing") that EM learns on ``table`` linked as two
    sources with default settings, the training sessions' report, and the u it scores with
    (random pairs across the sources; the places' among compatriots)."""
    res = link_records(table, LinkSettings(two_source=True))
    levels = res.comparisons.levels
    return (_seen_m(res.em.model.m, levels, FIELDS), res.em.sessions,
            _seen_m(res.em.model.u, levels, FIELDS))


def true_pairs(person: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(a, b)`` of rows of one person on the two sides (``side`` 0 / 1)."""
    order = np.lexsort((side, person))
    p, s = person[order], side[order]
    hit = np.flatnonzero((p[1:] == p[:-1]) & (s[1:] != s[:-1]))
    return order[hit], order[hit + 1]


def by_dates(levels: np.ndarray, full_a: np.ndarray, full_b: np.ndarray,
             names: tuple[str, ...]) -> dict[str, dict[str, float] | dict[str, int]]:
    """The birth date's level shares (``levels`` of the true pairs, 0 = missing left out) by
    kind of dates (:data:`safelight.link.default_m.DATE_KINDS`), and each kind's pair count."""
    kinds = {"both_full": full_a & full_b, "both_partial": ~full_a & ~full_b,
             "one_each": full_a != full_b}
    out: dict[str, dict] = {"true_pairs": {}}
    for kind, mask in kinds.items():
        counts = np.bincount(levels[mask & (levels > 0)], minlength=len(names) + 1)[1:]
        out[kind] = {lv: round(float(c) / max(int(counts.sum()), 1), 6)
                     for lv, c in zip(names, counts, strict=True)}
        out["true_pairs"][kind] = int(counts.sum())
    return out


def clear_by_dates(table: pa.Table, person: np.ndarray) -> dict:
    """:func:`by_dates` of the clear comparison on the true pairs of ``table``."""
    records = prepare(table)
    side = np.unique(table.column("contributor").to_numpy(zero_copy_only=False),
                     return_inverse=True)[1].reshape(-1)
    a, b = true_pairs(person, side)
    full = full_dates(records)
    levels = compare(records, a, b).levels[:, FIELD_NAMES.index("birth_date")]
    return by_dates(levels, full[a], full[b], FIELDS["birth_date"])


def _seen_m(m: list, levels: object, fields: dict[str, tuple[str, ...]]
            ) -> dict[str, dict[str, float]]:
    """m (or u) per field and level, for the fields some compared pair has (a field no pair
    has, such as ``region`` here, keeps EM's starting guess: no table is stored for it);
    u keeps 3 significant digits (its agreement levels are far below 1e-6 apart)."""
    seen = (levels > 0).any(axis=0)  # type: ignore[operator]
    return {name: {lv: float(f"{float(p):.3g}") if p < 1e-3 else round(float(p), 6)
                   for lv, p in zip(levels_, m[j][1:], strict=True)}
            for j, (name, levels_) in enumerate(fields.items()) if seen[j]}


def learned_encoded_m(table: pa.Table, person: np.ndarray
                      ) -> tuple[dict[str, dict[str, float]], list[dict], dict,
                                 dict[str, dict[str, float]]]:
    """The same for the encoded levels: each contributor of ``table`` encodes its records under
    one fresh key, and the hub links the packages as two sources with default settings; and
    :func:`by_dates` of the encoded comparison on the true pairs (``person`` per row); and
    the hub's u."""
    with tempfile.TemporaryDirectory(prefix="safelight-default-m-") as tmp:
        new_key(Path(tmp) / "key")
        key = load_key(Path(tmp) / "key")
    contributor = table.column("contributor").to_numpy(zero_copy_only=False)
    names = sorted(set(contributor.tolist()))
    rows = np.concatenate([np.flatnonzero(contributor == name) for name in names])
    parts = [encode_table(table.filter(pc.equal(table.column("contributor"), name)), key,
                          contributor=name) for name in names]
    er = from_parts([(pkg.manifest, pkg.table) for pkg in parts], names)
    assert len(er) == len(rows), "every generated record consents to linkage"
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    a, b = true_pairs(person[rows], er.contributor_code)
    full = er.blocking_present[FULL_DATE_KEY]
    levels = compare_encoded(er, a, b).levels[:, list(ENCODED_FIELDS).index("birth_date")]
    dates = by_dates(levels, full[a], full[b], ENCODED_FIELDS["birth_date"])
    levels = res.comparisons.levels
    return (_seen_m(res.em.model.m, levels, ENCODED_FIELDS), res.em.sessions, dates,
            _seen_m(res.em.model.u, levels, ENCODED_FIELDS))


def _rounded(sessions: list[dict]) -> list[dict]:
    return [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.items()}
            for s in sessions]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--records", type=Path, help="a cached long-tail problem of that size")
    ap.add_argument("--part", choices=("both", "clear", "encoded", "u"), default="both",
                    help="which table to learn again (the other is kept as stored); u: the "
                         "u tables of both alone, the m tables kept")
    ap.add_argument("--out", type=Path, default=REPO / "src/safelight/link/default_m.json")
    args = ap.parse_args()
    if args.records:
        table = pq.read_table(args.records)
        person = np.load(args.records.with_name(args.records.name.replace("records_", "truth_")
                                                .replace(".parquet", ".npy")))
    else:
        p = generate_linkage_pairs(args.size, args.size, seed=args.seed, surname_tail=True)
        table, person = p.combined()
    doc = (json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists()
           and args.part != "both" else {})
    problem = {"size": args.size, "seed": args.seed, "population": "long-tail",
               "records": table.num_rows}
    doc["about"] = ("m learned by EM on safelight's generated two-source problem, in clear (m) "
                    "and encoded (encoded.m), and the u it scores with (u, encoded.u); see "
                    "safelight.link.default_m; regenerate with bench/linkage/default_m.py")
    if args.part in ("both", "clear", "u"):
        m, sessions, u = learned_m(table)
        if args.part != "u":
            doc.update({"problem": problem, "generated": date.today().isoformat(),
                        "sessions": _rounded(sessions), "m": m,
                        "birth_date_by_dates": clear_by_dates(table, person)})
        doc["u"] = u
    if args.part in ("both", "encoded", "u"):
        # the hub falls back to the stored encoded table only for a field it cannot fit, and
        # the 100k problem fits every field it holds: the table is learned afresh
        m, sessions, dates, u = learned_encoded_m(table, person)
        if args.part != "u":
            doc["encoded"] = {"problem": problem, "generated": date.today().isoformat(),
                              "sessions": _rounded(sessions), "m": m,
                              "birth_date_by_dates": dates}
        doc["encoded"]["u"] = u
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.part}; contributor's m and u are stored but never used)")


if __name__ == "__main__":
    main()
