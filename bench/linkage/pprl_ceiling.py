"""How good can PPRL scoring get on the candidates it has? A bench-side diagnostic.

Runs the hub's blocking and comparison once on the packages of ``pprl_scale.py`` (``--packages``)
and keeps, in ``--work``, each candidate pair's comparison levels with its truth label (the
generator's person ids; the truth never reaches the linkage). Then it reports, on those same
levels:

* the **shipped model** (:func:`safelight.link.pprl.fit_encoded_model` and the name-pair
  term frequency, threshold 0.5, one-to-one), the model **before the tight sessions** (EM in
  clear's sessions, per-name term frequencies), each also with the **oracle-best threshold**;
* the **oracle Fellegi–Sunter model**: m counted on the true pairs among the candidates, u
  as shipped, the true prior — what EM would reach if it were exact;
* a **supervised classifier** on the same levels (and the hub's name-frequency estimates),
  trained on half the left records and scored on the other half, with the best threshold:
  the ceiling of any scoring of these levels;
* the **misses by level pattern**: the most frequent level patterns of the false negatives
  and false positives (level names only: no clear value exists at the hub or here).

    PYTHONPATH=src python bench/linkage/pprl_ceiling.py --n 1000000 \\
        --packages /tmp/pprl1m/pkg --cache /tmp/safelight-pprl-cache --work /tmp/pprl-ceiling

Every figure is pairwise against the truth, as in ``pprl_scale.py``. Stage 1 (blocking and
comparison, ~6 min at 1M) is cached in ``--work``; later runs only score.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from pprl_scale import package_persons  # a sibling script: the packages' truth by record id

from safelight.link.compare import Comparisons
from safelight.link.encoded import ENCODED_FIELDS, compare_encoded, name_frequencies, read_packages
from safelight.link.model import (
    COUNTRY_FIELDS,
    DEFAULT_SESSIONS,
    TF_FIELDS,
    FellegiSunter,
    TrainingPairs,
    estimate_model,
    estimate_u,
    tf_from_frequencies,
)
from safelight.link.onetoone import match_probability, one_to_one
from safelight.link.pprl import (
    PPRLSettings,
    encoded_candidate_pairs,
    encoded_training_pairs,
    fit_encoded_model,
    name_pair_frequencies,
    name_tf,
)

log = logging.getLogger("safelight.bench.pprl_ceiling")
FIELD_NAMES = list(ENCODED_FIELDS)


def _field_levels() -> dict[str, list[str]]:
    """The comparison's fields and their levels, as kept in ``meta.json``: a cache whose
    levels differ (a level added to a field) is computed again."""
    return {f: list(lv) for f, lv in ENCODED_FIELDS.items()}


def stage1(n: int, seed: int, packages: Path, cache: Path, work: Path,
           settings: PPRLSettings) -> None:
    """Block, compare and label once; everything the scoring needs goes to ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    problem = cache / f"pprl_{n}_s{seed}"
    true_pairs = int((problem / "true_pairs").read_text())
    where = packages / f"pprl_{n}_s{seed}"
    er = read_packages([where / "left.enc", where / "right.enc"])
    pid = package_persons(er, *(pq.read_table(problem / f"{side}.parquet", columns=["record_id"])
                                for side in ("left", "right")), np.load(problem / "person.npy"))
    t = time.process_time()
    a, b, rule = encoded_candidate_pairs(er, settings)
    comps = compare_encoded(er, a, b)
    cpu = time.process_time() - t
    truth = pid[a] == pid[b]
    np.savez(work / "candidates.npz", a=a, b=b, rule=rule, levels=comps.levels,
             swapped=comps.swapped, truth=truth)
    del comps
    u = estimate_u(er, n_pairs=settings.u_sample_pairs, seed=settings.seed,  # type: ignore[arg-type]
                   compare_fn=compare_encoded, fields=ENCODED_FIELDS,
                   across=er.contributor_code, compatriot_fields=COUNTRY_FIELDS)  # as the hub
    np.savez(work / "u.npz", *u)
    exact_u = {f: u[list(ENCODED_FIELDS).index(f)][1] for f in TF_FIELDS}
    freqs = name_frequencies(er, exact_u, seed=settings.seed, rows=a)
    np.savez(work / "freqs.npz", **freqs)
    np.save(work / "pair_freq.npy", name_pair_frequencies(er))
    ta, tb, training = encoded_training_pairs(er, settings)
    tl = compare_encoded(er, ta, tb)
    np.savez(work / "training.npz", a=ta, b=tb, levels=tl.levels, swapped=tl.swapped,
             truth=pid[ta] == pid[tb], **{f"drawn_{k}": v for k, v in training.drawn.items()})
    sizes = np.bincount(er.contributor_code).astype(np.float64)
    meta = {"n": n, "records": len(er), "true_pairs": true_pairs, "fields": _field_levels(),
            "cross_pairs": int((sizes.sum() ** 2 - (sizes ** 2).sum()) // 2),
            "training_totals": training.totals, "candidates": len(a),
            "true_in_candidates": int(truth.sum()), "blocking_compare_cpu_s": round(cpu, 1)}
    (work / "meta.json").write_text(json.dumps(meta, indent=2))
    log.info("stage 1: %s", meta)


class Saved:
    """What stage 1 kept."""

    def __init__(self, work: Path) -> None:
        c = np.load(work / "candidates.npz")
        self.a, self.b, self.rule = c["a"], c["b"], c["rule"]
        self.levels, self.swapped, self.truth = c["levels"], c["swapped"], c["truth"]
        self.freqs = dict(np.load(work / "freqs.npz"))
        self.pair_freq = np.load(work / "pair_freq.npy")
        u = np.load(work / "u.npz")
        self.u = [u[f"arr_{i}"] for i in range(len(u.files))]
        t = np.load(work / "training.npz")
        self.train = {k: t[k] for k in t.files}
        self.meta = json.loads((work / "meta.json").read_text())

    def comparisons(self) -> Comparisons:
        return Comparisons(self.a, self.b, self.levels, self.swapped)


def scores(links: np.ndarray, truth: np.ndarray, true_pairs: int) -> dict[str, float]:
    """Pairwise precision, recall and F1 of the linked candidate pairs ``links`` (mask)."""
    tp = int((links & truth).sum())
    p = tp / max(int(links.sum()), 1)
    r = tp / true_pairs
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4), "links": int(links.sum())}


def link_at(s: Saved, w: np.ndarray, threshold: float, sel: np.ndarray | None = None
            ) -> np.ndarray:
    """The one-to-one links of weights ``w`` at probability ``threshold`` (as the hub does)."""
    a, b = (s.a, s.b) if sel is None else (s.a[sel], s.b[sel])
    p = match_probability(a, b, w, s.meta["records"], exclusive=True)
    link = p >= threshold
    out = np.zeros(len(a), dtype=bool)
    keep = np.flatnonzero(link)[one_to_one(a[link], b[link], w[link])]
    out[keep] = True
    return out


def best_threshold(s: Saved, w: np.ndarray, truth: np.ndarray, true_pairs: int,
                   sel: np.ndarray | None = None, grid: np.ndarray | None = None
                   ) -> tuple[float, dict[str, float]]:
    """The threshold (from the truth: an oracle) with the best F1, and its scores."""
    grid = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.97]) if grid is None else grid
    best = (0.0, {"f1": -1.0})
    for t in grid:
        sc = scores(link_at(s, w, float(t), sel), truth, true_pairs)
        if sc["f1"] > best[1]["f1"]:
            best = (float(t), sc)
    return best


def pattern_table(levels: np.ndarray, mask: np.ndarray, top: int) -> list[dict]:
    """The ``top`` most frequent level patterns among ``mask`` (level names only)."""
    rows, counts = np.unique(levels[mask], axis=0, return_counts=True)
    order = np.argsort(-counts)[:top]
    out = []
    for i in order:
        pat = {f: ("missing" if lv == 0 else ENCODED_FIELDS[f][lv - 1])
               for f, lv in zip(FIELD_NAMES, rows[i].tolist(), strict=True)
               if f != "contributor" and lv != 0}
        out.append({"count": int(counts[i]), "levels": pat})
    return out


def fitted_models(s: Saved) -> tuple[FellegiSunter, FellegiSunter]:
    """(the model :func:`safelight.link.pprl.link_encoded` fits, the one it fitted before the
    tight sessions: EM in clear's sessions, same date and same names) from the saved pairs."""
    t = s.train
    drawn = {k[6:]: t[k] for k in t if k.startswith("drawn_")}
    training = TrainingPairs(drawn, s.meta["training_totals"])
    comps = Comparisons(t["a"], t["b"], t["levels"], t["swapped"])
    shipped = fit_encoded_model(_Sized(s.meta["records"]), comps, training,  # type: ignore[arg-type]
                                s.u, s.meta["cross_pairs"])
    before = estimate_model(_Sized(s.meta["records"]), comps, u=s.u,  # type: ignore[arg-type]
                            sessions=DEFAULT_SESSIONS, fields=ENCODED_FIELDS, training=training,
                            all_pairs=s.meta["cross_pairs"])
    return shipped.model, before.model


class _Sized:
    """Stands for the records where only their number is read."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def oracle_model(s: Saved) -> FellegiSunter:
    """m from the true pairs among the candidates, the shipped u, the true prior."""
    m = []
    lv = s.levels[s.truth]
    for j, names in enumerate(ENCODED_FIELDS.values()):
        c = np.bincount(lv[:, j], minlength=len(names) + 1).astype(np.float64)
        c[0] = 0
        c[1:] += 0.5
        m.append(c / c[1:].sum())
    prior = s.meta["true_pairs"] / s.meta["cross_pairs"]
    return FellegiSunter(dict(ENCODED_FIELDS), m, s.u, prior)


def supervised(s: Saved, true_pairs: int) -> dict:
    """A gradient-boosted classifier on the levels (one-hot by tree splits) and the log name
    frequencies, trained on the pairs of even left records, scored on the odd ones (each half
    against its own share of the true pairs)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    def features(idx: np.ndarray) -> np.ndarray:
        fg = np.nan_to_num(s.freqs["given_name"][s.a[idx]], nan=1.0)
        ff = np.nan_to_num(s.freqs["family_name"][s.a[idx]], nan=1.0)
        return np.concatenate([s.levels[idx].astype(np.float32),
                               np.log10(fg + 1e-7)[:, None], np.log10(ff + 1e-7)[:, None],
                               s.swapped[idx, None].astype(np.float32)], axis=1)

    train = (s.a % 2) == 0
    rng = np.random.default_rng(0)
    idx = np.flatnonzero(train)
    # keep every true pair, a sample of the rest (reweighted back to its share)
    neg = idx[~s.truth[idx]]
    keep_neg = rng.choice(neg, size=min(len(neg), 3_000_000), replace=False)
    fit = np.concatenate([idx[s.truth[idx]], keep_neg])
    weight = np.where(s.truth[fit], 1.0, len(neg) / len(keep_neg))
    del idx, neg
    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=63,
                                         categorical_features=list(range(len(FIELD_NAMES))),
                                         random_state=0)
    clf.fit(features(fit), s.truth[fit], sample_weight=weight)
    test = ~train
    tidx = np.flatnonzero(test)
    proba = np.concatenate([clf.predict_proba(features(tidx[i:i + 2_000_000]))[:, 1]
                            for i in range(0, len(tidx), 2_000_000)])
    proba = np.clip(proba, 1e-9, 1 - 1e-9)
    w = np.log2(proba / (1 - proba))  # posterior log2 odds of each pair alone
    # the true pairs of the test half: those whose left record is odd (a is the left record)
    half_true = true_pairs * s.truth[test].sum() / max(s.truth.sum(), 1)
    thr, sc = best_threshold(s, w, s.truth[test], int(round(half_true)), sel=test)
    return {"threshold": thr, **sc}


def analyse(work: Path, top: int) -> dict:
    s = Saved(work)
    tp = s.meta["true_pairs"]
    out: dict = {"meta": s.meta}
    comps = s.comparisons()
    shipped, before = fitted_models(s)
    wb = before.match_weight(s.levels) + tf_from_frequencies(before, s.freqs, comps, summed=True)
    out["before_tight_sessions"] = {"prior": before.prior,
                                    **scores(link_at(s, wb, 0.5), s.truth, tp)}
    thr, sc = best_threshold(s, wb, s.truth, tp)
    out["before_tight_sessions_best_threshold"] = {"threshold": thr, **sc}
    del wb
    w = shipped.match_weight(s.levels) + name_tf(shipped, s.freqs, s.pair_freq, comps,
                                                 summed=True)
    links = link_at(s, w, 0.5)
    out["shipped"] = {"prior": shipped.prior, **scores(links, s.truth, tp)}
    thr, sc = best_threshold(s, w, s.truth, tp)
    out["shipped_best_threshold"] = {"threshold": thr, **sc}
    oracle = oracle_model(s)
    wo = oracle.match_weight(s.levels) + tf_from_frequencies(oracle, s.freqs, comps, summed=True)
    out["oracle_fs"] = {"prior": oracle.prior, **scores(link_at(s, wo, 0.5), s.truth, tp)}
    thr, sc = best_threshold(s, wo, s.truth, tp)
    out["oracle_fs_best_threshold"] = {"threshold": thr, **sc}
    out["supervised_half"] = supervised(s, tp)
    out["false_negatives_in_candidates"] = pattern_table(s.levels, s.truth & ~links, top)
    out["false_positives"] = pattern_table(s.levels, ~s.truth & links, top)
    out["m_shipped_vs_oracle"] = {
        f: {"shipped": np.round(shipped.m[j][1:], 3).tolist(),
            "oracle": np.round(oracle.m[j][1:], 3).tolist(),
            "u": np.round(s.u[j][1:], 4).tolist()}
        for j, f in enumerate(FIELD_NAMES)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--packages", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    work = args.work / f"n{args.n}"
    stale = ((work / "meta.json").is_file() and json.loads((work / "meta.json").read_text())
             .get("fields") != _field_levels())
    if stale:
        log.warning("%s holds levels of other comparison fields or levels: computed again",
                    work)
    if stale or not (work / "meta.json").is_file():
        stage1(args.n, args.seed, args.packages, args.cache, work,
               PPRLSettings(cross_only=True, one_to_one=True))
    out = analyse(work, args.top)
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
