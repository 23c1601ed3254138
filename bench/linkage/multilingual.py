"""Recall across scripts and transliterations: safelight vs splink vs plain string similarity.

The hand-written set ``tests/data/multilingual_names.csv`` (39 true pairs: Cyrillic against
Latin spellings, Arabic script and romanisations, Greek script and romanisations; 18
distractors) is embedded in a generated two-source population
(:func:`safelight.demo.linkage_pairs.generate_linkage_pairs`, ``--background`` records per
source) and linked by safelight (:func:`safelight.link.link_records`, default settings) and by
splink 5 (``splink_scale.py``, the configuration of ``scale.py``, on ``run_demo``'s cleaned
columns: Unicode folding and Cyrillic → Latin). Twice: with the birth dates as written, and
with only the birth year (names must carry the match). Reported: recall on the set's pairs, by
kind of pair; false links touching the set; and the recall of plain string similarity
(Jaro–Winkler ≥ 0.88 on the folded full name, no transliteration).

    PYTHONPATH=src python bench/linkage/multilingual.py --splink /tmp/vsplink/bin/python \
        [--background 2000] [--seed 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DATA = HERE.parent.parent / "tests" / "data" / "multilingual_names.csv"


def _splink_labels(python: str, table, work: Path) -> np.ndarray:
    from scale import _child, _splink_input

    inp, out = work / "ml_in.parquet", work / "ml_out.parquet"
    _splink_input(table, inp)
    _child([python, str(HERE / "splink_scale.py"), str(inp), str(out)])
    clusters = pq.read_table(out).to_pydict()
    labels = np.empty(table.num_rows, dtype=np.int64)
    labels[np.array(clusters["unique_id"])] = np.unique(
        np.array(clusters["cluster_id"], dtype=object).astype(str), return_inverse=True)[1]
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--background", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--splink", help="python interpreter with splink installed")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from safelight.demo.linkage_pairs import generate_linkage_pairs
    from safelight.demo.multilingual import (
        embed,
        load_name_pairs,
        pair_recall,
        string_similarity_found,
    )
    from safelight.link import link_records, pairwise_scores

    pairs = load_name_pairs(DATA)
    bg = generate_linkage_pairs(args.background, args.background, seed=args.seed)
    kinds = [k for _a, _b, k in pairs.true_pairs()]
    found = string_similarity_found(pairs)
    results: dict = {"string_similarity": {
        "recall": float(found.mean()),
        "by_kind": {k: float(np.mean([f for f, kk in zip(found, kinds, strict=True) if kk == k]))
                    for k in sorted(set(kinds))}}}
    with tempfile.TemporaryDirectory(prefix="safelight-bench-ml-") as tmp:
        for mode, p in (("as written", pairs), ("year only", pairs.year_only())):
            table, person, offset = embed(p, bg)
            res = link_records(table)
            results[f"safelight, {mode}"] = {**pair_recall(res.labels, p, offset),
                                             "background_f1": pairwise_scores(res.labels,
                                                                              person)["f1"]}
            if args.splink:
                lab = _splink_labels(args.splink, table, Path(tmp))
                results[f"splink, {mode}"] = {**pair_recall(lab, p, offset),
                                              "background_f1": pairwise_scores(lab,
                                                                               person)["f1"]}
    counts = {k: kinds.count(k) for k in sorted(set(kinds))}
    print(f"{len(kinds)} true pairs {counts}; background {args.background:,} x "
          f"{args.background:,} (seed {args.seed})\n")
    head = "".join(f"{k:>16}" for k in counts)
    print(f"{'':<26}{'recall':>8}{head}{'false links':>13}{'all F1':>8}")
    for name, r in results.items():
        by = "".join(f"{r['by_kind'][k] if name == 'string_similarity' else r['by_kind'][k]['recall']:>16.3f}"  # noqa: E501
                     for k in counts)
        extra = "" if name == "string_similarity" else \
            f"{r['false_links']:>13}{r['background_f1']:>8.3f}"
        print(f"{name:<26}{r['recall']:>8.3f}{by}{extra}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
