"""Which true pairs does the PPRL hub's blocking lose, and why? A bench-side diagnostic.

Runs the hub's candidate generation (:func:`safelight.link.pprl.encoded_candidate_pairs`,
two-source: cross pairs only) on the packages of ``pprl_scale.py`` (``--packages``), or reads
the candidates ``pprl_ceiling.py`` kept (``--candidates``), and sorts every true pair that is
*not* a candidate (the generator's person ids: truth stays on the bench side) into one cause:

* **capped**: some keyed join (:data:`safelight.link.pprl.KEY_RULES`) has the pair in a block
  of more than ``max_block`` pairs, which kept each record's ``block_top_k`` best partners on
  the sketch, and the pair was not among them. For these it reports the true partner's rank
  from either end (the better of the two) and the block's size, for the smallest such block;
* **skipped**: only in blocks of more than ``max_sub_block`` pairs;
* **no rule**: no keyed join has the pair at all (the LSH fallback only asks for records no
  keyed join paired: *orphan* says whether one of the two was such a record).

For each cause it counts which fields differ, from the clear values on the bench side
(normalised as the contributor does: given name equal / same name group / other / missing;
family name; names swapped; birth year equal / off by one / other / missing; {day, month}
equal / other / missing). Only counts are printed or written: no clear value, no record id.

    PYTHONPATH=src python bench/linkage/pprl_blocking_misses.py --n 1000000 \\
        --packages /tmp/pprl1m/pkg --cache /tmp/safelight-pprl-cache \\
        [--candidates /tmp/pprl-ceiling/n1000000/candidates.npz] [--top-k 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from pprl_scale import package_persons  # a sibling script: the packages' truth by record id

from safelight.demo.linkage_pairs import persons_by_record
from safelight.identity.encode import _keys  # bench side: the contributor's normalisation
from safelight.link.encoded import EncodedRecords, read_packages
from safelight.link.pprl import KEY_RULES, PPRLSettings, encoded_candidate_pairs
from safelight.link.pprl_blocking import _score, join_pairs, make_sketch

log = logging.getLogger("safelight.bench.pprl_blocking_misses")


def true_pairs(pid: np.ndarray, contributor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every cross-contributor pair ``a < b`` of records of one person."""
    ones = np.ones(len(pid), dtype=bool)
    a, b, _ = join_pairs(pid, ones, pid, ones, same=True, sketch=None, contributor=contributor,
                         max_block=2**62, max_sub_block=2**62)
    return a, b


def _counts_by_side(key: np.ndarray, valid: np.ndarray, side: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys of the valid records of ``side``, their counts): sorted."""
    return np.unique(key[valid & side], return_counts=True)


def _count_of(values: np.ndarray, uniq: np.ndarray, counts: np.ndarray) -> np.ndarray:
    pos = np.clip(np.searchsorted(uniq, values), 0, max(len(uniq) - 1, 0))
    hit = (uniq[pos] == values) if len(uniq) else np.zeros(len(values), bool)
    return np.where(hit, counts[pos] if len(counts) else 0, 0)


def rule_blocks(er: EncodedRecords, la: np.ndarray, lb: np.ndarray, left: np.ndarray
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per keyed join: (block size in cross pairs, orientation 0/1) of each lost pair
    (``la`` on the left source, ``lb`` on the right), 0 where the join does not have it;
    of the two orientations of a crosswise join, the smaller block."""
    out = {}
    right = ~left
    for name, (x, y) in KEY_RULES.items():
        if x not in er.blocking or y not in er.blocking:
            continue
        kx, vx, ky, vy = (er.blocking[x], er.blocking_present[x], er.blocking[y],
                          er.blocking_present[y])
        size = np.zeros(len(la), dtype=np.int64)
        orient = np.zeros(len(la), dtype=np.int8)
        for o, (ka, va, kb, vb) in enumerate(((kx, vx, ky, vy), (ky, vy, kx, vx))):
            if o == 1 and x == y:
                break
            hit = va[la] & vb[lb] & (ka[la] == kb[lb])
            ua, ca = _counts_by_side(ka, va, left)
            ub, cb = _counts_by_side(kb, vb, right)
            s = np.where(hit, _count_of(ka[la], ua, ca) * _count_of(kb[lb], ub, cb), 0)
            better = (s > 0) & ((size == 0) | (s < size))
            size[better], orient[better] = s[better], o
        out[name] = (size, orient)
    return out


def partner_rank(er: EncodedRecords, sketch, name: str, orient: int, a: int, b: int,
                 left: np.ndarray) -> int:
    """The rank (0 = best) of the true partner among a record's partners in the block of the
    join ``name``, on the hub's sketch score: the better of the two ends."""
    x, y = KEY_RULES[name]
    xa, yb = (x, y) if orient == 0 else (y, x)
    ka, kb = er.blocking[xa], er.blocking[yb]
    va, vb = er.blocking_present[xa], er.blocking_present[yb]
    best = 1 << 30
    for me, other, kme, kother, vother, side in ((a, b, ka, kb, vb, ~left),
                                                 (b, a, kb, ka, va, left)):
        partners = np.flatnonzero(vother & side & (kother == kme[me]))
        score = _score(sketch, np.full(len(partners), me), sketch, partners)
        true = _score(sketch, np.array([me]), sketch, np.array([other]))[0]
        best = min(best, int((score > true).sum()))
    return best


def _bucket(v: int, edges: tuple[int, ...]) -> str:
    for lo, hi in zip(edges, edges[1:], strict=False):
        if lo <= v < hi:
            return f"{lo}-{hi - 1}"
    return f">={edges[-1]}"


def field_differences(left_t, right_t, ra: np.ndarray, rb: np.ndarray) -> list[dict]:
    """Per lost pair (``ra``: its left record's row of ``left_t``, ``rb``: its right record's
    row of ``right_t``): which fields differ, as categories (no value)."""
    kl, kr = _keys(left_t), _keys(right_t)
    out = []
    for i, j in zip(ra.tolist(), rb.tolist(), strict=True):
        g1, g2, f1, f2 = kl.given[i], kr.given[j], kl.family[i], kr.family[j]
        gr1, gr2 = kl.group[i], kr.group[j]
        swapped = bool(g1 and f2 and g2 and f1 and g1 == f2 and f1 == g2 and g1 != f1)
        given = ("missing" if not g1 or not g2 else "equal" if g1 == g2 else
                 "same group" if gr1 == gr2 else "other")
        family = "missing" if not f1 or not f2 else "equal" if f1 == f2 else "other"
        y1, y2 = int(kl.year[i]), int(kr.year[j])
        year = ("missing" if y1 < 0 or y2 < 0 else "equal" if y1 == y2 else
                "off by one" if abs(y1 - y2) == 1 else "other")
        md1 = (int(kl.month[i]), int(kl.day[i]))
        md2 = (int(kr.month[j]), int(kr.day[j]))
        if min(md1) < 1 or min(md2) < 1:
            md = "missing"
        elif md1 == (1, 1) or md2 == (1, 1):
            md = "placeholder 01-01" if md1 != md2 else "equal"
        else:
            md = ("equal" if md1 == md2 else "swapped" if md1 == md2[::-1] else "other")
        out.append({"given": "swapped" if swapped else given,
                    "family": "swapped" if swapped else family, "year": year,
                    "day_month": md})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--packages", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--candidates", type=Path, help="candidates.npz of pprl_ceiling.py "
                    "(same packages and settings): skips the blocking")
    ap.add_argument("--max-block", type=int, default=PPRLSettings.max_block)
    ap.add_argument("--top-k", type=int, default=PPRLSettings.block_top_k)
    ap.add_argument("--ranks", type=int, default=4000, help="lost capped pairs whose "
                    "partner rank is measured (a sample)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    where = args.packages / f"pprl_{args.n}_s{args.seed}"
    er = read_packages([where / "left.enc", where / "right.enc"])
    cache = args.cache / f"pprl_{args.n}_s{args.seed}"
    left_t, right_t = (pq.read_table(cache / f"{side}.parquet") for side in ("left", "right"))
    pid = package_persons(er, left_t, right_t, np.load(cache / "person.npy"))
    # each record's row in its source's table (a package holds its records in a random order)
    row_of = persons_by_record(er.contributor, er.record_id, {
        "left": (left_t.column("record_id").to_pylist(), np.arange(left_t.num_rows)),
        "right": (right_t.column("record_id").to_pylist(), np.arange(right_t.num_rows))})
    left = er.contributor == "left"
    n_left = int(left.sum())
    if not left[:n_left].all():
        raise SystemExit("expected the left package's records first")
    ta, tb = true_pairs(pid, er.contributor_code)
    settings = PPRLSettings(cross_only=True, one_to_one=True, max_block=args.max_block,
                            block_top_k=args.top_k)
    t0 = time.process_time()
    if args.candidates:
        c = np.load(args.candidates)
        a, b, rule = c["a"], c["b"], c["rule"]
    else:
        a, b, rule = encoded_candidate_pairs(er, settings)
    block_cpu = time.process_time() - t0
    n = len(er)
    paired = np.zeros(n, bool)
    keyed = rule < len(KEY_RULES)
    paired[a[keyed]] = True
    paired[b[keyed]] = True
    del keyed, rule
    cand = a * n  # candidates come sorted by (a, b): codes sorted, searched in place
    cand += b
    del a, b
    want = ta * n + tb
    pos = np.clip(np.searchsorted(cand, want), 0, len(cand) - 1)
    found = cand[pos] == want
    del cand, pos, want
    la, lb = ta[~found], tb[~found]
    log.info("%d true pairs, %d candidates' worth found, %d lost", len(ta), int(found.sum()),
             len(la))
    blocks = rule_blocks(er, la, lb, left)
    names = list(blocks)
    size = np.stack([blocks[k][0] for k in names], axis=1)  # (lost, rules)
    s = settings
    full = (size > 0) & (size <= s.max_block)
    capped = (size > s.max_block) & (size <= s.max_sub_block)
    skipped = size > s.max_sub_block
    cause = np.where(full.any(1), "in a full block (should not happen)",
                     np.where(capped.any(1), "capped (not in the top-k)",
                              np.where(skipped.any(1), "skipped (block over max_sub_block)",
                                       "no keyed rule")))
    orphan = ~paired[la] | ~paired[lb]
    diffs = field_differences(left_t, right_t, row_of[la], row_of[lb])
    report: dict = {"n": args.n, "true_pairs": len(ta), "found": int(found.sum()),
                    "lost": len(la), "blocking_recall": round(float(found.mean()), 5),
                    "blocking_cpu_s": round(block_cpu, 1), "causes": {}}
    for cz in np.unique(cause).tolist():
        m = cause == cz
        entry: dict = {"pairs": int(m.sum()), "share_of_true": round(m.sum() / len(ta), 5)}
        for part in ("given", "family", "year", "day_month"):
            entry[part] = dict(Counter(diffs[i][part] for i in np.flatnonzero(m)).most_common())
        patterns = Counter(tuple(diffs[i][p] for p in ("given", "family", "year", "day_month"))
                           for i in np.flatnonzero(m))
        entry["top_patterns (given, family, year, day_month)"] = [
            [list(k), v] for k, v in patterns.most_common(12)]
        if cz.startswith("capped"):
            sub = capped[m]
            entry["rules_capping_it"] = {names[j]: int(sub[:, j].sum())
                                         for j in np.argsort(-sub.sum(0)) if sub[:, j].any()}
            entry["capped_by_one_rule_only"] = int((sub.sum(1) == 1).sum())
            smallest = np.where(capped[m], size[m], np.iinfo(np.int64).max).min(1)
            entry["smallest_capped_block"] = dict(Counter(
                _bucket(int(v), (1001, 2001, 5001, 10001, 50001, 100001, 1_000_001))
                for v in smallest).most_common())
        if cz.startswith("no keyed"):
            entry["orphan (LSH asked)"] = int(orphan[m].sum())
        report["causes"][cz] = entry
    # ranks of the true partner in the smallest capped block (a sample)
    cap_rows = np.flatnonzero(cause == "capped (not in the top-k)")
    sketch = make_sketch(er.filters, s.seed) if len(cap_rows) else None
    rng = np.random.default_rng(0)
    sample = rng.choice(cap_rows, size=min(args.ranks, len(cap_rows)), replace=False)
    ranks, sizes = [], []
    for i in sample.tolist():
        sz = np.where(capped[i], size[i], np.iinfo(np.int64).max)
        j = int(np.argmin(sz))
        ranks.append(partner_rank(er, sketch, names[j], int(blocks[names[j]][1][i]),
                                  int(la[i]), int(lb[i]), left))
        sizes.append(int(sz[j]))
    if ranks:
        r = np.array(ranks)
        report["capped_partner_rank (0 = best; sample)"] = {
            "sampled": len(r),
            "histogram": dict(Counter(_bucket(int(v), (0, 5, 8, 11, 21, 51, 101, 501))
                                      for v in r).most_common()),
            "median": float(np.median(r)),
            "rank_lt_10_by_block": dict(Counter(
                _bucket(sz, (1001, 2001, 5001, 10001, 100001)) for sz, v in
                zip(sizes, r.tolist(), strict=True) if v < 10).most_common())}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
