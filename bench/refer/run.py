"""Refer benchmark: need matching over a 100,000-service directory, beside a naive peer.

    python bench/refer/run.py                      # 100,000 services, 1,000 queries
    python bench/refer/run.py --services 20000 --queries 200    # quicker

Steps (one process; the machine is shared, so timings are noisy — medians are reported):

1. generate the directory (``safelight.refer.testdata``, seed 20260601) and import it into a
   fresh hub through the real HSDS import (validation, sealing of confidential locations);
2. build the :class:`~safelight.refer.match.DirectoryIndex` from the hub;
3. run ``--queries`` realistic requests (a random place of the gazetteer, one to three needs,
   the languages of that country, gender, age, nationality, legal status, children) with
   ``limit=10`` and record each query's wall time — p50 / p95 / p99;
4. peer: the same requests answered by a plain Python loop over the same rows (filters and
   score written out per service, as a first implementation would), on ``--peer-queries`` of
   them; the top-10 lists are compared (agreement) and the time ratio reported;
5. quality: the hand-labelled needs of ``tests/refer/labelled_needs.json`` against the
   2,000-service demo directory and against the ``--services`` directory of step 1 (first result
   appropriate, and among needs the directory can answer at all; each miss with its reason).

Writes ``bench/refer/results/latest.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from safelight import __version__
from safelight.refer import directory, vault
from safelight.refer.match import DirectoryIndex
from safelight.refer.model import GENDERS, LEGAL_STATUSES, NEEDS, Person
from safelight.refer.places import find_place, load_places
from safelight.refer.testdata import LANGUAGES, generate_directory
from safelight.standard import geography
from safelight.store import open_hub

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
AT = dt.datetime(2026, 11, 30, 11, 0)


def _persons(n: int, seed: int) -> list[Person]:
    rng = random.Random(seed)
    places = [p for p in load_places() if p.country in LANGUAGES]
    out = []
    for _ in range(n):
        p = rng.choice(places)
        langs = LANGUAGES[p.country]
        out.append(Person(
            needs=tuple(rng.sample(NEEDS, rng.choice((1, 1, 2, 3)))),
            languages=tuple(rng.sample(langs, rng.choice((1, 2)))),
            latitude=p.latitude + rng.uniform(-0.05, 0.05), longitude=p.longitude + rng.uniform(-0.05, 0.05),
            gender=rng.choice(GENDERS[:2] + (None,)), age=rng.choice((None, rng.randrange(12, 70))),
            nationality=rng.choice((None, p.country, "UKR", "NGA", "SYR", "MDA")),
            legal_status=rng.choice((None, *LEGAL_STATUSES)), with_children=rng.random() < 0.2))
    return out


def _naive(rows: list[dict], person: Person, limit: int = 10) -> list[str]:
    """The peer: one Python pass per service (same rules and weights as the index)."""
    scored = []
    for r in rows:
        met = [x for x in person.needs if x in r["needs"]]
        if not met:
            continue
        if person.gender and r["genders"] and person.gender not in r["genders"]:
            continue
        if person.age is not None and ((r["min_age"] is not None and person.age < r["min_age"]) or
                                       (r["max_age"] is not None and person.age > r["max_age"])):
            continue
        if person.nationality and r["nationalities"] and person.nationality not in r["nationalities"]:
            continue
        if person.legal_status and r["legal_statuses"] and person.legal_status not in r["legal_statuses"]:
            continue
        if person.with_children and "shelter" in r["needs"] and r["children"] == "not_accepted":
            continue
        if r["capacity_available"] is not None and r["capacity_available"] <= 0:
            continue
        km = None
        if r["latitude"] is not None:
            p1, p2 = math.radians(person.latitude), math.radians(r["latitude"])
            a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(r["longitude"] - person.longitude) / 2) ** 2
            km = 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))
            if km > person.max_km:
                continue
        w = sum((3.0 if i == 0 else 1.0) for i, x in enumerate(person.needs) if x in r["needs"])
        s_need = w / (3.0 + len(person.needs) - 1)
        if person.languages:
            s_lang = 1.0 if person.languages[0] in r["languages"] else 0.8 if set(person.languages) & set(r["languages"]) else 0.5 if r["interpretation"] else 0.0
        else:
            s_lang = 0.5
        s_dist = 0.2 if km is None else math.exp(-km / 40)
        s_open = 0.5
        if r["hours"] is not None:
            h = AT.weekday() * 24 + AT.hour
            s_open = float(any(d * 24 + o // 60 <= h < d * 24 + math.ceil(c / 60) for d, o, c in json.loads(r["hours"])))
        s_cap = 0.5 if r["capacity_available"] is None else 1.0
        score = 0.45 * s_need + 0.25 * s_lang + 0.2 * s_dist + 0.05 * s_open + 0.05 * s_cap
        scored.append((-(score + (person.needs[0] in r["needs"])), r["service_id"]))
    scored.sort()
    return [sid for _, sid in scored[:limit]]


def _service_rows(hub) -> dict[str, dict]:
    """Every stored service row, by id, as the labelled-needs check reads it."""
    cur = hub.con.execute("SELECT * FROM refer_services")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _labelled_quality(ix: DirectoryIndex, rows: dict[str, dict]) -> dict:
    """The hand-labelled needs against one directory: is the first result appropriate?

    Appropriateness is the tests' own check (``tests/refer/test_refer_match.py::_appropriate``),
    computed on the stored service fields independently of the matcher. ``answerable`` counts the
    needs for which the directory holds at least one appropriate service at all.
    """
    sys.path.insert(0, str(REPO / "tests" / "refer"))
    from test_refer_match import _appropriate  # the tests' own independent check

    cases = json.loads((REPO / "tests" / "refer" / "labelled_needs.json").read_text())["cases"]
    good = answerable = good_answerable = 0
    misses = []
    for case in cases:
        p = dict(case["person"])
        place = find_place(p.pop("near"))
        if p.get("nationality"):
            p["nationality"] = geography.resolve_country(p["nationality"])
        person = Person(needs=tuple(p.pop("needs")), languages=tuple(p.pop("languages", ())),
                        latitude=place.latitude, longitude=place.longitude, **p)
        top = ix.match(person, limit=1, at=AT)
        verdict = _appropriate(rows[top[0].service_id], case["person"], case["appropriate"], place) if top else (False, "no result")
        exists = any(_appropriate(r, case["person"], case["appropriate"], place)[0] for r in rows.values())
        good += verdict[0]
        answerable += exists
        good_answerable += verdict[0] and exists
        if not verdict[0]:
            misses.append({"id": case["id"], "why": verdict[1], "directory_has_one": exists})
    return {"services": len(rows), "cases": len(cases), "first_appropriate": good, "answerable": answerable,
            "first_appropriate_when_answerable": good_answerable, "misses": misses}


def _demo_directory_quality(tmp: Path) -> dict:
    """The labelled needs against the 2,000-service demo directory (``make demo``'s)."""
    doc = generate_directory(2000)
    (tmp / "demo.json").write_text(json.dumps(doc))
    with open_hub(tmp / "demo.duckdb", create=True) as hub:
        directory.import_directory(hub, tmp / "demo.json", actor="bench", key=vault.new_key_file(tmp / "demo.key"))
        return _labelled_quality(DirectoryIndex.from_hub(hub), _service_rows(hub))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--peer-queries", type=int, default=50)
    ap.add_argument("--seed", type=int, default=20260601)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = ap.parse_args()
    res: dict = {"software_version": __version__, "python": platform.python_version(),
                 "machine": platform.machine(), "services": args.services, "queries": args.queries,
                 "command": "python bench/refer/run.py " + " ".join(sys.argv[1:])}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        t = time.perf_counter()
        doc = generate_directory(args.services, args.seed)
        res["generate_s"] = round(time.perf_counter() - t, 2)
        (tmp / "dir.json").write_text(json.dumps(doc))
        del doc
        key = vault.new_key_file(tmp / "op.key")
        with open_hub(tmp / "hub.duckdb", create=True, memory_limit="1GB") as hub:
            t, c = time.perf_counter(), time.process_time()
            rep = directory.import_directory(hub, tmp / "dir.json", actor="bench", key=key)
            res["import_s"] = round(time.perf_counter() - t, 2)
            res["import_cpu_s"] = round(time.process_time() - c, 2)
            res["sealed_locations"] = rep.sealed_locations
            res["quarantined"] = rep.rows_quarantined
            t = time.perf_counter()
            ix = DirectoryIndex.from_hub(hub)
            res["index_build_s"] = round(time.perf_counter() - t, 2)
            cur = hub.con.execute("SELECT service_id, needs, languages, interpretation, min_age, max_age, genders, "
                                  "nationalities, legal_statuses, children, capacity_available, hours, latitude, "
                                  "longitude FROM refer_services WHERE status = 'active'")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            labelled_large = _labelled_quality(ix, _service_rows(hub))
        persons = _persons(args.queries, args.seed)
        times, cpu, results = [], [], []
        for p in persons:
            t, c = time.perf_counter(), time.process_time()
            results.append(ix.match(p, limit=10, at=AT))
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        q = np.percentile(times, [50, 95, 99])
        res["match_ms"] = {"p50": round(q[0], 2), "p95": round(q[1], 2), "p99": round(q[2], 2),
                           "max": round(max(times), 2), "mean": round(statistics.fmean(times), 2)}
        qc = np.percentile(cpu, [50, 95, 99])
        res["match_cpu_ms"] = {"p50": round(qc[0], 2), "p95": round(qc[1], 2), "p99": round(qc[2], 2)}
        res["empty_answers"] = sum(not r for r in results)
        # peer on a subset (only requests answered within max_km, since the peer does not widen)
        peer_t, ours_t, agree, compared = [], [], 0, 0
        for p, mine in zip(persons[: args.peer_queries], results[: args.peer_queries], strict=True):
            t = time.perf_counter()
            theirs = _naive(rows, p)
            peer_t.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            ix.match(p, limit=10, at=AT)
            ours_t.append((time.perf_counter() - t) * 1000)
            if any("search widened" in r for m in mine for r in m.reasons):
                continue
            compared += 1
            agree += [m.service_id for m in mine] == theirs
        res["peer_naive_python_ms_p50"] = round(statistics.median(peer_t), 2)
        res["ours_ms_p50_same_queries"] = round(statistics.median(ours_t), 2)
        res["speedup_vs_naive_p50"] = round(statistics.median(peer_t) / statistics.median(ours_t), 1)
        res["top10_identical_to_peer"] = f"{agree}/{compared}"
        res["labelled_needs"] = {"demo_directory": _demo_directory_quality(tmp), "bench_directory": labelled_large}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    m = res["match_ms"]
    mc = res["match_cpu_ms"]
    print("| services | queries | match p50 ms | p95 ms | p99 ms | CPU p95 ms | naive peer p50 ms | speed-up | "
          "top-10 = peer | import s (CPU s) | index s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.services:,} | {args.queries} | {m['p50']} | {m['p95']} | {m['p99']} | {mc['p95']} | "
          f"{res['peer_naive_python_ms_p50']} | {res['speedup_vs_naive_p50']}x | {res['top10_identical_to_peer']} | "
          f"{res['import_s']} ({res['import_cpu_s']}) | {res['index_build_s']} |")
    for name, lq in res["labelled_needs"].items():
        misses = ", ".join(f"{x['id']} ({x['why']})" for x in lq["misses"]) or "none"
        print(f"\nlabelled needs, {name} ({lq['services']:,} services): first result appropriate "
              f"{lq['first_appropriate']}/{lq['cases']} ({lq['first_appropriate'] / lq['cases']:.0%}); "
              f"{lq['first_appropriate_when_answerable']}/{lq['answerable']} where the directory holds an appropriate "
              f"service; misses: {misses}")


if __name__ == "__main__":
    main()
