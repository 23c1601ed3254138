"""What privacy-preserving linkage costs when the hub must not see birth years (issue #5).

The statistical chain attack (``year_chain.py``, ``attack.py --year-chain``) recovers the exact
birth year of most records from what a hub holds: the keys over the year, the two-year window
keys and the year tokens of the birth-date filters. The way to close it for good is that
nothing a contributor sends depends on the year. This bench measures the recall that costs.

**How the year is removed.** The encoder (:mod:`safelight.identity.encode`) cannot represent a
date without a year: ``_date_tokens`` gives no tokens at all when the year is missing, and a
"real" date (the {day, month} parts of the keys) needs a year, so a record whose year is blank
loses its day and month with it. Two yearless variants, encoded with the unchanged encoder:

* ``yearless`` (:func:`strip_year`, the faithful emulation): every record that has a valid
  birth month gets one fixed year, :data:`YEARLESS_YEAR`; the others get none. The year, decade
  and year-month tokens of the filter are then the same for every dated record, and each key
  over the year is the same key without it (family + year → family; full date + initial →
  {day, month} + initial; the two-year windows → the names alone): the hub sees day and month
  (and which records have them) and nothing that varies with the year. This is the current
  encoder and hub, default settings, run on dates that hold no year — not a redesigned
  yearless rule set.
* ``yearless-strict``: ``yearless`` without the keys it turns into a name alone
  (:data:`NAME_ALONE_KEYS`: family + year → the family name, name group + year → the group,
  which a frequency attack on keys re-identifies for a third of the records or more — the
  docs' rule is that no key holds a name alone). The contributor withholds those columns
  (null for every record); the hub is unchanged.
* ``no date`` (:func:`drop_year`): the year left blank, as a contributor could do today with no
  change to safelight — the encoder then drops day and month too (the lower bound).

``tests/test_link_yearless_bench.py`` checks that the yearless variants' packages are byte-identical
(seeded flips) for two inputs that differ only in their birth years, so no key or filter can
carry the year.

For each size and population, one child process loads the problem of ``pprl_scale.py``
(:func:`pprl_scale.problem`, its cache), encodes both sources per variant
(:func:`pprl_scale.encode`, one new key per variant) and runs the hub's default two-source
linkage on each variant in turn (``--repeats`` times; CPU seconds are medians), then the
year-chain attack on each variant's packages: every key set of :func:`year_chain.key_sets`
and the hub's own links of that variant, both weightings, scored on the *true* years (which the
yearless packages do not hold), with the exact public year distribution; and the separation of
same-year birth-date filters (:func:`year_chain.filter_year_separation`); and the frequency
attack on the name-bearing keys (:func:`attack.attack_keys`: exact joint frequencies, the worst
case) on the left source, the worst key's share of all records re-identified.

    PYTHONPATH=src python bench/linkage/yearless.py --sizes 10000 100000 \
        [--population demo|long-tail] [--cache /tmp/yearless-cache] \
        [--packages /tmp/yearless-cache/packages] [--repeats 3] [--json out.json]

Memory: the variants share one process, so ``hub_peak_rss_mb`` (resident memory sampled every
0.2 s during the hub's runs) includes what the process held before them (``rss_before_mb``,
taken before the last repeat: an upper bound of the hub's own peak, which a fresh process
that links the kept ``--packages`` measures exactly).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pprl_scale import (  # noqa: E402
    PeakRSS,
    _stem,
    answer_as_worker,
    encode,
    package_persons,
    problem,
)

#: the one year every dated record gets in the ``yearless`` variant: any constant will do (it
#: is the same for every record, so no token or key that holds it tells two records apart)
YEARLESS_YEAR = 2000


def strip_year(table: pa.Table) -> pa.Table:
    """``table`` with its birth years replaced by :data:`YEARLESS_YEAR` where the record has a
    valid birth month (1–12: the encoder ignores any other) and by null elsewhere: day and
    month survive the encoder, the year does not (module docstring)."""
    month = table.column("birth_month")
    dated = pc.fill_null(pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12)), False)
    year = table.column("birth_year")
    fixed = pc.if_else(dated, pa.scalar(YEARLESS_YEAR, year.type), pa.scalar(None, year.type))
    return table.set_column(table.schema.get_field_index("birth_year"), "birth_year", fixed)


def drop_year(table: pa.Table) -> pa.Table:
    """``table`` with every birth year null (the encoder then drops day and month too)."""
    year = table.column("birth_year")
    return table.set_column(table.schema.get_field_index("birth_year"), "birth_year",
                            pa.nulls(table.num_rows, year.type))


#: the keys that :func:`strip_year` turns into a name alone (family name; name group), with the
#: open keys of their spaces: aligned with the exact name frequencies (``attack.attack_keys``),
#: ``given_year`` re-identifies 41.5% and ``family_year`` 31.3% of a 10k demo source without
#: the year, against 3.0% and 2.2% with it (the worst other key: 9.7%, ``name_as_family``)
NAME_ALONE_KEYS = ("family_year", "family_year_open_given", "family_year_open_date",
                   "given_year", "given_year_open_date")


def withhold_keys(table: pa.Table, rules: tuple[str, ...]) -> pa.Table:
    """An encoded ``table`` with the ``bk_<rule>`` columns of ``rules`` null for every record."""
    for rule in rules:
        i = table.schema.get_field_index(f"bk_{rule}")
        table = table.set_column(i, f"bk_{rule}", pa.nulls(table.num_rows, pa.int64()))
    return table


@dataclass(frozen=True)
class Variant:
    """What the contributors do: ``prepare`` their table before encoding, and send no
    ``withheld`` key columns."""

    prepare: Callable[[pa.Table], pa.Table]
    withheld: tuple[str, ...] = ()


VARIANTS: dict[str, Variant] = {
    "with year": Variant(lambda t: t),
    "yearless": Variant(strip_year),
    "yearless-strict": Variant(strip_year, NAME_ALONE_KEYS),
    "no date": Variant(drop_year),
}


def _withhold(paths: list[Path], rules: tuple[str, ...]) -> None:
    """Rewrite the packages ``paths`` without the key columns of ``rules``."""
    from safelight.identity.encode import MANIFEST, RECORDS, Encoded, write_package

    for path in paths:
        table = pq.read_table(path / RECORDS)
        if all(table.column(f"bk_{r}").null_count == table.num_rows for r in rules):
            continue  # done in an earlier run
        manifest = json.loads((path / MANIFEST).read_text("utf-8"))
        write_package(Encoded(withhold_keys(table, rules), manifest), path)


def _rss_mb() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return round(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20)


def hub_run(paths: list[Path], sources: tuple[pa.Table, pa.Table], pid: np.ndarray,
            true_pairs: int, repeats: int) -> tuple[dict, np.ndarray]:
    """The hub's default two-source linkage of ``paths`` (``repeats`` times: the figures of
    the last run, CPU and wall seconds as medians) and the last run's person labels
    (``sources``: the clear left and right tables, whose rows ``pid`` follows)."""
    from safelight.link import pairwise_scores
    from safelight.link.encoded import read_packages
    from safelight.link.pprl import PPRLSettings, link_encoded

    cpus, walls, peaks = [], [], []
    for _ in range(repeats):
        gc.collect()
        before = _rss_mb()
        sampler = PeakRSS()
        sampler.start()
        t0, c0 = time.perf_counter(), time.process_time()
        er = read_packages(paths)
        res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        sampler.running = False
        sampler.join()
        peaks.append(sampler.peak)
    c = res.comparisons
    pid = package_persons(er, *sources, pid)  # a package holds a random order
    out = {**pairwise_scores(res.labels, pid),
           "blocking_recall": int((pid[c.a] == pid[c.b]).sum()) / true_pairs,
           "candidate_pairs": len(c.a),
           "hub_cpu_s": round(statistics.median(cpus), 1),
           "hub_cpu_s_runs": [round(x, 1) for x in cpus],
           "hub_wall_s": round(statistics.median(walls), 1),
           "rss_before_mb": before, "hub_peak_rss_mb": round(max(peaks) / 2**20),
           "timings": {k: round(v, 1) for k, v in res.timings.items()}}
    return out, np.asarray(res.labels)


def chain_attack(paths: list[Path], clear: list[pa.Table], links: np.ndarray) -> dict:
    """The year-chain attack on the key columns of ``paths`` (every key set, and the hub's
    ``links``), scored on the true years of the ``clear`` tables the packages came from; the
    attacker's best over key sets and weightings, and the filters' year separation."""
    import year_chain

    keys, years = year_chain.load(paths, clear)
    public = collections.Counter(years[years >= 0].tolist())
    filters = pa.concat_arrays([pq.read_table(p / "records.parquet", columns=["bf_birth_date"])
                                .column(0).combine_chunks() for p in paths]).to_pylist()
    sep = (year_chain.filter_year_separation(filters, years)
           if any(f is not None for f in filters) else None)  # "no date": no filter at all
    out: dict = {"filter_separation": sep,
                 "modal_year_share": float(np.mean(years == public.most_common(1)[0][0]))}
    year_rules = year_chain.rules_by_kind()["year"]
    if not any(keys.column(f"bk_{r}").null_count < keys.num_rows for r in year_rules):
        return {**out, "year_classes": 0, "results": []}  # no key over the year at all
    results = year_chain.attack(keys, years, public,
                                {"the hub's links": links, **year_chain.key_sets()})
    best = max(results, key=lambda r: r.years_recovered_share)
    best_known = max(results, key=lambda r: r.years_recovered_one_known_share)
    return {**out, "year_classes": best.classes,
            "best_recovered": best.years_recovered_share, "best_keys": best.keys,
            "best_recovered_one_known": best_known.years_recovered_one_known_share,
            "best_one_known_keys": best_known.keys,
            "results": [dataclasses.asdict(r) for r in results]}


def key_attack(left: pa.Table, variant: Variant) -> dict:
    """The frequency attack on the name-bearing keys the variant sends (left source): the
    key whose groups re-identify the most records, as a share of all records."""
    import attack

    rows = [r for r in attack.attack_keys(variant.prepare(left))
            if r["rule"] not in variant.withheld]
    worst = max(rows, key=lambda r: r["share_of_all_records"])
    return {"worst_key": worst["rule"], "worst_share_of_all_records":
            worst["share_of_all_records"], "worst_name_guessed": worst["name_guessed"]}


def worker(n: int, seed: int, cache: Path | None, packages: Path | None, tail: bool,
           variants: list[str], repeats: int) -> list[dict]:
    left, right, pid, true_pairs = problem(n, seed, cache, tail)
    out = []
    with tempfile.TemporaryDirectory(prefix="safelight-yearless-") as tmp:
        for name in variants:
            work = (packages or Path(tmp)) / _stem(n, seed, tail) / name.replace(" ", "_")
            variant = VARIANTS[name]
            paths, timing = encode(variant.prepare(left), variant.prepare(right), work)
            if variant.withheld:
                _withhold(paths, variant.withheld)
            hub, links = hub_run(paths, (left, right), pid, true_pairs, repeats)
            c0 = time.process_time()
            attack = chain_attack(paths, [left, right], links)
            attack["keys"] = key_attack(left, variant)
            attack["attack_cpu_s"] = round(time.process_time() - c0, 1)
            out.append({"n": n, "population": "long-tail" if tail else "demo", "variant": name,
                        **timing, **hub, "attack": attack,
                        "load_average": round(os.getloadavg()[0], 1)})
            del links
    return out


def _line(r: dict) -> str:
    a = r["attack"]
    sep, k = a["filter_separation"], a["keys"]
    filters = (f"filters Dice >= {sep['tau']}: same-year pairs {sep['same_year_pairs_above']:.1%}"
               f", others {sep['other_pairs_above']:.1%}" if sep else "no birth-date filter")
    chain = (f"year recovered {a['best_recovered']:.1%} ({a['best_keys']}), "
             f"{a['best_recovered_one_known']:.1%} with one year known "
             f"({a['best_one_known_keys']}); {a['year_classes']} classes"
             if a["results"] else "no key over the year: no year classes")
    return (f"{r['n']:>9,} {r['population']:<9} {r['variant']:<9} P {r['precision']:.4f} "
            f"R {r['recall']:.4f} F1 {r['f1']:.4f}  blocking recall {r['blocking_recall']:.4f}"
            f"  candidates {r['candidate_pairs']:,}  hub {r['hub_cpu_s']} CPU-s "
            f"{r['hub_cpu_s_runs']}, {r['hub_wall_s']} s, peak {r['hub_peak_rss_mb']} MB "
            f"(before {r['rss_before_mb']})  encode {r['encode_cpu_s']} CPU-s  load "
            f"{r['load_average']}\n{'':>30}attack: {chain}; modal year "
            f"{a['modal_year_share']:.1%}; {filters}; key frequency attack: "
            f"{k['worst_share_of_all_records']:.1%} of records ({k['worst_key']})  "
            f"({a['attack_cpu_s']} CPU-s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, help="pprl_scale.py's problem cache")
    ap.add_argument("--packages", type=Path, help="keep each variant's packages here "
                    "(<stem>/<variant>/) and reuse them in later runs")
    ap.add_argument("--population", choices=("demo", "long-tail"), default="demo")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--repeats", type=int, default=1, help="hub runs per variant (CPU "
                    "seconds: the median)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        answer_as_worker(lambda: worker(args.worker, args.seed, args.cache, args.packages,
                                        args.population == "long-tail", args.variants,
                                        args.repeats))
        return
    results = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--worker", str(n), "--seed", str(args.seed),
               "--population", args.population, "--repeats", str(args.repeats),
               "--variants", *args.variants]
        for flag, value in (("--cache", args.cache), ("--packages", args.packages)):
            if value:
                cmd += [flag, str(value)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(proc.stderr.strip(), file=sys.stderr, flush=True)  # the hub's log
        if proc.returncode != 0:
            print(f"{n:>9,}: failed", flush=True)
            continue
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
        results += rows
        for r in rows:
            print(_line(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
