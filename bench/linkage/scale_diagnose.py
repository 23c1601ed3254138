"""What the two-source linkage at scale could recover: a ceiling and a breakdown of its errors.

Runs :func:`safelight.link.link_records` (``two_source=True``) on a cached problem of
``scale.py`` (``--cache DIR``, seed 1), keeps each candidate pair's comparison levels, match
weight, probability, whether it was linked and whether it is a true pair, and reports:

* the run's pair-level precision, recall and F1 (true pairs missed by blocking count as missed);
* the **oracle threshold**: the best F1 of the same weights over every threshold (each followed
  by the one-to-one step), chosen with the truth — what a perfect calibration of the prior
  would give;
* a **supervised ceiling**: gradient boosting (and logistic regression) on the same level
  vectors plus the two names' frequencies and each record's number of candidates, with
  out-of-fold predictions (two folds split by left record), threshold 0.5, then one-to-one;
* the errors broken down: false negatives and false positives by level pattern, by name
  frequency band, and whether a false negative lost to a rival in one-to-one or scored low.

Only counts and level names are printed: no identifier of any record. ``--save FILE.npz``
keeps the per-pair arrays (levels, weights, truth and the pairs' row indices into the
cached problem; no identifier) for further analysis, and
``--load FILE.npz`` analyses such a file without linking again.

    PYTHONPATH=src nice -n 5 python bench/linkage/scale_diagnose.py --size 1000000 \
        --cache /tmp/lk/cache [--save /tmp/lk/diag_1m.npz | --load /tmp/lk/diag_1m.npz]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from safelight.link.compare import FIELDS
from safelight.link.onetoone import one_to_one


def _f1(tp: int, pp: int, tt: int) -> dict[str, float]:
    p = tp / pp if pp else 1.0
    r = tp / tt if tt else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def _scores(kept: np.ndarray, true: np.ndarray, total_true: int) -> dict[str, float]:
    return _f1(int((kept & true).sum()), int(kept.sum()), total_true)


def _link(a: np.ndarray, b: np.ndarray, score: np.ndarray, above: np.ndarray) -> np.ndarray:
    """One-to-one among the pairs ``above`` the threshold, by ``score``."""
    idx = np.flatnonzero(above)
    kept = np.zeros(len(a), dtype=bool)
    kept[idx[one_to_one(a[idx], b[idx], score[idx])]] = True
    return kept


def run_link(size: int, cache: Path) -> dict[str, np.ndarray]:
    """Link the cached ``size`` problem and return the per-pair arrays (no identifiers)."""
    from safelight.link import LinkSettings, link_records
    from safelight.link.model import name_counts

    table = pq.read_table(cache / f"records_{size}_seed1.parquet")
    pid = np.load(cache / f"truth_{size}_seed1.npy")
    t0 = time.perf_counter()
    res = link_records(table, LinkSettings(two_source=True))
    print(f"linked in {time.perf_counter() - t0:.1f} s; prior {res.em.model.prior:.3g}; "
          f"stages {res.timings}", flush=True)
    c = res.comparisons
    counts = name_counts(res.records)
    freqs = {f: c / counts.size for f, c in counts.count.items()}
    n = len(res.records)
    cand_a = np.bincount(c.a, minlength=n)
    cand_b = np.bincount(c.b, minlength=n)
    return {
        "a": c.a, "b": c.b, "levels": c.levels, "swapped": c.swapped, "w": res.weights,
        "p": res.probabilities, "linked": res.linked, "true": pid[c.a] == pid[c.b],
        "fg_a": freqs["given_name"][c.a], "ff_a": freqs["family_name"][c.a],
        "fg_b": freqs["given_name"][c.b], "ff_b": freqs["family_name"][c.b],
        "cand_a": cand_a[c.a], "cand_b": cand_b[c.b],
        "prior": np.array(res.em.model.prior),
        "sessions": np.array(json.dumps(res.em.sessions)),
        "model": np.array(json.dumps(res.em.model.to_dict())),
    }


def _pattern_names(levels: np.ndarray) -> list[str]:
    names = list(FIELDS)
    out = []
    for row in levels:
        parts = [f"{names[j]}={'-' if v == 0 else FIELDS[names[j]][v - 1]}"
                 for j, v in enumerate(row) if names[j] != "contributor"]
        out.append(" ".join(parts))
    return out


def _pattern_codes(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct level rows and each row's index among them (rows packed into one integer:
    ``np.unique(axis=0)`` takes minutes on 35M rows)."""
    key = levels.astype(np.int64) @ (16 ** np.arange(levels.shape[1], dtype=np.int64))
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return levels[first], inv.ravel()


def _top_patterns(levels: np.ndarray, k: int) -> list[tuple[int, str]]:
    rows, inv = _pattern_codes(levels)
    counts = np.bincount(inv)
    order = np.argsort(-counts)[:k]
    return [(int(counts[i]), name) for i, name in zip(order, _pattern_names(rows[order]),
                                                     strict=True)]


def _features(d: dict[str, np.ndarray]) -> np.ndarray:
    lv = d["levels"].astype(np.float32)
    eps = 1e-7
    extra = np.stack([
        np.log10(np.maximum(d["fg_a"], eps)), np.log10(np.maximum(d["ff_a"], eps)),
        np.log10(np.maximum(d["fg_b"], eps)), np.log10(np.maximum(d["ff_b"], eps)),
        np.log10(d["cand_a"]), np.log10(d["cand_b"]), d["swapped"].astype(np.float32),
    ], axis=1).astype(np.float32)
    return np.concatenate([lv, extra], axis=1)


def supervised(d: dict[str, np.ndarray], total_true: int, max_train: int, seed: int = 0
               ) -> dict[str, dict]:
    """Out-of-fold gradient boosting and logistic regression (two folds by left record)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder

    x, y = _features(d), d["true"]
    fold = d["a"] % 2
    rng = np.random.default_rng(seed)
    out = {}
    n_fields = d["levels"].shape[1]
    for name in ("gradient_boosting", "logistic_regression"):
        pred = np.zeros(len(y))
        for f in (0, 1):
            tr = np.flatnonzero(fold != f)
            if len(tr) > max_train:
                tr = rng.choice(tr, max_train, replace=False)
            te = np.flatnonzero(fold == f)
            if name == "gradient_boosting":
                clf = HistGradientBoostingClassifier(
                    max_iter=200, learning_rate=0.1, categorical_features=list(range(n_fields)),
                    random_state=seed)
                clf.fit(x[tr], y[tr])
                for lo in range(0, len(te), 1 << 21):
                    part = te[lo:lo + (1 << 21)]
                    pred[part] = clf.predict_proba(x[part])[:, 1]
            else:
                enc = OneHotEncoder(handle_unknown="ignore")
                enc.fit(d["levels"][tr])
                xt = _sparse_join(enc.transform(d["levels"][tr]), x[tr, n_fields:])
                clf = LogisticRegression(max_iter=300, C=1.0)
                clf.fit(xt, y[tr])
                for lo in range(0, len(te), 1 << 21):
                    part = te[lo:lo + (1 << 21)]
                    pred[part] = clf.predict_proba(
                        _sparse_join(enc.transform(d["levels"][part]), x[part, n_fields:]))[:, 1]
        kept = _link(d["a"], d["b"], pred, pred >= 0.5)
        best = max((( _scores(_link(d["a"], d["b"], pred, pred >= t), y, total_true), t)
                    for t in (0.2, 0.3, 0.4, 0.6, 0.7)), key=lambda s: s[0]["f1"])
        out[name] = {"at_0.5": _scores(kept, y, total_true),
                     "best_threshold": best[1], "at_best": best[0]}
        print(f"{name}: {out[name]}", flush=True)
    return out


def _sparse_join(onehot, dense: np.ndarray):  # noqa: ANN001, ANN202 - sklearn's sparse types
    from scipy.sparse import csr_matrix, hstack

    return hstack([onehot, csr_matrix(dense)], format="csr")


def breakdown(d: dict[str, np.ndarray], total_true: int, k: int = 15) -> dict:
    """False negatives and false positives of the run, by level pattern, name frequency and
    one-to-one conflict."""
    y, linked, lv = d["true"], d["linked"], d["levels"]
    fn, fp = y & ~linked, ~y & linked
    out: dict = {}
    out["fn_in_candidates"] = int(fn.sum())
    out["true_not_in_candidates"] = int(total_true - y.sum())
    out["fp"] = int(fp.sum())
    # did a false negative score above 0.5 before the exclusive probability / one-to-one?
    plain = d["w"] >= 0
    lost_rival = fn & (d["p"] < 0.5) & plain
    low = fn & ~plain
    taken = fn & (d["p"] >= 0.5)
    out["fn_low_weight"] = int(low.sum())
    out["fn_weight_ok_but_rivals_lowered_p"] = int(lost_rival.sum())
    out["fn_above_threshold_lost_in_one_to_one"] = int(taken.sum())
    band = np.maximum(d["fg_a"], 1e-9) * np.maximum(d["ff_a"], 1e-9)
    edges = [0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1]
    out["fn_by_name_freq_product"] = {
        f"{lo:g}-{hi:g}": {"fn": int((fn & (band >= lo) & (band < hi)).sum()),
                           "tp": int((y & linked & (band >= lo) & (band < hi)).sum())}
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)}
    out["fn_patterns"] = _top_patterns(lv[fn], k)
    out["fn_low_weight_patterns"] = _top_patterns(lv[low], k)
    out["fp_patterns"] = _top_patterns(lv[fp], k)
    # how many candidates of the same pattern are true: the pattern's purity
    rows, inv = _pattern_codes(lv)
    n_pat = np.bincount(inv)
    t_pat = np.bincount(inv, weights=y)
    l_pat = np.bincount(inv, weights=linked)
    order = np.argsort(-np.bincount(inv, weights=fn))[:k]
    out["fn_pattern_purity"] = [
        {"pattern": name, "pairs": int(n_pat[i]), "true": int(t_pat[i]), "linked": int(l_pat[i]),
         "fn": int(np.bincount(inv, weights=fn)[i])}
        for i, name in zip(order, _pattern_names(rows[order]), strict=True)]
    return out


def oracle(d: dict[str, np.ndarray], total_true: int) -> dict:
    """Best F1 of the run's weights over thresholds (on the weight, then one-to-one), and of
    its exclusive probabilities."""
    y = d["true"]
    res = {}
    for name, score, grid in (("weight", d["w"], np.arange(-8, 12.1, 1.0)),
                              ("probability", d["p"], (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7))):
        best = None
        rows = []
        for t in grid:
            s = _scores(_link(d["a"], d["b"], d["w"], score >= t), y, total_true)
            rows.append((float(t), s["f1"]))
            if best is None or s["f1"] > best[1]["f1"]:
                best = (float(t), s)
        res[name] = {"best_threshold": best[0], "at_best": best[1], "curve": rows}
        print(f"oracle on {name}: {res[name]['best_threshold']} -> {res[name]['at_best']}",
              flush=True)
    return res


def oracle_model(d: dict[str, np.ndarray], total_true: int, n_left: int, n_right: int
                 ) -> dict:
    """The run's model with ``m`` measured on the true candidate pairs and/or the true prior
    (true pairs over left × right pairs): what a perfect EM would give with these levels."""
    from safelight.link.model import FellegiSunter
    from safelight.link.onetoone import exclusive_probability

    model = FellegiSunter.from_dict(json.loads(str(d["model"])))
    y, lv = d["true"], d["levels"]
    n = int(max(d["a"].max(), d["b"].max())) + 1
    m_true = []
    for j, names in enumerate(model.fields.values()):
        counts = np.bincount(lv[y, j], minlength=len(names) + 1).astype(np.float64)
        counts[0] = 0.0
        counts[1:] += 0.5
        m_true.append(counts / counts[1:].sum())
    prior_true = total_true / (n_left * n_right)
    out = {"prior_run": float(model.prior), "prior_true": prior_true}
    base = model.match_weight(lv)
    for name, m, prior in (("true_prior", model.m, prior_true), ("true_m", m_true, model.prior),
                           ("true_m_and_prior", m_true, prior_true)):
        alt = FellegiSunter(model.fields, m, model.u, prior, model.kin_u)
        w = d["w"] - base + alt.match_weight(lv)
        p = exclusive_probability(d["a"], d["b"], w, n)
        out[name] = _scores(_link(d["a"], d["b"], w, p >= 0.5), y, total_true)
        print(f"oracle model {name}: {out[name]}", flush=True)
    names = list(model.fields)
    out["m_run_vs_true"] = {
        f: {"run": [round(float(x), 4) for x in model.m[j][1:]],
            "true": [round(float(x), 4) for x in m_true[j][1:]]} for j, f in enumerate(names)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/lk/cache"))
    ap.add_argument("--save", type=Path)
    ap.add_argument("--load", type=Path)
    ap.add_argument("--max-train", type=int, default=2_000_000,
                    help="training pairs per fold for the supervised ceiling")
    ap.add_argument("--no-supervised", action="store_true")
    ap.add_argument("--only-oracle", action="store_true",
                    help="skip the breakdown and the supervised ceiling")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.load:
        with np.load(args.load) as z:
            d = {k: z[k] for k in z.files}
    else:
        d = run_link(args.size, args.cache)
        if args.save:
            np.savez(args.save, **d)
    meta = json.loads((args.cache / f"problem_{args.size}_seed1.json").read_text("utf-8"))
    total_true = int(meta["true_pairs"])
    report: dict = {"size": args.size, "prior": float(d["prior"]),
                    "sessions": json.loads(str(d["sessions"])),
                    "run": _scores(d["linked"], d["true"], total_true),
                    "blocking_recall": round(float(d["true"].sum()) / total_true, 4)}
    print(json.dumps(report, indent=1), flush=True)
    if not args.only_oracle:
        report["breakdown"] = breakdown(d, total_true)
        print(json.dumps(report["breakdown"], indent=1), flush=True)
        report["oracle"] = oracle(d, total_true)
    half = len(d["cand_a"]) and int(max(d["a"].max(), d["b"].max())) + 1
    report["oracle_model"] = oracle_model(d, total_true, half // 2, half - half // 2)
    print(json.dumps(report["oracle_model"]["m_run_vs_true"]), flush=True)
    if not (args.no_supervised or args.only_oracle):
        report["supervised"] = supervised(d, total_true, args.max_train)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), "utf-8")


if __name__ == "__main__":
    main()
