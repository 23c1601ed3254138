"""Blocking diagnosis on a generated two-source problem: what each rule costs and finds, and
which true pairs no rule finds.

Reads the N × N problems that ``scale.py --cache DIR`` keeps (``records_N_seedS.parquet`` and
``truth_N_seedS.npy``; run ``scale.py`` once with ``--cache`` to make them), normalises the
records (:func:`safelight.link.prepare.prepare`) and runs each blocking rule on its own
(:func:`safelight.link.blocking.pairs_by_rule`, pairs across the two sources as
``LinkSettings(two_source=True)`` does, or all pairs with ``--all-pairs``). It prints

* per rule: its candidate pairs, the true pairs among them, the pairs and true pairs that no
  other rule proposes (its *unique* contribution to candidates and to recall), its join blocks
  over its cap (``--max-block``, default :data:`~safelight.link.blocking.MAX_BLOCK`, times the
  rule's ``cap_share``; 0: no cap) and the (sub-)blocks it skipped, and its CPU-s;
* the union: candidates, blocking recall (true pairs among candidates / all true pairs), CPU-s
  and peak RSS of the process;
* the missed true pairs grouped by the signature of their fields (``=`` same key, ``~`` differ,
  ``.`` missing on either side), most common first;
* the *names-only* misses: pairs whose names agree (given-name group and family name, straight
  or crosswise, or one of them with the other missing) and nothing else does (no birth year
  on a side, or years more than one apart; no phone, document or address in common) — each
  a namesake among all who share its names — and what finding them would cost: the pairs of
  a rule joining the names alone whose records lack a birth year on a side (``names_only``);
* with ``--examples K`` (default 0) also K
  examples of the largest groups — their names, dates, phones and addresses in clear, so the
  option is for the generated problems only and the examples never go into ``--json``.

    PYTHONPATH=src python bench/linkage/blocking_recall.py --sizes 10000 100000 \
        --cache /tmp/lk/cache [--seed 1] [--all-pairs] [--max-block N] [--examples 3] \
        [--json out.json]

CPU seconds are the process's user + system time; on a shared machine they are the steadier
measure, but still noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from safelight.link.blocking import DEFAULT_RULES, MAX_BLOCK, BlockingRule, pairs_by_rule
from safelight.link.prepare import Records, prepare

#: the fields of a missed pair's signature: name → Records columns compared (all equal → "=")
FIELDS: dict[str, tuple[str, ...]] = {
    "given": ("given",), "given_group": ("given_group",), "family": ("family",),
    "year": ("birth_year",), "month_day": ("birth_month", "birth_day"), "phone": ("phone",),
    "document": ("document",), "locality": ("locality",), "postcode": ("postcode",),
    "street": ("address_line",), "number": ("street_number",),
}


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def true_pair_codes(pid: np.ndarray, contributor: np.ndarray | None) -> np.ndarray:
    """Sorted codes ``a * n + b`` (a < b) of the record pairs of one person (across
    contributors when ``contributor`` is given)."""
    n = len(pid)
    order = np.argsort(pid, kind="stable")
    sp = order[np.r_[True, pid[order][1:] != pid[order][:-1]]]  # first record of each person
    starts = np.searchsorted(pid[order], pid[sp])
    ends = np.searchsorted(pid[order], pid[sp], "right")
    out = []
    for size in np.unique(ends - starts):
        if size < 2:
            continue
        sel = starts[ends - starts == size]
        for i in range(size):
            for j in range(i + 1, size):
                a, b = order[sel + i], order[sel + j]
                out.append(np.minimum(a, b) * n + np.maximum(a, b))
    codes = np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)
    if contributor is not None:
        codes = codes[contributor[codes // n] != contributor[codes % n]]
    return codes


def _state(records: Records, cols: tuple[str, ...], a: np.ndarray, b: np.ndarray
           ) -> np.ndarray:
    """Per pair: "=" all columns equal, "." a value missing on either side, "~" otherwise."""
    missing = np.zeros(len(a), bool)
    equal = np.ones(len(a), bool)
    for c in cols:
        v = records.codes.column[c] if c in records.codes.column else getattr(records, c)
        missing |= (v[a] < 0) | (v[b] < 0)
        if c in ("birth_month", "birth_day"):
            missing |= (v[a] == 0) | (v[b] == 0)
        equal &= v[a] == v[b]
    return np.where(missing, ".", np.where(equal, "=", "~"))


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a sorted ``sorted_set``, by binary search (at 1M
    the rules' tens of millions of pair codes against the union took minutes with ``np.isin``,
    which sorts both sides again for every rule)."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def diagnose(records: Records, pid: np.ndarray, *, cross_only: bool = True,
             examples: int = 3, table=None,
             rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
             max_block: int | None = MAX_BLOCK) -> dict:
    """The per-rule table, the union's figures and the missed pairs' signatures (see the
    module docstring), as a dict."""
    n = len(records)
    contributor = records.codes.column["contributor"] if cross_only else None
    truth = true_pair_codes(pid, contributor)
    cpu0, t0 = _cpu(), time.perf_counter()
    per_rule, cpu_rule, skipped = {}, {}, {}
    for rule in rules:
        c0 = _cpu()
        per_rule.update(pairs_by_rule(records, (rule,), cross_only=cross_only,
                                      max_block=max_block, skipped=skipped))
        cpu_rule[rule.name] = _cpu() - c0
    allc = np.concatenate(list(per_rule.values()))
    uniq, counts = np.unique(allc, return_counts=True)
    cpu_union, wall_union = _cpu() - cpu0, time.perf_counter() - t0
    once = uniq[counts == 1]  # sorted, as uniq is
    truth = np.unique(truth)
    found = _member(truth, uniq)
    by_name = {rule.name: rule for rule in rules}
    rules = []
    for name, codes in per_rule.items():
        is_true = _member(codes, truth)
        alone = _member(codes, once)
        rules.append({"rule": name, "pairs": int(len(codes)), "true": int(is_true.sum()),
                      "unique_pairs": int(alone.sum()), "unique_true": int((alone & is_true).sum()),
                      "capped_blocks": skipped[name][0], "skipped_blocks": skipped[name][1],
                      "skipped_pairs": skipped[name][2],
                      "cap": None if max_block is None else max(
                          1, round(max_block * by_name[name].cap_share)),
                      "cpu_s": round(cpu_rule[name], 2)})
    missed = truth[~found]
    a, b = missed // n, missed % n
    states = np.stack([_state(records, cols, a, b) for cols in FIELDS.values()], axis=1)
    sig = ["".join(row) for row in states]
    groups = Counter(sig).most_common()
    ex = {}
    if table is not None and examples:
        show = ["given_name", "family_name", "birth_year", "birth_month", "birth_day", "phone",
                "document_number", "locality", "postcode", "address_line", "street_number"]
        show = [c for c in show if c in table.column_names]
        for s, _ in groups[:5]:
            idx = [i for i, x in enumerate(sig) if x == s][:examples]
            ex[s] = [[{c: table.column(c)[int(r)].as_py() for c in show} for r in (a[i], b[i])]
                     for i in idx]
    per_field = {f: Counter(states[:, k].tolist()) for k, f in enumerate(FIELDS)}
    names_only = _names_only(records, a, b, contributor)
    return {"records": n, "true_pairs": int(len(truth)), "candidates": int(len(uniq)),
            "found": int(found.sum()), "recall": float(found.mean()) if len(truth) else 1.0,
            "cpu_s": round(cpu_union, 2), "wall_s": round(wall_union, 2),
            "peak_rss_mb": round(_peak_mb(), 1), "rules": rules,
            "missed_signatures": groups, "missed_by_field": per_field,
            "names_only": names_only, "examples": ex}


def _names_only(records: Records, a: np.ndarray, b: np.ndarray, contributor: np.ndarray | None
                ) -> dict:
    """Of the missed pairs ``(a, b)``: how many agree on their names alone (see the module
    docstring), and how many candidate pairs a rule on the names alone (given-name group and
    family name, either order) would propose for the records without a birth year on a
    side — what it would take to find those."""
    col = records.codes.column
    g, f = col["given_group"], col["family"]
    gf = col["family_group"]  # the family name read as a given name, for swapped names

    def same(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x[a] >= 0) & (x[a] == y[b])

    straight = same(g, g) & same(f, f)
    crossed = same(g, gf) & same(f, col["given"]) | same(gf, g) & same(col["given"], f)
    one_missing = ((f[a] < 0) | (f[b] < 0)) & (same(g, g) | same(g, gf) | same(gf, g))
    y = records.birth_year.astype(np.int64)
    no_year = (y[a] < 0) | (y[b] < 0) | (np.abs(y[a] - y[b]) > 1)
    other = np.zeros(len(a), bool)
    for c in ("phone", "document", "address_line", "postcode", "locality"):
        other |= same(col[c], col[c])
    names = (straight | crossed | one_missing) & no_year & ~other
    # the names-alone rule's pairs with a record lacking a year: per name key (the name
    # groups of both names in either order), per side
    key = np.where((g >= 0) & (gf >= 0), np.minimum(g, gf).astype(np.int64) * (1 << 31)
                   + np.maximum(g, gf), -1)
    side = contributor if contributor is not None else np.zeros(len(g), np.int32)
    ok = (key >= 0) & (side >= 0)
    _, k = np.unique(key[ok], return_inverse=True)
    s, missing = side[ok], y[ok] < 0
    size = int(k.max()) + 1 if len(k) else 0
    count = [np.bincount(k[s == v], minlength=size) for v in (0, 1)]
    lacking = [np.bincount(k[(s == v) & missing], minlength=size) for v in (0, 1)]
    if contributor is not None:
        pairs = lacking[0] * count[1] + count[0] * lacking[1] - lacking[0] * lacking[1]
    else:  # one source: pairs within a key with a record lacking a year
        total, lack = count[0], lacking[0]
        pairs = lack * (total - lack) + lack * (lack - 1) // 2
    return {"missed": int(names.sum()), "pairs_to_reach": int(pairs.sum())}


def _show(r: dict) -> None:
    print(f"\n== {r['records']:,} records: {r['true_pairs']:,} true pairs, "
          f"{r['candidates']:,} candidates, recall {r['recall']:.4f} "
          f"(missed {r['true_pairs'] - r['found']:,}), blocking {r['cpu_s']:.1f} CPU-s, "
          f"peak {r['peak_rss_mb']:,.0f} MB")
    print(f"{'rule':<28}{'pairs':>12}{'true':>9}{'uniq pairs':>12}{'uniq true':>10}"
          f"{'cap':>6}{'capped':>8}{'skipped':>8}{'CPU s':>7}")
    for x in r["rules"]:
        print(f"{x['rule']:<28}{x['pairs']:>12,}{x['true']:>9,}{x['unique_pairs']:>12,}"
              f"{x['unique_true']:>10,}{x['cap'] or '-':>6}{x['capped_blocks']:>8,}"
              f"{x['skipped_blocks']:>8,}"
              f"{x['cpu_s']:>7.2f}")
    print("missed, by field (= same, ~ differ, . missing):")
    for f, c in r["missed_by_field"].items():
        print(f"  {f:<12} = {c.get('=', 0):>5}  ~ {c.get('~', 0):>5}  . {c.get('.', 0):>5}")
    no = r["names_only"]
    print(f"missed namesakes (names alone agree): {no['missed']:,}; a names-alone rule would "
          f"add up to {no['pairs_to_reach']:,} pairs for the records without a birth year")
    print("missed, by signature (" + " ".join(FIELDS) + "):")
    for s, k in r["missed_signatures"][:25]:
        print(f"  {' '.join(s)}  {k}")
    for s, pairs in r["examples"].items():
        print(f"  e.g. {s}:")
        for left, right in pairs:
            print(f"    {left}\n    {right}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, required=True, help="scale.py's --cache directory")
    ap.add_argument("--all-pairs", action="store_true",
                    help="pairs within a source too (the default, clustering mode)")
    ap.add_argument("--examples", type=int, default=0,
                    help="print K missed pairs of the largest groups, identifiers in clear "
                         "(generated data only; never written to --json)")
    ap.add_argument("--max-block", type=int, default=MAX_BLOCK,
                    help="skip join blocks of more pairs than this (0: never)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = []
    for n in args.sizes:
        stem = f"{n}_seed{args.seed}"
        table = pq.read_table(args.cache / f"records_{stem}.parquet")
        pid = np.load(args.cache / f"truth_{stem}.npy")
        c0 = _cpu()
        records = prepare(table)
        prep = _cpu() - c0
        r = diagnose(records, pid, cross_only=not args.all_pairs, examples=args.examples,
                     table=table, max_block=args.max_block or None)
        r["prepare_cpu_s"] = round(prep, 2)
        _show(r)
        out.append(r)
        if args.json:  # the examples hold identifiers in clear: printed, never written
            safe = [{k: v for k, v in x.items() if k != "examples"} for x in out]
            args.json.write_text(json.dumps(safe, indent=2, default=str), "utf-8")


if __name__ == "__main__":
    main()
