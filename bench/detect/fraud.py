"""Recruitment-fraud benchmark on the EMSCAD sample: near-duplicate-grouped k-fold CV.

Reads the two balanced EMSCAD files in place (``../shared/data/ads/emscad_variants``; all 866
fraudulent ads and 1,000 random legitimate ones), groups near-duplicates with the project's own
template clustering, and runs safelight's classifier and the TF-IDF + linear SVM baseline on the
same grouped folds in one run. It also reports how the same models score on random
(ungrouped) folds, to show how much near-duplicates inflate a careless evaluation, and the
indicator lexicon's combined score on the same ads (English only; the texts have lost their
stop words, so phrase terms match less than in raw ads).

    python bench/detect/fraud.py                      # 5 folds, grouping threshold 0.3
    python bench/detect/fraud.py --group-threshold 0.5 --no-random \
        --out bench/detect/results/fraud_group05.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Run the benchmark and write ``results/fraud_latest.json``."""
    from safelight.detect.fraud import (
        REAL_FRAUD_RATE,
        evaluate,
        load_emscad,
        near_duplicate_groups,
    )
    from safelight.detect.indicators import load_lexicon, score_text

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder with the EMSCAD files")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--group-threshold", type=float, default=0.3)
    ap.add_argument("--no-random", action="store_true", help="skip the random-fold comparison")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "fraud_latest.json")
    args = ap.parse_args()

    texts, y = load_emscad(args.data)
    t = time.perf_counter()
    groups = near_duplicate_groups(texts, args.group_threshold)
    group_s = time.perf_counter() - t
    sizes = np.bincount(groups)
    in_group = sizes[groups] > 1
    out: dict[str, object] = {
        "ads": len(texts), "fraudulent": int(y.sum()), "folds": args.folds,
        "group_threshold": args.group_threshold, "groups": int(len(sizes)),
        "fraudulent_with_near_duplicate": float(in_group[y == 1].mean()),
        "legitimate_with_near_duplicate": float(in_group[y == 0].mean()),
        "grouping_s": round(group_s, 2), "real_fraud_rate": REAL_FRAUD_RATE,
    }
    t = time.perf_counter()
    out["grouped"] = evaluate(texts, y, groups, folds=args.folds)
    out["grouped_s"] = round(time.perf_counter() - t, 1)
    if not args.no_random:
        out["random"] = evaluate(texts, y, np.arange(len(y)), folds=args.folds)
    lex = load_lexicon()
    scores = [score_text(x, lex) for x in texts]
    s = np.array([r.score for r in scores])
    flagged = np.array([r.flagged for r in scores])
    from sklearn.metrics import roc_auc_score

    hit = np.array([bool(r.indicators) for r in scores])
    out["indicators"] = {"auc": float(roc_auc_score(y, s)),
                         "any_hit_fraud": float(hit[y == 1].mean()),
                         "any_hit_legit": float(hit[y == 0].mean()),
                         "flagged_fraud": float(flagged[y == 1].mean()),
                         "flagged_legit": float(flagged[y == 0].mean())}
    out["command"] = "python bench/detect/fraud.py " + " ".join(sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2), "utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
